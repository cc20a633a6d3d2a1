/* The job-time estimate: a fading log-scale life table and the lognormal
 * that fits it best. See estimate.h. */
#include "estimate.h"

#include <math.h>
#include <string.h>

#define BASE_MS 20.0        /* bucket 0 is [0, 20 ms) */
#define LOG_STEP 0.13976194 /* ln 1.15: bucket k >= 1 is [20 * 1.15^(k-1), 20 * 1.15^k) */
/* A weak prior, which decides only while little was seen: a spread of
 * job times like a web fetch's (sigma 0.6 of the log), the median known
 * within a factor of e, the spread within a third. */
#define PRIOR_SIGMA 0.6
#define PRIOR_MU_SD 1.0
#define PRIOR_LOG_SIGMA_SD 0.3
#define SIGMA_MIN 0.05
#define SIGMA_MAX 3.0
/* Refit once the observations grew by this share since the last fit. */
#define REFIT_SHARE 0.02
#define AGE_MAX_MS 1e10 /* ages past this (months) are nonsense: clamped */
#define SQRT_HALF 0.70710678118654752440
#define LOG_SQRT_2PI 0.91893853320467274178

static double edge(int k)
{
    return k <= 0 ? 0.0 : BASE_MS * exp((double)(k - 1) * LOG_STEP);
}

static int bucket_of(double ms)
{
    if (!(ms >= BASE_MS))
        return 0;
    double k = 1.0 + floor(log(ms / BASE_MS) / LOG_STEP);
    return k >= PP_ESTIMATE_BUCKETS - 1 ? PP_ESTIMATE_BUCKETS - 1 : (int)k;
}

/* ln P(Z > z) for a standard normal Z, without underflow far out. */
static double log_tail(double z)
{
    if (z < 30.0)
        return log(0.5 * erfc(z * SQRT_HALF));
    return -0.5 * z * z - log(z) - LOG_SQRT_2PI;
}

static double cumhaz(double mu, double sigma, double ms)
{
    if (!(ms > 0))
        return 0.0;
    return -log_tail((log(ms) - mu) / sigma);
}

static double survival(double mu, double sigma, double ms)
{
    return exp(-cumhaz(mu, sigma, ms));
}

void pp_estimate_reset(pp_estimate *e, double prior_ms)
{
    memset(e, 0, sizeof *e);
    e->prior_mu = log(prior_ms > 1.0 ? prior_ms : 1.0);
    e->mu = e->prior_mu;
    e->sigma = PRIOR_SIGMA;
    e->lo = PP_ESTIMATE_BUCKETS;
}

static void fade(pp_estimate *e, uint64_t now_ms)
{
    if (now_ms <= e->clock_ms)
        return;
    if (e->seen > 0) {
        double f = exp2(-(double)(now_ms - e->clock_ms) / PP_ESTIMATE_HALF_LIFE_MS);
        if (f > 0.9999)
            return; /* too little to matter yet: fade later, all at once */
        for (int k = e->lo; k < e->hi; k++) {
            e->ended[k] *= f;
            e->exposure[k] *= f;
            e->first_done[k] *= f;
            e->first_done_ms[k] *= f;
        }
        e->seen *= f;
        e->fitted *= f;
    }
    e->clock_ms = now_ms;
}

static void touch(pp_estimate *e, int k)
{
    if (k < e->lo)
        e->lo = k;
    if (k + 1 > e->hi)
        e->hi = k + 1;
}

static double sane_age(double ms)
{
    return ms >= 0 ? fmin(ms, AGE_MAX_MS) : 0.0; /* NaN too */
}

void pp_estimate_pending(pp_estimate *e, double from_ms, double to_ms, uint64_t now_ms)
{
    from_ms = sane_age(from_ms);
    to_ms = sane_age(to_ms);
    if (!(to_ms > from_ms))
        return;
    fade(e, now_ms);
    for (int k = bucket_of(from_ms), last = bucket_of(to_ms); k <= last; k++) {
        double x0 = fmax(from_ms, edge(k));
        double x1 = k == PP_ESTIMATE_BUCKETS - 1 ? to_ms : fmin(to_ms, edge(k + 1));
        if (x1 > x0) {
            e->exposure[k] += x1 - x0;
            touch(e, k);
        }
    }
    e->seen += 1.0;
}

void pp_estimate_ended(pp_estimate *e, double lo_ms, double hi_ms, uint64_t now_ms)
{
    lo_ms = sane_age(lo_ms);
    hi_ms = hi_ms >= lo_ms ? sane_age(hi_ms) : lo_ms;
    fade(e, now_ms);
    e->seen += 1.0;
    if (lo_ms <= 0 && hi_ms > 0) {
        /* Found done by its first poll: only "ended by hi" is known, kept
         * as such. Shared out by the fit, it would say the fit is right
         * (jobs ending just before the first poll) and the first poll
         * would never move much earlier. */
        int k = bucket_of(hi_ms);
        e->first_done[k] += 1.0;
        e->first_done_ms[k] += hi_ms;
        touch(e, k);
        return;
    }
    int first = bucket_of(lo_ms), last = bucket_of(hi_ms);
    if (first == last) {
        /* within one bucket: the end and the time before it, at the middle */
        e->ended[first] += 1.0;
        e->exposure[first] += (hi_ms - lo_ms) / 2.0;
        touch(e, first);
        return;
    }
    /* Where in (lo, hi] it ended is unknown: share the end, and the time the
     * job was pending before it, by what the current fit expects (one step
     * of EM per observation; these intervals are a poll's interval wide).
     * A fit that puts (almost) no chance there shares by length. */
    double s_lo = survival(e->mu, e->sigma, lo_ms), s_hi = survival(e->mu, e->sigma, hi_ms);
    double mass = s_lo - s_hi;
    int by_length = !(mass > 1e-9 * s_lo);
    for (int k = first; k <= last; k++) {
        double x0 = fmax(lo_ms, edge(k));
        double x1 = k == PP_ESTIMATE_BUCKETS - 1 ? hi_ms : fmin(hi_ms, edge(k + 1));
        if (!(x1 > x0))
            continue;
        double xm = (x0 + x1) / 2.0, share, beyond;
        if (by_length) {
            share = (x1 - x0) / (hi_ms - lo_ms);
            beyond = (hi_ms - xm) / (hi_ms - lo_ms);
        } else {
            share = (survival(e->mu, e->sigma, x0) - survival(e->mu, e->sigma, x1)) / mass;
            beyond = (survival(e->mu, e->sigma, xm) - s_hi) / mass;
        }
        e->ended[k] += share;
        e->exposure[k] += (x1 - x0) * beyond;
        touch(e, k);
    }
}

/* The log-likelihood of the table under lognormal(mu, e^ls): each bucket
 * seen through its average hazard, the jobs done by their first poll
 * through P(job time <= that age); plus the prior's log-density. */
static double loglik(const pp_estimate *e, double mu, double ls)
{
    double dm = (mu - e->prior_mu) / PRIOR_MU_SD, dl = (ls - log(PRIOR_SIGMA)) / PRIOR_LOG_SIGMA_SD;
    double ll = -0.5 * (dm * dm + dl * dl);
    double sigma = exp(ls);
    double h0 = cumhaz(mu, sigma, edge(e->lo));
    for (int k = e->lo; k < e->hi; k++) {
        double h1 = cumhaz(mu, sigma, edge(k + 1));
        double rate = fmax(h1 - h0, 0.0) / (edge(k + 1) - edge(k)); /* rounding far out */
        h0 = h1;
        if (e->ended[k] > 0)
            ll += e->ended[k] * log(rate > 1e-300 ? rate : 1e-300);
        ll -= rate * e->exposure[k];
        if (e->first_done[k] > 0) {
            double ms = e->first_done_ms[k] / e->first_done[k];
            ll += e->first_done[k] * log_tail((mu - log(ms)) / sigma);
        }
    }
    return ll;
}

static void clamp_params(double x[2])
{
    x[0] = fmin(fmax(x[0], 0.0), log(1e8));
    x[1] = fmin(fmax(x[1], log(SIGMA_MIN)), log(SIGMA_MAX));
}

/* Where to start the search: the last fit, or the log-mean and spread of
 * the ends in the table (censoring ignored) when that fits better, as
 * after a change of the service by orders of magnitude. */
static void start_point(const pp_estimate *e, double x[2])
{
    double w = 0, sum = 0, sq = 0;
    for (int k = e->lo; k < e->hi; k++) {
        double n = e->ended[k] + e->first_done[k];
        double c = log(k == 0 ? BASE_MS / 2 : edge(k) * exp(LOG_STEP / 2));
        w += n;
        sum += n * c;
        sq += n * c * c;
    }
    x[0] = e->mu;
    x[1] = log(e->sigma);
    if (!(w > 0))
        return;
    double m = sum / w, var = sq / w - m * m;
    double y[2] = {m, 0.5 * log(var > 0.01 ? var : 0.01)};
    clamp_params(y);
    if (loglik(e, y[0], y[1]) > loglik(e, x[0], x[1])) {
        x[0] = y[0];
        x[1] = y[1];
    }
}

/* Newton's method, derivatives by central differences, halving the step
 * until the likelihood grows; a gradient step where the surface is not
 * concave. */
static void fit(pp_estimate *e)
{
    const double h = 1e-3;
    double x[2];
    start_point(e, x);
    double f = loglik(e, x[0], x[1]);
    for (int it = 0; it < 50; it++) {
        double fp0 = loglik(e, x[0] + h, x[1]), fm0 = loglik(e, x[0] - h, x[1]);
        double fp1 = loglik(e, x[0], x[1] + h), fm1 = loglik(e, x[0], x[1] - h);
        double fpp = loglik(e, x[0] + h, x[1] + h), fmm = loglik(e, x[0] - h, x[1] - h);
        double g0 = (fp0 - fm0) / (2 * h), g1 = (fp1 - fm1) / (2 * h);
        double a = (fp0 - 2 * f + fm0) / (h * h), c = (fp1 - 2 * f + fm1) / (h * h);
        double b = (fpp - fp0 - fp1 + 2 * f - fm0 - fm1 + fmm) / (2 * h * h);
        double det = a * c - b * b, d0, d1;
        if (a < 0 && det > 0) {
            d0 = (-c * g0 + b * g1) / det;
            d1 = (b * g0 - a * g1) / det;
        } else {
            double n = sqrt(g0 * g0 + g1 * g1);
            if (!(n > 0))
                break;
            d0 = 0.5 * g0 / n;
            d1 = 0.5 * g1 / n;
        }
        double big = fmax(fabs(d0), fabs(d1));
        if (big > 1.0) {
            d0 /= big;
            d1 /= big;
        }
        double y[2] = {x[0], x[1]}, fy = f;
        for (double t = 1.0; t > 1.0 / 256; t /= 2) {
            y[0] = x[0] + t * d0;
            y[1] = x[1] + t * d1;
            clamp_params(y);
            fy = loglik(e, y[0], y[1]);
            if (fy >= f)
                break;
        }
        if (!(fy >= f))
            break;
        double moved = fmax(fabs(y[0] - x[0]), fabs(y[1] - x[1]));
        x[0] = y[0];
        x[1] = y[1];
        f = fy;
        if (moved < 1e-4)
            break;
    }
    e->mu = x[0];
    e->sigma = exp(x[1]);
    e->fitted = e->seen;
}

static void refresh(pp_estimate *e)
{
    if (e->seen - e->fitted > fmax(0.5, REFIT_SHARE * e->seen))
        fit(e);
}

double pp_estimate_median(pp_estimate *e)
{
    refresh(e);
    return exp(e->mu);
}

double pp_estimate_spread(pp_estimate *e)
{
    refresh(e);
    return e->sigma;
}

double pp_estimate_cumhaz(pp_estimate *e, double ms)
{
    refresh(e);
    return cumhaz(e->mu, e->sigma, ms);
}

double pp_estimate_jobs(const pp_estimate *e)
{
    double n = 0;
    for (int k = e->lo; k < e->hi; k++)
        n += e->ended[k] + e->first_done[k];
    return n;
}
