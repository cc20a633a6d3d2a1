/* Counters reported by GET /_emulator/stats. Plain integers updated with
 * atomic builtins: they sit on the hot path of every request. */
#ifndef EMU_STATS_H
#define EMU_STATS_H

#include <jansson.h>

enum stat_route {
    ST_POST_QUERIES,
    ST_POST_BATCH,
    ST_GET_JOB,
    ST_GET_RESULTS,
    ST_GET_CONTENT,
    ST_GET_IPS,
    ST_SCHEDULES,
    ST_UNAUTHORIZED,
    ST_OTHER,
    ST__COUNT
};

enum stat_counter {
    SC_JOBS_CREATED,
    SC_JOBS_PENDING,
    SC_JOBS_DONE,
    SC_JOBS_FAULTED,
    SC_INJ_429,
    SC_INJ_500,
    SC_INJ_DROP,
    SC_INJ_SLOW,
    SC_INJ_AMBIGUOUS_500,
    SC_INJ_AMBIGUOUS_524,
    SC_INJ_AMBIGUOUS_DROP,
    SC_INJ_DUP_ID,
    SC_CB_SENT,
    SC_CB_FAILED,
    SC_CB_LOST,
    SC_VALUES_CREATED_TWICE,
    SC__COUNT
};

void stats_route(enum stat_route r);
void stats_add(enum stat_counter c, long delta);
/* Clears request, injection and callback counters, jobs_created and
 * values_created_twice; the job gauges follow the job table, which reset
 * empties separately. */
void stats_reset(void);
json_t *stats_json(void);

#endif
