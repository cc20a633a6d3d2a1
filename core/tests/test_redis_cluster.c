/* Redis Cluster's routing: the slot of a key (checked against a real
 * cluster's CLUSTER KEYSLOT), the redirections a real cluster sends, and
 * the slot map. */
#include "redis.h"
#include "check.h"
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
    const char *bad[] = {"ERR unknown", "MOVED", "MOVED 16384 a:1", "MOVED x a:1", "MOVED 1 a",
                         "MOVED 1 a:0", "MOVED 1 a:70000", "ASK 1 a:x", "NOSCRIPT x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(pp_redis_redirect_parse(bad[i], &ask, &slot, host, sizeof host, &port) < 0);
    CHECK(pp_redis_redirect_parse("MOVED 1 averylonghostname:1", &ask, &slot, host, 4, &port) <
          0);
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
    }
    for (int n = 0; n < RSRV_CLUSTER_NODES; n++)
        rsrv_cleanup(&nodes[n]);
    DONE();
}
