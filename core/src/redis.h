/*
 * The fleet store's link to Redis, beside the transport (layer 2): one
 * connection (redis_conn.c; one per node on a Redis Cluster, routed by
 * redis_cluster.c) over a plain or TLS byte stream (redis_io.h),
 * its URL (redis_url.c), the store's server-side scripts
 * (redis_scripts.c) and the store's operations, each one script call
 * (redis_store.c). hiredis only formats commands and parses replies. It
 * knows nothing of jobs but their keys and state names; core/README.md
 * ("Redis store") has the key layout and the rules. Not installed.
 *
 * The connection runs no thread and never blocks. Its fd interest lands
 * in the client's fd change queue like a curl socket; the host's
 * pp_socket_action / pp_perform / pp_wait call pp_redis_io, pp_redis_poll
 * and pp_redis_timers, and pp_timeout_ms includes pp_redis_timeout_ms.
 * A command is answered once, through its completion: with the reply, or
 * with an error (a Redis error reply, a timeout, a lost connection).
 * Completions run inside those driving calls; they may issue commands but
 * must not free the connection.
 */
#ifndef PP_REDIS_H
#define PP_REDIS_H

#include "base.h"
#include "store.h"

#include <hiredis/hiredis.h>

/* ---- redis_url.c */
typedef struct pp_redis_url {
    char *host; /* without the brackets of an IPv6 address */
    int port;
    char *user;     /* an ACL user, NULL for the default user */
    char *password; /* NULL: no AUTH */
    int db;
    int tls; /* rediss:// */
} pp_redis_url;

/* Parses redis://[[user][:password]@]host[:port][/db] (and rediss://);
 * user and password may be %-encoded. 0, or -1 with the reason in msg. */
int pp_redis_url_parse(const char *url, pp_redis_url *out, char *msg, size_t msglen);
void pp_redis_url_free(pp_redis_url *u);

/* ---- redis_cluster.c: Redis Cluster's routing (no I/O) */
#define PP_REDIS_SLOTS 16384u
#define PP_REDIS_MAX_NODES 1000u

/* The slot of a key: CRC16 of its hash tag ("{...}", when not empty) or
 * of the whole key, modulo 16384 (the cluster specification's rule). */
unsigned pp_redis_key_slot(const char *key, size_t len);
/* A redirection, "MOVED <slot> <host>:<port>" or "ASK ..." (an error
 * reply's text): 0 with *ask, *slot, host (may be "": the node that
 * answered) and *port, or -1 when err is no redirection. */
int pp_redis_redirect_parse(const char *err, int *ask, unsigned *slot, char *host, size_t hostlen,
                            int *port);

typedef struct pp_redis_node_addr {
    char *host;
    int port;
} pp_redis_node_addr;

/* The nodes known, and which serves each slot (0: unknown, else node
 * index + 1; allocated at the first slot learnt). */
typedef struct pp_redis_slots {
    pp_redis_node_addr *nodes;
    size_t n, cap;
    unsigned short *node;
} pp_redis_slots;

void pp_redis_slots_init(pp_redis_slots *m);
void pp_redis_slots_free(pp_redis_slots *m);
/* The node's index, -1 unknown. */
int pp_redis_slots_find(const pp_redis_slots *m, const char *host, int port);
/* The node's index, added when new; -1 out of memory or too many. */
int pp_redis_slots_add(pp_redis_slots *m, const char *host, int port);
/* The node serving slot, -1 unknown. */
int pp_redis_slots_node(const pp_redis_slots *m, unsigned slot);
/* 0, or -1 (out of memory, no such node or slot). */
int pp_redis_slots_set(pp_redis_slots *m, unsigned slot, int node);
/* The node's slots become unknown (it went down: they may have moved). */
void pp_redis_slots_forget(pp_redis_slots *m, int node);

/* ---- redis_conn.c: the connection */
typedef struct pp_redis_config {
    const char *url;
    long timeout_ms;         /* a command's answer, from when it was
                                issued (waiting included); default 5000 */
    long connect_timeout_ms; /* connect and handshake; default 2000 */
    long backoff_max_ms;     /* reconnect delay cap; default 2000 */
    size_t max_waiting;      /* commands held while disconnected;
                                default 100000 */
    pp_tls_config tls;       /* rediss:// only (refused with redis://) */
} pp_redis_config;

typedef struct pp_redis pp_redis;

/* reply is NULL when err is set, or the Redis error reply err came from.
 * Both live until the completion returns. */
typedef void (*pp_redis_done)(void *ud, const redisReply *reply, const char *err);

/* A command that may run twice: when its connection drops before its
 * answer, it is sent again after the reconnect (within its timeout)
 * instead of failing. Without it, such a command fails with "the
 * connection was lost before the answer; it may have run". */
#define PP_REDIS_IDEMPOTENT 1

typedef struct pp_redis_stats {
    uint64_t commands; /* issued */
    uint64_t sent;     /* written to a connection (resends included) */
    uint64_t replies;  /* answers read */
    uint64_t connects; /* handshakes completed */
    uint64_t drops;    /* connections lost or given up */
    uint64_t timeouts; /* commands failed for want of an answer */
    uint64_t resent;   /* idempotent commands sent again */
    uint64_t script_loads;
} pp_redis_stats;

/* Starts connecting (the host name is resolved here, once: reconnects
 * use the address). NULL with the reason in msg. */
pp_redis *pp_redis_new(const pp_redis_config *cfg, pp_fdq *fdq, uint64_t *rng, char *msg,
                       size_t msglen);
/* Fails every command still out ("closed"), closes the connection. */
void pp_redis_free(pp_redis *r);

/* Queues a command (sent at once when connected). 0, or -1 when it cannot
 * be queued (out of memory, too many waiting): done is then not called. */
int pp_redis_command(pp_redis *r, int flags, int argc, const char **argv, const size_t *lens,
                     pp_redis_done done, void *ud);
/* EVALSHA of one of the store's scripts: keys then args in argv. Loaded
 * on every connect, loaded again and re-sent on NOSCRIPT. */
int pp_redis_script(pp_redis *r, int script, int flags, int nkeys, int argc, const char **argv,
                    const size_t *lens, pp_redis_done done, void *ud);

/* Driving. */
int pp_redis_fd(const pp_redis *r);   /* -1 while disconnected */
int pp_redis_want(const pp_redis *r); /* PP_WANT_READ|PP_WANT_WRITE */
void pp_redis_io(pp_redis *r, int events);
/* Redis Cluster: the connections to the other nodes redirections named
 * have fds of their own. pp_redis_io_fd serves whichever owns fd (-1:
 * none does); pp_redis_fds lists every connection's fd and interest;
 * pp_redis_flush writes what any ready connection holds. The other
 * driving calls serve every connection. */
int pp_redis_io_fd(pp_redis *r, int fd, int events);
size_t pp_redis_fds(const pp_redis *r, pp_fd_change *out, size_t max);
void pp_redis_flush(pp_redis *r);
size_t pp_redis_nodes(const pp_redis *r); /* connections: 1 but on a cluster */
/* For hosts that only tick: asks poll(2) (timeout 0) what the fd is
 * ready for, then serves it and the timers. */
void pp_redis_poll(pp_redis *r);
void pp_redis_timers(pp_redis *r);
long pp_redis_timeout_ms(const pp_redis *r); /* -1: nothing due */
size_t pp_redis_busy(const pp_redis *r);     /* commands not yet answered */
int pp_redis_ready(const pp_redis *r);       /* connected and handshaken */
/* Why the last connection attempt or connection failed ("" if none). */
const char *pp_redis_last_error(const pp_redis *r);
/* 1 when that failure was TLS refusing the server's certificate, or the
 * server refusing ours: a retry will not mend it. */
int pp_redis_refused(const pp_redis *r);
void pp_redis_get_stats(const pp_redis *r, pp_redis_stats *out);

/* ---- redis_scripts.c: the store's server-side logic (Lua) */
enum pp_redis_script_id {
    PP_RS_SUBMIT = 0, /* record a submission before it is sent */
    PP_RS_ANSWER,     /* record its answer: the jobs and their keys */
    PP_RS_MOVE,       /* record transitions of jobs */
    PP_RS_CLAIM,      /* claim finished jobs with a lease */
    PP_RS_POLL,       /* claim pending jobs to poll, with a lease */
    PP_RS_RENEW,      /* renew leases */
    PP_RS_RELEASE,    /* give jobs back, or mark them handed out */
    PP_RS_LIST,       /* list a tag's jobs, of one state or all */
    PP_RS_FORGET,     /* drop a tag's keys, a page at a time */
    PP_RS_COUNT
};
const char *pp_redis_script_text(int script);
const char *pp_redis_script_name(int script);

/* ---- redis_store.c: the store's operations, one script call each.
 *
 * Keys live under "<prefix>:{<tag>}:" (core/README.md, "Redis store"): one
 * hash slot per tag. A job's key is its id, or any name the caller gives a
 * job that has none. The token names this process as a lease holder.
 * Every operation is one EVALSHA; each is idempotent but claims (which
 * hand jobs out: an answer lost with its connection costs those jobs one
 * lease, after which they are claimable again). */
typedef struct pp_rstore {
    pp_redis *r;
    char *prefix;
    char token[96];
    /* how long a job in a final state that was handed out for good is
     * kept (ms; 0: forever): moves and releases retire such jobs, their
     * submissions once all their jobs are (core/README.md, "Redis
     * store"). 0 after pp_rstore_init. */
    long retention_ms;
} pp_rstore;

/* One job of an answer or a move. to: a state name, or for a move a path
 * "done,fetching,fetched" taken in order. fields_json (moves): "" or
 * NULL, or a JSON object of strings set on the job's hash (its error, its
 * results path...). id (answers): the service's id when the key is not. */
typedef struct pp_rjob {
    const char *key;
    const char *to;
    const char *fields_json;
    const char *id;
} pp_rjob;

/* Lease kinds for renew and release. */
enum { PP_LEASE_CLAIM = 0, PP_LEASE_POLL = 1 };

/* token NULL: "<host>:<pid>:<random>". 0 / -1 (message in msg). */
int pp_rstore_init(pp_rstore *s, pp_redis *r, const char *prefix, const char *token, uint64_t *rng,
                   char *msg, size_t msglen);
void pp_rstore_cleanup(pp_rstore *s);
/* A tag may be used in a key's hash tag: 1..64 bytes, no '{', '}'. */
int pp_rstore_tag_valid(const char *tag);

/* A submission of nvalues values, recorded before it is sent. The jobs
 * may be made with it (keys[i], values[i]: the job's value of the list,
 * JSON; state submitting) or by its answer (njobs 0).
 * Reply: 1 recorded, 0 already recorded. */
int pp_rstore_submit(pp_rstore *s, const char *tag, const char *sid, const char *params,
                     size_t params_len, long nvalues, const char *const *keys,
                     const char *const *values, size_t njobs, pp_redis_done done, void *ud);
/* The answer of submission sid: its jobs (to = their first state; jobs the
 * submission made move on from submitting), or lost = 1 (the answer never
 * came). Pending jobs are held for polling by this process for poll_ms
 * (0: any poller may take them); finished ones are held by it for hold_ms
 * (0: claimable by all). Reply: the number of jobs made or moved, 0 if
 * the answer was recorded already. */
int pp_rstore_answer(pp_rstore *s, const char *tag, const char *sid, int lost, const pp_rjob *jobs,
                     size_t n, long poll_ms, long hold_ms, pp_redis_done done, void *ud);
/* Reply: one integer per job: 1 moved, 0 already there, -1 refused (not
 * a transition of the state machine), -2 held by another process, -3 no
 * such job. A finished job this process holds stays held; one that
 * becomes finished is held for hold_ms (0: claimable by all). */
int pp_rstore_move(pp_rstore *s, const char *tag, const pp_rjob *jobs, size_t n, long poll_ms,
                   long hold_ms, pp_redis_done done, void *ud);
/* Claims up to max finished jobs for lease_ms. Reply: an array,
 * [remaining, key1, fields1, key2, fields2, ...] (fields as
 * pp_rstore_list gives them); remaining counts the
 * tag's jobs not yet handed out, and the values of submissions not yet
 * answered (0: the tag is complete). */
int pp_rstore_claim(pp_rstore *s, const char *tag, long max, long lease_ms, pp_redis_done done,
                    void *ud);
/* Claims up to max pending jobs due for a poll. Reply: [key1, fields1,
 * key2, fields2...]. */
int pp_rstore_poll(pp_rstore *s, const char *tag, long max, long lease_ms, pp_redis_done done,
                   void *ud);
/* Reply: one integer per key: 1 still held (renewed), 0 lost. */
int pp_rstore_renew(pp_rstore *s, const char *tag, int kind, const char *const *keys, size_t n,
                    long lease_ms, pp_redis_done done, void *ud);
/* Claims: handed = 1 marks the jobs handed out for good, 0 makes them
 * claimable again. Polls: the jobs may be polled again after delay_ms by
 * any process. Reply: one integer per key: 1 done, 0 not held. */
int pp_rstore_release(pp_rstore *s, const char *tag, int kind, const char *const *keys, size_t n,
                      int handed, long delay_ms, pp_redis_done done, void *ud);
/* Hands the jobs out to this process at once, without a lease (the
 * journal's claim): each unless another process has it or holds it.
 * Reply: one integer per key: 1 this process has it, 0 not. */
int pp_rstore_take(pp_rstore *s, const char *tag, const char *const *keys, size_t n,
                   pp_redis_done done, void *ud);
/* Gives back jobs this process took (not handed out after all: claimable
 * again). Reply: one integer per key: 1 given back, 0 not this one's. */
int pp_rstore_untake(pp_rstore *s, const char *tag, const char *const *keys, size_t n,
                     pp_redis_done done, void *ud);
/* A page of the tag's jobs in state (NULL: all), only those not handed
 * out when unhanded is set. Reply: [next_cursor, key1, fields1, ...],
 * fields the job's hash as a flat array (state, id, sub, value, error...);
 * next_cursor "0" ends the listing. */
int pp_rstore_list(pp_rstore *s, const char *tag, const char *state, int unhanded,
                   const char *cursor, long count, pp_redis_done done, void *ud);
/* The tag's counters (HGETALL of its meta hash): open, unhanded, jobs,
 * subs, lost. */
int pp_rstore_counts(pp_rstore *s, const char *tag, pp_redis_done done, void *ud);
/* Drops up to page jobs of the tag, then its submissions, then its own
 * keys. Reply: 1 more is left (call again), 0 the tag is gone; without
 * force an error ("PPSTORE n jobs of the tag are pending or not handed
 * out yet") while any job is not handed out, and nothing dropped. */
int pp_rstore_forget(pp_rstore *s, const char *tag, int force, long page, pp_redis_done done,
                     void *ud);

/* ---- store_redis.c: the journal's store (store.h) on this connection.
 * Keys under prefix (NULL: "pp"). The store asks Redis for a process
 * number first; it records nothing until pp_store_redis_ready says 1. */
pp_store *pp_store_redis_open(pp_redis *r, const char *prefix, uint64_t *rng, char *why,
                              size_t whylen);
/* 1 ready, 0 not yet (asks again when the last attempt failed). */
int pp_store_redis_ready(pp_store *s);

/* Leases (core/README.md, "Redis store"): a job this process polls (its
 * answer's, or one adopted) and a finished job it claimed are held for
 * lease_ms, renewed every third of it while the client runs
 * (pp_store_redis_tick, at each engine step; pp_store_redis_timeout_ms
 * says when next). A process that stops renewing loses them. */
#define PP_STORE_REDIS_LEASE_MS 30000
void pp_store_redis_set_lease(pp_store *s, long lease_ms); /* >= 300 */
/* Claims up to max finished jobs of tag not handed out (pending = 0), or
 * adopts up to max pending jobs whose poll lease ran out (pending = 1),
 * with a lease: each() for each as list() reports them, then done().
 * *remaining (claims): the tag's jobs not handed out yet, and values not
 * yet answered; 0 when every job was handed out. 1, or -1 (why). */
int pp_store_redis_lease(pp_store *s, const char *tag, long max, int pending, pp_store_row_fn each,
                         pp_store_done_fn done, void *ud, long *remaining, const char **why);
/* Ends the claim of a job: handed out for good (handed), or claimable
 * again. The release joins the group (sent at the next flush); 1 when
 * the group is to be flushed now (a claim in it has less than half a
 * lease left), 0 otherwise, -1 out of memory. */
int pp_store_redis_release(pp_store *s, int64_t key, int handed);
/* Finished jobs handed out for good are kept retention_ms (0: forever). */
#define PP_STORE_REDIS_RETENTION_MS 86400000L
void pp_store_redis_set_retention(pp_store *s, long retention_ms);
/* 1 while this process surely holds its claim of the job: its last claim
 * or renewal was answered, and a quarter of the lease counted from its
 * sending is still to run. */
int pp_store_redis_holds(pp_store *s, int64_t key);
void pp_store_redis_tick(pp_store *s);

/* Callbacks anywhere: a callback for a job this process does not have is
 * published (XADD <prefix>:callbacks, capped at about 100,000 entries);
 * every process reads the stream every 200 ms while it waits for jobs
 * (wanted) and hands each (id, claim) to fn, which applies it to a job of
 * its own. Hints only: the job is checked with the service. */
int pp_store_redis_publish(pp_store *s, const char *id, int claim);
void pp_store_redis_on_callback(pp_store *s, void (*fn)(void *ud, const char *id, int claim),
                                void *ud);
void pp_store_redis_read_callbacks(pp_store *s, int wanted);
long pp_store_redis_callbacks_ms(const pp_store *s); /* -1: not reading */
long pp_store_redis_timeout_ms(const pp_store *s);

#endif
