/* Redis URLs: what each part becomes, and what is refused (with why). */
#include "redis.h"
#include "check.h"

#include <string.h>

static void ok(const char *url, const char *host, int port, const char *user, const char *pass,
               int db, int tls)
{
    pp_redis_url u;
    char msg[160] = "";
    int rc = pp_redis_url_parse(url, &u, msg, sizeof msg);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", url, msg);
        return;
    }
    CHECK(!strcmp(u.host, host));
    CHECK_EQ_LONG(u.port, port);
    CHECK(user ? u.user && !strcmp(u.user, user) : !u.user);
    CHECK(pass ? u.password && !strcmp(u.password, pass) : !u.password);
    CHECK_EQ_LONG(u.db, db);
    CHECK_EQ_LONG(u.tls, tls);
    pp_redis_url_free(&u);
}

static void bad(const char *url, const char *why)
{
    pp_redis_url u;
    char msg[160] = "";
    CHECK(pp_redis_url_parse(url, &u, msg, sizeof msg) < 0);
    CHECK(strstr(msg, why) != NULL);
    if (!strstr(msg, why))
        fprintf(stderr, "%s: '%s', expected '%s'\n", url ? url : "(null)", msg, why);
    CHECK(!u.host && !u.user && !u.password);
}

int main(void)
{
    ok("redis://127.0.0.1", "127.0.0.1", 6379, NULL, NULL, 0, 0);
    ok("redis://localhost:6380/2", "localhost", 6380, NULL, NULL, 2, 0);
    ok("redis://localhost:6380/", "localhost", 6380, NULL, NULL, 0, 0);
    ok("REDIS://h", "h", 6379, NULL, NULL, 0, 0);
    ok("redis://secret@h", "h", 6379, NULL, "secret", 0, 0);
    ok("redis://:secret@h:1/15", "h", 1, NULL, "secret", 15, 0);
    ok("redis://alice:s%3Acr%40t@h", "h", 6379, "alice", "s:cr@t", 0, 0);
    ok("redis://alice:p@ss@h", "h", 6379, "alice", "p@ss", 0, 0);
    ok("redis://[::1]:7000/1", "::1", 7000, NULL, NULL, 1, 0);
    ok("redis://[::1]", "::1", 6379, NULL, NULL, 0, 0);
    ok("rediss://u:p@cache.example:6380", "cache.example", 6380, "u", "p", 0, 1);

    bad(NULL, "none given");
    bad("http://h", "must begin with redis://");
    bad("redis://", "no host");
    bad("redis://:p@", "no host");
    bad("redis://h:0", "port");
    bad("redis://h:65536", "port");
    bad("redis://h:x", "port");
    bad("redis://h:1:2", "port");
    bad("redis://h/x", "database number");
    bad("redis://h/1/2", "database number");
    bad("redis://h?db=1", "query");
    bad("redis://h#x", "query");
    bad("redis://alice:@h", "without a password");
    bad("redis://a:%zz@h", "%-escape");
    bad("redis://a:%00@h", "%-escape");
    bad("redis://a:%4@h", "%-escape");
    bad("redis://[::1", "']'");
    bad("redis://[::1]x", "after the IPv6");
    bad("redis://h%20x", "host name");
    DONE();
}
