/* How poll answers move a job, without a network: answers are made up and
 * handed to the poller as the engine would. */
#include "client.h"
#include "check.h"

#include <string.h>

static pp_client *client(int fetch)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    cfg.poll.fetch = fetch;
    return pp_client_new(&cfg, NULL, 0);
}

/* Fires the job's poll now and answers it with status/header/body. */
static int answer(pp_client *c, pp_job h, long status, int jobhdr, const char *body)
{
    pp_jobrec *j = pp_job_get(c, h);
    if (!j->poll_req)
        pp_poll_fire(c, j);
    pp_req *r = j->poll_req;
    if (!r)
        return -1;
    /* take it off the dispatch queue as the engine would */
    pp_req **pp = r->high ? &c->qhi_head : &c->qlo_head;
    while (*pp && *pp != r)
        pp = &(*pp)->qnext;
    if (*pp) {
        *pp = r->qnext;
        c->queued--;
        if (!(r->high ? c->qhi_head : c->qlo_head)) {
            if (r->high) c->qhi_tail = NULL; else c->qlo_tail = NULL;
        } else {
            pp_req *t = r->high ? c->qhi_head : c->qlo_head;
            while (t->qnext)
                t = t->qnext;
            if (r->high) c->qhi_tail = t; else c->qlo_tail = t;
        }
    }
    int kind = r->kind;
    r->code = CURLE_OK;
    r->status = status;
    r->jobhdr = jobhdr;
    r->started_at = pp_now_ms();
    if (body)
        pp_buf_append(&r->resp, body, strlen(body));
    pp_poll_on_answer(c, r);
    return kind;
}

static pp_job watched(pp_client *c, const char *id)
{
    pp_job h = pp_attach(c, id);
    pp_watch(c, h);
    return h;
}

int main(void)
{
    pp_client *c = client(1);
    pp_event ev[32];

    /* 204 pending, then 200: pending -> done -> fetched, results kept */
    pp_job a = watched(c, "100");
    pp_take_events(c, ev, 32);
    CHECK(answer(c, a, 204, PP_HDR_PENDING, NULL) == PP_RK_POLL);
    CHECK(pp_job_state(c, a) == PP_PENDING);
    CHECK(pp_job_get(c, a)->timer.idx != PP_NOT_QUEUED);
    const char *ok = "{\"results\":[{\"content\":\"x\",\"status_code\":200}]}";
    CHECK(answer(c, a, 200, PP_HDR_NONE, ok) == PP_RK_POLL);
    CHECK(pp_job_state(c, a) == PP_FETCHED);
    size_t n = pp_take_events(c, ev, 32);
    CHECK_EQ_LONG(n, 2);
    CHECK(ev[0].state == PP_DONE && ev[1].state == PP_FETCHED);
    size_t len;
    CHECK(pp_job_results(c, a, &len) && len == strlen(ok));
    CHECK(pp_job_get(c, a)->timer.idx == PP_NOT_QUEUED);

    /* 204 + faulted header; 200 whose results all say 613 */
    pp_job b = watched(c, "101");
    answer(c, b, 204, PP_HDR_FAULTED, NULL);
    CHECK(pp_job_state(c, b) == PP_FAULTED);
    pp_job b2 = watched(c, "102");
    answer(c, b2, 200, PP_HDR_NONE,
           "{\"results\":[{\"status_code\":613},{\"status_code\":613}]}");
    CHECK(pp_job_state(c, b2) == PP_FAULTED);
    CHECK(pp_job_error(c, b2) != NULL);
    pp_job b3 = watched(c, "103");
    answer(c, b3, 200, PP_HDR_NONE, "{\"results\":[{\"status_code\":613},{\"status_code\":200}]}");
    CHECK(pp_job_state(c, b3) == PP_FETCHED);
    pp_job b4 = watched(c, "104");
    answer(c, b4, 200, PP_HDR_FAULTED, "{\"results\":[]}");
    CHECK(pp_job_state(c, b4) == PP_FAULTED);

    /* expiry: 404, or 204 saying done */
    pp_job e1 = watched(c, "105");
    answer(c, e1, 404, PP_HDR_NONE, "{\"message\":\"Job not found.\"}");
    CHECK(pp_job_state(c, e1) == PP_EXPIRED);
    CHECK(pp_job_error(c, e1) && pp_job_error(c, e1)->http_status == 404);
    CHECK(strstr(pp_job_error(c, e1)->message, "Job not found.") != NULL);
    pp_job e2 = watched(c, "106");
    answer(c, e2, 204, PP_HDR_DONE, NULL);
    CHECK(pp_job_state(c, e2) == PP_EXPIRED);

    /* 204s without a header: after three, the next poll is a status GET;
     * a status saying done brings the results right after */
    pp_job s = watched(c, "107");
    for (int i = 0; i < 3; i++)
        CHECK(answer(c, s, 204, PP_HDR_NONE, NULL) == PP_RK_POLL);
    CHECK(answer(c, s, 200, PP_HDR_NONE, "{\"id\":\"107\",\"status\":\"pending\"}") == PP_RK_STATUS);
    CHECK(pp_job_state(c, s) == PP_PENDING);
    CHECK(answer(c, s, 204, PP_HDR_NONE, NULL) == PP_RK_POLL);
    CHECK(answer(c, s, 200, PP_HDR_NONE, "{\"id\":\"107\",\"status\":\"done\"}") == PP_RK_STATUS);
    CHECK(pp_job_state(c, s) == PP_FETCHING);
    CHECK(pp_job_get(c, s)->poll_req && pp_job_get(c, s)->poll_req->kind == PP_RK_POLL);
    CHECK(answer(c, s, 200, PP_HDR_NONE, ok) == PP_RK_POLL);
    CHECK(pp_job_state(c, s) == PP_FETCHED);
    /* a status saying faulted */
    pp_job s2 = watched(c, "108");
    pp_job_get(c, s2)->status_next = 1;
    CHECK(answer(c, s2, 200, PP_HDR_NONE, "{\"id\":\"108\",\"status\":\"faulted\"}") == PP_RK_STATUS);
    CHECK(pp_job_state(c, s2) == PP_FAULTED);

    /* a server error after retries: still pending, polled again later */
    pp_job x = watched(c, "109");
    answer(c, x, 500, PP_HDR_NONE, "oops");
    CHECK(pp_job_state(c, x) == PP_PENDING);
    CHECK(pp_job_get(c, x)->timer.idx != PP_NOT_QUEUED);
    CHECK(pp_job_error(c, x) == NULL);       /* not final: no error shown */

    /* a callback while a poll is out: the poll's 204 leads to a fetch */
    pp_job y = watched(c, "110");
    pp_poll_fire(c, pp_job_get(c, y));
    const char *cb = "{\"id\":\"110\",\"status\":\"done\"}";
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0);
    CHECK(pp_job_state(c, y) == PP_DONE);
    answer(c, y, 204, PP_HDR_NONE, NULL);
    CHECK(pp_job_state(c, y) == PP_DONE || pp_job_state(c, y) == PP_FETCHING);
    pp_engine_run(c);   /* runs due timers: the fetch goes out */
    CHECK(pp_job_state(c, y) == PP_FETCHING);
    /* the download itself answers 204: back to done, tried again shortly */
    answer(c, y, 204, PP_HDR_NONE, NULL);
    CHECK(pp_job_state(c, y) == PP_DONE);
    CHECK(pp_job_get(c, y)->timer.idx != PP_NOT_QUEUED);
    answer(c, y, 200, PP_HDR_NONE, ok);
    CHECK(pp_job_state(c, y) == PP_FETCHED);
    pp_client_free(c);

    /* poll.fetch = 0: status polls; done stops at done */
    c = client(0);
    pp_job z = watched(c, "111");
    CHECK(answer(c, z, 200, PP_HDR_NONE, "{\"id\":\"111\",\"status\":\"pending\"}") == PP_RK_STATUS);
    CHECK(answer(c, z, 200, PP_HDR_NONE, "{\"id\":\"111\",\"status\":\"done\"}") == PP_RK_STATUS);
    CHECK(pp_job_state(c, z) == PP_DONE);
    CHECK(pp_job_get(c, z)->poll_req == NULL);
    CHECK(pp_busy(c) == 0);
    pp_client_free(c);
    DONE();
}
