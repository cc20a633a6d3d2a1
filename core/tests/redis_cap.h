/* For the tests of the Redis link: a command's answer copied out of its
 * completion (cap), a client driven until something is done (pump), and
 * a client with only the fleet store open (new_client). */
#ifndef PP_TEST_REDIS_CAP_H
#define PP_TEST_REDIS_CAP_H

#include "client.h"
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a command's answer, copied out of its completion */
typedef struct cap {
    int done;
    char *err;
    int type;
    long long integer;
    size_t n;
    char **str;      /* per element (or [0] for a string reply) */
    long long *ints; /* per element */
} cap;

static inline void cap_free(cap *k)
{
    free(k->err);
    for (size_t i = 0; i < k->n; i++)
        free(k->str[i]);
    free(k->str);
    free(k->ints);
    memset(k, 0, sizeof *k);
}

static inline char *dup_or_empty(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static inline void on_cap(void *ud, const redisReply *rep, const char *err)
{
    cap *k = ud;
    k->done = 1;
    if (err) {
        k->err = dup_or_empty(err, strlen(err));
        return;
    }
    k->type = rep->type;
    k->integer = rep->integer;
    if (rep->type == REDIS_REPLY_ARRAY) {
        k->n = rep->elements;
        k->str = calloc(k->n + 1, sizeof *k->str);
        k->ints = calloc(k->n + 1, sizeof *k->ints);
        for (size_t i = 0; k->str && k->ints && i < k->n; i++) {
            const redisReply *e = rep->element[i];
            k->ints[i] = e->integer;
            k->str[i] = dup_or_empty(e->str ? e->str : "", e->str ? e->len : 0);
        }
    } else if (rep->str) {
        k->n = 1;
        k->str = calloc(1, sizeof *k->str);
        k->ints = calloc(1, sizeof *k->ints);
        if (k->str)
            k->str[0] = dup_or_empty(rep->str, rep->len);
    }
}

/* Drives c with pp_wait until *done or ms pass. */
static inline int pump(pp_client *c, const int *done, long ms)
{
    uint64_t end = pp_now_ms() + (uint64_t)ms;
    while (!*done && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    return *done;
}

static inline void pump_for(pp_client *c, long ms)
{
    int never = 0;
    pump(c, &never, ms);
}

/* A client with only the store: NULL with the reason in why (the
 * client's error strings go with it). tls: NULL for none. */
static inline pp_client *new_tls_client(const char *url, long timeout_ms, const pp_tls_config *tls,
                                        char *why, size_t whylen)
{
    pp_error e = {0}, *err = &e;
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9"; /* never asked: only the store runs */
    pp_client *c = pp_client_new(&cfg, err);
    if (!c) {
        snprintf(why, whylen, "%s", err->message);
        return NULL;
    }
    pp_redis_config rc;
    memset(&rc, 0, sizeof rc);
    rc.url = url;
    rc.timeout_ms = timeout_ms;
    rc.connect_timeout_ms = timeout_ms;
    rc.backoff_max_ms = 200;
    if (tls)
        rc.tls = *tls;
    if (pp_fleet_open(c, &rc, err) < 0) {
        snprintf(why, whylen, "%s", err->message);
        pp_client_free(c);
        return NULL;
    }
    return c;
}

static inline pp_client *new_client(const char *url, long timeout_ms, char *why, size_t whylen)
{
    return new_tls_client(url, timeout_ms, NULL, why, whylen);
}

#endif
