/* The Redis backend of the job store: the fleet's jobs in one Redis,
 * through the operations of redis_store.c on the client's connection
 * (which drive.c already serves: fd, timers, reconnects).
 *
 * Writes gather in a group in this process and cost nothing until flush,
 * which sends them: each new submission one `submit` script, then one
 * `move` per tag for the group's marks, ids, ends and results, one
 * `release untake` per tag for given-back claims, and one `release` per
 * tag and outcome for the fleet's claims ended (handed out for good, or
 * given back) -- pipelined, so a flush is one round trip. Its completion
 * runs when Redis has answered them all (and every flush before it:
 * flushes complete in order).
 *
 * Keys are unique across the fleet without a round trip per job: the
 * store takes a process number once (INCR <prefix>:procs) and numbers its
 * submissions and jobs after it (process << 32 | counter). Until that
 * number is known the store records nothing (pp_store_redis_ready).
 *
 * Lists and leases are in store_redis_list.c, callbacks anywhere in
 * store_redis_callbacks.c, what they share in store_redis.h.
 *
 * Claims that join a group (the journal's replaces) are taken first when
 * the group is flushed; the submission recorded after them follows only
 * when all were got, otherwise it is not recorded, what was got is given
 * back, and the flush that marks its jobs sending fails: the chunk is
 * never sent. */
#include "store_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the key map: each job this process knows -> its tag, submission
 * and lease */

static size_t hash64(int64_t k, size_t cap)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29)) & (cap - 1);
}

slot *rs_map_find(const keymap *m, int64_t key)
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

int rs_map_put(keymap *m, int64_t key, int64_t sid, uint32_t tag)
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
    slot *s = rs_map_find(m, key);
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

const char *rs_oom(rstore *s)
{
    snprintf(s->why, sizeof s->why, "journal: %s", pp_oom_message);
    return s->why;
}

int rs_push(void *vp, size_t *n, size_t *cap, size_t size)
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
long rs_tag_index(rstore *s, const char *tag)
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

const char *rs_tag_public(const char *t)
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
    if (refused(s, sid) || rs_push(&s->refused, &s->nrefused, &cap, sizeof *s->refused) < 0)
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
    long t = rs_tag_index(s, tag);
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
        *why = rs_oom(s);
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
    if (rs_push(&r->keys, &r->n, &cap, sizeof *r->keys) < 0 ||
        rs_push(&r->values, &r->n, &r->cap, sizeof *r->values) < 0) {
        *why = rs_oom(s);
        return -1;
    }
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)k);
    r->keys[r->n] = pp_strdup(num);
    r->values[r->n] = value ? pp_strdup(value) : NULL;
    if (!r->keys[r->n] || (value && !r->values[r->n]) || rs_map_put(&s->map, k, sid, r->tag) < 0) {
        free(r->keys[r->n]);
        free(r->values[r->n]);
        *why = rs_oom(s);
        return -1;
    }
    r->n++;
    *key = k;
    return 0;
}

/* A move of the job at key along path, with fields (a JSON object or
 * NULL). Jobs this process never saw are not its to record. */
static int add_write(rstore *s, int64_t key, int kind, const char *path, json_t *fields,
                     const char **why)
{
    slot *m = rs_map_find(&s->map, key);
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
            *why = rs_oom(s);
            return -1;
        }
    }
    if (rs_push(&s->w, &s->nw, &s->capw, sizeof *s->w) < 0) {
        free(f);
        *why = rs_oom(s);
        return -1;
    }
    rwrite *w = &s->w[s->nw++];
    w->tag = m->tag;
    w->kind = kind;
    snprintf(w->key, sizeof w->key, "%lld", (long long)key);
    w->path = path;
    w->fields = f;
    return 0;
}

static int w_sending(pp_store *st, int64_t key, const char **why)
{
    rstore *s = RS(st);
    slot *m = rs_map_find(&s->map, key);
    if (m && (!s->nsending || s->sending[s->nsending - 1] != m->sid)) {
        size_t cap = s->nsending;
        if (rs_push(&s->sending, &s->nsending, &cap, sizeof *s->sending) < 0) {
            *why = rs_oom(s);
            return -1;
        }
        s->sending[s->nsending++] = m->sid;
    }
    return add_write(s, key, W_MOVE, "submitting", json_pack("{s:s}", "sent", "1"), why);
}

void rs_set_lease(rstore *s, slot *m, int lease)
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
    rs_set_lease(s, rs_map_find(&s->map, key), LEASE_POLLED);
    return add_write(s, key, W_MOVE, "pending", json_pack("{s:s?}", "id", id), why);
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
    return add_write(RS(st), key, W_MOVE, path, json_pack("{s:s?}", "error", error), why);
}

static int w_result(pp_store *st, int64_t key, const char *path, const char **why)
{
    return add_write(RS(st), key, W_MOVE, path_to(PP_FETCHED),
                     json_pack("{s:s?}", "results_path", path), why);
}

static int w_unclaim(pp_store *st, int64_t key, const char **why)
{
    return add_write(RS(st), key, W_UNTAKE, NULL, NULL, why);
}

/* The end of a fleet claim joins the group: the jobs handed out in one
 * engine step are released by one script. The claim stays this process'
 * (renewed with the others) until the release is sent; a process that
 * dies before then loses the job with its lease, which hands it out again
 * (at least once). So that a slow loop does not let a queued claim run
 * out, the group is to be sent at once (1) when one of its claims has
 * less than half a lease left. */
int pp_store_redis_release(pp_store *st, int64_t key, int handed)
{
    rstore *s = RS(st);
    slot *m = rs_map_find(&s->map, key);
    if (!m || m->lease != LEASE_CLAIMED)
        return 0;
    const char *why = NULL;
    if (add_write(s, key, handed ? W_HANDED : W_RETURN, NULL, NULL, &why) < 0)
        return -1;
    if (!s->release_due || m->valid_until < s->release_due)
        s->release_due = m->valid_until;
    return s->release_due < pp_now_ms() + (uint64_t)s->lease_ms / 2;
}

/* A take (the journal's claim) hands a job out for good in Redis: nothing
 * is ever held by a process here, so neither has anything to do. The
 * fleet's hand-out that survives a killed process is its leases
 * (pp_fleet_claim, pp_fleet_release). */
static int w_handed(pp_store *st, int64_t key, const char **why)
{
    (void)st, (void)key, (void)why;
    return 0;
}

static int w_unhold(pp_store *st, int64_t key, long pid, const char **why)
{
    (void)st, (void)key, (void)pid, (void)why;
    return 0;
}

/* ---- flush */

typedef struct cmd {
    rstore *s;
    flushrec *f;
    rsub *sub;   /* a submission waiting for its claims, or being recorded */
    int lenient; /* its failure does not fail the flush */
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
    /* a release lost is a claim that runs out with its lease: the job is
     * claimed again, nothing recorded is lost */
    if (err && !c->lenient) {
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

const char *rs_tag_of(rstore *s, uint32_t t)
{
    return s->tags[t];
}

static int issue_submit(rstore *s, flushrec *f, rsub *r)
{
    cmd *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    *c = (cmd){s, f, r, 0};
    f->pending++;
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", (long long)r->sid);
    int rc = pp_rstore_submit(&s->rs, rs_tag_of(s, r->tag), sid, r->envelope, strlen(r->envelope),
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

void rs_strings_free(char **v, size_t n)
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
                (void)add_write(s, r->holds[i], W_UNTAKE, NULL, NULL, &(const char *){NULL});
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
    *c = (cmd){s, f, r, 0};
    f->pending++;
    /* every claim of a submission is of its own tag's jobs or another's:
     * one take per claim keeps each in its own slot */
    int rc = 0;
    slot *m = rs_map_find(&s->map, r->holds[0]);
    rc = pp_rstore_take(&s->rs, rs_tag_of(s, m ? m->tag : r->tag), (const char *const *)keys,
                        r->nholds, on_holds, c);
    rs_strings_free(keys, r->nholds);
    if (rc < 0) {
        f->pending--;
        free(c);
    }
    return rc;
}

typedef struct tagged {
    uint32_t tag;
    int kind;
} tagged;

static int call_writes(rstore *s, cmd *c, void *arg)
{
    const tagged *t = arg;
    size_t n = 0;
    for (size_t i = 0; i < s->nw; i++)
        n += s->w[i].tag == t->tag && s->w[i].kind == t->kind;
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
            if (w->tag != t->tag || w->kind != t->kind)
                continue;
            jobs[k] = (pp_rjob){w->key, w->path, w->fields, NULL};
            keys[k++] = w->key;
        }
        const char *tag = rs_tag_of(s, t->tag);
        switch (t->kind) {
        case W_UNTAKE: rc = pp_rstore_untake(&s->rs, tag, keys, n, on_written, c); break;
        case W_MOVE:
            rc = pp_rstore_move(&s->rs, tag, jobs, n, s->lease_ms, 0, on_written, c);
            break;
        default:
            c->lenient = 1;
            rc = pp_rstore_release(&s->rs, tag, PP_LEASE_CLAIM, keys, n, t->kind == W_HANDED, 0,
                                   on_written, c);
        }
        /* sent: the claims are no longer this process' to renew */
        for (size_t i = 0; rc == 0 && t->kind >= W_HANDED && i < s->nw; i++)
            if (s->w[i].tag == t->tag && s->w[i].kind == t->kind)
                rs_set_lease(s, rs_map_find(&s->map, strtoll(s->w[i].key, NULL, 10)), LEASE_NONE);
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
    s->release_due = 0;
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
        *why = rs_oom(s);
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
            tag_arg a = {rs_tag_of(s, r->tag)};
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
        for (int k = 0; k < W_KINDS; k++) {
            tagged a = {(uint32_t)t, k};
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
            if (rs_push(&s->holds, &s->nholds, &cap, sizeof *s->holds) < 0) {
                *why = rs_oom(s);
                return -1;
            }
            s->holds[s->nholds++] = keys[i];
        }
        return 1;
    }
    claimop *q = calloc(1, sizeof *q);
    if (!q) {
        *why = rs_oom(s);
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
            slot *m = rs_map_find(&s->map, keys[i]);
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
            rc = pp_rstore_take(&s->rs, rs_tag_of(s, (uint32_t)t), (const char *const *)kv, p->n,
                                on_taken, p);
        rs_strings_free(kv, p->n);
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
    .handed = w_handed,
    .unhold = w_unhold,
    .result = w_result,
    .flush = w_flush,
    .claim = w_claim,
    .list = rs_list,
    .forget = rs_forget,
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
    s->rs.retention_ms = PP_STORE_REDIS_RETENTION_MS;
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
