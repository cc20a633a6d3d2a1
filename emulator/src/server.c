#include "server.h"

#include "api.h"
#include "config.h"
#include "faults.h"
#include "pc_mhd.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct MHD_Daemon *daemon_;
static char default_host[300];

typedef void (*handler_fn)(struct request *, struct reply *);

enum phase { PH_RECEIVING, PH_SUSPENDED, PH_DONE };

struct conn_ctx {
    struct MHD_Connection *conn;
    pc_buf body;
    int too_big;
    enum phase phase;
    struct reply reply; /* kept across a suspension (injected slow answers) */
};

const char *request_arg(const struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- routing ---------------------------------------------------------- */

struct route {
    enum stat_route stat;
    handler_fn get, post, put;
};

static int seg_is(const struct request *r, int i, const char *s)
{
    return i < r->nsegs && strcmp(r->segs[i], s) == 0;
}

/* Finds the endpoint for a /v1 path; 0 when there is none. */
static int route_v1(const struct request *r, struct route *rt)
{
    memset(rt, 0, sizeof *rt);
    rt->stat = ST_OTHER;
    int n = r->nsegs;
    if (seg_is(r, 1, "queries")) {
        if (n == 2) {
            rt->stat = ST_POST_QUERIES;
            rt->post = api_submit;
        } else if (n == 3 && seg_is(r, 2, "batch")) {
            rt->stat = ST_POST_BATCH;
            rt->post = api_submit_batch;
        } else if (n == 3) {
            rt->stat = ST_GET_JOB;
            rt->get = api_get_job;
        } else if (n == 4 && seg_is(r, 3, "results")) {
            rt->stat = ST_GET_RESULTS;
            rt->get = api_get_results;
        } else if (n == 6 && seg_is(r, 3, "results") && seg_is(r, 5, "content")) {
            rt->stat = ST_GET_CONTENT;
            rt->get = api_get_content;
        } else
            return 0;
        return 1;
    }
    if (n == 3 && seg_is(r, 1, "info") && seg_is(r, 2, "callbacker_ips")) {
        rt->stat = ST_GET_IPS;
        rt->get = api_callbacker_ips;
        return 1;
    }
    if (seg_is(r, 1, "schedules")) {
        rt->stat = ST_SCHEDULES;
        if (n == 2) {
            rt->get = api_schedule_list;
            rt->post = api_schedule_create;
        } else if (n == 3) {
            rt->get = api_schedule_get;
        } else if (n == 4 && seg_is(r, 3, "state")) {
            rt->put = api_schedule_state;
        } else if (n == 4 && seg_is(r, 3, "runs")) {
            rt->get = api_schedule_runs;
        } else
            return 0;
        return 1;
    }
    return 0;
}

static handler_fn pick_method(const struct route *rt, const char *method, char *allow, size_t len)
{
    if (strcmp(method, "GET") == 0 && rt->get)
        return rt->get;
    if (strcmp(method, "POST") == 0 && rt->post)
        return rt->post;
    if (strcmp(method, "PUT") == 0 && rt->put)
        return rt->put;
    snprintf(allow, len, "%s%s%s", rt->get ? "GET, HEAD " : "", rt->post ? "POST " : "",
             rt->put ? "PUT" : "");
    return NULL;
}

/* ---- auth --------------------------------------------------------------- */

/* Returns the user index, or -1. The exact header match is the fast path;
 * MHD's decoder covers spelling variants of the same credentials. */
static int authenticate(struct MHD_Connection *conn)
{
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h)
        return -1;
    for (int i = 0; i < g_cfg.nusers; i++)
        if (strcmp(h, g_cfg.users[i].auth_header) == 0)
            return i;
    char *pass = NULL;
    char *name = MHD_basic_auth_get_username_password(conn, &pass);
    int found = -1;
    for (int i = 0; name && pass && i < g_cfg.nusers; i++)
        if (strcmp(name, g_cfg.users[i].name) == 0 && strcmp(pass, g_cfg.users[i].pass) == 0)
            found = i;
    if (name)
        MHD_free(name);
    if (pass)
        MHD_free(pass);
    return found;
}

/* ---- responses ---------------------------------------------------------- */

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply *rep)
{
    struct MHD_Response *resp = pc_mhd_response(rep->ctype, rep->body, rep->len);
    rep->body = NULL; /* the response owns it now (or freed it) */
    for (int i = 0; i < rep->nhdr; i++)
        resp = pc_mhd_header(resp, rep->hdr[i].name, rep->hdr[i].value);
    enum MHD_Result rc = pc_mhd_queue(conn, (unsigned)rep->status, resp);
    reply_free(rep);
    return rc;
}

/* Host header if it looks like one (it ends up in links), else ours. */
static const char *request_host(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!h || !*h || strlen(h) > 255)
        return default_host;
    for (const char *p = h; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(".-:[]_", *p)))
            return default_host;
    return h;
}

/* ---- request processing ------------------------------------------------- */

static void resume_timer(void *arg, int cancelled)
{
    (void)cancelled; /* at shutdown too: MHD must not stop with suspended connections */
    struct conn_ctx *ctx = arg;
    MHD_resume_connection(ctx->conn);
}

/* Splits path into r->segs, using pathbuf as storage. */
static void split_path(struct request *r, char *pathbuf)
{
    r->nsegs = 0;
    char *save = NULL;
    for (char *s = strtok_r(pathbuf, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (r->nsegs == MAX_SEGS) {
            r->nsegs = MAX_SEGS + 1; /* too deep: no route has that many parts */
            return;
        }
        r->segs[r->nsegs++] = s;
    }
}

static enum MHD_Result process(struct conn_ctx *ctx, const char *url, const char *method)
{
    struct MHD_Connection *conn = ctx->conn;
    struct reply *rep = &ctx->reply;
    struct request req;
    memset(&req, 0, sizeof req);
    req.conn = conn;
    req.method = strcmp(method, "HEAD") == 0 ? "GET" : method;
    req.body = ctx->body.data ? ctx->body.data : "";
    req.body_len = ctx->body.len;
    req.host = request_host(conn);
    req.user = -1;

    char pathbuf[1024];
    if (strlen(url) >= sizeof pathbuf) {
        reply_message(rep, 404, "unknown path");
        return send_reply(conn, rep);
    }
    strcpy(pathbuf, url);
    split_path(&req, pathbuf);

    if (req.nsegs >= 1 && strcmp(req.segs[0], "_emulator") == 0) {
        if (ctx->too_big)
            reply_message(rep, 413, "request body larger than %zu bytes", g_cfg.max_body);
        else
            api_admin(&req, rep);
        return send_reply(conn, rep);
    }
    if (req.nsegs < 1 || strcmp(req.segs[0], "v1") != 0) {
        stats_route(ST_OTHER);
        reply_message(rep, 404, "unknown path %s", url);
        return send_reply(conn, rep);
    }

    struct route rt;
    int known = req.nsegs <= MAX_SEGS && route_v1(&req, &rt);
    req.user = authenticate(conn);
    if (req.user < 0) {
        /* The service answers bad credentials with an empty 401. */
        stats_route(ST_UNAUTHORIZED);
        reply_empty(rep, 401);
        reply_header(rep, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"pushpull\"");
        return send_reply(conn, rep);
    }
    if (!known) {
        stats_route(ST_OTHER);
        reply_message(rep, 404, "unknown path %s", url);
        return send_reply(conn, rep);
    }
    stats_route(rt.stat);
    char allow[64];
    handler_fn fn = pick_method(&rt, req.method, allow, sizeof allow);
    if (!fn) {
        reply_message(rep, 405, "method %s not allowed here", method);
        reply_header(rep, MHD_HTTP_HEADER_ALLOW, allow);
        return send_reply(conn, rep);
    }
    if (ctx->too_big) {
        reply_message(rep, 413, "request body larger than %zu bytes", g_cfg.max_body);
        return send_reply(conn, rep);
    }

    enum fault f = faults_draw(rt.stat);
    faults_count(f);
    if (f == FAULT_429) {
        reply_message(rep, 429, "Too many requests (injected)");
        return send_reply(conn, rep);
    }
    if (f == FAULT_500) {
        reply_message(rep, 500, "Internal server error (injected)");
        return send_reply(conn, rep);
    }

    fn(&req, rep);

    if (f == FAULT_AMBIGUOUS && rep->status / 100 == 2) {
        /* The jobs exist and run; a gateway in front of the service lost the
         * answer, and its own answer carries none of the service's headers.
         * Only submissions that created jobs are hit. */
        enum ambiguous_outcome o = faults_ambiguous();
        rep->nhdr = 0;
        if (o == AMBIGUOUS_DROP)
            f = FAULT_DROP;
        else if (o == AMBIGUOUS_524)
            reply_message(rep, 524, "A timeout occurred (injected after the jobs were created)");
        else
            reply_message(rep, 500, "Internal server error (injected after the jobs were created)");
    }
    if (f == FAULT_DUP_ID && rep->status == 202)
        faults_repeat_first_id(rep);
    if (f == FAULT_DROP) {
        /* Everything happened (jobs exist), but the answer is never sent: MHD
         * closes the connection when the handler says MHD_NO. */
        reply_free(rep);
        return MHD_NO;
    }
    if (f == FAULT_SLOW) {
        ctx->phase = PH_SUSPENDED;
        MHD_suspend_connection(conn);
        if (worker_timer(now_s() + g_cfg.inject_slow_secs, resume_timer, ctx) != 0)
            MHD_resume_connection(conn);
        return MHD_YES;
    }
    return send_reply(conn, rep);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct conn_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        ctx->conn = conn;
        pc_buf_init(&ctx->body);
        reply_init(&ctx->reply);
        *con_cls = ctx;
        /* A declared body over the limit is refused before it is read (a client
         * sending "Expect: 100-continue" never has to send it). */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > g_cfg.max_body) {
            ctx->phase = PH_DONE;
            reply_message(&ctx->reply, 413, "request body larger than %zu bytes", g_cfg.max_body);
            return send_reply(conn, &ctx->reply);
        }
        return MHD_YES;
    }
    if (ctx->phase == PH_SUSPENDED) {
        /* Resumed after an injected delay: the answer was ready all along. */
        ctx->phase = PH_DONE;
        return send_reply(conn, &ctx->reply);
    }
    if (ctx->phase == PH_DONE) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!ctx->too_big) {
            if (ctx->body.len + *upload_data_size > g_cfg.max_body) {
                ctx->too_big = 1; /* keep reading, drop the bytes, answer 413 */
                pc_buf_free(&ctx->body);
            } else {
                pc_buf_append(&ctx->body, upload_data, *upload_data_size);
                if (ctx->body.failed)
                    return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    ctx->phase = PH_DONE;
    return process(ctx, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_ctx *ctx = *con_cls;
    if (!ctx)
        return;
    pc_buf_free(&ctx->body);
    reply_free(&ctx->reply);
    free(ctx);
    *con_cls = NULL;
}

int server_start(void)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof port, "%d", g_cfg.port);
    if (getaddrinfo(g_cfg.bind, port, &hints, &ai) != 0 || !ai) {
        fprintf(stderr, "pushpull-emulator: --bind %s is not a numeric IPv4 or IPv6 address\n",
                g_cfg.bind);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned pool = g_cfg.workers > 0 ? (unsigned)g_cfg.workers : 1;
    /* One option and its value per line. */
    /* clang-format off */
    daemon_ = MHD_start_daemon(flags, (uint16_t)g_cfg.port, NULL, NULL, on_request, NULL,
                               MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                               MHD_OPTION_THREAD_POOL_SIZE, pool,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                               MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
                               MHD_OPTION_END);
    /* clang-format on */
    int v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (!daemon_) {
        fprintf(stderr, "pushpull-emulator: cannot listen on %s:%d\n", g_cfg.bind, g_cfg.port);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    g_cfg.actual_port = info ? info->port : g_cfg.port;
    const char *shown = g_cfg.bind;
    if (strcmp(shown, "0.0.0.0") == 0)
        shown = "127.0.0.1";
    else if (strcmp(shown, "::") == 0)
        shown = "::1";
    snprintf(default_host, sizeof default_host, v6 ? "[%s]:%d" : "%s:%d", shown, g_cfg.actual_port);
    return 0;
}

void server_stop(void)
{
    if (daemon_)
        MHD_stop_daemon(daemon_);
    daemon_ = NULL;
}
