/*
 * Internal declarations shared by the files of libpushpull. Not installed.
 *
 * Ownership in one paragraph: a pp_client owns a job table (pp_jobrec, by
 * handle, plus an id -> handle map), an op table (pp_oprec), one timer heap
 * (poll due times, retry delays, the submission pacer), a dispatch queue of
 * requests waiting for a connection slot, the curl multi handle and the two
 * queues the host pulls from (events, fd changes). A pp_req is one HTTP
 * exchange including its retries; it refers to its job or op by handle, so
 * either may be released while the request is in flight.
 */
#ifndef PP_INTERNAL_H
#define PP_INTERNAL_H

#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <jansson.h>

#include "pushpull.h"

/* ---- util.c: growable buffers, strings, time, randomness */
typedef struct pp_buf {
    char *data;     /* NUL-terminated when non-NULL */
    size_t len, cap;
} pp_buf;

int pp_buf_append(pp_buf *b, const void *p, size_t n);   /* 0 / -1 */
void pp_buf_reset(pp_buf *b);                              /* len = 0 */
/* Room for n more bytes in one allocation. 0 / -1. */
int pp_buf_reserve(pp_buf *b, size_t n);
void pp_buf_free(pp_buf *b);
/* Moves src into dst (dst freed first); src becomes empty. */
void pp_buf_move(pp_buf *dst, pp_buf *src);

/* Makes room for one more pointer in a table of n (doubling). 0 / -1. */
int pp_table_reserve(void ***v, size_t *cap, size_t n, size_t first);
char *pp_strdup(const char *s);
char *pp_strndup(const char *s, size_t n);
int pp_strncaseeq(const char *a, const char *b, size_t n);
uint64_t pp_now_ms(void);
/* xorshift64*: per client, so two clients never share state. */
uint64_t pp_rand(uint64_t *state);
double pp_rand_unit(uint64_t *state);     /* [0, 1) */

/* ---- errors.c */
extern const char pp_oom_message[];
void pp_err_clear(pp_error *e);
/* Sets e (clearing what it held); on allocation failure the message is
 * pp_oom_message and the body is dropped. */
void pp_err_set(pp_error *e, const char *message, int http_status,
                const char *body, size_t body_len);
/* "401 Unauthorized" or "400 Bad Request: <the body's message>". */
void pp_err_from_http(pp_error *e, long status, const char *body, size_t len);
void pp_err_copy(pp_error *dst, const pp_error *src);
const char *pp_http_reason(long status);

/* ---- heap.c: one min-heap of timers, O(log n) push/remove */
enum pp_timer_kind { PP_TIMER_POLL = 1, PP_TIMER_RETRY, PP_TIMER_PACE };
typedef struct pp_timer {
    uint64_t due;
    size_t idx;          /* position in the heap, PP_NOT_QUEUED when out */
    int kind;
    void *owner;
} pp_timer;
#define PP_NOT_QUEUED ((size_t)-1)

typedef struct pp_heap {
    pp_timer **v;
    size_t n, cap;
} pp_heap;

void pp_timer_init(pp_timer *t, int kind, void *owner);
int pp_heap_set(pp_heap *h, pp_timer *t, uint64_t due);   /* (re)arm; 0/-1 */
void pp_heap_remove(pp_heap *h, pp_timer *t);
pp_timer *pp_heap_top(const pp_heap *h);
void pp_heap_free(pp_heap *h);

/* ---- events.c */
typedef struct pp_evq {
    pp_event *v;
    size_t head, n, cap;     /* live items are v[head .. n) */
} pp_evq;
typedef struct pp_fdq {
    pp_fd_change *v;
    size_t head, n, cap;
} pp_fdq;

int pp_evq_push(pp_evq *q, const pp_event *ev);
size_t pp_evq_take(pp_evq *q, pp_event *out, size_t max);
void pp_evq_free(pp_evq *q);
/* Records fd interest, folding it into a queued change for the same fd
 * unless one of the two is a removal (so close/reopen stays visible). */
int pp_fdq_push(pp_fdq *q, int fd, int events);
size_t pp_fdq_take(pp_fdq *q, pp_fd_change *out, size_t max);
void pp_fdq_clear(pp_fdq *q);
void pp_fdq_free(pp_fdq *q);

/* ---- json_util.c */
/* The string value of key, NULL when absent or not a string. */
const char *pp_json_str(json_t *obj, const char *key);
/* A job id as text: strings as they are, integers printed (buf >= 32). */
const char *pp_json_id(json_t *obj, char *buf, size_t buflen);
/* Compact text of a value; NULL on allocation failure. */
char *pp_json_text(const json_t *v, size_t *len);
/* The "message" of an error body {"message": ...}, NULL if none. */
char *pp_json_error_message(const char *body, size_t len);

/* ---- links.c */
/* A newly allocated href with http:// upgraded to https:// when base_url
 * is https; otherwise a copy. NULL on allocation failure. */
char *pp_link_upgrade(const char *href, const char *base_url);
/* Upgrades every _links[].href of a job object in place. 0 / -1. */
int pp_links_upgrade_job(json_t *job, const char *base_url);

/* ---- retry.c */
/* Full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
long pp_backoff_ms(long base_ms, long cap_ms, int attempt, uint64_t *rng);
enum pp_retry_verdict {
    PP_RETRY_NO = 0,     /* give the answer to the owner */
    PP_RETRY_YES,        /* try again after a backoff */
    PP_RETRY_LOST        /* a submission that may have reached the server */
};
/* kind: 0 idempotent, 1 other non-idempotent (POST), 2 job submission.
 * sent: request bytes curl reports as sent (CURLINFO_REQUEST_SIZE). */
int pp_retry_classify(int kind, CURLcode code, long http_status, long sent);

/* ---- headers (request.c): parsed facts of one response */
enum pp_jobhdr { PP_HDR_NONE = 0, PP_HDR_PENDING, PP_HDR_DONE, PP_HDR_FAULTED, PP_HDR_OTHER };
/* Parses one raw header line. Updates *remaining / *limit (minimum over
 * x-ratelimit-*-remaining / -limit, case-insensitive) and *jobhdr from
 * x-oxylabs-job-status. Returns 1 if the line mattered, else 0. */
int pp_header_parse(const char *line, size_t len, long *remaining, long *limit,
                    int *jobhdr);

/* ---- state.c */
int pp_transition_allowed(pp_state from, pp_state to);

/* ---- poll.c: scheduling arithmetic, pure, tested on its own */
typedef struct pp_poll_plan {
    long first_ms, min_ms, max_ms;
    double factor;
} pp_poll_plan;
/* Delay of the first poll aimed at target_ms (p->first_ms wins when set),
 * +-10% jitter from u in [0,1). */
long pp_poll_first_delay(const pp_poll_plan *p, double target_ms, double u);
/* The first interval, target_ms kept within [min, max]. */
long pp_poll_initial_interval(const pp_poll_plan *p, double target_ms);
/* The next interval (grown by factor, capped). */
long pp_poll_next_interval(const pp_poll_plan *p, long interval);
/* interval with +-10% jitter from u in [0,1), kept within [min, max]. */
long pp_poll_jitter(const pp_poll_plan *p, long interval, double u);

/* A running estimate of how long jobs take: the median of a histogram of
 * observed durations on a log scale whose counts fade with time (not with
 * the number of samples: within one batch the long jobs finish last, and a
 * window of recent samples would only see them). */
#define PP_EST_BUCKETS 96
#define PP_EST_HALF_LIFE_MS 600000.0
typedef struct pp_estimate {
    double count[PP_EST_BUCKETS];
    double total;
    uint64_t last_ms;
    double cached;
    int dirty;
    double initial;
} pp_estimate;
void pp_estimate_init(pp_estimate *e, double initial_ms);
void pp_estimate_add(pp_estimate *e, double ms, uint64_t now_ms);
double pp_estimate_get(pp_estimate *e);

/* ---- the objects */
typedef struct pp_client pp_client_t;
typedef struct pp_req pp_req;

enum pp_req_kind {
    PP_RK_SUBMIT = 1,    /* one chunk of a submission */
    PP_RK_POLL,          /* results poll (or the fetch that follows a done) */
    PP_RK_STATUS,        /* status poll */
    PP_RK_OP             /* pp_refresh / pp_fetch / pp_request */
};

struct pp_chunk;

struct pp_req {
    pp_client *c;
    int kind;
    int retry_kind;            /* see pp_retry_classify */
    int high;                  /* dispatch priority */
    CURL *easy;
    char method[8];
    char *url;
    char *body;                /* request body (owned), may be NULL */
    size_t body_len;
    int attempt;
    int inflight;
    pp_req *lprev, *lnext;     /* the list of requests in flight */
    pp_req *qnext;             /* dispatch queue link */
    int queued;
    pp_timer timer;            /* retry delay */
    /* sink: memory (resp) or a file (path) for 2xx answers */
    char *path;
    int fd;
    pp_buf resp;
    pp_buf headers;            /* raw header lines of the final answer */
    long status;
    long rl_remaining, rl_limit;   /* -1 when absent */
    int jobhdr;
    CURLcode code;
    long sent;
    char errbuf[CURL_ERROR_SIZE];
    int sink_errno;            /* the results file could not be written */
    uint64_t started_at;
    /* owner */
    pp_job job;
    pp_op op;
    struct pp_chunk *chunk;
};

typedef struct pp_jobrec {
    pp_job h;
    pp_state state;
    char *id;
    char *info;
    size_t info_len;
    pp_buf results;
    char *results_path;        /* where the poller streams results */
    int results_in_file;
    pp_error err;
    uint64_t pending_at;       /* when it became pending */
    uint64_t last_poll_at;     /* when the last 204 poll was sent */
    pp_timer timer;            /* next poll */
    long interval;
    double age_share;          /* an interval is at least this share of the age */
    int polls;
    int bare_204s;             /* consecutive 204s without a status header */
    int status_next;           /* next poll is a status GET */
    int watched;
    int cb_expected;           /* submitted with a callback_url this client
                                  expects callbacks at (PP_CB_LISTENER or
                                  PP_CB_EXTERNAL): polls are only a safety net */
    pp_req *poll_req;          /* a poll in flight */
} pp_jobrec;

enum pp_op_kind { PP_OP_SUBMIT = 1, PP_OP_REFRESH, PP_OP_FETCH, PP_OP_REQUEST };

typedef struct pp_oprec {
    pp_op h;
    int kind;
    int done;
    int released;              /* pp_op_free while in flight */
    long status;
    pp_buf body;
    pp_error err;
    int has_err;
    pp_job job;                /* refresh / fetch */
    char *path;                /* fetch to file */
    /* submission */
    pp_job *jobs;
    size_t njobs;
    size_t unresolved;         /* jobs still new or submitting */
    json_t *params;            /* the job object without the list */
    json_t *values;            /* the list, NULL for a single job */
    const char *list_key;      /* "url" or "query" */
} pp_oprec;

typedef struct pp_chunk {
    pp_op op;
    size_t start, count;
    int attempt;               /* 429s so far */
    uint64_t not_before;
    struct pp_chunk *next;
} pp_chunk;

typedef struct pp_idmap {
    uint32_t *slots;           /* job handles; 0 empty, UINT32_MAX deleted */
    size_t cap, used, live;
} pp_idmap;

struct pp_client {
    /* configuration (strings owned) */
    char *base_url;
    char *username, *password, *user_agent;
    long timeout_ms, connect_timeout_ms;
    int max_connections, max_retries;
    long retry_base_ms, retry_max_ms;
    int batch_size;
    pp_poll_config poll;
    pp_poll_plan plan;

    uint64_t rng;

    /* curl */
    CURLM *multi;
    uint64_t curl_deadline;    /* 0 = none */
    int curl_timer_set;
    struct curl_slist *hdr_json, *hdr_get;
    CURL **easy_pool;
    size_t easy_pool_n, easy_pool_cap;
    size_t inflight;
    pp_req *live;              /* requests in flight */

    /* dispatch queue: requests waiting for a connection slot */
    pp_req *qhi_head, *qhi_tail, *qlo_head, *qlo_tail;
    size_t queued;

    /* timers */
    pp_heap heap;
    size_t retry_timers;

    /* jobs and ops */
    pp_jobrec **jobs;
    size_t njobs, capjobs, livejobs;
    pp_idmap ids;
    pp_oprec **ops;
    size_t nops, capops;

    /* submissions */
    pp_chunk *sq_head, *sq_tail;
    size_t sq_len;
    size_t submits_inflight;   /* submission requests sent, not answered */
    size_t rl_inflight;        /* values in those requests */
    pp_timer pace_timer;
    int rl_known;
    int rl_probed;             /* a submission answer has been seen */
    long rl_remaining, rl_limit;
    uint64_t rl_window_start;

    pp_estimate est;

    /* host queues */
    pp_evq events;
    pp_fdq fdchanges;
    int fd_taker;              /* the host has called pp_take_fd_changes */

    pp_error submit_err;       /* the last local pp_submit error */
    json_t *early;             /* callbacks that came before their job's id:
                                  id -> job object (a jansson hash) */
    pp_stats stats;
    int in_teardown;
    struct pp_listener *listener;  /* the callback listener, NULL if none */
    struct pp_cb_external *cb_external; /* pp_expect_callbacks, NULL if none */
    pp_error listen_err;       /* the last pp_listen / pp_listen_allow error */
};

/* ---- jobs.c */
pp_jobrec *pp_job_get(pp_client *c, pp_job h);
pp_jobrec *pp_job_create(pp_client *c);         /* state new */
int pp_job_set_id(pp_client *c, pp_jobrec *j, const char *id);
pp_jobrec *pp_job_find_id(pp_client *c, const char *id);
/* Stores a job object as the job's info (links upgraded). 0 / -1. */
int pp_job_store_info(pp_client *c, pp_jobrec *j, json_t *obj);
void pp_jobs_free_all(pp_client *c);
void pp_idmap_free(pp_idmap *m);

/* ---- state.c */
/* The one way a job changes state: validates, queues PP_EVENT_JOB.
 * Returns 0, or -1 when the transition is not allowed (nothing changes). */
int pp_job_transition(pp_client *c, pp_jobrec *j, pp_state to);

/* ---- ops.c */
pp_oprec *pp_op_get(pp_client *c, pp_op h);
pp_oprec *pp_op_create(pp_client *c, int kind);
/* Marks an op finished, queues PP_EVENT_OP (or frees it if released). */
void pp_op_finish(pp_client *c, pp_oprec *o);
void pp_op_destroy(pp_client *c, pp_oprec *o);
void pp_ops_free_all(pp_client *c);
void pp_op_on_answer(pp_client *c, pp_req *r);

/* ---- request.c */
/* A request to base_url + path (path begins with '/'); body copied. */
pp_req *pp_req_new(pp_client *c, int kind, const char *method,
                   const char *path, const char *body, size_t len);
int pp_req_set_path_sink(pp_req *r, const char *file);
/* Prepares the easy handle for the next attempt; 0 / -1. */
int pp_req_prepare(pp_req *r);
/* Called by the engine when the transfer ended. */
void pp_req_finished(pp_req *r, CURLcode code);
/* Drops what an attempt collected (before a retry); removes a partial file. */
void pp_req_reset_answer(pp_req *r);
void pp_req_free(pp_req *r);
/* The request could not even be started: report code as its outcome. */
void pp_req_fail_local(pp_req *r, const char *why);

/* ---- engine.c */
int pp_engine_init(pp_client *c);
void pp_engine_cleanup(pp_client *c);
/* Queues a request for a connection slot. 0 / -1. */
int pp_engine_enqueue(pp_client *c, pp_req *r);
/* Runs whatever is due: finished transfers, timers, pacing, dispatch. */
void pp_engine_run(pp_client *c);
CURL *pp_engine_easy(pp_client *c);
void pp_engine_easy_release(pp_client *c, CURL *e);
/* Takes a request out of the multi handle and the in-flight list. */
void pp_engine_detach(pp_client *c, pp_req *r);

/* ---- poll.c */
void pp_poll_start(pp_client *c, pp_jobrec *j, uint64_t due);  /* schedule */
void pp_poll_schedule_first(pp_client *c, pp_jobrec *j);
void pp_poll_fire(pp_client *c, pp_jobrec *j);                  /* timer */
void pp_poll_on_answer(pp_client *c, pp_req *r);
void pp_poll_stop(pp_client *c, pp_jobrec *j);
/* A job just got its id: apply a callback that came before it, if any.
 * Returns 1 when one was applied. */
int pp_early_callback_take(pp_client *c, pp_jobrec *j);
/* Starts the results GET for a done job now (fetch = 1). */
void pp_poll_fetch_now(pp_client *c, pp_jobrec *j);
/* Applies a job object (callback, refresh, status poll). */
void pp_job_apply_object(pp_client *c, pp_jobrec *j, json_t *obj, int from_poll);
/* Feeds a callback's text: 0 it named a known job, 1 kept until its job's
 * id arrives, 2 well formed but for no job of this client, -1 malformed. */
int pp_callback_apply(pp_client *c, const char *json, size_t len);
/* Results of a 200: faulted when every result has status_code 613. */
int pp_results_all_faulted(json_t *root);

/* ---- listener.c: the callback listener (libmicrohttpd, external epoll) */
/* Its epoll fd, -1 when not listening. */
int pp_listener_fd(pp_client *c);
/* Serves what is ready: always when force, else only when its own
 * deadline (MHD_get_timeout) has come. */
void pp_listener_run(pp_client *c, int force);
/* Milliseconds until it needs a run, -1 when nothing is due. */
long pp_listener_timeout_ms(pp_client *c);
/* Where a job's callbacks come in (pp_jobrec.cb_expected). */
enum { PP_CB_NONE = 0, PP_CB_LISTENER = 1, PP_CB_EXTERNAL = 2 };
/* Whether url names the listener (its public URL, possibly with a query
 * after it: PP_CB_LISTENER), else the URL of pp_expect_callbacks (likewise:
 * PP_CB_EXTERNAL), else PP_CB_NONE. */
int pp_callback_kind(pp_client *c, const char *url);
/* The safety-net delay for a job expecting callbacks of that kind, est_ms
 * the expected job time; -1 when that kind is gone (listener stopped,
 * pp_expect_callbacks(c, NULL)). */
long pp_callback_safety_ms(pp_client *c, int kind, double est_ms);
/* Stops and frees the listener, the expected callback URL and the error
 * (pp_client_free). */
void pp_listener_free(pp_client *c);

/* ---- submit.c */
void pp_submit_pump(pp_client *c);
void pp_submit_on_answer(pp_client *c, pp_req *r);
void pp_submit_free_queue(pp_client *c);
/* Reads rate-limit facts of a submission answer. */
void pp_ratelimit_update(pp_client *c, long remaining, long limit, long status,
                         uint64_t now);

#endif
