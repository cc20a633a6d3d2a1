/* The rules every callback receiver applies -- the core's listener, and a
 * host's own web server (an nginx location) through pp_callback_request --
 * so that both answer alike: the sender against the client's allowlist
 * (403), the method (405), the announced length against the body cap (413),
 * then the body (400 unless a job object; 200 {"status":"ok"}, or
 * {"status":"ignored"} for a job of no one here: a retry cannot help). */
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct pp_addr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char a[16];
};

/* ---- addresses */

static int parse_addr(const char *s, struct pp_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, out->a) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->a) == 1) {
        out->family = AF_INET6;
        /* an IPv4-mapped address is that IPv4 address */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(out->a, mapped, 12)) {
            memmove(out->a, out->a + 12, 4);
            memset(out->a + 4, 0, 12);
            out->family = AF_INET;
        }
        return 0;
    }
    return -1;
}

static int sockaddr_to_addr(const struct sockaddr *sa, struct pp_addr *out)
{
    memset(out, 0, sizeof *out);
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        out->family = AF_INET;
        memcpy(out->a, &in->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        char text[INET6_ADDRSTRLEN];
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text))
            return -1;
        return parse_addr(text, out);
    }
    return -1;
}

/* A parsed copy of ips (n of them) in *out; NULL ips gives NULL (everyone).
 * 0, or -1 with a message in msg. */
static int parse_allowlist(const char *const *ips, size_t n, struct pp_addr **out, size_t *nout,
                           char *msg, size_t msglen)
{
    *out = NULL;
    *nout = 0;
    if (!ips)
        return 0;
    struct pp_addr *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        snprintf(msg, msglen, "%s", pp_oom_message);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ips[i] || parse_addr(ips[i], &v[i]) < 0) {
            snprintf(msg, msglen, "allow: '%.64s' is not a numeric IP address",
                     ips[i] ? ips[i] : "(null)");
            free(v);
            return -1;
        }
    }
    *out = v;
    *nout = n;
    return 0;
}

static int listed(const pp_client *c, const struct pp_addr *a)
{
    size_t n = a->family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < c->cb_nallow; i++)
        if (c->cb_allow[i].family == a->family && !memcmp(c->cb_allow[i].a, a->a, n))
            return 1;
    return 0;
}

int pp_callback_allowed(pp_client *c, const struct sockaddr *sa)
{
    struct pp_addr a;
    return !c->cb_allow_set || (sockaddr_to_addr(sa, &a) == 0 && listed(c, &a));
}

static int peer_allowed(pp_client *c, const char *peer)
{
    struct pp_addr a;
    return !c->cb_allow_set || (peer && parse_addr(peer, &a) == 0 && listed(c, &a));
}

int pp_listen_allow(pp_client *c, const char *const *ips, size_t n, pp_error *err)
{
    if (!c)
        return -1;
    char msg[160];
    struct pp_addr *v;
    size_t nv;
    if (!ips && c->cb_allow_needed)
        return pp_fail(c, err,
                       "the listener is bound beyond loopback: it keeps an allowlist "
                       "(restart it with allow_any to let every sender in)");
    if (parse_allowlist(ips, n, &v, &nv, msg, sizeof msg) < 0)
        return pp_fail(c, err, msg);
    free(c->cb_allow);
    c->cb_allow = v;
    c->cb_nallow = nv;
    c->cb_allow_set = ips != NULL;
    return 0;
}

int pp_callback_head(pp_client *c, int sender_ok, const char *method, long long length,
                     size_t max_body)
{
    (void)c;
    if (!sender_ok)
        return 403;
    if (!method || strcmp(method, "POST") != 0)
        return 405;
    if (length > 0 && (unsigned long long)length > (unsigned long long)max_body)
        return 413;
    return 0;
}

int pp_callback_body(pp_client *c, const char *body, size_t len)
{
    int rc = pp_callback_take(c, body ? body : "", len);
    return rc < 0 ? 400 : rc == 2 ? PP_CALLBACK_IGNORED : 200;
}

const char *pp_callback_answer(pp_client *c, int *status)
{
    const char *text;
    switch (*status) {
    case 200: text = "{\"status\":\"ok\"}"; break;
    case PP_CALLBACK_IGNORED:
        text = "{\"status\":\"ignored\"}";
        *status = 200;
        break;
    case 400: text = "{\"message\":\"the body is not a job object\"}"; break;
    case 403: text = "{\"message\":\"sender not allowed\"}"; break;
    case 404: text = "{\"message\":\"not found\"}"; break;
    case 405: text = "{\"message\":\"method not allowed\"}"; break;
    case 413: text = "{\"message\":\"body too large\"}"; break;
    default:
        text = "{\"message\":\"cannot take the callback now\"}";
        *status = 503;
        break;
    }
    if (*status == 200) {
        c->stats.callbacks_received++;
    } else {
        c->stats.callbacks_rejected++;
        PP_DEBUG(&c->tp.debug, "callback answered %d: %s", *status, text);
    }
    return text;
}

int pp_callback_request(pp_client *c, const char *peer, const char *method,
                        long long content_length, const char *body, size_t len, size_t max_body,
                        const char **answer)
{
    static const char none[] = "";
    if (answer)
        *answer = none;
    if (!c)
        return 503;
    if (!max_body)
        max_body = (size_t)1 << 20;
    int st = pp_callback_head(c, peer_allowed(c, peer), method, content_length, max_body);
    if (!st && len > max_body)
        st = 413;
    if (!st) {
        st = pp_callback_body(c, body, len);
        pp_run(c);
    }
    const char *text = pp_callback_answer(c, &st);
    if (answer)
        *answer = text;
    return st;
}

void pp_receiver_free(pp_client *c)
{
    free(c->cb_allow);
    c->cb_allow = NULL;
    c->cb_nallow = 0;
    c->cb_allow_set = 0;
}
