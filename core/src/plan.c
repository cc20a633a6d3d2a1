/* The poll schedule. See plan.h. */
#include "plan.h"

#include <math.h>

/* The price of a request in mean notice delay, as a share of the median
 * job time (times two, see plan.h). Relative to the median, the number of
 * requests per job does not depend on how long jobs take, and the delay
 * is a share of the job time. 0.09 is where a client polling
 * lognormal(3 s, 0.6) jobs makes fewer requests and notices sooner than
 * one that polls every second, by about the same share (7-9% each,
 * simulated in tests/test_plan.c, measured in bench/client/polling.lua). */
#define PRICE 0.09
/* The square-root law assumes the rate of ending changes slowly over an
 * interval; over the first one it rises from zero, and the exact optimum
 * (solved numerically for lognormal job times, sigma 0.3 to 1) waits
 * about as long as twice the price gives. */
#define FIRST_PRICE 2.0
#define TAIL_CUMHAZ 4.605 /* ln 100: the job outlived 99% of jobs */
#define JITTER 0.1        /* +-10% */
#define FIRST_MAX_MS 600000.0

/* The age t in [lo, hi] with (t - seen) * (H(t) - H(seen)) = price; the
 * left side grows with t, so bisect (on a log scale: the range spans
 * decades). */
static double solve(pp_estimate *e, double seen, double price, double lo, double hi)
{
    double h0 = pp_estimate_cumhaz(e, seen);
    if ((hi - seen) * (pp_estimate_cumhaz(e, hi) - h0) <= price)
        return hi;
    if ((lo - seen) * (pp_estimate_cumhaz(e, lo) - h0) >= price)
        return lo;
    for (int i = 0; i < 40 && hi > lo * 1.001; i++) {
        double mid = sqrt(lo * hi);
        if ((mid - seen) * (pp_estimate_cumhaz(e, mid) - h0) < price)
            lo = mid;
        else
            hi = mid;
    }
    return sqrt(lo * hi);
}

long pp_plan_next_delay(const pp_plan_config *cfg, pp_estimate *est, pp_plan_job *j, double age_ms,
                        double u)
{
    int first = j->polls == 0;
    double lo = cfg->min_ms > 0 ? (double)cfg->min_ms : 1.0;
    double hi = first ? FIRST_MAX_MS : (double)cfg->max_ms;
    if (hi < lo)
        hi = lo;
    if (!(age_ms >= 0))
        age_ms = 0;
    double d;
    if (first && cfg->first_ms > 0) {
        d = (double)cfg->first_ms;
    } else {
        /* When the answer that made the job pending came late (a big
         * batch), the first poll still aims at the same age. */
        double seen = first ? 0.0 : fmin(j->due_ms, age_ms);
        double price = PRICE * pp_estimate_median(est) * (first ? FIRST_PRICE : 1.0);
        d = solve(est, seen, price, age_ms + lo, age_ms + hi) - age_ms;
        if (!first && j->interval > 0 && pp_estimate_cumhaz(est, age_ms) > TAIL_CUMHAZ) {
            double back = (double)j->interval * (cfg->factor > 1.0 ? cfg->factor : 1.0);
            if (back > d)
                d = back;
        }
    }
    d = fmin(fmax(d, lo), hi);
    j->interval = (long)d;
    j->due_ms = age_ms + d;
    j->polls++;
    double v = d * (1.0 - JITTER + 2.0 * JITTER * u);
    return (long)(fmin(fmax(v, lo), hi) + 0.5);
}
