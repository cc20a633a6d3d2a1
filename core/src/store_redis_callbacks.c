/* Callbacks anywhere (a Redis journal): a callback that reaches a process
 * without the job is published in a stream every process of the fleet
 * reads while it waits for jobs. */
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- callbacks anywhere: a stream every process reads */

#define CB_STREAM_MAX "100000" /* entries kept (about) */
#define CB_READ_MS 200
#define CB_READ_COUNT "1000"

static void on_published(void *ud, const redisReply *reply, const char *err)
{
    (void)ud;
    (void)reply;
    (void)err; /* a hint lost: the poller's safety net still finds the job */
}

int pp_store_redis_publish(pp_store *st, const char *id, int claim)
{
    rstore *s = RS(st);
    char key[96], num[16];
    snprintf(key, sizeof key, "%s:callbacks", s->rs.prefix);
    snprintf(num, sizeof num, "%d", claim);
    const char *argv[9] = {"XADD", key, "MAXLEN", "~", CB_STREAM_MAX, "*", id, num};
    return pp_redis_command(s->r, 0, 8, argv, NULL, on_published, NULL);
}

void pp_store_redis_on_callback(pp_store *st, void (*fn)(void *ud, const char *id, int claim),
                                void *ud)
{
    rstore *s = RS(st);
    s->cb_fn = fn;
    s->cb_ud = ud;
    /* from a few seconds back: a hint read twice costs nothing, one missed
     * waits for the safety net */
    uint64_t from = pp_now_ms();
    snprintf(s->cb_last, sizeof s->cb_last, "%llu-0",
             (unsigned long long)(from > 5000 ? from - 5000 : 0));
}

static void on_stream(void *ud, const redisReply *reply, const char *err)
{
    rstore *s = ud;
    s->cb_reading = 0;
    /* [[stream, [[entry-id, [id, claim]], ...]]] or nil */
    if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return;
    const redisReply *st = reply->element[0];
    if (st->type != REDIS_REPLY_ARRAY || st->elements < 2 ||
        st->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *entries = st->element[1];
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        snprintf(s->cb_last, sizeof s->cb_last, "%s", e->element[0]->str);
        const redisReply *f = e->element[1];
        if (f->elements >= 2 && f->element[0]->type == REDIS_REPLY_STRING &&
            f->element[1]->type == REDIS_REPLY_STRING && s->cb_fn)
            s->cb_fn(s->cb_ud, f->element[0]->str, atoi(f->element[1]->str));
    }
}

void pp_store_redis_read_callbacks(pp_store *st, int wanted)
{
    rstore *s = RS(st);
    if (!wanted || !s->cb_fn) {
        s->cb_next = 0;
        return;
    }
    uint64_t now = pp_now_ms();
    if (s->cb_reading || (s->cb_next && now < s->cb_next))
        return;
    s->cb_next = now + CB_READ_MS;
    char key[96];
    snprintf(key, sizeof key, "%s:callbacks", s->rs.prefix);
    const char *argv[6] = {"XREAD", "COUNT", CB_READ_COUNT, "STREAMS", key, s->cb_last};
    if (pp_redis_command(s->r, PP_REDIS_IDEMPOTENT, 6, argv, NULL, on_stream, s) == 0)
        s->cb_reading = 1;
}

long pp_store_redis_callbacks_ms(const pp_store *st)
{
    const rstore *s = (const rstore *)st;
    if (!s->cb_next)
        return -1;
    uint64_t now = pp_now_ms();
    return s->cb_next > now ? (long)(s->cb_next - now) : 0;
}
