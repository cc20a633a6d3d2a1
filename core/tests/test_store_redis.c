/* The journal's store on a real redis-server, through the store interface
 * (store.h) of clients opened with a redis:// journal: keys unique across
 * two processes' stores, a flush's writes read back by list(), claims from
 * two clients (each job got by one), the claims of a replacing submission
 * taken with its flush (refused when another had one: the flush fails and
 * what was got is given back), leases (claim, renewal, release), the
 * releases of a step sent as one script and claims that bring the jobs'
 * records along, retention (finished jobs handed out for good expire,
 * pending and unhanded ones never; the sets lose their members) and a
 * tag forgotten at once (refused while a job is not handed out). */
#include "client.h"
#include "redis.h"
#include "check.h"
#include "redis_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct done {
    int done, rc;
    char why[300];
} done;

static void on_done(void *ud, int rc, const char *why)
{
    done *d = ud;
    d->done = 1;
    d->rc = rc;
    snprintf(d->why, sizeof d->why, "%s", why ? why : "");
}

static int pump(pp_client *c, const int *flag, long ms)
{
    uint64_t end = pp_now_ms() + (uint64_t)ms;
    while (!*flag && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    return *flag;
}

/* One command's integer answer (-100 when it failed, -101 not an
 * integer, the element count for an array). */
typedef struct rint {
    int done;
    long long v;
} rint;

static void on_rint(void *ud, const redisReply *reply, const char *err)
{
    rint *r = ud;
    r->done = 1;
    r->v = err || !reply                        ? -100
           : reply->type == REDIS_REPLY_INTEGER ? reply->integer
           : reply->type == REDIS_REPLY_ARRAY   ? (long long)reply->elements
                                                : -101;
}

static int pump(pp_client *c, const int *flag, long ms);

static long long cmd_int(pp_client *c, const char *a0, const char *a1, const char *a2)
{
    const char *argv[3] = {a0, a1, a2};
    rint r = {0, -102};
    if (pp_redis_command(c->redis, 0, a2 ? 3 : 2, argv, NULL, on_rint, &r) < 0)
        return -103;
    pump(c, &r.done, 5000);
    return r.v;
}

/* PTTL of the tag's job (or, sub set, submission) key k. */
static long long pttl(pp_client *c, const char *tag, int sub, int64_t k)
{
    char key[128];
    snprintf(key, sizeof key, "pp:{%s}:%s:%lld", tag, sub ? "sub" : "job", (long long)k);
    return cmd_int(c, "PTTL", key, NULL);
}

static long long tag_keys(pp_client *c, const char *tag)
{
    char pattern[96];
    snprintf(pattern, sizeof pattern, "pp:{%s}:*", tag);
    return cmd_int(c, "KEYS", pattern, NULL);
}

static uint64_t commands(pp_client *c)
{
    pp_redis_stats st;
    pp_redis_get_stats(c->redis, &st);
    return st.commands;
}

static pp_client *open_client(const char *url)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9"; /* never asked: only the store runs */
    cfg.journal = url;
    cfg.lease_ms = 600;
    pp_error err = {0};
    pp_client *c = pp_client_new(&cfg, &err);
    if (!c) {
        fprintf(stderr, "client: %s\n", err.message);
        return NULL;
    }
    int ready = 0;
    uint64_t end = pp_now_ms() + 5000;
    while (!(ready = pp_journal_ready(c) == 1) && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    if (!ready) {
        pp_client_free(c);
        return NULL;
    }
    return c;
}

static int flush(pp_client *c, done *d)
{
    memset(d, 0, sizeof *d);
    const char *why = NULL;
    if (c->store->ops->flush(c->store, 1, on_done, d, &why) < 0)
        return -1;
    pump(c, &d->done, 10000);
    return d->done ? d->rc : -2;
}

/* A submission of n jobs (values "v0".. as JSON strings) tagged tag. */
static int submit(pp_client *c, const char *tag, int n, int64_t *keys)
{
    const pp_store_ops *ops = c->store->ops;
    const char *why = NULL;
    int64_t sub = 0;
    if (ops->submission(c->store, "{\"source\":\"universal\"}", "url", tag, "/tmp/out", NULL, &sub,
                        &why) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char value[32];
        snprintf(value, sizeof value, "\"v%d\"", i);
        if (ops->job(c->store, sub, value, &keys[i], &why) < 0)
            return -1;
        if (ops->sending(c->store, keys[i], &why) < 0)
            return -1;
    }
    return 0;
}

/* list() gives each() and done() one ud: the completion comes first */
typedef struct rows {
    done d;
    int n;
    int64_t key[16];
    char id[16][32], path[16][64], value[16][16];
    int state[16], handed[16], sent[16];
    char tag[32];
} rows;

static int on_row(void *ud, const pp_store_row *r)
{
    rows *w = ud; /* begins with its done */
    if (w->n < 16) {
        int i = w->n++;
        w->key[i] = r->key;
        snprintf(w->id[i], sizeof w->id[i], "%s", r->id ? r->id : "");
        snprintf(w->path[i], sizeof w->path[i], "%s", r->results_path ? r->results_path : "");
        snprintf(w->value[i], sizeof w->value[i], "%s", r->value ? r->value : "");
        snprintf(w->tag, sizeof w->tag, "%s", r->tag ? r->tag : "");
        w->state[i] = r->state;
        w->handed[i] = r->handed;
        w->sent[i] = r->sent;
    }
    return 0;
}

static int list(pp_client *c, const char *tag, int unhanded, rows *w)
{
    memset(w, 0, sizeof *w);
    pp_store_filter f = {0, tag, unhanded};
    const char *why = NULL;
    if (c->store->ops->list(c->store, &f, on_row, on_done, w, &why) < 0)
        return -1;
    pump(c, &w->d.done, 10000);
    return w->d.done ? w->d.rc : -2;
}

static int claim(pp_client *c, const int64_t *keys, size_t n, unsigned char *got)
{
    done d = {0};
    const char *why = NULL;
    if (c->store->ops->claim(c->store, keys, n, 0, got, on_done, &d, &why) < 0)
        return -1;
    pump(c, &d.done, 10000);
    return d.done ? d.rc : -2;
}

static void test_round_trip(const char *url)
{
    pp_client *a = open_client(url), *b = open_client(url);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    const pp_store_ops *ops = a->store->ops;
    int64_t ka[3], kb[1];
    CHECK(submit(a, "rt", 3, ka) == 0);
    CHECK(submit(b, "rt", 1, kb) == 0);
    /* two processes number their jobs apart, without asking each time */
    CHECK(ka[0] != kb[0] && ka[0] >> 32 != kb[0] >> 32);
    done d;
    CHECK_EQ_LONG(flush(a, &d), 0);
    CHECK_EQ_LONG(flush(b, &d), 0);
    const char *why = NULL;
    CHECK(ops->answer(a->store, ka[0], "id-0", &why) == 0);
    CHECK(ops->answer(a->store, ka[1], "id-1", &why) == 0);
    CHECK(ops->transition(a->store, ka[2], PP_REJECTED, "no such source", &why) == 0);
    CHECK(ops->result(a->store, ka[0], "/tmp/out/id-0.json", &why) == 0);
    CHECK_EQ_LONG(flush(a, &d), 0);
    rows w;
    CHECK_EQ_LONG(list(b, "rt", 0, &w), 0);
    CHECK_EQ_LONG(w.n, 4);
    CHECK(!strcmp(w.tag, "rt"));
    for (int i = 0; i < w.n; i++) {
        if (w.key[i] == ka[0]) {
            CHECK_EQ_LONG(w.state[i], PP_FETCHED);
            CHECK(!strcmp(w.id[i], "id-0"));
            CHECK(!strcmp(w.path[i], "/tmp/out/id-0.json"));
            CHECK(!strcmp(w.value[i], "\"v0\""));
        } else if (w.key[i] == ka[1]) {
            CHECK_EQ_LONG(w.state[i], PP_PENDING);
        } else if (w.key[i] == ka[2]) {
            CHECK_EQ_LONG(w.state[i], PP_REJECTED);
        } else {
            CHECK(w.key[i] == kb[0]);
            CHECK_EQ_LONG(w.state[i], PP_SUBMITTING);
            CHECK_EQ_LONG(w.sent[i], 1);
        }
    }
    /* each job got by one of the two */
    unsigned char ga[3] = {0}, gb[3] = {0};
    CHECK_EQ_LONG(claim(b, ka, 3, gb), 0);
    CHECK_EQ_LONG(claim(a, ka, 3, ga), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_LONG(ga[i] + gb[i], 1);
    /* unhanded listings leave them out; a take hands out for good, so
     * neither the end of a hold nor giving back a dead holder's changes it */
    CHECK_EQ_LONG(ops->handed(a->store, ka[0], &why), 0);
    CHECK_EQ_LONG(ops->unhold(b->store, ka[1], (long)getpid(), &why), 0);
    CHECK_EQ_LONG(flush(a, &d), 0);
    CHECK_EQ_LONG(flush(b, &d), 0);
    CHECK_EQ_LONG(list(a, "rt", 1, &w), 0);
    CHECK_EQ_LONG(w.n, 1);
out:
    pp_client_free(a);
    pp_client_free(b);
}

static void test_replaces(const char *url)
{
    pp_client *a = open_client(url), *b = open_client(url);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    int64_t lost[3];
    CHECK(submit(a, "rp", 3, lost) == 0);
    done d;
    CHECK_EQ_LONG(flush(a, &d), 0);
    rows w;
    CHECK_EQ_LONG(list(b, "rp", 0, &w), 0);
    unsigned char got[1] = {0};
    CHECK_EQ_LONG(claim(b, &lost[0], 1, got), 0); /* b dismissed it first */
    CHECK_EQ_LONG(got[0], 1);
    /* a sends lost[0] and lost[1] again: refused with the flush */
    unsigned char held[2] = {0};
    const char *why = NULL;
    CHECK_EQ_LONG(a->store->ops->claim(a->store, lost, 2, 1, held, NULL, NULL, &why), 1);
    int64_t again[2];
    CHECK(submit(a, "rp", 2, again) == 0);
    CHECK_EQ_LONG(flush(a, &d), -1);
    CHECK(strstr(d.why, "sent again") != NULL);
    CHECK_EQ_LONG(flush(a, &d), 0); /* what it got is given back */
    got[0] = 0;
    CHECK_EQ_LONG(claim(b, &lost[1], 1, got), 0);
    CHECK_EQ_LONG(got[0], 1);
    /* lost[2] alone: got with the submission */
    CHECK_EQ_LONG(a->store->ops->claim(a->store, &lost[2], 1, 1, held, NULL, NULL, &why), 1);
    CHECK(submit(a, "rp", 1, again) == 0);
    CHECK_EQ_LONG(flush(a, &d), 0);
    got[0] = 1;
    CHECK_EQ_LONG(claim(b, &lost[2], 1, got), 0);
    CHECK_EQ_LONG(got[0], 0);
out:
    pp_client_free(a);
    pp_client_free(b);
}

typedef struct leased {
    done d;
    int n;
    int64_t key[16];
} leased;

static int on_leased_row(void *ud, const pp_store_row *r)
{
    leased *l = ud;
    if (l->n < 16)
        l->key[l->n++] = r->key;
    return 0;
}

static long lease(pp_client *c, const char *tag, leased *l)
{
    memset(l, 0, sizeof *l);
    long remaining = -2;
    const char *why = NULL;
    if (pp_store_redis_lease(c->store, tag, 16, 0, on_leased_row, on_done, l, &remaining, &why) < 0)
        return -3;
    pump(c, &l->d.done, 10000);
    return l->d.done && l->d.rc == 0 ? remaining : -4;
}

static void test_leases(const char *url)
{
    pp_client *a = open_client(url), *b = open_client(url);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    int64_t k[2];
    CHECK(submit(a, "ls", 2, k) == 0);
    const char *why = NULL;
    a->store->ops->answer(a->store, k[0], "L0", &why);
    a->store->ops->answer(a->store, k[1], "L1", &why);
    a->store->ops->result(a->store, k[0], NULL, &why);
    a->store->ops->result(a->store, k[1], NULL, &why);
    done d;
    CHECK_EQ_LONG(flush(a, &d), 0);
    leased la, lb;
    uint64_t before = commands(a);
    CHECK_EQ_LONG(lease(a, "ls", &la), 2);
    CHECK_EQ_LONG(la.n, 2);
    /* the claim brings the jobs' records: it and one read of the
     * submission, not a read per job */
    CHECK_EQ_LONG((long)(commands(a) - before), 2);
    CHECK(pp_store_redis_holds(a->store, la.key[0]));
    CHECK_EQ_LONG(lease(b, "ls", &lb), 2);
    CHECK_EQ_LONG(lb.n, 0);
    /* a keeps renewing while driven: b gets nothing past the lease */
    int never = 0;
    pump(a, &never, 900);
    CHECK_EQ_LONG(lease(b, "ls", &lb), 2);
    CHECK_EQ_LONG(lb.n, 0);
    CHECK(pp_store_redis_release(a->store, la.key[0], 1) == 0);
    CHECK(pp_store_redis_release(a->store, la.key[1], 1) == 0);
    /* both wait for the flush, and go in one script */
    pump(a, &never, 100);
    CHECK_EQ_LONG(lease(b, "ls", &lb), 2);
    before = commands(a);
    CHECK_EQ_LONG(flush(a, &d), 0);
    CHECK_EQ_LONG((long)(commands(a) - before), 1);
    CHECK_EQ_LONG(lease(b, "ls", &lb), 0); /* every job handed out */
    /* a process that stops renewing loses its claim to another */
    int64_t k2[1];
    CHECK(submit(a, "ls2", 1, k2) == 0);
    a->store->ops->answer(a->store, k2[0], "M0", &why);
    a->store->ops->result(a->store, k2[0], NULL, &why);
    CHECK_EQ_LONG(flush(a, &d), 0);
    CHECK_EQ_LONG(lease(a, "ls2", &la), 1);
    CHECK_EQ_LONG(la.n, 1);
    /* a claim with less than half a lease left asks to be sent now */
    pump(b, &never, 350); /* a is not driven */
    CHECK_EQ_LONG(pp_store_redis_release(a->store, k2[0], 0), 1);
    CHECK_EQ_LONG(flush(a, &d), 0);
    CHECK_EQ_LONG(lease(a, "ls2", &la), 1);
    CHECK_EQ_LONG(la.n, 1);
    pump(b, &never, 800); /* a is not driven */
    CHECK(!pp_store_redis_holds(a->store, k2[0]));
    CHECK_EQ_LONG(lease(b, "ls2", &lb), 1);
    CHECK_EQ_LONG(lb.n, 1);
out:
    pp_client_free(a);
    pp_client_free(b);
}

/* n jobs of tag, answered, and the first `fetched` of them fetched. */
static int finished(pp_client *c, const char *tag, int n, int fetched, int64_t *k)
{
    const char *why = NULL;
    if (submit(c, tag, n, k) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s-%d", tag, i);
        if (c->store->ops->answer(c->store, k[i], id, &why) < 0 ||
            (i < fetched && c->store->ops->result(c->store, k[i], NULL, &why) < 0))
            return -1;
    }
    done d;
    return flush(c, &d);
}

static void test_retention(const char *url)
{
    pp_client *a = open_client(url);
    CHECK(a != NULL);
    if (!a)
        return;
    pp_store_redis_set_retention(a->store, 60000);
    done d;
    int64_t k[3];
    CHECK_EQ_LONG(finished(a, "rt1", 3, 2, k), 0);
    /* finished, not handed out: kept */
    CHECK_EQ_LONG(pttl(a, "rt1", 0, k[0]), -1);
    leased la;
    CHECK_EQ_LONG(lease(a, "rt1", &la), 3);
    CHECK_EQ_LONG(la.n, 2);
    CHECK(pp_store_redis_release(a->store, k[0], 1) == 0);
    CHECK(pp_store_redis_release(a->store, k[1], 0) == 0); /* given back */
    CHECK_EQ_LONG(flush(a, &d), 0);
    long long t = pttl(a, "rt1", 0, k[0]);
    CHECK(t > 59000 && t <= 60000);
    CHECK_EQ_LONG(pttl(a, "rt1", 0, k[1]), -1);
    CHECK_EQ_LONG(pttl(a, "rt1", 1, k[0] - 1), -1); /* its submission waits for all */
    /* a pending job taken (the journal's claim) is handed out, not ended:
     * kept, until its end is recorded */
    unsigned char got[2] = {0};
    int64_t pend[2] = {k[1], k[2]};
    CHECK_EQ_LONG(claim(a, pend, 2, got), 0);
    CHECK(got[0] && got[1]);
    CHECK(pttl(a, "rt1", 0, k[1]) > 0);
    CHECK_EQ_LONG(pttl(a, "rt1", 0, k[2]), -1);
    const char *why = NULL;
    CHECK(a->store->ops->result(a->store, k[2], NULL, &why) == 0);
    CHECK_EQ_LONG(flush(a, &d), 0);
    CHECK(pttl(a, "rt1", 0, k[2]) > 0);
    t = pttl(a, "rt1", 1, k[0] - 1);
    CHECK(t > 59000 && t <= 60000); /* all three: the submission too */
    /* a take given back is kept again, and so is its submission */
    CHECK(a->store->ops->unclaim(a->store, k[1], &why) == 0);
    CHECK_EQ_LONG(flush(a, &d), 0);
    CHECK_EQ_LONG(pttl(a, "rt1", 0, k[1]), -1);
    CHECK_EQ_LONG(pttl(a, "rt1", 1, k[0] - 1), -1);
    CHECK_EQ_LONG(claim(a, &k[1], 1, got), 0);
    CHECK(pttl(a, "rt1", 1, k[0] - 1) > 0);

    /* expired: gone from listings and from the tag's sets */
    pp_store_redis_set_retention(a->store, 500);
    int64_t e[2];
    CHECK_EQ_LONG(finished(a, "rt2", 2, 2, e), 0);
    CHECK_EQ_LONG(claim(a, e, 2, got), 0);
    CHECK(pttl(a, "rt2", 0, e[0]) > 0 && pttl(a, "rt2", 1, e[0] - 1) > 0);
    rows w;
    CHECK_EQ_LONG(list(a, "rt2", 0, &w), 0);
    CHECK_EQ_LONG(w.n, 2);
    int never = 0;
    pump(a, &never, 650);
    CHECK_EQ_LONG(list(a, "rt2", 0, &w), 0);
    CHECK_EQ_LONG(w.n, 0);
    CHECK_EQ_LONG(cmd_int(a, "SCARD", "pp:{rt2}:jobs", NULL), 0);
    CHECK_EQ_LONG(cmd_int(a, "SCARD", "pp:{rt2}:s:fetched", NULL), 0);
    CHECK_EQ_LONG(cmd_int(a, "ZCARD", "pp:{rt2}:subs", NULL), 0);
    CHECK_EQ_LONG(cmd_int(a, "ZCARD", "pp:{rt2}:exp", NULL), 0);
    /* retention off: kept forever */
    pp_store_redis_set_retention(a->store, 0);
    int64_t f[1];
    CHECK_EQ_LONG(finished(a, "rt3", 1, 1, f), 0);
    CHECK_EQ_LONG(claim(a, f, 1, got), 0);
    CHECK(got[0]);
    CHECK_EQ_LONG(pttl(a, "rt3", 0, f[0]), -1);
    pp_client_free(a);
}

/* The fleet's hand-out through the public calls: the releases of the
 * jobs handed out wait for the engine step, and a client closed before
 * then still sends them (and waits for their answer). */
static void test_release_at_close(const char *url)
{
    pp_client *a = open_client(url), *b = open_client(url);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    int64_t k[3];
    CHECK_EQ_LONG(finished(a, "rc", 3, 3, k), 0);
    pp_op op = pp_fleet_claim(a, "rc", 16, 0, NULL);
    CHECK(op != 0);
    uint64_t end = pp_now_ms() + 5000;
    while (op && !pp_op_done(a, op) && pp_now_ms() < end)
        pp_wait(a, 20, NULL);
    size_t n = 0;
    const pp_journal_entry *e = op ? pp_op_entries(a, op, &n) : NULL;
    CHECK_EQ_LONG((long)n, 3);
    uint64_t before = commands(a);
    for (size_t i = 0; e && i < n; i++)
        CHECK_EQ_LONG(pp_fleet_release(a, e[i].job, 1), 0);
    CHECK_EQ_LONG((long)(commands(a) - before), 0); /* waiting for the step */
    pp_op_free(a, op);
    pp_client_free(a);
    a = NULL;
    leased lb;
    CHECK_EQ_LONG(lease(b, "rc", &lb), 0); /* all three handed out */
    CHECK_EQ_LONG(lb.n, 0);
out:
    pp_client_free(a);
    pp_client_free(b);
}

static int forget(pp_client *c, const char *tag, int force, done *d)
{
    memset(d, 0, sizeof *d);
    const char *why = NULL;
    if (c->store->ops->forget(c->store, tag, force, on_done, d, &why) < 0)
        return -3;
    pump(c, &d->done, 10000);
    return d->done ? d->rc : -2;
}

static void test_forget(const char *url)
{
    pp_client *a = open_client(url);
    CHECK(a != NULL);
    if (!a)
        return;
    done d;
    int64_t k[3];
    CHECK_EQ_LONG(finished(a, "fg", 3, 2, k), 0); /* k[2] pending */
    unsigned char got[2] = {0};
    CHECK_EQ_LONG(claim(a, k, 2, got), 0);
    long long keys = tag_keys(a, "fg");
    CHECK(keys > 5);
    CHECK_EQ_LONG(forget(a, "fg", 0, &d), -1);
    CHECK(strstr(d.why, "1 jobs of the tag are pending or not handed out yet") != NULL);
    CHECK_EQ_LONG(tag_keys(a, "fg"), keys); /* nothing dropped */
    CHECK_EQ_LONG(forget(a, "fg", 1, &d), 0);
    CHECK_EQ_LONG(tag_keys(a, "fg"), 0);
    rows w;
    CHECK_EQ_LONG(list(a, "fg", 0, &w), 0);
    CHECK_EQ_LONG(w.n, 0);
    /* all handed out: no force needed; more jobs than a page */
    int64_t many[1200];
    CHECK_EQ_LONG(finished(a, "fg2", 1200, 1200, many), 0);
    unsigned char *all = calloc(1200, 1);
    CHECK(all && claim(a, many, 1200, all) == 0 && all[0] && all[1199]);
    free(all);
    CHECK_EQ_LONG(forget(a, "fg2", 0, &d), 0);
    CHECK_EQ_LONG(tag_keys(a, "fg2"), 0);
    /* the untagged jobs are a tag of their own */
    CHECK_EQ_LONG(forget(a, NULL, 0, &d), 0);
    pp_client_free(a);
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
    test_round_trip(s.url);
    test_replaces(s.url);
    test_leases(s.url);
    test_retention(s.url);
    test_release_at_close(s.url);
    test_forget(s.url);
    rsrv_cleanup(&s);
    DONE();
}
