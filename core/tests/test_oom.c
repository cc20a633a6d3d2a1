/* Allocation failure: every allocation the core makes fails in turn (the
 * test links with --wrap for malloc, calloc and realloc; jansson's go
 * through the same counter), over a flow that covers client creation,
 * batch submissions and their answers (accepted, refused, 429, lost),
 * callbacks before and after ids, polls, result files, spooling past the
 * memory budget, saving, operations, the listener and teardown. Nothing
 * may crash or leak (run under ASan to see leaks). */
#include "offline.h"
#include "check.h"
#include "files.h"
#include "failing_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir; /* results and spool files */

static pp_client *new_client(int batch_size)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.base_url = "https://127.0.0.1:9";
    cfg.username = "u";
    cfg.password = "p";
    cfg.batch_size = batch_size;
    cfg.max_buffered = 100;
    cfg.spool_dir = dir;
    return offline_new(&cfg);
}

static void feed(pp_client *c, const char *id, const char *status)
{
    char cb[96];
    snprintf(cb, sizeof cb, "{\"id\":\"%s\",\"status\":\"%s\"}", id, status);
    pp_feed_callback(c, cb, strlen(cb));
}

static const char SMALL[] = "{\"results\":[{\"content\":\"x\",\"status_code\":200}]}";
static const char BIG[] = "{\"results\":[{\"content\":\"0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789\",\"status_code\":200}]}";

static void scenario(int verify)
{
    pp_client *c = new_client(2);
    if (!c)
        return;
    pp_error e = {0};
    pp_submit_opts to_dir = {dir, NULL, NULL, NULL, 0};
    /* a batch of 3 in chunks of 2 and 1, results to files; a callback
     * that comes before the ids */
    pp_op op = submit_text(c, "{\"source\":\"universal\",\"url\":[\"a\",\"b\",\"c\"]}", &to_dir);
    feed(c, "11", "done");
    answer_for(c, "/batch", 202, PP_HDR_NONE,
               "{\"queries\":[{\"id\":\"11\",\"status\":\"pending\",\"_links\":"
               "[{\"rel\":\"self\",\"href\":\"http://127.0.0.1:9/v1/queries/11\"},"
               "{\"rel\":\"x\",\"href\":\"https://elsewhere/\"}]},"
               "{\"id\":\"12\",\"status\":\"pending\"}]}");
    pp_run(c);
    answer_for(c, "/batch", 400, PP_HDR_NONE, "{\"message\":\"bad\"}");
    /* 11: downloaded at once to its file */
    answer_for(c, "/v1/queries/11/results", 200, PP_HDR_DONE, SMALL);
    /* 12: polled, said pending; a faulted claim that the status confirms */
    size_t n = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    if (n == 3)
        poll_now(c, jobs[1]);
    answer_for(c, "/v1/queries/12/results", 204, PP_HDR_PENDING, NULL);
    feed(c, "12", "faulted");
    answer_for(c, "/v1/queries/12", 200, PP_HDR_NONE, "{\"id\":\"12\",\"status\":\"faulted\"}");

    /* 13: attached, its results past the budget: spooled, then saved */
    pp_job a = pp_attach(c, "13", &e);
    pp_watch(c, a, &e);
    pp_run(c);
    answer_for(c, "/v1/queries/13/results", 200, PP_HDR_NONE, BIG);
    char saved[128];
    snprintf(saved, sizeof saved, "%s/saved.json", dir);
    int saved_rc = pp_job_save_results(c, a, saved, &e);

    /* a single job: 429, paced, then accepted; another lost (524) */
    pp_op one = submit_text(c, "{\"source\":\"universal\",\"url\":\"d\"}", NULL);
    answer_for(c, "/v1/queries", 429, PP_HDR_NONE, NULL);
    if (c->sq_head) {
        c->sq_head->not_before = 0;
        c->rl_window_start = 0;
        pp_heap_set(&c->timers, &c->pace_timer, 0);
    }
    pp_run(c);
    answer_for(c, "/v1/queries", 202, PP_HDR_NONE, "{\"id\":\"14\",\"status\":\"pending\"}");
    pp_op lost = submit_text(c, "{\"source\":\"universal\",\"url\":\"e\"}", NULL);
    answer_for(c, "/v1/queries", 524, PP_HDR_NONE, "<html>timeout</html>");

    /* operations on a job the service forgot; a download to a file */
    pp_job old = pp_attach(c, "15", &e);
    pp_op r = pp_refresh(c, old, &e);
    pp_op f = pp_fetch(c, old, "raw", NULL, &e);
    pp_op q = pp_request(c, "POST", "/v1/schedules", "{}", 2, &e);
    while (answer_next(c, 404, PP_HDR_NONE, "{\"message\":\"gone\"}"))
        ;
    char fetched[128];
    snprintf(fetched, sizeof fetched, "%s/fetched.json", dir);
    pp_op ff = n == 3 ? pp_fetch(c, jobs[0], NULL, fetched, &e) : 0;
    answer_next(c, 200, PP_HDR_NONE, SMALL);
    drain_events(c);
    if (verify) {
        CHECK_EQ_LONG(n, 3);
        CHECK(n == 3 && pp_job_state(c, jobs[0]) == PP_FETCHED);
        CHECK(n == 3 && pp_job_state(c, jobs[1]) == PP_FAULTED);
        CHECK(n == 3 && pp_job_state(c, jobs[2]) == PP_REJECTED);
        CHECK(n == 3 && strstr(pp_job_info(c, jobs[0], NULL), "https://127.0.0.1:9/v1/queries/11"));
        CHECK(n == 3 && !strstr(pp_job_info(c, jobs[0], NULL), "elsewhere"));
        CHECK(n == 3 && strstr(pp_job_info(c, jobs[1], NULL), "faulted"));
        CHECK(n == 3 && pp_job_results_path(c, jobs[0], NULL) != NULL);
        CHECK(pp_job_state(c, a) == PP_FETCHED && saved_rc == 0);
        CHECK(pp_job_results_path(c, a, NULL) &&
              strcmp(pp_job_results_path(c, a, NULL), saved) == 0);
        size_t k = 0;
        const pp_job *oj = pp_op_jobs(c, one, &k);
        CHECK(k == 1 && pp_job_state(c, oj[0]) == PP_PENDING);
        oj = pp_op_jobs(c, lost, &k);
        CHECK(k == 1 && pp_job_state(c, oj[0]) == PP_UNKNOWN);
        CHECK(pp_job_state(c, old) == PP_EXPIRED);
        CHECK(pp_op_done(c, r) && pp_op_status(c, r) == 404);
        CHECK(pp_op_done(c, f) && pp_op_done(c, q));
        CHECK(pp_op_done(c, ff) && pp_op_error(c, ff) == NULL && access(fetched, F_OK) == 0);
        CHECK(c->jobs.spool_dir != NULL);
    }
    pp_client_free(c);
    remove_tree(dir, 1);
}

/* The callback listener: starting, allowlists, a job expecting a callback
 * (fed as the handler would), stopping, teardown while listening. */
static void listen_scenario(int verify)
{
    pp_client *c = new_client(0);
    if (!c)
        return;
    pp_listen_config lc;
    pp_listen_config_init(&lc);
    const char *allow[] = {"127.0.0.1", "::1"};
    lc.allow = allow;
    lc.allow_count = 2;
    pp_error e = {0};
    int listening = pp_listen(c, &lc, &e) == 0;
    if (verify)
        CHECK(listening);
    (void)pp_listen_allow(c, allow, 1, &e);
    char p[200];
    snprintf(p, sizeof p, "{\"source\":\"universal\",\"url\":\"a\",\"callback_url\":\"%s\"}",
             pp_listen_url(c) ? pp_listen_url(c) : "http://x/");
    pp_op op = submit_text(c, p, NULL);
    answer_for(c, "/v1/queries", 202, PP_HDR_NONE, "{\"id\":\"21\",\"status\":\"pending\"}");
    const char *cb = "{\"id\":\"21\",\"status\":\"done\"}";
    int rc = pp_callback_take(c, cb, strlen(cb));
    pp_run(c);
    answer_for(c, "/v1/queries/21/results", 200, PP_HDR_NONE, SMALL);
    if (verify) {
        size_t n = 0;
        const pp_job *jobs = pp_op_jobs(c, op, &n);
        CHECK_EQ_LONG(rc, 0);
        CHECK(n == 1 && pp_job_state(c, jobs[0]) == PP_FETCHED);
    }
    pp_listen_stop(c);
    (void)pp_listen(c, NULL, &e);
    pp_client_free(c);
}

static long every_failure(void (*run)(int))
{
    long n;
    for (n = 0; n < 20000; n++) {
        countdown = n;
        failures = 0;
        run(0);
        countdown = -1;
        if (!failures)
            break; /* ran out of allocations to fail */
    }
    return n;
}

int main(void)
{
    /* on a memory filesystem when there is one: each run fsyncs files */
    dir = temp_dir_in(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!dir)
        return 1;
    /* jansson's allocations fail in turn too */
    json_set_alloc_funcs(__wrap_malloc, free);
    scenario(1);
    long n = every_failure(scenario);
    printf("failed each of %ld allocations in turn\n", n);
    CHECK(n > 300 && n < 20000);
    listen_scenario(1);
    n = every_failure(listen_scenario);
    printf("listener: failed each of %ld allocations in turn\n", n);
    CHECK(n > 10 && n < 20000);
    remove_tree(dir, 0);
    DONE();
}
