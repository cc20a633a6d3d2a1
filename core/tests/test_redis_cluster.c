/* Redis Cluster's routing: the slot of a key (checked against a real
 * cluster's CLUSTER KEYSLOT), the redirections a real cluster sends, and
 * the slot map. */
#include "client.h"
#include "redis.h"
#include "check.h"
#include "redis_cap.h"
#include "redis_server.h"

#include <string.h>

static unsigned slot_of(const char *key)
{
    return pp_redis_key_slot(key, strlen(key));
}

static void slots_of_keys(void)
{
    /* CRC16/XMODEM's check value is 0x31C3 */
    CHECK_EQ_LONG(slot_of("123456789"), 0x31C3 & 0x3FFF);
    CHECK_EQ_LONG(slot_of("{123456789}.x"), slot_of("123456789"));
    CHECK_EQ_LONG(slot_of("pp:{a}:jobs"), slot_of("a"));
    CHECK_EQ_LONG(slot_of("pp:{a}:jobs"), slot_of("pp:{a}:meta"));
    /* an empty tag: the whole key; only the first tag counts */
    CHECK(slot_of("foo{}{bar}") != slot_of("bar"));
    CHECK(slot_of("foo{}{bar}") != slot_of(""));
    CHECK_EQ_LONG(slot_of("foo{bar}{zap}"), slot_of("bar"));
    CHECK_EQ_LONG(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    CHECK_EQ_LONG(slot_of("{unclosed"), slot_of("{unclosed"));
    CHECK_EQ_LONG(pp_redis_key_slot("", 0), 0);
    /* bytes past the length given do not count */
    CHECK_EQ_LONG(pp_redis_key_slot("abc{x}", 3), slot_of("abc"));
}

static void redirections(void)
{
    int ask = -1, port = 0;
    unsigned slot = 0;
    char host[64];
    CHECK(pp_redis_redirect_parse("MOVED 3999 127.0.0.1:6381", &ask, &slot, host, sizeof host,
                                  &port) == 0);
    CHECK(ask == 0 && slot == 3999 && port == 6381 && !strcmp(host, "127.0.0.1"));
    CHECK(pp_redis_redirect_parse("ASK 16383 ::1:7000", &ask, &slot, host, sizeof host, &port) ==
          0);
    CHECK(ask == 1 && slot == 16383 && port == 7000 && !strcmp(host, "::1"));
    CHECK(pp_redis_redirect_parse("MOVED 1 :7001", &ask, &slot, host, sizeof host, &port) == 0);
    CHECK(!strcmp(host, "") && port == 7001);
    const char *bad[] = {"ERR unknown",     "MOVED",     "MOVED 16384 a:1",
                         "MOVED x a:1",     "MOVED 1 a", "MOVED 1 a:0",
                         "MOVED 1 a:70000", "ASK 1 a:x", "NOSCRIPT x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(pp_redis_redirect_parse(bad[i], &ask, &slot, host, sizeof host, &port) < 0);
    CHECK(pp_redis_redirect_parse("MOVED 1 averylonghostname:1", &ask, &slot, host, 4, &port) < 0);
}

static void slot_map(void)
{
    pp_redis_slots m;
    pp_redis_slots_init(&m);
    CHECK_EQ_LONG(pp_redis_slots_node(&m, 5), -1);
    int a = pp_redis_slots_add(&m, "127.0.0.1", 7000);
    int b = pp_redis_slots_add(&m, "127.0.0.1", 7001);
    CHECK(a == 0 && b == 1);
    CHECK_EQ_LONG(pp_redis_slots_add(&m, "127.0.0.1", 7000), a);
    CHECK_EQ_LONG(pp_redis_slots_find(&m, "127.0.0.1", 7001), b);
    CHECK_EQ_LONG(pp_redis_slots_find(&m, "127.0.0.2", 7001), -1);
    CHECK(pp_redis_slots_set(&m, 5, b) == 0);
    CHECK(pp_redis_slots_set(&m, PP_REDIS_SLOTS, b) < 0);
    CHECK(pp_redis_slots_set(&m, 6, 2) < 0);
    CHECK_EQ_LONG(pp_redis_slots_node(&m, 5), b);
    CHECK_EQ_LONG(pp_redis_slots_node(&m, 6), -1);
    CHECK(pp_redis_slots_set(&m, 5, a) == 0);
    CHECK_EQ_LONG(pp_redis_slots_node(&m, 5), a);
    CHECK(pp_redis_slots_set(&m, 7, b) == 0);
    pp_redis_slots_forget(&m, b);
    CHECK_EQ_LONG(pp_redis_slots_node(&m, 7), -1);
    CHECK_EQ_LONG(pp_redis_slots_node(&m, 5), a);
    pp_redis_slots_free(&m);
}

/* One line of redis-cli's answer to cmd on port. */
static int cli(int port, const char *cmd, char *out, size_t outlen)
{
    char line[512];
    snprintf(line, sizeof line, "redis-cli -p %d %s 2>&1", port, cmd);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    out[0] = 0;
    char *got = fgets(out, (int)outlen, p);
    pclose(p);
    if (!got)
        return -1;
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

/* The slots a real cluster computes, and the redirections it sends: every
 * node answers a key of another node's slot with MOVED to that node. */
static void real_cluster(rsrv *nodes)
{
    char out[256], cmd[128];
    int seen[RSRV_CLUSTER_NODES] = {0};
    for (int i = 0; i < 60; i++) {
        char key[64];
        snprintf(key, sizeof key, i % 3 ? "pp:{tag%d}:jobs" : "key%d", i * 7919);
        snprintf(cmd, sizeof cmd, "CLUSTER KEYSLOT '%s'", key);
        CHECK(cli(nodes[0].port, cmd, out, sizeof out) == 0);
        CHECK_EQ_LONG(strtol(out, NULL, 10), slot_of(key));
        snprintf(cmd, sizeof cmd, "GET '%s'", key);
        CHECK(cli(nodes[0].port, cmd, out, sizeof out) == 0);
        int ask = -1, port = 0;
        unsigned slot = 0;
        char host[64];
        /* redis-cli writes an error reply as is when not on a terminal */
        if (!strncmp(out, "MOVED ", 6)) {
            CHECK(pp_redis_redirect_parse(out, &ask, &slot, host, sizeof host, &port) == 0);
            CHECK(ask == 0 && slot == slot_of(key) && !strcmp(host, "127.0.0.1"));
            for (int n = 1; n < RSRV_CLUSTER_NODES; n++)
                if (port == nodes[n].port)
                    seen[n]++;
        } else {
            seen[0]++;
        }
    }
    for (int n = 0; n < RSRV_CLUSTER_NODES; n++)
        CHECK(seen[n] > 0);
}

/* Which of the nodes serves key (the node MOVED names, or the first). */
static int node_of(rsrv *nodes, const char *key)
{
    char cmd[160], out[256];
    snprintf(cmd, sizeof cmd, "GET '%s'", key);
    if (cli(nodes[0].port, cmd, out, sizeof out) < 0 || strncmp(out, "MOVED ", 6))
        return 0;
    int ask, port;
    unsigned slot;
    char host[64];
    if (pp_redis_redirect_parse(out, &ask, &slot, host, sizeof host, &port) < 0)
        return -1;
    for (int n = 0; n < RSRV_CLUSTER_NODES; n++)
        if (nodes[n].port == port)
            return n;
    return -1;
}

/* A tag of the store whose keys the node serves. */
static void tag_on(rsrv *nodes, int want, char *tag, size_t len)
{
    for (int i = 0; i < 1000; i++) {
        char key[96];
        snprintf(tag, len, "tag%d", i);
        snprintf(key, sizeof key, "pp:{%s}:meta", tag);
        if (node_of(nodes, key) == want)
            return;
    }
    snprintf(tag, len, "none");
}

/* A node's id (CLUSTER MYID). */
static void node_id(const rsrv *n, char *id, size_t len)
{
    if (cli(n->port, "CLUSTER MYID", id, len) < 0)
        id[0] = 0;
}

static int run(pp_client *c, int argc, const char **argv, cap *k)
{
    cap_free(k);
    if (pp_redis_command(c->redis, 0, argc, argv, NULL, on_cap, k) < 0)
        return 0;
    return pump(c, &k->done, 10000);
}

/* The store through a URL of one node: a tag on each node, each
 * submitted, answered and claimed; one connection per node. */
static void store_on_cluster(rsrv *nodes)
{
    char why[512];
    pp_client *c = new_client(nodes[0].url, 3000, why, sizeof why);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "%s\n", why);
        return;
    }
    pp_rstore st;
    char msg[256];
    CHECK(pp_rstore_init(&st, c->redis, NULL, "proc-a", &c->rng, msg, sizeof msg) == 0);
    for (int n = 0; n < RSRV_CLUSTER_NODES; n++) {
        char tag[32];
        tag_on(nodes, n, tag, sizeof tag);
        cap k = {0};
        CHECK(pp_rstore_submit(&st, tag, "s1", "{}", 2, 2, NULL, NULL, 0, on_cap, &k) == 0);
        CHECK(pump(c, &k.done, 10000) && !k.err && k.integer == 1);
        cap_free(&k);
        pp_rjob jobs[2] = {{"j1", "done", NULL, NULL}, {"j2", "done", NULL, NULL}};
        CHECK(pp_rstore_answer(&st, tag, "s1", 0, jobs, 2, 0, 0, on_cap, &k) == 0);
        CHECK(pump(c, &k.done, 10000) && !k.err && k.integer == 2);
        cap_free(&k);
        CHECK(pp_rstore_claim(&st, tag, 10, 5000, on_cap, &k) == 0);
        CHECK(pump(c, &k.done, 10000) && !k.err && k.n == 5);
        cap_free(&k);
        CHECK(pp_rstore_claim(&st, tag, 10, 5000, on_cap, &k) == 0);
        CHECK(pump(c, &k.done, 10000) && !k.err && k.n == 1); /* each job once */
        cap_free(&k);
    }
    CHECK_EQ_LONG(pp_redis_nodes(c->redis), RSRV_CLUSTER_NODES);
    pp_redis_stats st1, st2;
    pp_redis_get_stats(c->redis, &st1);
    CHECK(st1.script_loads >= RSRV_CLUSTER_NODES * PP_RS_COUNT);
    /* the map known now: no more redirections, every command sent once */
    char tag[32];
    tag_on(nodes, 2, tag, sizeof tag);
    cap k = {0};
    CHECK(pp_rstore_counts(&st, tag, on_cap, &k) == 0);
    CHECK(pump(c, &k.done, 10000) && !k.err && k.n >= 2);
    for (size_t i = 0; i + 1 < k.n; i += 2)
        if (!strcmp(k.str[i], "jobs"))
            CHECK(!strcmp(k.str[i + 1], "2"));
    cap_free(&k);
    pp_redis_get_stats(c->redis, &st2);
    CHECK_EQ_LONG(st2.sent - st1.sent, 1);
    pp_rstore_cleanup(&st);
    pp_client_free(c);
}

/* A slot on its way from one node to another: ASK sends a key not yet
 * moved to the new node once (the map unchanged); once the slot is
 * moved, MOVED sends every command of it there. */
static void migration(rsrv *nodes)
{
    char why[512];
    pp_client *c = new_client(nodes[0].url, 3000, why, sizeof why);
    CHECK(c != NULL);
    if (!c)
        return;
    char key[32] = "", src[64], dst[64], cmd[256], out[256];
    int from = 1, to = 2;
    for (int i = 0; i < 1000 && node_of(nodes, key) != from; i++)
        snprintf(key, sizeof key, "mig%d", i);
    unsigned slot = slot_of(key);
    node_id(&nodes[from], src, sizeof src);
    node_id(&nodes[to], dst, sizeof dst);
    const char *set[3] = {"SET", key, "v1"};
    const char *get[2] = {"GET", key};
    cap k = {0};
    CHECK(run(c, 3, set, &k) && !k.err); /* learns the slot is on from */
    char okey[48];                       /* another key of the slot, not there yet */
    snprintf(okey, sizeof okey, "{%s}x", key);
    const char *other[3] = {"SET", okey, "x"};
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %u IMPORTING %s", slot, src);
    CHECK(cli(nodes[to].port, cmd, out, sizeof out) == 0 && !strcmp(out, "OK"));
    snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %u MIGRATING %s", slot, dst);
    CHECK(cli(nodes[from].port, cmd, out, sizeof out) == 0 && !strcmp(out, "OK"));
    /* a new key of the slot: from answers ASK, to takes it */
    CHECK(run(c, 3, other, &k) && !k.err && k.str && !strcmp(k.str[0], "OK"));
    snprintf(cmd, sizeof cmd, "CLUSTER COUNTKEYSINSLOT %u", slot);
    CHECK(cli(nodes[to].port, cmd, out, sizeof out) == 0 && !strcmp(out, "1"));
    /* the old key is still on from, the slot still mapped there */
    CHECK(run(c, 2, get, &k) && !k.err && k.str && !strcmp(k.str[0], "v1"));
    /* the slot moved (its last key too): MOVED */
    snprintf(cmd, sizeof cmd, "MIGRATE 127.0.0.1 %d %s 0 5000", nodes[to].port, key);
    CHECK(cli(nodes[from].port, cmd, out, sizeof out) == 0 && !strcmp(out, "OK"));
    for (int n = 0; n < RSRV_CLUSTER_NODES; n++) {
        snprintf(cmd, sizeof cmd, "CLUSTER SETSLOT %u NODE %s", slot, dst);
        CHECK(cli(nodes[n].port, cmd, out, sizeof out) == 0 && !strcmp(out, "OK"));
    }
    CHECK(run(c, 2, get, &k) && !k.err && k.str && !strcmp(k.str[0], "v1"));
    pp_redis_stats a, b;
    pp_redis_get_stats(c->redis, &a);
    CHECK(run(c, 2, get, &k) && !k.err && k.str && !strcmp(k.str[0], "v1"));
    pp_redis_get_stats(c->redis, &b);
    CHECK_EQ_LONG(b.sent - a.sent, 1); /* straight to the slot's new node */
    cap_free(&k);
    pp_client_free(c);
}

/* SELECT has no place in a cluster: another db is refused, saying why. */
static void no_other_db(rsrv *nodes)
{
    char url[128], why[512];
    snprintf(url, sizeof url, "%s/2", nodes[0].url);
    pp_client *c = new_client(url, 1000, why, sizeof why);
    CHECK(c != NULL);
    if (!c)
        return;
    pump_for(c, 300);
    CHECK(!pp_redis_ready(c->redis));
    CHECK(strstr(pp_redis_last_error(c->redis), "db 0 only") != NULL);
    pp_client_free(c);
}

int main(void)
{
    slots_of_keys();
    redirections();
    slot_map();
    rsrv nodes[RSRV_CLUSTER_NODES];
    memset(nodes, 0, sizeof nodes);
    if (rsrv_cluster_start(nodes) < 0) {
        CHECK(!"a cluster of three redis-servers started");
    } else {
        real_cluster(nodes);
        store_on_cluster(nodes);
        migration(nodes);
        no_other_db(nodes);
    }
    for (int n = 0; n < RSRV_CLUSTER_NODES; n++)
        rsrv_cleanup(&nodes[n]);
    DONE();
}
