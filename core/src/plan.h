/* When to poll a pending job next: a pure function of the configuration,
 * the job-time estimate, what the job has seen and its age.
 *
 * The next poll comes at the age t where the chance that the job ended
 * since it was last seen pending (at age s: its last poll, or 0), times
 * the time since then, reaches a price: (t - s) * (H(t) - H(s)) = PRICE *
 * median (twice that for a first poll, see plan.c), H the estimate's
 * cumulative hazard. Where jobs end often, polls come close together; where they rarely end (the
 * start of a job, the far tail) they spread out. For a rate of ending h that gives delays of
 * sqrt(price / h), which minimises the mean notice delay plus price/2 per request when h changes
 * slowly (the square-root law of inspection schedules). Past the age that 99% of jobs do not reach,
 * the estimate is not trusted: intervals grow by `factor` up to max_ms.
 *
 * Use, per job (ages in ms since the job was submitted: best counted from
 * when its submission was sent, which is when the service starts it; a
 * big batch's answer is read a few hundred ms later):
 *   - becomes pending: zero its pp_plan_job and its last "pending" age,
 *     then poll after pp_plan_next_delay(cfg, est, &pj, age now, u);
 *   - a poll answers 204 (or a status "pending"): a = its age when that
 *     poll was sent; pp_estimate_pending(est, last, a, now); last = a;
 *     then the next delay as above;
 *   - a poll answers 200 (or "done"): pp_estimate_ended(est, last, a, now);
 *   - a callback says done: t = age now; pp_estimate_pending(est, last, t,
 *     now); pp_estimate_ended(est, t, t, now).
 * Nothing special for jobs submitted before anything was seen: the prior
 * places their first poll, and every later one is planned with what the
 * polls of the whole batch taught by then. */
#ifndef PP_PLAN_H
#define PP_PLAN_H

#include "estimate.h"

typedef struct pp_plan_config {
    long first_ms; /* fixed first poll, 0 = adaptive */
    long min_ms;   /* no poll of one job sooner than this after the last */
    long max_ms;   /* interval cap (a first poll may wait longer) */
    double factor; /* growth of the interval past the estimate's tail */
} pp_plan_config;

typedef struct pp_plan_job {
    int polls;     /* polls planned so far; zero the struct when the job becomes pending */
    long interval; /* the last delay planned, before jitter */
    double due_ms; /* the age the last poll was planned for */
} pp_plan_job;

/* Milliseconds from now until the next poll of a job that became pending
 * age_ms ago and whose polls so far (j->polls) all said "still pending"; u
 * is uniform in [0,1) for +-10% jitter. Counts the poll in *j. */
long pp_plan_next_delay(const pp_plan_config *cfg, pp_estimate *est, pp_plan_job *j, double age_ms,
                        double u);

#endif
