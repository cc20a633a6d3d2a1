#include "faults.h"

#include "config.h"
#include "pc_json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_share(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

/* "500+524+drop" (any of them, in any order) into enum ambiguous_outcome
 * bits; 0 when a part is not one of them. */
static unsigned parse_outcomes(char *list)
{
    unsigned bits = 0;
    char *save = NULL;
    for (char *o = strtok_r(list, "+", &save); o; o = strtok_r(NULL, "+", &save)) {
        if (strcmp(o, "500") == 0)
            bits |= AMBIGUOUS_500;
        else if (strcmp(o, "524") == 0)
            bits |= AMBIGUOUS_524;
        else if (strcmp(o, "drop") == 0)
            bits |= AMBIGUOUS_DROP;
        else
            return 0;
    }
    return bits;
}

/* One NAME=SHARE[:PARAM] item into g_cfg; 0, or -1 with a message. */
static int parse_item(char *item, char *err, size_t errlen)
{
    char *eq = strchr(item, '=');
    if (!eq) {
        snprintf(err, errlen, "--inject: '%s' is not NAME=SHARE", item);
        return -1;
    }
    *eq = '\0';
    const char *name = item;
    char *val = eq + 1, *colon = strchr(val, ':');
    if (colon)
        *colon++ = '\0';
    double *dst = NULL;
    if (strcmp(name, "429") == 0)
        dst = &g_cfg.inject_429;
    else if (strcmp(name, "500") == 0)
        dst = &g_cfg.inject_500;
    else if (strcmp(name, "drop") == 0)
        dst = &g_cfg.inject_drop;
    else if (strcmp(name, "dup-id") == 0)
        dst = &g_cfg.inject_dup_id;
    else if (strcmp(name, "callback-loss") == 0)
        dst = &g_cfg.callback_loss;
    else if (strcmp(name, "slow") == 0) {
        if (!colon || parse_duration(colon, &g_cfg.inject_slow_secs) != 0) {
            snprintf(err, errlen, "--inject: slow needs SHARE:DURATION, e.g. slow=0.1:2s");
            return -1;
        }
        colon = NULL;
        dst = &g_cfg.inject_slow;
    } else if (strcmp(name, "ambiguous") == 0) {
        g_cfg.inject_ambiguous_outcomes = colon ? parse_outcomes(colon) : AMBIGUOUS_ALL;
        if (!g_cfg.inject_ambiguous_outcomes) {
            snprintf(err, errlen,
                     "--inject: ambiguous takes SHARE or SHARE:OUTCOMES, outcomes joined by '+' "
                     "among 500, 524 and drop, e.g. ambiguous=0.1:524+drop");
            return -1;
        }
        colon = NULL;
        dst = &g_cfg.inject_ambiguous;
    } else {
        snprintf(err, errlen,
                 "--inject: unknown fault '%s' (429, 500, drop, slow, ambiguous, dup-id, "
                 "callback-loss)",
                 name);
        return -1;
    }
    if (colon) {
        snprintf(err, errlen, "--inject: %s takes a share only", name);
        return -1;
    }
    if (parse_share(val, dst) != 0) {
        snprintf(err, errlen, "--inject: %s needs a share between 0 and 1", name);
        return -1;
    }
    return 0;
}

static double drawn_total(void)
{
    return g_cfg.inject_429 + g_cfg.inject_500 + g_cfg.inject_drop + g_cfg.inject_slow +
           g_cfg.inject_ambiguous + g_cfg.inject_dup_id;
}

int faults_parse(const char *spec, char *err, size_t errlen)
{
    char *copy = strdup(spec);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save))
        rc = parse_item(item, err, errlen);
    free(copy);
    if (rc == 0 && drawn_total() > 1.0 + 1e-9) {
        snprintf(err, errlen,
                 "--inject: the shares of 429, 500, drop, slow, ambiguous and dup-id add up to "
                 "more than 1");
        rc = -1;
    }
    return rc;
}

enum fault faults_draw(enum stat_route route)
{
    if (drawn_total() <= 0)
        return FAULT_NONE; /* the common case costs no random draw and no lock */
    double u = rng_unit();
    if ((u -= g_cfg.inject_429) < 0)
        return FAULT_429;
    if ((u -= g_cfg.inject_500) < 0)
        return FAULT_500;
    if ((u -= g_cfg.inject_drop) < 0)
        return FAULT_DROP;
    if ((u -= g_cfg.inject_slow) < 0)
        return FAULT_SLOW;
    if ((u -= g_cfg.inject_ambiguous) < 0)
        return route == ST_POST_QUERIES || route == ST_POST_BATCH ? FAULT_AMBIGUOUS : FAULT_NONE;
    if ((u -= g_cfg.inject_dup_id) < 0)
        return route == ST_POST_BATCH ? FAULT_DUP_ID : FAULT_NONE;
    return FAULT_NONE;
}

void faults_count(enum fault f)
{
    switch (f) {
    case FAULT_429: stats_add(SC_INJ_429, 1); break;
    case FAULT_500: stats_add(SC_INJ_500, 1); break;
    case FAULT_DROP: stats_add(SC_INJ_DROP, 1); break;
    case FAULT_SLOW: stats_add(SC_INJ_SLOW, 1); break;
    case FAULT_DUP_ID:
    case FAULT_AMBIGUOUS:
    case FAULT_NONE: break;
    }
}

enum ambiguous_outcome faults_ambiguous(void)
{
    static const enum ambiguous_outcome all[] = {AMBIGUOUS_500, AMBIGUOUS_524, AMBIGUOUS_DROP};
    static const enum stat_counter counter[] = {SC_INJ_AMBIGUOUS_500, SC_INJ_AMBIGUOUS_524,
                                                SC_INJ_AMBIGUOUS_DROP};
    int chosen[3], n = 0;
    for (int i = 0; i < 3; i++)
        if (g_cfg.inject_ambiguous_outcomes & all[i])
            chosen[n++] = i;
    int pick = n > 1 ? chosen[rng_u64() % (uint64_t)n] : n == 1 ? chosen[0] : 0;
    stats_add(counter[pick], 1);
    return all[pick];
}

int faults_repeat_first_id(struct reply *rep)
{
    json_t *doc = rep->body ? json_loadb(rep->body, rep->len, 0, NULL) : NULL;
    json_t *list = json_object_get(doc, "queries");
    json_t *first = json_array_get(list, 0);
    json_t *id = json_object_get(first, "id"), *links = json_object_get(first, "_links");
    if (!id) {
        json_decref(doc);
        return -1;
    }
    size_t i;
    json_t *job;
    json_array_foreach(list, i, job) {
        if (i == 0)
            continue;
        if (json_object_set(job, "id", id) != 0 ||
            (links && json_object_set(job, "_links", links) != 0)) {
            json_decref(doc);
            return -1;
        }
    }
    int status = rep->status;
    reply_json(rep, status, doc); /* keeps the headers already set */
    stats_add(SC_INJ_DUP_ID, 1);
    return 0;
}
