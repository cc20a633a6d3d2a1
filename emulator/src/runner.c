#include "runner.h"

#include "callbacks.h"
#include "config.h"
#include "schedules.h"
#include "storage.h"
#include "util.h"
#include "worker.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

struct pending {
    uint64_t id;
    double due; /* created_at + drawn job time */
    int attempt;
    int fault; /* the fetch failed for good */
    char *url;
};

static void pending_free(struct pending *p)
{
    free(p->url);
    free(p);
}

double runner_job_time(void)
{
    const struct jobtime *t = &g_cfg.job_time;
    switch (t->kind) {
    case JOBTIME_UNIFORM: return t->a + (t->b - t->a) * rng_unit();
    case JOBTIME_LOGNORMAL: return t->a * exp(t->b * rng_normal());
    case JOBTIME_FIXED:
    default: return t->a;
    }
}

/* Ends the job: fault draw, storage, status, callback. Worker thread. */
static void finish(void *arg, int cancelled)
{
    struct pending *p = arg;
    struct job *j = cancelled ? NULL : jobs_get(p->id);
    if (j) {
        enum job_status st = (p->fault || rng_chance(g_cfg.fault_rate)) ? JOB_FAULTED : JOB_DONE;
        /* The upload happens before the status flips, so a client that sees
         * "done" finds the file (and the statuses entry) already there. */
        json_t *entry = st == JOB_DONE ? storage_upload(j) : NULL;
        if (jobs_finish(j, st, entry) == 0)
            callbacks_send(j);
        jobs_put(j);
    }
    pending_free(p);
}

/* The job may end no earlier than its due time. */
static void finish_at_due(struct pending *p)
{
    double now = now_s();
    if (p->due <= now)
        finish(p, 0);
    else if (worker_timer(p->due, finish, p) != 0)
        pending_free(p);
}

static void start_fetch(struct pending *p);

static void retry_fetch(void *arg, int cancelled)
{
    if (cancelled)
        pending_free(arg);
    else
        start_fetch(arg);
}

static void fetched(struct http_call *c, int cancelled)
{
    struct pending *p = c->arg;
    if (cancelled) {
        pending_free(p);
        return;
    }
    if (c->rc != CURLE_OK) {
        /* Unreachable target: a couple of quick retries, then faulted (613). */
        if (p->attempt < FETCH_RETRIES) {
            p->attempt++;
            if (worker_timer(now_s() + FETCH_BACKOFF_S * p->attempt, retry_fetch, p) != 0)
                pending_free(p);
            return;
        }
        p->fault = 1;
        finish_at_due(p);
        return;
    }
    struct job *j = jobs_get(p->id);
    if (!j) { /* expired or reset meanwhile */
        pending_free(p);
        return;
    }
    struct page *pg = calloc(1, sizeof *pg);
    if (pg) {
        pg->page = 1;
        pg->status_code = (int)c->status;
        pg->body = pc_buf_take(&c->body, &pg->len);
        /* Only the worker writes pages, and only while the job is pending:
         * readers look at them after seeing a final status. */
        j->pages = pg;
        j->npages = 1;
    } else
        p->fault = 1;
    jobs_put(j);
    finish_at_due(p);
}

static void start_fetch(struct pending *p)
{
    struct http_call *c = http_call_new(p->url, fetched, p);
    if (!c) {
        p->fault = 1;
        finish_at_due(p);
        return;
    }
    if (worker_http(c) != 0) {
        http_call_free(c);
        pending_free(p);
    }
}

/* Fetches start on the worker thread, where transfers belong. */
static void launch_fetch(void *arg, int cancelled)
{
    if (cancelled)
        pending_free(arg);
    else
        start_fetch(arg);
}

void runner_launch(struct job *j)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return; /* out of memory: the job stays pending (until a reset) */
    p->id = j->id;
    p->due = j->created + runner_job_time();
    if (j->is_url) {
        p->url = strdup(j->target);
        if (!p->url) {
            p->fault = 1;
            if (worker_timer_quiet(p->due, finish, p) != 0)
                pending_free(p);
            return;
        }
        if (worker_timer_quiet(0, launch_fetch, p) != 0)
            pending_free(p);
        return;
    }
    /* Query pages exist at once (they are synthesized), so only the job time
     * stands between creation and the end. */
    if (worker_timer_quiet(p->due, finish, p) != 0)
        pending_free(p);
}

void runner_kick(void)
{
    worker_wake();
}

static void housekeeping(void *arg, int cancelled)
{
    (void)arg;
    if (cancelled)
        return;
    double now = now_s();
    size_t expired = jobs_expire(now, g_cfg.retention);
#ifdef __GLIBC__
    /* After a large expiry, hand the freed pages back to the system, so that
     * the resident size follows the live jobs rather than the peak. */
    if (expired >= 1000)
        malloc_trim(0);
#else
    (void)expired;
#endif
    schedules_run_due(now);
    /* Short retentions (tests) get a finer sweep. */
    double every = g_cfg.retention < 4 ? 0.2 : 1.0;
    worker_timer(now + every, housekeeping, NULL);
}

int runner_start(void)
{
    return worker_timer(now_s(), housekeeping, NULL);
}
