#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] stands for lo + i */
};

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                     "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

/* A day of week of 7 is Sunday too. */
static const struct field fields[5] = {
    {"minute", 0, 59, NULL},  {"hour", 0, 23, NULL},       {"day of month", 1, 31, NULL},
    {"month", 1, 12, months}, {"day of week", 0, 7, days},
};

/* Reads a number or a name at *p. */
static int read_value(const char **p, const struct field *f, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        if (v < f->lo || v > f->hi)
            return -1;
        *out = (int)v;
        *p = s;
        return 0;
    }
    for (int i = 0; f->names && f->names[i]; i++) {
        if (strncasecmp(s, f->names[i], 3) == 0) {
            *out = f->lo + i;
            *p = s + 3;
            return 0;
        }
    }
    return -1;
}

/* One field: comma-separated items, each "*", "a", "a-b", with "/step". */
static int parse_field(const char *s, const struct field *f, uint64_t *bits, int *any)
{
    *bits = 0;
    *any = strcmp(s, "*") == 0;
    const char *p = s;
    for (;;) {
        int a, b, step = 1;
        if (*p == '*') {
            a = f->lo;
            b = f->hi;
            p++;
        } else {
            if (read_value(&p, f, &a) != 0)
                return -1;
            b = a;
            if (*p == '-') {
                p++;
                if (read_value(&p, f, &b) != 0 || b < a)
                    return -1;
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p))
                return -1;
            long v = 0;
            while (isdigit((unsigned char)*p) && v < 1000)
                v = v * 10 + (*p++ - '0');
            if (v < 1 || v > f->hi - f->lo + 1)
                return -1;
            step = (int)v;
            if (a == b) /* "5/15": from 5 to the end of the range */
                b = f->hi;
        }
        for (int v = a; v <= b; v += step)
            *bits |= 1ULL << v;
        if (*p == '\0')
            break;
        if (*p != ',')
            return -1;
        p++;
    }
    return 0;
}

int cron_parse(const char *expr, struct cron *c, char *err, size_t errlen)
{
    char copy[256];
    if (!expr || strlen(expr) >= sizeof copy) {
        snprintf(err, errlen, "cron must be a 5-field cron expression");
        return -1;
    }
    strcpy(copy, expr);
    char *parts[6];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (n == 6)
            break;
        parts[n++] = tok;
    }
    if (n != 5) {
        snprintf(err, errlen, "cron must have exactly 5 fields (minute hour day month weekday)");
        return -1;
    }
    uint64_t bits[5];
    int any[5];
    for (int i = 0; i < 5; i++) {
        if (parse_field(parts[i], &fields[i], &bits[i], &any[i]) != 0) {
            snprintf(err, errlen, "cron: invalid %s field '%s'", fields[i].name, parts[i]);
            return -1;
        }
    }
    memset(c, 0, sizeof *c);
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->dom = (uint32_t)bits[2];
    c->month = (uint16_t)bits[3];
    c->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* fold 7 onto 0 */
    c->dom_any = any[2];
    c->dow_any = any[4];
    return 0;
}

static int day_matches(const struct cron *c, const struct tm *tm)
{
    int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
    /* Classic cron: when both day fields are restricted, either may match. */
    if (!c->dom_any && !c->dow_any)
        return dom || dow;
    return dom && dow;
}

double cron_next(const struct cron *c, double t)
{
    long long s = ((long long)t / 60 + 1) * 60;
    /* Each step skips at least a minute and usually a whole hour or day, so
     * five years take at most a few thousand steps. */
    long long limit = s + 5LL * 366 * 86400;
    while (s < limit) {
        time_t tt = (time_t)s;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if (!((c->month >> (tm.tm_mon + 1)) & 1) || !day_matches(c, &tm)) {
            s = (s / 86400 + 1) * 86400;
            continue;
        }
        if (!((c->hour >> tm.tm_hour) & 1)) {
            s = (s / 3600 + 1) * 3600;
            continue;
        }
        if (!((c->minute >> tm.tm_min) & 1)) {
            s += 60;
            continue;
        }
        return (double)s;
    }
    return -1;
}
