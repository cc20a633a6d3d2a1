/* One connection to Redis through hiredis' async API, driven by the host.
 *
 * The event hooks hiredis calls (add/del read/write, cleanup) are ours:
 * they record fd interest in the client's fd change queue, as curl's
 * socket callback does, and the host's calls come back through
 * pp_redis_io (an fd event), pp_redis_poll (a tick: poll(2) with timeout
 * 0) and pp_redis_timers. hiredis 0.14 has no timers of its own, so every
 * deadline is kept here: the connect and handshake, each command's answer
 * and the next reconnect.
 *
 * Commands issued while disconnected wait in a queue (up to max_waiting)
 * and are sent once the next handshake (AUTH, SELECT, SCRIPT LOAD of the
 * store's scripts) is through; one that is still waiting when its
 * timeout comes fails, naming why the connection is down. When a
 * connection is lost with commands out, those marked idempotent wait for
 * the next connection, the others fail ("it may have run"). A command
 * without an answer in time means the server stalled: the connection is
 * dropped (a late answer could not be matched any more) and made again
 * with backoff. */
#include "redis.h"
#include "transport.h" /* pp_backoff_ms */

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <hiredis/async.h>

#define DEFAULT_TIMEOUT_MS 5000L
#define DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define DEFAULT_BACKOFF_MAX_MS 2000L
#define DEFAULT_MAX_WAITING 100000u
#define BACKOFF_BASE_MS 100L
#define SHA_LEN 40

enum { ST_DOWN = 0, ST_CONNECTING, ST_READY };
/* What a command is: the user's, a handshake step, a reload on NOSCRIPT. */
enum { K_USER = 0, K_AUTH, K_SELECT, K_LOAD, K_RELOAD };

typedef struct rcmd {
    struct rcmd *prev, *next;
    pp_redis *r;
    char *buf; /* the command as sent (RESP) */
    size_t len;
    size_t sha_off; /* where an EVALSHA's sha goes in buf, 0: none */
    int script;     /* the script run or loaded, -1: none */
    int kind;
    int flags;
    int reloaded; /* sent again after NOSCRIPT */
    int resend;   /* sent again after its connection was lost */
    uint64_t deadline;
    pp_redis_done done;
    void *ud;
} rcmd;

typedef struct rlist {
    rcmd *head, *tail;
    size_t n;
} rlist;

struct pp_redis {
    pp_redis_url url;
    char addr[INET6_ADDRSTRLEN];
    long timeout_ms, connect_timeout_ms, backoff_max_ms;
    size_t max_waiting;
    pp_fdq *fdq;
    uint64_t *rng;

    redisAsyncContext *ac; /* NULL while down */
    int fd, want;
    int state;
    int steps_left; /* handshake replies still due */
    int attempt;    /* reconnects since the last handshake */
    uint64_t connect_deadline, reconnect_at;
    int closing;

    rlist waiting;      /* not sent: down, or before the handshake */
    rlist sent;         /* written to hiredis, answer due (in order) */
    rcmd *requeue_at;   /* the last command put back at the front of waiting */
    size_t outstanding; /* user commands not yet answered */

    char sha[PP_RS_COUNT][SHA_LEN + 1];
    char err[256];
    pp_redis_stats stats;
};

/* ---- lists */

static void list_insert_after(rlist *l, rcmd *at, rcmd *k)
{
    k->prev = at;
    k->next = at ? at->next : l->head;
    if (k->next)
        k->next->prev = k;
    else
        l->tail = k;
    if (at)
        at->next = k;
    else
        l->head = k;
    l->n++;
}

static void list_remove(rlist *l, rcmd *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        l->head = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        l->tail = k->prev;
    k->prev = k->next = NULL;
    l->n--;
}

/* ---- commands */

static void cmd_free(rcmd *k)
{
    free(k->buf);
    free(k);
}

/* Answers a user command and frees it. */
static void finish(pp_redis *r, rcmd *k, const redisReply *reply, const char *err)
{
    if (k->kind == K_USER) {
        r->outstanding--;
        if (k->done)
            k->done(k->ud, err ? (reply && reply->type == REDIS_REPLY_ERROR ? reply : NULL) : reply,
                    err);
    }
    cmd_free(k);
}

static void fail(pp_redis *r, rcmd *k, const char *fmt, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, why && *why ? why : "no reason given");
    finish(r, k, NULL, msg);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

/* Hands a command to hiredis, the script's sha in place. */
static void send_cmd(pp_redis *r, rcmd *k)
{
    if (k->sha_off)
        memcpy(k->buf + k->sha_off, r->sha[k->script], SHA_LEN);
    if (redisAsyncFormattedCommand(r->ac, on_reply, k, k->buf, k->len) != REDIS_OK) {
        fail(r, k, "redis: the connection refused the command (%s)", r->ac->errstr);
        return;
    }
    list_insert_after(&r->sent, r->sent.tail, k);
    if (k->kind == K_USER)
        r->stats.sent++;
    if (k->resend)
        r->stats.resent++;
    k->resend = 0;
}

static rcmd *cmd_new(pp_redis *r, int kind, int argc, const char **argv, const size_t *lens)
{
    rcmd *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    char *buf = NULL;
    int n = redisFormatCommandArgv(&buf, argc, argv, lens);
    if (n < 0 || !buf) {
        free(k);
        return NULL;
    }
    k->r = r;
    k->buf = buf;
    k->len = (size_t)n;
    k->kind = kind;
    k->script = -1;
    k->deadline = pp_now_ms() + (uint64_t)r->timeout_ms;
    return k;
}

/* A SCRIPT LOAD, as a handshake step or after NOSCRIPT. */
static int load_script(pp_redis *r, int kind, int script)
{
    const char *text = pp_redis_script_text(script);
    const char *argv[3] = {"SCRIPT", "LOAD", text};
    size_t lens[3] = {6, 4, strlen(text)};
    rcmd *k = cmd_new(r, kind, 3, argv, lens);
    if (!k)
        return -1;
    k->script = script;
    r->stats.script_loads++;
    send_cmd(r, k);
    return 0;
}

/* ---- connection state */

static void set_err(pp_redis *r, const char *why)
{
    if (!why || !*why || why == r->err)
        return;
    size_t n = strlen(why);
    if (n >= sizeof r->err)
        n = sizeof r->err - 1; /* a long server message is cut */
    memcpy(r->err, why, n);
    r->err[n] = 0;
}

/* The connection is gone (or given up): commands wait for the next one. */
static void went_down(pp_redis *r, const char *why)
{
    if (r->state == ST_DOWN)
        return;
    set_err(r, why);
    r->ac = NULL;
    r->state = ST_DOWN;
    r->stats.drops++;
    r->requeue_at = NULL;
    long delay = pp_backoff_ms(BACKOFF_BASE_MS, r->backoff_max_ms, r->attempt, r->rng);
    if (r->attempt < 30)
        r->attempt++;
    r->reconnect_at = pp_now_ms() + (uint64_t)delay;
}

/* Drops the connection from our side. Inside a hiredis callback the free
 * is deferred by hiredis to when the callback returns. */
static void drop(pp_redis *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    if (!ac)
        return;
    went_down(r, why);
    redisAsyncFree(ac); /* answers every command out with no reply */
}

static void became_ready(pp_redis *r)
{
    r->state = ST_READY;
    r->attempt = 0;
    r->stats.connects++;
    rcmd *k;
    while (r->state == ST_READY && (k = r->waiting.head)) {
        list_remove(&r->waiting, k);
        send_cmd(r, k);
    }
}

/* A handshake step or a reload answered. */
static void internal_reply(pp_redis *r, rcmd *k, const redisReply *rep)
{
    static const char *const names[] = {"", "AUTH", "SELECT", "SCRIPT LOAD", "SCRIPT LOAD"};
    char msg[384];
    const char *err = NULL;
    if (rep->type == REDIS_REPLY_ERROR)
        err = rep->str;
    else if ((k->kind == K_LOAD || k->kind == K_RELOAD) &&
             (rep->type != REDIS_REPLY_STRING || rep->len != SHA_LEN))
        err = "not a sha1";
    if (err) {
        snprintf(msg, sizeof msg, "%s failed on %s:%d: %s", names[k->kind], r->url.host,
                 r->url.port, err);
        if (k->kind != K_RELOAD) {
            cmd_free(k);
            drop(r, msg);
            return;
        }
        set_err(r, msg); /* the re-sent command meets NOSCRIPT again and says so */
    } else if (k->kind == K_LOAD || k->kind == K_RELOAD) {
        memcpy(r->sha[k->script], rep->str, SHA_LEN);
    }
    int step = k->kind != K_RELOAD;
    cmd_free(k);
    if (step && r->state == ST_CONNECTING && --r->steps_left == 0)
        became_ready(r);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    rcmd *k = priv;
    pp_redis *r = k->r;
    list_remove(&r->sent, k);
    redisReply *rep = reply;
    if (!rep) {
        /* the connection is going: hiredis answers what was out with no reply */
        if (r->ac == ac)
            went_down(r, ac->errstr[0] ? ac->errstr : "the connection closed");
        uint64_t now = pp_now_ms();
        if (k->kind != K_USER) {
            cmd_free(k);
        } else if (r->closing) {
            fail(r, k, "redis: the store was closed before the answer (%s)", "closing");
        } else if (k->deadline <= now) {
            r->stats.timeouts++;
            fail(r, k, "redis: no answer in time; the command may have run (%s)", r->err);
        } else if (k->flags & PP_REDIS_IDEMPOTENT) {
            list_insert_after(&r->waiting, r->requeue_at, k);
            r->requeue_at = k;
            k->resend = 1;
        } else {
            fail(r, k,
                 "redis: the connection was lost before the answer; the command may have run (%s)",
                 r->err);
        }
        return;
    }
    r->stats.replies++;
    if (k->kind != K_USER) {
        internal_reply(r, k, rep);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR && k->sha_off && !k->reloaded &&
        !strncmp(rep->str, "NOSCRIPT", 8) && r->ac == ac && r->state == ST_READY) {
        /* the server lost its scripts (a restart, SCRIPT FLUSH, a failover):
         * load it again and re-send; the command did not run */
        k->reloaded = 1;
        if (load_script(r, K_RELOAD, k->script) == 0) {
            send_cmd(r, k);
            return;
        }
    }
    finish(r, k, rep, rep->type == REDIS_REPLY_ERROR ? rep->str : NULL);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    pp_redis *r = ac->data;
    if (status != REDIS_OK && r->ac == ac) {
        char msg[320];
        snprintf(msg, sizeof msg, "cannot connect to %s:%d: %s", r->url.host, r->url.port,
                 ac->errstr);
        went_down(r, msg); /* hiredis frees the context */
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    pp_redis *r = ac->data;
    if (r->ac == ac)
        went_down(r, ac->errstr[0] ? ac->errstr : "the server closed the connection");
}

/* ---- the event hooks hiredis calls: fd interest for the host */

static void want(pp_redis *r, int w)
{
    if (r->fd < 0 || w == r->want)
        return;
    r->want = w;
    /* a change lost to memory exhaustion shows as a timeout, and pp_wait
     * and pp_perform read r->want directly */
    (void)pp_fdq_push(r->fdq, r->fd, w);
}

static void ev_add_read(void *p)
{
    pp_redis *r = p;
    want(r, r->want | PP_WANT_READ);
}

static void ev_del_read(void *p)
{
    pp_redis *r = p;
    want(r, r->want & ~PP_WANT_READ);
}

static void ev_add_write(void *p)
{
    pp_redis *r = p;
    want(r, r->want | PP_WANT_WRITE);
}

static void ev_del_write(void *p)
{
    pp_redis *r = p;
    want(r, r->want & ~PP_WANT_WRITE);
}

static void ev_cleanup(void *p)
{
    pp_redis *r = p;
    if (r->fd >= 0)
        (void)pp_fdq_push(r->fdq, r->fd, 0); /* before hiredis closes it */
    r->fd = -1;
    r->want = 0;
}

/* ---- connecting */

static int handshake(pp_redis *r)
{
    r->steps_left = 0;
    if (r->url.password) {
        const char *argv[3] = {"AUTH", r->url.user, r->url.password};
        size_t lens[3] = {4, r->url.user ? strlen(r->url.user) : 0, strlen(r->url.password)};
        int argc = r->url.user ? 3 : 2;
        if (!r->url.user) {
            argv[1] = argv[2];
            lens[1] = lens[2];
        }
        rcmd *k = cmd_new(r, K_AUTH, argc, argv, lens);
        if (!k)
            return -1;
        send_cmd(r, k);
        r->steps_left++;
    }
    if (r->url.db) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->url.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        rcmd *k = cmd_new(r, K_SELECT, 2, argv, lens);
        if (!k)
            return -1;
        send_cmd(r, k);
        r->steps_left++;
    }
    for (int s = 0; s < PP_RS_COUNT; s++) {
        if (load_script(r, K_LOAD, s) < 0)
            return -1;
        r->steps_left++;
    }
    return 0;
}

static void start_connect(pp_redis *r)
{
    char msg[320];
    r->connect_deadline = pp_now_ms() + (uint64_t)r->connect_timeout_ms;
    redisAsyncContext *ac = redisAsyncConnect(r->addr, r->url.port);
    if (!ac || ac->err) {
        snprintf(msg, sizeof msg, "cannot connect to %s:%d: %s", r->url.host, r->url.port,
                 ac ? ac->errstr : pp_oom_message);
        if (ac)
            redisAsyncFree(ac);
        r->state = ST_CONNECTING; /* so that went_down counts it and backs off */
        went_down(r, msg);
        return;
    }
    ac->data = r;
    ac->ev.data = r;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    r->fd = ac->c.fd;
    r->want = 0;
    r->ac = ac;
    r->state = ST_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect); /* asks for write: the connect's end */
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (handshake(r) < 0)
        drop(r, pp_oom_message);
}

/* The address to connect to, resolved once (a name lookup may block, so
 * it is done when the store is opened, never while the host loop runs).
 * IPv4 first, as hiredis does. */
static int resolve(pp_redis *r, char *msg, size_t msglen)
{
    static const int families[2] = {AF_INET, AF_INET6};
    int rc = EAI_FAMILY;
    for (int i = 0; i < 2; i++) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = families[i];
        hints.ai_socktype = SOCK_STREAM;
        rc = getaddrinfo(r->url.host, NULL, &hints, &res);
        if (rc != 0)
            continue;
        const void *a =
            res->ai_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr;
        const char *ok = inet_ntop(res->ai_family, a, r->addr, sizeof r->addr);
        freeaddrinfo(res);
        if (ok)
            return 0;
    }
    snprintf(msg, msglen, "redis: cannot resolve %s: %s", r->url.host, gai_strerror(rc));
    return -1;
}

pp_redis *pp_redis_new(const pp_redis_config *cfg, pp_fdq *fdq, uint64_t *rng, char *msg,
                       size_t msglen)
{
    if (!cfg || !fdq || !rng) {
        snprintf(msg, msglen, "redis: no configuration");
        return NULL;
    }
    pp_redis *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(msg, msglen, "%s", pp_oom_message);
        return NULL;
    }
    r->fd = -1;
    r->fdq = fdq;
    r->rng = rng;
    r->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    r->connect_timeout_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    r->backoff_max_ms = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
    r->max_waiting = cfg->max_waiting ? cfg->max_waiting : DEFAULT_MAX_WAITING;
    if (pp_redis_url_parse(cfg->url, &r->url, msg, msglen) < 0) {
        free(r);
        return NULL;
    }
    if (r->url.tls) {
        /* Debian 12's libhiredis-dev is 0.14.1: TLS (hiredis_ssl) came with 1.0 */
        snprintf(msg, msglen,
                 "redis: rediss:// (TLS) needs hiredis 1.0 or later with hiredis_ssl; this "
                 "build has hiredis %d.%d, without TLS (use redis:// through a TLS tunnel)",
                 HIREDIS_MAJOR, HIREDIS_MINOR);
        pp_redis_free(r);
        return NULL;
    }
    if (resolve(r, msg, msglen) < 0) {
        pp_redis_free(r);
        return NULL;
    }
    start_connect(r);
    return r;
}

void pp_redis_free(pp_redis *r)
{
    if (!r)
        return;
    r->closing = 1;
    drop(r, "closed");
    rcmd *k;
    while ((k = r->waiting.head)) {
        list_remove(&r->waiting, k);
        fail(r, k, "redis: the store was closed before the command was sent (%s)", "closing");
    }
    pp_redis_url_free(&r->url);
    free(r);
}

/* ---- issuing commands */

static int issue(pp_redis *r, rcmd *k, int flags, pp_redis_done done, void *ud)
{
    k->flags = flags;
    k->done = done;
    k->ud = ud;
    r->outstanding++;
    r->stats.commands++;
    if (r->state == ST_READY)
        send_cmd(r, k);
    else
        list_insert_after(&r->waiting, r->waiting.tail, k);
    return 0;
}

static int may_issue(const pp_redis *r)
{
    return r && !r->closing && (r->state == ST_READY || r->waiting.n < r->max_waiting);
}

int pp_redis_command(pp_redis *r, int flags, int argc, const char **argv, const size_t *lens,
                     pp_redis_done done, void *ud)
{
    if (!may_issue(r) || argc < 1)
        return -1;
    rcmd *k = cmd_new(r, K_USER, argc, argv, lens);
    return k ? issue(r, k, flags, done, ud) : -1;
}

int pp_redis_script(pp_redis *r, int script, int flags, int nkeys, int argc, const char **argv,
                    const size_t *lens, pp_redis_done done, void *ud)
{
    if (!may_issue(r) || script < 0 || script >= PP_RS_COUNT || nkeys < 0 || nkeys > argc)
        return -1;
    const char **v = malloc(((size_t)argc + 3) * sizeof *v);
    size_t *l = malloc(((size_t)argc + 3) * sizeof *l);
    char nk[16];
    snprintf(nk, sizeof nk, "%d", nkeys);
    static const char placeholder[SHA_LEN + 1] = "0000000000000000000000000000000000000000";
    rcmd *k = NULL;
    if (v && l) {
        v[0] = "EVALSHA";
        l[0] = 7;
        v[1] = placeholder;
        l[1] = SHA_LEN;
        v[2] = nk;
        l[2] = strlen(nk);
        for (int i = 0; i < argc; i++) {
            v[i + 3] = argv[i];
            l[i + 3] = lens ? lens[i] : strlen(argv[i]);
        }
        k = cmd_new(r, K_USER, argc + 3, v, l);
    }
    free(v);
    free(l);
    if (!k)
        return -1;
    /* "*<n>\r\n$7\r\nEVALSHA\r\n$40\r\n" comes before the sha */
    k->sha_off = (size_t)snprintf(NULL, 0, "*%d\r\n", argc + 3) + 13 + 5;
    k->script = script;
    return issue(r, k, flags, done, ud);
}

/* ---- driving */

int pp_redis_fd(const pp_redis *r)
{
    return r ? r->fd : -1;
}

int pp_redis_want(const pp_redis *r)
{
    return r && r->fd >= 0 ? r->want : 0;
}

void pp_redis_io(pp_redis *r, int events)
{
    if (!r || !r->ac)
        return;
    redisAsyncContext *ac = r->ac;
    if (events & (PP_WANT_READ | PP_EV_ERROR))
        redisAsyncHandleRead(ac);
    /* a read may have ended the connection (and freed the context) */
    if (r->ac == ac && (events & PP_WANT_WRITE))
        redisAsyncHandleWrite(ac);
}

void pp_redis_poll(pp_redis *r)
{
    if (!r)
        return;
    if (r->fd >= 0 && r->want) {
        struct pollfd p;
        p.fd = r->fd;
        p.events = (short)(((r->want & PP_WANT_READ) ? POLLIN : 0) |
                           ((r->want & PP_WANT_WRITE) ? POLLOUT : 0));
        p.revents = 0;
        if (poll(&p, 1, 0) > 0)
            pp_redis_io(r, ((p.revents & POLLIN) ? PP_WANT_READ : 0) |
                               ((p.revents & POLLOUT) ? PP_WANT_WRITE : 0) |
                               ((p.revents & (POLLERR | POLLHUP)) ? PP_EV_ERROR : 0));
    }
    pp_redis_timers(r);
}

void pp_redis_timers(pp_redis *r)
{
    if (!r || r->closing)
        return;
    char msg[160];
    uint64_t now = pp_now_ms();
    if (r->state == ST_CONNECTING && now >= r->connect_deadline) {
        snprintf(msg, sizeof msg, "no connection and handshake with %s:%d within %ld ms",
                 r->url.host, r->url.port, r->connect_timeout_ms);
        drop(r, msg);
    }
    if (r->state == ST_READY && r->sent.head && r->sent.head->deadline <= now) {
        snprintf(msg, sizeof msg, "%s:%d gave no answer within %ld ms", r->url.host, r->url.port,
                 r->timeout_ms);
        drop(r, msg);
    }
    rcmd *k;
    while ((k = r->waiting.head) && k->deadline <= now) {
        list_remove(&r->waiting, k);
        if (r->requeue_at == k)
            r->requeue_at = NULL;
        r->stats.timeouts++;
        fail(r, k, "redis: not connected within the command's timeout (%s)", r->err);
    }
    if (r->state == ST_DOWN && now >= r->reconnect_at)
        start_connect(r);
}

static long until(uint64_t due, uint64_t now)
{
    return due > now ? (long)(due - now) : 0;
}

long pp_redis_timeout_ms(const pp_redis *r)
{
    if (!r || r->closing)
        return -1;
    uint64_t now = pp_now_ms();
    long best = -1;
    long t[3] = {-1, -1, -1};
    if (r->state == ST_CONNECTING)
        t[0] = until(r->connect_deadline, now);
    else if (r->state == ST_DOWN)
        t[0] = until(r->reconnect_at, now);
    else if (r->sent.head)
        t[1] = until(r->sent.head->deadline, now);
    if (r->waiting.head)
        t[2] = until(r->waiting.head->deadline, now);
    for (int i = 0; i < 3; i++)
        if (t[i] >= 0 && (best < 0 || t[i] < best))
            best = t[i];
    return best;
}

size_t pp_redis_busy(const pp_redis *r)
{
    return r ? r->outstanding : 0;
}

int pp_redis_ready(const pp_redis *r)
{
    return r && r->state == ST_READY;
}

const char *pp_redis_last_error(const pp_redis *r)
{
    return r ? r->err : "";
}

void pp_redis_get_stats(const pp_redis *r, pp_redis_stats *out)
{
    if (!out)
        return;
    if (r)
        *out = r->stats;
    else
        memset(out, 0, sizeof *out);
}
