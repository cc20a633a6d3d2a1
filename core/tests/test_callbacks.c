/* Callbacks are hints, never proof: a job said done is downloaded at once
 * (the results are the proof), one said faulted gets one status GET that
 * must confirm it, at most once per backoff step however many (forged)
 * callbacks come, and a callback body never becomes the job's info.
 * Answers are made up and handed to each request's completion. */
#include "offline.h"
#include "check.h"

#include <string.h>

static pp_jobrec *rec(pp_client *c, pp_job h)
{
    return pp_job_get(&c->jobs, h);
}

static int feed(pp_client *c, const char *id, const char *status)
{
    char cb[256];
    snprintf(cb, sizeof cb,
             "{\"id\":\"%s\",\"status\":\"%s\",\"note\":\"forged\","
             "\"_links\":[{\"rel\":\"results\",\"href\":\"https://evil.test/r\"}]}",
             id, status);
    return pp_feed_callback(c, cb, strlen(cb));
}

static const char OK[] = "{\"results\":[{\"content\":\"x\",\"status_code\":200}]}";

static void test_done(pp_client *c)
{
    /* a done callback: the results GET goes out at once;
     * the job stays pending until the results come */
    pp_job h = submit_one(c, "200", NULL);
    pp_jobrec *j = rec(c, h);
    size_t il = 0;
    const char *info = pp_job_info(c, h, &il);
    char before[256];
    snprintf(before, sizeof before, "%s", info ? info : "");
    uint64_t polls = c->stats.polls;
    CHECK_EQ_LONG(feed(c, "200", "done"), 0);
    CHECK(pp_job_state(c, h) == PP_PENDING);
    CHECK(j->poll_req && strstr(j->poll_req->url, "/v1/queries/200/results"));
    CHECK(j->timer.idx == PP_NOT_QUEUED);
    CHECK_EQ_LONG(c->stats.polls, polls + 1);
    /* a duplicate while it is out costs nothing */
    CHECK_EQ_LONG(feed(c, "200", "done"), 0);
    CHECK_EQ_LONG(c->tp.queued, 1);
    /* the service says pending: the claim was false; the job goes on */
    answer_req(j->poll_req, 204, PP_HDR_PENDING, NULL);
    CHECK(pp_job_state(c, h) == PP_PENDING && pp_job_error(c, h) == NULL);
    CHECK(j->timer.idx != PP_NOT_QUEUED);
    CHECK_EQ_LONG(c->tp.queued, 0);
    /* another forged callback within the backoff makes no request */
    CHECK_EQ_LONG(feed(c, "200", "done"), 0);
    CHECK_EQ_LONG(feed(c, "200", "faulted"), 0);
    CHECK_EQ_LONG(c->tp.queued, 0);
    CHECK_EQ_LONG(c->stats.polls, polls + 1);
    CHECK(pp_job_state(c, h) == PP_PENDING);
    /* once the backoff has passed, one more check */
    j->hint_at -= 60000;
    CHECK_EQ_LONG(feed(c, "200", "done"), 0);
    CHECK_EQ_LONG(c->tp.queued, 1);
    CHECK(j->poll_req != NULL);
    /* the results are the proof */
    answer_req(j->poll_req, 200, PP_HDR_DONE, OK);
    CHECK(pp_job_state(c, h) == PP_FETCHED);
    /* the info is still what the service answered us, not a callback's */
    info = pp_job_info(c, h, &il);
    CHECK(info && strcmp(info, before) == 0 && !strstr(info, "forged") && !strstr(info, "evil"));
    /* a final job takes no more hints */
    CHECK_EQ_LONG(feed(c, "200", "done"), 0);
    CHECK_EQ_LONG(c->tp.queued, 0);
}

static void test_during_poll(pp_client *c)
{
    /* a callback while an ordinary poll is out: when that poll says
     * pending, a results GET follows at once */
    pp_job h = pp_attach(c, "210", NULL);
    pp_watch(c, h, NULL);
    pp_run(c);
    pp_jobrec *j = rec(c, h);
    CHECK(j->poll_req != NULL);
    CHECK_EQ_LONG(feed(c, "210", "done"), 0);
    CHECK_EQ_LONG(c->tp.queued, 1);
    answer_req(j->poll_req, 204, PP_HDR_PENDING, NULL);
    pp_run(c);
    CHECK(j->poll_req && strstr(j->poll_req->url, "/v1/queries/210/results"));
    answer_req(j->poll_req, 200, PP_HDR_NONE, OK);
    CHECK(pp_job_state(c, h) == PP_FETCHED);
    /* an attached job has no info, and a callback gives it none */
    CHECK(pp_job_info(c, h, NULL) == NULL);
}

static void test_faulted(pp_client *c)
{
    /* a faulted callback: one status GET; a status saying pending leaves
     * the job pending, with no error */
    pp_job h = submit_one(c, "220", NULL);
    pp_jobrec *j = rec(c, h);
    CHECK_EQ_LONG(feed(c, "220", "faulted"), 0);
    CHECK(pp_job_state(c, h) == PP_PENDING);
    CHECK(j->poll_req && j->poll_req->high);
    CHECK(j->poll_req && strcmp(j->poll_req->url, "http://127.0.0.1:9/v1/queries/220") == 0);
    answer_req(j->poll_req, 200, PP_HDR_NONE, "{\"id\":\"220\",\"status\":\"pending\"}");
    CHECK(pp_job_state(c, h) == PP_PENDING && pp_job_error(c, h) == NULL);
    CHECK_EQ_LONG(j->lags, 1);
    CHECK_EQ_LONG(feed(c, "220", "faulted"), 0); /* within the backoff */
    CHECK(j->poll_req == NULL && c->tp.queued == 0);

    /* the status confirms it: faulted, with the service's job object */
    pp_job f = submit_one(c, "221", NULL);
    CHECK_EQ_LONG(feed(c, "221", "faulted"), 0);
    CHECK(rec(c, f)->poll_req != NULL);
    answer_req(rec(c, f)->poll_req, 200, PP_HDR_NONE,
               "{\"id\":\"221\",\"status\":\"faulted\",\"reason\":\"blocked\"}");
    CHECK(pp_job_state(c, f) == PP_FAULTED);
    CHECK(pp_job_error(c, f) && pp_job_error(c, f)->body &&
          strstr(pp_job_error(c, f)->body, "blocked"));
    CHECK(strstr(pp_job_info(c, f, NULL), "blocked") && !strstr(pp_job_info(c, f, NULL), "forged"));

    /* the status says done instead: downloaded at once */
    pp_job d = submit_one(c, "222", NULL);
    CHECK_EQ_LONG(feed(c, "222", "faulted"), 0);
    answer_req(rec(c, d)->poll_req, 200, PP_HDR_NONE, "{\"id\":\"222\",\"status\":\"done\"}");
    CHECK(pp_job_state(c, d) == PP_FETCHING);
    CHECK(rec(c, d)->poll_req && strstr(rec(c, d)->poll_req->url, "/v1/queries/222/results"));
    answer_req(rec(c, d)->poll_req, 200, PP_HDR_NONE, OK);
    CHECK(pp_job_state(c, d) == PP_FETCHED);

    /* the status GET fails: nothing is concluded */
    pp_job u = submit_one(c, "223", NULL);
    CHECK_EQ_LONG(feed(c, "223", "faulted"), 0);
    fail_req(rec(c, u)->poll_req, CURLE_RECV_ERROR, 80);
    CHECK(pp_job_state(c, u) == PP_PENDING && pp_job_error(c, u) == NULL);
}

static void test_other(pp_client *c)
{
    /* pending claims, unknown ids and malformed bodies change nothing */
    pp_job h = submit_one(c, "230", NULL);
    uint64_t polls = c->stats.polls;
    CHECK_EQ_LONG(feed(c, "230", "pending"), 0);
    CHECK_EQ_LONG(feed(c, "231", "done"), 1);
    CHECK_EQ_LONG(pp_feed_callback(c, "{\"id\":\"230\"}", 11), -1);
    CHECK_EQ_LONG(pp_feed_callback(c, "{\"id\":\"../230\",\"status\":\"done\"}", 31), -1);
    CHECK_EQ_LONG(pp_feed_callback(c, "nope", 4), -1);
    CHECK_EQ_LONG(pp_feed_callback(c, NULL, 0), -1);
    CHECK_EQ_LONG(pp_feed_callback(NULL, "{}", 2), -1);
    CHECK(pp_job_state(c, h) == PP_PENDING);
    CHECK_EQ_LONG(c->stats.polls, polls);
    CHECK_EQ_LONG(c->tp.queued, 0);
    CHECK_EQ_LONG(c->early_n, 0); /* nothing submitted: nothing kept */
}

int main(void)
{
    pp_client *c = offline_client();
    CHECK(c != NULL);
    if (!c)
        DONE();
    test_done(c);
    test_during_poll(c);
    test_faulted(c);
    test_other(c);
    pp_client_free(c);

    /* with poll.fetch = 0 a done claim is checked by a status GET, and a
     * done job waits for pp_fetch */
    pp_config cfg;
    offline_config(&cfg);
    cfg.poll.fetch = 0;
    c = offline_new(&cfg);
    pp_job h = submit_one(c, "240", NULL);
    CHECK_EQ_LONG(feed(c, "240", "done"), 0);
    pp_req *r = rec(c, h)->poll_req;
    CHECK(r && strcmp(r->url, "http://127.0.0.1:9/v1/queries/240") == 0);
    if (r)
        answer_req(r, 200, PP_HDR_NONE, "{\"id\":\"240\",\"status\":\"done\"}");
    CHECK(pp_job_state(c, h) == PP_DONE && c->tp.queued == 0);
    pp_client_free(c);
    DONE();
}
