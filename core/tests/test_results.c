/* Where results go: <results_dir>/<id>.json written whole or not at all
 * (a temporary file beside it, renamed), failures that end a job failed
 * and name the path, an earlier file never truncated; past the memory
 * budget, spool files that pp_job_save_results keeps and pp_client_free
 * removes. Poll answers are made up; the files are real. */
#include "offline.h"
#include "check.h"
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char BODY[] =
    "{\"results\":[{\"content\":\"<html>kept</html>\",\"status_code\":200}]}";

static pp_jobrec *rec(pp_client *c, pp_job h)
{
    return pp_job_get(&c->jobs, h);
}

/* Sends the job's results GET now and answers it. */
static void poll_answer(pp_client *c, pp_job h, long status, int jobhdr, const char *body)
{
    if (!rec(c, h)->poll_req)
        poll_now(c, h);
    pp_req *r = rec(c, h)->poll_req;
    CHECK(r != NULL);
    if (r)
        answer_req(r, status, jobhdr, body);
}

static void test_result_file(void)
{
    char *dir = temp_dir();
    pp_client *c = offline_client();
    pp_submit_opts opts = {dir, NULL, NULL, NULL, 0};
    pp_job h = submit_one(c, "300", &opts);
    CHECK(pp_job_state(c, h) == PP_PENDING);
    /* the download streams to a temporary file in the folder itself, made
     * only when its body comes: a poll waiting for a connection holds no
     * file */
    poll_now(c, h);
    pp_jobrec *j = rec(c, h);
    CHECK(j->poll_req && j->poll_req->sink == PP_SINK_FILE && !j->poll_tmp);
    CHECK(strcmp(listing(dir), "") == 0);
    if (j->poll_req) {
        j->poll_req->code = CURLE_OK;
        j->poll_req->status = 200;
        offline_body(j->poll_req, "{", 1);
    }
    CHECK(j->poll_tmp && strncmp(j->poll_tmp, dir, strlen(dir)) == 0);
    if (j->poll_req) {
        offline_body(j->poll_req, BODY + 1, strlen(BODY) - 1);
        answer_req(j->poll_req, 200, PP_HDR_DONE, NULL);
    }
    CHECK(pp_job_state(c, h) == PP_FETCHED);
    char want[256];
    snprintf(want, sizeof want, "%s/300.json", dir);
    CHECK(file_is(want, BODY));
    CHECK(strcmp(listing(dir), "300.json") == 0); /* no temporary file left */
    int temporary = -1;
    const char *p = pp_job_results_path(c, h, &temporary);
    CHECK(p && strcmp(p, want) == 0 && temporary == 0);
    CHECK(pp_job_results(c, h, NULL) == NULL && c->jobs.buffered == 0);
    /* dropping the results keeps a result file: it is the host's */
    pp_job_drop_results(c, h);
    CHECK(access(want, F_OK) == 0);
    /* saved elsewhere: a copy */
    char other[256];
    snprintf(other, sizeof other, "%s/copy.json", dir);
    pp_error err = {0};
    CHECK(pp_job_save_results(c, h, other, &err) == 0);
    CHECK(file_is(other, BODY) && file_is(want, BODY));

    /* a 204 writes nothing; a job in a results folder that faults leaves
     * no file */
    pp_job f = submit_one(c, "301", &opts);
    poll_answer(c, f, 204, PP_HDR_PENDING, NULL);
    poll_answer(c, f, 200, PP_HDR_NONE, "{\"results\":[{\"status_code\":613}]}");
    CHECK(pp_job_state(c, f) == PP_FAULTED);
    CHECK(strcmp(listing(dir), "300.json,copy.json") == 0);
    pp_job_release(c, h);
    CHECK(access(want, F_OK) == 0); /* releasing a job keeps its file */
    pp_client_free(c);
    CHECK(access(want, F_OK) == 0);
    remove_tree(dir, 0);
}

static void test_bad_dir(void)
{
    pp_client *c = offline_client();
    pp_error err = {0};
    const char *params = "{\"source\":\"universal\",\"url\":\"x\"}";
    /* a folder that does not exist, or a regular file */
    pp_submit_opts opts = {"/tmp/pp-results-no-such-folder/sub", NULL, NULL, NULL, 0};
    CHECK(pp_submit(c, params, strlen(params), &opts, &err) == 0);
    CHECK(err.message && strstr(err.message, "/tmp/pp-results-no-such-folder/sub"));
    char file[] = "/tmp/pp-results-file-XXXXXX";
    int fd = mkstemp(file);
    close(fd);
    opts.results_dir = file;
    CHECK(pp_submit(c, params, strlen(params), &opts, &err) == 0);
    CHECK(err.message && strstr(err.message, file) && strstr(err.message, strerror(ENOTDIR)));
    CHECK_EQ_LONG(c->jobs.n, 0);
    unlink(file);
    /* a folder that cannot be written (root writes anywhere: not there) */
    char *ro = temp_dir();
    if (geteuid() != 0 && chmod(ro, 0500) == 0) {
        opts.results_dir = ro;
        CHECK(pp_submit(c, params, strlen(params), &opts, &err) == 0);
        CHECK(err.message && strstr(err.message, ro) && strstr(err.message, strerror(EACCES)));
    }
    remove_tree(ro, 0);

    /* the folder goes away after submitting: the results that come have
     * nowhere to go, and the job ends failed, naming the folder */
    char *dir = temp_dir();
    opts.results_dir = dir;
    pp_job h = submit_one(c, "310", &opts);
    remove_tree(dir, 0);
    poll_now(c, h);
    pp_req *r = rec(c, h)->poll_req;
    CHECK(r && strcmp(r->url, "http://127.0.0.1:9/v1/queries/310/results") == 0);
    if (r)
        answer_req(r, 200, PP_HDR_NONE, BODY);
    CHECK(pp_job_state(c, h) == PP_FAILED);
    const pp_error *e = pp_job_error(c, h);
    CHECK(e && strstr(e->message, dir));
    CHECK(rec(c, h)->poll_req == NULL && c->tp.queued == 0);

    /* ... or while its download is out: the file cannot be put in place */
    dir = temp_dir();
    opts.results_dir = dir;
    pp_job g = submit_one(c, "311", &opts);
    poll_now(c, g);
    CHECK(rec(c, g)->poll_req != NULL);
    remove_tree(dir, 0);
    poll_answer(c, g, 200, PP_HDR_NONE, BODY);
    CHECK(pp_job_state(c, g) == PP_FAILED);
    e = pp_job_error(c, g);
    CHECK(e && strstr(e->message, dir));
    CHECK(access(dir, F_OK) != 0);
    pp_client_free(c);
}

/* An earlier good file at <dir>/<id>.json survives a download that fails. */
static void test_earlier_file(void)
{
    char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/320.json", dir);
    write_file(path, "EARLIER");
    pp_client *c = offline_client();
    pp_submit_opts opts = {dir, NULL, NULL, NULL, 0};
    pp_job h = submit_one(c, "320", &opts);
    /* a pending answer, a server error, a transfer cut after half the body */
    poll_answer(c, h, 204, PP_HDR_PENDING, NULL);
    poll_answer(c, h, 503, PP_HDR_NONE, "busy");
    poll_now(c, h);
    pp_req *r = rec(c, h)->poll_req;
    CHECK(r != NULL);
    if (r) {
        r->status = 200;
        offline_body(r, BODY, 20);
        fail_req(r, CURLE_PARTIAL_FILE, 100);
    }
    CHECK(pp_job_state(c, h) == PP_PENDING);
    CHECK(file_is(path, "EARLIER"));
    CHECK(strcmp(listing(dir), "320.json") == 0);
    /* a download that cannot write its body (the disk is full) */
    poll_now(c, h);
    r = rec(c, h)->poll_req;
    if (r) {
        r->sink_errno = ENOSPC;
        r->status = 200;
        fail_req(r, CURLE_WRITE_ERROR, 100);
    }
    CHECK(file_is(path, "EARLIER"));
    CHECK(strcmp(listing(dir), "320.json") == 0);
    /* pp_fetch to that path, answered 404: the file stays too */
    pp_error err = {0};
    pp_op op = pp_fetch(c, h, NULL, path, &err);
    CHECK(op > 0);
    answer_next(c, 404, PP_HDR_NONE, "{\"message\":\"Job not found.\"}");
    CHECK(pp_op_done(c, op) && pp_op_status(c, op) == 404);
    CHECK(file_is(path, "EARLIER"));
    CHECK(strcmp(listing(dir), "320.json") == 0);
    /* the download that works replaces it whole */
    pp_client_free(c);
    c = offline_client();
    h = submit_one(c, "320", &opts);
    poll_answer(c, h, 200, PP_HDR_NONE, BODY);
    CHECK(pp_job_state(c, h) == PP_FETCHED);
    CHECK(file_is(path, BODY));
    CHECK(strcmp(listing(dir), "320.json") == 0);
    pp_client_free(c);
    remove_tree(dir, 0);
}

/* A JSON text of exactly n bytes: {"r":"xxx..."}. In one of 4 buffers. */
static const char *json_of_size(size_t n)
{
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ % 4];
    if (n < 8 || n >= sizeof bufs[0])
        return NULL;
    memset(b, 'x', n);
    memcpy(b, "{\"r\":\"", 6);
    memcpy(b + n - 2, "\"}", 2);
    b[n] = '\0';
    return b;
}

/* A client with a budget of 1000 bytes, spooling under spool_parent. */
static pp_client *budget_client(const char *spool_parent)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.max_buffered = 1000;
    cfg.spool_dir = spool_parent;
    return offline_new(&cfg);
}

/* Results past the memory budget go to a spool file. */
static void test_budget(void)
{
    char *spool_parent = temp_dir();
    pp_client *c = budget_client(spool_parent);
    const char *big = json_of_size(3000);
    /* a small answer stays in memory, counted */
    pp_job small = submit_one(c, "330", NULL);
    poll_answer(c, small, 200, PP_HDR_NONE, BODY);
    CHECK(pp_job_state(c, small) == PP_FETCHED && pp_job_results(c, small, NULL));
    CHECK_EQ_LONG(c->jobs.buffered, strlen(BODY));
    int temporary = -1;
    CHECK(pp_job_results_path(c, small, &temporary) == NULL && temporary == 0);
    /* a large one is spooled */
    pp_job h = submit_one(c, "331", NULL);
    poll_answer(c, h, 200, PP_HDR_NONE, big);
    CHECK(pp_job_state(c, h) == PP_FETCHED);
    CHECK(pp_job_results(c, h, NULL) == NULL);
    CHECK_EQ_LONG(c->jobs.buffered, strlen(BODY));
    const char *spooled = pp_job_results_path(c, h, &temporary);
    CHECK(spooled && temporary == 1 && file_is(spooled, big));
    const char *spool = c->jobs.spool_dir;
    CHECK(spool && strncmp(spool, spool_parent, strlen(spool_parent)) == 0);
    char spool_copy[256];
    snprintf(spool_copy, sizeof spool_copy, "%s", spool ? spool : "");
    /* saved: the spool file is renamed into place */
    char out[256], spooled_copy[256];
    snprintf(out, sizeof out, "%s/out.json", spool_parent);
    snprintf(spooled_copy, sizeof spooled_copy, "%s", spooled ? spooled : "");
    pp_error err = {0};
    CHECK(pp_job_save_results(c, h, out, &err) == 0);
    CHECK(file_is(out, big) && access(spooled_copy, F_OK) != 0);
    const char *p = pp_job_results_path(c, h, &temporary);
    CHECK(p && strcmp(p, out) == 0 && temporary == 0);
    /* saving again copies what is there */
    char again[256];
    snprintf(again, sizeof again, "%s/again.json", spool_parent);
    CHECK(pp_job_save_results(c, h, again, &err) == 0 && file_is(again, big));
    /* a memory copy saved: written atomically, the memory freed */
    CHECK(pp_job_save_results(c, small, again, &err) == 0 && file_is(again, BODY));
    CHECK_EQ_LONG(c->jobs.buffered, 0);
    CHECK(pp_job_results(c, small, NULL) == NULL);
    /* saving where no folder is: the path and the reason */
    CHECK(pp_job_save_results(c, small, "/tmp/pp-no-such-dir/x.json", &err) == -1);
    CHECK(err.message && strstr(err.message, "/tmp/pp-no-such-dir/x.json"));
    pp_job none = pp_attach(c, "332", NULL);
    CHECK(pp_job_save_results(c, none, again, &err) == -1 && strstr(err.message, "no results"));
    CHECK(pp_job_save_results(c, 9999, again, &err) == -1);
    /* dropping a spooled job's results removes its file */
    pp_job d = submit_one(c, "333", NULL);
    poll_answer(c, d, 200, PP_HDR_NONE, big);
    snprintf(spooled_copy, sizeof spooled_copy, "%s", pp_job_results_path(c, d, NULL));
    pp_job_drop_results(c, d);
    CHECK(access(spooled_copy, F_OK) != 0 && pp_job_results_path(c, d, NULL) == NULL);
    /* one left spooled at the end: the spool folder goes with the client */
    pp_job left = submit_one(c, "334", NULL);
    poll_answer(c, left, 200, PP_HDR_NONE, big);
    CHECK(pp_job_results_path(c, left, &temporary) && temporary == 1);
    pp_client_free(c);
    CHECK(access(spool_copy, F_OK) != 0);
    CHECK(file_is(out, big));
    remove_tree(spool_parent, 0);
}

/* The budget counts every job's results together; where no spool folder
 * can be made, results stay in memory past it; a spool file saved to
 * another filesystem is copied, then removed. */
static void test_budget_edges(void)
{
    const char *body = json_of_size(600);
    char *parent = temp_dir();
    pp_client *c = budget_client(parent);
    pp_job a = submit_one(c, "340", NULL);
    pp_job b = submit_one(c, "341", NULL);
    poll_answer(c, a, 200, PP_HDR_NONE, body);
    poll_answer(c, b, 200, PP_HDR_NONE, body);
    int temporary = -1;
    CHECK(pp_job_results(c, a, NULL) && c->jobs.buffered == 600);
    CHECK(pp_job_results(c, b, NULL) == NULL);
    const char *spooled = pp_job_results_path(c, b, &temporary);
    CHECK(spooled && temporary == 1 && file_is(spooled, body));
    /* the memory is given back when a's results go: c fits again */
    pp_job_drop_results(c, a);
    CHECK_EQ_LONG(c->jobs.buffered, 0);
    pp_job d = submit_one(c, "342", NULL);
    poll_answer(c, d, 200, PP_HDR_NONE, body);
    CHECK(pp_job_results(c, d, NULL) != NULL);
    /* saved across filesystems (a memory filesystem, where there is one) */
    char *other = access("/dev/shm", W_OK) == 0 ? temp_dir_in("/dev/shm") : temp_dir();
    char out[256], was[256];
    snprintf(out, sizeof out, "%s/341.json", other);
    snprintf(was, sizeof was, "%s", spooled ? spooled : "");
    pp_error err = {0};
    CHECK(pp_job_save_results(c, b, out, &err) == 0);
    CHECK(file_is(out, body) && access(was, F_OK) != 0);
    CHECK(pp_job_results_path(c, b, &temporary) && temporary == 0);
    pp_client_free(c);
    remove_tree(other, 0);
    remove_tree(parent, 0);

    /* no spool folder can be made: over budget, in memory */
    c = budget_client("/tmp/pp-no-such-parent/spool");
    const char *big = json_of_size(1500);
    pp_job m = submit_one(c, "343", NULL);
    poll_answer(c, m, 200, PP_HDR_NONE, big);
    size_t len = 0;
    CHECK(pp_job_state(c, m) == PP_FETCHED && pp_job_results(c, m, &len) && len == 1500);
    CHECK(pp_job_results_path(c, m, &temporary) == NULL && temporary == 0);
    CHECK_EQ_LONG(c->jobs.buffered, 1500);
    pp_client_free(c);
}

int main(void)
{
    test_result_file();
    test_bad_dir();
    test_earlier_file();
    test_budget();
    test_budget_edges();
    DONE();
}
