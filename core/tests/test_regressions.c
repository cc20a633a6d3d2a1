/* Bugs the core once had, one check each, kept so they stay fixed:
 *
 *   results_in_base_url   a status poll was told from a results poll by
 *                         looking for "/results" in the whole URL: with a
 *                         base_url whose path contains it, a status answer
 *                         was taken for the job's results.
 *   max_retries_429       a submission answered 429 went back to the pacer
 *                         up to 20 times whatever max_retries said (0 =
 *                         none).
 *   fault_claim_during_poll
 *                         a faulted callback that came while a results
 *                         poll was out was checked with a results GET, not
 *                         the status GET pp_feed_callback promises. */
#include "offline.h"
#include "check.h"

#include <string.h>

static void results_in_base_url(void)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.base_url = "http://127.0.0.1:9/results-gateway";
    cfg.poll.fetch = 0; /* status polls */
    pp_client *c = offline_new(&cfg);
    pp_job h = pp_attach(c, "1", NULL);
    pp_watch(c, h, NULL);
    pp_run(c);
    pp_req *r = queued_url(c, "/results-gateway/v1/queries/1");
    CHECK(r != NULL);
    if (r)
        answer_req(r, 200, PP_HDR_NONE, "{\"id\":\"1\",\"status\":\"pending\"}");
    CHECK(pp_job_state(c, h) == PP_PENDING);
    CHECK(pp_job_results(c, h, NULL) == NULL);
    pp_client_free(c);
}

static void max_retries_429(void)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.max_retries = 0;
    pp_client *c = offline_new(&cfg);
    pp_op op = submit_text(c, "{\"source\":\"universal\",\"url\":\"x\"}", NULL);
    answer_next(c, 429, PP_HDR_NONE, "{\"message\":\"Too many requests\"}");
    size_t n = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    CHECK(n == 1 && pp_job_state(c, jobs[0]) == PP_REJECTED);
    CHECK(pp_op_done(c, op) && pp_op_status(c, op) == 429);
    CHECK_EQ_LONG(c->sq_len, 0);
    CHECK_EQ_LONG(c->stats.retries, 0);
    pp_client_free(c);
}

static void fault_claim_during_poll(void)
{
    pp_client *c = offline_client();
    pp_job h = pp_attach(c, "1", NULL);
    pp_watch(c, h, NULL);
    pp_run(c);
    pp_jobrec *j = pp_job_get(&c->jobs, h);
    CHECK(j->poll_req && strstr(j->poll_req->url, "/results"));
    const char *cb = "{\"id\":\"1\",\"status\":\"faulted\"}";
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0);
    if (j->poll_req)
        answer_req(j->poll_req, 204, PP_HDR_PENDING, NULL); /* sent before the claim */
    pp_run(c);
    CHECK(queued_url(c, "/v1/queries/1") != NULL); /* the status GET */
    CHECK_EQ_LONG(j->lags, 0);
    pp_client_free(c);
}

int main(void)
{
    results_in_base_url();
    max_retries_429();
    fault_claim_during_poll();
    DONE();
}
