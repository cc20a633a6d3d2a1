/* The poll scheduler: first delay, growth, caps, jitter bounds, the
 * running estimate, and timers armed through a client. */
#include "client.h"
#include "check.h"

#include <math.h>
#include <string.h>

int main(void)
{
    pp_poll_plan p = {0, 200, 5000, 1.5};

    /* jitter: within +-10%, never outside [min, max] */
    uint64_t rng = 99;
    long lo = 1 << 30, hi = 0;
    for (int i = 0; i < 5000; i++) {
        long v = pp_poll_jitter(&p, 1000, pp_rand_unit(&rng));
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    CHECK(lo >= 900 && hi <= 1100);
    CHECK(lo < 920 && hi > 1080);
    CHECK_EQ_LONG(pp_poll_jitter(&p, 100, 0.0), 200);     /* min */
    CHECK_EQ_LONG(pp_poll_jitter(&p, 9000, 0.99), 5000);  /* cap */
    CHECK_EQ_LONG(pp_poll_jitter(&p, 5000, 0.99), 5000);

    /* growth by factor up to the cap */
    long iv = 200;
    long seen[16];
    for (int i = 0; i < 16; i++) {
        seen[i] = iv;
        iv = pp_poll_next_interval(&p, iv);
    }
    CHECK_EQ_LONG(seen[0], 200);
    CHECK_EQ_LONG(seen[1], 300);
    CHECK_EQ_LONG(seen[2], 450);
    CHECK_EQ_LONG(seen[3], 675);
    CHECK_EQ_LONG(seen[15], 5000);
    for (int i = 1; i < 16; i++)
        CHECK(seen[i] >= seen[i - 1] && seen[i] <= 5000);

    /* first delay: follows the estimate (adaptive), +-10%, floor min */
    CHECK(pp_poll_first_delay(&p, 3000, 0.0) == 2700);
    CHECK(pp_poll_first_delay(&p, 3000, 0.5) == 3000);
    CHECK(pp_poll_first_delay(&p, 3000, 0.999999) <= 3300);
    CHECK(pp_poll_first_delay(&p, 10, 0.5) == 200);
    CHECK(pp_poll_first_delay(&p, 1e9, 0.5) == 600000);
    pp_poll_plan fixed = {750, 200, 5000, 1.5};
    CHECK(pp_poll_first_delay(&fixed, 3000, 0.5) == 750);
    CHECK_EQ_LONG(pp_poll_initial_interval(&p, 1500), 1500);
    CHECK_EQ_LONG(pp_poll_initial_interval(&p, 100), 200);
    CHECK_EQ_LONG(pp_poll_initial_interval(&p, 60000), 5000);

    /* the running estimate: starts at its initial value, then the median
     * of what was seen, so one outlier does not move it */
    pp_estimate e;
    pp_estimate_init(&e, 1000);
    CHECK(pp_estimate_get(&e) == 1000);
    uint64_t t = 1000000;
    for (int i = 0; i < 9; i++)
        pp_estimate_add(&e, 3000 + i, t);
    pp_estimate_add(&e, 1e7, t);
    double m = pp_estimate_get(&e);
    CHECK(m >= 3000 * 0.87 && m <= 3000 * 1.15);
    /* the order in which jobs end does not bias it: the long ones of a
     * batch come last */
    pp_estimate_init(&e, 1000);
    for (int i = 1; i <= 999; i++)
        pp_estimate_add(&e, 10.0 * i, t + (uint64_t)i * 10);
    m = pp_estimate_get(&e);
    CHECK(m >= 5000 * 0.87 && m <= 5000 * 1.15);
    /* and it follows a change over time (half-life of minutes) */
    for (int i = 0; i < 1000; i++)
        pp_estimate_add(&e, 400, t + 3600000);
    m = pp_estimate_get(&e);
    CHECK(m >= 400 * 0.87 && m <= 400 * 1.15);
    pp_estimate_add(&e, -5, t + 3600000);
    CHECK(pp_estimate_get(&e) > 300);

    /* expected requests per job for lognormal(3 s, 0.6), once learned:
     * simulate the schedule the client uses */
    {
        uint64_t r2 = 1234;
        double total = 0;
        int n = 4000;
        for (int i = 0; i < n; i++) {
            double u1 = pp_rand_unit(&r2) + 1e-12, u2 = pp_rand_unit(&r2);
            double z = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
            double T = 3000 * exp(0.6 * z);
            double t = (double)pp_poll_first_delay(&p, 3000 * 0.8, pp_rand_unit(&r2));
            long ivl = pp_poll_initial_interval(&p, 3000 * 0.3);
            int k = 1;
            while (t < T && k < 1000) {
                long use = ivl > (long)(t * 0.5) ? ivl : (long)(t * 0.5);
                t += (double)pp_poll_jitter(&p, use, pp_rand_unit(&r2));
                ivl = pp_poll_next_interval(&p, ivl);
                k++;
            }
            total += k;
        }
        CHECK(total / n < 2.6);
    }

    /* through a client: an attached, watched job gets one timer, due now */
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL, 0);
    CHECK(c != NULL);
    pp_job h = pp_attach(c, "1234567890123456789");
    CHECK(h > 0);
    CHECK(pp_timeout_ms(c) == -1);
    CHECK(pp_watch(c, h) == 0);
    CHECK(pp_watch(c, h) == 0);
    CHECK_EQ_LONG(c->heap.n, 1);
    CHECK(pp_timeout_ms(c) == 0);
    CHECK(pp_busy(c) == 1);
    /* a submitted job's first poll follows the estimate */
    pp_jobrec *j = pp_job_create(c);
    j->state = PP_PENDING;
    j->pending_at = pp_now_ms();
    pp_poll_schedule_first(c, j);
    CHECK(j->timer.due >= j->pending_at + 900 && j->timer.due <= j->pending_at + 1100);
    CHECK_EQ_LONG(j->interval, 500);
    CHECK(j->age_share == 0.7);
    /* with enough observations the schedule tightens around them */
    for (int i = 0; i < 20; i++)
        pp_estimate_add(&c->est, 3000, pp_now_ms());
    pp_poll_schedule_first(c, j);
    CHECK(j->timer.due >= j->pending_at + 2000 && j->timer.due <= j->pending_at + 2900);
    CHECK(j->interval >= 700 && j->interval <= 1100);
    CHECK(j->age_share == 0.5);
    CHECK_EQ_LONG(c->heap.n, 2);
    /* a callback saying done makes the poll unnecessary: the timer goes,
     * the results download starts */
    pp_job_set_id(c, j, "42");
    const char *cb = "{\"id\":\"42\",\"status\":\"done\"}";
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0);
    CHECK(j->timer.idx == PP_NOT_QUEUED);
    CHECK(j->state == PP_FETCHING);
    CHECK(j->poll_req != NULL && j->poll_req->kind == PP_RK_POLL);
    CHECK(j->poll_req && strstr(j->poll_req->url, "/v1/queries/42/results") != NULL);
    pp_client_free(c);
    DONE();
}
