/* A client without a network. Its transport never starts a request
 * (no connection slots), so every request waits in the dispatch queue;
 * the test takes one off and completes it with a made-up answer the way
 * the engine would: the body goes where the request's sink says (memory,
 * counted in the budget and spilled past it, or the owner's file for a
 * 2xx), then the request's own completion runs and frees it. */
#ifndef PP_TEST_OFFLINE_H
#define PP_TEST_OFFLINE_H

#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void offline_config(pp_config *cfg)
{
    pp_config_init(cfg);
    cfg->base_url = "http://127.0.0.1:9";
}

static inline pp_client *offline_new(const pp_config *cfg)
{
    pp_client *c = pp_client_new(cfg, NULL);
    if (!c)
        return NULL;
    c->tp.max_connections = 0; /* nothing leaves the queue by itself */
    return c;
}

static inline pp_client *offline_client(void)
{
    pp_config cfg;
    offline_config(&cfg);
    return offline_new(&cfg);
}

/* The i-th request waiting, in dispatch order (high priority first). */
static inline pp_req *queued(pp_client *c, size_t i)
{
    pp_req *r = c->tp.qhi_head;
    for (; r && i; i--)
        r = r->qnext;
    if (r)
        return r;
    for (r = c->tp.qlo_head; r && i; i--)
        r = r->qnext;
    return r;
}

/* The first waiting request for a URL ending in tail, NULL if none. */
static inline pp_req *queued_url(pp_client *c, const char *tail)
{
    size_t tl = strlen(tail);
    for (size_t i = 0; i < c->tp.queued; i++) {
        pp_req *r = queued(c, i);
        size_t ul = r ? strlen(r->url) : 0;
        if (r && ul >= tl && strcmp(r->url + ul - tl, tail) == 0)
            return r;
    }
    return NULL;
}

/* What the engine's body callback does with len bytes of an answer. */
static inline void offline_body(pp_req *r, const char *p, size_t len)
{
    pp_transport *t = r->t;
    int ok = r->status >= 200 && r->status <= 299;
    if (ok && r->budgeted && r->sink == PP_SINK_MEMORY && t->buffered &&
        *t->buffered + len > t->budget && r->spill_fn) {
        int fd = r->spill_fn(r->ctx, r);
        if (fd >= 0) {
            r->fd = fd;
            r->sink = PP_SINK_FILE;
            r->spilled = 1;
        }
    }
    if (ok && r->sink == PP_SINK_FILE && r->fd < 0 && r->open_fn) {
        /* as the transport does: the file is made when the body comes */
        r->fd = r->open_fn(r->ctx, r);
        if (r->fd < 0) {
            r->sink_errno = errno ? errno : EIO;
            return;
        }
    }
    if (ok && r->sink == PP_SINK_FILE && r->fd >= 0) {
        if (write(r->fd, p, len) == (ssize_t)len)
            r->written += len;
        else
            r->sink_errno = EIO;
        return;
    }
    if (pc_buf_append(&r->resp, p, len) == 0 && ok && r->budgeted && t->buffered)
        *t->buffered += len;
}

/* Completes r with an HTTP answer. */
static inline void answer_req(pp_req *r, long status, int jobhdr, const char *body)
{
    r->code = CURLE_OK;
    r->status = status;
    r->jobhdr = jobhdr;
    r->sent = (long)r->body_len + 100;
    r->started_at = pp_now_ms();
    if (body)
        offline_body(r, body, strlen(body));
    r->done(r->ctx, r);
}

/* Completes r without an answer: code, and the request bytes sent. */
static inline void fail_req(pp_req *r, CURLcode code, long sent)
{
    r->code = code;
    r->status = 0;
    r->sent = sent;
    r->started_at = pp_now_ms();
    snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(code));
    r->done(r->ctx, r);
}

/* Answers the first waiting request; 0 when none was waiting. */
static inline int answer_next(pp_client *c, long status, int jobhdr, const char *body)
{
    pp_req *r = queued(c, 0);
    if (!r)
        return 0;
    answer_req(r, status, jobhdr, body);
    return 1;
}

/* Answers the waiting request for a URL ending in tail, if any. */
static inline void answer_for(pp_client *c, const char *tail, long status, int jobhdr,
                              const char *body)
{
    pp_req *r = queued_url(c, tail);
    if (r)
        answer_req(r, status, jobhdr, body);
}

/* Makes the job's next poll due now and runs the client. */
static inline void poll_now(pp_client *c, pp_job h)
{
    pp_jobrec *j = pp_job_get(&c->jobs, h);
    if (j && pp_heap_set(&c->timers, &j->timer, pp_now_ms()) == 0)
        pp_run(c);
}

/* Submits params and runs the client: the submission is queued. */
static inline pp_op submit_text(pp_client *c, const char *params, const pp_submit_opts *opts)
{
    pp_op op = pp_submit(c, params, strlen(params), opts, NULL);
    pp_run(c);
    return op;
}

/* The job of a single-job submission, its answer naming id (pending). */
static inline pp_job submit_one(pp_client *c, const char *id, const pp_submit_opts *opts)
{
    pp_op op = submit_text(c, "{\"source\":\"universal\",\"url\":\"https://example.com\"}", opts);
    size_t n = 0;
    const pp_job *jobs = op ? pp_op_jobs(c, op, &n) : NULL;
    pp_job h = n == 1 ? jobs[0] : 0;
    char body[160];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"status\":\"pending\"}", id);
    answer_next(c, 202, PP_HDR_NONE, body);
    if (op)
        pp_op_free(c, op);
    return h;
}

static inline void drain_events(pp_client *c)
{
    pp_event ev[64];
    while (pp_take_events(c, ev, 64) == 64)
        ;
}

#endif
