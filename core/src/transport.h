/*
 * The transport layer: one HTTP exchange (exchange.c), the curl multi engine
 * that runs them within a bounded pool (engine.c), the retry policy
 * (retry.c) and the response-header reader (headers.c). It knows nothing of
 * jobs, operations or the service's meaning: a request carries its own
 * completion, called once with the final answer (after any retries), and
 * the layer above reads that answer. Not installed.
 */
#ifndef PP_TRANSPORT_H
#define PP_TRANSPORT_H

#include "base.h"

#include <curl/curl.h>

/* ---- retry.c */
/* Full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
long pp_backoff_ms(long base_ms, long cap_ms, int attempt, uint64_t *rng);

/* How a request may be repeated. */
enum pp_repeat {
    PP_REPEAT_SAFE = 0, /* idempotent (GET, PUT, DELETE): transport failures,
                           429 and 5xx are retried */
    PP_REPEAT_ONCE,     /* must not run twice (a job submission, any POST):
                           retried only when it provably never left (resolve
                           or connect failure); a 429 goes to the owner */
};
/* 1 when the attempt may be made again. sent: request bytes curl reports
 * as sent (CURLINFO_REQUEST_SIZE). */
int pp_retry_allowed(int repeat, CURLcode code, long http_status, long sent);
/* 1 when the request provably never reached the service. */
int pp_never_sent(CURLcode code, long sent);

/* ---- headers.c: the facts of one response's headers */
enum pp_jobhdr { PP_HDR_NONE = 0, PP_HDR_PENDING, PP_HDR_DONE, PP_HDR_FAULTED, PP_HDR_OTHER };
/* Parses one raw header line. Updates *remaining / *limit (minimum over
 * x-ratelimit-*-remaining / -limit, case-insensitive) and *jobhdr from
 * x-oxylabs-job-status. Returns 1 if the line mattered, else 0. */
int pp_header_parse(const char *line, size_t len, long *remaining, long *limit, int *jobhdr);

/* ---- the transport's own state, one per client */
typedef struct pp_req pp_req;

typedef struct pp_transport_config {
    const char *base_url, *username, *password, *user_agent;
    long timeout_ms, connect_timeout_ms;
    int max_connections, max_retries;
    long retry_base_ms, retry_max_ms;
    pp_debug debug;
} pp_transport_config;

typedef struct pp_transport {
    char *base_url, *username, *password, *user_agent;
    long timeout_ms, connect_timeout_ms;
    int max_connections, max_retries;
    long retry_base_ms, retry_max_ms;
    pp_debug debug; /* the client's: every layer above reports through it */

    CURLM *multi;
    uint64_t curl_deadline;
    int curl_timer_set;
    struct curl_slist *hdr_json, *hdr_get;
    CURL **easy_pool;
    size_t easy_pool_n, easy_pool_cap;
    size_t inflight;
    pp_req *live; /* requests in flight */
    /* requests waiting for a connection slot: high priority first */
    pp_req *qhi_head, *qhi_tail, *qlo_head, *qlo_tail;
    size_t queued;
    pp_heap retries;          /* requests waiting out a backoff */
    uint64_t *rng;            /* the client's */
    pp_stats *stats;          /* requests, retries, bytes_in */
    pp_fdq *fdchanges;        /* where fd interest goes */
    size_t *buffered, budget; /* bytes of budgeted bodies in memory, cap */
    int closing;
} pp_transport;

/* A request's completion: called once, when its last attempt ended (or it
 * could not start). It owns the request from then on and must free it. */
typedef void (*pp_req_done_fn)(void *ctx, pp_req *r);

/* Where a 2xx answer's body goes. */
enum pp_sink { PP_SINK_MEMORY = 0, PP_SINK_FILE };

struct pp_req {
    pp_transport *t;
    pp_req_done_fn done;
    void *ctx;      /* the completion's context */
    uint32_t owner; /* the owner's handle (a job, an op): the
                       transport never reads it */
    void *data;     /* owner data (a submission chunk), freed with
                       free_data when the request is freed */
    void (*free_data)(void *data);
    int repeat; /* enum pp_repeat */
    int high;   /* dispatch priority */
    CURL *easy;
    char method[8];
    char *url;
    char *body; /* request body (owned), may be NULL */
    size_t body_len;
    int attempt;
    int inflight;
    pp_req *lprev, *lnext; /* the list of requests in flight */
    pp_req *qnext;         /* dispatch queue link */
    int queued;
    pp_timer timer; /* retry delay */
    /* sink: memory, or a file descriptor the owner opened (written from
     * offset 0 only for 2xx answers; other answers go to memory) */
    int sink;
    int fd;
    size_t written; /* bytes written to fd */
    /* A budgeted body counts in the transport's `buffered` while it is in
     * memory; past the budget spill_fn(ctx, r) gives a file to go on in
     * (its fd, or -1: then the body stays in memory over budget). */
    int budgeted;
    int (*spill_fn)(void *ctx, pp_req *r);
    int spilled;
    /* A file sink opened when the first byte of a 2xx body comes (so that
     * requests waiting for a connection hold no file): open_fn(ctx, r)
     * gives its fd, or -1 with errno set -- or -1 after setting the sink
     * to memory, where the body then goes. */
    int (*open_fn)(void *ctx, pp_req *r);
    /* A file sink only spares memory: when it cannot be written, the body
     * goes on in memory instead of failing. */
    int memory_fallback;
    pc_buf resp;
    long status;
    long rl_remaining, rl_limit; /* -1 when absent */
    int jobhdr;
    CURLcode code;
    long sent;
    char errbuf[CURL_ERROR_SIZE];
    int sink_errno; /* writing the body failed with this errno */
    uint64_t started_at;
};

/* ---- engine.c */
int pp_transport_init(pp_transport *t, const pp_transport_config *cfg, uint64_t *rng,
                      pp_stats *stats, pp_fdq *fdchanges, size_t *buffered, size_t budget);
/* Frees every request (no completion is called) and the curl handles. */
void pp_transport_cleanup(pp_transport *t);
/* Queues a request for a connection slot. */
void pp_transport_send(pp_transport *t, pp_req *r);
/* Settles finished transfers, starts retries that are due, fills free
 * connection slots. Returns how many things happened. */
size_t pp_transport_run(pp_transport *t);
/* Milliseconds until the transport needs a call, -1 when nothing is due. */
long pp_transport_timeout_ms(pp_transport *t);
/* Takes a request in flight out of the multi handle and the live list. */
void pp_transport_detach(pp_transport *t, pp_req *r);
/* Transfers in flight, queued, or waiting out a backoff. */
size_t pp_transport_busy(const pp_transport *t);
int pp_transport_socket_action(pp_transport *t, int fd, int events);
int pp_transport_perform(pp_transport *t);
/* Waits up to ms for curl's sockets or the extra fds (the callback
 * listener's, the Redis connection's), each for its events. */
#define PP_WAIT_EXTRA_MAX 4
int pp_transport_wait(pp_transport *t, const pp_fd_change *extra, size_t nextra, int ms);

/* ---- exchange.c */
/* The request's URL path (and query): what debug lines show of it, never
 * the base URL, which may carry credentials. */
const char *pp_req_path(const pp_req *r);
/* A request to base_url + path (path begins with '/'); body copied. NULL
 * on no memory. */
pp_req *pp_req_new(pp_transport *t, const char *method, const char *path, const char *body,
                   size_t len, int repeat, pp_req_done_fn done, void *ctx);
/* Streams 2xx answers to fd (owned by the request from now on). */
void pp_req_sink_fd(pp_req *r, int fd);
/* Prepares the easy handle for the next attempt; 0 / -1. */
int pp_req_prepare(pp_req *r);
/* The engine saw the transfer end: retry or complete. */
void pp_req_finished(pp_req *r, CURLcode code);
/* The request could not even be started: complete it with that reason. */
void pp_req_fail_local(pp_req *r, const char *why);
/* Frees a request that is not in flight and not queued (completions call
 * this); one in flight or queued is taken out first. */
void pp_req_free(pp_req *r);
/* Takes the open sink fd away from the request (the owner keeps it). */
int pp_req_take_fd(pp_req *r);

#endif
