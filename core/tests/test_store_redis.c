/* The journal's store on a real redis-server, through the store interface
 * (store.h) of clients opened with a redis:// journal: keys unique across
 * two processes' stores, a flush's writes read back by list(), claims from
 * two clients (each job got by one), the claims of a replacing submission
 * taken with its flush (refused when another had one: the flush fails and
 * what was got is given back), and leases (claim, renewal, release). */
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
    CHECK_EQ_LONG(lease(a, "ls", &la), 2);
    CHECK_EQ_LONG(la.n, 2);
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
    pump(a, &never, 100);
    CHECK_EQ_LONG(lease(b, "ls", &lb), 0); /* every job handed out */
    /* a process that stops renewing loses its claim to another */
    int64_t k2[1];
    CHECK(submit(a, "ls2", 1, k2) == 0);
    a->store->ops->answer(a->store, k2[0], "M0", &why);
    a->store->ops->result(a->store, k2[0], NULL, &why);
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
    rsrv_cleanup(&s);
    DONE();
}
