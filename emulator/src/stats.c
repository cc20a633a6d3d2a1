#include "stats.h"

#include "pc_json.h"

#include <stdio.h>
#include <string.h>

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

/* Where each counter shows in the stats: "jobs_created" at the top,
 * "jobs/done" in the object "jobs", "injected/ambiguous/500" two deep. */
static const char *const counter_paths[SC__COUNT] = {
    [SC_JOBS_CREATED] = "jobs_created",
    [SC_JOBS_PENDING] = "jobs/pending",
    [SC_JOBS_DONE] = "jobs/done",
    [SC_JOBS_FAULTED] = "jobs/faulted",
    [SC_INJ_429] = "injected/429",
    [SC_INJ_500] = "injected/500",
    [SC_INJ_DROP] = "injected/drop",
    [SC_INJ_SLOW] = "injected/slow",
    [SC_INJ_AMBIGUOUS_500] = "injected/ambiguous/500",
    [SC_INJ_AMBIGUOUS_524] = "injected/ambiguous/524",
    [SC_INJ_AMBIGUOUS_DROP] = "injected/ambiguous/drop",
    [SC_INJ_DUP_ID] = "injected/dup-id",
    [SC_CB_SENT] = "callbacks/sent",
    [SC_CB_FAILED] = "callbacks/failed",
    [SC_CB_LOST] = "callbacks/lost",
    [SC_VALUES_CREATED_TWICE] = "values_created_twice",
};

void stats_route(enum stat_route r)
{
    __atomic_fetch_add(&routes[r], 1, __ATOMIC_RELAXED);
}

void stats_add(enum stat_counter c, long delta)
{
    __atomic_fetch_add(&counters[c], delta, __ATOMIC_RELAXED);
}

static long get(const long *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void stats_reset(void)
{
    for (int i = 0; i < ST__COUNT; i++)
        __atomic_store_n(&routes[i], 0, __ATOMIC_RELAXED);
    for (int i = 0; i < SC__COUNT; i++) {
        if (i == SC_JOBS_PENDING || i == SC_JOBS_DONE || i == SC_JOBS_FAULTED)
            continue;
        __atomic_store_n(&counters[i], 0, __ATOMIC_RELAXED);
    }
}

/* Sets v at a path of counter_paths under root, making the objects on the
 * way. Returns 0, or -1 when out of memory. */
static int set_path(json_t *root, const char *path, json_t *v)
{
    char key[64];
    const char *slash;
    while ((slash = strchr(path, '/')) != NULL) {
        snprintf(key, sizeof key, "%.*s", (int)(slash - path), path);
        json_t *next = json_object_get(root, key);
        if (!next && pc_json_set(root, key, next = json_object()) != 0) {
            json_decref(v);
            return -1;
        }
        root = next;
        path = slash + 1;
    }
    return pc_json_set(root, path, v);
}

json_t *stats_json(void)
{
    json_t *root = json_object(), *req = json_object();
    int oom = pc_json_set(root, "requests", req) != 0;
    for (int i = 0; !oom && i < ST__COUNT; i++)
        oom = pc_json_set(req, route_names[i], json_integer(get(&routes[i]))) != 0;
    for (int i = 0; !oom && i < SC__COUNT; i++)
        oom = set_path(root, counter_paths[i], json_integer(get(&counters[i]))) != 0;
    if (oom) {
        json_decref(root);
        return NULL;
    }
    return root;
}
