/* The Redis store's retention and forget(): how long a finished job that
 * was handed out for good stays (the scripts retire it: redis_scripts.c),
 * and the whole of a tag dropped at once, a page of its keys a script
 * call so that Redis never blocks long on a big tag. The store itself is
 * store_redis.c. */
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORGET_PAGE 1000

void pp_store_redis_set_retention(pp_store *st, long retention_ms)
{
    RS(st)->rs.retention_ms = retention_ms > 0 ? retention_ms : 0;
}

typedef struct forgetop {
    rstore *s;
    uint32_t tag;
    int force;
    pp_store_done_fn done;
    void *ud;
    char why[300];
} forgetop;

static void forget_end(forgetop *q, int rc, const char *why)
{
    if (q->done)
        q->done(q->ud, rc, why);
    free(q);
}

static int forget_page(forgetop *q);

static void on_forgot(void *ud, const redisReply *reply, const char *err)
{
    forgetop *q = ud;
    if (err) {
        /* the script's refusal reads "PPSTORE <why>" */
        const char *p = strncmp(err, "PPSTORE ", 8) == 0 ? err + 8 : err;
        snprintf(q->why, sizeof q->why, "journal: forget: %s", p);
        forget_end(q, -1, q->why);
    } else if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        forget_end(q, -1, "journal: forget: an odd answer");
    } else if (reply->integer == 0) {
        forget_end(q, 0, NULL);
    } else if (forget_page(q) < 0) {
        forget_end(q, -1, "journal: forget: a command could not be sent");
    }
}

static int forget_page(forgetop *q)
{
    return pp_rstore_forget(&q->s->rs, rs_tag_of(q->s, q->tag), q->force, FORGET_PAGE, on_forgot,
                            q);
}

int rs_forget(pp_store *st, const char *tag, int force, pp_store_done_fn done, void *ud,
              const char **why)
{
    rstore *s = RS(st);
    if (!pp_rstore_tag_valid(tag ? tag : UNTAGGED)) {
        *why = "journal: a tag of the Redis store is 1..64 bytes without '{' or '}'";
        return -1;
    }
    long t = rs_tag_index(s, tag);
    forgetop *q = t >= 0 ? calloc(1, sizeof *q) : NULL;
    if (!q) {
        *why = rs_oom(s);
        return -1;
    }
    *q = (forgetop){.s = s, .tag = (uint32_t)t, .force = force, .done = done, .ud = ud};
    if (forget_page(q) < 0) {
        free(q);
        *why = "journal: forget: a command could not be sent";
        return -1;
    }
    return 1;
}
