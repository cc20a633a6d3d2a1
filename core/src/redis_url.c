/* redis://[[user][:password]@]host[:port][/db] and rediss://, as redis-cli
 * and the other clients read them: a password alone is AUTH <password>
 * (the default user), a user and a password AUTH <user> <password> (an
 * ACL user). Anything else -- a query, a fragment, a path past the db --
 * is refused rather than ignored, so a typo is never a silent default. */
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PORT 6379
#define MAX_DB 1000000

static int refuse(char *msg, size_t msglen, const char *why)
{
    if (msg && msglen)
        snprintf(msg, msglen, "redis URL: %s", why);
    return -1;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A %-decoded copy of s[0..n); *bad set on a broken escape or a NUL. */
static char *decode(const char *s, size_t n, int *bad)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[k++] = s[i];
            continue;
        }
        int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            *bad = 1;
            break;
        }
        out[k++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[k] = 0;
    return out;
}

/* A decimal within [lo, hi] spelled by s[0..n), or -1. */
static long number(const char *s, size_t n, long lo, long hi)
{
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

static int userinfo(const char *s, size_t n, pp_redis_url *u, char *msg, size_t msglen)
{
    const char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;
    int bad = 0;
    if (!colon) {
        /* "redis://secret@host": a lone word is the password, as redis-cli
         * takes it (AUTH with one argument) */
        u->password = decode(s, n, &bad);
        if (!u->password)
            return refuse(msg, msglen, "out of memory");
    } else {
        if (ulen && !(u->user = decode(s, ulen, &bad)))
            return refuse(msg, msglen, "out of memory");
        size_t plen = n - ulen - 1;
        if (plen && !(u->password = decode(colon + 1, plen, &bad)))
            return refuse(msg, msglen, "out of memory");
    }
    if (bad)
        return refuse(msg, msglen, "a broken %-escape in the user or password");
    if (u->user && !u->password)
        return refuse(msg, msglen, "a user without a password");
    return 0;
}

static int hostport(const char *s, size_t n, pp_redis_url *u, char *msg, size_t msglen)
{
    const char *host = s, *port = NULL;
    size_t hlen;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return refuse(msg, msglen, "an IPv6 address without its ']'");
        host = s + 1;
        hlen = (size_t)(close - host);
        const char *after = close + 1;
        if (after < s + n) {
            if (*after != ':')
                return refuse(msg, msglen, "text after the IPv6 address");
            port = after + 1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0)
        return refuse(msg, msglen, "no host");
    for (size_t i = 0; i < hlen; i++)
        if (host[i] == '%' || host[i] == '@' || host[i] == ' ')
            return refuse(msg, msglen, "a host name with '%', '@' or a space");
    u->port = DEFAULT_PORT;
    if (port) {
        long p = number(port, (size_t)(s + n - port), 1, 65535);
        if (p < 0)
            return refuse(msg, msglen, "the port must be a number within 1..65535");
        u->port = (int)p;
    }
    u->host = pp_strndup(host, hlen);
    return u->host ? 0 : refuse(msg, msglen, "out of memory");
}

int pp_redis_url_parse(const char *url, pp_redis_url *u, char *msg, size_t msglen)
{
    memset(u, 0, sizeof *u);
    if (!url)
        return refuse(msg, msglen, "none given");
    const char *p;
    if (pp_strncaseeq(url, "redis://", 8)) {
        p = url + 8;
    } else if (pp_strncaseeq(url, "rediss://", 9)) {
        p = url + 9;
        u->tls = 1;
    } else {
        return refuse(msg, msglen, "must begin with redis:// or rediss://");
    }
    if (strpbrk(p, "?#"))
        return refuse(msg, msglen, "no query or fragment is understood");
    const char *slash = strchr(p, '/');
    size_t alen = slash ? (size_t)(slash - p) : strlen(p);
    /* the last '@': a password may hold '@' only %-encoded, but be kind */
    const char *at = NULL;
    for (const char *q = p; q < p + alen; q++)
        if (*q == '@')
            at = q;
    int rc = 0;
    if (at)
        rc = userinfo(p, (size_t)(at - p), u, msg, msglen);
    const char *hp = at ? at + 1 : p;
    if (rc == 0)
        rc = hostport(hp, (size_t)(p + alen - hp), u, msg, msglen);
    if (rc == 0 && slash && slash[1]) {
        long db = number(slash + 1, strlen(slash + 1), 0, MAX_DB);
        if (db < 0)
            rc = refuse(msg, msglen, "the path must be a database number (/0, /1, ...)");
        else
            u->db = (int)db;
    }
    if (rc < 0)
        pp_redis_url_free(u);
    return rc;
}

void pp_redis_url_free(pp_redis_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->user);
    pp_free_secret(u->password);
    memset(u, 0, sizeof *u);
}
