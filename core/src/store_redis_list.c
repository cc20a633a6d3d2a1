/* The Redis store's reads: list() (the tags' job sets scanned, each
 * submission's parameters read once, rows in key order) and the leases of
 * a fleet (claims of finished jobs, adoption of pending ones whose poller
 * died, renewals, releases). The store itself is store_redis.c. */
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 500

static const char *const state_names[PP_STATE_COUNT] = {
    "new",     "submitting", "pending", "done",    "faulted", "fetching",
    "fetched", "rejected",   "unknown", "expired", "failed",
};

static int state_of(const char *name)
{
    for (int i = 0; name && i < PP_STATE_COUNT; i++)
        if (strcmp(state_names[i], name) == 0)
            return i;
    return PP_NEW;
}

/* ---- list */

typedef struct lrow {
    int64_t key, sid;
    uint32_t tag;
    int state, handed, sent;
    char *id, *value, *error, *results_path;
} lrow;

typedef struct lsub {
    int64_t sid;
    uint32_t tag;
    json_t *env; /* NULL until read */
} lsub;

typedef struct listop {
    rstore *s;
    pp_store_filter f;
    char *only_tag;
    pp_store_row_fn each;
    pp_store_done_fn done;
    void *ud;
    uint32_t *tags;
    size_t ntags, at;
    char cursor[32];
    lrow *rows;
    size_t nrows, caprows;
    lsub *subs;
    size_t nsubs, capsubs;
    int pending;
    int failed;
    char why[300];
} listop;

static void list_free(listop *q)
{
    for (size_t i = 0; i < q->nrows; i++) {
        free(q->rows[i].id);
        free(q->rows[i].value);
        free(q->rows[i].error);
        free(q->rows[i].results_path);
    }
    for (size_t i = 0; i < q->nsubs; i++)
        if (q->subs[i].env)
            json_decref(q->subs[i].env);
    free(q->rows);
    free(q->subs);
    free(q->tags);
    free(q->only_tag);
    free(q);
}

static void list_fail(listop *q, const char *why)
{
    if (!q->failed)
        snprintf(q->why, sizeof q->why, "journal: %s", why ? why : pp_oom_message);
    q->failed = 1;
}

static int by_key(const void *a, const void *b)
{
    const lrow *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static const char *env_str(json_t *env, const char *k)
{
    return json_string_value(json_object_get(env, k));
}

static void list_end(listop *q)
{
    rstore *s = q->s;
    if (!q->failed) {
        if (q->nrows)
            qsort(q->rows, q->nrows, sizeof *q->rows, by_key);
        for (size_t i = 0; i < q->nrows; i++) {
            lrow *w = &q->rows[i];
            json_t *env = NULL;
            for (size_t k = 0; k < q->nsubs && !env; k++)
                if (q->subs[k].sid == w->sid && q->subs[k].tag == w->tag)
                    env = q->subs[k].env;
            if (!env)
                continue; /* a job whose submission is gone (cleaned up) */
            const char *host = env_str(env, "h");
            long pid = (long)json_integer_value(json_object_get(env, "pid"));
            /* a process on another host cannot be asked whether it runs:
             * its submissions count as in flight (pid 1 always runs), so
             * no resume here sends them again */
            if (!host || strcmp(host, s->host) != 0)
                pid = 1;
            pp_store_row row = {
                .key = w->key,
                .id = w->id,
                .state = w->state,
                .sent = w->sent,
                .handed = w->handed,
                .tag = rs_tag_public(rs_tag_of(s, w->tag)),
                .params = env_str(env, "p"),
                .list_key = env_str(env, "k"),
                .value = w->value,
                .results_dir = env_str(env, "d"),
                .results_type = env_str(env, "t"),
                .results_path = w->results_path,
                .error = w->error,
                .pid = pid,
            };
            if (!row.params)
                continue;
            if (q->each(q->ud, &row))
                break;
        }
    }
    if (q->done)
        q->done(q->ud, q->failed ? -1 : 0, q->failed ? q->why : NULL);
    list_free(q);
}

static const char *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0 &&
            v->type == REDIS_REPLY_STRING)
            return v->str;
    }
    return NULL;
}

static void list_page(listop *q);

static void on_sub(void *ud, const redisReply *reply, const char *err)
{
    lsub **pp = ud;
    lsub *ls = *pp;
    listop *q = (listop *)pp[1];
    free(pp);
    if (!err && reply && reply->type == REDIS_REPLY_STRING)
        ls->env = json_loads(reply->str, 0, NULL);
    else if (err)
        list_fail(q, err);
    if (--q->pending == 0)
        list_end(q);
}

static void read_subs(listop *q)
{
    rstore *s = q->s;
    q->pending = 1;
    for (size_t i = 0; i < q->nsubs && !q->failed; i++) {
        /* q->subs no longer grows: its elements stay where they are */
        void **ud = calloc(2, sizeof *ud);
        if (!ud) {
            list_fail(q, NULL);
            break;
        }
        ud[0] = &q->subs[i];
        ud[1] = q;
        char key[200], sid[24];
        snprintf(sid, sizeof sid, "%lld", (long long)q->subs[i].sid);
        snprintf(key, sizeof key, "%s:{%s}:sub:%s", s->rs.prefix, rs_tag_of(s, q->subs[i].tag),
                 sid);
        const char *argv[3] = {"HGET", key, "params"};
        q->pending++;
        if (pp_redis_command(s->r, PP_REDIS_IDEMPOTENT, 3, argv, NULL, on_sub, ud) < 0) {
            q->pending--;
            free(ud);
            list_fail(q, "a command could not be sent");
        }
    }
    if (--q->pending == 0)
        list_end(q);
}

static int want_sub(listop *q, int64_t sid, uint32_t tag)
{
    for (size_t i = 0; i < q->nsubs; i++)
        if (q->subs[i].sid == sid && q->subs[i].tag == tag)
            return 0;
    if (rs_push(&q->subs, &q->nsubs, &q->capsubs, sizeof *q->subs) < 0)
        return -1;
    q->subs[q->nsubs++] = (lsub){sid, tag, NULL};
    return 0;
}

static int take_row(listop *q, uint32_t tag, const char *key, const redisReply *fields)
{
    const char *st = field(fields, "state"), *sub = field(fields, "sub");
    if (!key || !st || !sub)
        return 0;
    int state = state_of(st);
    if (q->f.states && !(q->f.states & (1u << state)))
        return 0;
    if (rs_push(&q->rows, &q->nrows, &q->caprows, sizeof *q->rows) < 0)
        return -1;
    lrow *w = &q->rows[q->nrows];
    memset(w, 0, sizeof *w);
    w->key = strtoll(key, NULL, 10);
    w->sid = strtoll(sub, NULL, 10);
    w->tag = tag;
    w->state = state;
    w->handed = field(fields, "handed") != NULL;
    const char *sent = field(fields, "sent");
    w->sent = (sent && strcmp(sent, "1") == 0) || state != PP_SUBMITTING;
    const char *v;
    if (((v = field(fields, "id")) && !(w->id = pp_strdup(v))) ||
        ((v = field(fields, "value")) && *v && !(w->value = pp_strdup(v))) ||
        ((v = field(fields, "error")) && !(w->error = pp_strdup(v))) ||
        ((v = field(fields, "results_path")) && !(w->results_path = pp_strdup(v)))) {
        q->nrows++;
        return -1;
    }
    q->nrows++;
    /* the job is this store's to write to from now on (resume) */
    if (rs_map_put(&q->s->map, w->key, w->sid, tag) < 0)
        return -1;
    return want_sub(q, w->sid, tag);
}

static void on_page(void *ud, const redisReply *reply, const char *err)
{
    listop *q = ud;
    if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        list_fail(q, err ? err : "a listing's odd answer");
        list_end(q);
        return;
    }
    uint32_t tag = q->tags[q->at];
    for (size_t i = 1; i + 1 < reply->elements; i += 2) {
        const redisReply *fields = reply->element[i + 1];
        const redisReply *k = reply->element[i];
        if (fields->type == REDIS_REPLY_ARRAY && k->type == REDIS_REPLY_STRING &&
            take_row(q, tag, k->str, fields) < 0) {
            list_fail(q, NULL);
            list_end(q);
            return;
        }
    }
    snprintf(q->cursor, sizeof q->cursor, "%s", reply->element[0]->str);
    if (strcmp(q->cursor, "0") == 0) {
        q->at++;
        q->cursor[0] = 0;
    }
    list_page(q);
}

static void list_page(listop *q)
{
    if (q->at >= q->ntags) {
        read_subs(q);
        return;
    }
    const char *tag = rs_tag_of(q->s, q->tags[q->at]);
    if (pp_rstore_list(&q->s->rs, tag, NULL, q->f.unhanded, q->cursor, LIST_PAGE, on_page, q) < 0) {
        list_fail(q, "a listing could not be sent");
        list_end(q);
    }
}

static void on_tags(void *ud, const redisReply *reply, const char *err)
{
    listop *q = ud;
    if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
        list_fail(q, err ? err : "the tags' odd answer");
        list_end(q);
        return;
    }
    q->tags = calloc(reply->elements ? reply->elements : 1, sizeof *q->tags);
    for (size_t i = 0; q->tags && i < reply->elements; i++) {
        const redisReply *t = reply->element[i];
        long k = t->type == REDIS_REPLY_STRING ? rs_tag_index(q->s, t->str) : -2;
        if (k == -1) {
            free(q->tags);
            q->tags = NULL;
            break;
        }
        if (k >= 0)
            q->tags[q->ntags++] = (uint32_t)k;
    }
    if (!q->tags) {
        list_fail(q, NULL);
        list_end(q);
        return;
    }
    list_page(q);
}

int rs_list(pp_store *st, const pp_store_filter *f, pp_store_row_fn each, pp_store_done_fn done,
            void *ud, const char **why)
{
    rstore *s = RS(st);
    listop *q = calloc(1, sizeof *q);
    if (!q) {
        *why = rs_oom(s);
        return -1;
    }
    q->s = s;
    q->f = *f;
    q->each = each;
    q->done = done;
    q->ud = ud;
    if (f->tag) {
        long t = rs_tag_index(s, f->tag);
        q->tags = t >= 0 ? malloc(sizeof *q->tags) : NULL;
        if (!q->tags) {
            free(q);
            *why = rs_oom(s);
            return -1;
        }
        q->tags[0] = (uint32_t)t;
        q->ntags = 1;
        list_page(q);
        return 1;
    }
    char key[96];
    snprintf(key, sizeof key, "%s:tags", s->rs.prefix);
    const char *argv[2] = {"SMEMBERS", key};
    if (pp_redis_command(s->r, PP_REDIS_IDEMPOTENT, 2, argv, NULL, on_tags, q) < 0) {
        free(q);
        *why = "journal: a listing could not be sent";
        return -1;
    }
    return 1;
}

/* ---- leases: claims of finished jobs, polls of pending ones */

void pp_store_redis_set_lease(pp_store *st, long lease_ms)
{
    if (lease_ms >= 300)
        RS(st)->lease_ms = lease_ms;
}

typedef struct leaseop {
    listop *q;
    int lease;
    long *remaining;
    uint64_t sent; /* the server's lease starts after this */
} leaseop;

static void rows_settle(listop *q)
{
    if (--q->pending > 0)
        return;
    if (q->failed)
        list_end(q);
    else
        read_subs(q);
}

/* The claim (or adoption) answers with each job's hash: a row as list()
 * gives it, now this process' under the lease. */
static void on_leased(void *ud, const redisReply *reply, const char *err)
{
    leaseop *l = ud;
    listop *q = l->q;
    rstore *s = q->s;
    size_t first = l->lease == LEASE_CLAIMED ? 1 : 0;
    q->pending = 1;
    if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < first) {
        list_fail(q, err ? err : "a claim's odd answer");
    } else {
        if (first && l->remaining)
            *l->remaining = reply->element[0]->type == REDIS_REPLY_INTEGER
                                ? (long)reply->element[0]->integer
                                : -1;
        for (size_t i = first; i + 1 < reply->elements && !q->failed; i += 2) {
            const redisReply *k = reply->element[i], *fields = reply->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || fields->type != REDIS_REPLY_ARRAY) {
                list_fail(q, "a claim's odd answer");
                break;
            }
            size_t before = q->nrows;
            if (take_row(q, q->tags[0], k->str, fields) < 0) {
                list_fail(q, NULL);
            } else if (q->nrows > before) {
                slot *m = rs_map_find(&s->map, q->rows[before].key);
                rs_set_lease(s, m, l->lease);
                if (m)
                    m->valid_until = l->sent + (uint64_t)s->lease_ms;
            }
        }
    }
    free(l);
    rows_settle(q);
}

int pp_store_redis_lease(pp_store *st, const char *tag, long max, int pending, pp_store_row_fn each,
                         pp_store_done_fn done, void *ud, long *remaining, const char **why)
{
    rstore *s = RS(st);
    if (!pp_rstore_tag_valid(tag ? tag : UNTAGGED)) {
        *why = "journal: a tag of the Redis store is 1..64 bytes without '{' or '}'";
        return -1;
    }
    long t = rs_tag_index(s, tag);
    listop *q = t >= 0 ? calloc(1, sizeof *q) : NULL;
    leaseop *l = q ? calloc(1, sizeof *l) : NULL;
    if (q)
        q->tags = malloc(sizeof *q->tags);
    if (!l || !q->tags) {
        if (q)
            free(q->tags);
        free(q);
        free(l);
        *why = rs_oom(s);
        return -1;
    }
    q->s = s;
    q->tags[0] = (uint32_t)t;
    q->ntags = 1;
    q->each = each;
    q->done = done;
    q->ud = ud;
    *l = (leaseop){q, pending ? LEASE_POLLED : LEASE_CLAIMED, remaining, pp_now_ms()};
    const char *name = rs_tag_of(s, (uint32_t)t);
    int rc = pending ? pp_rstore_poll(&s->rs, name, max, s->lease_ms, on_leased, l)
                     : pp_rstore_claim(&s->rs, name, max, s->lease_ms, on_leased, l);
    if (rc < 0) {
        list_free(q);
        free(l);
        *why = "journal: a claim could not be sent";
        return -1;
    }
    return 1;
}

int pp_store_redis_holds(pp_store *st, int64_t key)
{
    rstore *s = RS(st);
    slot *m = rs_map_find(&s->map, key);
    /* a margin: the job is handed, then marked handed; the lease must
     * outlast that step */
    return m && m->lease == LEASE_CLAIMED &&
           pp_now_ms() + (uint64_t)s->lease_ms / 4 < m->valid_until;
}

typedef struct renewal {
    rstore *s;
    uint64_t sent;
    int64_t *keys;
    size_t n;
} renewal;

/* A lease renewed lasts from before it was sent; one lost is let go. */
static void on_renewed(void *ud, const redisReply *reply, const char *err)
{
    renewal *w = ud;
    rstore *s = w->s;
    for (size_t i = 0;
         !err && reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements && i < w->n;
         i++) {
        slot *m = rs_map_find(&s->map, w->keys[i]);
        if (!m || reply->element[i]->type != REDIS_REPLY_INTEGER)
            continue;
        if (reply->element[i]->integer == 1)
            m->valid_until = w->sent + (uint64_t)s->lease_ms;
        else
            rs_set_lease(s, m, LEASE_NONE);
    }
    free(w->keys);
    free(w);
}

static void renew(rstore *s, uint32_t tag, int kind, char **keys, size_t n)
{
    renewal *w = calloc(1, sizeof *w);
    if (w)
        w->keys = calloc(n, sizeof *w->keys);
    if (!w || !w->keys) {
        free(w);
        return;
    }
    *w = (renewal){s, pp_now_ms(), w->keys, n};
    for (size_t i = 0; i < n; i++)
        w->keys[i] = strtoll(keys[i], NULL, 10);
    if (pp_rstore_renew(&s->rs, rs_tag_of(s, tag),
                        kind == LEASE_POLLED ? PP_LEASE_POLL : PP_LEASE_CLAIM,
                        (const char *const *)keys, n, s->lease_ms, on_renewed, w) < 0) {
        free(w->keys);
        free(w);
    }
}

/* Renews every lease this process holds, one script per tag and kind. */
static void renew_all(rstore *s)
{
    for (size_t t = 0; t < s->ntags; t++) {
        for (int kind = LEASE_CLAIMED; kind <= LEASE_POLLED; kind++) {
            size_t n = 0, cap = 0;
            char **keys = NULL;
            for (size_t i = 0; i < s->map.cap; i++) {
                slot *m = &s->map.v[i];
                if (!m->key || m->tag != t || m->lease != kind)
                    continue;
                char num[24];
                snprintf(num, sizeof num, "%lld", (long long)m->key);
                char *k = pp_strdup(num);
                if (!k || rs_push(&keys, &n, &cap, sizeof *keys) < 0) {
                    free(k);
                    break;
                }
                keys[n++] = k;
            }
            if (n)
                renew(s, (uint32_t)t, kind, keys, n);
            rs_strings_free(keys, n);
        }
    }
}

void pp_store_redis_tick(pp_store *st)
{
    rstore *s = RS(st);
    if (!s->nleases) {
        s->next_renew = 0;
        return;
    }
    uint64_t now = pp_now_ms();
    if (now < s->next_renew)
        return;
    s->next_renew = now + (uint64_t)s->lease_ms / 3;
    renew_all(s);
}

long pp_store_redis_timeout_ms(const pp_store *st)
{
    const rstore *s = (const rstore *)st;
    if (!s->nleases || !s->next_renew)
        return -1;
    uint64_t now = pp_now_ms();
    return s->next_renew > now ? (long)(s->next_renew - now) : 0;
}
