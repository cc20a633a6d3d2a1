/* The fleet store on a real redis-server, its connection driven through
 * the client's pump (pp_wait, pp_perform, and pp_socket_action as an
 * event-loop host): the records and transitions, polling claims, one
 * claim per job among several claimers, a lease that runs out handing
 * the job to another, renewal keeping it, NOSCRIPT after SCRIPT FLUSH,
 * ACL users and SELECT, TLS settings refused for redis://, a Redis
 * killed and restarted mid-run (nothing lost), a stalled Redis (SIGSTOP)
 * giving a timeout and then recovering after SIGCONT. TLS:
 * test_redis_tls.c. */
#include "client.h"
#include "redis.h"
#include "check.h"
#include "host.h"
#include "threads.h"
#include "redis_server.h"
#include "redis_cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    pp_client *c;
    pp_rstore st;
} node;

static int node_open(node *n, const char *url, long timeout_ms, const char *token)
{
    memset(n, 0, sizeof *n);
    char why[512];
    n->c = new_client(url, timeout_ms, why, sizeof why);
    if (!n->c) {
        fprintf(stderr, "client: %s\n", why);
        return -1;
    }
    char msg[256];
    if (pp_rstore_init(&n->st, n->c->redis, NULL, token, &n->c->rng, msg, sizeof msg) < 0) {
        fprintf(stderr, "%s\n", msg);
        pp_client_free(n->c);
        return -1;
    }
    return 0;
}

static void node_close(node *n)
{
    pp_rstore_cleanup(&n->st);
    pp_client_free(n->c);
    memset(n, 0, sizeof *n);
}

/* Waits for an issued operation (rc its issue's result). */
static int await(node *n, int rc, cap *k)
{
    if (rc < 0)
        return 0;
    return pump(n->c, &k->done, 10000);
}

static long counter(node *n, const char *tag, const char *field)
{
    cap k = {0};
    long v = -1;
    if (await(n, pp_rstore_counts(&n->st, tag, on_cap, &k), &k) && !k.err) {
        v = 0;
        for (size_t i = 0; i + 1 < k.n; i += 2)
            if (!strcmp(k.str[i], field))
                v = atol(k.str[i + 1]);
    }
    cap_free(&k);
    return v;
}

static long move1(node *n, const char *tag, const char *key, const char *to, const char *fields)
{
    pp_rjob j = {key, to, fields, NULL};
    cap k = {0};
    long v = -100;
    if (await(n, pp_rstore_move(&n->st, tag, &j, 1, 0, 0, on_cap, &k), &k) && !k.err && k.n == 1)
        v = (long)k.ints[0];
    cap_free(&k);
    return v;
}

/* A submission of n values answered with keys <prefix>0.. in state. */
static int seed(node *nd, const char *tag, const char *sid, const char *prefix, int n,
                const char *state)
{
    cap k = {0};
    int ok =
        await(nd, pp_rstore_submit(&nd->st, tag, sid, "{\"q\":1}", 7, n, NULL, NULL, 0, on_cap, &k),
              &k) &&
        !k.err && k.integer == 1;
    cap_free(&k);
    pp_rjob *jobs = calloc((size_t)n, sizeof *jobs);
    char(*keys)[32] = calloc((size_t)n, sizeof *keys);
    for (int i = 0; jobs && keys && i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "%s%d", prefix, i);
        jobs[i].key = keys[i];
        jobs[i].to = state;
    }
    ok = ok && jobs && keys &&
         await(nd, pp_rstore_answer(&nd->st, tag, sid, 0, jobs, (size_t)n, 0, 0, on_cap, &k), &k) &&
         !k.err && k.integer == n;
    cap_free(&k);
    free(jobs);
    free(keys);
    return ok;
}

/* ---- the record of one submission's life */
static void test_records(const char *url)
{
    node a;
    CHECK(node_open(&a, url, 3000, "proc-a") == 0);
    if (!a.c)
        return;
    cap k = {0};
    CHECK(await(
        &a,
        pp_rstore_submit(&a.st, "rec", "s1", "{\"url\":[1,2,3]}", 15, 3, NULL, NULL, 0, on_cap, &k),
        &k));
    CHECK(!k.err && k.integer == 1);
    cap_free(&k);
    CHECK(threads() == 1); /* connected, and no thread of its own */
    CHECK(pp_redis_ready(a.c->redis));
    /* recorded once: the same submission again is a no-op */
    CHECK(
        await(&a, pp_rstore_submit(&a.st, "rec", "s1", "x", 1, 3, NULL, NULL, 0, on_cap, &k), &k));
    CHECK(!k.err && k.integer == 0);
    cap_free(&k);
    CHECK_EQ_LONG(counter(&a, "rec", "open"), 3);

    pp_rjob jobs[3] = {{"j1", "pending", NULL, NULL},
                       {"j2", "pending", NULL, NULL},
                       {"j3", "pending", NULL, NULL}};
    CHECK(await(&a, pp_rstore_answer(&a.st, "rec", "s1", 0, jobs, 3, 0, 0, on_cap, &k), &k));
    CHECK(!k.err && k.integer == 3);
    cap_free(&k);
    CHECK(await(&a, pp_rstore_answer(&a.st, "rec", "s1", 0, jobs, 3, 0, 0, on_cap, &k), &k));
    CHECK(!k.err && k.integer == 0);
    cap_free(&k);
    CHECK(await(&a, pp_rstore_answer(&a.st, "rec", "nosuch", 0, jobs, 3, 0, 0, on_cap, &k), &k));
    CHECK(k.err && strstr(k.err, "no submission"));
    cap_free(&k);
    CHECK_EQ_LONG(counter(&a, "rec", "open"), 0);
    CHECK_EQ_LONG(counter(&a, "rec", "unhanded"), 3);

    CHECK_EQ_LONG(move1(&a, "rec", "j1", "done", "{\"info\":\"x\"}"), 1);
    CHECK_EQ_LONG(move1(&a, "rec", "j1", "done", NULL), 0);
    CHECK_EQ_LONG(move1(&a, "rec", "j1", "pending", NULL), -1);
    CHECK_EQ_LONG(move1(&a, "rec", "nope", "done", NULL), -3);
    CHECK_EQ_LONG(move1(&a, "rec", "j2", "done", "[1"), -4);
    /* a path: taken from after the state the job is in */
    CHECK_EQ_LONG(move1(&a, "rec", "j1", "done,fetching,fetched", NULL), 1);
    CHECK_EQ_LONG(move1(&a, "rec", "j1", "done,fetching,fetched", NULL), 0);

    CHECK(await(&a, pp_rstore_list(&a.st, "rec", "pending", 0, "0", 100, on_cap, &k), &k));
    CHECK(!k.err && k.n == 5); /* cursor, j2, its fields, j3, its fields */
    CHECK(k.n == 5 && !strcmp(k.str[0], "0") && k.str[1][0] == 'j' && k.str[3][0] == 'j');
    cap_free(&k);
    CHECK(await(&a, pp_rstore_list(&a.st, "rec", NULL, 0, "0", 100, on_cap, &k), &k));
    CHECK(!k.err && k.n == 7);
    cap_free(&k);

    /* a lost answer: the values are no longer open, and counted lost */
    CHECK(
        await(&a, pp_rstore_submit(&a.st, "rec", "s2", "{}", 2, 4, NULL, NULL, 0, on_cap, &k), &k));
    cap_free(&k);
    CHECK(await(&a, pp_rstore_answer(&a.st, "rec", "s2", 1, NULL, 0, 0, 0, on_cap, &k), &k));
    CHECK(!k.err && k.integer == 0);
    cap_free(&k);
    CHECK_EQ_LONG(counter(&a, "rec", "lost"), 4);
    CHECK_EQ_LONG(counter(&a, "rec", "open"), 0);
    CHECK(pp_rstore_submit(&a.st, "bad{tag}", "s", "", 0, 1, NULL, NULL, 0, on_cap, &k) < 0);
    node_close(&a);
}

/* ---- the journal's way: jobs made with their submission (numbered keys,
 * their values), ids from the answer, handed out without a lease */
static void test_journal_shape(const char *url)
{
    node a, b;
    CHECK(node_open(&a, url, 3000, "jr-a") == 0 && node_open(&b, url, 3000, "jr-b") == 0);
    if (!a.c || !b.c)
        return;
    const char *keys[3] = {"1", "2", "3"};
    const char *values[3] = {"\"https://a\"", "\"https://b\"", "\"https://c\""};
    cap k = {0};
    CHECK(await(&a,
                pp_rstore_submit(&a.st, "jr", "7", "{\"source\":\"u\"}", 14, 3, keys, values, 3,
                                 on_cap, &k),
                &k));
    CHECK(!k.err && k.integer == 1);
    cap_free(&k);
    CHECK_EQ_LONG(counter(&a, "jr", "open"), 0);
    CHECK_EQ_LONG(counter(&a, "jr", "unhanded"), 3);
    pp_rjob jobs[3] = {
        {"1", "pending", NULL, "id-a"}, {"2", "done", NULL, "id-b"}, {"3", "unknown", NULL, NULL}};
    CHECK(await(&a, pp_rstore_answer(&a.st, "jr", "7", 0, jobs, 3, 0, 0, on_cap, &k), &k));
    CHECK(!k.err && k.integer == 3);
    cap_free(&k);
    CHECK_EQ_LONG(counter(&a, "jr", "jobs"), 3); /* moved on, none made twice */
    CHECK_EQ_LONG(move1(&a, "jr", "2", "fetching,fetched", "{\"results_path\":\"/r/id-b.json\"}"),
                  1);
    /* two processes claim the same finished jobs: each goes to one */
    const char *fin[2] = {"2", "3"};
    cap kb = {0};
    CHECK(pp_rstore_take(&a.st, "jr", fin, 2, on_cap, &k) == 0);
    CHECK(pp_rstore_take(&b.st, "jr", fin, 2, on_cap, &kb) == 0);
    CHECK(pump(a.c, &k.done, 5000) && pump(b.c, &kb.done, 5000));
    CHECK(!k.err && !kb.err && k.n == 2 && kb.n == 2);
    if (k.n == 2 && kb.n == 2)
        CHECK(k.ints[0] + kb.ints[0] == 1 && k.ints[1] + kb.ints[1] == 1);
    cap_free(&k);
    cap_free(&kb);
    CHECK_EQ_LONG(counter(&a, "jr", "unhanded"), 1);
    /* given back by whoever took job 2: claimable again, once */
    CHECK(await(&a, pp_rstore_untake(&a.st, "jr", fin, 1, on_cap, &k), &k));
    CHECK(await(&b, pp_rstore_untake(&b.st, "jr", fin, 1, on_cap, &kb), &kb));
    CHECK(!k.err && !kb.err && k.n == 1 && kb.n == 1 && k.ints[0] + kb.ints[0] == 1);
    cap_free(&k);
    cap_free(&kb);
    CHECK_EQ_LONG(counter(&a, "jr", "unhanded"), 2);
    CHECK(await(&b, pp_rstore_claim(&b.st, "jr", 10, 5000, on_cap, &k), &k));
    CHECK(!k.err && k.n == 3 && !strcmp(k.str[1], "2"));
    cap_free(&k);
    CHECK(await(&b, pp_rstore_release(&b.st, "jr", PP_LEASE_CLAIM, fin, 1, 1, 0, on_cap, &k), &k));
    CHECK(!k.err && k.n == 1 && k.ints[0] == 1);
    cap_free(&k);
    CHECK(await(&a, pp_rstore_list(&a.st, "jr", NULL, 1, "0", 100, on_cap, &k), &k));
    CHECK(!k.err && k.n == 3 && !strcmp(k.str[1], "1")); /* only job 1 is not handed out */
    cap_free(&k);
    CHECK(await(&a, pp_rstore_list(&a.st, "jr", "fetched", 0, "0", 100, on_cap, &k), &k));
    CHECK(!k.err && k.n == 3 && !strcmp(k.str[1], "2"));
    cap_free(&k);
    node_close(&a);
    node_close(&b);
}

/* ---- pending jobs are polled by one process at a time */
static void test_polling(const char *url)
{
    node a, b;
    CHECK(node_open(&a, url, 3000, "poll-a") == 0 && node_open(&b, url, 3000, "poll-b") == 0);
    if (!a.c || !b.c)
        return;
    CHECK(seed(&a, "pol", "s1", "p", 3, "pending"));
    cap k = {0};
    CHECK(await(&a, pp_rstore_poll(&a.st, "pol", 10, 5000, on_cap, &k), &k));
    CHECK(!k.err && k.n == 6); /* each key with its hash */
    cap_free(&k);
    CHECK(await(&b, pp_rstore_poll(&b.st, "pol", 10, 5000, on_cap, &k), &k));
    CHECK(!k.err && k.n == 0); /* all three are a's to poll */
    cap_free(&k);
    const char *p0[1] = {"p0"};
    CHECK(await(&a, pp_rstore_release(&a.st, "pol", PP_LEASE_POLL, p0, 1, 0, 0, on_cap, &k), &k));
    CHECK(!k.err && k.n == 1 && k.ints[0] == 1);
    cap_free(&k);
    CHECK(await(&b, pp_rstore_poll(&b.st, "pol", 10, 5000, on_cap, &k), &k));
    CHECK(!k.err && k.n == 2 && !strcmp(k.str[0], "p0"));
    cap_free(&k);
    /* a job that ends leaves the poll queue; b's lease on it is moot */
    CHECK_EQ_LONG(move1(&a, "pol", "p1", "done", NULL), 1);
    CHECK(await(&a,
                pp_rstore_renew(&a.st, "pol", PP_LEASE_POLL, (const char *[]){"p1", "p2"}, 2, 5000,
                                on_cap, &k),
                &k));
    CHECK(!k.err && k.n == 2 && k.ints[0] == 0 && k.ints[1] == 1);
    cap_free(&k);
    node_close(&a);
    node_close(&b);
}

/* ---- one claim per job among several claimers */
#define CLAIMERS 4
#define MANY 300

typedef struct claimer {
    node n;
    cap k;
    int busy;
    long remaining;
    int got;
} claimer;

static void test_claims(const char *url)
{
    claimer cl[CLAIMERS];
    memset(cl, 0, sizeof cl);
    int opened = 1;
    for (int i = 0; i < CLAIMERS; i++) {
        char token[16];
        snprintf(token, sizeof token, "claimer-%d", i);
        opened = opened && node_open(&cl[i].n, url, 5000, token) == 0;
    }
    CHECK(opened);
    if (!opened)
        return;
    node *a = &cl[0].n;
    CHECK(seed(a, "many", "s1", "m", MANY, "pending"));
    /* every job finishes: in moves of 100 jobs each */
    pp_rjob *jobs = calloc(MANY, sizeof *jobs);
    char(*keys)[16] = calloc(MANY, sizeof *keys);
    for (int i = 0; jobs && keys && i < MANY; i++) {
        snprintf(keys[i], sizeof keys[i], "m%d", i);
        jobs[i].key = keys[i];
        jobs[i].to = i % 10 ? "done,fetching,fetched" : "faulted";
    }
    for (int off = 0; jobs && keys && off < MANY; off += 100) {
        cap k = {0};
        CHECK(await(a, pp_rstore_move(&a->st, "many", jobs + off, 100, 0, 0, on_cap, &k), &k));
        CHECK(!k.err && k.n == 100 && k.ints[0] == 1 && k.ints[99] == 1);
        cap_free(&k);
    }
    free(jobs);
    free(keys);

    /* the claimers race: each claims up to 7 at a time and hands them out */
    int *seen = calloc(MANY, sizeof *seen);
    int dup = 0, released_ok = 0, rounds = 0;
    int open = CLAIMERS;
    uint64_t end = pp_now_ms() + 20000;
    while (seen && open > 0 && pp_now_ms() < end) {
        open = 0;
        for (int i = 0; i < CLAIMERS; i++) {
            claimer *x = &cl[i];
            if (x->remaining == 0 && x->got && !x->busy)
                continue; /* this one saw the tag complete */
            open++;
            if (!x->busy) {
                memset(&x->k, 0, sizeof x->k);
                x->busy = pp_rstore_claim(&x->n.st, "many", 7, 5000, on_cap, &x->k) == 0;
                rounds++;
            }
            pp_wait(x->n.c, 0, NULL); /* one step of this claimer's loop */
            if (!x->busy || !x->k.done)
                continue;
            x->busy = 0;
            x->got = 1;
            if (x->k.err || x->k.n < 1) {
                x->remaining = -1;
                cap_free(&x->k);
                continue;
            }
            x->remaining = x->k.ints[0];
            const char *mine[8];
            size_t nm = 0;
            for (size_t e = 1; e + 1 < x->k.n && nm < 8; e += 2) {
                int id = atoi(x->k.str[e] + 1);
                if (id >= 0 && id < MANY && seen[id]++)
                    dup++;
                mine[nm++] = x->k.str[e];
            }
            if (nm) {
                cap r = {0};
                if (await(&x->n,
                          pp_rstore_release(&x->n.st, "many", PP_LEASE_CLAIM, mine, nm, 1, 0,
                                            on_cap, &r),
                          &r) &&
                    !r.err)
                    for (size_t e = 0; e < r.n; e++)
                        released_ok += r.ints[e] == 1;
                cap_free(&r);
                x->remaining = -1; /* claim again: the count was before these */
            }
            cap_free(&x->k);
        }
    }
    int all = 0;
    for (int i = 0; seen && i < MANY; i++)
        all += seen[i] == 1;
    printf("claims: %d jobs handed out once among %d claimers in %d claims, %d twice\n", all,
           CLAIMERS, rounds, dup);
    CHECK_EQ_LONG(all, MANY);
    CHECK_EQ_LONG(dup, 0);
    CHECK_EQ_LONG(released_ok, MANY);
    CHECK_EQ_LONG(counter(a, "many", "unhanded"), 0);
    int spread = 0;
    for (int i = 0; i < CLAIMERS; i++)
        spread += cl[i].got;
    CHECK(spread == CLAIMERS);
    free(seen);
    for (int i = 0; i < CLAIMERS; i++) {
        cap_free(&cl[i].k);
        node_close(&cl[i].n);
    }
}

/* ---- leases: expiry hands the job to another; renewal keeps it */
static void test_leases(const char *url)
{
    node a, b;
    CHECK(node_open(&a, url, 3000, "lease-a") == 0 && node_open(&b, url, 3000, "lease-b") == 0);
    if (!a.c || !b.c)
        return;
    CHECK(seed(&a, "lease", "s1", "l", 2, "done"));
    cap k = {0};
    CHECK(await(&a, pp_rstore_claim(&a.st, "lease", 1, 300, on_cap, &k), &k));
    CHECK(!k.err && k.n == 3 && k.ints[0] == 2);
    char first[16] = "";
    if (k.n == 3)
        snprintf(first, sizeof first, "%s", k.str[1]);
    cap_free(&k);
    /* a process that dies holding it: nobody renews */
    CHECK(await(&b, pp_rstore_claim(&b.st, "lease", 5, 300, on_cap, &k), &k));
    CHECK(!k.err && k.n == 3 && strcmp(k.str[1], first) != 0); /* only the other one */
    char second[16] = "";
    if (k.n == 3)
        snprintf(second, sizeof second, "%s", k.str[1]);
    cap_free(&k);
    pump_for(b.c, 400);
    CHECK(await(&b, pp_rstore_claim(&b.st, "lease", 5, 5000, on_cap, &k), &k));
    /* both leases ran out: b gets a's job, and its own back */
    CHECK(!k.err && k.n == 5);
    cap_free(&k);
    const char *f1[1] = {first};
    CHECK(await(&a, pp_rstore_renew(&a.st, "lease", PP_LEASE_CLAIM, f1, 1, 300, on_cap, &k), &k));
    CHECK(!k.err && k.n == 1 && k.ints[0] == 0); /* a lost it */
    cap_free(&k);
    CHECK(
        await(&a, pp_rstore_release(&a.st, "lease", PP_LEASE_CLAIM, f1, 1, 1, 0, on_cap, &k), &k));
    CHECK(!k.err && k.n == 1 && k.ints[0] == 0);
    cap_free(&k);
    CHECK(
        await(&b, pp_rstore_release(&b.st, "lease", PP_LEASE_CLAIM, f1, 1, 1, 0, on_cap, &k), &k));
    CHECK(!k.err && k.n == 1 && k.ints[0] == 1);
    cap_free(&k);
    /* handed out once: a second release (a resend) says so again */
    CHECK(
        await(&b, pp_rstore_release(&b.st, "lease", PP_LEASE_CLAIM, f1, 1, 1, 0, on_cap, &k), &k));
    CHECK(!k.err && k.n == 1 && k.ints[0] == 1);
    cap_free(&k);
    CHECK_EQ_LONG(counter(&a, "lease", "unhanded"), 1);

    /* renewal: a holds the second job past several lease lengths */
    const char *s1[1] = {second};
    CHECK(
        await(&b, pp_rstore_release(&b.st, "lease", PP_LEASE_CLAIM, s1, 1, 0, 0, on_cap, &k), &k));
    CHECK(!k.err && k.n == 1 && k.ints[0] == 1); /* given back */
    cap_free(&k);
    CHECK(await(&a, pp_rstore_claim(&a.st, "lease", 5, 300, on_cap, &k), &k));
    CHECK(!k.err && k.n == 3 && !strcmp(k.str[1], second));
    cap_free(&k);
    int renewed = 0, stolen = 0;
    for (int i = 0; i < 8; i++) {
        pump_for(a.c, 100);
        CHECK(
            await(&a, pp_rstore_renew(&a.st, "lease", PP_LEASE_CLAIM, s1, 1, 300, on_cap, &k), &k));
        renewed += !k.err && k.n == 1 && k.ints[0] == 1;
        cap_free(&k);
        CHECK(await(&b, pp_rstore_claim(&b.st, "lease", 5, 300, on_cap, &k), &k));
        stolen += !k.err && k.n > 1;
        cap_free(&k);
    }
    CHECK_EQ_LONG(renewed, 8);
    CHECK_EQ_LONG(stolen, 0);
    /* a transition by another process of a job a holds is refused */
    CHECK_EQ_LONG(move1(&b, "lease", second, "expired", NULL), -2);
    node_close(&a);
    node_close(&b);
}

/* ---- driven as an event loop does (pp_socket_action), and by ticks */
static void test_hosts(const char *url)
{
    node a;
    CHECK(node_open(&a, url, 3000, "host-a") == 0);
    if (!a.c)
        return;
    host h;
    memset(&h, 0, sizeof h);
    cap k = {0};
    CHECK(pp_rstore_counts(&a.st, "rec", on_cap, &k) == 0);
    uint64_t end = pp_now_ms() + 5000;
    while (!k.done && pp_now_ms() < end)
        host_step(a.c, &h, 50);
    CHECK(k.done && !k.err && k.n >= 2);
    CHECK(h.max_watched >= 1); /* the Redis fd came through the fd queue */
    cap_free(&k);
    /* a host that only ticks: pp_perform, no fd watched */
    CHECK(pp_rstore_counts(&a.st, "rec", on_cap, &k) == 0);
    end = pp_now_ms() + 5000;
    while (!k.done && pp_now_ms() < end) {
        pp_perform(a.c, NULL);
        rsrv_sleep_ms(1);
    }
    CHECK(k.done && !k.err);
    cap_free(&k);
    node_close(&a);
}

/* ---- scripts flushed, ACL users, SELECT, TLS settings without TLS */
static void test_server_side(const char *url, int port)
{
    node a;
    CHECK(node_open(&a, url, 3000, "side-a") == 0);
    if (!a.c)
        return;
    cap k = {0};
    const char *flush[2] = {"SCRIPT", "FLUSH"};
    CHECK(await(&a, pp_redis_command(a.c->redis, 0, 2, flush, NULL, on_cap, &k), &k));
    CHECK(!k.err);
    cap_free(&k);
    pp_redis_stats before, after;
    pp_redis_get_stats(a.c->redis, &before);
    CHECK(await(&a, pp_rstore_list(&a.st, "rec", NULL, 0, "0", 10, on_cap, &k), &k));
    CHECK(!k.err && k.n >= 1);
    cap_free(&k);
    pp_redis_get_stats(a.c->redis, &after);
    CHECK_EQ_LONG(after.script_loads, before.script_loads + 1); /* NOSCRIPT: loaded again */

    const char *acl[] = {"ACL", "SETUSER", "ppuser", "on", ">s3cr:et@", "~*", "&*", "+@all"};
    CHECK(await(&a, pp_redis_command(a.c->redis, 0, 8, acl, NULL, on_cap, &k), &k));
    CHECK(!k.err);
    cap_free(&k);
    char u[160];
    node b;
    snprintf(u, sizeof u, "redis://ppuser:s3cr%%3Aet%%40@127.0.0.1:%d/3", port);
    CHECK(node_open(&b, u, 3000, "side-b") == 0);
    if (b.c) {
        CHECK(await(&b, pp_rstore_submit(&b.st, "acl", "s1", "{}", 2, 1, NULL, NULL, 0, on_cap, &k),
                    &k));
        CHECK(!k.err && k.integer == 1);
        cap_free(&k);
        CHECK_EQ_LONG(counter(&b, "acl", "subs"), 1);
        CHECK_EQ_LONG(counter(&a, "acl", "subs"), 0); /* db 0 has no such key */
        node_close(&b);
    }
    snprintf(u, sizeof u, "redis://ppuser:wrong@127.0.0.1:%d", port);
    CHECK(node_open(&b, u, 400, "side-c") == 0);
    if (b.c) {
        CHECK(await(&b, pp_rstore_counts(&b.st, "acl", on_cap, &k), &k));
        CHECK(k.err && strstr(k.err, "AUTH failed"));
        if (k.err)
            printf("wrong password: %s\n", k.err);
        cap_free(&k);
        node_close(&b);
    }
    char why[512] = "";
    pp_tls_config tls = {.insecure = 1};
    pp_client *c = new_tls_client(url, 1000, &tls, why, sizeof why);
    CHECK(!c && strstr(why, "TLS settings need a rediss:// URL"));
    pp_client_free(c);
    c = new_client("redis://127.0.0.1:1:2", 1000, why, sizeof why);
    CHECK(!c && strstr(why, "port"));
    pp_client_free(c);
    node_close(&a);
}

/* ---- no server at all: commands wait their time, then fail naming why;
 * the client sleeps between reconnects rather than spinning */
static void test_down(void)
{
    char url[64], why[512];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", rsrv_free_port());
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL);
    pp_redis_config rc;
    memset(&rc, 0, sizeof rc);
    rc.url = url;
    rc.timeout_ms = 500;
    rc.max_waiting = 2;
    CHECK(c && pp_fleet_open(c, &rc, NULL) == 0);
    if (!c || !c->redis) {
        pp_client_free(c);
        return;
    }
    cap k = {0}, k2 = {0}, k3 = {0};
    const char *ping[1] = {"PING"};
    CHECK(pp_redis_command(c->redis, 0, 1, ping, NULL, on_cap, &k) == 0);
    CHECK(pp_redis_command(c->redis, 0, 1, ping, NULL, on_cap, &k2) == 0);
    CHECK(pp_redis_command(c->redis, 0, 1, ping, NULL, on_cap, &k3) < 0); /* max_waiting */
    CHECK_EQ_LONG(pp_busy(c), 2);
    int steps = 0;
    uint64_t t0 = pp_now_ms();
    while (!(k.done && k2.done) && pp_now_ms() < t0 + 5000) {
        pp_wait(c, 1000, NULL);
        steps++;
    }
    uint64_t took = pp_now_ms() - t0;
    snprintf(why, sizeof why, "%s", k.err ? k.err : "");
    printf("down: %s after %llu ms, %d waits\n", why, (unsigned long long)took, steps);
    CHECK(k.done && k.err && strstr(k.err, "Connection refused"));
    CHECK(took >= 450 && took < 1500);
    CHECK(steps < 100); /* asleep between reconnects, not spinning */
    CHECK_EQ_LONG(pp_busy(c), 0);
    cap_free(&k);
    cap_free(&k2);
    pp_client_free(c);
}

/* ---- Redis killed mid-run and restarted: reconnect, nothing lost */
#define RESTART_JOBS 60

static void test_restart(void)
{
    rsrv s;
    memset(&s, 0, sizeof s);
    s.persist = 1;
    CHECK(rsrv_start(&s) == 0);
    node a;
    CHECK(s.pid > 0 && node_open(&a, s.url, 4000, "restart-a") == 0);
    if (s.pid <= 0 || !a.c) {
        rsrv_cleanup(&s);
        return;
    }
    CHECK(seed(&a, "rs", "s1", "r", RESTART_JOBS, "pending"));
    cap ks[RESTART_JOBS];
    memset(ks, 0, sizeof ks);
    char keys[RESTART_JOBS][16];
    int killed_at = -1;
    uint64_t t_kill = 0;
    for (int i = 0; i < RESTART_JOBS; i++) {
        snprintf(keys[i], sizeof keys[i], "r%d", i);
        pp_rjob j = {keys[i], "done", NULL, NULL};
        CHECK(pp_rstore_move(&a.st, "rs", &j, 1, 0, 0, on_cap, &ks[i]) == 0);
        pp_wait(a.c, 5, NULL);
        if (i == RESTART_JOBS / 3) {
            rsrv_stop(&s, SIGKILL); /* commands are out, others follow */
            killed_at = i;
            t_kill = pp_now_ms();
        }
        if (i == RESTART_JOBS / 2) {
            pump_for(a.c, 300); /* down a while: reconnects fail, back off */
            CHECK(!pp_redis_ready(a.c->redis));
            CHECK(rsrv_start(&s) == 0);
        }
    }
    /* a claim issued while the connection may still be coming back */
    cap claim = {0};
    CHECK(pp_rstore_claim(&a.st, "rs", RESTART_JOBS, 60000, on_cap, &claim) == 0);
    int all = 1;
    for (int i = 0; i < RESTART_JOBS; i++)
        all = pump(a.c, &ks[i].done, 8000) && all;
    CHECK(all);
    int moved = 0, errors = 0;
    for (int i = 0; i < RESTART_JOBS; i++) {
        if (ks[i].err) {
            errors++;
            fprintf(stderr, "move %d: %s\n", i, ks[i].err);
        } else if (ks[i].n == 1 && (ks[i].ints[0] == 1 || ks[i].ints[0] == 0)) {
            moved++;
        }
        cap_free(&ks[i]);
    }
    CHECK(pump(a.c, &claim.done, 8000));
    CHECK(!claim.err);
    /* every job is done in the restarted server: none lost, none twice */
    CHECK(!claim.err && claim.n == 1 + 2 * RESTART_JOBS);
    CHECK(claim.n >= 1 && claim.ints[0] == RESTART_JOBS);
    cap_free(&claim);
    pp_redis_stats st;
    pp_redis_get_stats(a.c->redis, &st);
    printf("restart: killed after move %d, %d moves answered (%d errors) after %llu ms; "
           "%llu drops, %llu connects, %llu resent\n",
           killed_at, moved, errors, (unsigned long long)(pp_now_ms() - t_kill),
           (unsigned long long)st.drops, (unsigned long long)st.connects,
           (unsigned long long)st.resent);
    CHECK_EQ_LONG(moved, RESTART_JOBS);
    CHECK(st.drops >= 1 && st.connects >= 2);
    node_close(&a);
    rsrv_cleanup(&s);
}

/* ---- a stalled Redis: a timeout error, then recovery */
static void test_stall(rsrv *s)
{
    node a;
    CHECK(node_open(&a, s->url, 400, "stall-a") == 0);
    if (!a.c)
        return;
    cap k = {0};
    CHECK(await(&a, pp_rstore_counts(&a.st, "rec", on_cap, &k), &k) && !k.err);
    cap_free(&k);
    rsrv_signal(s, SIGSTOP);
    uint64_t t0 = pp_now_ms();
    CHECK(await(&a, pp_rstore_list(&a.st, "rec", NULL, 0, "0", 10, on_cap, &k), &k));
    uint64_t took = pp_now_ms() - t0;
    CHECK(k.err && strstr(k.err, "no answer in time"));
    printf("stall: %s after %llu ms\n", k.err ? k.err : "(answered)", (unsigned long long)took);
    CHECK(took >= 350 && took < 2000);
    cap_free(&k);
    /* while it stays stopped, commands fail in their time, never hang */
    CHECK(await(&a, pp_rstore_counts(&a.st, "rec", on_cap, &k), &k));
    CHECK(k.err != NULL);
    cap_free(&k);
    rsrv_signal(s, SIGCONT);
    CHECK(await(&a, pp_rstore_counts(&a.st, "rec", on_cap, &k), &k));
    if (k.err) { /* the first one after SIGCONT may meet the reconnect's backoff */
        cap_free(&k);
        CHECK(await(&a, pp_rstore_counts(&a.st, "rec", on_cap, &k), &k));
    }
    CHECK(!k.err && k.n >= 2);
    cap_free(&k);
    CHECK(pp_redis_ready(a.c->redis));
    node_close(&a);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    rsrv s;
    memset(&s, 0, sizeof s);
    if (rsrv_start(&s) < 0) {
        fprintf(stderr, "cannot start redis-server (Debian's redis-server package; make deps)\n");
        rsrv_cleanup(&s);
        return 1;
    }
    test_records(s.url);
    test_journal_shape(s.url);
    test_polling(s.url);
    test_claims(s.url);
    test_leases(s.url);
    test_hosts(s.url);
    test_server_side(s.url, s.port);
    test_stall(&s);
    test_down();
    rsrv_cleanup(&s);
    test_restart();
    DONE();
}
