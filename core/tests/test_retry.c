/* Backoff with full jitter stays within [0, min(cap, base*2^n)]; the retry
 * policy never repeats a request that must run once unless it provably
 * never left; and through the real engine, against a port that refuses
 * connections, max_retries bounds the attempts (0: exactly one). */
#include "client.h"
#include "check.h"
#include "refusing.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void test_backoff(void)
{
    uint64_t rng = 7;
    for (int attempt = 0; attempt < 20; attempt++) {
        long ceil_ms = 250;
        for (int i = 0; i < attempt && ceil_ms < 30000; i++)
            ceil_ms *= 2;
        if (ceil_ms > 30000)
            ceil_ms = 30000;
        long lo = ceil_ms, hi = 0;
        for (int k = 0; k < 2000; k++) {
            long d = pp_backoff_ms(250, 30000, attempt, &rng);
            if (d < lo)
                lo = d;
            if (d > hi)
                hi = d;
        }
        CHECK(lo >= 0);
        CHECK(hi <= ceil_ms);
        /* full jitter: the spread covers most of the range */
        CHECK(lo < ceil_ms / 10 + 1);
        CHECK(hi > ceil_ms * 9 / 10);
    }
    CHECK(pp_backoff_ms(0, 0, 3, &rng) <= 1);
}

static void test_policy(void)
{
    enum { SAFE = PP_REPEAT_SAFE, ONCE = PP_REPEAT_ONCE };
    static const struct {
        int repeat;
        CURLcode code;
        long status, sent;
        int retry;
    } cases[] = {
        /* idempotent requests: 429, 5xx and transport failures */
        {SAFE, CURLE_OK, 200, 100, 0},
        {SAFE, CURLE_OK, 204, 100, 0},
        {SAFE, CURLE_OK, 404, 100, 0},
        {SAFE, CURLE_OK, 400, 100, 0},
        {SAFE, CURLE_OK, 429, 100, 1},
        {SAFE, CURLE_OK, 500, 100, 1},
        {SAFE, CURLE_OK, 524, 100, 1},
        {SAFE, CURLE_COULDNT_CONNECT, 0, 0, 1},
        {SAFE, CURLE_GOT_NOTHING, 0, 120, 1},
        {SAFE, CURLE_OPERATION_TIMEDOUT, 0, 120, 1},
        {SAFE, CURLE_RECV_ERROR, 0, 120, 1},
        {SAFE, CURLE_PARTIAL_FILE, 0, 120, 1},
        {SAFE, CURLE_WRITE_ERROR, 200, 120, 0},
        {SAFE, CURLE_URL_MALFORMAT, 0, 0, 0},
        /* requests that must run once (submissions, any POST): only what
         * provably never left; a 429 goes back to the owner */
        {ONCE, CURLE_OK, 500, 100, 0},
        {ONCE, CURLE_OK, 524, 100, 0},
        {ONCE, CURLE_OK, 503, 300, 0},
        {ONCE, CURLE_OK, 429, 300, 0},
        {ONCE, CURLE_OK, 400, 300, 0},
        {ONCE, CURLE_COULDNT_CONNECT, 0, 0, 1},
        {ONCE, CURLE_COULDNT_RESOLVE_HOST, 0, 0, 1},
        {ONCE, CURLE_COULDNT_RESOLVE_PROXY, 0, 0, 1},
        {ONCE, CURLE_OPERATION_TIMEDOUT, 0, 0, 1},
        {ONCE, CURLE_SEND_ERROR, 0, 0, 1},
        {ONCE, CURLE_OPERATION_TIMEDOUT, 0, 300, 0},
        {ONCE, CURLE_GOT_NOTHING, 0, 300, 0},
        {ONCE, CURLE_GOT_NOTHING, 0, 0, 0},
        {ONCE, CURLE_RECV_ERROR, 0, 300, 0},
        {ONCE, CURLE_SEND_ERROR, 0, 300, 0},
        {ONCE, CURLE_PARTIAL_FILE, 0, 300, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = pp_retry_allowed(cases[i].repeat, cases[i].code, cases[i].status, cases[i].sent);
        if (got != cases[i].retry)
            fprintf(stderr, "case %zu: repeat %d, curl %d, status %ld, sent %ld\n", i,
                    cases[i].repeat, (int)cases[i].code, cases[i].status, cases[i].sent);
        CHECK_EQ_LONG(got, cases[i].retry);
    }

    static const struct {
        CURLcode code;
        long sent;
        int never;
    } sent_cases[] = {
        {CURLE_COULDNT_CONNECT, 500, 1},
        {CURLE_COULDNT_RESOLVE_HOST, 0, 1},
        {CURLE_SSL_CONNECT_ERROR, 0, 1},
        {CURLE_SSL_CONNECT_ERROR, 10, 0},
        {CURLE_OK, 0, 0},
        {CURLE_GOT_NOTHING, 0, 0},
        {CURLE_RECV_ERROR, 0, 0},
    };
    for (size_t i = 0; i < sizeof sent_cases / sizeof sent_cases[0]; i++)
        CHECK_EQ_LONG(pp_never_sent(sent_cases[i].code, sent_cases[i].sent), sent_cases[i].never);
}

static pp_client *client(int port, int max_retries)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = base;
    cfg.max_retries = max_retries;
    cfg.retry_base_ms = 1;
    cfg.retry_max_ms = 5;
    return pp_client_new(&cfg, NULL);
}

static int drive(pp_client *c, pp_op op)
{
    uint64_t end = pp_now_ms() + 10000;
    while (!pp_op_done(c, op) && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    return pp_op_done(c, op);
}

static void test_engine(void)
{
    int fd = -1;
    int port = refusing_port(&fd);
    CHECK(port > 0);
    const char *params = "{\"source\":\"universal\",\"url\":[\"a\",\"b\"]}";
    for (int retries = 0; retries <= 2; retries += 2) {
        /* a submission that never reached the service: tried again, then
         * rejected -- nothing was created, so nothing is unknown */
        pp_client *c = client(port, retries);
        pp_error err = {0};
        pp_op op = pp_submit(c, params, strlen(params), NULL, &err);
        CHECK(op > 0 && drive(c, op));
        size_t n = 0;
        const pp_job *jobs = pp_op_jobs(c, op, &n);
        CHECK(n == 2 && pp_job_state(c, jobs[0]) == PP_REJECTED &&
              pp_job_state(c, jobs[1]) == PP_REJECTED);
        const pp_error *e = pp_op_error(c, op);
        CHECK(e && e->http_status == 0 && e->message && strlen(e->message) > 0);
        pp_stats st;
        pp_get_stats(c, &st);
        CHECK_EQ_LONG(st.requests, 1 + retries);
        CHECK_EQ_LONG(st.retries, retries);
        /* any other call too */
        op = pp_request(c, "GET", "/v1/info/callbacker_ips", NULL, 0, &err);
        CHECK(op > 0 && drive(c, op));
        CHECK(pp_op_error(c, op) && pp_op_status(c, op) == 0);
        pp_get_stats(c, &st);
        CHECK_EQ_LONG(st.requests, 2 * (1 + retries));
        CHECK_EQ_LONG(st.retries, 2 * retries);
        CHECK(pp_busy(c) == 0);
        pp_client_free(c);
    }
    close(fd);
}

int main(void)
{
    test_backoff();
    test_policy();
    test_engine();
    DONE();
}
