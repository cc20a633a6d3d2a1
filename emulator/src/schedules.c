#include "schedules.h"

#include "cron.h"
#include "jobs.h"
#include "pc_json.h"
#include "params.h"
#include "runner.h"
#include "util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct run_job {
    uint64_t id;
    double created;
    enum job_status last; /* last status seen; kept once the job expires */
    double finished;
};

struct run {
    long long run_id;
    struct run_job *jobs;
    int njobs;
};

struct item {
    json_t *tmpl;
    char *target;
    int is_url;
};

struct schedule {
    long long id;
    int user;
    char *cron_s;
    struct cron cron;
    struct item *items;
    int nitems;
    json_t *items_json; /* the items as given, echoed by GET */
    double end_time, next_run;
    int active;
    char *host;
    struct run *runs;
    int nruns, capruns;
    long long next_run_id;
    struct schedule *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct schedule *all;
/* Ids are never reused, not even across a reset, and stay far below 2^53
 * so that every JSON reader keeps them exact. */
static long long next_id = 1000001;

static void schedule_free(struct schedule *s)
{
    for (int i = 0; i < s->nitems; i++) {
        json_decref(s->items[i].tmpl);
        free(s->items[i].target);
    }
    free(s->items);
    for (int i = 0; i < s->nruns; i++)
        free(s->runs[i].jobs);
    free(s->runs);
    json_decref(s->items_json);
    free(s->cron_s);
    free(s->host);
    free(s);
}

static json_t *time_or_null(double t)
{
    if (t < 0)
        return json_null();
    char buf[20];
    fmt_time(t, buf);
    return json_string(buf);
}

/* The public face of a schedule; lock held. */
static json_t *describe(const struct schedule *s)
{
    return json_pack("{s:I, s:b, s:i, s:s, s:o, s:o}", "schedule_id", (json_int_t)s->id, "active",
                     s->active, "items_count", s->nitems, "cron", s->cron_s, "end_time",
                     time_or_null(s->end_time), "next_run_at",
                     s->active ? time_or_null(s->next_run) : json_null());
}

json_t *schedules_create(int user, const json_t *body, const char *host, char *err, size_t errlen)
{
    if (!json_is_object(body)) {
        snprintf(err, errlen, "the JSON body must be an object");
        return NULL;
    }
    struct cron cron;
    const char *cron_s = pc_json_str(body, "cron");
    if (!cron_s) {
        snprintf(err, errlen, "cron is required (a 5-field cron expression string)");
        return NULL;
    }
    if (cron_parse(cron_s, &cron, err, errlen) != 0)
        return NULL;
    json_t *items = json_object_get(body, "items");
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > BATCH_MAX) {
        snprintf(err, errlen,
                 "items must be a non-empty list of job parameter objects (at most %d)", BATCH_MAX);
        return NULL;
    }
    const char *end_s = pc_json_str(body, "end_time");
    double end_time, now = now_s();
    if (!end_s || parse_time(end_s, &end_time) != 0) {
        snprintf(err, errlen, "end_time must be a \"YYYY-MM-DD HH:MM:SS\" UTC time");
        return NULL;
    }
    if (end_time <= now) {
        snprintf(err, errlen, "end_time must be in the future");
        return NULL;
    }

    struct schedule *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->items = calloc(json_array_size(items), sizeof *s->items);
    s->cron_s = strdup(cron_s);
    s->host = strdup(host);
    s->items_json = json_deep_copy(items);
    if (!s->items || !s->cron_s || !s->host || !s->items_json)
        goto oom;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        char msg[400];
        json_t *targets = NULL;
        int is_url = 0;
        json_t *tmpl = params_validate(it, 0, &is_url, &targets, msg, sizeof msg);
        if (!tmpl) {
            snprintf(err, errlen, "items[%zu]: %s", i, msg);
            schedule_free(s);
            return NULL;
        }
        struct item *dst = &s->items[s->nitems++];
        dst->tmpl = tmpl;
        dst->is_url = is_url;
        dst->target = strdup(json_string_value(json_array_get(targets, 0)));
        json_decref(targets);
        if (!dst->target)
            goto oom;
    }
    s->user = user;
    s->cron = cron;
    s->end_time = end_time;
    s->active = 1;
    s->next_run = cron_next(&cron, now);
    s->next_run_id = 1;

    pthread_mutex_lock(&lock);
    s->id = next_id++;
    s->next = all;
    all = s;
    json_t *out = describe(s);
    pthread_mutex_unlock(&lock);
    if (!out)
        snprintf(err, errlen, "out of memory");
    return out;
oom:
    if (s)
        schedule_free(s);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* Lock held. */
static struct schedule *find(const char *idstr, int user)
{
    char *end;
    long long id = strtoll(idstr, &end, 10);
    if (*idstr == '\0' || *end != '\0')
        return NULL;
    for (struct schedule *s = all; s; s = s->next)
        if (s->id == id && (user < 0 || s->user == user))
            return s;
    return NULL;
}

json_t *schedules_list(int user)
{
    json_t *ids = json_array();
    if (!ids)
        return NULL;
    pthread_mutex_lock(&lock);
    for (struct schedule *s = all; s; s = s->next)
        if (s->user == user)
            json_array_insert_new(ids, 0, json_integer(s->id)); /* oldest first */
    pthread_mutex_unlock(&lock);
    return json_pack("{s:o}", "schedules", ids);
}

/* Refreshes the remembered status of a run's job; lock held. */
static void refresh(struct run_job *rj)
{
    if (rj->last != JOB_PENDING)
        return;
    struct job *j = jobs_get(rj->id);
    if (!j)
        return;
    double updated;
    enum job_status st = jobs_status(j, &updated);
    jobs_put(j);
    if (st != JOB_PENDING) {
        rj->last = st;
        rj->finished = updated;
    }
}

static json_t *run_json(struct run *r)
{
    json_t *jobs = json_array();
    int done = 0;
    if (!jobs)
        return NULL;
    for (int i = 0; i < r->njobs; i++) {
        struct run_job *rj = &r->jobs[i];
        refresh(rj);
        char id[24];
        snprintf(id, sizeof id, "%" PRIu64, rj->id);
        done += rj->last == JOB_DONE;
        json_array_append_new(
            jobs, json_pack("{s:s, s:i, s:s, s:o, s:o}", "id", id, "create_status_code", 202,
                            "result_status", jobs_status_name(rj->last), "created_at",
                            time_or_null(rj->created), "result_created_at",
                            rj->last == JOB_PENDING ? json_null() : time_or_null(rj->finished)));
    }
    double rate = r->njobs ? (double)done / r->njobs : 0.0;
    return json_pack("{s:I, s:o, s:f}", "run_id", (json_int_t)r->run_id, "jobs", jobs,
                     "success_rate", rate);
}

static json_t *outcome_stats(struct schedule *s)
{
    long total = 0, by[3] = {0, 0, 0};
    for (int r = 0; r < s->nruns; r++)
        for (int i = 0; i < s->runs[r].njobs; i++) {
            refresh(&s->runs[r].jobs[i]);
            by[s->runs[r].jobs[i].last]++;
            total++;
        }
    json_t *create = json_array(), *result = json_array();
    if (create && total)
        json_array_append_new(create, json_pack("{s:i, s:I, s:f}", "status_code", 202, "job_count",
                                                (json_int_t)total, "ratio", 1.0));
    static const enum job_status order[] = {JOB_DONE, JOB_FAULTED, JOB_PENDING};
    for (int k = 0; result && k < 3; k++) {
        long n = by[order[k]];
        if (n)
            json_array_append_new(result, json_pack("{s:s, s:I, s:f}", "status",
                                                    jobs_status_name(order[k]), "job_count",
                                                    (json_int_t)n, "ratio", (double)n / total));
    }
    return json_pack("{s:I, s:o*, s:o*}", "total_job_count", (json_int_t)total,
                     "job_create_outcomes", create, "job_result_outcomes", result);
}

json_t *schedules_get(int user, const char *idstr)
{
    pthread_mutex_lock(&lock);
    struct schedule *s = find(idstr, user);
    json_t *out = NULL;
    if (s) {
        out = describe(s);
        if (out) {
            json_object_set(out, "items", s->items_json);
            pc_json_set(out, "stats", outcome_stats(s));
        }
    }
    pthread_mutex_unlock(&lock);
    return out;
}

int schedules_set_active(int user, const char *idstr, int active)
{
    pthread_mutex_lock(&lock);
    struct schedule *s = find(idstr, user);
    if (s) {
        if (active && !s->active)
            s->next_run = cron_next(&s->cron, now_s());
        s->active = active;
    }
    pthread_mutex_unlock(&lock);
    return s ? 0 : -1;
}

json_t *schedules_runs(int user, const char *idstr)
{
    pthread_mutex_lock(&lock);
    struct schedule *s = find(idstr, user);
    json_t *runs = s ? json_array() : NULL;
    for (int i = 0; runs && i < s->nruns; i++)
        json_array_append_new(runs, run_json(&s->runs[i]));
    pthread_mutex_unlock(&lock);
    return runs ? json_pack("{s:o}", "runs", runs) : NULL;
}

/* Creates one job per item and records the run; lock held. */
static struct run *run_now(struct schedule *s)
{
    if (s->nruns == s->capruns) {
        int cap = s->capruns ? s->capruns * 2 : 8;
        struct run *p = realloc(s->runs, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        s->runs = p;
        s->capruns = cap;
    }
    struct run *r = &s->runs[s->nruns];
    r->jobs = calloc((size_t)s->nitems, sizeof *r->jobs);
    if (!r->jobs)
        return NULL;
    r->run_id = s->next_run_id++;
    r->njobs = 0;
    for (int i = 0; i < s->nitems; i++) {
        struct job *j =
            jobs_create(s->user, s->items[i].tmpl, s->items[i].target, s->items[i].is_url, s->host);
        if (!j)
            continue;
        r->jobs[r->njobs++] = (struct run_job){j->id, j->created, JOB_PENDING, -1};
        runner_launch(j);
        jobs_put(j);
    }
    runner_kick();
    s->nruns++;
    return r;
}

json_t *schedules_tick(const char *idstr, int *found)
{
    pthread_mutex_lock(&lock);
    struct schedule *s = find(idstr, -1);
    *found = s != NULL;
    struct run *r = s ? run_now(s) : NULL;
    json_t *out = r ? run_json(r) : NULL;
    pthread_mutex_unlock(&lock);
    return out;
}

void schedules_run_due(double now)
{
    pthread_mutex_lock(&lock);
    for (struct schedule *s = all; s; s = s->next) {
        if (!s->active)
            continue;
        if (now >= s->end_time) {
            s->active = 0;
            continue;
        }
        if (s->next_run >= 0 && s->next_run <= now) {
            run_now(s);
            s->next_run = cron_next(&s->cron, now);
        }
    }
    pthread_mutex_unlock(&lock);
}

void schedules_clear(void)
{
    pthread_mutex_lock(&lock);
    struct schedule *s = all;
    all = NULL;
    pthread_mutex_unlock(&lock);
    while (s) {
        struct schedule *next = s->next;
        schedule_free(s);
        s = next;
    }
}
