/* The Redis backend of the job store: the fleet's jobs in one Redis,
 * through the operations of redis_store.c on the client's connection
 * (which drive.c already serves: fd, timers, reconnects).
 *
 * Writes gather in a group in this process and cost nothing until flush,
 * which sends them: each new submission one `submit` script, then one
 * `move` per tag for the group's marks, ids, ends and results, and one
 * `release untake` per tag for given-back claims -- pipelined, so a flush
 * is one round trip. Its completion runs when Redis has answered them all
 * (and every flush before it: flushes complete in order).
 *
 * Keys are unique across the fleet without a round trip per job: the
 * store takes a process number once (INCR <prefix>:procs) and numbers its
 * submissions and jobs after it (process << 32 | counter). Until that
 * number is known the store records nothing (pp_store_redis_ready).
 *
 * Claims that join a group (the journal's replaces) are taken first when
 * the group is flushed; the submission recorded after them follows only
 * when all were got, otherwise it is not recorded, what was got is given
 * back, and the flush that marks its jobs sending fails: the chunk is
 * never sent. */
#include "redis.h"
#include "store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNTAGGED "pp-untagged" /* the Redis tag of jobs without one */
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

/* ---- the key map: each job this process knows -> its tag and submission */

typedef struct slot {
    int64_t key; /* 0: empty */
    int64_t sid;
    uint32_t tag;
    int lease;            /* LEASE_NONE, or the lease this process holds on it */
    uint64_t valid_until; /* a claim: surely still held before then (ms) */
} slot;

enum { LEASE_NONE = 0, LEASE_CLAIMED, LEASE_POLLED };

typedef struct keymap {
    slot *v;
    size_t n, cap;
} keymap;

static size_t hash64(int64_t k, size_t cap)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

static slot *map_find(const keymap *m, int64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = hash64(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->v[i].key == key)
            return &m->v[i];
        if (!m->v[i].key)
            return NULL;
    }
}

static int map_put(keymap *m, int64_t key, int64_t sid, uint32_t tag)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        slot *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->v[i].key)
                continue;
            size_t j = hash64(m->v[i].key, cap);
            while (v[j].key)
                j = (j + 1) & (cap - 1);
            v[j] = m->v[i];
        }
        free(m->v);
        m->v = v;
        m->cap = cap;
    }
    slot *s = map_find(m, key);
    if (!s) {
        size_t i = hash64(key, m->cap);
        while (m->v[i].key)
            i = (i + 1) & (m->cap - 1);
        s = &m->v[i];
        m->n++;
    }
    if (s->key != key)
        s->lease = LEASE_NONE;
    s->key = key;
    s->sid = sid;
    s->tag = tag;
    return 0;
}

/* ---- the group being gathered */

typedef struct rsub {
    int64_t sid;
    uint32_t tag;
    char *envelope; /* the submission as JSON: params, list key, results, pid, host */
    char **keys, **values;
    size_t n, cap;
    int64_t *holds; /* claims it needs (replaces) */
    size_t nholds;
    struct rsub *next;
} rsub;

typedef struct rwrite {
    uint32_t tag;
    int untake; /* else a move */
    char key[24];
    const char *path;
    char *fields; /* JSON object or NULL */
} rwrite;

typedef struct flushrec {
    int pending; /* commands not answered yet */
    int failed;
    char why[300];
    int64_t *sending; /* submissions this flush marks as leaving */
    size_t nsending;
    pp_store_done_fn done;
    void *ud;
    struct flushrec *next;
} flushrec;

typedef struct rstore {
    pp_store base;
    pp_rstore rs;
    pp_redis *r;
    int64_t proc; /* 0 until INCR answered */
    int proc_failed;
    uint32_t counter;
    char host[64];
    char **tags; /* index -> tag as used in Redis keys */
    unsigned char *tag_known;
    size_t ntags;
    keymap map;
    /* the group */
    rsub *subs, **subs_tail;
    rwrite *w;
    size_t nw, capw;
    int64_t *holds;
    size_t nholds;
    int64_t *sending;
    size_t nsending;
    /* flushes out, oldest first */
    flushrec *fhead, **ftail;
    /* submissions refused (claims not got, or not recorded) */
    int64_t *refused;
    size_t nrefused;
    /* leases: how long, and when this process renews those it holds */
    long lease_ms;
    uint64_t next_renew;
    size_t nleases;
    /* callbacks that reached another process (<prefix>:callbacks) */
    char cb_last[48]; /* the last stream entry read */
    uint64_t cb_next; /* when to read again; 0: not reading */
    int cb_reading;   /* a read is out */
    void (*cb_fn)(void *ud, const char *id, int claim);
    void *cb_ud;
    char why[512];
} rstore;

static rstore *RS(pp_store *s)
{
    return (rstore *)s;
}

static const char *oom(rstore *s)
{
    snprintf(s->why, sizeof s->why, "journal: %s", pp_oom_message);
    return s->why;
}

static int push(void *vp, size_t *n, size_t *cap, size_t size)
{
    void **v = vp;
    if (*n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, c * size);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

/* The index of a tag (NULL: untagged), added when new; -1 out of memory. */
static long tag_index(rstore *s, const char *tag)
{
    const char *t = tag ? tag : UNTAGGED;
    for (size_t i = 0; i < s->ntags; i++)
        if (strcmp(s->tags[i], t) == 0)
            return (long)i;
    char **v = realloc(s->tags, (s->ntags + 1) * sizeof *v);
    if (v)
        s->tags = v;
    unsigned char *k = v ? realloc(s->tag_known, s->ntags + 1) : NULL;
    if (k)
        s->tag_known = k;
    char *copy = k ? pp_strdup(t) : NULL;
    if (!copy)
        return -1;
    s->tags[s->ntags] = copy;
    s->tag_known[s->ntags] = 0;
    return (long)s->ntags++;
}

static const char *tag_public(const char *t)
{
    return strcmp(t, UNTAGGED) == 0 ? NULL : t;
}

static int refused(const rstore *s, int64_t sid)
{
    for (size_t i = 0; i < s->nrefused; i++)
        if (s->refused[i] == sid)
            return 1;
    return 0;
}

static void refuse(rstore *s, int64_t sid)
{
    size_t cap = s->nrefused;
    if (refused(s, sid) || push(&s->refused, &s->nrefused, &cap, sizeof *s->refused) < 0)
        return;
    s->refused[s->nrefused++] = sid;
}

static int next_key(rstore *s, int64_t *out, const char **why)
{
    if (!s->proc) {
        snprintf(s->why, sizeof s->why, "journal: the Redis store is not connected yet%s%s",
                 *pp_redis_last_error(s->r) ? ": " : "", pp_redis_last_error(s->r));
        *why = s->why;
        return -1;
    }
    if (s->counter == UINT32_MAX) {
        *why = "journal: this process has numbered 2^32 jobs; open the store again";
        return -1;
    }
    *out = (s->proc << 32) | (int64_t)++s->counter;
    return 0;
}

/* ---- writes */

static int w_submission(pp_store *st, const char *params, const char *list_key, const char *tag,
                        const char *results_dir, const char *results_type, int64_t *sub,
                        const char **why)
{
    rstore *s = RS(st);
    if (tag && !pp_rstore_tag_valid(tag)) {
        *why = "journal: a tag of the Redis store is 1..64 bytes without '{' or '}'";
        return -1;
    }
    if (!pp_redis_ready(s->r) && *pp_redis_last_error(s->r)) {
        snprintf(s->why, sizeof s->why, "journal: the Redis store cannot be reached: %s",
                 pp_redis_last_error(s->r));
        *why = s->why;
        return -1;
    }
    int64_t sid;
    if (next_key(s, &sid, why) < 0)
        return -1;
    long t = tag_index(s, tag);
    rsub *r = t >= 0 ? calloc(1, sizeof *r) : NULL;
    json_t *env =
        r ? json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:s}", "p", params, "k", list_key, "d",
                      results_dir, "t", results_type, "pid", (json_int_t)getpid(), "h", s->host)
          : NULL;
    if (env) {
        r->envelope = json_dumps(env, JSON_COMPACT);
        json_decref(env);
    }
    if (!r || !r->envelope) {
        free(r);
        *why = oom(s);
        return -1;
    }
    r->sid = sid;
    r->tag = (uint32_t)t;
    /* the claims taken just before belong to this submission */
    r->holds = s->holds;
    r->nholds = s->nholds;
    s->holds = NULL;
    s->nholds = 0;
    *s->subs_tail = r;
    s->subs_tail = &r->next;
    *sub = sid;
    return 0;
}

static rsub *sub_of(rstore *s, int64_t sid)
{
    for (rsub *r = s->subs; r; r = r->next)
        if (r->sid == sid)
            return r;
    return NULL;
}

static int w_job(pp_store *st, int64_t sid, const char *value, int64_t *key, const char **why)
{
    rstore *s = RS(st);
    rsub *r = sub_of(s, sid);
    if (!r) {
        *why = "journal: a job of a submission this group does not hold";
        return -1;
    }
    int64_t k;
    if (next_key(s, &k, why) < 0)
        return -1;
    size_t cap = r->cap;
    if (push(&r->keys, &r->n, &cap, sizeof *r->keys) < 0 ||
        push(&r->values, &r->n, &r->cap, sizeof *r->values) < 0) {
        *why = oom(s);
        return -1;
    }
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)k);
    r->keys[r->n] = pp_strdup(num);
    r->values[r->n] = value ? pp_strdup(value) : NULL;
    if (!r->keys[r->n] || (value && !r->values[r->n]) || map_put(&s->map, k, sid, r->tag) < 0) {
        free(r->keys[r->n]);
        free(r->values[r->n]);
        *why = oom(s);
        return -1;
    }
    r->n++;
    *key = k;
    return 0;
}

/* A move of the job at key along path, with fields (a JSON object or
 * NULL). Jobs this process never saw are not its to record. */
static int add_write(rstore *s, int64_t key, int untake, const char *path, json_t *fields,
                     const char **why)
{
    slot *m = map_find(&s->map, key);
    if (!m) {
        if (fields)
            json_decref(fields);
        return 0;
    }
    char *f = NULL;
    if (fields) {
        f = json_dumps(fields, JSON_COMPACT);
        json_decref(fields);
        if (!f) {
            *why = oom(s);
            return -1;
        }
    }
    if (push(&s->w, &s->nw, &s->capw, sizeof *s->w) < 0) {
        free(f);
        *why = oom(s);
        return -1;
    }
    rwrite *w = &s->w[s->nw++];
    w->tag = m->tag;
    w->untake = untake;
    snprintf(w->key, sizeof w->key, "%lld", (long long)key);
    w->path = path;
    w->fields = f;
    return 0;
}

static int w_sending(pp_store *st, int64_t key, const char **why)
{
    rstore *s = RS(st);
    slot *m = map_find(&s->map, key);
    if (m && (!s->nsending || s->sending[s->nsending - 1] != m->sid)) {
        size_t cap = s->nsending;
        if (push(&s->sending, &s->nsending, &cap, sizeof *s->sending) < 0) {
            *why = oom(s);
            return -1;
        }
        s->sending[s->nsending++] = m->sid;
    }
    return add_write(s, key, 0, "submitting", json_pack("{s:s}", "sent", "1"), why);
}

static void set_lease(rstore *s, slot *m, int lease)
{
    if (!m || m->lease == lease)
        return;
    s->nleases = s->nleases + (lease != LEASE_NONE) - (m->lease != LEASE_NONE);
    if (!m->lease && !s->next_renew)
        s->next_renew = pp_now_ms() + (uint64_t)s->lease_ms / 3;
    m->lease = lease;
}

static int w_answer(pp_store *st, int64_t key, const char *id, const char **why)
{
    rstore *s = RS(st);
    /* the answer's move gives this process the job's poll lease */
    set_lease(s, map_find(&s->map, key), LEASE_POLLED);
    return add_write(s, key, 0, "pending", json_pack("{s:s?}", "id", id), why);
}

/* The path from wherever the journal last left the job (it records no
 * done or fetching) to state. */
static const char *path_to(int state)
{
    switch (state) {
    case PP_FETCHED: return "pending,done,fetching,fetched";
    case PP_FAILED: return "pending,done,fetching,failed";
    case PP_FAULTED: return "pending,faulted";
    case PP_EXPIRED: return "pending,expired";
    case PP_REJECTED: return "rejected";
    case PP_UNKNOWN: return "unknown";
    case PP_PENDING: return "pending";
    default: return NULL;
    }
}

static int w_transition(pp_store *st, int64_t key, int state, const char *error, const char **why)
{
    const char *path = path_to(state);
    if (!path)
        return 0;
    return add_write(RS(st), key, 0, path, json_pack("{s:s?}", "error", error), why);
}

static int w_result(pp_store *st, int64_t key, const char *path, const char **why)
{
    return add_write(RS(st), key, 0, path_to(PP_FETCHED), json_pack("{s:s?}", "results_path", path),
                     why);
}

static int w_unclaim(pp_store *st, int64_t key, const char **why)
{
    return add_write(RS(st), key, 1, NULL, NULL, why);
}

/* ---- flush */

typedef struct cmd {
    rstore *s;
    flushrec *f;
    rsub *sub; /* a submission waiting for its claims, or being recorded */
} cmd;

static void rsub_free(rsub *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->keys[i]);
        free(r->values[i]);
    }
    free(r->keys);
    free(r->values);
    free(r->holds);
    free(r->envelope);
    free(r);
}

static void flush_fail(flushrec *f, const char *why)
{
    if (!f->failed)
        snprintf(f->why, sizeof f->why, "journal: %s", why ? why : "the Redis store failed");
    f->failed = 1;
}

/* Completes the flushes whose commands all answered, oldest first. */
static void settle(rstore *s)
{
    while (s->fhead && s->fhead->pending == 0) {
        flushrec *f = s->fhead;
        s->fhead = f->next;
        if (!s->fhead)
            s->ftail = &s->fhead;
        for (size_t i = 0; !f->failed && i < f->nsending; i++)
            if (refused(s, f->sending[i]))
                flush_fail(f, "a submission to send again was sent again or dismissed already,"
                              " or the Redis store did not record it");
        if (f->done)
            f->done(f->ud, f->failed ? -1 : 0, f->failed ? f->why : NULL);
        free(f->sending);
        free(f);
    }
}

static void on_written(void *ud, const redisReply *reply, const char *err)
{
    cmd *c = ud;
    (void)reply;
    if (err) {
        flush_fail(c->f, err);
        if (c->sub)
            refuse(c->s, c->sub->sid);
    }
    if (c->sub)
        rsub_free(c->sub);
    c->f->pending--;
    rstore *s = c->s;
    free(c);
    settle(s);
}

static const char *tag_of(rstore *s, uint32_t t)
{
    return s->tags[t];
}

static int issue_submit(rstore *s, flushrec *f, rsub *r)
{
    cmd *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    *c = (cmd){s, f, r};
    f->pending++;
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)r->sid);
    int rc = pp_rstore_submit(&s->rs, tag_of(s, r->tag), sid, r->envelope, strlen(r->envelope),
                              (long)r->n, (const char *const *)r->keys,
                              (const char *const *)r->values, r->n, on_written, c);
    if (rc < 0) {
        f->pending--;
        free(c);
    }
    return rc;
}

static char **key_strings(const int64_t *keys, size_t n)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)keys[i]);
        if (!(v[i] = pp_strdup(num))) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return NULL;
        }
    }
    return v;
}

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int issue_plain(rstore *s, flushrec *f, int rc_of_call(rstore *, cmd *, void *), void *arg)
{
    cmd *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->s = s;
    c->f = f;
    f->pending++;
    int rc = rc_of_call(s, c, arg);
    if (rc < 0) {
        f->pending--;
        free(c);
    }
    return rc;
}

/* The claims a submission needs answered: all got, its record follows;
 * otherwise what was got is given back and it is refused. */
static void on_holds(void *ud, const redisReply *reply, const char *err)
{
    cmd *c = ud;
    rstore *s = c->s;
    rsub *r = c->sub;
    int all = !err && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == r->nholds;
    for (size_t i = 0; all && i < r->nholds; i++)
        all = reply->element[i]->type == REDIS_REPLY_INTEGER && reply->element[i]->integer == 1;
    if (all && issue_submit(s, c->f, r) == 0) {
        c->sub = NULL;
    } else {
        refuse(s, r->sid);
        flush_fail(c->f,
                   err ? err : "a submission to send again was sent again or dismissed already");
        for (size_t i = 0; !err && reply && reply->type == REDIS_REPLY_ARRAY &&
                           i < reply->elements && i < r->nholds;
             i++) {
            if (reply->element[i]->type == REDIS_REPLY_INTEGER && reply->element[i]->integer == 1)
                (void)add_write(s, r->holds[i], 1, NULL, NULL, &(const char *){NULL});
        }
    }
    on_written(c, NULL, NULL);
}

static int issue_holds(rstore *s, flushrec *f, rsub *r)
{
    cmd *c = calloc(1, sizeof *c);
    char **keys = c ? key_strings(r->holds, r->nholds) : NULL;
    if (!keys) {
        free(c);
        return -1;
    }
    *c = (cmd){s, f, r};
    f->pending++;
    /* every claim of a submission is of its own tag's jobs or another's:
     * one take per claim keeps each in its own slot */
    int rc = 0;
    slot *m = map_find(&s->map, r->holds[0]);
    rc = pp_rstore_take(&s->rs, tag_of(s, m ? m->tag : r->tag), (const char *const *)keys,
                        r->nholds, on_holds, c);
    strings_free(keys, r->nholds);
    if (rc < 0) {
        f->pending--;
        free(c);
    }
    return rc;
}

typedef struct tagged {
    uint32_t tag;
    int untake;
} tagged;

static int call_writes(rstore *s, cmd *c, void *arg)
{
    const tagged *t = arg;
    size_t n = 0;
    for (size_t i = 0; i < s->nw; i++)
        n += s->w[i].tag == t->tag && s->w[i].untake == t->untake;
    if (!n) {
        c->f->pending--;
        free(c);
        return 1;
    }
    pp_rjob *jobs = calloc(n, sizeof *jobs);
    const char **keys = calloc(n, sizeof *keys);
    int rc = -1;
    if (jobs && keys) {
        size_t k = 0;
        for (size_t i = 0; i < s->nw; i++) {
            rwrite *w = &s->w[i];
            if (w->tag != t->tag || w->untake != t->untake)
                continue;
            jobs[k] = (pp_rjob){w->key, w->path, w->fields, NULL};
            keys[k++] = w->key;
        }
        const char *tag = tag_of(s, t->tag);
        rc = t->untake ? pp_rstore_untake(&s->rs, tag, keys, n, on_written, c)
                       : pp_rstore_move(&s->rs, tag, jobs, n, s->lease_ms, 0, on_written, c);
    }
    free(jobs);
    free(keys);
    return rc;
}

typedef struct tag_arg {
    const char *tag;
} tag_arg;

static int call_register(rstore *s, cmd *c, void *arg)
{
    char key[96];
    snprintf(key, sizeof key, "%s:tags", s->rs.prefix);
    const char *argv[3] = {"SADD", key, ((tag_arg *)arg)->tag};
    return pp_redis_command(s->r, PP_REDIS_IDEMPOTENT, 3, argv, NULL, on_written, c);
}

static void group_clear(rstore *s)
{
    for (size_t i = 0; i < s->nw; i++)
        free(s->w[i].fields);
    s->nw = 0;
}

static int w_flush(pp_store *st, int durable, pp_store_done_fn done, void *ud, const char **why)
{
    rstore *s = RS(st);
    (void)durable; /* Redis answers once it has the write (in its AOF when it
                      runs with one: core/README.md, "Redis store") */
    if (!s->subs && !s->nw && !s->nsending && !s->fhead) {
        if (done)
            done(ud, 0, NULL);
        return 0;
    }
    flushrec *f = calloc(1, sizeof *f);
    if (!f) {
        *why = oom(s);
        return -1;
    }
    f->done = done;
    f->ud = ud;
    f->sending = s->sending;
    f->nsending = s->nsending;
    s->sending = NULL;
    s->nsending = 0;
    *s->ftail = f;
    s->ftail = &f->next;
    f->pending++; /* held until every command is issued */
    int rc = 0;
    while (s->subs) {
        rsub *r = s->subs;
        s->subs = r->next;
        r->next = NULL;
        if (!s->tag_known[r->tag]) {
            tag_arg a = {tag_of(s, r->tag)};
            if (issue_plain(s, f, call_register, &a) < 0)
                rc = -1;
            else
                s->tag_known[r->tag] = 1;
        }
        int sub_rc = r->nholds ? issue_holds(s, f, r) : issue_submit(s, f, r);
        if (sub_rc < 0) {
            refuse(s, r->sid);
            rsub_free(r);
            rc = -1;
        }
    }
    s->subs_tail = &s->subs;
    for (size_t t = 0; t < s->ntags; t++) {
        for (int u = 0; u < 2; u++) {
            tagged a = {(uint32_t)t, u};
            if (issue_plain(s, f, call_writes, &a) < 0)
                rc = -1;
        }
    }
    group_clear(s);
    if (rc < 0)
        flush_fail(f, "the Redis store refused a command (out of memory, or too many waiting)");
    /* a flush with nothing out, behind none, completes now */
    int now = --f->pending == 0 && s->fhead == f;
    settle(s);
    return now ? 0 : 1;
}

/* ---- claims (at once) */

typedef struct claimop {
    rstore *s;
    const int64_t *keys;
    unsigned char *got;
    size_t n;
    int pending;
    int failed;
    char why[300];
    pp_store_done_fn done;
    void *ud;
} claimop;

typedef struct claimpart {
    claimop *op;
    size_t *at; /* the positions of its keys in op->keys */
    size_t n;
} claimpart;

static void claim_settle(claimop *q)
{
    if (--q->pending > 0)
        return;
    if (q->done)
        q->done(q->ud, q->failed ? -1 : 0, q->failed ? q->why : NULL);
    free(q);
}

static void on_taken(void *ud, const redisReply *reply, const char *err)
{
    claimpart *p = ud;
    claimop *q = p->op;
    if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != p->n) {
        if (!q->failed)
            snprintf(q->why, sizeof q->why, "journal: %s", err ? err : "a claim's odd answer");
        q->failed = 1;
    } else {
        for (size_t i = 0; i < p->n; i++)
            q->got[p->at[i]] =
                reply->element[i]->type == REDIS_REPLY_INTEGER && reply->element[i]->integer == 1;
    }
    free(p->at);
    free(p);
    claim_settle(q);
}

static int w_claim(pp_store *st, const int64_t *keys, size_t n, int hold, unsigned char *got,
                   pp_store_done_fn done, void *ud, const char **why)
{
    rstore *s = RS(st);
    if (hold) {
        /* taken when the group is flushed, before the submission that
         * follows: the refusal comes with that flush */
        size_t cap = s->nholds;
        for (size_t i = 0; i < n; i++) {
            if (push(&s->holds, &s->nholds, &cap, sizeof *s->holds) < 0) {
                *why = oom(s);
                return -1;
            }
            s->holds[s->nholds++] = keys[i];
        }
        return 1;
    }
    claimop *q = calloc(1, sizeof *q);
    if (!q) {
        *why = oom(s);
        return -1;
    }
    *q = (claimop){.s = s, .keys = keys, .got = got, .n = n, .pending = 1, .done = done, .ud = ud};
    memset(got, 0, n);
    for (size_t t = 0; t < s->ntags && !q->failed; t++) {
        claimpart *p = calloc(1, sizeof *p);
        if (p)
            p->at = calloc(n ? n : 1, sizeof *p->at);
        char **kv = p && p->at ? calloc(n ? n : 1, sizeof *kv) : NULL;
        if (!kv) {
            if (p)
                free(p->at);
            free(p);
            q->failed = 1;
            snprintf(q->why, sizeof q->why, "journal: %s", pp_oom_message);
            break;
        }
        p->op = q;
        for (size_t i = 0; i < n; i++) {
            slot *m = map_find(&s->map, keys[i]);
            if (m && m->tag == t)
                p->at[p->n++] = i;
        }
        char num[24];
        int rc = 0;
        for (size_t i = 0; i < p->n && rc == 0; i++) {
            snprintf(num, sizeof num, "%lld", (long long)keys[p->at[i]]);
            if (!(kv[i] = pp_strdup(num)))
                rc = -1;
        }
        q->pending++;
        if (rc == 0 && p->n)
            rc = pp_rstore_take(&s->rs, tag_of(s, (uint32_t)t), (const char *const *)kv, p->n,
                                on_taken, p);
        strings_free(kv, p->n);
        if (rc < 0 || !p->n) {
            if (rc < 0) {
                q->failed = 1;
                snprintf(q->why, sizeof q->why, "journal: a claim could not be sent");
            }
            q->pending--;
            free(p->at);
            free(p);
        }
    }
    claim_settle(q);
    return 1;
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
                .tag = tag_public(tag_of(s, w->tag)),
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
        snprintf(key, sizeof key, "%s:{%s}:sub:%s", s->rs.prefix, tag_of(s, q->subs[i].tag), sid);
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
    if (push(&q->subs, &q->nsubs, &q->capsubs, sizeof *q->subs) < 0)
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
    if (push(&q->rows, &q->nrows, &q->caprows, sizeof *q->rows) < 0)
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
    if (map_put(&q->s->map, w->key, w->sid, tag) < 0)
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
    const char *tag = tag_of(q->s, q->tags[q->at]);
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
        long k = t->type == REDIS_REPLY_STRING ? tag_index(q->s, t->str) : -2;
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

static int w_list(pp_store *st, const pp_store_filter *f, pp_store_row_fn each,
                  pp_store_done_fn done, void *ud, const char **why)
{
    rstore *s = RS(st);
    listop *q = calloc(1, sizeof *q);
    if (!q) {
        *why = oom(s);
        return -1;
    }
    q->s = s;
    q->f = *f;
    q->each = each;
    q->done = done;
    q->ud = ud;
    if (f->tag) {
        long t = tag_index(s, f->tag);
        q->tags = t >= 0 ? malloc(sizeof *q->tags) : NULL;
        if (!q->tags) {
            free(q);
            *why = oom(s);
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

/* ---- the rest */

static int w_fd(pp_store *st)
{
    return pp_redis_fd(RS(st)->r);
}

static void w_run(pp_store *st)
{
    (void)st; /* the client's loop serves the connection (drive.c) */
}

static void w_close(pp_store *st)
{
    rstore *s = RS(st);
    while (s->subs) {
        rsub *r = s->subs;
        s->subs = r->next;
        rsub_free(r);
    }
    group_clear(s);
    free(s->w);
    /* the connection is closed before the store: nothing of ours is out */
    while (s->fhead) {
        flushrec *f = s->fhead;
        s->fhead = f->next;
        free(f->sending);
        free(f);
    }
    for (size_t i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
    free(s->tag_known);
    free(s->map.v);
    free(s->holds);
    free(s->sending);
    free(s->refused);
    pp_rstore_cleanup(&s->rs);
    free(s);
}

static const pp_store_ops redis_ops = {
    .name = "redis",
    .submission = w_submission,
    .job = w_job,
    .sending = w_sending,
    .answer = w_answer,
    .transition = w_transition,
    .unclaim = w_unclaim,
    .result = w_result,
    .flush = w_flush,
    .claim = w_claim,
    .list = w_list,
    .fd = w_fd,
    .run = w_run,
    .close = w_close,
};

static void on_proc(void *ud, const redisReply *reply, const char *err)
{
    rstore *s = ud;
    if (!err && reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0 &&
        reply->integer < ((long long)1 << 31))
        s->proc = reply->integer;
    else
        s->proc_failed = 1;
}

static void ask_proc(rstore *s)
{
    char key[96];
    snprintf(key, sizeof key, "%s:procs", s->rs.prefix);
    const char *argv[2] = {"INCR", key};
    /* a number lost with its answer only leaves a gap */
    if (pp_redis_command(s->r, PP_REDIS_IDEMPOTENT, 2, argv, NULL, on_proc, s) < 0)
        s->proc_failed = 1;
}

pp_store *pp_store_redis_open(pp_redis *r, const char *prefix, uint64_t *rng, char *why,
                              size_t whylen)
{
    rstore *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "%s", pp_oom_message);
        return NULL;
    }
    s->base.ops = &redis_ops;
    s->r = r;
    s->subs_tail = &s->subs;
    s->ftail = &s->fhead;
    if (gethostname(s->host, sizeof s->host) < 0)
        snprintf(s->host, sizeof s->host, "host");
    s->host[sizeof s->host - 1] = 0;
    s->lease_ms = PP_STORE_REDIS_LEASE_MS;
    if (pp_rstore_init(&s->rs, r, prefix, NULL, rng, why, whylen) < 0) {
        free(s);
        return NULL;
    }
    ask_proc(s);
    if (s->proc_failed) {
        snprintf(why, whylen, "journal: the Redis store could not be asked for a number");
        w_close(&s->base);
        return NULL;
    }
    return &s->base;
}

int pp_store_redis_ready(pp_store *st)
{
    rstore *s = RS(st);
    if (s->proc)
        return 1;
    if (s->proc_failed) {
        s->proc_failed = 0;
        ask_proc(s);
    }
    return 0;
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

typedef struct rowget {
    listop *q;
    uint32_t tag;
    int lease;
    uint64_t sent;
    char key[24];
} rowget;

static void rows_settle(listop *q)
{
    if (--q->pending > 0)
        return;
    if (q->failed)
        list_end(q);
    else
        read_subs(q);
}

static void on_job_hash(void *ud, const redisReply *reply, const char *err)
{
    rowget *g = ud;
    listop *q = g->q;
    if (err) {
        list_fail(q, err);
    } else if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements) {
        size_t before = q->nrows;
        if (take_row(q, g->tag, g->key, reply) < 0)
            list_fail(q, NULL);
        else if (q->nrows > before) {
            slot *m = map_find(&q->s->map, q->rows[before].key);
            set_lease(q->s, m, g->lease);
            if (m)
                m->valid_until = g->sent + (uint64_t)q->s->lease_ms;
        }
    }
    free(g);
    rows_settle(q);
}

static void on_leased(void *ud, const redisReply *reply, const char *err)
{
    leaseop *l = ud;
    listop *q = l->q;
    rstore *s = q->s;
    int claims = l->lease == LEASE_CLAIMED;
    size_t first = claims ? 1 : 0, step = claims ? 2 : 1;
    q->pending = 1;
    if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < first) {
        list_fail(q, err ? err : "a claim's odd answer");
    } else {
        if (claims && l->remaining)
            *l->remaining = reply->element[0]->type == REDIS_REPLY_INTEGER
                                ? (long)reply->element[0]->integer
                                : -1;
        for (size_t i = first; i < reply->elements && !q->failed; i += step) {
            const redisReply *k = reply->element[i];
            rowget *g = k->type == REDIS_REPLY_STRING ? calloc(1, sizeof *g) : NULL;
            if (!g) {
                list_fail(q, k->type == REDIS_REPLY_STRING ? NULL : "a claim's odd answer");
                break;
            }
            *g = (rowget){q, q->tags[0], l->lease, l->sent, ""};
            snprintf(g->key, sizeof g->key, "%s", k->str);
            char jk[200];
            snprintf(jk, sizeof jk, "%s:{%s}:job:%s", s->rs.prefix, tag_of(s, q->tags[0]), k->str);
            const char *argv[2] = {"HGETALL", jk};
            q->pending++;
            if (pp_redis_command(s->r, PP_REDIS_IDEMPOTENT, 2, argv, NULL, on_job_hash, g) < 0) {
                q->pending--;
                free(g);
                list_fail(q, "a command could not be sent");
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
    long t = tag_index(s, tag);
    listop *q = t >= 0 ? calloc(1, sizeof *q) : NULL;
    leaseop *l = q ? calloc(1, sizeof *l) : NULL;
    if (q)
        q->tags = malloc(sizeof *q->tags);
    if (!l || !q->tags) {
        if (q)
            free(q->tags);
        free(q);
        free(l);
        *why = oom(s);
        return -1;
    }
    q->s = s;
    q->tags[0] = (uint32_t)t;
    q->ntags = 1;
    q->each = each;
    q->done = done;
    q->ud = ud;
    *l = (leaseop){q, pending ? LEASE_POLLED : LEASE_CLAIMED, remaining, pp_now_ms()};
    const char *name = tag_of(s, (uint32_t)t);
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

static void on_released(void *ud, const redisReply *reply, const char *err)
{
    (void)ud;
    (void)reply;
    (void)err; /* a release lost is a lease that runs out: the job is claimed again */
}

int pp_store_redis_release(pp_store *st, int64_t key, int handed)
{
    rstore *s = RS(st);
    slot *m = map_find(&s->map, key);
    if (!m || m->lease != LEASE_CLAIMED)
        return 0;
    set_lease(s, m, LEASE_NONE);
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)key);
    const char *keys[1] = {num};
    return pp_rstore_release(&s->rs, tag_of(s, m->tag), PP_LEASE_CLAIM, keys, 1, handed, 0,
                             on_released, NULL);
}

int pp_store_redis_holds(pp_store *st, int64_t key)
{
    rstore *s = RS(st);
    slot *m = map_find(&s->map, key);
    return m && m->lease == LEASE_CLAIMED && pp_now_ms() < m->valid_until;
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
        slot *m = map_find(&s->map, w->keys[i]);
        if (!m || reply->element[i]->type != REDIS_REPLY_INTEGER)
            continue;
        if (reply->element[i]->integer == 1)
            m->valid_until = w->sent + (uint64_t)s->lease_ms;
        else
            set_lease(s, m, LEASE_NONE);
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
    if (pp_rstore_renew(&s->rs, tag_of(s, tag),
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
                if (!k || push(&keys, &n, &cap, sizeof *keys) < 0) {
                    free(k);
                    break;
                }
                keys[n++] = k;
            }
            if (n)
                renew(s, (uint32_t)t, kind, keys, n);
            strings_free(keys, n);
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
