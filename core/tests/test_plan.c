/* The poll plan: its bounds, and a simulated service (seeded, no network)
 * on which the plan and the estimate run as the scheduler runs them,
 * side by side with a plain client that polls every pending job every
 * second. */
#include "plan.h"
#include "check.h"
#include "rng.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RTT_MS 2.0   /* one request's round trip */
#define LAG_MS 200.0 /* from sending a batch to its answer read: the job ids */
#define BATCH 2000

static const pp_plan_config DEFAULTS = {0, 200, 5000, 1.5};

/* ---- job times */

typedef enum { LOGNORMAL, UNIFORM, FIXED } law;

static void draw(double *out, int n, law kind, double a, double b, uint64_t *rng)
{
    for (int i = 0; i < n; i++) {
        if (kind == LOGNORMAL)
            out[i] = a * exp(b * rng_normal(rng));
        else if (kind == UNIFORM)
            out[i] = a + (b - a) * rng_unit(rng);
        else
            out[i] = a;
    }
}

/* ---- what a run shows */

typedef struct figures {
    double polls;          /* per job */
    double mean, p50, p90; /* notice delay, ms: the job's end to its results in hand */
    long max_interval;     /* the longest delay planned after a poll */
    double end;            /* when the last job was noticed */
} figures;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summarise(figures *f, double *delay, int n, long polls)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += delay[i];
    qsort(delay, (size_t)n, sizeof *delay, cmp_double);
    f->polls = (double)polls / n;
    f->mean = sum / n;
    f->p50 = delay[n / 2];
    f->p90 = delay[(n * 9) / 10];
}

/* The plain client: every pending job's results every second from the
 * batch answer on; the service answers at half the round trip. */
static figures fixed_poller(const double *dur, int n, double period)
{
    figures f = {0};
    double *delay = malloc((size_t)n * sizeof *delay);
    long polls = 0;
    for (int i = 0; i < n && delay; i++) {
        double k = ceil((dur[i] - LAG_MS - RTT_MS / 2) / period);
        if (k < 1)
            k = 1;
        polls += (long)k;
        delay[i] = LAG_MS + k * period + RTT_MS - dur[i];
    }
    if (delay)
        summarise(&f, delay, n, polls);
    free(delay);
    return f;
}

/* ---- the simulated scheduler: a heap of (time, job, kind) events */

typedef struct event {
    double t;
    int job;
    int answer;
} event;
typedef struct heap {
    event *v;
    int n;
} heap;

static void heap_push(heap *h, event e)
{
    int i = h->n++;
    while (i > 0 && h->v[(i - 1) / 2].t > e.t) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = e;
}

static event heap_pop(heap *h)
{
    event top = h->v[0], last = h->v[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1].t < h->v[c].t)
            c++;
        if (h->v[c].t >= last.t)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    h->v[i] = last;
    return top;
}

typedef struct simjob {
    pp_plan_job plan;
    double sent;     /* when the poll in flight was sent */
    double last_age; /* age of its last "pending" poll */
} simjob;

/* A batch of n jobs sent at t0 (ms, the estimator's clock), where the
 * jobs start; its answer comes LAG_MS later. Each job is planned when it
 * becomes pending (the answer) and after each 204, its age counted from
 * t0, exactly as the scheduler does; the estimate learns from every
 * answer. */
static figures pushpull(const pp_plan_config *cfg, pp_estimate *est, const double *dur, int n,
                        double t0, uint64_t *rng)
{
    figures f = {0};
    simjob *jobs = calloc((size_t)n, sizeof *jobs);
    double *delay = malloc((size_t)n * sizeof *delay);
    heap h = {malloc((size_t)n * sizeof(event)), 0};
    if (!jobs || !delay || !h.v)
        goto out;
    for (int i = 0; i < n; i++) {
        long d = pp_plan_next_delay(cfg, est, &jobs[i].plan, LAG_MS, rng_unit(rng));
        heap_push(&h, (event){t0 + LAG_MS + (double)d, i, 0});
    }
    long polls = 0;
    int left = n;
    while (left > 0) {
        event ev = heap_pop(&h);
        simjob *j = &jobs[ev.job];
        if (!ev.answer) {
            j->sent = ev.t;
            polls++;
            heap_push(&h, (event){ev.t + RTT_MS, ev.job, 1});
            continue;
        }
        double age = j->sent - t0, now = ev.t;
        double end = t0 + dur[ev.job];
        if (end <= j->sent + RTT_MS / 2) {
            pp_estimate_ended(est, j->last_age, age, (uint64_t)now);
            delay[ev.job] = now - end;
            left--;
            f.end = now;
            continue;
        }
        pp_estimate_pending(est, j->last_age, age, (uint64_t)now);
        j->last_age = age;
        long d = pp_plan_next_delay(cfg, est, &j->plan, now - t0, rng_unit(rng));
        if (j->plan.interval > f.max_interval)
            f.max_interval = j->plan.interval;
        CHECK(d >= cfg->min_ms);
        heap_push(&h, (event){now + (double)d, ev.job, 0});
    }
    double end = f.end;
    long max_iv = f.max_interval;
    summarise(&f, delay, n, polls);
    f.end = end;
    f.max_interval = max_iv;
out:
    free(jobs);
    free(delay);
    free(h.v);
    return f;
}

static void show(const char *label, const figures *f)
{
    printf("  %-34s %6.3f polls/job  delay mean %5.0f ms  p50 %5.0f  p90 %5.0f\n", label, f->polls,
           f->mean, f->p50, f->p90);
}

/* ---- the function on its own */

/* An estimate that has seen n exact times of lognormal(median, sigma). */
static void learn(pp_estimate *e, double median, double sigma, int n)
{
    uint64_t rng = 5;
    for (int i = 0; i < n; i++) {
        double t = median * exp(sigma * rng_normal(&rng));
        pp_estimate_pending(e, 0, t, 1000000);
        pp_estimate_ended(e, t, t, 1000000);
    }
}

static void units(void)
{
    pp_estimate est;
    pp_plan_job j;
    long prev;

    /* a cold client: the first poll before the prior median, then polls
     * about a second apart while jobs end, jitter within +-10% */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    memset(&j, 0, sizeof j);
    long d0 = pp_plan_next_delay(&DEFAULTS, &est, &j, 0, 0.5);
    CHECK(d0 > 1500 && d0 < 2500);
    CHECK_EQ_LONG(j.polls, 1);
    CHECK_EQ_LONG(j.interval, d0);
    pp_plan_job k = {0, 0, 0};
    CHECK(labs(pp_plan_next_delay(&DEFAULTS, &est, &k, 0, 0.0) - (long)(0.9 * d0)) <= 1);
    k = (pp_plan_job){0, 0, 0};
    CHECK(labs(pp_plan_next_delay(&DEFAULTS, &est, &k, 0, 0.999999) - (long)(1.1 * d0)) <= 1);
    long d1 = pp_plan_next_delay(&DEFAULTS, &est, &j, (double)d0, 0.5);
    CHECK(d1 > 600 && d1 < 1400);
    CHECK_EQ_LONG(j.polls, 2);

    /* a fixed first poll is kept; later ones follow the estimate */
    pp_plan_config fixed = DEFAULTS;
    fixed.first_ms = 750;
    memset(&j, 0, sizeof j);
    CHECK_EQ_LONG(pp_plan_next_delay(&fixed, &est, &j, 0, 0.5), 750);
    d1 = pp_plan_next_delay(&fixed, &est, &j, 750, 0.5);
    CHECK(d1 > 750 && d1 <= 5000);

    /* instant jobs learned: the first poll at min_ms; one still pending
     * then is past the tail, and backs off from there */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    learn(&est, 5, 0.3, 500);
    memset(&j, 0, sizeof j);
    CHECK_EQ_LONG(pp_plan_next_delay(&DEFAULTS, &est, &j, 0, 0.0), 200);
    prev = 200;
    for (int i = 0; i < 4; i++) {
        long d = pp_plan_next_delay(&DEFAULTS, &est, &j, 200.0 * (i + 1), 0.5);
        CHECK(d > prev && d >= 200);
        prev = d;
    }

    /* one-minute jobs learned: the first poll may wait past max_ms, later
     * ones not */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    learn(&est, 60000, 0.3, 500);
    memset(&j, 0, sizeof j);
    d0 = pp_plan_next_delay(&DEFAULTS, &est, &j, 0, 0.5);
    CHECK(d0 > 30000 && d0 < 60000);
    CHECK(pp_plan_next_delay(&DEFAULTS, &est, &j, (double)d0, 0.999999) <= 5000);

    /* past the estimate's tail (a 3 s law, a job of a minute and more)
     * intervals grow by factor up to max_ms */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    learn(&est, 3000, 0.6, 2000);
    j = (pp_plan_job){10, 1000, 60000};
    prev = 1000;
    double age = 60000;
    for (int i = 0; i < 8; i++) {
        long d = pp_plan_next_delay(&DEFAULTS, &est, &j, age, 0.5);
        CHECK(d == 5000 || labs(d - (long)(prev * 1.5)) <= 1);
        prev = d;
        age += (double)d;
    }
    CHECK_EQ_LONG(prev, 5000);

    /* nonsense in, sense out */
    memset(&j, 0, sizeof j);
    pp_plan_config odd = {0, 0, 0, 0.5};
    long d = pp_plan_next_delay(&odd, &est, &j, NAN, 0.5);
    CHECK(d >= 1 && d <= 600000);
    d = pp_plan_next_delay(&odd, &est, &j, -5, 0.5);
    CHECK(d >= 1);
}

/* One cold client, two batches of lognormal(3 s, 0.6) jobs, each against
 * the fixed 1 s poller on the same job times. */
static void lognormal_batches(uint64_t seed)
{
    uint64_t rng = seed;
    pp_estimate est;
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    double *dur = malloc(BATCH * sizeof *dur);
    if (!dur)
        return;
    double t0 = 1e6;
    for (int b = 0; b < 2; b++) {
        draw(dur, BATCH, LOGNORMAL, 3000, 0.6, &rng);
        figures p = pushpull(&DEFAULTS, &est, dur, BATCH, t0, &rng);
        figures q = fixed_poller(dur, BATCH, 1000);
        printf(
            "lognormal(3 s, 0.6), %d jobs, %s client (seed %llu): fit median %.0f ms, sigma %.2f\n",
            BATCH, b ? "warm" : "cold", (unsigned long long)seed, pp_estimate_median(&est),
            pp_estimate_spread(&est));
        show("pushpull", &p);
        show("fixed 1 s poller", &q);
        CHECK(p.polls < q.polls);
        CHECK(p.mean < q.mean);
        t0 = p.end + 5000;
    }
    free(dur);
}

/* Batch b of uniform(lo, hi) jobs on the estimate e, against the fixed
 * 1 s poller. */
static void uniform_batch(pp_estimate *e, double *dur, double lo, double hi, int b, uint64_t *rng,
                          figures *p, figures *q)
{
    draw(dur, BATCH, UNIFORM, lo, hi, rng);
    *p = pushpull(&DEFAULTS, e, dur, BATCH, 1e6 + b * 1e5, rng);
    *q = fixed_poller(dur, BATCH, 1000);
    printf("uniform %.0f-%.0f s, batch %d: fit median %.0f ms\n", lo / 1000, hi / 1000, b + 1,
           pp_estimate_median(e));
    show("pushpull", p);
    show("fixed 1 s poller", q);
}

static void other_laws(void)
{
    uint64_t rng = 7;
    static double dur[BATCH];
    pp_estimate est;

    /* instant jobs: one request each, cold or not */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    for (int b = 0; b < 2; b++) {
        draw(dur, BATCH, FIXED, 1, 0, &rng);
        figures p = pushpull(&DEFAULTS, &est, dur, BATCH, 1e6 + b * 1e5, &rng);
        printf("instant jobs, batch %d:\n", b + 1);
        show("pushpull", &p);
        CHECK(p.polls <= 1.2);
    }

    figures p, q;
    /* uniform 5-15 s: fewer requests than polling every second, a delay
     * within 15% of the mean job */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    for (int b = 0; b < 2; b++) {
        uniform_batch(&est, dur, 5000, 15000, b, &rng, &p, &q);
        CHECK(p.polls < q.polls);
        CHECK(p.mean < 1500);
    }
    /* uniform 1-5 s: about as many requests, a shorter delay */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    for (int b = 0; b < 2; b++) {
        uniform_batch(&est, dur, 1000, 5000, b, &rng, &p, &q);
        CHECK(p.polls < q.polls * 1.05);
        CHECK(p.mean < q.mean);
    }

    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    draw(dur, 200, UNIFORM, 570000, 630000, &rng);
    p = pushpull(&DEFAULTS, &est, dur, 200, 1e6, &rng);
    printf("10-minute jobs, cold: max interval %ld ms\n", p.max_interval);
    show("pushpull", &p);
    CHECK(p.max_interval == DEFAULTS.max_ms);
    CHECK(p.polls < 630000.0 / DEFAULTS.max_ms + 10);

    /* a warm client meets a job 100 times longer than its usual ones */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    draw(dur, BATCH, LOGNORMAL, 3000, 0.6, &rng);
    (void)pushpull(&DEFAULTS, &est, dur, BATCH, 1e6, &rng);
    dur[0] = 300000;
    p = pushpull(&DEFAULTS, &est, dur, 1, 2e6, &rng);
    printf("a 5-minute job after lognormal(3 s) ones: max interval %ld ms\n", p.max_interval);
    show("pushpull", &p);
    CHECK(p.max_interval == DEFAULTS.max_ms);

    /* one job alone, cold */
    pp_estimate_reset(&est, PP_ESTIMATE_PRIOR_MS);
    dur[0] = 4000;
    p = pushpull(&DEFAULTS, &est, dur, 1, 1e6, &rng);
    printf("one 4 s job alone, cold:\n");
    show("pushpull", &p);
    CHECK(p.polls <= 5 && p.mean < 1500);
}

int main(void)
{
    units();
    lognormal_batches(1);
    lognormal_batches(2);
    lognormal_batches(3);
    other_laws();
    DONE();
}
