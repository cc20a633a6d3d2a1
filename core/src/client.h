/*
 * The top layer of libpushpull: the client (client.c), driving it
 * (drive.c), the poll schedule (schedule.c), callback intake (callbacks.c),
 * operations (ops.c) and submissions (submit.c). These send requests
 * through the transport, read their answers through the answers layer and
 * change jobs only through the state layer, reacting to the changes it
 * publishes. The callback listener (listener.c) sits on top of this.
 * Not installed.
 */
#ifndef PP_CLIENT_H
#define PP_CLIENT_H

#include "jobs.h"
#include "store.h"

/* ---- the objects of this layer */
enum pp_op_kind { PP_OP_SUBMIT = 1, PP_OP_REFRESH, PP_OP_FETCH, PP_OP_REQUEST, PP_OP_JOURNAL };

typedef struct pp_oprec {
    pp_op h;
    int kind;
    int done;
    int released; /* pp_op_free while in flight */
    long status;
    pc_buf body;
    pp_error err;
    int has_err;
    pp_job job; /* refresh / fetch */
    char *path; /* fetch to a file: its final name */
    char *tmp;  /* ... and the temporary file written first */
    /* submission */
    pp_job *jobs;
    size_t njobs;
    size_t unresolved; /* jobs still new or submitting */
    json_t *params;    /* the job object without the list */
    /* the list, NULL for a single job: each value's JSON text followed by a
     * comma, value i at values[value_at[i]] (a 50,000-URL list is 2.4 MB of
     * text here, 6 MB as jansson values) */
    char *values;
    size_t *value_at;     /* n + 1 offsets */
    const char *list_key; /* "url" or "query" */
    /* journal operations (journal.c) */
    pp_journal_entry *entries;
    size_t nentries, capentries;
    long remaining; /* pp_fleet_claim */
} pp_oprec;

typedef struct pp_chunk {
    pp_op op;
    size_t start, count;
    int attempt; /* 429s so far */
    uint64_t not_before;
    struct pp_chunk *next;
} pp_chunk;

/* A callback that came before its job's id: the id and what it claimed. */
typedef struct pp_early {
    char *id;
    int claim;
} pp_early;

/* Where callbacks come in besides the listener (pp_expect_callbacks), and
 * the safety-net settings of both. */
typedef struct pp_cb_source {
    int active;
    char *url; /* the callback URL jobs are submitted with */
    size_t url_len;
    long safety_min_ms;
    double safety_factor;
} pp_cb_source;

struct pp_listener;
struct pp_redis;
struct pp_redis_config;
struct pp_addr;
struct sockaddr;

struct pp_client {
    pp_transport tp;
    pp_jobtab jobs;
    pp_poll_config poll;
    pp_plan_config plan;
    int batch_size;
    uint64_t rng;

    /* timers of this layer: polls and the submission pacer */
    pp_heap timers;
    pp_timer pace_timer;
    pp_timer nap_timer; /* pp_fleet_nap: fires into nothing */

    /* operations */
    pp_oprec **ops;
    size_t nops, capops;

    /* submissions */
    pp_chunk *sq_head, *sq_tail;
    size_t sq_len;
    size_t submits_inflight; /* submission requests sent, not answered */
    size_t rl_inflight;      /* values in those requests */
    int rl_known;
    int rl_probed; /* a submission answer has been seen */
    long rl_remaining, rl_limit;
    uint64_t rl_window_start;

    pp_estimate est;
    pp_job probe;          /* a cold client's first job, asked early */
    double planned_median; /* the estimate first polls were planned with */

    /* callbacks */
    pp_cb_source cb[3]; /* indexed by PP_CB_LISTENER, PP_CB_EXTERNAL */
    pp_early *early;    /* callbacks before their id (a ring) */
    size_t early_n, early_cap, early_bytes;
    struct pp_listener *listener;
    struct pp_redis *redis;   /* the fleet store's connection (fleet.c) */
    struct pp_addr *cb_allow; /* senders allowed to post callbacks... */
    size_t cb_nallow;
    int cb_allow_set;    /* ... or 0: every sender */
    int cb_allow_needed; /* a listener beyond loopback without allow_any:
                            the list may not be dropped */

    /* host queues */
    pp_evq events;
    pp_fdq fdchanges;
    int fd_taker; /* the host has called pp_take_fd_changes */

    pp_error last_err; /* the error of the last failing API call */
    pp_stats stats;
    int in_teardown;

    /* the job journal (journal.c): its store, NULL without one */
    pp_store *store;
    int journal_dirty;     /* writes since the last flush... */
    int journal_ids;       /* ... among them ids: that flush is durable */
    int journal_restoring; /* resume recreates jobs: nothing to record */
    pp_error journal_err;  /* the store's first failure: submissions are
                              refused from then on */
    int journal_remote;    /* a store on a server (Redis): a refused
                              submission does not refuse the next ones */
};

/* Sets c->last_err and copies it to *err; returns -1. */
int pp_fail(pp_client *c, pp_error *err, const char *message);
int pp_fail_errno(pp_client *c, pp_error *err, const char *what, int errnum);

/* ---- schedule.c */
/* Registers the scheduler's hook on the state layer. */
int pp_sched_init(pp_client *c);
/* Watches a job: polls it until it ends. */
void pp_sched_watch(pp_client *c, pp_jobrec *j);
/* A pending job got its id: first poll (or safety net) from now. */
void pp_sched_first(pp_client *c, pp_jobrec *j);
/* A callback claimed the job ended (PP_V_DONE / PP_V_FAULTED): check now
 * (results download / status GET), at most once per backoff step. */
void pp_sched_hint(pp_client *c, pp_jobrec *j, int claim);
/* 1 while the transport has a pool's worth of requests waiting for a
 * connection: due polls then stay in the heap. */
int pp_sched_saturated(const pp_client *c);
/* Runs polls that are due. */
size_t pp_sched_run(pp_client *c);
/* Forgets a job's timer and poll (before pp_job_destroy). */
void pp_sched_forget(pp_client *c, pp_jobrec *j);
/* Jobs that counted on callbacks of that kind go back to polling. */
void pp_sched_release_callbacks(pp_client *c, int kind);

/* ---- callbacks.c */
/* Reads a callback body and hands its claim to the scheduler. 0 it named a
 * known job, 1 kept until its job's id arrives, 2 well formed but for no
 * job of this client, -1 malformed. */
int pp_callback_take(pp_client *c, const char *body, size_t len);
/* A job just got its id: a callback that came before it, if any (NULL:
 * no submission is out any more, forget them all). */
void pp_callback_early(pp_client *c, pp_jobrec *j);
/* Which callback source url names (PP_CB_*). */
int pp_callback_kind(pp_client *c, const char *url);
/* The safety-net delay for a job of that kind, -1 when it is gone. */
long pp_callback_safety_ms(pp_client *c, int kind, double est_ms);
void pp_callbacks_free(pp_client *c);

/* ---- receiver.c: the rules of every callback receiver */
#define PP_CALLBACK_IGNORED 202 /* internal: answered 200 {"status":"ignored"} */
int pp_callback_allowed(pp_client *c, const struct sockaddr *sa);
/* The answer a request gets from its head alone, 0 to read its body. */
int pp_callback_head(pp_client *c, int sender_ok, const char *method, long long length,
                     size_t max_body);
/* Takes the body: 200, PP_CALLBACK_IGNORED or 400. */
int pp_callback_body(pp_client *c, const char *body, size_t len);
/* The body of the answer for *status (which it may change), counted. */
const char *pp_callback_answer(pp_client *c, int *status);
void pp_receiver_free(pp_client *c);

/* ---- ops.c */
pp_oprec *pp_op_get(pp_client *c, pp_op h);
pp_oprec *pp_op_create(pp_client *c, int kind);
/* Marks an op finished, queues PP_EVENT_OP (or frees it if released). */
void pp_op_finish(pp_client *c, pp_oprec *o);
void pp_op_destroy(pp_client *c, pp_oprec *o);
void pp_ops_free_all(pp_client *c);

/* ---- submit.c */
#define PP_SUBMITS_INFLIGHT_MAX 2 /* submission requests out at once */
void pp_submit_pump(pp_client *c);
void pp_submit_free_queue(pp_client *c);
void pp_ratelimit_update(pp_client *c, long remaining, long limit, long status, uint64_t now);

/* ---- journal.c */
/* Opens cfg->journal for the client; 0, or -1 with the reason in why. */
int pp_journal_open(pp_client *c, const pp_config *cfg, char *why, size_t whylen);
void pp_journal_close(pp_client *c);
/* Records a submission (o's parameters, list and jobs) before any of it is
 * sent. 0, or -1 with c->last_err set. */
int pp_journal_submission(pp_client *c, pp_oprec *o, const pp_submit_opts *opts);
/* These jobs are about to be sent: done(ud, 0) once that is durable --
 * now, or later -- or done(ud, -1, why) when it cannot be recorded (then
 * they must not be sent). Without a journal done runs at once. */
void pp_journal_sending(pp_client *c, const pp_job *jobs, size_t n, pp_store_done_fn done,
                        void *ud);
/* The end of an engine step: the step's writes are stored in one go. */
void pp_journal_step(pp_client *c);
/* Before a Redis journal's connection closes: what waits for the engine
 * step (the fleet's releases) is sent, and what is out answered, within a
 * second. */
void pp_journal_settle(pp_client *c);
/* A callback for a job this client does not have, published to the
 * fleet (a Redis journal). 0, or -1 (no such journal, or not sent). */
int pp_journal_callback(pp_client *c, const char *id, int claim);
/* When the journal next needs a step (lease renewals); -1: never. */
long pp_journal_timeout_ms(pp_client *c);
/* Frees the entries of a journal operation. */
void pp_journal_entries_free(pp_oprec *o);

/* ---- drive.c */
/* Runs whatever is due: finished transfers, timers, pacing, dispatch. */
void pp_run(pp_client *c);

/* ---- fleet.c: the fleet store's Redis connection, driven with curl's */
/* Opens the client's connection to Redis (it connects in the background:
 * commands wait for it). 0, or -1 with the reason. */
int pp_fleet_open(pp_client *c, const struct pp_redis_config *cfg, pp_error *err);
void pp_fleet_close(pp_client *c);

/* ---- listener.c */
int pp_listener_fd(pp_client *c);
void pp_listener_run(pp_client *c, int force);
long pp_listener_timeout_ms(pp_client *c);
void pp_listener_free(pp_client *c);

#endif
