/* One connection to Redis, driven by the host.
 *
 * The bytes go through redis_io.h (a TCP socket, plain or TLS); hiredis
 * formats the commands (redisFormatCommandArgv) and parses the replies
 * (redisReader), nothing more. The fd interest the connection needs --
 * write while connecting or while output is left, what TLS waits for in
 * its handshake, read otherwise -- goes to the client's fd change queue,
 * as curl's socket callback does, and the host's calls come back through
 * pp_redis_io (an fd event), pp_redis_poll (a tick: poll(2) with timeout
 * 0) and pp_redis_timers. Every deadline is kept here: the connect, TLS
 * and the handshake, each command's answer and the next reconnect.
 *
 * Commands issued while disconnected wait in a queue (up to max_waiting)
 * and are sent once the next handshake (AUTH, SELECT, SCRIPT LOAD of the
 * store's scripts) is through; one that is still waiting when its
 * timeout comes fails, naming why the connection is down. When a
 * connection is lost with commands out, those marked idempotent wait for
 * the next connection, the others fail ("it may have run"). A command
 * without an answer in time means the server stalled: the connection is
 * dropped (a late answer could not be matched any more) and made again
 * with backoff.
 *
 * On a Redis Cluster the connection first made (the seed) routes: each
 * command goes to the node serving its key's slot as far as the -MOVED
 * answers taught (redis_cluster.c keeps the map), -ASK sends it once,
 * after ASKING, where it points; each node named is a connection of its
 * own, handled exactly as the seed. */
#include "redis.h"
#include "redis_io.h"
#include "transport.h" /* pp_backoff_ms */

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define DEFAULT_TIMEOUT_MS 5000L
#define DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define DEFAULT_BACKOFF_MAX_MS 2000L
#define DEFAULT_MAX_WAITING 100000u
#define BACKOFF_BASE_MS 100L
#define SHA_LEN 40
#define READ_CHUNK 16384
#define KEEP_OUTPUT (1u << 20) /* an output buffer kept once empty */

enum { ST_DOWN = 0, ST_CONNECTING, ST_READY };
/* Where a connection is on its way: TCP connect, TLS handshake, open. */
enum { LINK_TCP = 0, LINK_TLS, LINK_OPEN };
/* What a command is: the user's, a handshake step, a reload on NOSCRIPT,
 * the ASKING before a command sent where an ASK redirection pointed. */
enum { K_USER = 0, K_AUTH, K_SELECT, K_LOAD, K_RELOAD, K_ASKING };
/* Redirections a command follows before its error is its answer. */
#define MAX_REDIRECTS 5

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
    int slot;     /* its key's cluster slot, -1: none */
    int redirects;
    int asking; /* to be sent after ASKING */
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

    pp_tls *tls; /* rediss:// */
    pp_rio io;   /* io.fd -1 while down */
    int link;
    redisReader *reader;
    char *out; /* commands written to the connection, not yet to the socket */
    size_t out_len, out_off, out_cap;
    int read_wants, write_wants; /* what a read, a write waits for */
    unsigned gen;                /* connections made: a completion may drop one */
    int want;
    int state;
    int steps_left; /* handshake replies still due */
    int attempt;    /* reconnects since the last handshake */
    uint64_t connect_deadline, reconnect_at;
    int closing;
    int refused; /* the last connection failed on certificates */

    rlist waiting;      /* not sent: down, or before the handshake */
    rlist sent;         /* written to the connection, answer due (in order) */
    rcmd *requeue_at;   /* the last command put back at the front of waiting */
    size_t outstanding; /* user commands not yet answered */

    /* Redis Cluster: the connection made first (the seed) routes each
     * command to the node serving its slot; every node a redirection
     * named is a connection of its own, peers[i] serving slots.nodes[i]
     * (peers[0] is the seed, a NULL peer could not be made yet) */
    pp_redis *seed; /* NULL: this is the seed */
    pp_redis_slots slots;
    pp_redis **peers;
    size_t npeers;

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

static void update_want(pp_redis *r);

/* Room for n more bytes of output. */
static int out_room(pp_redis *r, size_t n)
{
    if (r->out_cap - r->out_len >= n)
        return 0;
    size_t cap = r->out_cap ? r->out_cap : 4096;
    while (cap - r->out_len < n) {
        if (cap > ((size_t)-1) / 2)
            return -1;
        cap *= 2;
    }
    char *out = realloc(r->out, cap);
    if (!out)
        return -1;
    r->out = out;
    r->out_cap = cap;
    return 0;
}

/* Writes a command to the connection, the script's sha in place: 0, or
 * -1 when there is no room for it (the command failed). */
static rcmd *cmd_new(pp_redis *r, int kind, int argc, const char **argv, const size_t *lens);

static int send_cmd(pp_redis *r, rcmd *k)
{
    if (k->asking) {
        k->asking = 0;
        const char *argv[1] = {"ASKING"};
        size_t lens[1] = {6};
        rcmd *a = cmd_new(r, K_ASKING, 1, argv, lens);
        if (!a) {
            fail(r, k, "redis: no room to send the command (%s)", pp_oom_message);
            return -1;
        }
        if (send_cmd(r, a) < 0) {
            fail(r, k, "redis: no room to send the command (%s)", pp_oom_message);
            return -1;
        }
    }
    if (k->sha_off)
        memcpy(k->buf + k->sha_off, r->sha[k->script], SHA_LEN);
    if (out_room(r, k->len) < 0) {
        fail(r, k, "redis: no room to send the command (%s)", pp_oom_message);
        return -1;
    }
    memcpy(r->out + r->out_len, k->buf, k->len);
    r->out_len += k->len;
    list_insert_after(&r->sent, r->sent.tail, k);
    if (k->kind == K_USER)
        r->stats.sent++;
    if (k->resend)
        r->stats.resent++;
    k->resend = 0;
    update_want(r);
    return 0;
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
    k->slot = -1;
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
    return send_cmd(r, k);
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
    r->state = ST_DOWN;
    r->stats.drops++;
    /* a node lost may have failed over: new commands of its slots go to
     * the seed again, whose MOVED names the node serving them now (those
     * already waiting here stay, and fail after their timeout if it does
     * not come back) */
    for (size_t i = 1; r->seed && i < r->seed->npeers; i++)
        if (r->seed->peers[i] == r)
            pp_redis_slots_forget(&r->seed->slots, (int)i);
    r->requeue_at = NULL;
    long delay = pp_backoff_ms(BACKOFF_BASE_MS, r->backoff_max_ms, r->attempt, r->rng);
    if (r->attempt < 30)
        r->attempt++;
    r->reconnect_at = pp_now_ms() + (uint64_t)delay;
}

/* The fd interest the connection needs now, told to the host on change. */
static void update_want(pp_redis *r)
{
    int w = 0;
    if (r->io.fd < 0)
        return;
    if (r->link == LINK_TCP)
        w = PP_WANT_WRITE;
    else if (r->link == LINK_TLS)
        w = r->io.want;
    else
        w = r->read_wants | (r->out_off < r->out_len ? r->write_wants : 0);
    if (w == r->want)
        return;
    r->want = w;
    /* a change lost to memory exhaustion shows as a timeout, and pp_wait
     * and pp_perform read r->want directly */
    (void)pp_fdq_push(r->fdq, r->io.fd, w);
}

/* A command that was out when its connection went. */
static void lost(pp_redis *r, rcmd *k)
{
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
}

/* Ends the connection (lost, or given up from our side) and answers every
 * command that was out on it. Completions run here may issue commands:
 * they wait for the next connection. */
static void drop(pp_redis *r, const char *why)
{
    if (r->io.fd < 0)
        return;
    went_down(r, why);
    r->gen++;
    (void)pp_fdq_push(r->fdq, r->io.fd, 0); /* before the fd is closed */
    pp_rio_close(&r->io);
    r->want = 0;
    redisReaderFree(r->reader);
    r->reader = NULL;
    r->out_len = r->out_off = 0;
    rlist out = r->sent;
    memset(&r->sent, 0, sizeof r->sent);
    rcmd *k;
    while ((k = out.head)) {
        list_remove(&out, k);
        lost(r, k);
    }
}

/* A failure of the stream: while connecting, one of TLS refusing
 * certificates is remembered as such. */
static void broke(pp_redis *r, const char *fmt)
{
    char msg[384];
    snprintf(msg, sizeof msg, fmt, r->url.host, r->url.port, r->io.err);
    if (r->state == ST_CONNECTING)
        r->refused = r->io.refused;
    drop(r, msg);
}

static void became_ready(pp_redis *r)
{
    r->state = ST_READY;
    r->attempt = 0;
    r->refused = 0;
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
    if (k->kind == K_ASKING) { /* a refusal shows in the command's own answer */
        cmd_free(k);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR)
        err = rep->str;
    else if ((k->kind == K_LOAD || k->kind == K_RELOAD) &&
             (rep->type != REDIS_REPLY_STRING || rep->len != SHA_LEN))
        err = "not a sha1";
    if (err) {
        if (k->kind == K_SELECT && strstr(err, "cluster"))
            snprintf(msg, sizeof msg,
                     "%s:%d is a Redis Cluster node: it has db 0 only (a URL without /db): %s",
                     r->url.host, r->url.port, err);
        else
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

/* The answer to k, the first command out. */
static int redirected(pp_redis *r, rcmd *k, const char *err);

static void on_reply(pp_redis *r, rcmd *k, const redisReply *rep)
{
    r->stats.replies++;
    if (k->kind != K_USER) {
        internal_reply(r, k, rep);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR && k->slot >= 0 && redirected(r, k, rep->str))
        return;
    if (rep->type == REDIS_REPLY_ERROR && k->sha_off && !k->reloaded &&
        !strncmp(rep->str, "NOSCRIPT", 8) && r->state == ST_READY) {
        /* the server lost its scripts (a restart, SCRIPT FLUSH, a failover):
         * load it again and re-send; the command did not run */
        k->reloaded = 1;
        if (load_script(r, K_RELOAD, k->script) == 0) {
            send_cmd(r, k); /* fails k itself when it cannot */
            return;
        }
    }
    finish(r, k, rep, rep->type == REDIS_REPLY_ERROR ? rep->str : NULL);
}

/* ---- reading and writing */

/* Hands every whole reply read so far to its command. -1 when the
 * connection ended meanwhile (a completion or a bad reply dropped it). */
static int deliver(pp_redis *r)
{
    unsigned gen = r->gen;
    while (r->gen == gen) {
        void *reply = NULL;
        if (redisReaderGetReply(r->reader, &reply) != REDIS_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "a reply that cannot be read: %s", r->reader->errstr);
            drop(r, msg);
            return -1;
        }
        if (!reply)
            return 0;
        rcmd *k = r->sent.head;
        if (!k) {
            freeReplyObject(reply);
            drop(r, "a reply to no command");
            return -1;
        }
        list_remove(&r->sent, k);
        on_reply(r, k, reply);
        freeReplyObject(reply);
    }
    return -1;
}

/* Reads until the stream would block (TLS may hold bytes the fd no
 * longer shows). */
static void do_read(pp_redis *r)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = r->io.ops->read(&r->io, buf, sizeof buf);
        if (n == 0) {
            r->read_wants = r->io.want;
            return;
        }
        if (n < 0) {
            broke(r, "the connection to %s:%d failed: %s");
            return;
        }
        if (redisReaderFeed(r->reader, buf, (size_t)n) != REDIS_OK) {
            drop(r, pp_oom_message);
            return;
        }
        if (deliver(r) < 0)
            return;
    }
}

static void do_write(pp_redis *r)
{
    while (r->out_off < r->out_len) {
        ssize_t n = r->io.ops->write(&r->io, r->out + r->out_off, r->out_len - r->out_off);
        if (n == 0) {
            r->write_wants = r->io.want;
            break;
        }
        if (n < 0) {
            broke(r, "the connection to %s:%d failed: %s");
            return;
        }
        r->out_off += (size_t)n;
    }
    if (r->out_off == r->out_len) {
        r->out_off = r->out_len = 0;
        if (r->out_cap > KEEP_OUTPUT) { /* a burst is over: give its room back */
            free(r->out);
            r->out = NULL;
            r->out_cap = 0;
        }
        r->write_wants = PP_WANT_WRITE;
    }
    update_want(r);
}

/* The connect, then TLS' handshake: 1 once the stream is open. */
static int open_link(pp_redis *r)
{
    if (r->link == LINK_TCP) {
        int rc = pp_rio_connected(&r->io);
        if (rc < 0)
            broke(r, "cannot connect to %s:%d: %s");
        if (rc <= 0)
            return 0;
        r->link = LINK_OPEN;
        if (r->tls) {
            if (pp_tls_start(r->tls, &r->io, r->url.host) < 0) {
                broke(r, "cannot start TLS with %s:%d: %s");
                return 0;
            }
            r->link = LINK_TLS;
        }
    }
    if (r->link == LINK_TLS) {
        int rc = r->io.ops->handshake(&r->io);
        if (rc < 0) {
            broke(r, "cannot connect to %s:%d: %s");
            return 0;
        }
        if (rc == 0) {
            update_want(r);
            return 0;
        }
        r->link = LINK_OPEN;
    }
    update_want(r);
    return 1;
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
        if (!k || send_cmd(r, k) < 0)
            return -1;
        r->steps_left++;
    }
    if (r->url.db) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->url.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        rcmd *k = cmd_new(r, K_SELECT, 2, argv, lens);
        if (!k || send_cmd(r, k) < 0)
            return -1;
        r->steps_left++;
    }
    for (int s = 0; s < PP_RS_COUNT; s++) {
        if (load_script(r, K_LOAD, s) < 0)
            return -1;
        r->steps_left++;
    }
    return 0;
}

/* Starts a connection: its handshake's commands wait in the output for
 * the stream to open. */
static void start_connect(pp_redis *r)
{
    r->connect_deadline = pp_now_ms() + (uint64_t)r->connect_timeout_ms;
    r->state = ST_CONNECTING; /* so that a failure counts and backs off */
    if (pp_rio_connect(&r->io, r->addr, r->url.port) < 0) {
        char msg[384];
        snprintf(msg, sizeof msg, "cannot connect to %s:%d: %s", r->url.host, r->url.port,
                 r->io.err);
        r->refused = 0;
        went_down(r, msg);
        return;
    }
    r->link = LINK_TCP;
    r->want = 0;
    r->read_wants = PP_WANT_READ;
    r->write_wants = PP_WANT_WRITE;
    r->reader = redisReaderCreate();
    if (!r->reader) {
        drop(r, pp_oom_message);
        return;
    }
    update_want(r);
    if (handshake(r) < 0)
        drop(r, pp_oom_message);
}

/* The address to connect to, resolved once (a name lookup may block, so
 * it is done when the store is opened, never while the host loop runs).
 * IPv4 first. */
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
    r->io.fd = -1;
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
    const pp_tls_config *tc = &cfg->tls;
    if (!r->url.tls && (tc->ca_file || tc->cert_file || tc->key_file || tc->insecure)) {
        snprintf(msg, msglen, "redis: TLS settings need a rediss:// URL");
        pp_redis_free(r);
        return NULL;
    }
    if (r->url.tls && !(r->tls = pp_tls_new(tc, msg, msglen))) {
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
    if (!r->seed) {
        for (size_t i = 1; i < r->npeers; i++)
            pp_redis_free(r->peers[i]);
        free(r->peers);
        pp_redis_slots_free(&r->slots);
        pp_tls_free(r->tls); /* the peers' too */
    }
    free(r->out);
    pp_redis_url_free(&r->url);
    free(r);
}

/* ---- Redis Cluster: a connection per node */

/* A connection to another node of the seed's cluster, with its settings
 * (db 0: a cluster has no other). NULL when it cannot be made. */
static pp_redis *peer_new(pp_redis *s, const char *host, int port)
{
    pp_redis *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->io.fd = -1;
    p->fdq = s->fdq;
    p->rng = s->rng;
    p->timeout_ms = s->timeout_ms;
    p->connect_timeout_ms = s->connect_timeout_ms;
    p->backoff_max_ms = s->backoff_max_ms;
    p->max_waiting = s->max_waiting;
    p->seed = s;
    p->tls = s->tls;
    p->url.port = port;
    p->url.tls = s->url.tls;
    p->url.host = strdup(host);
    p->url.user = s->url.user ? strdup(s->url.user) : NULL;
    p->url.password = s->url.password ? strdup(s->url.password) : NULL;
    char msg[256];
    if (!p->url.host || (s->url.user && !p->url.user) || (s->url.password && !p->url.password) ||
        resolve(p, msg, sizeof msg) < 0) {
        pp_redis_free(p);
        return NULL;
    }
    start_connect(p);
    return p;
}

/* The connection to host:port (made when new) and its index in the slot
 * map; NULL when it cannot be made. */
static pp_redis *peer(pp_redis *s, const char *host, int port, int *index)
{
    if (!s->slots.n && pp_redis_slots_add(&s->slots, s->url.host, s->url.port) != 0)
        return NULL;
    int i = port == s->url.port && (!strcmp(host, s->addr) || !strcmp(host, s->url.host))
                ? 0
                : pp_redis_slots_add(&s->slots, host, port);
    if (i < 0)
        return NULL;
    if ((size_t)i >= s->npeers) {
        pp_redis **peers = realloc(s->peers, s->slots.n * sizeof *peers);
        if (!peers)
            return NULL;
        for (size_t j = s->npeers; j < s->slots.n; j++)
            peers[j] = j == 0 ? s : NULL;
        s->peers = peers;
        s->npeers = s->slots.n;
    }
    if (!s->peers[i])
        s->peers[i] = peer_new(s, host, port);
    *index = i;
    return s->peers[i];
}

/* The connection serving slot as far as the redirections tell. */
static pp_redis *route(pp_redis *s, int slot)
{
    int i = slot >= 0 ? pp_redis_slots_node(&s->slots, (unsigned)slot) : -1;
    return i >= 0 && (size_t)i < s->npeers && s->peers[i] ? s->peers[i] : s;
}

/* Puts k in n's hands: sent now when n is ready, else when it is. */
static void hand_to(pp_redis *n, rcmd *k)
{
    k->r = n;
    n->outstanding++;
    if (n->state == ST_READY)
        send_cmd(n, k);
    else
        list_insert_after(&n->waiting, n->waiting.tail, k);
}

/* A -MOVED or -ASK answer: k goes to the node named (MOVED: from now on,
 * for every command of the slot; ASK: once, after ASKING). 0 when err is
 * no redirection to follow: it is then k's answer. */
static int redirected(pp_redis *r, rcmd *k, const char *err)
{
    int ask, port, i = -1;
    unsigned slot;
    char host[256];
    if (k->redirects >= MAX_REDIRECTS ||
        pp_redis_redirect_parse(err, &ask, &slot, host, sizeof host, &port) < 0)
        return 0;
    pp_redis *s = r->seed ? r->seed : r;
    pp_redis *p = peer(s, *host ? host : r->url.host, port, &i);
    if (!p)
        return 0;
    if (!ask) /* lost to memory exhaustion: the next MOVED teaches it again */
        (void)pp_redis_slots_set(&s->slots, slot, i);
    k->redirects++;
    k->asking = ask;
    r->outstanding--;
    hand_to(p, k);
    return 1;
}

/* The slot of a command's key: argv[1], or the one after STREAMS (XREAD);
 * -1 for a command without one. */
static int command_slot(int argc, const char **argv, const size_t *lens)
{
    int at = argc > 1 ? 1 : -1;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcasecmp(argv[i], "STREAMS")) {
            at = i + 1;
            break;
        }
    if (at < 0)
        return -1;
    return (int)pp_redis_key_slot(argv[at], lens ? lens[at] : strlen(argv[at]));
}

/* ---- issuing commands */

static int issue(pp_redis *r, rcmd *k, int flags, pp_redis_done done, void *ud)
{
    k->flags = flags;
    k->done = done;
    k->ud = ud;
    r->stats.commands++;
    hand_to(route(r, k->slot), k);
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
    if (!k)
        return -1;
    k->slot = command_slot(argc, argv, lens);
    return issue(r, k, flags, done, ud);
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
    if (nkeys > 0)
        k->slot = (int)pp_redis_key_slot(argv[0], lens ? lens[0] : strlen(argv[0]));
    return issue(r, k, flags, done, ud);
}

/* ---- driving */

int pp_redis_fd(const pp_redis *r)
{
    return r ? r->io.fd : -1;
}

int pp_redis_want(const pp_redis *r)
{
    return r && r->io.fd >= 0 ? r->want : 0;
}

void pp_redis_io(pp_redis *r, int events)
{
    if (!r || r->io.fd < 0)
        return;
    unsigned gen = r->gen;
    if (r->link != LINK_OPEN) {
        if (!open_link(r))
            return;
        events |= PP_WANT_WRITE; /* the handshake's commands are waiting */
    }
    if (events & (r->read_wants | PP_EV_ERROR))
        do_read(r);
    /* a read may have ended the connection, and its completions queued
     * commands: a write now saves the host a round */
    if (r->gen == gen && r->out_off < r->out_len)
        do_write(r);
}

/* The seed's connections, itself first:
 * for (i = 0; i < nodes(r); i++) if ((n = node_at(r, i))) ...
 * (NULL: a node whose connection could not be made). A completion may
 * add nodes meanwhile: the count is read each time. */
static size_t nodes(const pp_redis *r)
{
    return r ? (r->npeers ? r->npeers : 1) : 0;
}

static pp_redis *node_at(const pp_redis *r, size_t i)
{
    return r->npeers ? r->peers[i] : (pp_redis *)r;
}

int pp_redis_io_fd(pp_redis *r, int fd, int events)
{
    pp_redis *n;
    for (size_t i = 0; fd >= 0 && i < nodes(r); i++)
        if ((n = node_at(r, i)) && n->io.fd == fd) {
            pp_redis_io(n, events);
            return 0;
        }
    return -1;
}

void pp_redis_flush(pp_redis *r)
{
    pp_redis *n;
    for (size_t i = 0; i < nodes(r); i++)
        if ((n = node_at(r, i)) && n->state == ST_READY && n->out_off < n->out_len)
            pp_redis_io(n, PP_WANT_WRITE);
}

size_t pp_redis_fds(const pp_redis *r, pp_fd_change *out, size_t max)
{
    size_t got = 0;
    pp_redis *n;
    for (size_t i = 0; got < max && i < nodes(r); i++)
        if ((n = node_at(r, i)) && n->io.fd >= 0 && n->want) {
            out[got].fd = n->io.fd;
            out[got].events = n->want;
            got++;
        }
    return got;
}

static void node_timers(pp_redis *r);

void pp_redis_poll(pp_redis *r)
{
    pp_redis *n;
    for (size_t i = 0; i < nodes(r); i++) {
        if (!(n = node_at(r, i)))
            continue;
        if (n->io.fd < 0 || !n->want) {
            node_timers(n);
            continue;
        }
        struct pollfd p;
        p.fd = n->io.fd;
        p.events = (short)(((n->want & PP_WANT_READ) ? POLLIN : 0) |
                           ((n->want & PP_WANT_WRITE) ? POLLOUT : 0));
        p.revents = 0;
        if (poll(&p, 1, 0) > 0)
            pp_redis_io(n, ((p.revents & POLLIN) ? PP_WANT_READ : 0) |
                               ((p.revents & POLLOUT) ? PP_WANT_WRITE : 0) |
                               ((p.revents & (POLLERR | POLLHUP)) ? PP_EV_ERROR : 0));
        node_timers(n);
    }
}

void pp_redis_timers(pp_redis *r)
{
    pp_redis *n;
    for (size_t i = 0; i < nodes(r); i++)
        if ((n = node_at(r, i)))
            node_timers(n);
}

static void node_timers(pp_redis *r)
{
    if (!r || r->closing)
        return;
    char msg[160];
    uint64_t now = pp_now_ms();
    if (r->state == ST_CONNECTING && now >= r->connect_deadline) {
        snprintf(msg, sizeof msg,
                 r->link == LINK_TLS && r->io.fd >= 0
                     ? "no TLS handshake with %s:%d within %ld ms (is the port TLS?)"
                     : "no connection and handshake with %s:%d within %ld ms",
                 r->url.host, r->url.port, r->connect_timeout_ms);
        r->refused = 0;
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

static long node_timeout_ms(const pp_redis *r)
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

long pp_redis_timeout_ms(const pp_redis *r)
{
    long best = -1;
    for (size_t i = 0; i < nodes(r); i++) {
        long t = node_timeout_ms(node_at(r, i));
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    return best;
}

size_t pp_redis_busy(const pp_redis *r)
{
    size_t busy = 0;
    pp_redis *n;
    for (size_t i = 0; i < nodes(r); i++)
        if ((n = node_at(r, i)))
            busy += n->outstanding;
    return busy;
}

size_t pp_redis_nodes(const pp_redis *r)
{
    size_t count = 0;
    for (size_t i = 0; i < nodes(r); i++)
        count += node_at(r, i) != NULL;
    return count;
}

int pp_redis_ready(const pp_redis *r)
{
    return r && r->state == ST_READY;
}

const char *pp_redis_last_error(const pp_redis *r)
{
    return r ? r->err : "";
}

int pp_redis_refused(const pp_redis *r)
{
    return r && r->refused;
}

void pp_redis_get_stats(const pp_redis *r, pp_redis_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    pp_redis *n;
    for (size_t i = 0; i < nodes(r); i++) {
        if (!(n = node_at(r, i)))
            continue;
        out->commands += n->stats.commands;
        out->sent += n->stats.sent;
        out->replies += n->stats.replies;
        out->connects += n->stats.connects;
        out->drops += n->stats.drops;
        out->timeouts += n->stats.timeouts;
        out->resent += n->stats.resent;
        out->script_loads += n->stats.script_loads;
    }
}
