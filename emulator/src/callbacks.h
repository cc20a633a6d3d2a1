/* Callbacks: one POST of the job object to its callback_url when the job
 * ends, retried with backoff when the receiver fails. Runs on the worker. */
#ifndef EMU_CALLBACKS_H
#define EMU_CALLBACKS_H

#include "jobs.h"

#define CALLBACK_ATTEMPTS 4
#define CALLBACK_BACKOFF_S 0.5

/* Queues the callback for a job that just ended (no-op without a
 * callback_url). Must be called on the worker thread. */
void callbacks_send(struct job *j);

#endif
