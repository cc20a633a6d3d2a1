/* Allocation failure in the fleet store: every allocation of the core
 * fails in turn (linked with --wrap, as test_oom) over a flow against a
 * real redis-server -- opening the store, its handshake, each operation,
 * their answers, teardown with commands out -- over plain TCP, then over
 * TLS, and over the journal's store on it (a submission, its answers and
 * results, a claim with its records, grouped releases, a tag forgotten).
 * Each failure must end in an
 * error or a refused call, never a crash, a hang or a leak (run under
 * ASan to see leaks). hiredis' and OpenSSL's own allocations are not
 * counted: they are shared libraries (core/README.md). */
#include "client.h"
#include "redis.h"
#include "check.h"
#include "redis_server.h"
#include "failing_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct tally {
    int answered, failed;
} tally;

static void on_done(void *ud, const redisReply *rep, const char *err)
{
    tally *t = ud;
    t->answered++;
    t->failed += err != NULL || rep == NULL;
}

/* The flow; returns how many operations were answered without error. */
static int scenario(const char *url, const pp_tls_config *tls, int round)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL);
    if (!c)
        return 0;
    pp_redis_config rc;
    memset(&rc, 0, sizeof rc);
    rc.url = url;
    rc.timeout_ms = 1000;
    rc.connect_timeout_ms = 1000;
    rc.backoff_max_ms = 50;
    if (tls)
        rc.tls = *tls;
    pp_rstore st;
    char msg[256];
    memset(&st, 0, sizeof st);
    if (pp_fleet_open(c, &rc, NULL) < 0 ||
        pp_rstore_init(&st, c->redis, NULL, NULL, &c->rng, msg, sizeof msg) < 0) {
        pp_rstore_cleanup(&st);
        pp_client_free(c);
        return 0;
    }
    char tag[32], sid[16] = "s";
    snprintf(tag, sizeof tag, "oom%d", round);
    const char *keys[2] = {"1", "2"};
    const char *values[2] = {"\"a\"", "\"b\""};
    pp_rjob answer[2] = {{"1", "pending", NULL, "id-1"}, {"2", "done", NULL, "id-2"}};
    pp_rjob move[1] = {{"1", "done,fetching,fetched", "{\"results_path\":\"/r/1.json\"}", NULL}};
    tally t = {0, 0};
    int issued = 0;
    issued += pp_rstore_submit(&st, tag, sid, "{}", 2, 2, keys, values, 2, on_done, &t) == 0;
    issued += pp_rstore_answer(&st, tag, sid, 0, answer, 2, 0, 0, on_done, &t) == 0;
    issued += pp_rstore_move(&st, tag, move, 1, 0, 0, on_done, &t) == 0;
    issued += pp_rstore_claim(&st, tag, 5, 10000, on_done, &t) == 0;
    issued += pp_rstore_release(&st, tag, PP_LEASE_CLAIM, keys, 2, 1, 0, on_done, &t) == 0;
    issued += pp_rstore_take(&st, tag, keys, 2, on_done, &t) == 0;
    issued += pp_rstore_list(&st, tag, NULL, 0, "0", 10, on_done, &t) == 0;
    issued += pp_rstore_counts(&st, tag, on_done, &t) == 0;
    issued += pp_rstore_forget(&st, tag, 1, 100, on_done, &t) == 0;
    uint64_t end = pp_now_ms() + 5000;
    while (t.answered < issued && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    CHECK_EQ_LONG(t.answered, issued); /* each answered, none hangs */
    /* one more, left out when the store closes: answered "closed" */
    tally late = {0, 0};
    int more = pp_rstore_counts(&st, tag, on_done, &late) == 0;
    pp_rstore_cleanup(&st);
    pp_client_free(c);
    CHECK_EQ_LONG(late.answered, more);
    return issued - t.failed;
}

/* ---- the journal's store: completions counted as they come */
typedef struct stally {
    int issued, answered, failed;
} stally;

static void on_store(void *ud, int rc, const char *why)
{
    stally *t = ud;
    (void)why;
    t->answered++;
    t->failed += rc < 0;
}

static int on_row(void *ud, const pp_store_row *row)
{
    (void)ud, (void)row;
    return 0;
}

/* rc of a store call that takes a completion: issued unless -1. */
static void issued(stally *t, int rc)
{
    if (rc >= 0)
        t->issued++;
}

static int store_flow(const char *url, int round)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    cfg.journal = url;
    pp_client *c = pp_client_new(&cfg, NULL);
    if (!c)
        return 0;
    uint64_t end = pp_now_ms() + 3000;
    while (pp_journal_ready(c) != 1 && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    if (pp_journal_ready(c) != 1) {
        pp_client_free(c);
        return 0;
    }
    pp_store *st = c->store;
    const pp_store_ops *ops = st->ops;
    char tag[32];
    snprintf(tag, sizeof tag, "oomst%d", round);
    const char *why = NULL;
    int64_t sub = 0, k[2] = {0, 0};
    stally t = {0, 0, 0};
    int ok = ops->submission(st, "{}", "url", tag, NULL, NULL, &sub, &why) == 0 &&
             ops->job(st, sub, "\"a\"", &k[0], &why) == 0 &&
             ops->job(st, sub, "\"b\"", &k[1], &why) == 0 && ops->sending(st, k[0], &why) == 0 &&
             ops->sending(st, k[1], &why) == 0;
    issued(&t, ok ? ops->flush(st, 1, on_store, &t, &why) : -1);
    ok = ok && ops->answer(st, k[0], "oom-a", &why) == 0 &&
         ops->answer(st, k[1], "oom-b", &why) == 0 && ops->result(st, k[0], NULL, &why) == 0 &&
         ops->result(st, k[1], NULL, &why) == 0;
    issued(&t, ok ? ops->flush(st, 1, on_store, &t, &why) : -1);
    long remaining = 0;
    issued(&t, pp_store_redis_lease(st, tag, 5, 0, on_row, on_store, &t, &remaining, &why));
    end = pp_now_ms() + 3000;
    while (t.answered < t.issued && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    ok = pp_store_redis_release(st, k[0], 1) >= 0 && pp_store_redis_release(st, k[1], 0) >= 0;
    issued(&t, ok ? ops->flush(st, 0, on_store, &t, &why) : -1);
    issued(&t, ops->forget(st, tag, 1, on_store, &t, &why));
    end = pp_now_ms() + 5000;
    while (t.answered < t.issued && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    CHECK_EQ_LONG(t.answered, t.issued); /* each answered, none hangs */
    pp_client_free(c);
    return t.issued - t.failed;
}

/* The flow whole, then with the 1st, 2nd... allocation failing until
 * one runs through; how many failed in turn. */
static long every_failure(const char *url, const pp_tls_config *tls)
{
    int whole = scenario(url, tls, 0);
    CHECK_EQ_LONG(whole, 9);
    long n = 0;
    for (;; n++) {
        failures = 0;
        countdown = n;
        scenario(url, tls, (int)n + 1);
        countdown = -1;
        if (!failures)
            break; /* the flow ran through without reaching the n-th allocation */
    }
    return n;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    rsrv s;
    memset(&s, 0, sizeof s);
    if (rsrv_start(&s) < 0) {
        fprintf(stderr, "cannot start redis-server (make deps)\n");
        rsrv_cleanup(&s);
        return 1;
    }
    long n = every_failure(s.url, NULL);
    printf("allocation failures: %ld points in the store's flow, each survived\n", n);
    CHECK(n > 20);
    CHECK_EQ_LONG(store_flow(s.url, 0), 5);
    long m = 0;
    for (;; m++) {
        failures = 0;
        countdown = m;
        store_flow(s.url, (int)m + 1);
        countdown = -1;
        if (!failures)
            break;
    }
    printf("allocation failures: %ld points in the journal's store on Redis, each survived\n", m);
    CHECK(m > 50);
    rsrv_cleanup(&s);

    memset(&s, 0, sizeof s);
    s.tls = RSRV_TLS;
    CHECK(rsrv_start(&s) == 0);
    pp_tls_config tls = {0};
    tls.ca_file = rsrv_file(&s, "ca.crt");
    long tn = s.pid > 0 ? every_failure(s.url, &tls) : 0;
    printf("allocation failures: %ld points in the store's flow over TLS, each survived\n", tn);
    CHECK(tn > n);
    rsrv_cleanup(&s);
    DONE();
}
