/* The poll schedule. Each watched job has one timer in the client's heap;
 * when it fires is plan.c's answer, from what estimate.c has learned of how
 * long jobs take (every "still pending" and every end is fed to it). With
 * poll.fetch the results endpoint is polled: 204 = pending, 200 = done and
 * downloaded in the same request, so a finished job costs one request.
 *
 * The scheduler sends requests and reads their answers through the answers
 * layer; jobs change only through the state layer, whose published changes
 * it reacts to (a job that became pending gets its first poll, one that
 * became done is downloaded, one that ended loses its timer).
 *
 * Callbacks are hints (callbacks.c hands them here): a job said done is
 * downloaded now, one said faulted gets a status GET, at most once per
 * backoff step, so forged callbacks cost a bounded number of requests and
 * change nothing by themselves. */
#include "client.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#define JITTER 0.1       /* +-10% */
#define BARE_204_LIMIT 3 /* then alternate with status GETs */

/* ---- timers */

/* why: for the debug line (NULL: the caller wrote its own). */
static void arm(pp_client *c, pp_jobrec *j, uint64_t due, const char *why)
{
    /* no memory for the heap slot: the job stays as it is; a hint, a
     * refresh or pp_watch can move it on */
    (void)pp_heap_set(&c->timers, &j->timer, due);
    if (why && c->tp.debug.fn) {
        uint64_t now = pp_now_ms();
        pp_debug_emit(&c->tp.debug, "poll job %s in %ld ms: %s", j->id ? j->id : "(no id yet)",
                      due > now ? (long)(due - now) : 0L, why);
    }
}

static void disarm(pp_client *c, pp_jobrec *j)
{
    pp_heap_remove(&c->timers, &j->timer);
}

static long jittered(pp_client *c, long ms)
{
    double u = pp_rand_unit(&c->rng);
    return (long)((double)ms * (1.0 - JITTER + 2.0 * JITTER * u) + 0.5);
}

/* A job whose callback is coming is polled only as a safety net: first
 * after the safety delay of where its callback comes in (the listener, or
 * the URL of pp_expect_callbacks), then every half of it (no max_ms cap:
 * these polls only catch lost callbacks). */
static int schedule_safety(pp_client *c, pp_jobrec *j, uint64_t from)
{
    if (!j->cb_expected)
        return 0;
    double est = c->poll.first_ms > 0 ? (double)c->poll.first_ms : pp_estimate_median(&c->est);
    long s = pp_callback_safety_ms(c, j->cb_expected, est);
    if (s < 0) {
        j->cb_expected = PP_CB_NONE; /* the listener or the URL is gone */
        return 0;
    }
    j->interval = s / 2 > c->plan.min_ms ? s / 2 : c->plan.min_ms;
    arm(c, j, from + (uint64_t)jittered(c, s), "safety net for a lost callback (one is expected)");
    return 1;
}

/* The next poll of a pending job, planned from its age now. */
static void plan_next(pp_client *c, pp_jobrec *j)
{
    uint64_t now = pp_now_ms();
    double age = now > j->pending_at ? (double)(now - j->pending_at) : 0.0;
    long d = pp_plan_next_delay(&c->plan, &c->est, &j->pj, age, pp_rand_unit(&c->rng));
    arm(c, j, now + (uint64_t)d, NULL);
    PP_DEBUG(&c->tp.debug,
             "poll job %s in %ld ms: planned (poll %d, job age %.0f ms, expected job time %.0f ms)",
             j->id ? j->id : "(no id yet)", d, j->pj.polls, age, pp_estimate_median(&c->est));
}

void pp_sched_first(pp_client *c, pp_jobrec *j)
{
    j->bare_204s = 0;
    j->status_next = 0;
    j->last_pending = 0;
    memset(&j->pj, 0, sizeof j->pj);
    if (schedule_safety(c, j, j->pending_at))
        return;
    if (!c->probe && c->poll.first_ms <= 0 && pp_estimate_jobs(&c->est) < 1) {
        /* A cold client knows nothing of job times: one job is asked at
         * once, so that a batch of quick jobs does not wait for the
         * prior's guess (what it says re-plans the others). */
        c->probe = j->h;
        j->pj.polls = 1;
        arm(c, j, j->pending_at + (uint64_t)c->plan.min_ms,
            "the first job of a client that knows no job time yet: asked early");
        return;
    }
    if (c->planned_median <= 0)
        c->planned_median = pp_estimate_median(&c->est);
    plan_next(c, j);
}

/* When the estimate has moved by half or more since the first polls of
 * waiting jobs were planned (the first answers of a cold client's batch),
 * those first polls are moved to where the plan now puts a first poll. The
 * plan aims a first poll at one age whatever the job, so it is computed
 * once; each job only gets its timer moved (O(jobs log jobs), and rare:
 * each time takes a move of 1.5x). */
static void replan_if_moved(pp_client *c)
{
    double m = pp_estimate_median(&c->est), p = c->planned_median;
    if (p > 0 && m > p / 1.5 && m < p * 1.5)
        return;
    c->planned_median = m;
    if (p <= 0)
        return;
    pp_plan_job first;
    memset(&first, 0, sizeof first);
    long d0 = pp_plan_next_delay(&c->plan, &c->est, &first, 0, 0.5);
    uint64_t now = pp_now_ms();
    PP_DEBUG(&c->tp.debug,
             "re-plan: the expected job time moved from %.0f to %.0f ms; waiting first polls "
             "move to a job age of about %ld ms",
             p, m, d0);
    for (size_t i = 0; i < c->jobs.n; i++) {
        pp_jobrec *j = c->jobs.v[i];
        if (!j || j->state != PP_PENDING || !j->watched || j->poll_req || j->cb_expected ||
            j->pj.polls != 1 || j->timer.idx == PP_NOT_QUEUED || j->h == c->probe)
            continue;
        j->pj = first; /* as if planned now: the next polls follow from it */
        uint64_t due = j->pending_at + (uint64_t)jittered(c, d0);
        if (due < now)
            due = now;
        if (due != j->timer.due)
            arm(c, j, due, NULL);
    }
}

static void schedule_next(pp_client *c, pp_jobrec *j)
{
    if (j->cb_expected && pp_callback_safety_ms(c, j->cb_expected, 0) >= 0) {
        arm(c, j, pp_now_ms() + (uint64_t)jittered(c, j->interval),
            "safety net for a lost callback (one is expected)");
        return;
    }
    plan_next(c, j);
}

/* The delay of backoff step `step` (min_ms doubling up to max_ms): how
 * long a job said done but not downloadable waits, and how often a
 * callback may make a job poll early. */
static long backoff_step(pp_client *c, int step)
{
    long d = c->plan.min_ms;
    for (int i = 0; i < step && d < c->plan.max_ms; i++)
        d *= 2;
    return d < c->plan.max_ms ? d : c->plan.max_ms;
}

/* ---- requests */

static void on_answer(void *ctx, pp_req *r);

static int spill(void *ctx, pp_req *r)
{
    pp_client *c = ctx;
    pp_jobrec *j = pp_job_get(&c->jobs, r->owner);
    if (!j || j->poll_req != r || j->poll_tmp)
        return -1;
    return pp_results_tmp_open(&c->jobs, j, &j->poll_tmp);
}

/* The temporary file of a download to the job's result folder, made when
 * its answer's body starts. */
static int open_tmp(void *ctx, pp_req *r)
{
    pp_client *c = ctx;
    pp_jobrec *j = pp_job_get(&c->jobs, r->owner);
    if (!j || j->poll_req != r || j->poll_tmp) {
        errno = EINVAL;
        return -1;
    }
    return pp_results_tmp_open(&c->jobs, j, &j->poll_tmp);
}

/* A results GET (status 0) or a status GET for the job, sent now. */
static void send_poll(pp_client *c, pp_jobrec *j, int status, int high)
{
    char path[PP_ID_MAX + 96];
    if (status)
        snprintf(path, sizeof path, "/v1/queries/%s", j->id);
    else if (j->results_type)
        snprintf(path, sizeof path, "/v1/queries/%s/results?type=%s", j->id, j->results_type);
    else
        snprintf(path, sizeof path, "/v1/queries/%s/results", j->id);
    pp_req *r = pp_req_new(&c->tp, "GET", path, NULL, 0, PP_REPEAT_SAFE, on_answer, c);
    if (!r) {
        pp_state_fetch_failed(&c->jobs, j, NULL);
        arm(c, j, pp_now_ms() + (uint64_t)c->plan.max_ms, "no memory for the request: later");
        return;
    }
    r->owner = j->h;
    r->high = high;
    r->data = NULL;
    if (!status) {
        if (j->results_dir) {
            r->sink = PP_SINK_FILE; /* opened by open_tmp when the body comes */
            r->open_fn = open_tmp;
        } else {
            r->budgeted = 1;
            r->spill_fn = spill;
        }
    }
    j->poll_status = status;
    j->poll_req = r;
    j->status_next = 0;
    c->stats.polls++;
    pp_transport_send(&c->tp, r);
}

/* The job's timer fired, or it must be checked now. */
static void fire(pp_client *c, pp_jobrec *j)
{
    if (j->poll_req || !j->id)
        return;
    if (j->state == PP_DONE) {
        if (c->poll.fetch) {
            pp_state_fetching(&c->jobs, j);
            send_poll(c, j, 0, 1);
        }
        return;
    }
    if (j->state != PP_PENDING)
        return;
    /* a check a callback asked for goes first: it may end the job now */
    send_poll(c, j, !c->poll.fetch || j->status_next || j->confirm_fault,
              j->confirm_fault || j->hint_poll);
}

int pp_sched_saturated(const pp_client *c)
{
    /* (a pool of 0 never sends: tests drive such a client by hand) */
    return c->tp.max_connections > 0 && c->tp.queued >= (size_t)c->tp.max_connections;
}

size_t pp_sched_run(pp_client *c)
{
    uint64_t now = pp_now_ms();
    size_t fired = 0, budget = c->timers.n + 16;
    pp_timer *t;
    /* Polls that are due wait in the heap, not as requests, while a pool's
     * worth of requests already waits for a connection: 50,000 due polls
     * would otherwise be 50,000 requests (~25 MB) at once. */
    while (budget-- && !pp_sched_saturated(c) && (t = pp_heap_top(&c->timers)) && t->due <= now) {
        pp_heap_remove(&c->timers, t);
        fired++;
        if (t != &c->pace_timer && t != &c->nap_timer)
            fire(c, (pp_jobrec *)t->owner);
    }
    return fired;
}

/* The age of the job when a request about it was sent. */
static double age_at(const pp_jobrec *j, uint64_t when)
{
    return when > j->pending_at ? (double)(when - j->pending_at) : 0.0;
}

/* A job found ended: the estimate learns it ended after it was last seen
 * pending and before this answer's request. A callback that the results
 * then proved says when exactly. Polls that only catch lost callbacks are
 * as good a bound as any other. */
static void learn_end(pp_client *c, pp_jobrec *j, uint64_t started, int hinted)
{
    uint64_t now = pp_now_ms();
    if (hinted && j->hint_at >= j->pending_at) {
        double t = age_at(j, j->hint_at);
        pp_estimate_pending(&c->est, j->last_pending, t, now);
        pp_estimate_ended(&c->est, t, t, now);
    } else {
        pp_estimate_ended(&c->est, j->last_pending, age_at(j, started), now);
    }
    replan_if_moved(c);
}

static void after_pending(pp_client *c, pp_jobrec *j, uint64_t started, int kind)
{
    if (j->recheck) {
        j->recheck = 0;
        j->hint_poll = 1;
        /* a callback came while this poll was out */
        arm(c, j, pp_now_ms(), "a callback came while a poll was out: checking again");
        return;
    }
    if (kind == PP_V_NOTHING) {
        /* an unexpected answer says nothing of the job: slow down */
        arm(c, j, pp_now_ms() + (uint64_t)jittered(c, c->plan.max_ms),
            "the answer said nothing of the job: slowing down");
        return;
    }
    double a = age_at(j, started);
    pp_estimate_pending(&c->est, j->last_pending, a, pp_now_ms());
    j->last_pending = a;
    replan_if_moved(c);
    if (kind == PP_V_NOT_READY) {
        if (++j->bare_204s >= BARE_204_LIMIT)
            j->status_next = 1; /* then every other poll asks the status */
    } else {
        j->bare_204s = 0;
    }
    schedule_next(c, j);
}

/* A 2xx answer's results could not be written (disk full, a folder gone):
 * the job is done, and ends failed with the path and the reason -- never a
 * download repeated at every poll. */
static pp_state store_failed(pp_client *c, pp_jobrec *j, const pp_req *r, int fd, const char *tmp)
{
    if (fd >= 0)
        close(fd);
    char *final = pp_results_file(j);
    pp_error e = {0};
    pp_err_errno(&e, final ? final : (tmp ? tmp : "the spool folder"), r->sink_errno);
    free(final);
    pp_verdict done = {PP_V_DONE, (int)r->status, NULL, NULL};
    char *none = NULL;
    pp_state_apply(&c->jobs, j, &done, NULL, NULL, -1, &none);
    pp_state_fetching(&c->jobs, j);
    pp_state_store_failed(&c->jobs, j, &e);
    pp_err_clear(&e);
    return j->state;
}

static void on_answer(void *ctx, pp_req *r)
{
    pp_client *c = ctx;
    pp_jobrec *j = pp_job_get(&c->jobs, r->owner);
    if (!j || j->poll_req != r) {
        pp_req_free(r);
        return;
    }
    if (c->probe == j->h)
        c->probe = 0; /* answered: the next cold job may ask early */
    char *tmp = j->poll_tmp;
    j->poll_tmp = NULL;
    int status = j->poll_status;
    pp_answer a;
    pp_answer_from_req(&a, r, tmp);
    pp_verdict v = status ? pp_read_status(&a) : pp_read_results(&a);
    pp_state was = j->state;
    /* a faulted claim is settled by a status answer only: one that came
     * while a results poll was out waits for its own status GET */
    int hinted = j->hint_poll, confirm = status && j->confirm_fault;
    j->hint_poll = 0;
    if (status)
        j->confirm_fault = 0;
    if (was == PP_PENDING &&
        (v.kind == PP_V_RESULTS || v.kind == PP_V_FAULTED || v.kind == PP_V_DONE))
        learn_end(c, j, r->started_at, hinted);
    int fd = (r->sink == PP_SINK_FILE) ? pp_req_take_fd(r) : -1;
    if (fd < 0 && !status && j->results_dir && v.kind == PP_V_RESULTS && !r->sink_errno) {
        /* an empty answer opened no file: its result file is empty */
        fd = pp_results_tmp_open(&c->jobs, j, &tmp);
        if (fd < 0)
            r->sink_errno = errno ? errno : EIO;
    }
    /* j->poll_req stays set while the state changes: the hook must not
     * start a download of a job this answer is finishing */
    pp_state now;
    if (r->sink_errno && !status)
        now = store_failed(c, j, r, fd, tmp);
    else
        now = pp_state_apply(&c->jobs, j, &v, &a, &r->resp, fd, &tmp);
    j->poll_req = NULL;
    if (v.object)
        json_decref(v.object);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    uint64_t started = r->started_at;
    pp_req_free(r);
    if (now == PP_PENDING) {
        if (hinted || confirm)
            j->lags++; /* a claim the service did not confirm */
        after_pending(c, j, started, v.kind);
    } else if (now == PP_DONE && was == PP_FETCHING) {
        /* the service said done but its results answer 204 (it lags
         * behind its callback) or the download failed: back off */
        arm(c, j, pp_now_ms() + (uint64_t)jittered(c, backoff_step(c, ++j->lags)),
            "said done, but its results are not downloadable yet: backing off");
    } else if (now == PP_DONE && c->poll.fetch && j->watched) {
        fire(c, j); /* a status answer said done */
    }
}

/* ---- reacting to published changes */

static void on_change(void *ud, pp_jobrec *j, pp_state from)
{
    pp_client *c = ud;
    if (j->state == PP_PENDING && from != PP_PENDING) {
        uint64_t now = pp_now_ms();
        /* a submission sets when it was sent: the service starts the job
         * then, a big batch's answer is read a while later */
        if (!j->pending_at || j->pending_at > now)
            j->pending_at = now;
        if (j->watched)
            pp_sched_first(c, j);
    } else if (j->state == PP_DONE && from == PP_PENDING) {
        disarm(c, j);
        if (c->poll.fetch && j->watched && !j->poll_req)
            fire(c, j);
    } else if (pp_state_is_final(j->state)) {
        disarm(c, j);
    }
}

int pp_sched_init(pp_client *c)
{
    return pp_jobtab_hook(&c->jobs, on_change, c);
}

void pp_sched_watch(pp_client *c, pp_jobrec *j)
{
    if (j->watched)
        return;
    j->watched = 1;
    if (j->poll_req)
        return;
    if (j->state == PP_PENDING)
        arm(c, j, pp_now_ms(), "watched from now");
    else if (j->state == PP_DONE && c->poll.fetch)
        fire(c, j);
}

static const char *claim_word(int claim)
{
    return claim == PP_V_DONE ? "done" : claim == PP_V_FAULTED ? "faulted" : "pending";
}

void pp_sched_hint(pp_client *c, pp_jobrec *j, int claim)
{
    const pp_debug *dbg = &c->tp.debug;
    if (j->state != PP_PENDING || claim == PP_V_PENDING) {
        PP_DEBUG(dbg, "callback for job %s (says %s): nothing to do, the job is %s", j->id,
                 claim_word(claim), pp_state_name(j->state));
        return;
    }
    uint64_t now = pp_now_ms();
    /* forged or repeated callbacks cost at most one check per backoff
     * step, and each check the service denies lengthens the step */
    long step = backoff_step(c, j->lags);
    if (j->hint_at && now < j->hint_at + (uint64_t)step) {
        PP_DEBUG(
            dbg,
            "callback for job %s (says %s): ignored, checked %ld ms ago (one check per %ld ms)",
            j->id, claim_word(claim), (long)(now - j->hint_at), step);
        return;
    }
    j->hint_at = now;
    if (claim == PP_V_FAULTED)
        j->confirm_fault = 1;
    if (j->poll_req) {
        j->recheck = 1;
        PP_DEBUG(dbg,
                 "callback for job %s (says %s): a poll is out, checking again when it answers",
                 j->id, claim_word(claim));
        return;
    }
    PP_DEBUG(dbg, "callback for job %s (says %s): checking now (%s)", j->id, claim_word(claim),
             claim == PP_V_FAULTED || !c->poll.fetch ? "a status request" : "the results download");
    disarm(c, j);
    j->hint_poll = 1;
    fire(c, j);
}

void pp_sched_forget(pp_client *c, pp_jobrec *j)
{
    if (c->probe == j->h)
        c->probe = 0;
    disarm(c, j);
}

void pp_sched_release_callbacks(pp_client *c, int kind)
{
    for (size_t i = 0; i < c->jobs.n; i++) {
        pp_jobrec *j = c->jobs.v[i];
        if (!j || j->cb_expected != kind)
            continue;
        j->cb_expected = PP_CB_NONE;
        if (j->state == PP_PENDING && j->watched && !j->poll_req)
            pp_sched_first(c, j);
    }
}
