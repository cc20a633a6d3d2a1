/* rediss:// against real redis-servers that speak only TLS, with
 * certificates tls_certs.sh makes at test time: the store's handshake
 * and scripts over TLS, a value of a megabyte each way (reads and writes
 * in parts), driven by pp_wait, by an event-loop host and by ticks; the
 * URL's host checked by name and by address; a CA that did not sign the
 * server's certificate, a certificate for another host, insecure; a
 * server that requires client certificates, with ours, without one and
 * with one it does not trust; settings refused before any connection;
 * three clients with different settings at once; a TLS server stalled
 * and restarted mid-run. */
#include "client.h"
#include "redis.h"
#include "check.h"
#include "host.h"
#include "redis_server.h"
#include "redis_cap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pp_tls_config trusting(const rsrv *s)
{
    pp_tls_config t = {0};
    t.ca_file = rsrv_file(s, "ca.crt");
    return t;
}

/* A command on c, waited for: its answer in k (cap_free it). */
static int run(pp_client *c, int flags, int argc, const char **argv, const size_t *lens, cap *k,
               long ms)
{
    memset(k, 0, sizeof *k);
    return pp_redis_command(c->redis, flags, argc, argv, lens, on_cap, k) == 0 &&
           pump(c, &k->done, ms);
}

static int pings(pp_client *c)
{
    cap k;
    const char *argv[1] = {"PING"};
    int ok = run(c, 0, 1, argv, NULL, &k, 5000) && !k.err && k.n == 1 && !strcmp(k.str[0], "PONG");
    if (k.err)
        fprintf(stderr, "PING: %s\n", k.err);
    cap_free(&k);
    return ok;
}

/* A client the server's TLS turns away: a command fails naming what. */
static void refused(const char *label, const char *url, const pp_tls_config *tls, const char *what)
{
    char why[512] = "";
    pp_client *c = new_tls_client(url, 700, tls, why, sizeof why);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "%s: %s\n", label, why);
        return;
    }
    cap k;
    const char *argv[1] = {"PING"};
    CHECK(run(c, 0, 1, argv, NULL, &k, 5000));
    CHECK(k.err && strstr(k.err, what));
    printf("%s: %s\n", label, k.err ? k.err : "(answered)");
    CHECK(pp_redis_refused(c->redis));
    CHECK(!pp_redis_ready(c->redis));
    cap_free(&k);
    pp_client_free(c);
}

/* Settings refused when the connection is made, naming why. */
static void bad_settings(const char *url, const pp_tls_config *tls, const char *what)
{
    char why[512] = "";
    pp_client *c = new_tls_client(url, 700, tls, why, sizeof why);
    CHECK(!c && strstr(why, what));
    if (c || !strstr(why, what))
        fprintf(stderr, "expected '%s', got '%s'\n", what, why);
    pp_client_free(c);
}

/* ---- the store over TLS, and a megabyte each way */
static void test_works(rsrv *s)
{
    pp_tls_config tls = trusting(s);
    char why[512] = "";
    pp_client *c = new_tls_client(s->url, 5000, &tls, why, sizeof why);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "%s\n", why);
        return;
    }
    CHECK(pings(c));
    CHECK(pp_redis_ready(c->redis));

    size_t big = (size_t)1 << 20;
    char *v = malloc(big + 1);
    CHECK(v != NULL);
    if (v) {
        for (size_t i = 0; i < big; i++)
            v[i] = (char)('a' + i % 26);
        v[big] = 0;
        const char *set[3] = {"SET", "tls:big", v};
        size_t lens[3] = {3, 7, big};
        cap k;
        CHECK(run(c, 0, 3, set, lens, &k, 10000) && !k.err);
        cap_free(&k);
        const char *get[2] = {"GET", "tls:big"};
        CHECK(run(c, 0, 2, get, NULL, &k, 10000) && !k.err && k.n == 1);
        CHECK(k.n == 1 && strlen(k.str[0]) == big && !memcmp(k.str[0], v, big));
        cap_free(&k);
        free(v);
    }

    /* the store's scripts, loaded in the handshake */
    pp_rstore st;
    char msg[256];
    CHECK(pp_rstore_init(&st, c->redis, NULL, "tls-a", &c->rng, msg, sizeof msg) == 0);
    cap k = {0};
    CHECK(pp_rstore_submit(&st, "tls", "s1", "{}", 2, 3, NULL, NULL, 0, on_cap, &k) == 0);
    CHECK(pump(c, &k.done, 5000) && !k.err && k.integer == 1);
    cap_free(&k);

    /* driven as an event loop does (pp_socket_action), then by ticks */
    host h;
    memset(&h, 0, sizeof h);
    CHECK(pp_rstore_counts(&st, "tls", on_cap, &k) == 0);
    uint64_t end = pp_now_ms() + 5000;
    while (!k.done && pp_now_ms() < end)
        host_step(c, &h, 50);
    CHECK(k.done && !k.err && k.n >= 2);
    CHECK(h.max_watched >= 1);
    cap_free(&k);
    CHECK(pp_rstore_counts(&st, "tls", on_cap, &k) == 0);
    end = pp_now_ms() + 5000;
    while (!k.done && pp_now_ms() < end) {
        pp_perform(c, NULL);
        rsrv_sleep_ms(1);
    }
    CHECK(k.done && !k.err);
    cap_free(&k);
    pp_redis_stats stats;
    pp_redis_get_stats(c->redis, &stats);
    CHECK_EQ_LONG((long)stats.connects, 1);
    CHECK_EQ_LONG((long)stats.drops, 0);
    pp_rstore_cleanup(&st);
    pp_client_free(c);

    /* by name: the certificate names localhost too */
    char url[96];
    snprintf(url, sizeof url, "rediss://localhost:%d/2", s->port);
    c = new_tls_client(url, 5000, &tls, why, sizeof why);
    CHECK(c && pings(c));
    pp_client_free(c);
}

/* ---- the server's certificate: verified, or not */
static void test_verification(rsrv *s, rsrv *stranger)
{
    pp_tls_config other = {0};
    other.ca_file = rsrv_file(s, "other-ca.crt");
    refused("wrong CA", s->url, &other, "certificate failed verification");
    refused("system CAs", s->url, NULL, "certificate failed verification");
    pp_tls_config tls = trusting(s);
    char url[96];
    snprintf(url, sizeof url, "rediss://localhost:%d", stranger->port);
    refused("another host's certificate", url, &tls, "hostname mismatch");
    refused("another host's certificate, by address", stranger->url, &tls, "IP address mismatch");
    pp_tls_config insecure = {0};
    insecure.insecure = 1;
    char why[512] = "";
    pp_client *c = new_tls_client(url, 5000, &insecure, why, sizeof why);
    CHECK(c && pings(c));
    pp_client_free(c);
}

/* ---- a server that requires client certificates */
static void test_client_certs(rsrv *s)
{
    pp_tls_config tls = trusting(s);
    tls.cert_file = rsrv_file(s, "client.crt");
    tls.key_file = rsrv_file(s, "client.key");
    char why[512] = "";
    pp_client *c = new_tls_client(s->url, 5000, &tls, why, sizeof why);
    CHECK(c && pings(c));
    pp_client_free(c);
    pp_tls_config none = trusting(s);
    refused("no client certificate", s->url, &none, "requires a client certificate");
    pp_tls_config intruder = trusting(s);
    intruder.cert_file = rsrv_file(s, "intruder.crt");
    intruder.key_file = rsrv_file(s, "intruder.key");
    refused("an untrusted client certificate", s->url, &intruder, "refused this client's");
}

/* ---- settings refused before connecting */
static void test_settings(rsrv *s, const char *plain_url)
{
    pp_tls_config t = trusting(s);
    t.ca_file = "/nonexistent/ca.crt";
    bad_settings(s->url, &t, "cannot read the CA file /nonexistent/ca.crt");
    t = trusting(s);
    t.cert_file = rsrv_file(s, "client.crt");
    bad_settings(s->url, &t, "needs its key");
    t = trusting(s);
    t.ca_file = rsrv_file(s, "redis.log");
    bad_settings(s->url, &t, "holds no certificate");
    t = trusting(s);
    t.cert_file = rsrv_file(s, "client.crt");
    t.key_file = rsrv_file(s, "server.key");
    bad_settings(s->url, &t, "is not the certificate's");
    t = trusting(s);
    bad_settings(plain_url, &t, "TLS settings need a rediss:// URL");
    /* TLS to a server without it: it waits for a command's end that
     * never comes */
    char url[128], why[512] = "";
    snprintf(url, sizeof url, "rediss://%s", plain_url + strlen("redis://"));
    pp_client *c = new_tls_client(url, 500, &t, why, sizeof why);
    cap k = {0};
    const char *argv[1] = {"PING"};
    CHECK(c && run(c, 0, 1, argv, NULL, &k, 5000));
    CHECK(k.err && strstr(k.err, "no TLS handshake"));
    printf("TLS to a plain server: %s\n", k.err ? k.err : "(answered)");
    cap_free(&k);
    pp_client_free(c);
}

/* ---- three clients, three settings, at once: nothing shared */
static void test_side_by_side(rsrv *s, rsrv *stranger)
{
    pp_tls_config tls = trusting(s), insecure = {0};
    insecure.insecure = 1;
    char why[512] = "";
    pp_client *a = new_tls_client(s->url, 3000, &tls, why, sizeof why);
    pp_client *b = new_tls_client(stranger->url, 3000, &insecure, why, sizeof why);
    pp_client *c = new_tls_client(s->url, 3000, NULL, why, sizeof why);
    CHECK(a && b && c);
    if (a && b && c) {
        cap ka = {0}, kb = {0}, kc = {0};
        const char *argv[1] = {"PING"};
        CHECK(pp_redis_command(a->redis, 0, 1, argv, NULL, on_cap, &ka) == 0);
        CHECK(pp_redis_command(b->redis, 0, 1, argv, NULL, on_cap, &kb) == 0);
        CHECK(pp_redis_command(c->redis, 0, 1, argv, NULL, on_cap, &kc) == 0);
        uint64_t end = pp_now_ms() + 8000;
        while (!(ka.done && kb.done && kc.done) && pp_now_ms() < end) {
            pp_wait(a, 5, NULL);
            pp_wait(b, 5, NULL);
            pp_wait(c, 5, NULL);
        }
        CHECK(ka.done && !ka.err && kb.done && !kb.err);
        CHECK(kc.done && kc.err && strstr(kc.err, "verification"));
        cap_free(&ka);
        cap_free(&kb);
        cap_free(&kc);
    }
    pp_client_free(a);
    pp_client_free(b);
    pp_client_free(c);
}

/* ---- stalled (SIGSTOP), then killed and restarted: writes survive */
#define WRITES 40

static void test_stall_and_restart(rsrv *s)
{
    pp_tls_config tls = trusting(s);
    char why[512] = "";
    pp_client *c = new_tls_client(s->url, 500, &tls, why, sizeof why);
    CHECK(c && pings(c));
    if (!c)
        return;
    rsrv_signal(s, SIGSTOP);
    cap k;
    const char *argv[1] = {"PING"};
    CHECK(run(c, 0, 1, argv, NULL, &k, 5000));
    CHECK(k.err && strstr(k.err, "no answer in time"));
    printf("stall: %s\n", k.err ? k.err : "(answered)");
    cap_free(&k);
    rsrv_signal(s, SIGCONT);
    uint64_t end = pp_now_ms() + 5000;
    while (!pp_redis_ready(c->redis) && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    CHECK(pings(c));
    pp_client_free(c);

    c = new_tls_client(s->url, 4000, &tls, why, sizeof why);
    CHECK(c && pings(c));
    if (!c)
        return;
    cap ks[WRITES];
    memset(ks, 0, sizeof ks);
    char vals[WRITES][8];
    for (int i = 0; i < WRITES; i++) {
        snprintf(vals[i], sizeof vals[i], "%d", i);
        char key[16];
        snprintf(key, sizeof key, "tls:w%d", i);
        const char *set[3] = {"SET", key, vals[i]};
        CHECK(pp_redis_command(c->redis, PP_REDIS_IDEMPOTENT, 3, set, NULL, on_cap, &ks[i]) == 0);
        pp_wait(c, 5, NULL);
        if (i == WRITES / 4)
            rsrv_stop(s, SIGKILL);
        if (i == WRITES / 2) {
            pump_for(c, 300); /* down a while: reconnects fail, back off */
            CHECK(!pp_redis_ready(c->redis));
            CHECK(!pp_redis_refused(c->redis)); /* a refused connect is no TLS failure */
            CHECK(rsrv_start(s) == 0);
        }
    }
    int answered = 0;
    for (int i = 0; i < WRITES; i++) {
        answered += pump(c, &ks[i].done, 8000) && !ks[i].err;
        if (ks[i].err)
            fprintf(stderr, "SET %d: %s\n", i, ks[i].err);
        cap_free(&ks[i]);
    }
    CHECK_EQ_LONG(answered, WRITES);
    const char *get[2] = {"GET", "tls:w39"};
    CHECK(run(c, 0, 2, get, NULL, &k, 5000) && !k.err && k.n == 1 && !strcmp(k.str[0], "39"));
    cap_free(&k);
    pp_redis_stats st;
    pp_redis_get_stats(c->redis, &st);
    printf("restart: %d writes answered; %llu drops, %llu connects, %llu resent\n", answered,
           (unsigned long long)st.drops, (unsigned long long)st.connects,
           (unsigned long long)st.resent);
    CHECK(st.drops >= 1 && st.connects >= 2);
    pp_client_free(c);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a write to a server gone must not raise it */
    rsrv s, stranger, clients, plain;
    memset(&s, 0, sizeof s);
    memset(&stranger, 0, sizeof stranger);
    memset(&clients, 0, sizeof clients);
    memset(&plain, 0, sizeof plain);
    s.tls = RSRV_TLS;
    s.persist = 1;
    int up = rsrv_start(&s) == 0;
    /* the others share s's certificates */
    stranger.tls = RSRV_TLS;
    stranger.cert = "stranger";
    clients.tls = RSRV_TLS_CLIENTS;
    up = up && mkdtemp(strcpy(stranger.dir, "/tmp/pp-redis-test-XXXXXX")) &&
         mkdtemp(strcpy(clients.dir, "/tmp/pp-redis-test-XXXXXX"));
    if (up) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "cp %s/*.crt %s/*.key %s/ && cp %s/*.crt %s/*.key %s/", s.dir,
                 s.dir, stranger.dir, s.dir, s.dir, clients.dir);
        up = system(cmd) == 0;
    }
    up = up && rsrv_start(&stranger) == 0 && rsrv_start(&clients) == 0 && rsrv_start(&plain) == 0;
    if (!up) {
        fprintf(stderr, "cannot start redis-server with TLS (redis-server, openssl; make deps)\n");
    } else {
        test_works(&s);
        test_verification(&s, &stranger);
        test_client_certs(&clients);
        test_settings(&s, plain.url);
        test_side_by_side(&s, &stranger);
        test_stall_and_restart(&s);
    }
    rsrv_cleanup(&plain);
    rsrv_cleanup(&clients);
    rsrv_cleanup(&stranger);
    rsrv_cleanup(&s);
    CHECK(up);
    DONE();
}
