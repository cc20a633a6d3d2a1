/* The job journal: what the client records in its store (store.h) and
 * what it reads back. A submission is recorded when it is made and made
 * durable before any of its requests leaves; a hook on the state layer
 * records each answer's id and each job's end; pp_run ends each engine
 * step with one flush, so a 5,000-job batch costs a few transactions, not
 * 5,000. Resume, listing and hand-out claims are operations that finish
 * when the store answers (at once for SQLite). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "client.h"
#include "redis.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A hash naming the account a journal belongs to: the username and the
 * service, never the password (FNV-1a, 64 bits, as hex). */
static void owner_of(const pp_config *cfg, char out[17])
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[2] = {cfg->username ? cfg->username : "", cfg->base_url};
    for (int p = 0; p < 2; p++) {
        for (const char *s = parts[p]; *s; s++) {
            h ^= (unsigned char)*s;
            h *= 1099511628211ull;
        }
        h ^= 0xff; /* a separator no username contains */
        h *= 1099511628211ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- recording */

static void store_failed(pp_client *c, const char *why)
{
    if (!c->journal_err.message)
        pp_err_set(&c->journal_err, why ? why : "journal: write failed", 0, NULL, 0);
}

static void on_change(void *ud, pp_jobrec *j, pp_state from)
{
    pp_client *c = ud;
    if (!j->jkey || c->journal_restoring)
        return;
    const pp_store_ops *ops = c->store->ops;
    const char *why = NULL;
    int rc = 0;
    switch (j->state) {
    case PP_PENDING:
        if (from != PP_SUBMITTING)
            return;
        rc = ops->answer(c->store, j->jkey, j->id, &why);
        c->journal_ids = 1;
        break;
    case PP_FETCHED: {
        /* recorded as an absolute path, as the folder is (one already
         * absolute is kept: realpath costs a system call a component) */
        const char *where = j->results_temporary ? NULL : pp_results_where(&c->jobs, j);
        char *abs = where && where[0] != '/' ? realpath(where, NULL) : NULL;
        rc = ops->result(c->store, j->jkey, abs ? abs : where, &why);
        free(abs);
        break;
    }
    case PP_FAULTED:
    case PP_REJECTED:
    case PP_UNKNOWN:
    case PP_EXPIRED:
    case PP_FAILED:
        rc = ops->transition(c->store, j->jkey, (int)j->state, j->err.message, &why);
        break;
    default: return; /* the steps between need no record: resume polls again */
    }
    c->journal_dirty = 1;
    if (rc < 0)
        store_failed(c, why);
}

/* A callback another process published: a hint for a job of this one. */
static void on_fleet_callback(void *ud, const char *id, int claim)
{
    pp_client *c = ud;
    pp_jobrec *j = pp_job_find_id(&c->jobs, id);
    if (j && !pp_state_is_final(j->state))
        pp_sched_hint(c, j, claim);
}

int pp_journal_callback(pp_client *c, const char *id, int claim)
{
    return c->store && c->journal_remote ? pp_store_redis_publish(c->store, id, claim) : -1;
}

int pp_journal_open(pp_client *c, const pp_config *cfg, char *why, size_t whylen)
{
    char owner[17];
    pp_config named = *cfg;
    named.base_url = c->tp.base_url;
    owner_of(&named, owner);
    /* finished jobs handed out are kept this long (0: a day; < 0: forever) */
    long keep = cfg->retention_ms > 0 ? cfg->retention_ms : PP_STORE_REDIS_RETENTION_MS;
    if (strncmp(cfg->journal, "redis://", 8) == 0 || strncmp(cfg->journal, "rediss://", 9) == 0) {
        /* the fleet's store: the client's Redis connection, served by its
         * loop like curl's sockets */
        pp_redis_config rc = {.url = cfg->journal, .tls = cfg->journal_tls};
        pp_error e = {0};
        if (pp_fleet_open(c, &rc, &e) < 0) {
            /* e is the client's last error, not ours to free */
            snprintf(why, whylen, "journal: %s", e.message ? e.message : "Redis");
            return -1;
        }
        c->store = pp_store_redis_open(c->redis, NULL, &c->rng, why, whylen);
        if (c->store && cfg->lease_ms > 0)
            pp_store_redis_set_lease(c->store, cfg->lease_ms);
        if (c->store)
            pp_store_redis_set_retention(c->store, cfg->retention_ms < 0 ? 0 : keep);
        if (c->store)
            pp_store_redis_on_callback(c->store, on_fleet_callback, c);
        c->journal_remote = 1;
    } else if (cfg->journal_tls.ca_file || cfg->journal_tls.cert_file ||
               cfg->journal_tls.key_file || cfg->journal_tls.insecure) {
        snprintf(why, whylen, "journal: TLS settings need a rediss:// journal");
        return -1;
    } else {
        c->store = pp_store_sqlite_open(cfg->journal, owner, why, whylen);
        if (c->store)
            pp_store_sqlite_set_retention(c->store, cfg->retention_ms < 0 ? 0 : keep);
    }
    if (!c->store)
        return -1;
    if (pp_jobtab_hook(&c->jobs, on_change, c) < 0) {
        snprintf(why, whylen, "journal: no room for its hook");
        return -1;
    }
    return 0;
}

int pp_journal_ready(pp_client *c)
{
    if (!c || !c->store)
        return -1;
    return c->journal_remote ? pp_store_redis_ready(c->store) : 1;
}

const char *pp_journal_error(pp_client *c, int *refused)
{
    pp_redis *r = c && c->journal_remote ? c->redis : NULL;
    if (refused)
        *refused = pp_redis_refused(r);
    return pp_redis_last_error(r);
}

void pp_journal_close(pp_client *c)
{
    if (c->store)
        c->store->ops->close(c->store);
    c->store = NULL;
    pp_err_clear(&c->journal_err);
}

static int refuse_submission(pp_client *c, const char *why)
{
    if (!c->journal_remote)
        store_failed(c, why);
    char msg[600];
    snprintf(msg, sizeof msg, "not submitted: %s", why ? why : "the journal cannot be written");
    pp_fail(c, NULL, msg);
    return -1;
}

typedef struct replacing {
    int rc;
    const char *why;
} replacing;

static void on_replaced(void *ud, int rc, const char *why)
{
    replacing *r = ud;
    r->rc = rc;
    r->why = why;
}

/* The lost submissions a submission sends again are handed out in the
 * group that records it: a crash before that group is stored keeps them
 * lost, and never loses both. 0, or -1 (another process sent one again
 * first, or the store failed). */
static int replace(pp_client *c, const int64_t *keys, size_t n, const char **why)
{
    unsigned char *got = calloc(n, 1);
    replacing r = {1, NULL};
    if (!got) {
        *why = pp_oom_message;
        return -1;
    }
    pp_store *s = c->store;
    int rc = s->ops->claim(s, keys, n, 1, got, on_replaced, &r, why);
    /* a store that answers later is not waited for here: its claim is
     * stored with the submission, or neither is */
    if (rc == 0 && r.rc < 0) {
        *why = r.why;
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && r.rc == 0 && i < n; i++) {
        if (!got[i]) {
            *why = "journal: a submission to send again was sent again or dismissed already";
            rc = -1;
        }
    }
    for (size_t i = 0; rc < 0 && i < n; i++) {
        const char *ignored = NULL;
        if (got[i])
            (void)s->ops->unclaim(s, keys[i], &ignored);
    }
    free(got);
    return rc < 0 ? -1 : 0;
}

int pp_journal_submission(pp_client *c, pp_oprec *o, const pp_submit_opts *opts)
{
    if (!c->store)
        return 0;
    if (c->journal_err.message)
        return refuse_submission(c, c->journal_err.message);
    const pp_store_ops *ops = c->store->ops;
    const char *why = NULL;
    if (opts && opts->nreplaces && replace(c, opts->replaces, opts->nreplaces, &why) < 0)
        return refuse_submission(c, why);
    char *params = pc_json_dump(o->params, NULL);
    int64_t sub = 0;
    if (!params)
        return refuse_submission(c, pp_oom_message);
    /* the folder as an absolute path: a resume may run from another
     * working directory (the folder was checked, so it exists) */
    char *dir = opts && opts->results_dir ? realpath(opts->results_dir, NULL) : NULL;
    int rc = ops->submission(c->store, params, o->values ? o->list_key : NULL,
                             opts ? opts->tag : NULL, dir ? dir : (opts ? opts->results_dir : NULL),
                             opts ? opts->results_type : NULL, &sub, &why);
    free(dir);
    free(params);
    for (size_t i = 0; rc == 0 && i < o->njobs; i++) {
        pp_jobrec *j = pp_job_get(&c->jobs, o->jobs[i]);
        char *value = NULL;
        /* value i's JSON text, without the comma that follows it */
        if (o->values && !(value = pp_strndup(o->values + o->value_at[i],
                                              o->value_at[i + 1] - o->value_at[i] - 1))) {
            why = pp_oom_message;
            rc = -1;
            break;
        }
        int64_t key = 0;
        rc = ops->job(c->store, sub, value, &key, &why);
        free(value);
        if (rc == 0 && j)
            j->jkey = key;
    }
    c->journal_dirty = 1;
    return rc < 0 ? refuse_submission(c, why) : 0;
}

void pp_journal_sending(pp_client *c, const pp_job *jobs, size_t n, pp_store_done_fn done, void *ud)
{
    if (!c->store) {
        done(ud, 0, NULL);
        return;
    }
    const pp_store_ops *ops = c->store->ops;
    const char *why = c->journal_err.message;
    int rc = why ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        pp_jobrec *j = pp_job_get(&c->jobs, jobs[i]);
        if (j && j->jkey)
            rc = ops->sending(c->store, j->jkey, &why);
    }
    if (rc < 0) {
        store_failed(c, why);
        done(ud, -1, c->journal_err.message);
        return;
    }
    /* the submission, its jobs and this mark reach the disk before the
     * request leaves: a crash afterwards finds them */
    c->journal_dirty = 0;
    c->journal_ids = 0;
    if (ops->flush(c->store, 1, done, ud, &why) < 0)
        done(ud, -1, why);
}

long pp_journal_timeout_ms(pp_client *c)
{
    if (!c->store || !c->journal_remote)
        return -1;
    long a = pp_store_redis_timeout_ms(c->store), b = pp_store_redis_callbacks_ms(c->store);
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static void journal_flush(pp_client *c)
{
    if (!c->store || !c->journal_dirty)
        return;
    const char *why = NULL;
    /* ids are what a crash must not lose: the others can be learned again */
    int durable = c->journal_ids;
    c->journal_dirty = 0;
    c->journal_ids = 0;
    if (c->store->ops->flush(c->store, durable, NULL, NULL, &why) < 0)
        store_failed(c, why);
}

void pp_journal_step(pp_client *c)
{
    if (c->store && c->journal_remote) {
        pp_store_redis_tick(c->store);
        /* jobs waiting (their timers) may end by a callback another
         * process received */
        pp_store_redis_read_callbacks(c->store, c->timers.n > 0);
    }
    journal_flush(c);
}

/* ---- operations */

void pp_journal_entries_free(pp_oprec *o)
{
    for (size_t i = 0; i < o->nentries; i++) {
        pp_journal_entry *e = &o->entries[i];
        free((char *)e->id);
        free((char *)e->tag);
        free((char *)e->params);
        free((char *)e->results_path);
        free((char *)e->error);
    }
    free(o->entries);
    o->entries = NULL;
    o->nentries = o->capentries = 0;
}

typedef struct jop {
    pp_client *c;
    pp_op op;
    int resume;
    int failed;
    /* jobs to claim: their keys, the entries they belong to, and what the
     * store answers */
    int64_t *keys;
    size_t *at;
    unsigned char *got;
    size_t nkeys, capkeys;
    long remaining; /* pp_fleet_claim */
    int unhanded;   /* the listing skips jobs handed out */
    int dismiss;    /* the claims hand out for good */
    /* jobs held by dead processes, given back once listed */
    struct orphan {
        int64_t key;
        long pid;
    } * orphans;
    size_t norphans, caporphans;
} jop;

static pp_journal_entry *entry_new(pp_oprec *o)
{
    if (o->nentries == o->capentries) {
        size_t cap = o->capentries ? o->capentries * 2 : 8;
        pp_journal_entry *v = realloc(o->entries, cap * sizeof *v);
        if (!v)
            return NULL;
        o->entries = v;
        o->capentries = cap;
    }
    pp_journal_entry *e = &o->entries[o->nentries++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Adds a job to claim for entry `at`. 0 / -1. */
static int claim_add(jop *q, int64_t key, size_t at)
{
    if (q->nkeys == q->capkeys) {
        size_t cap = q->capkeys ? q->capkeys * 2 : 8;
        int64_t *k = realloc(q->keys, cap * sizeof *k);
        if (k)
            q->keys = k;
        size_t *a = k ? realloc(q->at, cap * sizeof *a) : NULL;
        if (a)
            q->at = a;
        if (!k || !a)
            return -1;
        q->capkeys = cap;
    }
    q->keys[q->nkeys] = key;
    q->at[q->nkeys++] = at;
    return 0;
}

/* The job's own parameters: the submission's, with its value of the list. */
static char *job_params(const pp_store_row *row)
{
    if (!row->list_key || !row->value)
        return pp_strdup(row->params);
    json_t *p = json_loads(row->params, 0, NULL);
    json_t *v = json_loads(row->value, JSON_DECODE_ANY, NULL);
    char *text = NULL;
    if (p && v && json_object_set(p, row->list_key, v) == 0)
        text = pc_json_dump(p, NULL);
    if (p)
        json_decref(p);
    if (v)
        json_decref(v);
    return text;
}

static int copy_row(pp_journal_entry *e, const pp_store_row *row)
{
    e->key = row->key;
    e->state = (pp_state)row->state;
    e->sent = row->sent;
    e->handed = row->handed;
    e->params = job_params(row);
    if (!e->params)
        return -1;
    if ((row->id && !(e->id = pp_strdup(row->id))) ||
        (row->tag && !(e->tag = pp_strdup(row->tag))) ||
        (row->results_path && !(e->results_path = pp_strdup(row->results_path))) ||
        (row->error && !(e->error = pp_strdup(row->error))))
        return -1;
    return 0;
}

/* Whether process pid runs (a zombie has ended: it only waits to be
 * reaped). */
static int alive(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno != EPERM)
        return 0;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    const char *paren = strrchr(stat, ')');
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

/* Whether the submission of a job without an id may still be in flight:
 * in this client, or in another live process sharing the journal. */
static int in_flight(pp_client *c, const pp_store_row *row)
{
    pid_t pid = (pid_t)row->pid;
    if (pid <= 0)
        return 0;
    if (pid == getpid()) {
        for (size_t i = 0; i < c->jobs.n; i++) {
            pp_jobrec *j = c->jobs.v[i];
            if (j && j->jkey == row->key)
                return !pp_state_is_final(j->state);
        }
        return 0;
    }
    return alive(pid);
}

/* A job of the journal becomes a job of this client again. 0 / -1. */
static int restore(pp_client *c, pp_journal_entry *e, const pp_store_row *row)
{
    pp_jobrec *j = row->id ? pp_job_find_id(&c->jobs, row->id) : NULL;
    if (j) {
        e->job = j->h; /* already here (this process submitted it) */
        return 0;
    }
    j = pp_job_create(&c->jobs);
    if (!j)
        return -1;
    if ((row->results_dir && !(j->results_dir = pp_jobtab_intern(&c->jobs, row->results_dir))) ||
        (row->results_type && !(j->results_type = pp_jobtab_intern(&c->jobs, row->results_type)))) {
        pp_job_destroy(&c->jobs, j);
        return -1;
    }
    int rc = 0;
    c->journal_restoring = 1;
    if (!row->id) {
        pp_error err = {0};
        pp_err_set(&err, row->error ? row->error : "rejected", 0, NULL, 0);
        pp_state_refused(&c->jobs, j, PP_REJECTED, &err);
        pp_err_clear(&err);
    } else {
        pp_state to = PP_PENDING;
        if (row->state == PP_FETCHED && row->results_path && access(row->results_path, R_OK) == 0)
            to = PP_FETCHED;
        else if (row->state == PP_FAULTED || row->state == PP_EXPIRED)
            to = (pp_state)row->state;
        rc = pp_state_restored(&c->jobs, j, row->id, to, row->results_path, row->error);
        if (rc == 0 && to == PP_PENDING)
            pp_sched_watch(c, j);
    }
    c->journal_restoring = 0;
    if (rc < 0) {
        pp_job_destroy(&c->jobs, j);
        return -1;
    }
    j->jkey = row->key;
    e->job = j->h;
    return 0;
}

/* A job held by a process (handed -pid) is handed out while that process
 * runs -- this one or another -- and not handed out once it died before
 * it was done with it: it is then given back (once listed). 1 / 0, -1
 * when out of memory. */
static int handed_now(jop *q, const pp_store_row *row)
{
    if (row->handed >= 0)
        return row->handed != 0;
    long pid = -(long)row->handed;
    if (pid == (long)getpid() || alive((pid_t)pid))
        return 1;
    if (q->norphans == q->caporphans) {
        size_t cap = q->caporphans ? q->caporphans * 2 : 8;
        struct orphan *v = realloc(q->orphans, cap * sizeof *v);
        if (!v)
            return -1;
        q->orphans = v;
        q->caporphans = cap;
    }
    q->orphans[q->norphans].key = row->key;
    q->orphans[q->norphans++].pid = pid;
    return 0;
}

static int on_row(void *ud, const pp_store_row *row)
{
    jop *q = ud;
    pp_client *c = q->c;
    pp_oprec *o = pp_op_get(c, q->op);
    if (!o)
        return 1;
    pp_store_row now = *row;
    now.handed = handed_now(q, row);
    if (now.handed < 0) {
        q->failed = 1;
        return 1;
    }
    if (q->unhanded && now.handed)
        return 0; /* its holder is still at it */
    row = &now;
    int lost = !row->id && row->state != PP_REJECTED;
    if (q->resume && lost && !row->handed && in_flight(c, row))
        return 0;
    pp_journal_entry *e = entry_new(o);
    if (!e || copy_row(e, row) < 0 || (q->resume && !lost && restore(c, e, row) < 0)) {
        q->failed = 1;
        return 1;
    }
    return 0;
}

static void jop_finish(jop *q, int rc, const char *why)
{
    pp_client *c = q->c;
    pp_oprec *o = pp_op_get(c, q->op);
    if (o) {
        if (rc < 0 || q->failed) {
            pp_error e = {0};
            pp_err_set(&e, rc < 0 && why ? why : pp_oom_message, 0, NULL, 0);
            pp_err_copy(&o->err, &e);
            pp_err_clear(&e);
            o->has_err = 1;
        } else {
            o->status = 200;
        }
        pp_op_finish(c, o);
    }
    free(q->keys);
    free(q->at);
    free(q->got);
    free(q->orphans);
    free(q);
}

static void on_claimed(void *ud, int rc, const char *why)
{
    jop *q = ud;
    pp_client *c = q->c;
    pp_oprec *o = pp_op_get(c, q->op);
    for (size_t k = 0; rc == 0 && o && k < q->nkeys; k++)
        if (q->at[k] < o->nentries)
            o->entries[q->at[k]].handed = q->got[k]; /* whether this process got it */
    /* a dismissed submission is never done with: handed out for good */
    for (size_t k = 0; rc == 0 && q->dismiss && k < q->nkeys; k++) {
        const char *w = NULL;
        if (q->got[k] && c->store->ops->handed(c->store, q->keys[k], &w) < 0)
            store_failed(c, w);
        c->journal_dirty = 1;
    }
    jop_finish(q, rc, why);
}

static void claim_keys(jop *q)
{
    if (q->failed || !q->nkeys) {
        jop_finish(q, 0, NULL);
        return;
    }
    pp_store *s = q->c->store;
    const char *why = NULL;
    if (!(q->got = calloc(q->nkeys, 1)))
        q->failed = 1;
    if (q->failed || s->ops->claim(s, q->keys, q->nkeys, 0, q->got, on_claimed, q, &why) < 0)
        jop_finish(q, -1, why);
}

static void on_listed(void *ud, int rc, const char *why)
{
    jop *q = ud;
    pp_client *c = q->c;
    pp_oprec *o = pp_op_get(c, q->op);
    if (o)
        o->remaining = q->remaining;
    /* given back after the listing, not during it: the store may still be
     * reading when a row is reported. Stored with the step's group; a
     * crash before that leaves them to the next resume. */
    for (size_t k = 0; rc == 0 && k < q->norphans; k++) {
        const char *w = NULL;
        if (c->store->ops->unhold(c->store, q->orphans[k].key, q->orphans[k].pid, &w) < 0)
            store_failed(c, w);
        c->journal_dirty = 1;
    }
    jop_finish(q, rc, why);
}

static jop *jop_start(pp_client *c, int resume, pp_error *err)
{
    if (!c)
        return NULL;
    if (!c->store) {
        pp_fail(c, err, "the client has no journal (pushpull.new{journal = ...})");
        return NULL;
    }
    pp_oprec *o = pp_op_create(c, PP_OP_JOURNAL);
    jop *q = o ? calloc(1, sizeof *q) : NULL;
    if (!q) {
        if (o)
            pp_op_destroy(c, o);
        pp_fail(c, err, pp_oom_message);
        return NULL;
    }
    q->c = c;
    q->op = o->h;
    q->resume = resume;
    q->remaining = o->remaining = -1;
    pp_journal_step(c); /* what this client wrote is read back too */
    return q;
}

static pp_op list_op(pp_client *c, const pp_journal_query *jq, int resume, pp_error *err)
{
    jop *q = jop_start(c, resume, err);
    if (!q)
        return 0;
    pp_op h = q->op;
    pp_store_filter f = {0};
    f.states = jq && !resume ? jq->states : 0;
    f.tag = jq ? jq->tag : NULL;
    f.unhanded = resume && !(jq && jq->all);
    if (jq && !resume && !jq->all)
        f.unhanded = 0; /* a listing shows every job unless asked otherwise */
    q->unhanded = f.unhanded;
    const char *why = NULL;
    if (c->store->ops->list(c->store, &f, on_row, on_listed, q, &why) < 0)
        jop_finish(q, -1, why);
    return h;
}

pp_op pp_journal_list(pp_client *c, const pp_journal_query *q, pp_error *err)
{
    return c ? list_op(c, q, 0, err) : 0;
}

pp_op pp_resume(pp_client *c, const pp_journal_query *q, pp_error *err)
{
    return c ? list_op(c, q, 1, err) : 0;
}

pp_op pp_claim(pp_client *c, const pp_job *jobs, size_t n, pp_error *err)
{
    jop *q = jop_start(c, 0, err);
    if (!q)
        return 0;
    pp_op h = q->op;
    pp_oprec *o = pp_op_get(c, h);
    for (size_t i = 0; i < n && !q->failed; i++) {
        pp_jobrec *j = pp_job_get(&c->jobs, jobs[i]);
        pp_journal_entry *e = entry_new(o);
        if (!e) {
            q->failed = 1;
            break;
        }
        e->job = jobs[i];
        e->handed = 1; /* a job outside the journal is always got */
        if (!j)
            continue;
        e->state = j->state;
        if ((j->id && !(e->id = pp_strdup(j->id))) || (j->jkey && claim_add(q, j->jkey, i) < 0))
            q->failed = 1;
    }
    claim_keys(q);
    return h;
}

pp_op pp_journal_dismiss(pp_client *c, const int64_t *keys, size_t n, pp_error *err)
{
    jop *q = jop_start(c, 0, err);
    if (!q)
        return 0;
    pp_op h = q->op;
    q->dismiss = 1;
    for (size_t i = 0; i < n && !q->failed; i++)
        if (claim_add(q, keys[i], (size_t)-1) < 0)
            q->failed = 1;
    claim_keys(q);
    return h;
}

pp_op pp_fleet_claim(pp_client *c, const char *tag, long max, int pending, pp_error *err)
{
    if (!c)
        return 0;
    if (c->store && !c->journal_remote) {
        pp_fail(c, err, "pp_fleet_claim needs a journal on Redis (journal = \"redis://...\")");
        return 0;
    }
    jop *q = jop_start(c, 1, err);
    if (!q)
        return 0;
    pp_op h = q->op;
    const char *why = NULL;
    if (pp_store_redis_lease(c->store, tag, max > 0 ? max : 1, pending, on_row, on_listed, q,
                             &q->remaining, &why) < 0)
        jop_finish(q, -1, why);
    return h;
}

int pp_journal_handed(pp_client *c, pp_job job, pp_error *err)
{
    if (!c)
        return -1;
    pp_jobrec *j = pp_job_get(&c->jobs, job);
    if (!c->store || !j || !j->jkey)
        return 0; /* nothing holds a job outside the journal */
    const char *why = NULL;
    if (c->store->ops->handed(c->store, j->jkey, &why) < 0) {
        store_failed(c, why);
        pp_fail(c, err, c->journal_err.message);
        return -1;
    }
    c->journal_dirty = 1;
    return 0;
}

int pp_fleet_release(pp_client *c, pp_job job, int handed)
{
    pp_jobrec *j = c && c->journal_remote ? pp_job_get(&c->jobs, job) : NULL;
    if (!j)
        return c && c->journal_remote ? 0 : -1;
    int rc = j->jkey ? pp_store_redis_release(c->store, j->jkey, handed) : 0;
    if (rc < 0)
        return -1;
    /* with the engine step's writes: one script for the step's releases */
    c->journal_dirty = 1;
    if (rc > 0)
        pp_fleet_flush(c);
    return 0;
}

void pp_fleet_flush(pp_client *c)
{
    if (!c || !c->journal_remote)
        return;
    journal_flush(c);
    /* on the wire now, not at the next drive: a process that ends or is
     * killed next must not take these marks with it */
    pp_redis_flush(c->redis);
}

void pp_journal_settle(pp_client *c)
{
    if (!c->store || !c->journal_remote || !c->redis)
        return;
    journal_flush(c);
    uint64_t end = pp_now_ms() + 1000;
    pp_redis_flush(c->redis);
    while (pp_redis_busy(c->redis) && pp_redis_ready(c->redis) && pp_now_ms() < end) {
        pp_fd_change fds[8];
        struct pollfd p[8];
        size_t n = pp_redis_fds(c->redis, fds, 8);
        for (size_t i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = fds[i].fd, .events = POLLIN};
        if (poll(p, (nfds_t)n, 10) > 0)
            for (size_t i = 0; i < n; i++)
                if (p[i].revents)
                    pp_redis_io_fd(c->redis, p[i].fd, PP_WANT_READ | PP_WANT_WRITE);
        pp_redis_timers(c->redis);
    }
}

static void on_forgotten(void *ud, int rc, const char *why)
{
    jop_finish(ud, rc, why);
}

pp_op pp_journal_forget(pp_client *c, const char *tag, int force, pp_error *err)
{
    jop *q = jop_start(c, 0, err);
    pp_op h = q ? q->op : 0;
    const char *why = NULL;
    if (q && c->store->ops->forget(c->store, tag, force, on_forgotten, q, &why) < 0)
        jop_finish(q, -1, why);
    return h;
}

int pp_fleet_nap(pp_client *c, long ms)
{
    if (!c || ms < 0)
        return -1;
    return pp_heap_set(&c->timers, &c->nap_timer, pp_now_ms() + (uint64_t)ms);
}

int pp_fleet_holds(pp_client *c, pp_job job)
{
    pp_jobrec *j = c && c->journal_remote ? pp_job_get(&c->jobs, job) : NULL;
    return j && j->jkey && pp_store_redis_holds(c->store, j->jkey);
}

long pp_op_remaining(pp_client *c, pp_op op)
{
    pp_oprec *o = c ? pp_op_get(c, op) : NULL;
    return o && o->kind == PP_OP_JOURNAL && o->done ? o->remaining : -1;
}

const pp_journal_entry *pp_op_entries(pp_client *c, pp_op op, size_t *count)
{
    pp_oprec *o = c ? pp_op_get(c, op) : NULL;
    if (count)
        *count = o && o->kind == PP_OP_JOURNAL && o->done ? o->nentries : 0;
    return o && o->kind == PP_OP_JOURNAL && o->done ? o->entries : NULL;
}
