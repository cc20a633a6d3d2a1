/* The callback listener: no thread of its own, its fd reported like curl's,
 * the answers to good and bad requests (sent over raw sockets while the
 * client is driven, both with pp_wait and with pp_socket_action as an
 * event-loop host does), the allowlist and the refusal of a listener
 * beyond loopback without one, the safety-net schedule, stopping,
 * callback URLs the host serves itself (pp_expect_callbacks);
 * then, when the emulator binary is given and built, real callbacks for a
 * batch (one results GET per job) and a refused sender caught by the
 * safety-net poll. */
#include "offline.h"
#include "check.h"
#include "emu.h"
#include "host.h"
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static pp_client *new_client(const char *base)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = base;
    cfg.username = "user";
    cfg.password = "pass1";
    pp_error err = {0};
    pp_client *c = pp_client_new(&cfg, &err);
    if (!c)
        fprintf(stderr, "pp_client_new: %s\n", err.message);
    return c;
}

/* Sends text to the listener and reads the answer until it closes, driving
 * the client meanwhile (with pp_wait, or as an event-loop host). Returns
 * the HTTP status, 0 when none came; the answer in out (NUL-terminated). */
static int exchange(pp_client *c, host *h, const char *text, char *out, size_t outlen)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return 0;
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)pp_listen_port(c));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)connect(s, (struct sockaddr *)&a, sizeof a);
    size_t len = strlen(text), sent = 0, got = 0;
    uint64_t end = pp_now_ms() + 5000;
    out[0] = 0;
    while (pp_now_ms() < end) {
        if (h)
            host_step(c, h, 5);
        else
            pp_wait(c, 5, NULL);
        if (sent < len) {
            ssize_t n = send(s, text + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN)
                sent = len; /* answered and closed before the whole body */
        }
        ssize_t n = recv(s, out + got, outlen - 1 - got, 0);
        if (n > 0) {
            got += (size_t)n;
            out[got] = 0;
        } else if (n == 0 || (n < 0 && errno != EAGAIN) || got + 1 >= outlen) {
            if (got)
                break;
        }
    }
    close(s);
    int status = 0;
    if (!strncmp(out, "HTTP/1.", 7))
        status = atoi(out + 9);
    return status;
}

static char *post(const char *path, const char *body)
{
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
             path, strlen(body), body);
    return buf;
}

static void test_answers(void)
{
    pp_client *c = offline_client();
    CHECK(c != NULL);
    if (!c)
        return;
    int before = threads();
    pp_listen_config lc;
    pp_listen_config_init(&lc);
    lc.max_body = 100;
    pp_error err = {0};
    CHECK(pp_listen(c, &lc, &err) == 0);
    CHECK(threads() == before); /* MHD runs no thread */
    int port = pp_listen_port(c);
    CHECK(port > 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/callback", port);
    CHECK(pp_listen_url(c) && !strcmp(pp_listen_url(c), url));
    CHECK(pp_listen(c, &lc, &err) == -1 && err.message && strstr(err.message, "already"));

    /* the fd comes out like a curl socket */
    pp_fd_change ch[8];
    size_t n = pp_take_fd_changes(c, ch, 8);
    CHECK(n == 1 && ch[0].events == PP_WANT_READ && ch[0].fd == pp_listener_fd(c));

    char out[4096];
    CHECK_EQ_LONG(exchange(c, NULL, post("/callback", "nope"), out, sizeof out), 400);
    CHECK(strstr(out, "application/json") != NULL);
    CHECK_EQ_LONG(exchange(c, NULL, post("/callback", "{\"id\":\"1\"}"), out, sizeof out), 400);
    CHECK_EQ_LONG(exchange(c, NULL, post("/other", "{}"), out, sizeof out), 404);
    CHECK_EQ_LONG(exchange(c, NULL,
                           "GET /callback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
                           sizeof out),
                  405);
    CHECK(strstr(out, "Allow: POST") != NULL);
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK_EQ_LONG(exchange(c, NULL, post("/callback", big), out, sizeof out), 413);
    /* the same answers for a host that watches fds itself (the listener's
     * fd was taken above) */
    host h;
    memset(&h, 0, sizeof h);
    h.p[0].fd = pp_listener_fd(c);
    h.p[0].events = POLLIN;
    h.n = 1;
    CHECK_EQ_LONG(
        exchange(c, &h, post("/callback", "{\"id\":\"5\",\"status\":\"done\"}"), out, sizeof out),
        200);
    CHECK(strstr(out, "\"ignored\"") != NULL); /* no such job here */

    /* a known job: the callback is taken and checked with the service (a
     * status GET), not believed */
    pp_job j = pp_attach(c, "1234567890123456789", NULL);
    CHECK(exchange(c, &h,
                   post("/callback", "{\"id\":\"1234567890123456789\",\"status\":\"faulted\"}"),
                   out, sizeof out) == 200);
    CHECK(strstr(out, "{\"status\":\"ok\"}") != NULL);
    CHECK(pp_job_state(c, j) == PP_PENDING);
    CHECK(queued_url(c, "/v1/queries/1234567890123456789") != NULL);

    /* the allowlist */
    const char *nobody[] = {"10.1.2.3", "::1"};
    CHECK(pp_listen_allow(c, nobody, 2, &err) == 0);
    CHECK_EQ_LONG(exchange(c, NULL, post("/callback", "{}"), out, sizeof out), 403);
    const char *bad[] = {"localhost"};
    CHECK(pp_listen_allow(c, bad, 1, &err) == -1 && strstr(err.message, "localhost"));
    CHECK_EQ_LONG(exchange(c, NULL, post("/callback", "{}"), out, sizeof out), 403);
    const char *mapped[] = {"::ffff:127.0.0.1"};
    CHECK(pp_listen_allow(c, mapped, 1, &err) == 0);
    CHECK_EQ_LONG(exchange(c, NULL, post("/callback", "[]"), out, sizeof out), 400);

    pp_stats st;
    pp_get_stats(c, &st);
    CHECK_EQ_LONG(st.callbacks_received, 2);
    CHECK_EQ_LONG(st.callbacks_rejected, 8);

    /* the safety-net schedule for a job whose callback names the listener */
    char params[256];
    snprintf(params, sizeof params,
             "{\"source\":\"universal\",\"url\":\"u\",\"callback_url\":\"%s?x=1\"}", url);
    pp_op op = submit_text(c, params, NULL);
    CHECK(op > 0);
    size_t nj = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &nj);
    pp_jobrec *jr = nj == 1 ? pp_job_get(&c->jobs, jobs[0]) : NULL;
    CHECK(jr && jr->cb_expected == PP_CB_LISTENER);
    answer_for(c, "/v1/queries", 202, PP_HDR_NONE, "{\"id\":\"42\",\"status\":\"pending\"}");
    if (jr) {
        CHECK(jr->state == PP_PENDING);
        /* max(3 x 1 s (the cold estimate), 30 s), +-10% */
        CHECK(jr->timer.due >= jr->pending_at + 27000 && jr->timer.due <= jr->pending_at + 33000);
        CHECK(pp_listener_timeout_ms(c) == -1); /* no connection open: no deadline */
    }
    snprintf(params, sizeof params,
             "{\"source\":\"universal\",\"url\":\"u\",\"callback_url\":\"%sx\"}", url);
    pp_op op2 = pp_submit(c, params, strlen(params), NULL, &err);
    jobs = pp_op_jobs(c, op2, &nj);
    CHECK(nj == 1 && pp_job_get(&c->jobs, jobs[0]) &&
          pp_job_get(&c->jobs, jobs[0])->cb_expected == PP_CB_NONE);

    /* stopping: the host is told to drop the fd; the job polls as usual */
    int fd = pp_listener_fd(c);
    (void)pp_take_fd_changes(c, ch, 8);
    pp_listen_stop(c);
    CHECK(pp_listen_port(c) == 0 && pp_listen_url(c) == NULL);
    n = pp_take_fd_changes(c, ch, 8);
    CHECK(n >= 1 && ch[0].fd == fd && ch[0].events == 0);
    if (jr) {
        CHECK(jr->cb_expected == PP_CB_NONE);
        CHECK(jr->timer.due <= pp_now_ms() + 3000);
    }
    /* and it can listen again; pp_client_free stops it */
    CHECK(pp_listen(c, NULL, &err) == 0);
    pp_client_free(c);
}

/* Starts a listener with lc and stops it again: 0, or -1 with err. */
static int listen_once(pp_client *c, const pp_listen_config *lc, pp_error *err)
{
    int rc = pp_listen(c, lc, err);
    if (rc == 0)
        pp_listen_stop(c);
    return rc;
}

static void test_bad_config(void)
{
    pp_client *c = offline_client();
    pp_listen_config lc;
    pp_listen_config_init(&lc);
    pp_error err = {0};
    lc.bind = "example.com";
    CHECK(pp_listen(c, &lc, &err) == -1 && strstr(err.message, "numeric"));
    lc.bind = NULL;
    lc.path = "callback";
    CHECK(pp_listen(c, &lc, &err) == -1);
    lc.path = NULL;
    const char *allow[] = {"1.2.3.999"};
    lc.allow = allow;
    lc.allow_count = 1;
    CHECK(pp_listen(c, &lc, &err) == -1 && strstr(err.message, "1.2.3.999"));
    lc.allow = NULL;
    lc.allow_count = 0;
    lc.public_url = "ftp://x";
    CHECK(pp_listen(c, &lc, &err) == -1);
    lc.public_url = NULL;
    lc.port = 70000;
    CHECK(pp_listen(c, &lc, &err) == -1);
    lc.port = 0;
    lc.bind = "::1";
    if (pp_listen(c, &lc, &err) == 0) { /* where the host has IPv6 */
        CHECK(!strncmp(pp_listen_url(c), "http://[::1]:", 13));
        pp_listen_stop(c);
    }
    CHECK(pp_listen_port(c) == 0);
    /* the allowlist is the client's: it serves pp_callback_request too */
    CHECK(pp_listen_allow(c, NULL, 0, &err) == 0);

    /* beyond loopback the world could make the client spend requests: an
     * allowlist, or allow_any to say so */
    static const char *const public_binds[] = {"0.0.0.0", "::", "10.1.2.3"};
    for (size_t i = 0; i < 3; i++) {
        lc.bind = public_binds[i];
        err.message = NULL;
        CHECK(pp_listen(c, &lc, &err) == -1);
        CHECK(err.message && strstr(err.message, "allowlist") && strstr(err.message, "allow_any"));
        CHECK(pp_listen_port(c) == 0);
    }
    lc.bind = "0.0.0.0";
    const char *senders[] = {"192.0.2.7"};
    lc.allow = senders;
    lc.allow_count = 1;
    CHECK(listen_once(c, &lc, &err) == 0);
    /* nor can the list be dropped while such a listener runs */
    CHECK(pp_listen(c, &lc, &err) == 0);
    CHECK(pp_listen_allow(c, NULL, 0, &err) == -1 && strstr(err.message, "allow_any"));
    pp_listen_stop(c);
    lc.allow = NULL;
    lc.allow_count = 0;
    lc.allow_any = 1;
    CHECK(listen_once(c, &lc, &err) == 0);
    /* all of 127/8 is loopback */
    lc.allow_any = 0;
    lc.bind = "127.0.0.2";
    CHECK(listen_once(c, &lc, &err) == 0);

    /* allow_any lets every sender in, a list given beside it is ignored */
    lc.bind = NULL;
    lc.allow = senders;
    lc.allow_count = 1;
    lc.allow_any = 1;
    CHECK(pp_listen(c, &lc, &err) == 0);
    char out[1024];
    CHECK_EQ_LONG(
        exchange(c, NULL, post("/callback", "{\"id\":\"9\",\"status\":\"done\"}"), out, sizeof out),
        200);
    pp_listen_stop(c);
    lc.allow_any = 0; /* ... and without it, it counts */
    CHECK(pp_listen(c, &lc, &err) == 0);
    CHECK_EQ_LONG(
        exchange(c, NULL, post("/callback", "{\"id\":\"9\",\"status\":\"done\"}"), out, sizeof out),
        403);
    pp_client_free(c);
}

/* Callbacks served by the host: pp_expect_callbacks flags the jobs whose
 * callback_url names its URL, with its own safety-net delay, and forgets
 * them again. */
static pp_jobrec *submit_cb(pp_client *c, const char *callback_url, const char *id)
{
    char params[256];
    snprintf(params, sizeof params,
             "{\"source\":\"universal\",\"url\":\"u\",\"callback_url\":\"%s\"}", callback_url);
    pp_op op = submit_text(c, params, NULL);
    size_t nj = 0;
    const pp_job *jobs = op > 0 ? pp_op_jobs(c, op, &nj) : NULL;
    pp_jobrec *j = nj == 1 ? pp_job_get(&c->jobs, jobs[0]) : NULL;
    char answer[96];
    snprintf(answer, sizeof answer, "{\"id\":\"%s\",\"status\":\"pending\"}", id);
    answer_for(c, "/v1/queries", 202, PP_HDR_NONE, answer);
    return j;
}

static void test_external(void)
{
    pp_client *c = offline_client();
    pp_error err = {0};
    const char *url = "http://hooks.example.com/pushpull/callback";
    CHECK(pp_expected_callback_url(c) == NULL);
    CHECK(pp_expect_callbacks(c, "hooks.example.com/cb", 0, 0, &err) == -1);
    CHECK(err.message && strstr(err.message, "http"));
    CHECK(pp_expect_callbacks(c, url, -1, 0, &err) == -1);
    CHECK(pp_expected_callback_url(c) == NULL);
    CHECK(pp_expect_callbacks(c, url, 5000, 2, &err) == 0);
    CHECK(pp_expected_callback_url(c) && !strcmp(pp_expected_callback_url(c), url));
    CHECK(pp_listen_port(c) == 0); /* no listener involved */

    char with_query[128];
    snprintf(with_query, sizeof with_query, "%s?token=abc", url);
    pp_jobrec *a = submit_cb(c, url, "4001");
    pp_jobrec *b = submit_cb(c, with_query, "4002");
    pp_jobrec *other = submit_cb(c, "http://hooks.example.com/pushpull/callback2", "4003");
    CHECK(a && a->cb_expected == PP_CB_EXTERNAL);
    CHECK(b && b->cb_expected == PP_CB_EXTERNAL);
    CHECK(other && other->cb_expected == PP_CB_NONE);
    if (!a || !b || !other) {
        pp_client_free(c);
        return;
    }
    /* the safety net: max(2 x 3 s (the cold estimate's median), 5 s),
     * +-10%, then every half of it; a job without callbacks is polled as
     * the plan says, before the cold median */
    CHECK(a->state == PP_PENDING && b->state == PP_PENDING);
    double median = pp_estimate_median(&c->est);
    CHECK(median > 2500 && median < 3500);
    CHECK(a->timer.due >= a->pending_at + (uint64_t)(2 * median * 0.9) &&
          a->timer.due <= a->pending_at + (uint64_t)(2 * median * 1.1) + 1);
    CHECK_EQ_LONG(a->interval, (long)(2 * median) / 2);
    CHECK(other->timer.due <= other->pending_at + 3000);
    /* a callback fed by the host is checked with the service */
    const char *cb = "{\"id\":\"4001\",\"status\":\"faulted\"}";
    CHECK_EQ_LONG(pp_feed_callback(c, cb, strlen(cb)), 0);
    CHECK(pp_job_state(c, a->h) == PP_PENDING);
    answer_for(c, "/v1/queries/4001", 200, PP_HDR_NONE, "{\"id\":\"4001\",\"status\":\"faulted\"}");
    CHECK(pp_job_state(c, a->h) == PP_FAULTED);
    CHECK_EQ_LONG(pp_feed_callback(c, cb, strlen(cb)), 0); /* a duplicate */
    CHECK_EQ_LONG(c->tp.queued, 0);
    const char *unknown = "{\"id\":\"4999\",\"status\":\"done\"}";
    CHECK_EQ_LONG(pp_feed_callback(c, unknown, strlen(unknown)), 1);
    CHECK_EQ_LONG(pp_feed_callback(c, "{\"id\":\"4001\"}", 13), -1);

    /* a listener and a host URL side by side: each keeps its own jobs */
    CHECK(pp_listen(c, NULL, &err) == 0);
    pp_jobrec *l = submit_cb(c, pp_listen_url(c), "4004");
    CHECK(l && l->cb_expected == PP_CB_LISTENER);
    CHECK(submit_cb(c, url, "4005")->cb_expected == PP_CB_EXTERNAL);
    pp_listen_stop(c);
    CHECK(l && l->cb_expected == PP_CB_NONE);
    CHECK(b->cb_expected == PP_CB_EXTERNAL);

    /* another URL: the jobs of the old one still expect callbacks */
    CHECK(pp_expect_callbacks(c, "https://other.example.com/cb", 0, 0, &err) == 0);
    CHECK(b->cb_expected == PP_CB_EXTERNAL);
    CHECK(submit_cb(c, url, "4006")->cb_expected == PP_CB_NONE);
    CHECK(submit_cb(c, "https://other.example.com/cb", "4007")->cb_expected == PP_CB_EXTERNAL);

    /* forgetting it: the pending job goes back to ordinary polling */
    CHECK(pp_expect_callbacks(c, NULL, 0, 0, &err) == 0);
    CHECK(pp_expected_callback_url(c) == NULL);
    CHECK(b->cb_expected == PP_CB_NONE);
    CHECK(b->timer.due <= pp_now_ms() + 2000);
    CHECK(submit_cb(c, "https://other.example.com/cb", "4008")->cb_expected == PP_CB_NONE);

    /* pp_client_free frees a URL still set */
    CHECK(pp_expect_callbacks(c, url, 0, 0, &err) == 0);
    pp_client_free(c);
}

/* ---- against the emulator */

/* Submits n query jobs with the listener as callback_url and drives until
 * all are final. Returns how many ended fetched. */
static int run_batch(pp_client *c, int n, int timeout_ms)
{
    char params[512];
    snprintf(params, sizeof params,
             "{\"source\":\"google_search\",\"callback_url\":\"%s\",\"query\":[", pp_listen_url(c));
    for (int i = 0; i < n; i++) {
        char v[16];
        snprintf(v, sizeof v, "%s\"q%d\"", i ? "," : "", i);
        strncat(params, v, sizeof params - strlen(params) - 1);
    }
    strncat(params, "]}", sizeof params - strlen(params) - 1);
    pp_error err = {0};
    pp_op op = pp_submit(c, params, strlen(params), NULL, &err);
    if (!op)
        return 0;
    size_t nj = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &nj);
    uint64_t end = pp_now_ms() + (uint64_t)timeout_ms;
    pp_event ev[64];
    int fetched = 0;
    while (pp_now_ms() < end) {
        int all = pp_op_done(c, op);
        fetched = 0;
        for (size_t i = 0; all && i < nj; i++) {
            all = pp_state_is_final(pp_job_state(c, jobs[i]));
            fetched += pp_job_state(c, jobs[i]) == PP_FETCHED;
        }
        if (all)
            break;
        pp_wait(c, 200, NULL);
        while (pp_take_events(c, ev, 64) == 64)
            ;
    }
    pp_op_free(c, op);
    return fetched;
}

static void test_emulator(const char *path)
{
    emu e;
    const char *args[] = {"--job-time", "uniform:200ms:600ms", NULL};
    if (emu_spawn(&e, path, args) < 0) {
        CHECK(!"the emulator did not start");
        return;
    }
    pp_client *c = new_client(e.base);
    pp_error err = {0};
    CHECK(pp_listen(c, NULL, &err) == 0);
    uint64_t t0 = pp_now_ms();
    CHECK_EQ_LONG(run_batch(c, 20, 15000), 20);
    CHECK(pp_now_ms() - t0 < 10000);
    pp_stats st;
    pp_get_stats(c, &st);
    CHECK_EQ_LONG(st.callbacks_received, 20);
    CHECK_EQ_LONG(st.requests, 21); /* the batch and one GET per job */

    /* a refused sender: the safety-net poll ends the jobs */
    pp_listen_stop(c);
    pp_listen_config lc;
    pp_listen_config_init(&lc);
    const char *nobody[] = {"10.0.0.1"};
    lc.allow = nobody;
    lc.allow_count = 1;
    lc.safety_min_ms = 300;
    lc.safety_factor = 1;
    CHECK(pp_listen(c, &lc, &err) == 0);
    CHECK_EQ_LONG(run_batch(c, 10, 15000), 10);
    pp_get_stats(c, &st);
    CHECK(st.callbacks_rejected >= 1);
    pp_client_free(c);
    emu_stop(&e);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    test_answers();
    test_bad_config();
    test_external();
    if (argc > 1 && access(argv[1], X_OK) == 0)
        test_emulator(argv[1]);
    else
        printf("emulator not built: its part skipped\n");
    DONE();
}
