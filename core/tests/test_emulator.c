/* Drives real clients against the real emulator over HTTP: submissions
 * (single, batch, paced), polling, callbacks, downloads, errors, expiry,
 * faults, result files, spooling past the memory budget, and both ways
 * of driving (pp_wait, and fd watching with pp_socket_action as an
 * event-loop host does). Skipped (exit 77) when the emulator binary has
 * not been built. */
#include "client.h"
#include "check.h"
#include "emu.h"
#include "files.h"
#include "host.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77

static const char *emulator_path;

static int emu_start(emu *e, const char *const *extra)
{
    return emu_spawn(e, emulator_path, extra);
}

static pp_client *client_with(const emu *e, const char *password, int batch, long timeout_ms,
                              long retry_base_ms, int max_retries)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = e->base;
    cfg.username = "user";
    cfg.password = password;
    cfg.batch_size = batch;
    cfg.timeout_ms = timeout_ms;
    cfg.retry_base_ms = retry_base_ms;
    cfg.max_retries = max_retries;
    pp_error err = {0};
    pp_client *c = pp_client_new(&cfg, &err);
    if (!c)
        fprintf(stderr, "pp_client_new: %s\n", err.message);
    return c;
}

static pp_client *client_for(const emu *e, const char *password, int batch)
{
    return client_with(e, password, batch, 0, 50, 3);
}

/* Drives with pp_wait until the op is done and every given job is in a
 * final state (or timeout). Returns 1 when all finished. */
static int drive(pp_client *c, pp_op op, const pp_job *jobs, size_t n, int timeout_ms)
{
    uint64_t end = pp_now_ms() + (uint64_t)timeout_ms;
    pp_event ev[64];
    while (pp_now_ms() < end) {
        int all = op ? pp_op_done(c, op) : 1;
        for (size_t i = 0; all && i < n; i++)
            all = pp_state_is_final(pp_job_state(c, jobs[i]));
        if (all)
            return 1;
        pp_wait(c, 200, NULL);
        while (pp_take_events(c, ev, 64) == 64)
            ;
    }
    return 0;
}

static int submit_one(pp_client *c, const char *json, pp_op *op_out, pp_job *job_out)
{
    pp_error err = {0};
    pp_op op = pp_submit(c, json, strlen(json), NULL, &err);
    if (!op)
        return -1;
    size_t n = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    if (n != 1)
        return -1;
    *op_out = op;
    *job_out = jobs[0];
    return 0;
}

/* GET a number out of the emulator's /_emulator/stats. */
static long emu_stat(pp_client *c, const char *path1, const char *key)
{
    pp_op op = pp_request(c, "GET", "/_emulator/stats", NULL, 0, NULL);
    if (!op || !drive(c, op, NULL, 0, 10000))
        return -1;
    size_t len = 0;
    const char *body = pp_op_body(c, op, &len);
    long v = -1;
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *node = path1 ? json_object_get(root, path1) : root;
    json_t *val = json_object_get(node, key);
    if (json_is_integer(val))
        v = (long)json_integer_value(val);
    if (root)
        json_decref(root);
    pp_op_free(c, op);
    return v;
}

/* 1 once the emulator has finished job id (its admin view, not the API). */
static int emu_job_done(pp_client *c, const char *id)
{
    char path[160];
    snprintf(path, sizeof path, "/_emulator/jobs/%s", id ? id : "none");
    pp_op op = pp_request(c, "GET", path, NULL, 0, NULL);
    if (!op || !drive(c, op, NULL, 0, 5000))
        return 0;
    const char *body = pp_op_body(c, op, NULL);
    int done = body && strstr(body, "\"status\":\"done\"") != NULL;
    pp_op_free(c, op);
    return done;
}

static void test_single_and_ops(const emu *e)
{
    pp_client *c = client_for(e, "pass1", 0);
    CHECK(c != NULL);
    pp_op op;
    pp_job job;
    CHECK(submit_one(c, "{\"source\":\"google_search\",\"query\":\"adidas\"}", &op, &job) == 0);
    CHECK(drive(c, op, &job, 1, 10000));
    CHECK(pp_op_error(c, op) == NULL);
    CHECK(pp_op_status(c, op) == 202 || pp_op_status(c, op) == 200);
    CHECK(pp_job_state(c, job) == PP_FETCHED);
    const char *id = pp_job_id(c, job);
    CHECK(id && strlen(id) >= 15);
    size_t len = 0;
    const char *info = pp_job_info(c, job, &len);
    CHECK(info && strstr(info, "_links"));
    const char *res = pp_job_results(c, job, &len);
    CHECK(res && strstr(res, "\"results\"") && len == strlen(res));
    CHECK(pp_attach(c, id, NULL) == job);

    /* status, download to memory and to a file, any call */
    pp_op r = pp_refresh(c, job, NULL);
    pp_op f = pp_fetch(c, job, "raw", NULL, NULL);
    char path[] = "/tmp/pp-core-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    pp_op ff = pp_fetch(c, job, NULL, path, NULL);
    pp_op any = pp_request(c, "GET", "/v1/info/callbacker_ips", NULL, 0, NULL);
    pp_op ops[] = {r, f, ff, any};
    for (int i = 0; i < 4; i++) {
        CHECK(ops[i] > 0);
        CHECK(drive(c, ops[i], NULL, 0, 10000));
        CHECK(pp_op_error(c, ops[i]) == NULL);
        CHECK_EQ_LONG(pp_op_status(c, ops[i]), 200);
    }
    const char *body = pp_op_body(c, r, &len);
    CHECK(body && strstr(body, "\"status\":\"done\"") != NULL);
    body = pp_op_body(c, f, &len);
    CHECK(body && strstr(body, "\"results\""));
    CHECK(pp_op_body(c, ff, &len) == NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size > 20);
    unlink(path);
    body = pp_op_body(c, any, &len);
    CHECK(body && strstr(body, "\"ips\""));
    /* a failing download leaves no file behind */
    pp_job ghost = pp_attach(c, "1000000000000000001", NULL);
    pp_op g = pp_fetch(c, ghost, NULL, path, NULL);
    CHECK(drive(c, g, NULL, 0, 10000));
    CHECK_EQ_LONG(pp_op_status(c, g), 404);
    CHECK(pp_op_error(c, g) && strncmp(pp_op_error(c, g)->message, "404", 3) == 0);
    CHECK(access(path, F_OK) != 0);
    CHECK(pp_job_state(c, ghost) == PP_EXPIRED);
    for (int i = 0; i < 4; i++)
        pp_op_free(c, ops[i]);
    pp_op_free(c, g);
    pp_op_free(c, op);
    CHECK(pp_op_done(c, op) == 0); /* freed: unknown handle */

    /* an id the service does not know, watched: expired */
    pp_job old = pp_attach(c, "1234567890123456789", NULL);
    CHECK(pp_watch(c, old, NULL) == 0);
    CHECK(drive(c, 0, &old, 1, 10000));
    CHECK(pp_job_state(c, old) == PP_EXPIRED);
    CHECK(pp_job_error(c, old) && pp_job_error(c, old)->http_status == 404);

    pp_stats s0, s1;
    pp_get_stats(c, &s0);
    CHECK(s0.requests > 0 && s0.submitted == 1 && s0.bytes_in > 0);
    pp_client_free(c);

    /* a callback for a pending job: done, and fetched at once (1 request) */
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = e->base;
    cfg.username = "user";
    cfg.password = "pass1";
    cfg.poll.first_ms = 60000; /* no poll of its own meanwhile */
    c = pp_client_new(&cfg, NULL);
    CHECK(submit_one(c, "{\"source\":\"google_search\",\"query\":\"nike\"}", &op, &job) == 0);
    /* run until it has an id, and the service has finished it */
    uint64_t end = pp_now_ms() + 5000;
    while (pp_job_state(c, job) != PP_PENDING && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    CHECK(pp_job_state(c, job) == PP_PENDING);
    while (!emu_job_done(c, pp_job_id(c, job)) && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    char cb[128];
    snprintf(cb, sizeof cb, "{\"id\":\"%s\",\"status\":\"done\"}", pp_job_id(c, job));
    pp_get_stats(c, &s0);
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0);
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0); /* duplicate */
    CHECK(drive(c, 0, &job, 1, 10000));
    CHECK(pp_job_state(c, job) == PP_FETCHED);
    pp_get_stats(c, &s1);
    CHECK_EQ_LONG(s1.requests - s0.requests, 1);
    pp_client_free(c);
}

static void test_bad_auth(const emu *e)
{
    pp_client *c = client_for(e, "wrong", 0);
    pp_op op;
    pp_job job;
    CHECK(submit_one(c, "{\"source\":\"google_search\",\"query\":\"x\"}", &op, &job) == 0);
    CHECK(drive(c, op, &job, 1, 10000));
    CHECK(pp_job_state(c, job) == PP_REJECTED);
    const pp_error *err = pp_op_error(c, op);
    CHECK(err && err->http_status == 401);
    CHECK(err && strncmp(err->message, "401 Unauthorized", 16) == 0);
    CHECK(pp_job_error(c, job) && pp_job_error(c, job)->http_status == 401);
    CHECK_EQ_LONG(pp_op_status(c, op), 401);
    pp_client_free(c);
}

/* Submits n google_search queries as one batch; its jobs in *jobs. */
static pp_op submit_batch(pp_client *c, int n, const pp_submit_opts *opts, const pp_job **jobs,
                          size_t *count)
{
    size_t cap = (size_t)n * 24 + 256, len = 0;
    char *s = malloc(cap);
    if (!s)
        return 0;
    len += (size_t)snprintf(s + len, cap - len, "{\"source\":\"google_search\",\"query\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s\"kw %d\"", i ? "," : "", i);
    len += (size_t)snprintf(s + len, cap - len, "]}");
    pp_error err = {0};
    pp_op op = pp_submit(c, s, len, opts, &err);
    free(s);
    *jobs = pp_op_jobs(c, op, count);
    return op;
}

static void test_batch(const emu *e, int n, int batch, const char *const *emu_args,
                       double max_req_per_job, long max_retries)
{
    emu e2;
    const emu *use = e;
    if (emu_args) {
        if (emu_start(&e2, emu_args) < 0) {
            CHECK(!"second emulator");
            return;
        }
        use = &e2;
    }
    pp_client *c = client_for(use, "pass1", batch);
    uint64_t t0 = pp_now_ms();
    size_t cnt = 0;
    const pp_job *jobs;
    pp_op op = submit_batch(c, n, NULL, &jobs, &cnt);
    CHECK(op > 0);
    CHECK_EQ_LONG(cnt, n);
    CHECK(drive(c, op, jobs, cnt, 60000));
    size_t fetched = 0;
    for (size_t i = 0; i < cnt; i++)
        fetched += pp_job_state(c, jobs[i]) == PP_FETCHED;
    CHECK_EQ_LONG(fetched, n);
    pp_stats st;
    pp_get_stats(c, &st);
    CHECK_EQ_LONG(st.submitted, n);
    double per_job = (double)st.requests / n;
    printf("batch of %d (chunks of %d): %.2f s, %llu requests (%.2f per job), %llu retries\n", n,
           batch, (pp_now_ms() - t0) / 1000.0, (unsigned long long)st.requests, per_job,
           (unsigned long long)st.retries);
    CHECK(per_job <= max_req_per_job);
    CHECK((long)st.retries <= max_retries);
    CHECK(pp_busy(c) == 0);
    CHECK(pp_timeout_ms(c) == -1);
    /* results stay until dropped */
    size_t len = 0;
    CHECK(pp_job_results(c, jobs[0], &len) != NULL);
    pp_job_drop_results(c, jobs[0]);
    CHECK(pp_job_results(c, jobs[0], &len) == NULL);
    pp_client_free(c);
    if (emu_args)
        emu_stop(&e2);
}

/* Starts an emulator with args, submits one job and drives it to a final
 * state, which must be `want`. Leaves client and emulator running. */
static pp_client *one_job_on(emu *e, const char *const *args, pp_state want, pp_op *op, pp_job *job)
{
    if (emu_start(e, args) < 0) {
        CHECK(!"emulator with faults");
        return NULL;
    }
    pp_client *c = client_for(e, "pass1", 0);
    CHECK(submit_one(c, "{\"source\":\"google_search\",\"query\":\"x\"}", op, job) == 0);
    CHECK(drive(c, *op, job, 1, 15000));
    CHECK(pp_job_state(c, *job) == want);
    CHECK(pp_job_error(c, *job) != NULL);
    return c;
}

static void test_faulted(void)
{
    emu e;
    const char *args[] = {"--fault-rate", "1", NULL};
    pp_op op;
    pp_job job;
    pp_client *c = one_job_on(&e, args, PP_FAULTED, &op, &job);
    if (!c)
        return;
    pp_client_free(c);
    emu_stop(&e);
}

/* A submission whose answer is lost is never sent again: unknown. */
static void test_lost_answer(void)
{
    emu e;
    const char *args[] = {"--inject", "drop=1", NULL};
    pp_op op;
    pp_job job;
    pp_client *c = one_job_on(&e, args, PP_UNKNOWN, &op, &job);
    if (!c)
        return;
    CHECK(pp_op_error(c, op) != NULL);
    CHECK(pp_job_id(c, job) == NULL);
    pp_stats st;
    pp_get_stats(c, &st);
    CHECK_EQ_LONG(st.requests, 1);
    CHECK_EQ_LONG(st.retries, 0);
    CHECK_EQ_LONG(emu_stat(c, "requests", "POST /v1/queries"), 1);
    pp_client_free(c);
    emu_stop(&e);

    /* mixed: dropped and slow answers (past the client's timeout) on kept-
     * alive connections; every job ends, none is created twice */
    const char *mixed[] = {"--inject", "drop=0.2,slow=0.2:1s", NULL};
    if (emu_start(&e, mixed) < 0) {
        CHECK(!"mixed emulator");
        return;
    }
    c = client_with(&e, "pass1", 10, 300, 10, 10);
    pp_job all[80];
    size_t n = 0;
    char q[96];
    for (int i = 0; i < 40; i++) {
        snprintf(q, sizeof q, "{\"source\":\"google_search\",\"query\":\"single %d\"}", i);
        if (submit_one(c, q, &op, &job) == 0)
            all[n++] = job;
    }
    size_t cnt = 0;
    const pp_job *jobs;
    submit_batch(c, 40, NULL, &jobs, &cnt);
    for (size_t i = 0; i < cnt && n < 80; i++)
        all[n++] = jobs[i];
    CHECK_EQ_LONG(n, 80);
    CHECK(drive(c, 0, all, n, 60000));
    size_t unknown = 0, fetched = 0;
    for (size_t i = 0; i < n; i++) {
        unknown += pp_job_state(c, all[i]) == PP_UNKNOWN;
        fetched += pp_job_state(c, all[i]) == PP_FETCHED;
    }
    long created = -1;
    for (int k = 0; k < 20 && created < 0; k++)
        created = emu_stat(c, NULL, "jobs_created");
    printf("lost answers: %zu unknown, %zu fetched, %ld created of 80\n", unknown, fetched,
           created);
    CHECK(unknown > 0 && fetched > 0);
    CHECK(created >= 0 && created <= 80);
    pp_client_free(c);
    emu_stop(&e);
}

/* 429s and 5xx on every endpoint: polls are retried; a submission is
 * tried again only after a 429 (which creates nothing), one answered 500
 * ends unknown; nothing is created twice. */
static void test_flaky(void)
{
    emu e;
    const char *args[] = {"--inject", "500=0.25,429=0.1", "--seed", "7", NULL};
    if (emu_start(&e, args) < 0) {
        CHECK(!"flaky emulator");
        return;
    }
    pp_client *c = client_with(&e, "pass1", 20, 0, 20, 10);
    size_t cnt = 0;
    const pp_job *jobs;
    pp_op op = submit_batch(c, 100, NULL, &jobs, &cnt);
    CHECK(drive(c, op, jobs, cnt, 60000));
    size_t fetched = 0, unknown = 0;
    for (size_t i = 0; i < cnt; i++) {
        fetched += pp_job_state(c, jobs[i]) == PP_FETCHED;
        unknown += pp_job_state(c, jobs[i]) == PP_UNKNOWN;
    }
    CHECK_EQ_LONG(fetched + unknown, 100);
    CHECK(unknown % 20 == 0); /* whole chunks */
    pp_stats st;
    pp_get_stats(c, &st);
    CHECK(st.retries > 0);
    CHECK_EQ_LONG(st.submitted, fetched);
    long created = -1;
    for (int k = 0; k < 20 && created < 0; k++)
        created = emu_stat(c, NULL, "jobs_created");
    CHECK_EQ_LONG(created, (long)st.submitted);
    printf("flaky service: %llu requests, %llu retries, %zu fetched, %zu unknown of 100\n",
           (unsigned long long)st.requests, (unsigned long long)st.retries, fetched, unknown);
    pp_client_free(c);
    emu_stop(&e);
}

/* The event-loop way: watch the fds the core reports, arm one timer;
 * the results go to files in a results folder. */
static void test_socket_driver(const emu *e)
{
    pp_client *c = client_for(e, "pass1", 10);
    char *dir = temp_dir();
    pp_submit_opts opts = {dir, NULL, NULL, NULL, 0};
    size_t cnt = 0;
    const pp_job *jobs;
    pp_op op = submit_batch(c, 25, &opts, &jobs, &cnt);
    host h;
    memset(&h, 0, sizeof h);
    uint64_t end = pp_now_ms() + 30000;
    int finished = 0;
    while (pp_now_ms() < end && !finished) {
        host_step(c, &h, 500);
        finished = pp_op_done(c, op);
        for (size_t i = 0; finished && i < cnt; i++)
            finished = pp_state_is_final(pp_job_state(c, jobs[i]));
    }
    CHECK(finished);
    CHECK(h.max_watched > 0);
    /* once nothing is left nothing is due: an idle host must not spin */
    pp_socket_action(c, PP_SOCKET_TIMEOUT, 0, NULL);
    CHECK(pp_busy(c) == 0);
    CHECK(pp_timeout_ms(c) == -1);
    for (size_t i = 0; i < cnt; i++)
        CHECK(pp_job_state(c, jobs[i]) == PP_FETCHED);
    /* <dir>/<id>.json for each job, and nothing else */
    char want[256];
    snprintf(want, sizeof want, "%s/%s.json", dir, pp_job_id(c, jobs[0]));
    int temporary = -1;
    const char *path = pp_job_results_path(c, jobs[0], &temporary);
    CHECK(path && strcmp(path, want) == 0 && temporary == 0);
    CHECK(pp_job_results(c, jobs[0], NULL) == NULL);
    struct stat st;
    CHECK(stat(want, &st) == 0 && st.st_size > 20);
    char names[2048];
    snprintf(names, sizeof names, "%s", listing(dir));
    int files = 0, results = 0;
    for (char *t = strtok(names, ","); t; t = strtok(NULL, ","), files++)
        results += t[0] != '.' && strlen(t) > 5 && !strcmp(t + strlen(t) - 5, ".json");
    CHECK_EQ_LONG(files, 25);
    CHECK_EQ_LONG(results, 25);
    /* job and op events were queued */
    pp_event ev[64];
    size_t got = 0, k, ops = 0;
    while ((k = pp_take_events(c, ev, 64)) > 0) {
        for (size_t i = 0; i < k; i++)
            ops += ev[i].kind == PP_EVENT_OP && ev[i].op == op;
        got += k;
    }
    CHECK(got >= cnt * 4);
    CHECK_EQ_LONG(ops, 1);
    pp_client_free(c);
    CHECK(stat(want, &st) == 0); /* result files are the host's */
    remove_tree(dir, 0);
}

/* Results past max_buffered are spooled to files by the transport as they
 * arrive; pp_job_save_results keeps one, pp_client_free removes the rest
 * with the spool folder. */
static void test_spool(const emu *e)
{
    char *parent = temp_dir();
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = e->base;
    cfg.username = "user";
    cfg.password = "pass1";
    cfg.max_buffered = 1000;
    cfg.spool_dir = parent;
    pp_client *c = pp_client_new(&cfg, NULL);
    size_t cnt = 0;
    const pp_job *jobs;
    pp_op op = submit_batch(c, 3, NULL, &jobs, &cnt);
    pp_error err = {0};
    CHECK(drive(c, op, jobs, cnt, 10000));
    char spooled[3][256];
    for (size_t i = 0; i < cnt && i < 3; i++) {
        CHECK(pp_job_state(c, jobs[i]) == PP_FETCHED);
        CHECK(pp_job_results(c, jobs[i], NULL) == NULL);
        int temporary = 0;
        const char *p = pp_job_results_path(c, jobs[i], &temporary);
        CHECK(p && temporary == 1 && strncmp(p, parent, strlen(parent)) == 0);
        snprintf(spooled[i], sizeof spooled[i], "%s", p ? p : "");
        struct stat st;
        CHECK(stat(spooled[i], &st) == 0 && st.st_size > 1000);
    }
    CHECK(c->jobs.buffered == 0);
    char saved[256];
    snprintf(saved, sizeof saved, "%s/saved.json", parent);
    CHECK(pp_job_save_results(c, jobs[0], saved, &err) == 0);
    CHECK(access(saved, F_OK) == 0 && access(spooled[0], F_OK) != 0);
    int temporary = 1;
    CHECK(pp_job_results_path(c, jobs[0], &temporary) && temporary == 0);
    char spool[256];
    snprintf(spool, sizeof spool, "%s", c->jobs.spool_dir ? c->jobs.spool_dir : "");
    pp_client_free(c);
    CHECK(access(spool, F_OK) != 0 && access(spooled[1], F_OK) != 0);
    CHECK(access(saved, F_OK) == 0);
    remove_tree(parent, 0);
}

/* A disk that fills up while results are written: RLIMIT_FSIZE makes
 * write() fail with EFBIG past a few bytes (SIGXFSZ ignored). Every job
 * ends failed, its error naming its result file and the reason; no
 * temporary file is left and nothing is downloaded again. */
static void test_disk_full(const emu *e)
{
    char *dir = temp_dir();
    pp_client *c = client_for(e, "pass1", 50);
    pp_submit_opts opts = {0};
    opts.results_dir = dir;
    size_t cnt = 0;
    const pp_job *jobs;
    struct rlimit old, small = {64, 64};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    pp_op op = submit_batch(c, 4, &opts, &jobs, &cnt);
    CHECK(drive(c, op, jobs, cnt, 10000));
    for (size_t i = 0; i < cnt; i++) {
        CHECK(pp_job_state(c, jobs[i]) == PP_FAILED);
        const pp_error *err = pp_job_error(c, jobs[i]);
        CHECK(err && strstr(err->message, dir) && strstr(err->message, ".json") &&
              strstr(err->message, "too large"));
    }
    pp_stats st;
    pp_get_stats(c, &st);
    CHECK(st.polls <= cnt);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, was);
    CHECK(strcmp(listing(dir), "") == 0);
    pp_client_free(c);
    remove_tree(dir, 0);
}

int main(int argc, char **argv)
{
    emulator_path = argc > 1 ? argv[1] : "build/bin/pushpull-emulator";
    if (access(emulator_path, X_OK) != 0) {
        printf("SKIP: no emulator at %s (build the pushpull-emulator target first)\n",
               emulator_path);
        return SKIP;
    }
    signal(SIGPIPE, SIG_IGN);
    emu e;
    if (emu_start(&e, NULL) < 0) {
        fprintf(stderr, "cannot start %s\n", emulator_path);
        return 1;
    }
    test_single_and_ops(&e);
    test_bad_auth(&e);
    test_batch(&e, 120, 50, NULL, 1.3, 0);
    test_socket_driver(&e);
    test_spool(&e);
    test_disk_full(&e);
    emu_stop(&e);
    test_faulted();
    test_lost_answer();
    test_flaky();
    {
        const char *args[] = {"--rate-limit", "100", NULL};
        /* paced by the headers: (almost) no 429 */
        test_batch(NULL, 250, 40, args, 1.3, 3);
    }
    DONE();
}
