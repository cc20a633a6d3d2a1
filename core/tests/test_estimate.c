/* The job-time estimate: the prior, exact and interval-censored times,
 * jobs still pending (survivorship), jobs done by their first poll,
 * fading, bad input. */
#include "estimate.h"
#include "check.h"
#include "rng.h"

#include <math.h>
#include <stdint.h>

static double lognormal(uint64_t *s, double median, double sigma)
{
    return median * exp(sigma * rng_normal(s));
}

static int near(double v, double want, double share)
{
    return fabs(v - want) <= share * want;
}

int main(void)
{
    uint64_t rng = 42;
    const uint64_t now = 1000000;
    pp_estimate e;

    /* nothing seen: the prior median, a cumulative hazard that starts at
     * 0 and grows */
    pp_estimate_reset(&e, 3000);
    CHECK(near(pp_estimate_median(&e), 3000, 1e-9));
    CHECK(pp_estimate_cumhaz(&e, 0) == 0);
    CHECK(pp_estimate_cumhaz(&e, 1000) < pp_estimate_cumhaz(&e, 3000));
    CHECK(near(pp_estimate_cumhaz(&e, 3000), log(2.0), 1e-6));
    CHECK(pp_estimate_cumhaz(&e, 1e9) > 100 && isfinite(pp_estimate_cumhaz(&e, 1e9)));
    CHECK(pp_estimate_jobs(&e) == 0);

    /* exact times (callbacks): the median and spread of the law */
    for (int i = 0; i < 2000; i++) {
        double t = lognormal(&rng, 3000, 0.6);
        pp_estimate_pending(&e, 0, t, now);
        pp_estimate_ended(&e, t, t, now);
    }
    printf("exact times: median %.0f sigma %.3f\n", pp_estimate_median(&e), pp_estimate_spread(&e));
    CHECK(near(pp_estimate_median(&e), 3000, 0.05));
    CHECK(near(pp_estimate_spread(&e), 0.6, 0.08));
    CHECK(near(pp_estimate_jobs(&e), 2000, 1e-6));

    /* polls every second: each end known only within (last 204, 200] */
    pp_estimate_reset(&e, 1000);
    for (int i = 0; i < 2000; i++) {
        double t = lognormal(&rng, 8000, 0.4), at = 0;
        for (;; at += 1000) {
            if (t <= at + 1000) {
                pp_estimate_ended(&e, at, at + 1000, now);
                break;
            }
            pp_estimate_pending(&e, at, at + 1000, now);
        }
    }
    printf("1 s polls: median %.0f sigma %.3f\n", pp_estimate_median(&e), pp_estimate_spread(&e));
    CHECK(near(pp_estimate_median(&e), 8000, 0.05));
    CHECK(near(pp_estimate_spread(&e), 0.4, 0.1));

    /* survivorship: a batch seen at its median age. Half its jobs have
     * ended, all of them short; the others are pending. The ended ones
     * alone say about 1.9 s; with the pending ones the estimate finds the
     * law's median. */
    pp_estimate_reset(&e, 1000);
    double ended_sum = 0;
    int ended_n = 0;
    for (int i = 0; i < 2000; i++) {
        double t = lognormal(&rng, 3000, 0.6);
        if (t <= 3000) {
            pp_estimate_pending(&e, 0, t, now);
            pp_estimate_ended(&e, t, t, now);
            ended_sum += log(t);
            ended_n++;
        } else {
            pp_estimate_pending(&e, 0, 3000, now);
        }
    }
    printf("half a batch: median %.0f (median of the ended ones alone %.0f)\n",
           pp_estimate_median(&e), exp(ended_sum / ended_n));
    CHECK(near(pp_estimate_median(&e), 3000, 0.08));
    CHECK(exp(ended_sum / ended_n) < 2200);

    /* first polls only (current status): done or not at ages spread
     * between 0.5 s and 8 s */
    pp_estimate_reset(&e, 1000);
    for (int i = 0; i < 4000; i++) {
        double t = lognormal(&rng, 3000, 0.6), at = 500 + 7500 * rng_unit(&rng);
        if (t <= at)
            pp_estimate_ended(&e, 0, at, now);
        else
            pp_estimate_pending(&e, 0, at, now);
    }
    printf("current status: median %.0f sigma %.3f\n", pp_estimate_median(&e),
           pp_estimate_spread(&e));
    CHECK(near(pp_estimate_median(&e), 3000, 0.08));
    CHECK(near(pp_estimate_spread(&e), 0.6, 0.15));

    /* instant jobs, all found done by a first poll at 1.7 s: the estimate
     * says "well before", so the next first poll comes much earlier */
    pp_estimate_reset(&e, 3000);
    for (int i = 0; i < 2000; i++)
        pp_estimate_ended(&e, 0, 1700, now);
    printf("all done by 1.7 s: median %.0f\n", pp_estimate_median(&e));
    CHECK(pp_estimate_median(&e) < 700);
    CHECK(pp_estimate_cumhaz(&e, 1700) > 5);

    /* the table fades: an hour later, 400 ms jobs are what counts */
    pp_estimate_reset(&e, 1000);
    for (int i = 0; i < 1000; i++) {
        double t = lognormal(&rng, 5000, 0.5);
        pp_estimate_pending(&e, 0, t, now);
        pp_estimate_ended(&e, t, t, now);
    }
    CHECK(near(pp_estimate_median(&e), 5000, 0.1));
    for (int i = 0; i < 1000; i++) {
        double t = lognormal(&rng, 400, 0.5);
        pp_estimate_pending(&e, 0, t, now + 3600000);
        pp_estimate_ended(&e, t, t, now + 3600000);
    }
    printf("an hour later: median %.0f\n", pp_estimate_median(&e));
    CHECK(near(pp_estimate_median(&e), 400, 0.1));
    CHECK(pp_estimate_jobs(&e) < 1050);

    /* jobs longer than the table: kept in its last bucket */
    pp_estimate_reset(&e, 1000);
    for (int i = 0; i < 50; i++) {
        pp_estimate_pending(&e, 0, 5e7, now);
        pp_estimate_ended(&e, 5e7, 5e7 + 1000, now);
    }
    CHECK(pp_estimate_median(&e) > 1e6 && isfinite(pp_estimate_median(&e)));

    /* nonsense in, sense out */
    pp_estimate_reset(&e, 2000);
    pp_estimate_pending(&e, -5, NAN, now);
    pp_estimate_pending(&e, 3000, 1000, now);
    pp_estimate_ended(&e, NAN, -1, now);
    pp_estimate_ended(&e, 5000, 100, now);
    pp_estimate_ended(&e, -INFINITY, INFINITY, now);
    double m = pp_estimate_median(&e);
    CHECK(isfinite(m) && m > 0);
    CHECK(isfinite(pp_estimate_cumhaz(&e, 1000)));
    pp_estimate_reset(&e, 0);
    CHECK(isfinite(pp_estimate_median(&e)) && pp_estimate_median(&e) >= 1);

    DONE();
}
