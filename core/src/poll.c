/* The poll scheduler. Each watched job has one timer in the client's heap;
 * the first poll comes after the expected job time (a running median of
 * observed durations unless poll.first_ms fixes it), later ones follow an
 * interval that grows by `factor` and never falls below a share of the
 * job's age, with +-10% jitter, capped at max_ms. With poll.fetch the
 * results endpoint is polled: 204 = pending, 200 = done and downloaded in
 * the same request.
 *
 * Why these numbers: for job times spread like lognormal(median m, sigma
 * 0.6), polling first at m, then every max(m/2 * 1.5^k, 0.7 * age) costs
 * about 2 requests per job once m is learned and under 4 while m is still
 * being learned from a cold start (estimate 1 s), with a notice delay
 * around a third of the job time. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_SHARE 1.0      /* first poll at this share of the estimate */
#define INTERVAL_SHARE 0.5   /* the first interval, as share of the estimate */
#define AGE_SHARE 0.7        /* an interval is at least this share of the age */
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

long pp_poll_first_delay(const pp_poll_plan *p, double est_ms, double u)
{
    double base = p->first_ms > 0 ? (double)p->first_ms : est_ms * FIRST_SHARE;
    if (base < (double)p->min_ms)
        base = (double)p->min_ms;
    if (base > (double)FIRST_MAX_MS)
        base = (double)FIRST_MAX_MS;
    double v = base * (1.0 - JITTER + 2.0 * JITTER * u);
    return (long)(v + 0.5);
}

long pp_poll_initial_interval(const pp_poll_plan *p, double est_ms)
{
    double v = est_ms * INTERVAL_SHARE;
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

/* ---- the running estimate: median of the last PP_EST_WINDOW samples */

void pp_estimate_init(pp_estimate *e, double initial_ms)
{
    memset(e, 0, sizeof *e);
    e->initial = initial_ms;
    e->cached = initial_ms;
}

void pp_estimate_add(pp_estimate *e, double ms)
{
    if (ms < 0)
        ms = 0;
    e->samples[e->next] = ms;
    e->next = (e->next + 1) % PP_EST_WINDOW;
    if (e->n < PP_EST_WINDOW)
        e->n++;
    e->dirty = 1;
}

static double select_kth(double *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[(lo + hi) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return a[k];
}

double pp_estimate_get(pp_estimate *e)
{
    if (!e->n)
        return e->initial;
    if (e->dirty) {
        double tmp[PP_EST_WINDOW];
        memcpy(tmp, e->samples, e->n * sizeof *tmp);
        e->cached = select_kth(tmp, e->n, e->n / 2);
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

void pp_poll_schedule_first(pp_client *c, pp_jobrec *j)
{
    double est = c->poll.first_ms > 0 ? (double)c->poll.first_ms : pp_estimate_get(&c->est);
    long d = pp_poll_first_delay(&c->plan, est, pp_rand_unit(&c->rng));
    j->interval = pp_poll_initial_interval(&c->plan, est);
    j->last_poll_at = 0;
    j->bare_204s = 0;
    j->status_next = 0;
    pp_poll_start(c, j, j->pending_at + (uint64_t)d);
}

static void schedule_next(pp_client *c, pp_jobrec *j)
{
    uint64_t now = pp_now_ms();
    long iv = j->interval;
    if (iv <= 0)
        iv = c->plan.min_ms;
    double age = now > j->pending_at ? (double)(now - j->pending_at) : 0.0;
    long floor_iv = (long)(age * AGE_SHARE);
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
            /* told done (callback) but the service still says pending */
            if (j->state == PP_FETCHING)
                pp_job_transition(c, j, PP_DONE);
            pp_poll_start(c, j, pp_now_ms() + (uint64_t)c->plan.min_ms);
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
        if (pending && c->poll.first_ms <= 0) {
            uint64_t lo = j->last_poll_at ? j->last_poll_at : j->pending_at;
            double mid = ((double)lo + (double)r->started_at) / 2.0 - (double)j->pending_at;
            pp_estimate_add(&c->est, mid);
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

int pp_feed_callback(pp_client *c, const char *json, size_t len)
{
    if (!c || !json)
        return -1;
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
        json_decref(obj);
        return 1;
    }
    pp_job_apply_object(c, j, obj, 0);
    json_decref(obj);
    return 0;
}
