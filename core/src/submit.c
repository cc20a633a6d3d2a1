/* Submissions: a job object whose `url` or `query` is a list becomes one
 * job per value, sent as batch requests of at most cfg.batch_size values
 * (a single value goes to POST /v1/queries). Chunks wait in a queue paced
 * by the rate-limit headers: when the remaining budget is smaller than the
 * next chunk, that chunk waits for the next one-second window instead of
 * earning a 429. A 429 creates no job, so it is retried after a backoff;
 * a request that was sent and whose answer was lost makes its jobs
 * unknown, and they are never sent again. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_MS 1000
#define WINDOW_SLACK_MS 5
#define MAX_429 20

static pp_oprec *chunk_op(pp_client *c, const pp_chunk *ch)
{
    return (ch->op && ch->op <= c->nops) ? c->ops[ch->op - 1] : NULL;
}

/* ---- pacing */

void pp_ratelimit_update(pp_client *c, long remaining, long limit, long status,
                         uint64_t now)
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
    if (!c->rl_known || now >= c->rl_window_start + WINDOW_MS ||
        remaining > c->rl_remaining) {
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
        pp_jobrec *j = pp_job_get(c, o->jobs[ch->start + i]);
        if (!j)
            continue;
        if (j->state == PP_NEW)
            pp_job_transition(c, j, PP_SUBMITTING);
        pp_err_copy(&j->err, e);
        pp_job_transition(c, j, to);
    }
    op_note_error(o, e);
    op_job_resolved(c, o, ch->count);
}

static void chunk_fail_msg(pp_client *c, pp_chunk *ch, pp_state to, const char *msg)
{
    pp_error e = {0};
    pp_err_set(&e, msg, 0, NULL, 0);
    chunk_fail(c, ch, to, &e);
    pp_err_clear(&e);
}

/* ---- sending */

static char *chunk_body(pp_oprec *o, const pp_chunk *ch, size_t *len)
{
    if (!o->values)
        return pp_json_text(o->params, len);
    json_t *tmp = json_copy(o->params);       /* shallow: values shared */
    json_t *slice = json_array();
    char *text = NULL;
    if (!tmp || !slice)
        goto out;
    for (size_t i = 0; i < ch->count; i++)
        if (json_array_append(slice, json_array_get(o->values, ch->start + i)) < 0)
            goto out;
    if (json_object_set(tmp, o->list_key, slice) < 0)
        goto out;
    text = pp_json_text(tmp, len);
out:
    if (slice)
        json_decref(slice);
    if (tmp)
        json_decref(tmp);
    return text;
}

static void send_chunk(pp_client *c, pp_chunk *ch)
{
    pp_oprec *o = chunk_op(c, ch);
    if (!o || (!o->params)) {
        free(ch);
        return;
    }
    for (size_t i = 0; i < ch->count; i++) {
        pp_jobrec *j = pp_job_get(c, o->jobs[ch->start + i]);
        if (j && j->state == PP_NEW)
            pp_job_transition(c, j, PP_SUBMITTING);
    }
    size_t len = 0;
    char *body = chunk_body(o, ch, &len);
    pp_req *r = body ? pp_req_new(c, PP_RK_SUBMIT, "POST",
                                  o->values ? "/v1/queries/batch" : "/v1/queries",
                                  body, len) : NULL;
    free(body);
    if (!r) {
        chunk_fail_msg(c, ch, PP_REJECTED, pp_oom_message);
        free(ch);
        return;
    }
    r->chunk = ch;
    r->high = 1;
    c->submits_inflight++;
    c->rl_inflight += ch->count;
    pp_engine_enqueue(c, r);
}

void pp_submit_pump(pp_client *c)
{
    while (c->sq_head) {
        pp_chunk *ch = c->sq_head;
        uint64_t now = pp_now_ms();
        if (ch->not_before > now) {
            pp_heap_set(&c->heap, &c->pace_timer, ch->not_before);
            return;
        }
        if (!c->rl_known && !c->rl_probed && c->submits_inflight) {
            /* learn the budget from the first answer before sending more */
            return;
        }
        if (c->rl_known) {
            if (now >= c->rl_window_start + WINDOW_MS) {
                c->rl_window_start = now;
                c->rl_remaining = c->rl_limit > 0 ? c->rl_limit : -1;
                if (c->rl_remaining < 0)
                    c->rl_known = 0;
            }
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
        if (c->rl_known && c->rl_remaining >= 0 &&
            (size_t)c->rl_remaining < ch->count) {
            pp_heap_set(&c->heap, &c->pace_timer,
                        c->rl_window_start + WINDOW_MS + WINDOW_SLACK_MS);
            return;
        }
        if (c->rl_known && c->rl_remaining >= 0)
            c->rl_remaining -= (long)ch->count;
        pp_heap_remove(&c->heap, &c->pace_timer);
        sq_pop(c);
        send_chunk(c, ch);
    }
    pp_heap_remove(&c->heap, &c->pace_timer);
}

/* ---- answers */

static void map_answer(pp_client *c, pp_oprec *o, pp_chunk *ch, pp_req *r)
{
    json_t *root = json_loadb(r->resp.data ? r->resp.data : "", r->resp.len, 0, NULL);
    json_t *list = NULL;
    if (json_is_object(root)) {
        list = json_object_get(root, "queries");
        if (!json_is_array(list))
            list = NULL;
    }
    uint64_t now = pp_now_ms();
    for (size_t i = 0; i < ch->count; i++) {
        pp_jobrec *j = pp_job_get(c, o->jobs[ch->start + i]);
        if (!j)
            continue;
        json_t *item = list ? json_array_get(list, i) : (i == 0 ? root : NULL);
        char buf[32];
        const char *id = json_is_object(item) ? pp_json_id(item, buf, sizeof buf) : NULL;
        if (!id || pp_job_set_id(c, j, id) < 0) {
            pp_error e = {0};
            pp_err_set(&e, id ? pp_oom_message : "the service's answer did not list this job",
                       (int)r->status, r->resp.data, r->resp.len);
            pp_err_copy(&j->err, &e);
            op_note_error(o, &e);
            pp_err_clear(&e);
            pp_job_transition(c, j, PP_UNKNOWN);
            continue;
        }
        (void)pp_job_store_info(c, j, item);
        j->pending_at = now;
        /* The rest of this job's handling reads only the item; freeing its
         * branch of the tree now lets the next jobs' info reuse the memory,
         * so a 5,000-job answer never holds the whole tree and every job's
         * copy at once. */
        json_incref(item);
        if (list)
            json_array_set_new(list, i, json_null());
        pp_job_transition(c, j, PP_PENDING);
        c->stats.submitted++;
        const char *st = pp_json_str(item, "status");
        if (pp_early_callback_take(c, j))
            ; /* a callback that came first already moved it on */
        else if (st && (!strcmp(st, "done") || !strcmp(st, "faulted")))
            pp_job_apply_object(c, j, item, 1);
        else if (j->watched)
            pp_poll_schedule_first(c, j);
        json_decref(item);
    }
    if (root)
        json_decref(root);
    if (!o->has_err)
        o->status = r->status;
    op_job_resolved(c, o, ch->count);
}

void pp_submit_on_answer(pp_client *c, pp_req *r)
{
    pp_chunk *ch = r->chunk;
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
    if (r->code == CURLE_OK && r->status == 429 && ch->attempt < MAX_429) {
        long d = pp_backoff_ms(c->retry_base_ms, c->retry_max_ms, ch->attempt, &c->rng);
        uint64_t window_end = c->rl_window_start + WINDOW_MS + WINDOW_SLACK_MS;
        ch->attempt++;
        ch->not_before = now + (uint64_t)d;
        if (ch->not_before < window_end)
            ch->not_before = window_end;
        c->stats.retries++;
        r->chunk = NULL;
        sq_push_front(c, ch);
        pp_req_free(r);
        return;
    }
    if (r->code != CURLE_OK) {
        int v = pp_retry_classify(2, r->code, 0, r->sent);
        chunk_fail_msg(c, ch, v == PP_RETRY_LOST ? PP_UNKNOWN : PP_REJECTED, r->errbuf);
    } else if (r->status >= 200 && r->status <= 299) {
        map_answer(c, o, ch, r);
    } else {
        pp_error e = {0};
        pp_err_from_http(&e, r->status, r->resp.data, r->resp.len);
        chunk_fail(c, ch, PP_REJECTED, &e);
        pp_err_clear(&e);
    }
    pp_req_free(r);     /* frees the chunk too */
    if (!c->submits_inflight && c->early)
        json_object_clear(c->early);
}

void pp_submit_free_queue(pp_client *c)
{
    pp_chunk *ch;
    while ((ch = sq_pop(c)))
        free(ch);
    pp_heap_remove(&c->heap, &c->pace_timer);
}

/* ---- public */

static pp_op submit_fail(pp_client *c, pp_error *err, const char *msg)
{
    if (c) {
        pp_err_set(&c->submit_err, msg, 0, NULL, 0);
        if (err)
            *err = c->submit_err;
    } else if (err) {
        err->message = "no client";
        err->http_status = 0;
        err->body = NULL;
        err->body_len = 0;
    }
    return 0;
}

pp_op pp_submit(pp_client *c, const char *params_json, size_t len, pp_error *err)
{
    if (!c || !params_json)
        return submit_fail(c, err, "no parameters");
    json_error_t jerr;
    json_t *root = json_loadb(params_json, len, 0, &jerr);
    if (!root) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON: %s (line %d)", jerr.text, jerr.line);
        return submit_fail(c, err, msg);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return submit_fail(c, err, "the job parameters must be a JSON object");
    }
    const char *key = NULL;
    json_t *values = NULL;
    static const char *const keys[] = {"url", "query"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(root, keys[k]);
        if (json_is_array(v)) {
            if (key) {
                json_decref(root);
                return submit_fail(c, err, "only one of url and query may be a list");
            }
            key = keys[k];
            values = v;
        }
    }
    size_t n = 1;
    if (values) {
        n = json_array_size(values);
        if (n == 0) {
            json_decref(root);
            return submit_fail(c, err, "empty list of values");
        }
        json_incref(values);
        json_object_del(root, key);
    }
    pp_oprec *o = pp_op_create(c, PP_OP_SUBMIT);
    pp_job *jobs = o ? malloc(n * sizeof *jobs) : NULL;
    size_t made = 0;
    if (!jobs)
        goto oom;
    o->jobs = jobs;
    o->params = root;
    o->values = values;
    o->list_key = key;
    root = values = NULL;
    int cb = pp_callback_kind(c, pp_json_str(o->params, "callback_url"));
    for (; made < n; made++) {
        pp_jobrec *j = pp_job_create(c);
        if (!j)
            goto oom;
        j->watched = 1;
        j->cb_expected = cb;
        jobs[made] = j->h;
    }
    o->njobs = n;
    o->unresolved = n;
    size_t bs = (size_t)c->batch_size;
    size_t nchunks = o->values ? (n + bs - 1) / bs : 1;
    pp_chunk **chunks = calloc(nchunks, sizeof *chunks);
    if (!chunks)
        goto oom;
    for (size_t i = 0; i < nchunks; i++) {
        chunks[i] = calloc(1, sizeof **chunks);
        if (!chunks[i]) {
            for (size_t k = 0; k < i; k++)
                free(chunks[k]);
            free(chunks);
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
    for (size_t i = 0; i < made; i++)
        pp_job_release(c, jobs[i]);
    if (o)
        pp_op_destroy(c, o);
    if (root)
        json_decref(root);
    if (values)
        json_decref(values);
    return submit_fail(c, err, pp_oom_message);
}
