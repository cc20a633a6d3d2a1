/* What the service's answers mean: every reader is a pure function of a
 * made-up answer (status, x-oxylabs-job-status, body or file), so each
 * verdict is checked directly, without a client or a network. */
#include "offline.h"
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char OK_RESULTS[] = "{\"results\":[{\"content\":\"x\",\"status_code\":200}]}";
static const char ALL_613[] = "{\"results\":[{\"status_code\":613},{\"status_code\":613}]}";
static const char SOME_613[] = "{\"results\":[{\"status_code\":613},{\"status_code\":200}]}";

static pp_answer http(long status, int jobhdr, const char *body)
{
    pp_answer a;
    memset(&a, 0, sizeof a);
    a.http = 1;
    a.status = status;
    a.jobhdr = jobhdr;
    a.body = body;
    a.len = body ? strlen(body) : 0;
    return a;
}

static pp_answer no_answer(int never_sent)
{
    pp_answer a;
    memset(&a, 0, sizeof a);
    a.error = "Couldn't connect to server";
    a.never_sent = never_sent;
    return a;
}

static int results_kind(long status, int jobhdr, const char *body)
{
    pp_answer a = http(status, jobhdr, body);
    pp_verdict v = pp_read_results(&a);
    if (v.object || v.http_status != (int)status)
        return -1; /* a results verdict carries no object */
    return v.kind;
}

static int status_kind(long status, const char *body)
{
    pp_answer a = http(status, PP_HDR_NONE, body);
    pp_verdict v = pp_read_status(&a);
    if (v.object)
        json_decref(v.object);
    return v.kind;
}

static void test_results(void)
{
    CHECK_EQ_LONG(results_kind(200, PP_HDR_NONE, OK_RESULTS), PP_V_RESULTS);
    CHECK_EQ_LONG(results_kind(200, PP_HDR_DONE, OK_RESULTS), PP_V_RESULTS);
    /* every result 613: the job faulted (not billed), whatever the body */
    CHECK_EQ_LONG(results_kind(200, PP_HDR_NONE, ALL_613), PP_V_FAULTED);
    CHECK_EQ_LONG(results_kind(200, PP_HDR_NONE, SOME_613), PP_V_RESULTS);
    CHECK_EQ_LONG(results_kind(200, PP_HDR_NONE, "{\"results\":[]}"), PP_V_RESULTS);
    CHECK_EQ_LONG(results_kind(200, PP_HDR_NONE, "\x89PNG\r\n"), PP_V_RESULTS);
    CHECK_EQ_LONG(results_kind(200, PP_HDR_NONE, NULL), PP_V_RESULTS);
    /* the service's header is believed either way */
    CHECK_EQ_LONG(results_kind(200, PP_HDR_FAULTED, OK_RESULTS), PP_V_FAULTED);
    CHECK_EQ_LONG(results_kind(200, PP_HDR_DONE, ALL_613), PP_V_RESULTS);
    pp_answer a = http(200, PP_HDR_NONE, ALL_613);
    pp_verdict v = pp_read_results(&a);
    CHECK(v.why && strstr(v.why, "faulted"));

    /* 204 with each job status header, and bare */
    CHECK_EQ_LONG(results_kind(204, PP_HDR_PENDING, NULL), PP_V_PENDING);
    CHECK_EQ_LONG(results_kind(204, PP_HDR_FAULTED, NULL), PP_V_FAULTED);
    CHECK_EQ_LONG(results_kind(204, PP_HDR_DONE, NULL), PP_V_EXPIRED); /* results gone */
    CHECK_EQ_LONG(results_kind(204, PP_HDR_OTHER, NULL), PP_V_NOT_READY);
    CHECK_EQ_LONG(results_kind(204, PP_HDR_NONE, NULL), PP_V_NOT_READY);
    a = http(204, PP_HDR_DONE, NULL);
    v = pp_read_results(&a);
    CHECK(v.why != NULL);

    CHECK_EQ_LONG(results_kind(404, PP_HDR_NONE, "{\"message\":\"Job not found.\"}"), PP_V_EXPIRED);
    static const long says_nothing[] = {500, 502, 503, 524, 429, 401, 403, 400, 301};
    for (size_t i = 0; i < sizeof says_nothing / sizeof says_nothing[0]; i++)
        CHECK_EQ_LONG(results_kind(says_nothing[i], PP_HDR_NONE, "oops"), PP_V_NOTHING);
    a = no_answer(0);
    v = pp_read_results(&a);
    CHECK(v.kind == PP_V_NOTHING && v.http_status == 0 && !v.object);

    /* a 200 that went to a file is read back from the file */
    char path[] = "/tmp/pp-answers-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, ALL_613, strlen(ALL_613)) == (ssize_t)strlen(ALL_613));
    close(fd);
    a = http(200, PP_HDR_NONE, NULL);
    a.path = path;
    CHECK_EQ_LONG(pp_read_results(&a).kind, PP_V_FAULTED);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, OK_RESULTS, strlen(OK_RESULTS)) == (ssize_t)strlen(OK_RESULTS));
    close(fd);
    CHECK_EQ_LONG(pp_read_results(&a).kind, PP_V_RESULTS);
    unlink(path);
    CHECK_EQ_LONG(pp_read_results(&a).kind, PP_V_RESULTS); /* unreadable: not faulted */
}

static void test_status(void)
{
    pp_answer a = http(200, PP_HDR_NONE, "{\"id\":\"1\",\"status\":\"pending\",\"x\":1}");
    pp_verdict v = pp_read_status(&a);
    CHECK(v.kind == PP_V_PENDING && v.http_status == 200 && v.why == NULL);
    CHECK(json_is_object(v.object) && json_integer_value(json_object_get(v.object, "x")) == 1);
    json_decref(v.object);
    CHECK_EQ_LONG(status_kind(200, "{\"id\":\"1\",\"status\":\"done\"}"), PP_V_DONE);
    a = http(200, PP_HDR_NONE, "{\"id\":\"1\",\"status\":\"faulted\"}");
    v = pp_read_status(&a);
    CHECK(v.kind == PP_V_FAULTED && v.why && v.object);
    json_decref(v.object);
    /* anything but a job object says nothing, and keeps no object */
    a = http(200, PP_HDR_NONE, "{\"id\":\"1\",\"status\":\"queued\"}");
    v = pp_read_status(&a);
    CHECK(v.kind == PP_V_NOTHING && v.why != NULL && v.object == NULL);
    CHECK_EQ_LONG(status_kind(200, "{\"id\":\"1\",\"status\":7}"), PP_V_NOTHING);
    CHECK_EQ_LONG(status_kind(200, "[\"done\"]"), PP_V_NOTHING);
    CHECK_EQ_LONG(status_kind(200, "not json"), PP_V_NOTHING);
    CHECK_EQ_LONG(status_kind(200, NULL), PP_V_NOTHING);
    CHECK_EQ_LONG(status_kind(204, NULL), PP_V_NOTHING);
    CHECK_EQ_LONG(status_kind(404, "{\"message\":\"Job not found.\"}"), PP_V_EXPIRED);
    CHECK_EQ_LONG(status_kind(500, "{\"id\":\"1\",\"status\":\"done\"}"), PP_V_NOTHING);
    CHECK_EQ_LONG(status_kind(429, NULL), PP_V_NOTHING);
    a = no_answer(1);
    v = pp_read_status(&a);
    CHECK(v.kind == PP_V_NOTHING && v.http_status == 0 && !v.object);

    json_t *o = json_loads("{\"status\":\"done\"}", 0, NULL);
    CHECK_EQ_LONG(pp_read_job_status(o), PP_V_DONE);
    json_decref(o);
    o = json_loads("{\"status\":\"Done\"}", 0, NULL);
    CHECK_EQ_LONG(pp_read_job_status(o), PP_V_NOTHING);
    json_decref(o);
    CHECK_EQ_LONG(pp_read_job_status(NULL), PP_V_NOTHING);
}

/* pp_read_callback: 0 and the id and claim, or -1 (id untouched then). */
static int callback(const char *body, char *id, int *claim)
{
    strcpy(id, "untouched");
    *claim = -7;
    return pp_read_callback(body, body ? strlen(body) : 0, id, claim);
}

static void test_callbacks(void)
{
    char id[PP_ID_MAX + 1];
    int claim;
    CHECK(callback("{\"id\":\"7173957294344910849\",\"status\":\"done\"}", id, &claim) == 0);
    CHECK(strcmp(id, "7173957294344910849") == 0 && claim == PP_V_DONE);
    CHECK(callback("{\"id\":\"a-B_9\",\"status\":\"faulted\",\"x\":[1]}", id, &claim) == 0);
    CHECK(strcmp(id, "a-B_9") == 0 && claim == PP_V_FAULTED);
    CHECK(callback("{\"status\":\"pending\",\"id\":\"5\"}", id, &claim) == 0);
    CHECK(claim == PP_V_PENDING);
    /* number ids are read as their text */
    CHECK(callback("{\"id\":123456789012345678,\"status\":\"done\"}", id, &claim) == 0);
    CHECK(strcmp(id, "123456789012345678") == 0);

    /* ids go into URLs and file names: nothing but [A-Za-z0-9_-]{1,96} */
    char body[512];
    char long_id[PP_ID_MAX + 2];
    memset(long_id, '7', sizeof long_id - 1);
    long_id[PP_ID_MAX] = '\0'; /* 96: the longest */
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"status\":\"done\"}", long_id);
    CHECK(callback(body, id, &claim) == 0 && strlen(id) == PP_ID_MAX);
    long_id[PP_ID_MAX] = '7'; /* 97 */
    long_id[PP_ID_MAX + 1] = '\0';
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"status\":\"done\"}", long_id);
    CHECK(callback(body, id, &claim) == -1);
    static const char *const bad_ids[] = {
        "\"\"",      "\"a/b\"",    "\"..\"",       "\"../../etc/passwd\"", "\"1 2\"",
        "\"1?x=2\"", "\"%2e%2e\"", "\"1\\u0000\"", "\"\\u00e9\"",          "null",
        "1.5",       "true",       "[\"1\"]",      "{\"id\":\"1\"}",
    };
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        snprintf(body, sizeof body, "{\"id\":%s,\"status\":\"done\"}", bad_ids[i]);
        CHECK(callback(body, id, &claim) == -1);
        CHECK(strcmp(id, "untouched") == 0 && claim == -7);
    }
    /* a job object needs a status it can claim */
    CHECK(callback("{\"id\":\"1\"}", id, &claim) == -1);
    CHECK(callback("{\"id\":\"1\",\"status\":\"queued\"}", id, &claim) == -1);
    CHECK(callback("{\"id\":\"1\",\"status\":1}", id, &claim) == -1);
    CHECK(callback("[{\"id\":\"1\",\"status\":\"done\"}]", id, &claim) == -1);
    CHECK(callback("not json", id, &claim) == -1);
    CHECK(callback("", id, &claim) == -1);
    CHECK(callback(NULL, id, &claim) == -1);
    /* only len bytes are read */
    const char *twice = "{\"id\":\"1\",\"status\":\"done\"}{\"id\":\"2\"}";
    CHECK(pp_read_callback(twice, 26, id, &claim) == 0 && strcmp(id, "1") == 0);
    CHECK(pp_read_callback(twice, 20, id, &claim) == -1);
}

static int submission(long status)
{
    pp_answer a = http(status, PP_HDR_NONE, "{}");
    return pp_read_submission(&a);
}

static void test_submissions(void)
{
    static const long accepted[] = {200, 201, 202, 299};
    static const long rejected[] = {400, 401, 403, 404, 409, 413, 422, 499};
    static const long unknown[] = {500, 502, 503, 504, 524, 599, 301, 304, 100};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        CHECK_EQ_LONG(submission(accepted[i]), PP_SUB_ACCEPTED);
    CHECK_EQ_LONG(submission(429), PP_SUB_RETRY); /* creates nothing */
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++)
        CHECK_EQ_LONG(submission(rejected[i]), PP_SUB_REJECTED);
    /* the service may have done the work: never resent */
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_EQ_LONG(submission(unknown[i]), PP_SUB_UNKNOWN);
    pp_answer a = no_answer(1);
    CHECK_EQ_LONG(pp_read_submission(&a), PP_SUB_RETRY);
    a = no_answer(0);
    CHECK_EQ_LONG(pp_read_submission(&a), PP_SUB_UNKNOWN);

    /* one job object of a batch answer */
    char id[PP_ID_MAX + 1];
    const char *why = NULL;
    json_t *o = pp_read_job_item("{\"id\":\"42\",\"status\":\"pending\"}", 30, id, &why);
    CHECK(o && strcmp(id, "42") == 0);
    if (o)
        json_decref(o);
    o = pp_read_job_item("{\"id\":42}", 9, id, &why);
    CHECK(o && strcmp(id, "42") == 0);
    if (o)
        json_decref(o);
    static const char *const not_jobs[] = {"null", "[]", "\"42\"", "{", ""};
    for (size_t i = 0; i < sizeof not_jobs / sizeof not_jobs[0]; i++) {
        why = NULL;
        CHECK(pp_read_job_item(not_jobs[i], strlen(not_jobs[i]), id, &why) == NULL);
        CHECK(why && strstr(why, "did not list"));
    }
    static const char *const bad_ids[] = {"{\"id\":\"a/b\"}", "{\"id\":\"\"}",
                                          "{\"status\":\"pending\"}", "{\"id\":\"..\"}",
                                          "{\"id\":null}"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        why = NULL;
        CHECK(pp_read_job_item(bad_ids[i], strlen(bad_ids[i]), id, &why) == NULL);
        CHECK(why && strstr(why, "no valid id"));
    }
}

static void noop(void *ctx, pp_req *r)
{
    (void)ctx;
    (void)r;
}

/* What a finished request looks like to the readers. */
static void test_from_req(void)
{
    pp_client *c = offline_client();
    CHECK(c != NULL);
    if (!c)
        return;
    pp_req *r =
        pp_req_new(&c->tp, "GET", "/v1/queries/1/results", NULL, 0, PP_REPEAT_SAFE, noop, NULL);
    CHECK(r != NULL);
    pp_answer a;
    r->code = CURLE_OK;
    r->status = 200;
    r->jobhdr = PP_HDR_DONE;
    pc_buf_append(&r->resp, "{}", 2);
    pp_answer_from_req(&a, r, "/tmp/where");
    CHECK(a.http && a.status == 200 && a.jobhdr == PP_HDR_DONE && a.len == 2);
    CHECK(a.path == NULL); /* a memory sink: no file */
    r->sink = PP_SINK_FILE;
    pp_answer_from_req(&a, r, "/tmp/where");
    CHECK(a.path && strcmp(a.path, "/tmp/where") == 0);
    r->status = 404; /* only a 2xx goes to the file */
    pp_answer_from_req(&a, r, "/tmp/where");
    CHECK(a.path == NULL && a.status == 404);
    r->code = CURLE_COULDNT_CONNECT;
    r->sent = 0;
    r->errbuf[0] = '\0';
    pp_answer_from_req(&a, r, "/tmp/where");
    CHECK(!a.http && a.status == 0 && a.path == NULL && a.error && a.never_sent);
    r->code = CURLE_OPERATION_TIMEDOUT;
    r->sent = 120;
    snprintf(r->errbuf, sizeof r->errbuf, "Operation timed out after 300 ms");
    pp_answer_from_req(&a, r, NULL);
    CHECK(!a.http && !a.never_sent && a.error && strstr(a.error, "300 ms"));
    CHECK_EQ_LONG(pp_read_submission(&a), PP_SUB_UNKNOWN);
    pp_req_free(r);
    pp_client_free(c);
}

int main(void)
{
    test_results();
    test_status();
    test_callbacks();
    test_submissions();
    test_from_req();
    DONE();
}
