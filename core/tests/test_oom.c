/* Allocation failure: every allocation the core makes fails in turn (the
 * test links with --wrap for malloc, calloc and realloc), through client
 * creation, submissions, answers, callbacks and teardown; jansson's
 * allocations are routed through the same counter. Nothing may
 * crash or leak (run under ASan or valgrind to see leaks). */
#include "client.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static long countdown = -1;     /* fail when it reaches 0; -1 never */
static long failures;

static int fail_now(void)
{
    if (countdown < 0)
        return 0;
    if (countdown-- == 0) {
        failures++;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

/* Answers a queued request the way the engine would after a transfer. */
static void answer_queued(pp_client *c, long status, const char *body)
{
    pp_req *r;
    while ((r = c->qhi_head ? c->qhi_head : c->qlo_head)) {
        if (r == c->qhi_head) {
            c->qhi_head = r->qnext;
            if (!c->qhi_head)
                c->qhi_tail = NULL;
        } else {
            c->qlo_head = r->qnext;
            if (!c->qlo_head)
                c->qlo_tail = NULL;
        }
        c->queued--;
        r->queued = 0;
        r->code = CURLE_OK;
        r->status = status;
        r->started_at = pp_now_ms();
        if (body)
            pp_buf_append(&r->resp, body, strlen(body));
        if (r->kind == PP_RK_SUBMIT)
            pp_submit_on_answer(c, r);
        else if (r->kind == PP_RK_OP)
            pp_op_on_answer(c, r);
        else
            pp_poll_on_answer(c, r);
    }
}

static pp_client *new_client(int batch_size)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "https://127.0.0.1:9";
    cfg.username = "u";
    cfg.password = "p";
    cfg.batch_size = batch_size;
    char err[64];
    return pp_client_new(&cfg, err, sizeof err);
}

static void scenario(int verify)
{
    pp_client *c = new_client(2);
    if (!c)
        return;
    pp_error e = {0};
    const char *p = "{\"source\":\"universal\",\"url\":[\"a\",\"b\",\"c\"]}";
    pp_op op = pp_submit(c, p, strlen(p), &e);
    pp_submit_pump(c);
    answer_queued(c, 202,
                  "{\"queries\":[{\"id\":\"11\",\"status\":\"pending\"},"
                  "{\"id\":\"12\",\"status\":\"pending\",\"_links\":"
                  "[{\"rel\":\"self\",\"href\":\"http://h/v1/queries/12\"}]}]}");
    c->rl_probed = 1;
    pp_submit_pump(c);
    answer_queued(c, 400, "{\"message\":\"bad\"}");
    pp_job j = pp_attach(c, "13");
    pp_watch(c, j);
    const char *cb = "{\"id\":\"11\",\"status\":\"done\"}";
    pp_feed_callback(c, cb, strlen(cb));
    answer_queued(c, 200, "{\"results\":[{\"content\":\"x\",\"status_code\":200}]}");
    pp_op r = pp_refresh(c, j);
    pp_op f = pp_fetch(c, j, "raw", NULL);
    pp_op q = pp_request(c, "POST", "/v1/schedules", "{}", 2);
    answer_queued(c, 404, "{\"message\":\"gone\"}");
    pp_event ev[8];
    while (pp_take_events(c, ev, 8) == 8)
        ;
    if (verify) {
        size_t n = 0;
        const pp_job *jobs = pp_op_jobs(c, op, &n);
        CHECK_EQ_LONG(n, 3);
        CHECK(jobs && pp_job_state(c, jobs[0]) == PP_FETCHED);
        CHECK(jobs && pp_job_state(c, jobs[1]) == PP_PENDING);
        CHECK(jobs && pp_job_state(c, jobs[2]) == PP_REJECTED);
        CHECK(jobs && strstr(pp_job_info(c, jobs[1], NULL), "https://h/v1/queries/12"));
        CHECK(jobs && strstr(pp_job_info(c, jobs[0], NULL), "\"done\""));
        CHECK(pp_job_state(c, j) == PP_EXPIRED);
        CHECK(pp_op_done(c, r) && pp_op_status(c, r) == 404);
        CHECK(pp_op_done(c, f) && pp_op_done(c, q));
    }
    pp_client_free(c);
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
    pp_op op = pp_submit(c, p, strlen(p), &e);
    pp_submit_pump(c);
    answer_queued(c, 202, "{\"id\":\"21\",\"status\":\"pending\"}");
    const char *cb = "{\"id\":\"21\",\"status\":\"done\"}";
    int rc = pp_callback_apply(c, cb, strlen(cb));
    answer_queued(c, 200, "{\"results\":[{\"content\":\"x\",\"status_code\":200}]}");
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

int main(void)
{
    /* jansson's allocations fail in turn too */
    json_set_alloc_funcs(__wrap_malloc, free);
    scenario(1);
    long n;
    for (n = 0; n < 5000; n++) {
        countdown = n;
        failures = 0;
        scenario(0);
        countdown = -1;
        if (!failures)
            break;          /* ran out of allocations to fail */
    }
    printf("failed each of %ld allocations in turn\n", n);
    CHECK(n > 50 && n < 5000);
    listen_scenario(1);
    for (n = 0; n < 5000; n++) {
        countdown = n;
        failures = 0;
        listen_scenario(0);
        countdown = -1;
        if (!failures)
            break;
    }
    printf("listener: failed each of %ld allocations in turn\n", n);
    CHECK(n > 10 && n < 5000);
    DONE();
}
