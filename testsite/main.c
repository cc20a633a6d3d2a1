/* pushpull-testsite: a tiny local website. See site.h and --help. */
#include "site.h"

#include "pc_mhd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_BODY (8u * 1024u * 1024u) /* largest POST body kept */
#define MAX_RECORDS 100000u           /* callbacks kept at most */
#define MAX_RECORD_BYTES (256u * 1024u * 1024u)
#define MAX_SLOW_MS 600000ULL

static const char usage[] = "usage: pushpull-testsite [--port N] [--bind ADDR]\n"
                            "\n"
                            "  --port N      port to listen on (0, the default, picks a free one)\n"
                            "  --bind ADDR   address to listen on (default 127.0.0.1)\n"
                            "  --help        this text\n"
                            "\n"
                            "Routes:\n"
                            "  GET    /page/N[?size=BYTES]    deterministic HTML page with links\n"
                            "  GET    /status/CODE            answers with that HTTP status\n"
                            "  GET    /slow/MS                answers after MS milliseconds\n"
                            "  POST   /callback/NAME          records the body, answers 200\n"
                            "  POST   /callback-fail/NAME     records the body, answers 500\n"
                            "  GET    /_site/callbacks/NAME   the recorded callbacks of NAME\n"
                            "  DELETE /_site/callbacks/NAME   forgets them\n";

/* Set when the process is asked to stop: wakes /slow/ waits at once. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cond;
static int stopping;

struct request {
    pc_buf body;
    int too_big;
};

#define HTML "text/html; charset=utf-8"
#define JSON "application/json"

static enum MHD_Result not_found(struct MHD_Connection *c)
{
    return pc_mhd_send_text(c, MHD_HTTP_NOT_FOUND, HTML,
                            "<!doctype html>\n<html><head><title>Not Found</title></head>"
                            "<body><h1>404 Not Found</h1></body></html>\n");
}

static enum MHD_Result bad_request(struct MHD_Connection *c, const char *what)
{
    pc_buf b = PC_BUF_INIT;
    pc_buf_appendf(&b,
                   "<!doctype html>\n<html><head><title>Bad Request</title></head>"
                   "<body><h1>400 Bad Request</h1><p>%s</p></body></html>\n",
                   what);
    return pc_mhd_send_buf(c, MHD_HTTP_BAD_REQUEST, HTML, &b);
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *allow)
{
    struct MHD_Response *r = pc_mhd_response(NULL, NULL, 0);
    return pc_mhd_queue(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                        pc_mhd_header(r, MHD_HTTP_HEADER_ALLOW, allow));
}

/* Parses a whole decimal number no larger than max. */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* A route's final segment: a non-empty name without further slashes. */
static int valid_name(const char *s)
{
    return *s && strchr(s, '/') == NULL && strlen(s) <= 200;
}

static void remote_address(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0) {
        snprintf(out, n, "unknown");
        return;
    }
    if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.'))
        memmove(out, out + 7, strlen(out + 7) + 1);
}

static enum MHD_Result route_page(struct MHD_Connection *c, const char *arg)
{
    unsigned long long n, size = PAGE_DEFAULT_SIZE;
    if (parse_uint(arg, 1000000000000ULL, &n) != 0)
        return not_found(c);
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "size");
    if (s && parse_uint(s, ULLONG_MAX, &size) != 0)
        return bad_request(c, "size must be a whole number of bytes");
    if (size > PAGE_MAX_SIZE)
        size = PAGE_MAX_SIZE;
    pc_buf b = PC_BUF_INIT;
    if (page_render(&b, n, (size_t)size) != 0) {
        pc_buf_free(&b);
        return MHD_NO;
    }
    return pc_mhd_send_buf(c, MHD_HTTP_OK, HTML, &b);
}

static enum MHD_Result route_status(struct MHD_Connection *c, const char *arg)
{
    unsigned long long code;
    if (parse_uint(arg, 999, &code) != 0 || code < 200 || code > 599)
        return bad_request(c, "status must be between 200 and 599");
    pc_buf b = PC_BUF_INIT;
    if (code != 204 && code != 304)
        pc_buf_appendf(&b,
                       "<!doctype html>\n<html><head><title>Status %llu</title></head>"
                       "<body><h1>Status %llu</h1></body></html>\n",
                       code, code);
    size_t len;
    char *body = pc_buf_take(&b, &len);
    if (!body)
        return MHD_NO;
    struct MHD_Response *r = pc_mhd_response(HTML, body, len);
    if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308)
        r = pc_mhd_header(r, MHD_HTTP_HEADER_LOCATION, "/page/1");
    return pc_mhd_queue(c, (unsigned)code, r);
}

static enum MHD_Result route_slow(struct MHD_Connection *c, const char *arg)
{
    unsigned long long ms;
    if (parse_uint(arg, MAX_SLOW_MS, &ms) != 0)
        return bad_request(c, "delay must be a whole number of milliseconds up to 600000");
    /* Each connection has its own thread: waiting here blocks only this one. */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&stop_lock);
    while (!stopping) {
        int rc = pthread_cond_timedwait(&stop_cond, &stop_lock, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&stop_lock);
    pc_buf b = PC_BUF_INIT;
    pc_buf_appendf(&b,
                   "<!doctype html>\n<html><head><title>Slow %llu</title></head>"
                   "<body><h1>Slow %llu</h1><p>Answered after %llu ms.</p>"
                   "</body></html>\n",
                   ms, ms, ms);
    return pc_mhd_send_buf(c, MHD_HTTP_OK, HTML, &b);
}

static enum MHD_Result route_callback(struct MHD_Connection *c, const char *name,
                                      struct request *req, int ok)
{
    if (req->too_big)
        return pc_mhd_send_message(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
    char remote[INET6_ADDRSTRLEN + 8];
    remote_address(c, remote, sizeof(remote));
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (store_add(name, req->body.data, req->body.len, remote, type ? type : "", ok) != 0)
        return pc_mhd_send_message(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    if (ok)
        return pc_mhd_send_text(c, MHD_HTTP_OK, JSON, "{\"status\":\"ok\"}");
    return pc_mhd_send_message(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "failing on purpose");
}

static enum MHD_Result route_callbacks(struct MHD_Connection *c, const char *method,
                                       const char *name)
{
    if (strcmp(method, "GET") == 0) {
        char *json = store_dump(name);
        if (!json)
            return MHD_NO;
        return pc_mhd_send(c, MHD_HTTP_OK, JSON, json, strlen(json));
    }
    if (strcmp(method, "DELETE") == 0)
        return pc_mhd_send_json(
            c, MHD_HTTP_OK,
            json_pack("{s:s, s:I}", "status", "ok", "cleared", (json_int_t)store_clear(name)));
    return method_not_allowed(c, "GET, DELETE");
}

static const char *after(const char *url, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(url, prefix, n) == 0 ? url + n : NULL;
}

static enum MHD_Result dispatch(struct MHD_Connection *c, const char *url, const char *method,
                                struct request *req)
{
    const char *arg;
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int is_post = strcmp(method, "POST") == 0;

    if ((arg = after(url, "/page/")))
        return is_get ? route_page(c, arg) : method_not_allowed(c, "GET, HEAD");
    if ((arg = after(url, "/status/")))
        return route_status(c, arg);
    if ((arg = after(url, "/slow/")))
        return is_get ? route_slow(c, arg) : method_not_allowed(c, "GET, HEAD");
    if ((arg = after(url, "/callback/")) && valid_name(arg))
        return is_post ? route_callback(c, arg, req, 1) : method_not_allowed(c, "POST");
    if ((arg = after(url, "/callback-fail/")) && valid_name(arg))
        return is_post ? route_callback(c, arg, req, 0) : method_not_allowed(c, "POST");
    if ((arg = after(url, "/_site/callbacks/")) && valid_name(arg))
        return route_callbacks(c, method, arg);
    return not_found(c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->too_big || req->body.len + *upload_size > MAX_BODY)
            req->too_big = 1;
        else if (pc_buf_append(&req->body, upload, *upload_size) != 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(c, url, method, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct request *req = *con_cls;
    if (req) {
        pc_buf_free(&req->body);
        free(req);
        *con_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    unsigned long long port = 0;
    const char *bind_addr = "127.0.0.1";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            if (parse_uint(argv[++i], 65535, &port) != 0) {
                fprintf(stderr, "pushpull-testsite: bad --port: %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
            bind_addr = argv[++i];
        } else {
            fprintf(stderr, "pushpull-testsite: unknown argument: %s\n%s", argv[i], usage);
            return 2;
        }
    }

    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    if (inet_pton(AF_INET, bind_addr, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, bind_addr, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        fprintf(stderr, "pushpull-testsite: --bind wants a numeric address: %s\n", bind_addr);
        return 2;
    }

    /* Signals are taken by sigwait() below; every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&stop_cond, &ca) != 0) {
        fprintf(stderr, "pushpull-testsite: cannot set up a condition variable\n");
        return 1;
    }
    pthread_condattr_destroy(&ca);

    if (store_init(MAX_RECORDS, MAX_RECORD_BYTES) != 0) {
        fprintf(stderr, "pushpull-testsite: out of memory\n");
        return 1;
    }

    /* One option and its value per line. */
    /* clang-format off */
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                                            MHD_OPTION_SOCK_ADDR, sa,
                                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000,
                                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
                                            MHD_OPTION_END);
    /* clang-format on */
    if (!d) {
        fprintf(stderr, "pushpull-testsite: cannot listen on %s:%llu\n", bind_addr, port);
        store_destroy();
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned actual = info ? info->port : (unsigned)port;
    if (sa->sa_family == AF_INET6)
        printf("listening on http://[%s]:%u\n", bind_addr, actual);
    else
        printf("listening on http://%s:%u\n", bind_addr, actual);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    pthread_mutex_lock(&stop_lock);
    stopping = 1;
    pthread_cond_broadcast(&stop_cond);
    pthread_mutex_unlock(&stop_lock);
    MHD_stop_daemon(d);
    store_destroy();
    pthread_cond_destroy(&stop_cond);
    return 0;
}
