/* The life of a job after its 202: fetch (url jobs, with retries) or
 * synthesize (query jobs), wait for the drawn job time, end done or faulted,
 * upload, call back. Plus the periodic housekeeping (expiry, schedules). */
#ifndef EMU_RUNNER_H
#define EMU_RUNNER_H

#include "jobs.h"

#define FETCH_RETRIES 2
#define FETCH_BACKOFF_S 0.25

/* Starts the housekeeping timer; call after worker_start(). */
int runner_start(void);

/* Sets a just-created job going. Safe from any thread. It does not wake the
 * worker: call runner_kick() once after creating one job or a whole batch. */
void runner_launch(struct job *j);
void runner_kick(void);

/* A job duration drawn from --job-time. */
double runner_job_time(void);

#endif
