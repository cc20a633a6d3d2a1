/* Small helpers: strings, the clock, per-client randomness. */
#include "base.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ctype.h>

char *pp_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *pp_strdup(const char *s)
{
    return s ? pp_strndup(s, strlen(s)) : NULL;
}

int pp_strncaseeq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
        if (!a[i])
            return 1;
    }
    return 1;
}

uint64_t pp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t pp_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

double pp_rand_unit(uint64_t *s)
{
    return (double)(pp_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

int pp_table_reserve(void ***v, size_t *cap, size_t n, size_t first)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : first;
    void **nv = realloc(*v, nc * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

void pp_free_secret(char *s)
{
    if (!s)
        return;
    /* volatile: the stores are not dropped as dead before free() */
    for (volatile char *p = s; *p; p++)
        *p = 0;
    free(s);
}
