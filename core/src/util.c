/* Small helpers: growable buffers, strings, the clock, per-client randomness. */
#include "base.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ctype.h>

int pp_buf_append(pp_buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2) {
                cap = b->len + n + 1;
                break;
            }
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int pp_buf_reserve(pp_buf *b, size_t n)
{
    if (n >= SIZE_MAX - b->len)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    char *d = realloc(b->data, b->len + n + 1);
    if (!d)
        return -1;
    b->data = d;
    b->cap = b->len + n + 1;
    return 0;
}

void pp_buf_reset(pp_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void pp_buf_free(pp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void pp_buf_move(pp_buf *dst, pp_buf *src)
{
    pp_buf_free(dst);
    *dst = *src;
    src->data = NULL;
    src->len = src->cap = 0;
}

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
