/* Submissions: a job object whose `url` or `query` is a list becomes one
 * job per value, sent as batch requests of at most cfg.batch_size values
 * (a single value goes to POST /v1/queries). Chunks wait in a queue paced
 * by the rate-limit headers: when the remaining budget is smaller than the
 * next chunk, that chunk waits for the next one-second window instead of
 * earning a 429.
 *
 * A submission is sent once. A 429 creates nothing, so its chunk goes back
 * to the pacer; a chunk that provably never left was already retried by
 * the transport and ends rejected; any other outcome (a 5xx or 524 from a
 * gateway in front of a service that may have done the work, a lost
 * answer) makes its jobs unknown -- never a resend. In an accepted answer
 * every id is checked: a job the answer does not list, whose id is not
 * valid, or whose id another job already has, becomes unknown. */
#include "client.h"
#include "batch_scan.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW_MS 1000
#define WINDOW_SLACK_MS 5

static pp_oprec *chunk_op(pp_client *c, const pp_chunk *ch)
{
    return (ch->op && ch->op <= c->nops) ? c->ops[ch->op - 1] : NULL;
}

/* ---- pacing */

void pp_ratelimit_update(pp_client *c, long remaining, long limit, long status, uint64_t now)
{
    if (limit > 0)
        c->rl_limit = limit;
    if (status == 429) {
        if (!c->rl_known || now >= c->rl_window_start + WINDOW_MS)
            c->rl_window_start = now;
        c->rl_known = 1;
        c->rl_remaining = 0;
        return;
    }
    if (remaining < 0)
        return;
    if (!c->rl_known || now >= c->rl_window_start + WINDOW_MS || remaining > c->rl_remaining) {
        /* a new window began at or before now */
        c->rl_window_start = now;
        c->rl_remaining = remaining;
    } else if (remaining < c->rl_remaining) {
        c->rl_remaining = remaining;
    }
    c->rl_known = 1;
}

static void sq_push_front(pp_client *c, pp_chunk *ch)
{
    ch->next = c->sq_head;
    c->sq_head = ch;
    if (!c->sq_tail)
        c->sq_tail = ch;
    c->sq_len++;
}

static void sq_push_back(pp_client *c, pp_chunk *ch)
{
    ch->next = NULL;
    if (c->sq_tail)
        c->sq_tail->next = ch;
    else
        c->sq_head = ch;
    c->sq_tail = ch;
    c->sq_len++;
}

static pp_chunk *sq_pop(pp_client *c)
{
    pp_chunk *ch = c->sq_head;
    if (!ch)
        return NULL;
    c->sq_head = ch->next;
    if (!c->sq_head)
        c->sq_tail = NULL;
    ch->next = NULL;
    c->sq_len--;
    return ch;
}

/* ---- resolving jobs */

static void op_job_resolved(pp_client *c, pp_oprec *o, size_t n)
{
    if (!o)
        return;
    o->unresolved = o->unresolved > n ? o->unresolved - n : 0;
    if (!o->unresolved && !o->done)
        pp_op_finish(c, o);
}

static void op_note_error(pp_oprec *o, const pp_error *e)
{
    if (!o || o->has_err)
        return;
    pp_err_copy(&o->err, e);
    o->has_err = 1;
    o->status = e->http_status;
}

/* Every job of the chunk ends in state `to` with error e. */
static void chunk_fail(pp_client *c, pp_chunk *ch, pp_state to, const pp_error *e)
{
    pp_oprec *o = chunk_op(c, ch);
    if (!o)
        return;
    for (size_t i = 0; i < ch->count; i++) {
        pp_jobrec *j = pp_job_get(&c->jobs, o->jobs[ch->start + i]);
        if (j)
            pp_state_refused(&c->jobs, j, to, e);
    }
    op_note_error(o, e);
    op_job_resolved(c, o, ch->count);
}

static void chunk_fail_msg(pp_client *c, pp_chunk *ch, pp_state to, const char *msg, long status)
{
    pp_error e = {0};
    pp_err_set(&e, msg, (int)status, NULL, 0);
    chunk_fail(c, ch, to, &e);
    pp_err_clear(&e);
}

/* ---- sending */

/* The params with the chunk's values as the list, last: the values are
 * one run of o->values's text. */
static char *chunk_body(pp_oprec *o, const pp_chunk *ch, size_t *len)
{
    if (!o->values)
        return pc_json_dump(o->params, len);
    size_t plen = 0;
    char *params = pc_json_dump(o->params, &plen);
    if (!params || plen < 2 || params[plen - 1] != '}') {
        free(params);
        return NULL;
    }
    size_t from = o->value_at[ch->start];
    size_t vlen = o->value_at[ch->start + ch->count] - from - 1; /* its last comma left out */
    pc_buf b = PC_BUF_INIT;
    (void)pc_buf_reserve(&b, plen + vlen + 32);
    pc_buf_append(&b, params, plen - 1);
    pc_buf_appendf(&b, "%s\"%s\":[", plen > 2 ? "," : "", o->list_key);
    pc_buf_append(&b, o->values + from, vlen);
    pc_buf_append(&b, "]}", 2);
    free(params);
    return pc_buf_take(&b, len);
}

/* A batch answer runs to megabytes (a 5,000-job one is 5 MB): it goes to an
 * unlinked file in the spool folder and is scanned from there, so that the
 * answers in flight hold no memory. With no file to be had, or one that
 * cannot be written, it stays in memory, as a single submission's answer
 * does. */
static int open_answer_file(void *ctx, pp_req *r)
{
    pp_client *c = ctx;
    const char *dir = pp_spool_dir(&c->jobs);
    int fd = -1;
    size_t n = dir ? strlen(dir) + 16 : 0;
    char *p = dir ? malloc(n) : NULL;
    if (p) {
        snprintf(p, n, "%s/answer-XXXXXX", dir);
        fd = mkstemp(p);
        if (fd >= 0) {
            unlink(p);
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        free(p);
    }
    if (fd < 0)
        r->sink = PP_SINK_MEMORY;
    return fd;
}

/* Feeds the answer kept in fd to the scanner: 0, or -1 when it could not
 * be read or the scanner stopped. */
static int scan_file(pp_scan *sc, int fd)
{
    char buf[16384];
    if (lseek(fd, 0, SEEK_SET) < 0)
        return -1;
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got == 0)
            return 0;
        if (got < 0 || pp_scan_feed(sc, buf, (size_t)got) < 0)
            return -1;
    }
}

static void on_answer(void *ctx, pp_req *r);

/* The journal has the chunk's jobs on disk (rc 0): the request may leave.
 * Otherwise it never leaves and its jobs end rejected. */
static void chunk_recorded(void *ud, int rc, const char *why)
{
    pp_req *r = ud;
    pp_client *c = r->ctx;
    pp_chunk *ch = r->data;
    if (rc == 0) {
        pp_transport_send(&c->tp, r);
        return;
    }
    if (c->submits_inflight)
        c->submits_inflight--;
    c->rl_inflight = c->rl_inflight > ch->count ? c->rl_inflight - ch->count : 0;
    chunk_fail_msg(c, ch, PP_REJECTED, why ? why : "the journal cannot be written", 0);
    pp_req_free(r);
}

static void send_chunk(pp_client *c, pp_chunk *ch)
{
    pp_oprec *o = chunk_op(c, ch);
    if (!o || !o->params) {
        free(ch);
        return;
    }
    for (size_t i = 0; i < ch->count; i++) {
        pp_jobrec *j = pp_job_get(&c->jobs, o->jobs[ch->start + i]);
        if (j)
            pp_state_submitting(&c->jobs, j);
    }
    size_t len = 0;
    char *body = chunk_body(o, ch, &len);
    pp_req *r = body ? pp_req_new(&c->tp, "POST", o->values ? "/v1/queries/batch" : "/v1/queries",
                                  body, len, PP_REPEAT_ONCE, on_answer, c)
                     : NULL;
    free(body);
    if (!r) {
        chunk_fail_msg(c, ch, PP_REJECTED, pp_oom_message, 0);
        free(ch);
        return;
    }
    r->data = ch;
    r->free_data = free;
    r->high = 1;
    if (o->values) {
        r->sink = PP_SINK_FILE; /* opened when the body comes */
        r->open_fn = open_answer_file;
        r->memory_fallback = 1;
    }
    c->submits_inflight++;
    c->rl_inflight += ch->count;
    pp_journal_sending(c, o->jobs + ch->start, ch->count, chunk_recorded, r);
}

void pp_submit_pump(pp_client *c)
{
    while (c->sq_head) {
        pp_chunk *ch = c->sq_head;
        uint64_t now = pp_now_ms();
        if (ch->not_before > now) {
            pp_heap_set(&c->timers, &c->pace_timer, ch->not_before);
            return;
        }
        if (c->submits_inflight >= PP_SUBMITS_INFLIGHT_MAX) {
            /* each answer is held whole until it is read (a 5,000-job one
             * is 5 MB): a few at a time keep memory flat */
            return;
        }
        if (!c->rl_known && !c->rl_probed && c->submits_inflight) {
            /* learn the budget from the first answer before sending more */
            return;
        }
        if (c->rl_known && now >= c->rl_window_start + WINDOW_MS) {
            c->rl_window_start = now;
            c->rl_remaining = c->rl_limit > 0 ? c->rl_limit : -1;
            if (c->rl_remaining < 0)
                c->rl_known = 0;
        }
        if (c->rl_limit > 0 && ch->count > (size_t)c->rl_limit) {
            /* a chunk over the whole per-window budget would always 429 */
            pp_chunk *rest = malloc(sizeof *rest);
            if (rest) {
                *rest = *ch;
                rest->start = ch->start + (size_t)c->rl_limit;
                rest->count = ch->count - (size_t)c->rl_limit;
                rest->attempt = 0;
                ch->count = (size_t)c->rl_limit;
                rest->next = ch->next;
                ch->next = rest;
                if (c->sq_tail == ch)
                    c->sq_tail = rest;
                c->sq_len++;
            }
        }
        if (c->rl_known && c->rl_remaining >= 0 && (size_t)c->rl_remaining < ch->count) {
            uint64_t due = c->rl_window_start + WINDOW_MS + WINDOW_SLACK_MS;
            if (c->pace_timer.idx == PP_NOT_QUEUED || c->pace_timer.due != due)
                PP_DEBUG(&c->tp.debug,
                         "submissions paced: %ld submission(s) left in this rate-limit second, "
                         "the next request has %zu value(s); waiting %ld ms",
                         c->rl_remaining, ch->count, due > now ? (long)(due - now) : 0L);
            pp_heap_set(&c->timers, &c->pace_timer, due);
            return;
        }
        if (c->rl_known && c->rl_remaining >= 0)
            c->rl_remaining -= (long)ch->count;
        pp_heap_remove(&c->timers, &c->pace_timer);
        sq_pop(c);
        send_chunk(c, ch);
    }
    pp_heap_remove(&c->timers, &c->pace_timer);
}

/* ---- answers */

/* A job of the chunk, named by text (its job object in the answer), or
 * not (text NULL: the answer did not list it). */
static void map_job(pp_client *c, pp_oprec *o, pp_jobrec *j, const char *text, size_t len,
                    const pp_answer *a, uint64_t sent)
{
    char id[PP_ID_MAX + 1];
    const char *why = "the service's answer did not list this job";
    json_t *obj = text ? pp_read_job_item(text, len, id, &why) : NULL;
    j->pending_at = sent; /* the service starts a job when it is sent */
    if (obj && pp_state_accepted(&c->jobs, j, id, obj) < 0)
        why = pp_job_find_id(&c->jobs, id)
                  ? "the service's answer repeated an id it gave another job"
                  : pp_oom_message;
    if (j->state == PP_PENDING) {
        c->stats.submitted++;
        pp_callback_early(c, j);
        int claim = pp_read_job_status(obj);
        if (claim == PP_V_DONE || claim == PP_V_FAULTED)
            pp_sched_hint(c, j, claim);
    } else {
        pp_error e = {0};
        pp_err_set(&e, why, (int)a->status, NULL, 0);
        pp_state_refused(&c->jobs, j, PP_UNKNOWN, &e);
        op_note_error(o, &e);
        pp_err_clear(&e);
    }
    if (obj)
        json_decref(obj);
}

typedef struct mapping {
    pp_client *c;
    pp_oprec *o;
    pp_chunk *ch;
    const pp_answer *a;
    uint64_t sent;
} mapping;

static int map_item(void *ud, size_t i, const char *text, size_t len)
{
    mapping *m = ud;
    if (i >= m->ch->count)
        return 1; /* more jobs than values: the rest is noise */
    pp_jobrec *j = pp_job_get(&m->c->jobs, m->o->jobs[m->ch->start + i]);
    if (j)
        map_job(m->c, m->o, j, text, len, m->a, m->sent);
    return 0;
}

/* A batch answer is read as a stream of job objects: one job's tree at a
 * time, never the whole answer's (a 5,000-job answer would take ~35 MB). */
static void map_answer(pp_client *c, pp_oprec *o, pp_chunk *ch, const pp_answer *a, uint64_t sent,
                       int fd)
{
    size_t mapped = 0;
    if (!o->values) {
        pp_jobrec *j = pp_job_get(&c->jobs, o->jobs[ch->start]);
        if (j)
            map_job(c, o, j, a->body, a->body ? a->len : 0, a, sent);
        mapped = 1;
    } else {
        mapping m = {c, o, ch, a, sent};
        pp_scan *sc = pp_scan_new(map_item, &m, 0);
        if (sc) {
            int fed = fd >= 0   ? scan_file(sc, fd)
                      : a->body ? pp_scan_feed(sc, a->body, a->len)
                                : -1;
            if (fed == 0)
                (void)pp_scan_end(sc);
            mapped = pp_scan_count(sc);
            if (mapped > ch->count)
                mapped = ch->count;
            pp_scan_free(sc);
        }
    }
    for (size_t i = mapped; i < ch->count; i++) {
        pp_jobrec *j = pp_job_get(&c->jobs, o->jobs[ch->start + i]);
        if (j && j->state == PP_SUBMITTING)
            map_job(c, o, j, NULL, 0, a, sent);
    }
    if (!o->has_err)
        o->status = a->status;
    op_job_resolved(c, o, ch->count);
}

static void on_answer(void *ctx, pp_req *r)
{
    pp_client *c = ctx;
    pp_chunk *ch = r->data;
    pp_oprec *o = chunk_op(c, ch);
    uint64_t now = pp_now_ms();
    c->rl_probed = 1;
    if (c->submits_inflight)
        c->submits_inflight--;
    c->rl_inflight = c->rl_inflight > ch->count ? c->rl_inflight - ch->count : 0;
    if (r->code == CURLE_OK) {
        /* what the service will have left once our other chunks land */
        long rem = r->rl_remaining;
        if (rem >= 0)
            rem = rem > (long)c->rl_inflight ? rem - (long)c->rl_inflight : 0;
        pp_ratelimit_update(c, rem, r->rl_limit, r->status, now);
    }
    if (!o) {
        pp_req_free(r);
        return;
    }
    pp_answer a;
    pp_answer_from_req(&a, r, NULL);
    switch (pp_read_submission(&a)) {
    case PP_SUB_ACCEPTED: {
        int fd = r->sink == PP_SINK_FILE ? pp_req_take_fd(r) : -1;
        map_answer(c, o, ch, &a, r->started_at, fd);
        if (fd >= 0)
            close(fd);
        break;
    }
    case PP_SUB_RETRY:
        if (a.http && ch->attempt < c->tp.max_retries) {
            long d = pp_backoff_ms(c->tp.retry_base_ms, c->tp.retry_max_ms, ch->attempt, &c->rng);
            uint64_t window_end = c->rl_window_start + WINDOW_MS + WINDOW_SLACK_MS;
            ch->attempt++;
            ch->not_before = now + (uint64_t)d;
            if (ch->not_before < window_end)
                ch->not_before = window_end;
            c->stats.retries++;
            PP_DEBUG(&c->tp.debug,
                     "submission of %zu value(s) answered %ld: sent again in %ld ms "
                     "(retry %d of %d; nothing was created)",
                     ch->count, a.status, (long)(ch->not_before - now), ch->attempt,
                     c->tp.max_retries);
            r->data = NULL;
            sq_push_front(c, ch);
            break;
        }
        /* never sent, and the transport's retries are spent; or too many
         * 429s: nothing was created */
        if (a.http) {
            pp_error e = {0};
            pp_err_from_http(&e, a.status, a.body, a.len);
            chunk_fail(c, ch, PP_REJECTED, &e);
            pp_err_clear(&e);
        } else {
            chunk_fail_msg(c, ch, PP_REJECTED, a.error, 0);
        }
        break;
    case PP_SUB_REJECTED: {
        pp_error e = {0};
        pp_err_from_http(&e, a.status, a.body, a.len);
        chunk_fail(c, ch, PP_REJECTED, &e);
        pp_err_clear(&e);
        break;
    }
    default: {
        /* the service may have created these jobs: never send them again */
        pp_error e = {0};
        if (a.http) {
            pp_err_from_http(&e, a.status, a.body, a.len);
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the submission's answer was lost (%s): "
                     "the service may have created the jobs",
                     e.message);
            pp_err_set(&e, msg, (int)a.status, a.body, a.len);
        } else {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "the submission's answer was lost (%s): "
                     "the service may have created the jobs",
                     a.error);
            pp_err_set(&e, msg, 0, NULL, 0);
        }
        chunk_fail(c, ch, PP_UNKNOWN, &e);
        pp_err_clear(&e);
        break;
    }
    }
    pp_req_free(r); /* frees the chunk too, unless it went back */
    if (!c->submits_inflight && !c->sq_head)
        pp_callback_early(c, NULL);
}

void pp_submit_free_queue(pp_client *c)
{
    pp_chunk *ch;
    while ((ch = sq_pop(c)))
        free(ch);
    pp_heap_remove(&c->timers, &c->pace_timer);
}

/* ---- public */

int pp_type_valid(const char *t);

/* o->values and o->value_at from the list's n values. 0 / -1. */
static int values_text(pp_oprec *o, const json_t *list, size_t n)
{
    size_t *at = malloc((n + 1) * sizeof *at);
    pc_buf b = PC_BUF_INIT;
    if (!at)
        return -1;
    for (size_t i = 0; i < n; i++) {
        at[i] = b.len;
        if (pc_json_append(&b, json_array_get(list, i)) < 0 || pc_buf_append(&b, ",", 1) < 0) {
            free(at);
            pc_buf_free(&b);
            return -1;
        }
    }
    at[n] = b.len;
    size_t len = 0;
    char *text = pc_buf_take(&b, &len);
    char *fit = text ? realloc(text, len + 1) : NULL; /* the buffer grew by doubling */
    o->values = fit ? fit : text;
    o->value_at = at;
    return o->values ? 0 : -1;
}

static void free_chunks(pp_chunk **chunks, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(chunks[k]);
    free(chunks);
}

pp_op pp_submit(pp_client *c, const char *params_json, size_t len, const pp_submit_opts *opts,
                pp_error *err)
{
    if (!c)
        return 0;
    if (!params_json) {
        pp_fail(c, err, "no parameters");
        return 0;
    }
    const char *dir = opts ? opts->results_dir : NULL;
    const char *type = opts ? opts->results_type : NULL;
    if (type && !pp_type_valid(type)) {
        pp_fail(c, err, "results_type must be a result type such as raw, parsed or png");
        return 0;
    }
    if (dir && pp_results_dir_check(dir, &c->last_err) < 0) {
        pp_err_out(err, &c->last_err);
        return 0;
    }
    json_error_t jerr;
    json_t *root = json_loadb(params_json, len, 0, &jerr);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON: %s (line %d)", jerr.text, jerr.line);
        pp_fail(c, err, msg);
        return 0;
    }
    const char *key = NULL;
    json_t *values = NULL;
    static const char *const keys[] = {"url", "query"};
    for (size_t k = 0; json_is_object(root) && k < 2; k++) {
        json_t *v = json_object_get(root, keys[k]);
        if (json_is_array(v)) {
            if (key) {
                json_decref(root);
                pp_fail(c, err, "only one of url and query may be a list");
                return 0;
            }
            key = keys[k];
            values = v;
        }
    }
    if (!json_is_object(root)) {
        json_decref(root);
        pp_fail(c, err, "the job parameters must be a JSON object");
        return 0;
    }
    size_t n = 1;
    if (values) {
        n = json_array_size(values);
        if (n == 0) {
            json_decref(root);
            pp_fail(c, err, "empty list of values");
            return 0;
        }
        json_incref(values);
        json_object_del(root, key);
    }
    pp_oprec *o = pp_op_create(c, PP_OP_SUBMIT);
    pp_job *jobs = o ? calloc(n, sizeof *jobs) : NULL;
    size_t made = 0;
    if (!jobs)
        goto oom;
    o->jobs = jobs;
    o->params = root;
    o->list_key = key;
    root = NULL;
    if (values) {
        /* text from here on: the values' tree goes before the job records come */
        if (values_text(o, values, n) < 0)
            goto oom;
        json_decref(values);
        values = NULL;
    }
    const char *shared_dir = dir ? pp_jobtab_intern(&c->jobs, dir) : NULL;
    const char *shared_type = type ? pp_jobtab_intern(&c->jobs, type) : NULL;
    if ((dir && !shared_dir) || (type && !shared_type))
        goto oom;
    int cb = pp_callback_kind(c, pc_json_str(o->params, "callback_url"));
    for (; made < n; made++) {
        pp_jobrec *j = pp_job_create(&c->jobs);
        if (!j)
            goto oom;
        jobs[made] = j->h;
        j->watched = 1;
        j->cb_expected = cb;
        j->results_dir = shared_dir;
        j->results_type = shared_type;
    }
    o->njobs = n;
    o->unresolved = n;
    if (pp_journal_submission(c, o, opts) < 0)
        goto refused; /* c->last_err says why */
    size_t bs = (size_t)c->batch_size;
    size_t nchunks = o->values ? (n + bs - 1) / bs : 1;
    pp_chunk **chunks = calloc(nchunks, sizeof *chunks);
    if (!chunks)
        goto oom;
    for (size_t i = 0; i < nchunks; i++) {
        chunks[i] = calloc(1, sizeof **chunks);
        if (!chunks[i]) {
            free_chunks(chunks, i);
            goto oom;
        }
        chunks[i]->op = o->h;
        chunks[i]->start = i * bs;
        chunks[i]->count = (i + 1 == nchunks) ? n - i * bs : bs;
    }
    for (size_t i = 0; i < nchunks; i++)
        sq_push_back(c, chunks[i]);
    free(chunks);
    return o->h;
oom:
    pp_fail(c, NULL, pp_oom_message);
refused:
    for (size_t i = 0; i < made; i++) {
        pp_jobrec *j = pp_job_get(&c->jobs, jobs[i]);
        if (j)
            pp_job_destroy(&c->jobs, j);
    }
    if (o)
        pp_op_destroy(c, o);
    if (root)
        json_decref(root);
    if (values)
        json_decref(values);
    pp_err_out(err, &c->last_err);
    return 0;
}
