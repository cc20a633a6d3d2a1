#include "stats.h"

static long routes[ST__COUNT];
static long counters[SC__COUNT];

static const char *const route_names[ST__COUNT] = {
    [ST_POST_QUERIES] = "POST /v1/queries",
    [ST_POST_BATCH] = "POST /v1/queries/batch",
    [ST_GET_JOB] = "GET /v1/queries/{id}",
    [ST_GET_RESULTS] = "GET /v1/queries/{id}/results",
    [ST_GET_CONTENT] = "GET /v1/queries/{id}/results/{page}/content",
    [ST_GET_IPS] = "GET /v1/info/callbacker_ips",
    [ST_SCHEDULES] = "schedules",
    [ST_UNAUTHORIZED] = "unauthorized",
    [ST_OTHER] = "other",
};

void stats_route(enum stat_route r) { __atomic_fetch_add(&routes[r], 1, __ATOMIC_RELAXED); }

void stats_add(enum stat_counter c, long delta) {
  __atomic_fetch_add(&counters[c], delta, __ATOMIC_RELAXED);
}

static long get(const long *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

void stats_reset(void) {
  for (int i = 0; i < ST__COUNT; i++)
    __atomic_store_n(&routes[i], 0, __ATOMIC_RELAXED);
  for (int i = 0; i < SC__COUNT; i++) {
    if (i == SC_JOBS_PENDING || i == SC_JOBS_DONE || i == SC_JOBS_FAULTED)
      continue;
    __atomic_store_n(&counters[i], 0, __ATOMIC_RELAXED);
  }
}

json_t *stats_json(void) {
  json_t *req = json_object();
  if (!req)
    return NULL;
  for (int i = 0; i < ST__COUNT; i++)
    json_object_set_new(req, route_names[i], json_integer(get(&routes[i])));
  return json_pack("{s:o, s:{s:I, s:I, s:I}, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:I},"
                   " s:{s:I, s:I, s:I}}",
                   "requests", req,
                   "jobs", "pending", (json_int_t)get(&counters[SC_JOBS_PENDING]),
                   "done", (json_int_t)get(&counters[SC_JOBS_DONE]),
                   "faulted", (json_int_t)get(&counters[SC_JOBS_FAULTED]),
                   "jobs_created", (json_int_t)get(&counters[SC_JOBS_CREATED]),
                   "values_created_twice", (json_int_t)get(&counters[SC_VALUES_CREATED_TWICE]),
                   "injected", "429", (json_int_t)get(&counters[SC_INJ_429]),
                   "500", (json_int_t)get(&counters[SC_INJ_500]),
                   "drop", (json_int_t)get(&counters[SC_INJ_DROP]),
                   "slow", (json_int_t)get(&counters[SC_INJ_SLOW]),
                   "ambiguous", "500", (json_int_t)get(&counters[SC_INJ_AMBIGUOUS_500]),
                   "524", (json_int_t)get(&counters[SC_INJ_AMBIGUOUS_524]),
                   "drop", (json_int_t)get(&counters[SC_INJ_AMBIGUOUS_DROP]),
                   "dup-id", (json_int_t)get(&counters[SC_INJ_DUP_ID]),
                   "callbacks", "sent", (json_int_t)get(&counters[SC_CB_SENT]),
                   "failed", (json_int_t)get(&counters[SC_CB_FAILED]),
                   "lost", (json_int_t)get(&counters[SC_CB_LOST]));
}
