/* The poll schedule: the timers a client arms (the plan's arithmetic and
 * the estimate are test_plan.c's and test_estimate.c's), and how poll answers
 * move a job -- answers made up and handed to each poll request's own
 * completion, without a network. */
#include "offline.h"
#include "check.h"

#include <string.h>

/* ---- through a client */

static pp_client *client(int fetch)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.poll.fetch = fetch;
    return offline_new(&cfg);
}

static pp_jobrec *rec(pp_client *c, pp_job h)
{
    return pp_job_get(&c->jobs, h);
}

static void test_timers(void)
{
    pp_client *c = client(1);
    CHECK(c != NULL);
    if (!c)
        return;
    /* an attached, watched job gets one timer, due now */
    pp_job h = pp_attach(c, "1234567890123456789", NULL);
    CHECK(h > 0);
    CHECK(pp_timeout_ms(c) == -1);
    CHECK(pp_watch(c, h, NULL) == 0);
    CHECK(pp_watch(c, h, NULL) == 0);
    CHECK_EQ_LONG(c->timers.n, 1);
    CHECK(pp_timeout_ms(c) == 0);
    CHECK(pp_busy(c) == 1);
    pp_error err = {0};
    CHECK(pp_watch(c, 999, &err) == -1 && err.message && strstr(err.message, "no such job"));
    /* when it fires, its results GET waits for a connection */
    pp_run(c);
    CHECK_EQ_LONG(c->timers.n, 0);
    CHECK(rec(c, h)->poll_req != NULL);
    CHECK(queued_url(c, "/v1/queries/1234567890123456789/results"));
    CHECK_EQ_LONG(c->stats.polls, 1);

    /* a cold client asks its first submitted job at once (min_ms): what
     * it says re-plans the others */
    pp_job probe = submit_one(c, "41", NULL);
    CHECK(c->probe == probe);
    CHECK(rec(c, probe)->timer.due <= rec(c, probe)->pending_at + 200);
    /* the next one's first poll is planned from the estimate (cold: the
     * prior, a 3 s median, puts it before that) */
    pp_job s = submit_one(c, "42", NULL);
    pp_jobrec *j = rec(c, s);
    CHECK(j && j->state == PP_PENDING && j->watched);
    if (!j) {
        pp_client_free(c);
        return;
    }
    uint64_t now = pp_now_ms();
    CHECK(j->pending_at <= now && j->pending_at + 1000 > now);
    CHECK(j->timer.idx != PP_NOT_QUEUED);
    uint64_t cold = j->timer.due - j->pending_at;
    CHECK(cold >= 1000 && cold <= 3000);
    CHECK_EQ_LONG(j->pj.polls, 1);
    /* once jobs are seen to take 10 s, the first poll moves out */
    for (int i = 0; i < 200; i++) {
        pp_estimate_pending(&c->est, 0, 9800, pp_now_ms());
        pp_estimate_ended(&c->est, 9800, 10200, pp_now_ms());
    }
    pp_sched_first(c, j);
    CHECK(j->timer.due - j->pending_at > cold + 2000);
    pp_client_free(c);
}

/* A cold client's probe that finds its job done at once re-plans the first
 * polls still waiting: a batch of quick jobs is not kept for the prior. */
static void test_cold_probe(void)
{
    pp_client *c = client(1);
    pp_job probe = submit_one(c, "41", NULL);
    pp_job others[4];
    uint64_t due[4];
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", 42 + i);
        others[i] = submit_one(c, id, NULL);
        due[i] = rec(c, others[i])->timer.due;
        CHECK(due[i] >= rec(c, others[i])->pending_at + 1000);
    }
    CHECK(c->probe == probe);
    poll_now(c, probe);
    answer_for(c, "/v1/queries/41/results", 200, PP_HDR_DONE, "{\"results\":[]}");
    CHECK(pp_job_state(c, probe) == PP_FETCHED);
    CHECK(c->probe == 0);
    for (int i = 0; i < 4; i++)
        CHECK(rec(c, others[i])->timer.due < due[i]);
    pp_client_free(c);
}

enum { RESULTS_GET = 1, STATUS_GET = 2 };

/* Makes the job's poll go out if none is, and answers it. Returns which
 * request it was, 0 when none went out. */
static int answer(pp_client *c, pp_job h, long status, int jobhdr, const char *body)
{
    pp_jobrec *j = rec(c, h);
    if (j && !j->poll_req)
        poll_now(c, h);
    pp_req *r = j ? j->poll_req : NULL;
    if (!r)
        return 0;
    int kind = strstr(r->url, "/results") ? RESULTS_GET : STATUS_GET;
    answer_req(r, status, jobhdr, body);
    return kind;
}

static pp_job watched(pp_client *c, const char *id)
{
    pp_job h = pp_attach(c, id, NULL);
    pp_watch(c, h, NULL);
    return h;
}

static const char OK[] = "{\"results\":[{\"content\":\"x\",\"status_code\":200}]}";

static void test_answers(void)
{
    pp_client *c = client(1);
    CHECK(c != NULL);
    if (!c)
        return;
    pp_event ev[32];

    /* 204 pending: still pending, the next poll scheduled; then 200:
     * pending -> done -> fetching -> fetched, results kept */
    pp_job a = watched(c, "100");
    pp_take_events(c, ev, 32);
    CHECK(answer(c, a, 204, PP_HDR_PENDING, NULL) == RESULTS_GET);
    CHECK(pp_job_state(c, a) == PP_PENDING);
    CHECK(rec(c, a)->timer.idx != PP_NOT_QUEUED && rec(c, a)->timer.due > pp_now_ms());
    CHECK(rec(c, a)->poll_req == NULL && c->tp.queued == 0);
    double learned = pp_estimate_jobs(&c->est);
    CHECK(answer(c, a, 200, PP_HDR_NONE, OK) == RESULTS_GET);
    CHECK(pp_job_state(c, a) == PP_FETCHED);
    size_t n = pp_take_events(c, ev, 32);
    CHECK_EQ_LONG(n, 3);
    CHECK(ev[0].state == PP_DONE && ev[1].state == PP_FETCHING && ev[2].state == PP_FETCHED);
    size_t len;
    const char *kept = pp_job_results(c, a, &len);
    CHECK(kept && len == strlen(OK) && memcmp(kept, OK, len) == 0);
    CHECK(rec(c, a)->timer.idx == PP_NOT_QUEUED);
    CHECK(pp_job_error(c, a) == NULL);
    CHECK(pp_estimate_jobs(&c->est) > learned); /* its time taught the estimate */
    CHECK(c->jobs.buffered == strlen(OK));
    pp_job_drop_results(c, a);
    CHECK(pp_job_results(c, a, &len) == NULL && c->jobs.buffered == 0);

    /* faulted: 204 with the header; 200 whose results all say 613 */
    pp_job b = watched(c, "101");
    answer(c, b, 204, PP_HDR_FAULTED, NULL);
    CHECK(pp_job_state(c, b) == PP_FAULTED);
    CHECK(pp_job_error(c, b) && strstr(pp_job_error(c, b)->message, "faulted"));
    pp_job b2 = watched(c, "102");
    answer(c, b2, 200, PP_HDR_NONE, "{\"results\":[{\"status_code\":613},{\"status_code\":613}]}");
    CHECK(pp_job_state(c, b2) == PP_FAULTED);
    CHECK(pp_job_error(c, b2) != NULL);
    CHECK(pp_job_results(c, b2, NULL) == NULL);
    pp_job b3 = watched(c, "103");
    answer(c, b3, 200, PP_HDR_NONE, "{\"results\":[{\"status_code\":613},{\"status_code\":200}]}");
    CHECK(pp_job_state(c, b3) == PP_FETCHED);
    pp_job b4 = watched(c, "104");
    answer(c, b4, 200, PP_HDR_FAULTED, "{\"results\":[]}");
    CHECK(pp_job_state(c, b4) == PP_FAULTED);

    /* expiry: 404, or 204 saying done (the results are gone) */
    pp_job e1 = watched(c, "105");
    answer(c, e1, 404, PP_HDR_NONE, "{\"message\":\"Job not found.\"}");
    CHECK(pp_job_state(c, e1) == PP_EXPIRED);
    CHECK(pp_job_error(c, e1) && pp_job_error(c, e1)->http_status == 404);
    CHECK(pp_job_error(c, e1) && strstr(pp_job_error(c, e1)->message, "Job not found."));
    pp_job e2 = watched(c, "106");
    answer(c, e2, 204, PP_HDR_DONE, NULL);
    CHECK(pp_job_state(c, e2) == PP_EXPIRED);

    /* 204s without a header: after three, the next poll asks the status;
     * a status saying done brings the results right after */
    pp_job s = watched(c, "107");
    for (int i = 0; i < 3; i++)
        CHECK(answer(c, s, 204, PP_HDR_NONE, NULL) == RESULTS_GET);
    CHECK(answer(c, s, 200, PP_HDR_NONE, "{\"id\":\"107\",\"status\":\"pending\"}") == STATUS_GET);
    CHECK(pp_job_state(c, s) == PP_PENDING);
    CHECK(pp_job_info(c, s, NULL) && strstr(pp_job_info(c, s, NULL), "pending"));
    for (int i = 0; i < 3; i++)
        CHECK(answer(c, s, 204, PP_HDR_NONE, NULL) == RESULTS_GET);
    CHECK(answer(c, s, 200, PP_HDR_NONE, "{\"id\":\"107\",\"status\":\"done\"}") == STATUS_GET);
    CHECK(pp_job_state(c, s) == PP_FETCHING);
    CHECK(rec(c, s)->poll_req && strstr(rec(c, s)->poll_req->url, "/v1/queries/107/results"));
    CHECK(answer(c, s, 200, PP_HDR_NONE, OK) == RESULTS_GET);
    CHECK(pp_job_state(c, s) == PP_FETCHED);
    CHECK(pp_job_info(c, s, NULL) && strstr(pp_job_info(c, s, NULL), "\"done\""));
    /* a status saying faulted */
    pp_job s2 = watched(c, "108");
    rec(c, s2)->status_next = 1;
    CHECK(answer(c, s2, 200, PP_HDR_NONE, "{\"id\":\"108\",\"status\":\"faulted\"}") == STATUS_GET);
    CHECK(pp_job_state(c, s2) == PP_FAULTED);
    CHECK(pp_job_error(c, s2) && pp_job_error(c, s2)->body &&
          strstr(pp_job_error(c, s2)->body, "faulted"));

    /* a server error after retries, or no answer at all: still pending,
     * polled again later (slower), no error shown */
    pp_job x = watched(c, "109");
    answer(c, x, 500, PP_HDR_NONE, "oops");
    CHECK(pp_job_state(c, x) == PP_PENDING);
    CHECK(rec(c, x)->timer.idx != PP_NOT_QUEUED);
    CHECK(pp_job_error(c, x) == NULL);
    poll_now(c, x);
    CHECK(rec(c, x)->poll_req != NULL);
    fail_req(rec(c, x)->poll_req, CURLE_COULDNT_CONNECT, 0);
    CHECK(pp_job_state(c, x) == PP_PENDING && rec(c, x)->poll_req == NULL);
    CHECK(rec(c, x)->timer.idx != PP_NOT_QUEUED);
    CHECK(rec(c, x)->timer.due >= pp_now_ms() + 4000); /* max_ms, jittered */

    /* the download of a done job answers 204 (the service lags): back to
     * done, tried again after a backoff; then the results */
    pp_job y = watched(c, "110");
    rec(c, y)->status_next = 1;
    answer(c, y, 200, PP_HDR_NONE, "{\"id\":\"110\",\"status\":\"done\"}");
    CHECK(pp_job_state(c, y) == PP_FETCHING);
    answer(c, y, 204, PP_HDR_NONE, NULL);
    CHECK(pp_job_state(c, y) == PP_DONE);
    CHECK(rec(c, y)->poll_req == NULL && rec(c, y)->timer.idx != PP_NOT_QUEUED);
    CHECK(answer(c, y, 200, PP_HDR_NONE, OK) == RESULTS_GET);
    CHECK(pp_job_state(c, y) == PP_FETCHED);

    /* a job released while its poll is out: the answer is dropped */
    pp_job gone = watched(c, "111");
    pp_run(c);
    pp_req *r = rec(c, gone)->poll_req;
    CHECK(r != NULL);
    size_t held = c->jobs.buffered;
    pp_job_release(c, gone);
    CHECK(pp_job_state(c, gone) == PP_NEW && pp_job_id(c, gone) == NULL);
    if (r)
        answer_req(r, 200, PP_HDR_NONE, OK);
    CHECK(pp_job_find_id(&c->jobs, "111") == NULL);
    CHECK(c->jobs.buffered == held);
    pp_client_free(c);

    /* poll.fetch = 0: status polls; done stops at done */
    c = client(0);
    pp_job z = watched(c, "112");
    CHECK(answer(c, z, 200, PP_HDR_NONE, "{\"id\":\"112\",\"status\":\"pending\"}") == STATUS_GET);
    CHECK(answer(c, z, 200, PP_HDR_NONE, "{\"id\":\"112\",\"status\":\"done\"}") == STATUS_GET);
    CHECK(pp_job_state(c, z) == PP_DONE);
    CHECK(rec(c, z)->poll_req == NULL);
    CHECK(pp_busy(c) == 0);
    pp_client_free(c);

    /* the results type of a submission goes into its polls */
    c = client(1);
    pp_submit_opts opts = {NULL, "parsed", NULL, NULL, 0};
    pp_job t = submit_one(c, "113", &opts);
    poll_now(c, t);
    CHECK(queued_url(c, "/v1/queries/113/results?type=parsed"));
    pp_client_free(c);
}

int main(void)
{
    test_timers();
    test_cold_probe();
    test_answers();
    DONE();
}
