/* Submissions: finding the list, splitting into batch requests, pacing by
 * the rate-limit budget, local errors -- and what each answer does to the
 * jobs, answers made up and handed to the request's completion: accepted,
 * broken batch answers, refused, lost (never resent), 429 (paced again). */
#include "offline.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pp_client *client(int batch)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.base_url = "http://127.0.0.1:9/";
    cfg.batch_size = batch;
    return offline_new(&cfg);
}

static size_t list_len(const pp_req *r, const char *key)
{
    json_t *o = json_loadb(r->body, r->body_len, 0, NULL);
    size_t n = json_array_size(json_object_get(o, key));
    json_decref(o);
    return n;
}

static const char SEVEN[] = "{\"source\":\"universal\",\"url\":[\"u1\",\"u2\",\"u3\",\"u4\",\"u5\","
                            "\"u6\",\"u7\"],\"render\":\"html\"}";
static const char THREE[] = "{\"source\":\"universal\",\"url\":[\"a\",\"b\",\"c\"]}";

static void test_local_errors(void)
{
    pp_client *c = client(3);
    pp_error err = {0};
    CHECK(pp_submit(c, "{", 1, NULL, &err) == 0);
    CHECK(err.message && strstr(err.message, "invalid JSON"));
    CHECK(pp_submit(c, "[1]", 3, NULL, &err) == 0);
    CHECK(err.message && strstr(err.message, "object"));
    CHECK(pp_submit(c, "{\"source\":\"x\",\"url\":[]}", 23, NULL, &err) == 0);
    CHECK(err.message && strstr(err.message, "empty"));
    const char *both = "{\"url\":[\"a\"],\"query\":[\"b\"]}";
    CHECK(pp_submit(c, both, strlen(both), NULL, &err) == 0);
    CHECK(err.message && strstr(err.message, "only one"));
    CHECK(pp_submit(c, NULL, 0, NULL, &err) == 0);
    pp_submit_opts bad_type = {NULL, "raw&x=1", NULL, NULL, 0};
    CHECK(pp_submit(c, THREE, strlen(THREE), &bad_type, &err) == 0);
    CHECK(err.message && strstr(err.message, "results_type"));
    CHECK(pp_submit(NULL, THREE, strlen(THREE), NULL, &err) == 0);
    /* nothing was created or queued */
    CHECK_EQ_LONG(c->jobs.n, 0);
    CHECK_EQ_LONG(c->sq_len, 0);
    pp_client_free(c);
}

static void test_split(void)
{
    pp_error err = {0};
    pp_client *c = client(3);
    /* 7 values, batch size 3: three batch requests of 3, 3, 1 */
    pp_op op = pp_submit(c, SEVEN, strlen(SEVEN), NULL, &err);
    CHECK(op > 0);
    size_t n = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    CHECK_EQ_LONG(n, 7);
    for (size_t i = 0; i < n; i++)
        CHECK(pp_job_state(c, jobs[i]) == PP_NEW);
    CHECK_EQ_LONG(c->sq_len, 3);
    CHECK(pp_busy(c) >= 3);
    CHECK(pp_timeout_ms(c) == 0);
    pp_run(c);
    /* the first request learns the rate-limit budget; the rest wait for it */
    CHECK_EQ_LONG(c->tp.queued, 1);
    CHECK_EQ_LONG(c->sq_len, 2);
    CHECK_EQ_LONG(c->submits_inflight, 1);
    CHECK_EQ_LONG(c->rl_inflight, 3);
    c->rl_probed = 1; /* as if it came back without rate-limit headers */
    pp_run(c);
    /* at most PP_SUBMITS_INFLIGHT_MAX (2) submissions are out at once:
     * each answer is held whole until read */
    CHECK_EQ_LONG(c->tp.queued, 2);
    CHECK_EQ_LONG(c->rl_inflight, 6);
    CHECK_EQ_LONG(c->sq_len, 1);
    CHECK(pp_timeout_ms(c) != 0); /* nothing to do until an answer comes */
    size_t sizes[3] = {0, 0, 0};
    for (size_t k = 0; k < 3; k++) {
        pp_req *r = queued(c, k);
        if (!r)
            break;
        CHECK(strcmp(r->url, "http://127.0.0.1:9/v1/queries/batch") == 0);
        CHECK(strcmp(r->method, "POST") == 0);
        CHECK(r->repeat == PP_REPEAT_ONCE && r->high);
        sizes[k] = list_len(r, "url");
        CHECK(strstr(r->body, "\"render\":\"html\"") != NULL);
    }
    CHECK_EQ_LONG(sizes[0], 3);
    CHECK_EQ_LONG(sizes[1], 3);
    CHECK_EQ_LONG(sizes[2], 0);
    pp_req *first = queued(c, 0);
    CHECK(first && strstr(first->body, "\"u1\"") && strstr(first->body, "\"u3\"") &&
          !strstr(first->body, "\"u4\""));
    for (size_t i = 0; i < n; i++)
        CHECK(pp_job_state(c, jobs[i]) == (i < 6 ? PP_SUBMITTING : PP_NEW));
    /* an answer lets the last chunk go */
    answer_next(c, 500, PP_HDR_NONE, NULL);
    pp_run(c);
    pp_req *last = queued(c, 1);
    CHECK(last && list_len(last, "url") == 1);
    CHECK(pp_job_state(c, jobs[6]) == PP_SUBMITTING);
    pp_client_free(c);

    /* a single value goes to /v1/queries */
    c = client(0);
    const char *one = "{\"source\":\"google_search\",\"query\":\"adidas\"}";
    op = submit_text(c, one, NULL);
    CHECK(op > 0);
    first = queued(c, 0);
    CHECK(first && strcmp(first->url, "http://127.0.0.1:9/v1/queries") == 0);
    CHECK(first && strstr(first->body, "\"query\":\"adidas\""));
    pp_op_jobs(c, op, &n);
    CHECK_EQ_LONG(n, 1);
    pp_client_free(c);

    /* the values go out as they came (any JSON value, escapes kept), the
     * list after the other parameters, or alone */
    c = client(2);
    const char *mixed = "{\"url\":[\"a\\\"b\\u00e9\",7,{\"k\":[1,2]},null,\"z\"]}";
    op = submit_text(c, mixed, NULL);
    CHECK(op > 0);
    pp_run(c);
    c->rl_probed = 1;
    pp_run(c);
    first = queued(c, 0);
    pp_req *second = queued(c, 1);
    CHECK(first && strcmp(first->body, "{\"url\":[\"a\\\"b\xc3\xa9\",7]}") == 0);
    CHECK(second && strcmp(second->body, "{\"url\":[{\"k\":[1,2]},null]}") == 0);
    CHECK(first && first->body_len == strlen(first->body));
    pp_client_free(c);

    /* 12,001 values with the default batch size: 5000 + 5000 + 2001 */
    c = client(0);
    size_t cap = 12001 * 12 + 64, len = 0;
    char *big = malloc(cap);
    len += (size_t)snprintf(big + len, cap - len, "{\"source\":\"universal\",\"url\":[");
    for (int i = 0; i < 12001; i++)
        len += (size_t)snprintf(big + len, cap - len, "%s\"u%d\"", i ? "," : "", i);
    len += (size_t)snprintf(big + len, cap - len, "]}");
    op = pp_submit(c, big, len, NULL, &err);
    free(big);
    CHECK(op > 0);
    CHECK_EQ_LONG(c->sq_len, 3);
    CHECK(c->sq_head->count == 5000 && c->sq_head->next->count == 5000 &&
          c->sq_tail->count == 2001 && c->sq_tail->start == 10000);
    pp_client_free(c);
}

static void test_pacing(void)
{
    pp_error err = {0};
    /* a budget of 4 left in this window lets a 3-value chunk go and holds
     * the next one until the window ends */
    pp_client *c = client(3);
    pp_submit(c, SEVEN, strlen(SEVEN), NULL, &err);
    uint64_t now = pp_now_ms();
    pp_ratelimit_update(c, 4, 10, 202, now);
    pp_run(c);
    CHECK_EQ_LONG(c->tp.queued, 1);
    CHECK_EQ_LONG(c->sq_len, 2);
    CHECK(c->pace_timer.idx != PP_NOT_QUEUED);
    CHECK(c->pace_timer.due >= now + 1000 && c->pace_timer.due <= now + 1100);
    long t = pp_timeout_ms(c);
    CHECK(t >= 900 && t <= 1100);
    /* a later answer with more budget means a new window: go on, two
     * submissions out at a time */
    pp_ratelimit_update(c, 10, 10, 202, pp_now_ms());
    pp_run(c);
    CHECK_EQ_LONG(c->sq_len, 1);
    CHECK_EQ_LONG(c->tp.queued, 2);
    CHECK(c->pace_timer.idx == PP_NOT_QUEUED);
    pp_client_free(c);

    /* a chunk larger than the whole per-second budget is split */
    c = client(0);
    pp_submit(c, SEVEN, strlen(SEVEN), NULL, &err);
    pp_ratelimit_update(c, 2, 2, 202, pp_now_ms() - 5000);
    pp_run(c);
    CHECK_EQ_LONG(c->tp.queued, 1);
    CHECK(queued(c, 0) && list_len(queued(c, 0), "url") == 2);
    /* the rest waits, again in chunks the budget can take */
    CHECK_EQ_LONG(c->sq_len, 2);
    CHECK(c->sq_head && c->sq_head->count == 2 && c->sq_head->start == 2);
    CHECK(c->sq_tail && c->sq_tail->count == 3 && c->sq_tail->start == 4);
    /* 429: no budget left until the window ends */
    pp_ratelimit_update(c, -1, -1, 429, pp_now_ms());
    CHECK(c->rl_known && c->rl_remaining == 0);
    pp_client_free(c);

    /* the budget comes from the answers' headers, less what is in flight */
    c = client(2);
    pp_submit(c, SEVEN, strlen(SEVEN), NULL, &err);
    pp_run(c);
    pp_req *r = queued(c, 0);
    CHECK(r != NULL);
    if (r) {
        r->rl_remaining = 3;
        r->rl_limit = 3;
        answer_req(r, 202, PP_HDR_NONE, "{\"queries\":[{\"id\":\"1\"},{\"id\":\"2\"}]}");
    }
    CHECK(c->rl_known && c->rl_limit == 3 && c->rl_remaining == 3);
    pp_run(c);
    CHECK_EQ_LONG(c->tp.queued, 1); /* 2 of the 3 go; the next 2 wait */
    CHECK_EQ_LONG(c->rl_remaining, 1);
    CHECK(c->pace_timer.idx != PP_NOT_QUEUED);
    pp_client_free(c);
}

/* Submits params: the op, its jobs in *jobs. */
static pp_op submit_jobs(pp_client *c, const char *params, const pp_job **jobs, size_t *n)
{
    pp_op op = submit_text(c, params, NULL);
    *jobs = pp_op_jobs(c, op, n);
    return op;
}

/* The same, with the op's first request answered. */
static pp_op submit_answered(pp_client *c, const char *params, long status, const char *answer,
                             const pp_job **jobs, size_t *n)
{
    pp_op op = submit_jobs(c, params, jobs, n);
    answer_next(c, status, PP_HDR_NONE, answer);
    return op;
}

static int states(pp_client *c, const pp_job *jobs, size_t n, const pp_state *want)
{
    for (size_t i = 0; i < n; i++)
        if (pp_job_state(c, jobs[i]) != want[i])
            return 0;
    return 1;
}

static void test_accepted(void)
{
    pp_client *c = client(0);
    const pp_job *jobs;
    size_t n;
    pp_op op = submit_answered(
        c, THREE, 202,
        "{\"queries\":[{\"id\":\"11\",\"status\":\"pending\"},{\"id\":22,\"status\":\"pending\"},"
        "{\"id\":\"33\",\"status\":\"pending\"}]}",
        &jobs, &n);
    static const pp_state pending3[] = {PP_PENDING, PP_PENDING, PP_PENDING};
    CHECK(n == 3 && states(c, jobs, n, pending3));
    CHECK(pp_op_done(c, op) && pp_op_error(c, op) == NULL && pp_op_status(c, op) == 202);
    CHECK(strcmp(pp_job_id(c, jobs[1]), "22") == 0);
    CHECK(pp_job_info(c, jobs[2], NULL) && strstr(pp_job_info(c, jobs[2], NULL), "\"33\""));
    CHECK_EQ_LONG(c->stats.submitted, 3);
    for (size_t i = 0; i < n; i++)
        CHECK(pp_job_get(&c->jobs, jobs[i])->timer.idx != PP_NOT_QUEUED);
    pp_event ev[16];
    size_t k = pp_take_events(c, ev, 16), ops = 0;
    for (size_t i = 0; i < k; i++)
        ops += ev[i].kind == PP_EVENT_OP && ev[i].op == op;
    CHECK_EQ_LONG(ops, 1);
    pp_client_free(c);
}

/* A batch answer that names one id for every value: the first job gets
 * it, the later ones are unknown; nothing crashes, then or after. */
static void test_repeated_id(void)
{
    pp_client *c = client(0);
    const pp_job *jobs;
    size_t n;
    const char *same =
        "{\"queries\":[{\"id\":\"7\",\"status\":\"pending\"},{\"id\":\"7\"},{\"id\":7}]}";
    pp_op op = submit_answered(c, THREE, 202, same, &jobs, &n);
    static const pp_state want[] = {PP_PENDING, PP_UNKNOWN, PP_UNKNOWN};
    CHECK(n == 3 && states(c, jobs, n, want));
    CHECK(pp_job_id(c, jobs[1]) == NULL && pp_job_id(c, jobs[2]) == NULL);
    const pp_error *e = pp_job_error(c, jobs[1]);
    CHECK(e && strstr(e->message, "repeated") && e->http_status == 202);
    CHECK(pp_job_find_id(&c->jobs, "7") && pp_job_find_id(&c->jobs, "7")->h == jobs[0]);
    CHECK(pp_op_done(c, op) && pp_op_error(c, op) != NULL);
    pp_job keep[3] = {jobs[0], jobs[1], jobs[2]};
    pp_op_free(c, op);
    /* released, and submitted again: the same broken answer again */
    pp_job_release(c, keep[1]);
    pp_job_release(c, keep[2]);
    op = submit_answered(c, THREE, 202, same, &jobs, &n);
    static const pp_state all_unknown[] = {PP_UNKNOWN, PP_UNKNOWN, PP_UNKNOWN};
    CHECK(n == 3 && states(c, jobs, n, all_unknown)); /* 7 is still taken */
    CHECK(pp_job_find_id(&c->jobs, "7")->h == keep[0]);
    for (size_t i = 0; i < n; i++)
        pp_job_release(c, jobs[i]);
    pp_op_free(c, op);
    /* once the job that had it is gone, the id may come again */
    pp_job_release(c, keep[0]);
    op = submit_answered(c, THREE, 202, same, &jobs, &n);
    CHECK(n == 3 && states(c, jobs, n, want));
    /* a job attached earlier keeps its id against a submission answer */
    pp_job old = pp_attach(c, "900", NULL);
    op = submit_answered(c, "{\"source\":\"universal\",\"url\":\"x\"}", 202,
                         "{\"id\":\"900\",\"status\":\"pending\"}", &jobs, &n);
    CHECK(n == 1 && pp_job_state(c, jobs[0]) == PP_UNKNOWN);
    CHECK(pp_job_find_id(&c->jobs, "900")->h == old && pp_job_state(c, old) == PP_PENDING);
    pp_client_free(c);
}

/* Answers that do not list every job: those jobs are unknown. */
static void test_short_answers(void)
{
    pp_client *c = client(0);
    const pp_job *jobs;
    size_t n;
    submit_answered(c, THREE, 202, "{\"queries\":[{\"id\":\"41\"},{\"id\":\"42\"}]}", &jobs, &n);
    static const pp_state two[] = {PP_PENDING, PP_PENDING, PP_UNKNOWN};
    CHECK(n == 3 && states(c, jobs, n, two));
    CHECK(pp_job_error(c, jobs[2]) && strstr(pp_job_error(c, jobs[2])->message, "did not list"));
    static const char *const broken[] = {
        "{\"queries\":{\"id\":\"1\"}}",
        "{\"id\":\"51\"}",
        "not json",
        "",
        "[]",
        "{\"queries\":[null,{\"id\":\"a/b\"},{\"status\":\"pending\"}]}",
    };
    static const pp_state none[] = {PP_UNKNOWN, PP_UNKNOWN, PP_UNKNOWN};
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        pp_op op = submit_answered(c, THREE, 200, broken[i], &jobs, &n);
        CHECK(n == 3 && states(c, jobs, n, none));
        CHECK(pp_op_done(c, op) && pp_op_error(c, op) != NULL);
    }
    /* a single job whose answer has no valid id */
    submit_answered(c, "{\"source\":\"universal\",\"url\":\"x\"}", 202,
                    "{\"id\":\"../../x\",\"status\":\"pending\"}", &jobs, &n);
    CHECK(n == 1 && pp_job_state(c, jobs[0]) == PP_UNKNOWN);
    CHECK(pp_job_error(c, jobs[0]) && strstr(pp_job_error(c, jobs[0])->message, "no valid id"));
    CHECK_EQ_LONG(c->tp.queued, 0);
    pp_client_free(c);
}

/* Refused (4xx) and lost (5xx, 524, no answer) submissions: never sent
 * again. */
static void test_refused_and_lost(void)
{
    pp_client *c = client(0);
    const pp_job *jobs;
    size_t n;
    pp_op op = submit_answered(c, THREE, 400, "{\"message\":\"Unsupported source\"}", &jobs, &n);
    static const pp_state rejected[] = {PP_REJECTED, PP_REJECTED, PP_REJECTED};
    CHECK(n == 3 && states(c, jobs, n, rejected));
    const pp_error *e = pp_op_error(c, op);
    CHECK(e && strcmp(e->message, "400 Bad Request: Unsupported source") == 0);
    CHECK(e && e->http_status == 400 && e->body && strstr(e->body, "Unsupported"));
    CHECK_EQ_LONG(pp_op_status(c, op), 400);
    CHECK(pp_job_error(c, jobs[0]) && pp_job_error(c, jobs[0])->http_status == 400);

    static const long lost[] = {524, 500, 502, 503};
    static const pp_state unknown[] = {PP_UNKNOWN, PP_UNKNOWN, PP_UNKNOWN};
    for (size_t i = 0; i < sizeof lost / sizeof lost[0]; i++) {
        op = submit_answered(c, THREE, lost[i], "<html>A timeout occurred</html>", &jobs, &n);
        CHECK(n == 3 && states(c, jobs, n, unknown));
        e = pp_job_error(c, jobs[0]);
        CHECK(e && e->http_status == lost[i] && strstr(e->message, "may have created"));
        CHECK(pp_op_done(c, op) && pp_op_status(c, op) == lost[i]);
        pp_run(c);
        CHECK_EQ_LONG(c->tp.queued, 0);
        CHECK_EQ_LONG(c->sq_len, 0);
    }
    CHECK_EQ_LONG(c->stats.retries, 0);
    /* no answer after the request went out */
    submit_jobs(c, THREE, &jobs, &n);
    fail_req(queued(c, 0), CURLE_GOT_NOTHING, 300);
    CHECK(n == 3 && states(c, jobs, n, unknown));
    e = pp_job_error(c, jobs[1]);
    CHECK(e && e->http_status == 0 && strstr(e->message, "may have created"));
    pp_run(c);
    CHECK_EQ_LONG(c->tp.queued, 0);
    /* never sent, and the transport's retries spent: nothing was created */
    op = submit_jobs(c, THREE, &jobs, &n);
    fail_req(queued(c, 0), CURLE_COULDNT_CONNECT, 0);
    CHECK(n == 3 && states(c, jobs, n, rejected));
    CHECK(pp_op_error(c, op) && strstr(pp_op_error(c, op)->message, "connect"));
    pp_run(c);
    CHECK_EQ_LONG(c->tp.queued, 0);
    CHECK(pp_busy(c) == 0);
    pp_client_free(c);
}

/* 429 creates nothing: the chunk goes back to the pacer, which sends it
 * once the rate-limit window has passed. */
static void test_429(void)
{
    pp_client *c = client(0);
    size_t n;
    const pp_job *jobs;
    pp_op op = submit_jobs(c, THREE, &jobs, &n);
    uint64_t now = pp_now_ms();
    answer_next(c, 429, PP_HDR_NONE, "{\"message\":\"Too many requests\"}");
    static const pp_state submitting[] = {PP_SUBMITTING, PP_SUBMITTING, PP_SUBMITTING};
    CHECK(n == 3 && states(c, jobs, n, submitting));
    CHECK(!pp_op_done(c, op));
    CHECK_EQ_LONG(c->tp.queued, 0);
    CHECK_EQ_LONG(c->sq_len, 1);
    CHECK_EQ_LONG(c->stats.retries, 1);
    pp_run(c);
    CHECK_EQ_LONG(c->tp.queued, 0); /* not before the window ends */
    CHECK(c->pace_timer.idx != PP_NOT_QUEUED && c->pace_timer.due >= now + 1000);
    CHECK(pp_timeout_ms(c) >= 900);
    /* the window has passed */
    c->sq_head->not_before = 0;
    c->rl_window_start -= 2000;
    pp_heap_set(&c->timers, &c->pace_timer, 0);
    pp_run(c);
    CHECK_EQ_LONG(c->tp.queued, 1);
    CHECK_EQ_LONG(c->sq_len, 0);
    CHECK(queued(c, 0) && list_len(queued(c, 0), "url") == 3);
    answer_next(c, 202, PP_HDR_NONE,
                "{\"queries\":[{\"id\":\"61\"},{\"id\":\"62\"},{\"id\":\"63\"}]}");
    static const pp_state pending[] = {PP_PENDING, PP_PENDING, PP_PENDING};
    CHECK(states(c, jobs, n, pending));
    CHECK(pp_op_done(c, op) && pp_op_error(c, op) == NULL && pp_op_status(c, op) == 202);
    pp_client_free(c);
}

/* A callback that beats the submission answer is kept and handed over
 * when the id arrives: that job is checked at once, not polled later. */
static void test_early_callback(void)
{
    pp_client *c = client(0);
    const char *two = "{\"source\":\"universal\",\"url\":[\"a\",\"b\"]}";
    pp_op op = submit_text(c, two, NULL);
    const char *cb = "{\"id\":\"501\",\"status\":\"done\"}";
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 1);
    CHECK_EQ_LONG(c->early_n, 1);
    answer_next(c, 202, PP_HDR_NONE,
                "{\"queries\":[{\"id\":\"501\",\"status\":\"pending\"},"
                "{\"id\":\"502\",\"status\":\"pending\"}]}");
    size_t n;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    CHECK(pp_op_done(c, op) && pp_op_error(c, op) == NULL);
    CHECK(pp_job_state(c, jobs[0]) == PP_PENDING && pp_job_state(c, jobs[1]) == PP_PENDING);
    pp_jobrec *j0 = pp_job_get(&c->jobs, jobs[0]);
    CHECK(j0->poll_req && strstr(j0->poll_req->url, "/v1/queries/501/results"));
    CHECK(pp_job_get(&c->jobs, jobs[1])->poll_req == NULL);
    CHECK(pp_job_get(&c->jobs, jobs[1])->timer.idx != PP_NOT_QUEUED);
    CHECK_EQ_LONG(c->early_n, 0);
    CHECK_EQ_LONG(c->stats.submitted, 2);
    /* with nothing submitted, unknown ids are not kept */
    cb = "{\"id\":\"9\",\"status\":\"done\"}";
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 1);
    CHECK_EQ_LONG(c->early_n, 0);
    pp_client_free(c);
}

/* The host lets go of a submission or its jobs while it is out. */
static void test_released(void)
{
    pp_client *c = client(0);
    size_t n;
    const pp_job *jobs;
    pp_op op = submit_jobs(c, THREE, &jobs, &n);
    pp_job keep[3] = {jobs[0], jobs[1], jobs[2]};
    pp_op_free(c, op);
    pp_job_release(c, keep[1]);
    CHECK(pp_op_jobs(c, op, &n) == NULL && n == 0);
    answer_next(c, 202, PP_HDR_NONE,
                "{\"queries\":[{\"id\":\"71\"},{\"id\":\"72\"},{\"id\":\"73\"}]}");
    CHECK(pp_job_state(c, keep[0]) == PP_PENDING && pp_job_state(c, keep[2]) == PP_PENDING);
    CHECK(pp_job_find_id(&c->jobs, "72") == NULL);
    CHECK(pp_op_done(c, op) == 0 && c->ops[op - 1] == NULL); /* destroyed */
    pp_event ev[16];
    size_t k = pp_take_events(c, ev, 16);
    for (size_t i = 0; i < k; i++)
        CHECK(ev[i].kind != PP_EVENT_OP);
    pp_client_free(c);
}

int main(void)
{
    test_local_errors();
    test_split();
    test_pacing();
    test_accepted();
    test_repeated_id();
    test_short_answers();
    test_refused_and_lost();
    test_429();
    test_early_callback();
    test_released();
    DONE();
}
