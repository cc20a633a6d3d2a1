/* Schedules: recurring job submissions from a cron expression, with their
 * runs and outcome statistics. One lock guards the whole (small) store. */
#ifndef EMU_SCHEDULES_H
#define EMU_SCHEDULES_H

#include <jansson.h>
#include <stddef.h>

/* Validates and stores a schedule from a POST /v1/schedules body. Returns
 * the answer object, or NULL with a message in err (a 400). */
json_t *schedules_create(int user, const json_t *body, const char *host, char *err, size_t errlen);
json_t *schedules_list(int user);
/* The schedule with stats; NULL when unknown or another user's. */
json_t *schedules_get(int user, const char *idstr);
/* Returns 0, or -1 when unknown. */
int schedules_set_active(int user, const char *idstr, int active);
json_t *schedules_runs(int user, const char *idstr);
/* Runs one schedule at once whatever its state (admin); NULL when unknown
 * (*found = 0) or out of memory. Returns the run object. */
json_t *schedules_tick(const char *idstr, int *found);
/* Runs every active schedule whose next run time has come; deactivates the
 * ones past their end time. Worker thread. */
void schedules_run_due(double now);
void schedules_clear(void);

#endif
