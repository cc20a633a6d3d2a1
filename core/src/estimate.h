/* How long this client's jobs take: a lognormal fitted to everything its
 * polls and callbacks saw, the jobs still pending included.
 *
 * Polls do not see a job end; they see it pending at one age and done at
 * the next, and a job still pending says only that it lasted at least its
 * age. In a batch the short jobs end first, so a median of the ended jobs
 * alone is biased short until the batch is over (survivorship). Here every
 * poll counts: a "still pending" adds the time the job was seen pending
 * (exposure) to a log-scale life table, an end adds one event spread over
 * the interval where it happened, and the fit maximises the likelihood of
 * that table (a piecewise-exponential likelihood of a lognormal). The
 * table fades with a half-life of minutes, not with a count of jobs, so a
 * batch's long tail keeps its weight and a change of the service is
 * followed.
 *
 * A leaf: standard headers only. Not thread-safe; one per client. */
#ifndef PP_ESTIMATE_H
#define PP_ESTIMATE_H

#include <stdint.h>

#define PP_ESTIMATE_BUCKETS 96 /* 20 ms x 1.15^k: up to about 3 hours */
#define PP_ESTIMATE_HALF_LIFE_MS 600000.0
/* The median assumed before anything was seen. The provider's own SDKs
 * poll at 2 s and 5 s: scraping jobs take seconds, and a first poll too
 * early costs a request on every job of a batch. */
#define PP_ESTIMATE_PRIOR_MS 3000.0

typedef struct pp_estimate {
    double ended[PP_ESTIMATE_BUCKETS];         /* jobs that ended in each bucket */
    double exposure[PP_ESTIMATE_BUCKETS];      /* ms jobs were seen pending in each */
    double first_done[PP_ESTIMATE_BUCKETS];    /* jobs found done by their first poll, by its age */
    double first_done_ms[PP_ESTIMATE_BUCKETS]; /* the sum of those ages */
    double seen, fitted;                       /* observations (faded), and how many the fit saw */
    uint64_t clock_ms;                         /* when the table was last faded */
    double prior_mu;                           /* log of the prior median (ms) */
    double mu, sigma;                          /* the fit: log of the median (ms), spread */
    int lo, hi;                                /* the buckets holding data: [lo, hi) */
} pp_estimate;

/* Forgets everything; the median is prior_ms until something is seen. */
void pp_estimate_reset(pp_estimate *e, double prior_ms);

/* A job was seen pending from age from_ms to age to_ms (its previous poll,
 * or 0 for its first, to the poll that answered "pending"); now_ms is the
 * clock, for fading. */
void pp_estimate_pending(pp_estimate *e, double from_ms, double to_ms, uint64_t now_ms);

/* A job ended at an age in (lo_ms, hi_ms]: lo_ms is the age of its last
 * "pending" poll (0 if none), hi_ms the age of the poll that found it
 * done. lo_ms == hi_ms is an exact time (a callback): report the time it
 * was seen pending up to then with pp_estimate_pending first. */
void pp_estimate_ended(pp_estimate *e, double lo_ms, double hi_ms, uint64_t now_ms);

/* The fit: its median (ms), its spread (sigma of the log), the cumulative
 * hazard -ln P(job time > ms), and how many ended jobs it rests on (faded;
 * 0 before the first end). */
double pp_estimate_median(pp_estimate *e);
double pp_estimate_spread(pp_estimate *e);
double pp_estimate_cumhaz(pp_estimate *e, double ms);
double pp_estimate_jobs(const pp_estimate *e);

#endif
