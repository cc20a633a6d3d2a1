/* The poll scheduler. Each watched job has one timer in the client's heap;
 * the first poll comes after the expected job time (a running median of
 * observed durations unless poll.first_ms fixes it), later ones follow an
 * interval that grows by `factor` and never falls below a share of the
 * job's age, with +-10% jitter, capped at max_ms. With poll.fetch the
 * results endpoint is polled: 204 = pending, 200 = done and downloaded in
 * the same request.
 *
 * Why these numbers (simulated, and measured against the emulator): for
 * job times spread like lognormal(median m, sigma 0.6), a cold client
 * (estimate 1 s) polls first at the estimate, then every
 * max(est/2 * 1.5^k, 0.7 * age): about 3.5 requests per job for m = 3 s,
 * under the budget of 4, while it learns m. Once the estimate rests on
 * enough observations, first at 0.8 m, then max(0.3 m * 1.5^k, 0.5 * age):
 * about 2.2 requests per job and a mean notice delay near 1 s. Instant
 * jobs cost one request each. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shares of the estimate: while it rests on few observations (a cold
 * start, where the 1 s default may be far off) the schedule backs off
 * faster; once learned it polls closer to the expected end. */
typedef struct shares { double first, interval, age; } shares;
static const shares COLD = {1.0, 0.5, 0.7};
static const shares WARM = {0.8, 0.3, 0.5};
#define WARM_SAMPLES 16.0
#define JITTER 0.1           /* +-10% */
#define BARE_204_LIMIT 3     /* then alternate with status GETs */
#define FIRST_MAX_MS 600000L

/* ---- arithmetic */

long pp_poll_jitter(const pp_poll_plan *p, long interval, double u)
{
    double v = (double)interval * (1.0 - JITTER + 2.0 * JITTER * u);
    long r = (long)(v + 0.5);
    if (r > p->max_ms)
        r = p->max_ms;
    if (r < p->min_ms)
        r = p->min_ms;
    return r;
}

long pp_poll_first_delay(const pp_poll_plan *p, double target_ms, double u)
{
    double base = p->first_ms > 0 ? (double)p->first_ms : target_ms;
    if (base < (double)p->min_ms)
        base = (double)p->min_ms;
    if (base > (double)FIRST_MAX_MS)
        base = (double)FIRST_MAX_MS;
    double v = base * (1.0 - JITTER + 2.0 * JITTER * u);
    return (long)(v + 0.5);
}

long pp_poll_initial_interval(const pp_poll_plan *p, double target_ms)
{
    double v = target_ms;
    if (v < (double)p->min_ms)
        v = (double)p->min_ms;
    if (v > (double)p->max_ms)
        v = (double)p->max_ms;
    return (long)v;
}

long pp_poll_next_interval(const pp_poll_plan *p, long interval)
{
    double v = (double)interval * p->factor;
    if (v > (double)p->max_ms)
        v = (double)p->max_ms;
    if (v < (double)p->min_ms)
        v = (double)p->min_ms;
    return (long)v;
}

/* ---- the running estimate: a fading log-scale histogram */

#define EST_BASE_MS 20.0
#define EST_STEP 1.15        /* bucket k covers [20 * 1.15^k, 20 * 1.15^(k+1)) ms */

void pp_estimate_init(pp_estimate *e, double initial_ms)
{
    memset(e, 0, sizeof *e);
    e->initial = initial_ms;
    e->cached = initial_ms;
}

void pp_estimate_add(pp_estimate *e, double ms, uint64_t now_ms)
{
    if (!(ms >= 0))
        ms = 0;
    if (e->total > 0 && now_ms > e->last_ms) {
        double f = exp2(-(double)(now_ms - e->last_ms) / PP_EST_HALF_LIFE_MS);
        if (f < 0.999999) {
            for (int k = 0; k < PP_EST_BUCKETS; k++)
                e->count[k] *= f;
            e->total *= f;
        }
    }
    if (now_ms > e->last_ms)
        e->last_ms = now_ms;
    int k = ms <= EST_BASE_MS ? 0 : (int)(log(ms / EST_BASE_MS) / log(EST_STEP));
    if (k >= PP_EST_BUCKETS)
        k = PP_EST_BUCKETS - 1;
    e->count[k] += 1.0;
    e->total += 1.0;
    e->dirty = 1;
}

double pp_estimate_get(pp_estimate *e)
{
    if (e->total <= 0)
        return e->initial;
    if (e->dirty) {
        double half = e->total / 2.0, acc = 0;
        int k = 0;
        for (; k < PP_EST_BUCKETS - 1; k++) {
            if (acc + e->count[k] >= half)
                break;
            acc += e->count[k];
        }
        /* interpolate inside the bucket on the log scale */
        double frac = e->count[k] > 0 ? (half - acc) / e->count[k] : 0.5;
        if (frac < 0)
            frac = 0;
        if (frac > 1)
            frac = 1;
        e->cached = EST_BASE_MS * pow(EST_STEP, (double)k + frac);
        e->dirty = 0;
    }
    return e->cached;
}

/* ---- scheduling */

void pp_poll_start(pp_client *c, pp_jobrec *j, uint64_t due)
{
    if (pp_heap_set(&c->heap, &j->timer, due) < 0) {
        /* no memory for the heap slot: the job stays as it is; a later
         * drive call or refresh can move it on */
        return;
    }
}

void pp_poll_stop(pp_client *c, pp_jobrec *j)
{
    pp_heap_remove(&c->heap, &j->timer);
}

/* A job whose callback is coming is polled only as a safety net: first
 * after the safety delay of where its callback comes in (the listener, or
 * the URL of pp_expect_callbacks), then every half of it (no max_ms cap:
 * these polls only catch lost callbacks). */
static int schedule_safety(pp_client *c, pp_jobrec *j, uint64_t from)
{
    if (!j->cb_expected)
        return 0;
    double est = c->poll.first_ms > 0 ? (double)c->poll.first_ms : pp_estimate_get(&c->est);
    long s = pp_callback_safety_ms(c, j->cb_expected, est);
    if (s < 0) {
        j->cb_expected = PP_CB_NONE;    /* the listener or the URL is gone */
        return 0;
    }
    double u = pp_rand_unit(&c->rng);
    long d = (long)((double)s * (1.0 - JITTER + 2.0 * JITTER * u) + 0.5);
    j->interval = s / 2 > c->plan.min_ms ? s / 2 : c->plan.min_ms;
    pp_poll_start(c, j, from + (uint64_t)d);
    return 1;
}

void pp_poll_schedule_first(pp_client *c, pp_jobrec *j)
{
    j->last_poll_at = 0;
    j->bare_204s = 0;
    j->status_next = 0;
    if (schedule_safety(c, j, j->pending_at))
        return;
    int fixed = c->poll.first_ms > 0;
    const shares *sh = (fixed || c->est.total >= WARM_SAMPLES) ? &WARM : &COLD;
    double est = fixed ? (double)c->poll.first_ms : pp_estimate_get(&c->est);
    long d = pp_poll_first_delay(&c->plan, est * sh->first, pp_rand_unit(&c->rng));
    j->interval = pp_poll_initial_interval(&c->plan, est * sh->interval);
    j->age_share = sh->age;
    pp_poll_start(c, j, j->pending_at + (uint64_t)d);
}

static void schedule_next(pp_client *c, pp_jobrec *j)
{
    uint64_t now = pp_now_ms();
    if (j->cb_expected && pp_callback_safety_ms(c, j->cb_expected, 0) >= 0) {
        double u = pp_rand_unit(&c->rng);
        long d = (long)((double)j->interval * (1.0 - JITTER + 2.0 * JITTER * u) + 0.5);
        pp_poll_start(c, j, now + (uint64_t)d);
        return;
    }
    long iv = j->interval;
    if (iv <= 0)
        iv = c->plan.min_ms;
    double age = now > j->pending_at ? (double)(now - j->pending_at) : 0.0;
    long floor_iv = (long)(age * (j->age_share > 0 ? j->age_share : WARM.age));
    long use = iv > floor_iv ? iv : floor_iv;
    long d = pp_poll_jitter(&c->plan, use, pp_rand_unit(&c->rng));
    j->interval = pp_poll_next_interval(&c->plan, iv);
    pp_poll_start(c, j, now + (uint64_t)d);
}

static pp_req *make_poll_req(pp_client *c, pp_jobrec *j, int status)
{
    char path[160];
    if (!j->id || strlen(j->id) > 100)
        return NULL;
    snprintf(path, sizeof path, status ? "/v1/queries/%s" : "/v1/queries/%s/results", j->id);
    pp_req *r = pp_req_new(c, status ? PP_RK_STATUS : PP_RK_POLL, "GET", path, NULL, 0);
    if (!r)
        return NULL;
    if (!status && j->results_path && pp_req_set_path_sink(r, j->results_path) < 0) {
        pp_req_free(r);
        return NULL;
    }
    r->job = j->h;
    return r;
}

void pp_poll_fire(pp_client *c, pp_jobrec *j)
{
    if (j->poll_req)
        return;
    if (j->state == PP_DONE && c->poll.fetch) {
        pp_poll_fetch_now(c, j);
        return;
    }
    if (j->state != PP_PENDING)
        return;
    int status = !c->poll.fetch || j->status_next;
    j->status_next = 0;
    pp_req *r = make_poll_req(c, j, status);
    if (!r) {
        pp_poll_start(c, j, pp_now_ms() + (uint64_t)c->plan.max_ms);
        return;
    }
    j->poll_req = r;
    pp_engine_enqueue(c, r);
}

void pp_poll_fetch_now(pp_client *c, pp_jobrec *j)
{
    if (j->poll_req || j->state != PP_DONE)
        return;
    pp_poll_stop(c, j);
    pp_req *r = make_poll_req(c, j, 0);
    if (!r) {
        pp_poll_start(c, j, pp_now_ms() + (uint64_t)c->plan.max_ms);
        return;
    }
    r->high = 1;
    j->poll_req = r;
    pp_job_transition(c, j, PP_FETCHING);
    pp_engine_enqueue(c, r);
}

int pp_results_all_faulted(json_t *root)
{
    json_t *res = json_is_object(root) ? json_object_get(root, "results") : NULL;
    if (!json_is_array(res) || json_array_size(res) == 0)
        return 0;
    size_t i;
    json_t *item;
    json_array_foreach(res, i, item) {
        json_t *sc = json_object_get(item, "status_code");
        if (!json_is_integer(sc) || json_integer_value(sc) != 613)
            return 0;
    }
    return 1;
}

static void set_faulted(pp_client *c, pp_jobrec *j)
{
    pp_err_set(&j->err, "job faulted", 0, j->info, j->info ? j->info_len : 0);
    pp_job_transition(c, j, PP_FAULTED);
}

void pp_job_apply_object(pp_client *c, pp_jobrec *j, json_t *obj, int from_poll)
{
    if (pp_state_is_final(j->state))
        return;
    (void)pp_job_store_info(c, j, obj);
    const char *st = pp_json_str(obj, "status");
    if (!st)
        return;
    if (!strcmp(st, "faulted")) {
        if (j->state == PP_PENDING || j->state == PP_DONE || j->state == PP_FETCHING)
            set_faulted(c, j);
        return;
    }
    if (strcmp(st, "done") != 0)
        return;
    if (j->state == PP_PENDING) {
        pp_poll_stop(c, j);
        pp_job_transition(c, j, PP_DONE);
    }
    /* a callback fetches at once; a poll or refresh only for a watched job */
    if (j->state == PP_DONE && c->poll.fetch && (j->watched || !from_poll))
        pp_poll_fetch_now(c, j);
}

static void keep_results(pp_jobrec *j, pp_req *r)
{
    if (r->path) {
        j->results_in_file = 1;
        pp_buf_free(&j->results);
    } else {
        j->results_in_file = 0;
        pp_buf_move(&j->results, &r->resp);
    }
}

static int answer_faulted(pp_req *r)
{
    if (r->jobhdr == PP_HDR_FAULTED)
        return 1;
    /* A service that says the job is done is believed: only an answer
     * without that header is read back (a whole results file, possibly
     * megabytes) to look for the 613 of a faulted job. */
    if (r->jobhdr == PP_HDR_DONE)
        return 0;
    json_t *root = NULL;
    if (r->path)
        root = json_load_file(r->path, 0, NULL);
    else if (r->resp.data)
        root = json_loadb(r->resp.data, r->resp.len, 0, NULL);
    int f = root ? pp_results_all_faulted(root) : 0;
    if (root)
        json_decref(root);
    return f;
}

static void on_results(pp_client *c, pp_jobrec *j, pp_req *r)
{
    int pending = j->state == PP_PENDING;
    if (r->code != CURLE_OK) {
        pp_err_set(&j->err, r->errbuf, 0, NULL, 0);
        goto again;
    }
    if (r->status == 404) {
        pp_err_from_http(&j->err, 404, r->resp.data, r->resp.len);
        pp_job_transition(c, j, PP_EXPIRED);
        return;
    }
    if (r->status == 204) {
        if (r->jobhdr == PP_HDR_FAULTED) {
            set_faulted(c, j);
            return;
        }
        if (r->jobhdr == PP_HDR_DONE) {
            pp_err_set(&j->err, "results no longer available", 204, NULL, 0);
            pp_job_transition(c, j, PP_EXPIRED);
            return;
        }
        if (!pending) {
            /* A download of a done job answered 204: the service lags
             * behind its callback; try again shortly. (A poll that was out
             * when the callback came is followed by a download at once.) */
            if (j->state == PP_FETCHING) {
                pp_job_transition(c, j, PP_DONE);
                pp_poll_start(c, j, pp_now_ms() + (uint64_t)c->plan.min_ms);
            }
            return;
        }
        j->last_poll_at = r->started_at;
        if (r->jobhdr == PP_HDR_NONE) {
            if (++j->bare_204s >= BARE_204_LIMIT)
                j->status_next = 1;
        } else {
            j->bare_204s = 0;
        }
        schedule_next(c, j);
        return;
    }
    if (r->status == 200) {
        /* (a safety-net poll of a lost callback says little about job times) */
        if (pending && c->poll.first_ms <= 0 && !j->cb_expected) {
            uint64_t lo = j->last_poll_at ? j->last_poll_at : j->pending_at;
            double mid = ((double)lo + (double)r->started_at) / 2.0 - (double)j->pending_at;
            pp_estimate_add(&c->est, mid, r->started_at);
        }
        if (answer_faulted(r)) {
            keep_results(j, r);
            set_faulted(c, j);
            return;
        }
        keep_results(j, r);
        if (j->state == PP_PENDING)
            pp_job_transition(c, j, PP_DONE);
        pp_job_transition(c, j, PP_FETCHED);
        return;
    }
    /* any other answer: remember it, keep trying at a slower pace */
    pp_err_from_http(&j->err, r->status, r->resp.data, r->resp.len);
    j->interval = c->plan.max_ms;
again:
    if (j->state == PP_FETCHING) {
        pp_job_transition(c, j, PP_DONE);
        pp_poll_start(c, j, pp_now_ms() + (uint64_t)j->interval);
    } else if (j->state == PP_PENDING) {
        schedule_next(c, j);
    }
}

static void on_status(pp_client *c, pp_jobrec *j, pp_req *r)
{
    if (r->code == CURLE_OK && r->status == 404) {
        pp_err_from_http(&j->err, 404, r->resp.data, r->resp.len);
        pp_job_transition(c, j, PP_EXPIRED);
        return;
    }
    if (r->code == CURLE_OK && r->status == 200) {
        json_t *obj = json_loadb(r->resp.data ? r->resp.data : "", r->resp.len, 0, NULL);
        if (json_is_object(obj))
            pp_job_apply_object(c, j, obj, 1);
        if (obj)
            json_decref(obj);
    } else if (r->code != CURLE_OK) {
        pp_err_set(&j->err, r->errbuf, 0, NULL, 0);
    } else {
        pp_err_from_http(&j->err, r->status, r->resp.data, r->resp.len);
    }
    if (j->state == PP_PENDING)
        schedule_next(c, j);
}

void pp_poll_on_answer(pp_client *c, pp_req *r)
{
    pp_jobrec *j = pp_job_get(c, r->job);
    if (!j || j->poll_req != r) {
        pp_req_free(r);
        return;
    }
    j->poll_req = NULL;
    if (!pp_state_is_final(j->state)) {
        if (r->kind == PP_RK_STATUS)
            on_status(c, j, r);
        else
            on_results(c, j, r);
    }
    pp_req_free(r);
    /* a callback may have said done while this poll was out */
    if (j->state == PP_DONE && c->poll.fetch && !j->poll_req &&
        j->timer.idx == PP_NOT_QUEUED)
        pp_poll_fetch_now(c, j);
}

/* ---- callbacks */

/* A job can end before the answer to its submission arrives (a large batch
 * answer takes a while): while submissions are out, callbacks for unknown
 * ids are kept, up to EARLY_MAX, and applied when the id shows up. */
#define EARLY_MAX 4096

static int remember_early(pp_client *c, const char *id, json_t *obj)
{
    if (!c->submits_inflight) {
        if (c->early)
            json_object_clear(c->early);
        return 0;
    }
    if (!c->early && !(c->early = json_object()))
        return 0;
    if (json_object_size(c->early) >= EARLY_MAX)
        json_object_clear(c->early);
    return json_object_set(c->early, id, obj) == 0;
}

int pp_early_callback_take(pp_client *c, pp_jobrec *j)
{
    if (!c->early || !j->id || !json_object_size(c->early))
        return 0;
    json_t *obj = json_object_get(c->early, j->id);
    if (!obj)
        return 0;
    json_incref(obj);
    json_object_del(c->early, j->id);
    pp_job_apply_object(c, j, obj, 0);
    json_decref(obj);
    return 1;
}

int pp_feed_callback(pp_client *c, const char *json, size_t len)
{
    if (!c || !json)
        return -1;
    int rc = pp_callback_apply(c, json, len);
    return rc > 0 ? 1 : rc;
}

int pp_callback_apply(pp_client *c, const char *json, size_t len)
{
    json_t *obj = json_loadb(json, len, 0, NULL);
    if (!json_is_object(obj)) {
        if (obj)
            json_decref(obj);
        return -1;
    }
    char buf[32];
    const char *id = pp_json_id(obj, buf, sizeof buf);
    if (!id || !pp_json_str(obj, "status")) {
        json_decref(obj);
        return -1;
    }
    pp_jobrec *j = pp_job_find_id(c, id);
    if (!j) {
        int kept = remember_early(c, id, obj);
        json_decref(obj);
        return kept ? 1 : 2;
    }
    if (j->state == PP_PENDING && c->poll.first_ms <= 0) {
        /* a callback tells the job time better than any poll */
        uint64_t now = pp_now_ms();
        if (now > j->pending_at)
            pp_estimate_add(&c->est, (double)(now - j->pending_at), now);
    }
    pp_job_apply_object(c, j, obj, 0);
    json_decref(obj);
    return 0;
}
