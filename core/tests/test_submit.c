/* Submissions: finding the list, splitting into batch requests, pacing by
 * the rate-limit budget, and local errors. No network: requests are only
 * queued, never started. */
#include "client.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pp_client *client(int batch)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9/";
    cfg.batch_size = batch;
    return pp_client_new(&cfg, NULL, 0);
}

static size_t list_len(const pp_req *r, const char *key)
{
    json_t *o = json_loadb(r->body, r->body_len, 0, NULL);
    size_t n = json_array_size(json_object_get(o, key));
    json_decref(o);
    return n;
}

int main(void)
{
    pp_error err = {0};
    pp_client *c = client(3);
    CHECK(c != NULL);

    /* local errors */
    CHECK(pp_submit(c, "{", 1, &err) == 0);
    CHECK(err.message && strstr(err.message, "invalid JSON"));
    CHECK(pp_submit(c, "[1]", 3, &err) == 0);
    CHECK(pp_submit(c, "{\"source\":\"x\",\"url\":[]}", 23, &err) == 0);
    CHECK(strstr(err.message, "empty") != NULL);
    const char *both = "{\"url\":[\"a\"],\"query\":[\"b\"]}";
    CHECK(pp_submit(c, both, strlen(both), &err) == 0);

    /* 7 values, batch size 3: three batch requests of 3, 3, 1 */
    const char *p = "{\"source\":\"universal\",\"url\":[\"u1\",\"u2\",\"u3\",\"u4\",\"u5\",\"u6\",\"u7\"],\"render\":\"html\"}";
    pp_op op = pp_submit(c, p, strlen(p), &err);
    CHECK(op > 0);
    size_t n = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    CHECK_EQ_LONG(n, 7);
    for (size_t i = 0; i < n; i++)
        CHECK(pp_job_state(c, jobs[i]) == PP_NEW);
    CHECK_EQ_LONG(c->sq_len, 3);
    CHECK(pp_busy(c) >= 3);
    CHECK(pp_timeout_ms(c) == 0);
    pp_submit_pump(c);
    /* the first request learns the rate-limit budget; the rest wait for it */
    CHECK_EQ_LONG(c->queued, 1);
    CHECK_EQ_LONG(c->sq_len, 2);
    CHECK_EQ_LONG(c->submits_inflight, 1);
    CHECK_EQ_LONG(c->rl_inflight, 3);
    c->rl_probed = 1;      /* as if it came back without rate-limit headers */
    pp_submit_pump(c);
    CHECK_EQ_LONG(c->queued, 3);
    CHECK_EQ_LONG(c->rl_inflight, 7);
    size_t sizes[3] = {0, 0, 0};
    int k = 0;
    for (pp_req *r = c->qhi_head; r && k < 3; r = r->qnext, k++) {
        CHECK(strcmp(r->url, "http://127.0.0.1:9/v1/queries/batch") == 0);
        CHECK(strcmp(r->method, "POST") == 0);
        CHECK(r->retry_kind == 2);
        sizes[k] = list_len(r, "url");
        CHECK(strstr(r->body, "\"render\":\"html\"") != NULL);
    }
    CHECK_EQ_LONG(sizes[0], 3);
    CHECK_EQ_LONG(sizes[1], 3);
    CHECK_EQ_LONG(sizes[2], 1);
    CHECK(strstr(c->qhi_head->body, "\"u1\"") && strstr(c->qhi_head->body, "\"u3\"") &&
          !strstr(c->qhi_head->body, "\"u4\""));
    for (size_t i = 0; i < n; i++)
        CHECK(pp_job_state(c, jobs[i]) == PP_SUBMITTING);
    pp_client_free(c);

    /* a single value goes to /v1/queries */
    c = client(0);
    const char *one = "{\"source\":\"google_search\",\"query\":\"adidas\"}";
    op = pp_submit(c, one, strlen(one), &err);
    CHECK(op > 0);
    pp_submit_pump(c);
    CHECK(c->qhi_head && strcmp(c->qhi_head->url, "http://127.0.0.1:9/v1/queries") == 0);
    CHECK(c->qhi_head && strstr(c->qhi_head->body, "\"query\":\"adidas\""));
    pp_op_jobs(c, op, &n);
    CHECK_EQ_LONG(n, 1);
    pp_client_free(c);

    /* 12,001 values with the default batch size: 5000 + 5000 + 2001 */
    c = client(0);
    size_t cap = 12001 * 12 + 64, len = 0;
    char *big = malloc(cap);
    len += (size_t)snprintf(big + len, cap - len, "{\"source\":\"universal\",\"url\":[");
    for (int i = 0; i < 12001; i++)
        len += (size_t)snprintf(big + len, cap - len, "%s\"u%d\"", i ? "," : "", i);
    len += (size_t)snprintf(big + len, cap - len, "]}");
    op = pp_submit(c, big, len, &err);
    free(big);
    CHECK(op > 0);
    CHECK_EQ_LONG(c->sq_len, 3);
    CHECK(c->sq_head->count == 5000 && c->sq_head->next->count == 5000 &&
          c->sq_tail->count == 2001 && c->sq_tail->start == 10000);
    pp_client_free(c);

    /* pacing: a budget of 4 left in this window lets a 3-value chunk go
     * and holds the next one until the window ends */
    c = client(3);
    op = pp_submit(c, p, strlen(p), &err);
    uint64_t now = pp_now_ms();
    pp_ratelimit_update(c, 4, 10, 202, now);
    pp_submit_pump(c);
    CHECK_EQ_LONG(c->queued, 1);
    CHECK_EQ_LONG(c->sq_len, 2);
    CHECK(c->pace_timer.idx != PP_NOT_QUEUED);
    CHECK(c->pace_timer.due >= now + 1000 && c->pace_timer.due <= now + 1100);
    long t = pp_timeout_ms(c);
    CHECK(t == 0);    /* the queued request still wants a slot */
    /* a later answer with more budget means a new window: go on */
    pp_ratelimit_update(c, 10, 10, 202, pp_now_ms());
    pp_submit_pump(c);
    CHECK_EQ_LONG(c->sq_len, 0);
    CHECK_EQ_LONG(c->queued, 3);
    CHECK(c->pace_timer.idx == PP_NOT_QUEUED);
    pp_client_free(c);

    /* a chunk larger than the whole per-second budget is split */
    c = client(0);
    op = pp_submit(c, p, strlen(p), &err);
    pp_ratelimit_update(c, 2, 2, 202, pp_now_ms() - 5000);
    pp_submit_pump(c);
    CHECK_EQ_LONG(c->queued, 1);
    CHECK(c->qhi_head && list_len(c->qhi_head, "url") == 2);
    /* the rest waits, again in chunks the budget can take */
    CHECK_EQ_LONG(c->sq_len, 2);
    CHECK(c->sq_head && c->sq_head->count == 2 && c->sq_head->start == 2);
    CHECK(c->sq_tail && c->sq_tail->count == 3 && c->sq_tail->start == 4);
    /* 429: no budget left until the window ends */
    pp_ratelimit_update(c, -1, -1, 429, pp_now_ms());
    CHECK(c->rl_known && c->rl_remaining == 0);
    pp_client_free(c);

    /* a callback that beats the submission answer is applied on arrival
     * of the id: that job is downloaded at once, not polled */
    c = client(0);
    const char *two = "{\"source\":\"universal\",\"url\":[\"a\",\"b\"]}";
    op = pp_submit(c, two, strlen(two), &err);
    pp_submit_pump(c);
    pp_req *r = c->qhi_head;
    CHECK(r && r->kind == PP_RK_SUBMIT);
    c->qhi_head = c->qhi_tail = NULL;
    c->queued = 0;
    const char *cb = "{\"id\":\"501\",\"status\":\"done\"}";
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 1);
    r->code = CURLE_OK;
    r->status = 202;
    const char *ans = "{\"queries\":[{\"id\":\"501\",\"status\":\"pending\"},"
                      "{\"id\":\"502\",\"status\":\"pending\"}]}";
    pp_buf_append(&r->resp, ans, strlen(ans));
    pp_submit_on_answer(c, r);
    jobs = pp_op_jobs(c, op, &n);
    CHECK(pp_op_done(c, op) && pp_op_error(c, op) == NULL);
    CHECK(pp_job_state(c, jobs[0]) == PP_FETCHING);
    CHECK(pp_job_state(c, jobs[1]) == PP_PENDING);
    CHECK(pp_job_get(c, jobs[1])->timer.idx != PP_NOT_QUEUED);
    CHECK(c->early == NULL || json_object_size(c->early) == 0);
    CHECK_EQ_LONG(c->stats.submitted, 2);
    /* with nothing submitted, unknown ids are not kept */
    cb = "{\"id\":\"9\",\"status\":\"done\"}";
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 1);
    CHECK(c->early == NULL || json_object_size(c->early) == 0);
    pp_client_free(c);
    DONE();
}
