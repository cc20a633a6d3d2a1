/* The job table and id map at scale; the public job calls on handles
 * that are unknown or released; errors as the host sees them. */
#include "offline.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

#define N 12000

static void idof(char *buf, size_t len, int i)
{
    snprintf(buf, len, "71739572943449%05d", i);
}

int main(void)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.base_url = "https://127.0.0.1:9";
    pp_client *c = offline_new(&cfg);
    CHECK(c != NULL);
    if (!c)
        DONE();
    static pp_job h[N];
    char id[32];
    for (int i = 0; i < N; i++) {
        idof(id, sizeof id, i);
        h[i] = pp_attach(c, id, NULL);
        CHECK(h[i] == (pp_job)(i + 1));
    }
    for (int i = 0; i < N; i += 7) {
        idof(id, sizeof id, i);
        CHECK(pp_attach(c, id, NULL) == h[i]);
        CHECK(strcmp(pp_job_id(c, h[i]), id) == 0);
        CHECK(pp_job_state(c, h[i]) == PP_PENDING);
    }
    CHECK_EQ_LONG(c->jobs.live, N);
    /* release half, the rest are still found; released ids attach anew */
    for (int i = 0; i < N; i += 2)
        pp_job_release(c, h[i]);
    CHECK_EQ_LONG(c->jobs.live, N / 2);
    CHECK(pp_job_id(c, h[0]) == NULL);
    CHECK(pp_job_state(c, h[0]) == PP_NEW);
    for (int i = 1; i < N; i += 2) {
        idof(id, sizeof id, i);
        pp_jobrec *j = pp_job_find_id(&c->jobs, id);
        CHECK(j && j->h == h[i]);
    }
    for (int i = 0; i < N; i += 2) {
        idof(id, sizeof id, i);
        CHECK(pp_job_find_id(&c->jobs, id) == NULL);
    }
    idof(id, sizeof id, 0);
    pp_job again = pp_attach(c, id, NULL);
    CHECK(again == N + 1);
    pp_job_release(c, h[0]); /* a released handle: nothing happens */
    CHECK(pp_job_state(c, again) == PP_PENDING);

    /* ids the service could not have given */
    pp_error err = {0};
    CHECK(pp_attach(c, "", &err) == 0 && err.message && strstr(err.message, "96"));
    CHECK(pp_attach(c, "../etc", &err) == 0);
    CHECK(pp_attach(c, NULL, &err) == 0);
    char long_id[PP_ID_MAX + 2];
    memset(long_id, '1', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    CHECK(pp_attach(c, long_id, &err) == 0);
    long_id[PP_ID_MAX] = '\0';
    CHECK(pp_attach(c, long_id, &err) > 0);

    /* handles the client does not know */
    size_t len = 7;
    int temporary = 7;
    CHECK(pp_job_state(c, 0) == PP_NEW && pp_job_state(c, 999999) == PP_NEW);
    CHECK(pp_job_id(c, 999999) == NULL);
    CHECK(pp_job_info(c, 999999, &len) == NULL && len == 0);
    CHECK(pp_job_results(c, 999999, &len) == NULL && len == 0);
    CHECK(pp_job_error(c, 999999) == NULL);
    CHECK(pp_job_results_path(c, 999999, &temporary) == NULL && temporary == 0);
    CHECK(pp_job_save_results(c, 999999, "/tmp/x.json", &err) == -1);
    CHECK(err.message && strstr(err.message, "no such job"));
    CHECK(pp_refresh(c, 999999, &err) == 0);
    CHECK(pp_fetch(c, 999999, NULL, NULL, &err) == 0);
    pp_job_drop_results(c, 999999);
    pp_job_release(c, 999999);
    /* a job without an id cannot be asked about */
    const char *one = "{\"source\":\"universal\",\"url\":\"x\"}";
    pp_op op = pp_submit(c, one, strlen(one), NULL, &err);
    size_t n = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    CHECK(n == 1 && pp_job_state(c, jobs[0]) == PP_NEW);
    CHECK(pp_refresh(c, jobs[0], &err) == 0 && strstr(err.message, "no id"));
    CHECK(pp_fetch(c, jobs[0], "raw", NULL, &err) == 0);
    CHECK(pp_fetch(c, h[1], "raw&x", NULL, &err) == 0 && strstr(err.message, "type"));
    /* a pending job has no error, results or file yet */
    CHECK(pp_job_error(c, h[3]) == NULL);
    CHECK(pp_job_results_path(c, h[3], &temporary) == NULL && temporary == 0);
    CHECK(pp_job_save_results(c, h[3], "/tmp/x.json", &err) == -1);
    CHECK(err.message && strstr(err.message, "no results"));
    CHECK(pp_job_save_results(c, h[3], "", &err) == -1);
    /* the error of the last failing call stays until the next one */
    CHECK(c->last_err.message && err.message == c->last_err.message);

    /* error messages */
    pp_error e = {0};
    pp_err_from_http(&e, 401, NULL, 0);
    CHECK(strcmp(e.message, "401 Unauthorized") == 0 && e.http_status == 401 && !e.body);
    pp_err_from_http(&e, 400, "{\"message\":\"Unsupported source\"}", 32);
    CHECK(strcmp(e.message, "400 Bad Request: Unsupported source") == 0);
    CHECK(e.body && e.body_len == 32);
    pp_err_from_http(&e, 524, "<html>", 6);
    CHECK(strcmp(e.message, "524 A Timeout Occurred") == 0 && e.body_len == 6);
    pp_err_from_http(&e, 418, "{\"message\":{\"a\":1}}", 19);
    CHECK(strcmp(e.message, "418 HTTP error: {\"a\":1}") == 0);
    pp_err_errno(&e, "/x/y.json", 2);
    CHECK(strstr(e.message, "/x/y.json: ") == e.message);
    pp_err_clear(&e);
    CHECK(e.message == NULL && e.body == NULL);

    pp_stats st;
    pp_get_stats(c, &st);
    CHECK(st.requests == 0);
    pp_get_stats(NULL, &st);
    CHECK(st.polls == 0);
    pp_client_free(c);
    DONE();
}
