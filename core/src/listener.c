/* The callback listener: libmicrohttpd in external-loop epoll mode. It
 * only listens: what a callback means is callbacks.c's business.
 *
 * The daemon runs no thread. MHD keeps its listening socket and every
 * connection in one epoll set whose fd the host watches like a curl socket
 * (it is queued in the fd-change queue with PP_WANT_READ); when it is ready,
 * or when MHD's own deadline comes (idle connections to time out, data
 * already buffered), the engine calls MHD_run, which never blocks. The
 * request handler runs inside that call, on the host's thread, and feeds
 * callbacks to the state machine like pp_feed_callback; what they start
 * (a results download) is dispatched by the same engine run.
 *
 * Checks, in order: the sender against the allowlist (403), the path (404),
 * the method (405), an announced body length over the cap (413, before the
 * body is read), then the body as it arrives (413 past the cap: the rest is
 * read and dropped), then the body itself (400 unless a job object).
 *
 * A listener bound beyond loopback must be given an allowlist (or told
 * allow_any): callbacks cost the client requests, so the world must not be
 * able to send them. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "pc_mhd.h"

#define DEFAULT_BIND "127.0.0.1"
#define DEFAULT_PATH "/callback"
#define DEFAULT_MAX_BODY ((size_t)1 << 20)
#define DEFAULT_MAX_CONNECTIONS 64u
#define DEFAULT_SAFETY_MIN_MS 30000L
#define DEFAULT_SAFETY_FACTOR 3.0
/* A callback is one small POST: a connection idle this long is a sender
 * holding a slot (libmicrohttpd in epoll mode does not see a half-closed
 * connection before its timeout), so the timeout is short. */
#define CONNECTION_TIMEOUT_S 10u

typedef struct pp_listener pp_listener;

struct pp_listener {
    pp_client *c;
    struct MHD_Daemon *d;
    int fd; /* MHD's epoll fd */
    int port;
    char *path;
    size_t max_body;
};

/* Per request: the body so far, or the answer already decided. */
typedef struct pp_conn {
    pc_buf body;
    int status; /* 0 while reading */
} pp_conn;

/* ---- answers */

static pc_mhd_result answer(pp_listener *l, struct MHD_Connection *conn, int status)
{
    const char *text = pp_callback_answer(l->c, &status);
    struct MHD_Response *r = pc_mhd_response_text("application/json", text);
    if (status == 405)
        r = pc_mhd_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
    return pc_mhd_queue(conn, (unsigned)status, r); /* MHD_NO closes the connection */
}

/* The answer a request gets from its head alone, 0 to read its body. */
static int check_head(pp_listener *l, struct MHD_Connection *conn, const char *url,
                      const char *method)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    int sender_ok = pp_callback_allowed(l->c, ci ? ci->client_addr : NULL);
    if (sender_ok && (!url || strcmp(url, l->path) != 0))
        return 404;
    long long length = -1;
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        errno = 0;
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno == 0 && end != cl)
            length = n > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)n;
    }
    return pp_callback_head(l->c, sender_ok, method, length, l->max_body);
}

static pc_mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    (void)version;
    pp_listener *l = cls;
    pp_conn *x = *con_cls;
    if (!x) {
        int st = check_head(l, conn, url, method);
        if (st)
            return answer(l, conn, st);
        x = calloc(1, sizeof *x);
        if (!x)
            return MHD_NO;
        *con_cls = x;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (x->status)
            return MHD_YES; /* dropping the rest */
        if (n > l->max_body - x->body.len) {
            x->status = 413;
            pc_buf_free(&x->body);
        } else if (pc_buf_append(&x->body, upload_data, n) < 0) {
            x->status = 503;
            pc_buf_free(&x->body);
        }
        return MHD_YES;
    }
    if (x->status)
        return answer(l, conn, x->status);
    int st = pp_callback_body(l->c, x->body.data, x->body.len);
    pc_buf_free(&x->body);
    return answer(l, conn, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    pp_conn *x = *con_cls;
    if (x) {
        pc_buf_free(&x->body);
        free(x);
        *con_cls = NULL;
    }
}

/* ---- lifecycle */

static void listener_destroy(pp_listener *l)
{
    if (!l)
        return;
    if (l->d)
        MHD_stop_daemon(l->d);
    free(l->path);
    free(l);
}

void pp_listen_config_init(pp_listen_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->bind = DEFAULT_BIND;
    cfg->path = DEFAULT_PATH;
    cfg->max_body = DEFAULT_MAX_BODY;
    cfg->max_connections = DEFAULT_MAX_CONNECTIONS;
    cfg->safety_min_ms = DEFAULT_SAFETY_MIN_MS;
    cfg->safety_factor = DEFAULT_SAFETY_FACTOR;
}

static int fail(pp_client *c, pp_error *err, const char *msg)
{
    return pp_fail(c, err, msg);
}

/* 127.0.0.0/8 and ::1: only this machine can reach them. */
static int loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ss;
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return memcmp(&in6->sin6_addr, one, 16) == 0;
}

/* The sockaddr to bind, from a numeric address. */
static int bind_addr(const char *bind, int port, struct sockaddr_storage *ss, int *v6)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
    if (inet_pton(AF_INET, bind, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *v6 = 0;
        return 0;
    }
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET6, bind, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *v6 = 1;
        return 0;
    }
    return -1;
}

static int bound_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    if (!di)
        return 0;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(di->listen_fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
    return 0;
}

int pp_listen(pp_client *c, const pp_listen_config *cfg, pp_error *err)
{
    if (!c)
        return -1;
    if (c->listener)
        return fail(c, err, "already listening");
    pp_listen_config d;
    pp_listen_config_init(&d);
    if (!cfg)
        cfg = &d;
    const char *bind = cfg->bind ? cfg->bind : d.bind;
    const char *path = cfg->path ? cfg->path : d.path;
    if (cfg->port < 0 || cfg->port > 65535)
        return fail(c, err, "port must be within 0..65535");
    if (path[0] != '/' || strlen(path) > 1024)
        return fail(c, err, "path must begin with /");
    if (cfg->safety_factor < 0 || cfg->safety_min_ms < 0)
        return fail(c, err, "safety_factor and safety_min_ms must not be negative");
    if (cfg->public_url && !pp_strncaseeq(cfg->public_url, "http://", 7) &&
        !pp_strncaseeq(cfg->public_url, "https://", 8))
        return fail(c, err, "public_url must begin with http:// or https://");
    struct sockaddr_storage ss;
    int v6 = 0;
    if (bind_addr(bind, cfg->port, &ss, &v6) < 0)
        return fail(c, err, "bind must be a numeric IPv4 or IPv6 address");
    if (!cfg->allow && !cfg->allow_any && !loopback(&ss))
        return fail(c, err,
                    "a listener bound beyond loopback needs an allowlist "
                    "(allow), or allow_any to let every sender in");

    char msg[160];
    pp_listener *l = calloc(1, sizeof *l);
    if (!l)
        return fail(c, err, pp_oom_message);
    l->c = c;
    l->fd = -1;
    l->max_body = cfg->max_body ? cfg->max_body : d.max_body;
    l->path = pp_strdup(path);
    if (!l->path) {
        listener_destroy(l);
        return fail(c, err, pp_oom_message);
    }
    c->cb_allow_needed = 0;
    if (pp_listen_allow(c, cfg->allow_any ? NULL : cfg->allow, cfg->allow_count, err) < 0) {
        listener_destroy(l);
        return -1;
    }

    unsigned int flags = MHD_USE_EPOLL; /* no internal thread: the host drives it */
    if (v6)
        flags |= MHD_USE_IPv6;
    unsigned int maxconn = cfg->max_connections ? cfg->max_connections : d.max_connections;
    l->d =
        MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, l,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, (void *)l, MHD_OPTION_CONNECTION_LIMIT, maxconn,
                         MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (!l->d) {
        int e = errno;
        snprintf(msg, sizeof msg, "cannot listen on %.64s port %d%s%s", bind, cfg->port,
                 e ? ": " : "", e ? strerror(e) : "");
        listener_destroy(l);
        return fail(c, err, msg);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_EPOLL_FD);
    l->fd = di ? (int)di->epoll_fd : -1;
    l->port = bound_port(l->d);
    if (l->fd < 0 || l->port <= 0) {
        listener_destroy(l);
        return fail(c, err, "the listener has no epoll fd or port");
    }
    char *url;
    if (cfg->public_url) {
        url = pp_strdup(cfg->public_url);
    } else {
        size_t n = strlen(bind) + strlen(path) + 32;
        url = malloc(n);
        if (url)
            snprintf(url, n, v6 ? "http://[%s]:%d%s" : "http://%s:%d%s", bind, l->port, path);
    }
    if (!url || pp_fdq_push(&c->fdchanges, l->fd, PP_WANT_READ) < 0) {
        free(url);
        listener_destroy(l);
        return fail(c, err, pp_oom_message);
    }
    c->cb_allow_needed = !cfg->allow_any && !loopback(&ss);
    pp_cb_source *src = &c->cb[PP_CB_LISTENER];
    free(src->url);
    src->active = 1;
    src->url = url;
    src->url_len = strlen(url);
    src->safety_min_ms = cfg->safety_min_ms ? cfg->safety_min_ms : d.safety_min_ms;
    src->safety_factor = cfg->safety_factor > 0 ? cfg->safety_factor : d.safety_factor;
    c->listener = l;
    return 0;
}

int pp_listen_port(pp_client *c)
{
    return c && c->listener ? c->listener->port : 0;
}

const char *pp_listen_url(pp_client *c)
{
    return c && c->listener ? c->cb[PP_CB_LISTENER].url : NULL;
}

void pp_listen_stop(pp_client *c)
{
    if (!c || !c->listener)
        return;
    pp_listener *l = c->listener;
    /* the host stops watching the fd before MHD closes it */
    (void)pp_fdq_push(&c->fdchanges, l->fd, 0);
    c->cb_allow_needed = 0;
    c->listener = NULL;
    listener_destroy(l);
    pp_cb_source *src = &c->cb[PP_CB_LISTENER];
    free(src->url);
    memset(src, 0, sizeof *src);
    pp_sched_release_callbacks(c, PP_CB_LISTENER);
}

void pp_listener_free(pp_client *c)
{
    if (c->listener) {
        listener_destroy(c->listener);
        c->listener = NULL;
    }
}

/* ---- for the engine and the poller */

int pp_listener_fd(pp_client *c)
{
    return c->listener ? c->listener->fd : -1;
}

long pp_listener_timeout_ms(pp_client *c)
{
    if (!c->listener)
        return -1;
    MHD_UNSIGNED_LONG_LONG t = 0;
    if (MHD_get_timeout(c->listener->d, &t) != MHD_YES)
        return -1;
    return t > (MHD_UNSIGNED_LONG_LONG)LONG_MAX ? LONG_MAX : (long)t;
}

void pp_listener_run(pp_client *c, int force)
{
    if (!c->listener)
        return;
    if (!force && pp_listener_timeout_ms(c) != 0)
        return;
    (void)MHD_run(c->listener->d);
}
