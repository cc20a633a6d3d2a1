/* The job table and id map at scale; callbacks fed into the state machine;
 * errors as the host sees them. */
#include "client.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

#define N 12000

int main(void)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "https://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL, 0);
    CHECK(c != NULL);
    static pp_job h[N];
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "71739572943449%05d", i);
        h[i] = pp_attach(c, id);
        CHECK(h[i] == (pp_job)(i + 1));
    }
    for (int i = 0; i < N; i += 7) {
        snprintf(id, sizeof id, "71739572943449%05d", i);
        CHECK(pp_attach(c, id) == h[i]);
        CHECK(strcmp(pp_job_id(c, h[i]), id) == 0);
        CHECK(pp_job_state(c, h[i]) == PP_PENDING);
    }
    /* release half, the rest are still found; released ids attach anew */
    for (int i = 0; i < N; i += 2)
        pp_job_release(c, h[i]);
    CHECK(pp_job_id(c, h[0]) == NULL);
    for (int i = 1; i < N; i += 2) {
        snprintf(id, sizeof id, "71739572943449%05d", i);
        CHECK(pp_job_find_id(c, id) && pp_job_find_id(c, id)->h == h[i]);
    }
    snprintf(id, sizeof id, "71739572943449%05d", 0);
    pp_job again = pp_attach(c, id);
    CHECK(again == N + 1);
    CHECK(pp_attach(c, "") == 0);

    /* callbacks */
    CHECK(pp_feed_callback(c, "nope", 4) == -1);
    CHECK(pp_feed_callback(c, "{\"status\":\"done\"}", 17) == -1);
    const char *unknown = "{\"id\":\"1\",\"status\":\"done\"}";
    CHECK(pp_feed_callback(c, unknown, strlen(unknown)) == 1);
    char cb[256];
    snprintf(cb, sizeof cb,
             "{\"id\":\"71739572943449%05d\",\"status\":\"faulted\",\"_links\":"
             "[{\"rel\":\"results\",\"href\":\"http://x/v1/queries/1/results\"}]}", 1);
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0);
    CHECK(pp_job_state(c, h[1]) == PP_FAULTED);
    CHECK(pp_job_error(c, h[1]) != NULL);
    size_t il = 0;
    const char *info = pp_job_info(c, h[1], &il);
    CHECK(info && il == strlen(info) && strstr(info, "https://x/v1/queries/1/results"));
    /* duplicates are harmless */
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0);
    CHECK(pp_job_state(c, h[1]) == PP_FAULTED);
    /* numeric ids are read as text */
    pp_job numeric = pp_attach(c, "123456789012345678");
    CHECK(pp_feed_callback(c, "{\"id\":123456789012345678,\"status\":\"done\"}", 41) == 0);
    CHECK(pp_job_state(c, numeric) == PP_FETCHING);
    CHECK(pp_job_error(c, numeric) == NULL);
    /* pending: nothing changes */
    snprintf(cb, sizeof cb, "{\"id\":\"71739572943449%05d\",\"status\":\"pending\"}", 3);
    CHECK(pp_feed_callback(c, cb, strlen(cb)) == 0);
    CHECK(pp_job_state(c, h[3]) == PP_PENDING);
    CHECK(pp_job_set_results_path(c, h[3], "/tmp/x.json") == 0);
    CHECK(pp_job_results_path(c, h[3]) == NULL);      /* nothing written yet */
    CHECK(pp_job_set_results_path(c, 999999, "/tmp/x.json") == -1);

    /* error messages */
    pp_error e = {0};
    pp_err_from_http(&e, 401, NULL, 0);
    CHECK(strcmp(e.message, "401 Unauthorized") == 0 && e.http_status == 401 && !e.body);
    pp_err_from_http(&e, 400, "{\"message\":\"Unsupported source\"}", 32);
    CHECK(strcmp(e.message, "400 Bad Request: Unsupported source") == 0);
    CHECK(e.body && e.body_len == 32);
    pp_err_clear(&e);

    pp_stats st;
    pp_get_stats(c, &st);
    CHECK(st.requests == 0);
    pp_client_free(c);
    DONE();
}
