/*
 * libpushpull: a non-blocking client core for Push-Pull scraping job APIs.
 *
 * The core owns all protocol state (requests, retries, the job state
 * machine, the poll schedule) and never runs a loop of its own. Like
 * hiredis' async context it tells its host what to wait on and the host
 * calls back in:
 *
 *   - event loops with fd watchers (libuv, ...) watch the fds reported by
 *     pp_take_fd_changes(), call pp_socket_action() when one is ready, and arm
 *     one timer for pp_timeout_ms() that calls pp_socket_action(PP_SOCKET_TIMEOUT);
 *   - hosts that can only tick (OpenResty timers) call pp_perform();
 *   - plain scripts call pp_wait(ms), the one blocking call.
 *
 * After any of these, pp_take_events() reports what changed: jobs that moved
 * to a new state and operations that finished. Nothing in the core calls back
 * into the host; the host pulls.
 *
 * All strings passed in are copied. Pointers returned stay valid until the
 * next call that may change the object they belong to (for a job: the next
 * drive call or pp_job_release; for an operation: pp_op_free).
 *
 * Errors: every call that can fail returns 0 (a handle), -1 or NULL and
 * describes the failure in a pp_error *err argument, which may be NULL.
 * Its strings belong to the client and stay valid until the next call that
 * fails (pp_client_new's are static).
 *
 * One pp_client is single-threaded; two clients in one process share nothing.
 * libcurl's global state is set up once per process by the first
 * pp_client_new (curl_global_init under pthread_once) and never torn down;
 * a host that manages it itself may call curl_global_init first.
 */
#ifndef PUSHPULL_H
#define PUSHPULL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PP_VERSION "0.1.0"

/* Most values the service accepts in one batch request. */
#define PP_BATCH_MAX 5000

typedef struct pp_client pp_client;

/* A job handle: > 0, stable for the client's life (until pp_job_release). */
typedef uint32_t pp_job;
/* An operation handle (a submission, a status check, a fetch, a request): > 0. */
typedef uint32_t pp_op;

/* ---- Job states (doc/c-api.md draws them); transitions only happen inside the core. */
typedef enum pp_state {
    PP_NEW = 0,    /* created locally, not yet sent */
    PP_SUBMITTING, /* submission request in flight (or waiting to be paced) */
    PP_PENDING,    /* the service accepted it and has an id */
    PP_DONE,       /* the service finished it; results not yet here */
    PP_FAULTED,    /* the service gave up on it (not billed) */
    PP_FETCHING,   /* results being downloaded */
    PP_FETCHED,    /* results downloaded (in memory or in a file) */
    PP_REJECTED,   /* the service refused the submission (4xx) */
    PP_UNKNOWN,    /* the submission was sent but its answer was lost */
    PP_EXPIRED,    /* the service no longer has it (404 / retention) */
    PP_FAILED,     /* done, but its results could not be stored */
    PP_STATE_COUNT
} pp_state;

/* "new", "submitting", "pending", ... ; NULL for an out-of-range value. */
const char *pp_state_name(pp_state s);
/* 1 for states a job never leaves by itself: fetched, faulted, rejected,
 * unknown, expired, failed (done is not final: it moves on to fetching). */
int pp_state_is_final(pp_state s);

/* ---- Configuration. pp_config_init fills defaults; 0 / NULL keep them. */
typedef struct pp_poll_config {
    long first_ms; /* first results poll after submission; 0 = adaptive */
    long min_ms;   /* smallest interval between polls of one job */
    long max_ms;   /* interval cap */
    double factor; /* growth of the interval after each 204 */
    int fetch;     /* 1: poll the results endpoint and keep the answer
                      (a finished job costs one request); 0: poll status
                      (the job then stops at done until pp_fetch).
                      Unlike the other fields, 0 here is a setting, not
                      "keep the default": pp_config_init sets 1. */
} pp_poll_config;

/* TLS to a rediss:// journal (pp_config.journal_tls). The server's
 * certificate is verified, against the URL's host, unless insecure. */
typedef struct pp_tls_config {
    const char *ca_file;   /* PEM certificates to trust; NULL = the system's
                              store */
    const char *cert_file; /* a client certificate (PEM), for a server that
                              asks for one; needs key_file */
    const char *key_file;  /* its private key (PEM, not encrypted) */
    int insecure;          /* 1 = no verification of the server (tests,
                              development) */
} pp_tls_config;

typedef struct pp_config {
    const char *base_url; /* "https://data.oxylabs.io" */
    const char *username;
    const char *password;
    const char *user_agent;  /* NULL = "pushpull/<version>" */
    long timeout_ms;         /* per request, default 30000 */
    long connect_timeout_ms; /* default 10000 */
    int max_connections;     /* connection pool bound, default 16 */
    int max_retries;         /* per request on connection errors/429/5xx,
                                default 6; 0 = no retries (unlike the
                                other fields, 0 is a setting here) */
    long retry_base_ms;      /* backoff base (full jitter), default 250 */
    long retry_max_ms;       /* backoff cap, default 30000 */
    int batch_size;          /* values per batch request, 1..PP_BATCH_MAX */
    size_t max_buffered;     /* bytes of results held in memory before
                                they spool to files, default 32 MiB */
    const char *spool_dir;   /* where spool folders are made; NULL =
                                $TMPDIR or /tmp */
    pp_poll_config poll;
    /* Debug lines, one call per line (no newline): each request (method,
     * URL path, status, time), each retry (its delay and reason), each
     * poll scheduled (when and why), each callback (and what was done with
     * it). Never credentials: no header, no base URL, no body. Called from
     * inside the core's calls (a host that runs script code here should
     * queue the line). NULL = off, unless the environment variable
     * PUSHPULL_DEBUG is set to anything but "" or "0": then lines go to
     * stderr (pp_debug_stderr). Off, it costs nothing. */
    void (*debug)(void *ud, const char *line);
    void *debug_ud;
    const char *journal;       /* the job journal (an SQLite file, made when
                                  missing, or a fleet's store on Redis:
                                  "redis://[[user]:password@]host[:port][/db]",
                                  or "rediss://..." over TLS: journal_tls);
                                  NULL = none. See "The journal". */
    long lease_ms;             /* a Redis journal: how long a claim or a poll
                                  lease lasts unless renewed (0: 30000) */
    pp_tls_config journal_tls; /* a rediss:// journal: its TLS; set with
                                  any other journal is refused */
    long retention_ms;         /* a journal: how long a job in a final
                                  state that was handed out for good is kept,
                                  and its submission once all its jobs are
                                  (0: a day; < 0: forever). Jobs pending or not
                                  handed out are always kept */
} pp_config;

void pp_config_init(pp_config *cfg);
/* A pp_config.debug that writes "pushpull: <line>" to stderr. */
void pp_debug_stderr(void *ud, const char *line);

/* ---- Errors, as the Lua face shows them: message, HTTP status, body. */
typedef struct pp_error {
    const char *message; /* never NULL when an error is set */
    int http_status;     /* 0 when no HTTP answer */
    const char *body;    /* the service's answer body, NULL if none */
    size_t body_len;
} pp_error;

/* NULL on failure, described in err (static strings, except a journal's
 * refusal: valid until the next pp_client_new of the calling thread). */
pp_client *pp_client_new(const pp_config *cfg, pp_error *err);
void pp_client_free(pp_client *c);

/* ---- Submitting jobs.
 *
 * params_json is the job object as the service takes it. When its `url` or
 * `query` is a JSON array the submission is a batch: one job per value,
 * split into requests of at most cfg.batch_size values. Jobs are created at
 * once (state new) so they can be waited on before they have ids.
 * Returns an operation that finishes when every job has left `submitting`;
 * 0 on a local error (bad JSON, empty list, a results folder that cannot be
 * written, ...), described in err.
 * The operation's status is that of the first refused request, else of the
 * last answer; its error is the first one any of its jobs met.
 *
 * A submission is sent once. It is tried again only when it provably never
 * left (the host could not be resolved or connected to) or was answered
 * 429, which creates nothing; any other outcome (a 5xx or 524 after the
 * service may have done the work, a lost answer, an answer that does not
 * list a job) makes the jobs concerned `unknown`, with the error. */
typedef struct pp_submit_opts {
    const char *results_dir;  /* results of these jobs go to
                                 <results_dir>/<id>.json (written to a
                                 temporary file there, fsynced, renamed);
                                 NULL keeps them in memory */
    const char *results_type; /* ?type= of the results the poller fetches
                                 (raw, parsed, png, ...); NULL = default */
    const char *tag;          /* a label kept in the journal (never sent to
                                 the service); NULL = none */
    const int64_t *replaces;  /* journal keys (pp_journal_entry.key) of lost
                                 submissions this one sends again: they are
                                 handed out in the transaction that records
                                 it (a crash keeps both or neither); one
                                 another process sent again already makes
                                 the submission fail */
    size_t nreplaces;
} pp_submit_opts;
pp_op pp_submit(pp_client *c, const char *params_json, size_t len, const pp_submit_opts *opts,
                pp_error *err);

/* The jobs an operation created (pp_submit), in input order. Valid until
 * pp_op_free. */
const pp_job *pp_op_jobs(pp_client *c, pp_op op, size_t *count);

/* A job handle for an id the service already has (state pending; its
 * status is unknown until polled or refreshed). Same id -> same handle. */
pp_job pp_attach(pp_client *c, const char *job_id, pp_error *err);

/* Poll the job until it ends (adaptive schedule); jobs from pp_submit are
 * watched from the start. Idempotent. 0 / -1. */
int pp_watch(pp_client *c, pp_job job, pp_error *err);

/* GET the job's status now; the operation's body is the job object. */
pp_op pp_refresh(pp_client *c, pp_job job, pp_error *err);

/* Download results. type: NULL for the service's default, or "raw",
 * "parsed", "png", "markdown", a comma list. path: NULL keeps the body in
 * memory (pp_op_body), else it goes to a temporary file beside path that
 * is fsynced and renamed to path once the whole answer is there (an earlier
 * file at path is replaced only then). A job in state done moves to
 * fetching, then fetched; a 404 makes it expired. */
pp_op pp_fetch(pp_client *c, pp_job job, const char *type, const char *path, pp_error *err);

/* Any call of the API, with retries for idempotent requests (a POST is
 * retried only when it provably never reached the service).
 * method "GET"/"POST"/"PUT"/"DELETE"; path begins with "/"; body may be NULL. */
pp_op pp_request(pp_client *c, const char *method, const char *path, const char *body, size_t len,
                 pp_error *err);

/* ---- Operations. */
int pp_op_done(pp_client *c, pp_op op);   /* 1 once finished */
int pp_op_status(pp_client *c, pp_op op); /* HTTP status, 0 if none */
const char *pp_op_body(pp_client *c, pp_op op, size_t *len);
/* NULL when the operation succeeded (2xx); else the error. */
const pp_error *pp_op_error(pp_client *c, pp_op op);
void pp_op_free(pp_client *c, pp_op op);

/* ---- Jobs. */
pp_state pp_job_state(pp_client *c, pp_job job); /* PP_NEW for an unknown handle */
const char *pp_job_id(pp_client *c, pp_job job); /* NULL until pending */
/* The last job object the service returned, as JSON text (NULL if none). */
const char *pp_job_info(pp_client *c, pp_job job, size_t *len);
/* The results the poller kept (pp_poll_config.fetch), NULL if none. */
const char *pp_job_results(pp_client *c, pp_job job, size_t *len);
/* Why a job is rejected, unknown, faulted, expired or failed; NULL
 * otherwise. */
const pp_error *pp_job_error(pp_client *c, pp_job job);
/* The file holding this job's results, NULL if none: its result file
 * (pp_submit_opts.results_dir), where pp_job_save_results put them, or --
 * *temporary set to 1 -- a spool file (results past the memory budget,
 * removed with the job: pp_job_save_results keeps it). Valid until the
 * next call of this function (a result file's name is made when asked
 * for). */
const char *pp_job_results_path(pp_client *c, pp_job job, int *temporary);
/* Puts the kept results at path atomically (a temporary file beside it,
 * fsynced and renamed; a spool file is renamed) and frees the memory they
 * held. 0, or -1 with err naming the path and the reason. */
int pp_job_save_results(pp_client *c, pp_job job, const char *path, pp_error *err);
/* Writes len bytes of data to path the way result files are written: a
 * temporary file beside path, fsynced, renamed over path (an earlier file
 * is replaced only by a whole one). 0, or -1 with err naming the path and
 * the reason. For the host's own result files (decoded images, say). */
int pp_write_file(pp_client *c, const char *path, const char *data, size_t len, pp_error *err);
/* Drop the kept results (memory or spool file) but keep the job. */
void pp_job_drop_results(pp_client *c, pp_job job);
/* Forget the job; its handle becomes invalid. */
void pp_job_release(pp_client *c, pp_job job);

/* Feed a callback the service posted (the job object). A callback is a
 * hint, never proof: a job it says is done is downloaded at once (the
 * results are the proof), one it says faulted gets one status request that
 * confirms it; its body never becomes the job's info. 0 if it named a job
 * this client knows, 1 if it is well formed but names no job this client
 * knows (ignored), -1 if malformed (not a JSON object with a valid `id` and
 * a `status`). Duplicates are harmless. */
int pp_feed_callback(pp_client *c, const char *json, size_t len);

/* ---- Callback listener.
 *
 * pp_listen starts an HTTP server (libmicrohttpd) inside the client that
 * takes the service's callbacks and feeds them to the state machine, so a
 * job is known to have ended the moment the service says so. It runs no
 * thread and no loop of its own: it is one more fd the host watches. Its fd
 * (an epoll fd) comes out of pp_take_fd_changes with PP_WANT_READ like a
 * curl socket, pp_socket_action(fd, ...) serves it, pp_timeout_ms includes
 * its deadlines, pp_poll waits on it and pp_perform serves it; a host that
 * drives the core in any of the documented ways serves callbacks unchanged.
 *
 * Answers: a callback (POST to path with a job object) gets 200
 * {"status":"ok"} (a well formed one naming no job of this client gets 200
 * {"status":"ignored"}: retrying it cannot help); a sender outside the
 * allowlist 403, another path 404, another method 405, a body over max_body
 * 413, a body that is not a job object (a JSON object with an id and a
 * status) 400.
 *
 * Jobs submitted with a callback_url that names this listener (its public
 * URL, optionally followed by a query) are still polled, but only as a
 * safety net for lost callbacks: first after max(safety_factor x the
 * expected job time, safety_min_ms), then every half of that. Callbacks
 * also teach the client how long jobs take. */
typedef struct pp_listen_config {
    const char *bind;         /* numeric IPv4 or IPv6 address; NULL = "127.0.0.1" */
    int port;                 /* 0 = a free port (pp_listen_port says which) */
    const char *path;         /* NULL = "/callback" */
    const char *const *allow; /* numeric sender addresses allowed (allow_count
                                 of them); NULL = none given: only a loopback
                                 bind may start without a list */
    size_t allow_count;
    int allow_any;            /* 1: every sender (allow ignored), also on a
                                 public address: anyone who can reach the
                                 port can then make the client download
                                 results early and spend requests */
    size_t max_body;          /* bytes; 0 = 1 MiB */
    const char *public_url;   /* the callback_url to give the service; NULL =
                                 http://bind:port/path */
    unsigned max_connections; /* 0 = 64 */
    long safety_min_ms;       /* 0 = 30000 */
    double safety_factor;     /* 0 = 3 */
} pp_listen_config;

void pp_listen_config_init(pp_listen_config *cfg);
/* Starts the listener. 0, or -1 with err set (its strings belong to the
 * client and stay valid until the next pp_listen call or pp_client_free;
 * err may be NULL). One listener per client. */
int pp_listen(pp_client *c, const pp_listen_config *cfg, pp_error *err);
/* The port it listens on, 0 when not listening. */
int pp_listen_port(pp_client *c);
/* The public callback URL, NULL when not listening. */
const char *pp_listen_url(pp_client *c);
/* Replaces the allowlist of every callback receiver of the client -- the
 * listener and pp_callback_request -- (e.g. after a refresh of the
 * service's callbacker IPs); ips NULL allows every sender. 0, or -1 (bad
 * address: nothing changes) with err set. */
int pp_listen_allow(pp_client *c, const char *const *ips, size_t n, pp_error *err);

/* A callback request that the host's own web server received (an nginx
 * location), judged by the same rules as the listener's: the sender (peer,
 * a numeric address) against the allowlist of pp_listen_allow, the method,
 * the announced length (content_length, -1 if none) and the body against
 * max_body (0 = 1 MiB), then the body itself, which goes to the client as
 * pp_feed_callback's does. Returns the HTTP status to answer with (200,
 * 400, 403, 405, 413) and sets *answer to the JSON body to send (static
 * text). */
int pp_callback_request(pp_client *c, const char *peer, const char *method,
                        long long content_length, const char *body, size_t len, size_t max_body,
                        const char **answer);
/* Stops the listener (pp_client_free does too). Jobs that expected a
 * callback go back to the ordinary poll schedule. */
void pp_listen_stop(pp_client *c);

/* Callbacks the host serves itself (a web server's handler that passes
 * each body to pp_feed_callback, e.g. an nginx location): jobs submitted
 * with a callback_url that names url (exactly, or followed by a query) are
 * polled only as a safety net, as the listener's are: first after
 * max(safety_factor x the expected job time, safety_min_ms), then every
 * half of that (safety_min_ms 0 = 30000, safety_factor 0 = 3). One such URL
 * per client: a new call replaces it (jobs submitted for the old one still
 * expect callbacks); url NULL forgets it, and the jobs that expected
 * callbacks there go back to the ordinary poll schedule. 0, or -1 (not an
 * http(s) URL, negative safety values, no memory) with err set as for
 * pp_listen. */
int pp_expect_callbacks(pp_client *c, const char *url, long safety_min_ms, double safety_factor,
                        pp_error *err);
/* The URL of pp_expect_callbacks, NULL when none. */
const char *pp_expected_callback_url(pp_client *c);

/* ---- Driving. */
#define PP_SOCKET_TIMEOUT (-1)
enum { PP_WANT_READ = 1, PP_WANT_WRITE = 2, PP_EV_ERROR = 4 };

/* fd became ready (events: PP_WANT_READ|PP_WANT_WRITE|PP_EV_ERROR), or
 * fd == PP_SOCKET_TIMEOUT when the host's timer fired. 0 or -1. */
int pp_socket_action(pp_client *c, int fd, int events, pp_error *err);
/* Milliseconds until the core needs a call (a curl timeout, a retry, a
 * poll); -1 when nothing is due; 0 when it needs one now. */
long pp_timeout_ms(pp_client *c);

typedef struct pp_fd_change {
    int fd;
    int events; /* PP_WANT_READ|PP_WANT_WRITE; 0 = stop watching */
} pp_fd_change;
/* Fd interest changes since the last call, oldest first. Returns how many
 * were written to out (at most max); call again while it returns max. */
size_t pp_take_fd_changes(pp_client *c, pp_fd_change *out, size_t max);

/* Non-blocking step: progress every transfer and run what is due. */
int pp_perform(pp_client *c, pp_error *err);
/* The one blocking call: waits up to ms (capped by pp_timeout_ms) for I/O,
 * then pp_perform. ms < 0: until the core's next deadline (at most 1 s if
 * none). */
int pp_wait(pp_client *c, int ms, pp_error *err);

/* Number of transfers in flight plus work scheduled (polls, retries). */
size_t pp_busy(pp_client *c);

typedef enum pp_event_kind { PP_EVENT_JOB = 1, PP_EVENT_OP = 2 } pp_event_kind;
typedef struct pp_event {
    pp_event_kind kind;
    pp_job job;     /* PP_EVENT_JOB: the job that changed state */
    pp_state state; /* its new state */
    pp_op op;       /* PP_EVENT_OP: the operation that finished */
} pp_event;
/* Events since the last call, oldest first; as pp_take_fd_changes. */
size_t pp_take_events(pp_client *c, pp_event *out, size_t max);

/* ---- The journal (pp_config.journal).
 *
 * Every submission is recorded with its parameters before it is sent (the
 * record is durable -- fsynced -- before the request leaves), then every
 * id an answer gives, every job's end and the file its results went to.
 * Writes are grouped: one transaction per engine step. After a crash a new
 * client on the same file resumes: jobs with ids are polled again (or, when
 * their result file is there, come back fetched), and submissions whose
 * answer was lost are reported, never sent again.
 *
 * Several processes of one host may share one journal: each finished job
 * is handed out (pp_claim) to one of them only, while it runs; a job held
 * by a process that died before it was done with it (pp_journal_handed)
 * is handed out again. A journal made for another
 * username or base_url, one written by a newer version, a damaged file or
 * one that cannot be written make pp_client_new fail with the reason.
 *
 * The calls below are operations: the journal's store may answer later
 * (driven like requests); their results are read with pp_op_entries once
 * pp_op_done. Without a journal they fail with an error. */
typedef struct pp_journal_entry {
    int64_t key;              /* the job's key in the journal */
    pp_job job;               /* pp_resume: the job (0: a lost submission);
                                 pp_claim: the job claimed */
    const char *id;           /* NULL when no answer gave one */
    pp_state state;           /* as last recorded */
    int sent;                 /* 0: its submission provably never left */
    int handed;               /* handed out already; pp_claim: 1 when this
                                 process got it */
    const char *tag;          /* NULL when none */
    const char *params;       /* the job's own parameters (JSON): a batch's
                                 list replaced by this job's value */
    const char *results_path; /* the result file, NULL if none */
    const char *error;        /* why it ended badly, NULL otherwise */
} pp_journal_entry;

typedef struct pp_journal_query {
    unsigned states; /* a bit (1u << state) per state wanted; 0 = all */
    const char *tag; /* NULL = every tag */
    int all;         /* 1: jobs handed out already too */
} pp_journal_query;

/* The journal's jobs (q NULL: all), in the order they were submitted. */
pp_op pp_journal_list(pp_client *c, const pp_journal_query *q, pp_error *err);
/* Brings back the journal's jobs not handed out yet (q->all: every one;
 * q->tag: those of a tag; q->states is ignored): jobs with an id become
 * jobs of this client again -- pending ones watched, fetched ones with
 * their result file on disk as they were, the others pending again so
 * their results are fetched; rejected ones as they ended. Submissions
 * whose answer was lost come back as entries with job 0, at every resume
 * until they are sent again (pp_submit_opts.replaces) or dismissed
 * (pp_journal_dismiss).
 * Jobs this client or another live process is still submitting are left
 * alone. */
pp_op pp_resume(pp_client *c, const pp_journal_query *q, pp_error *err);
/* Hands the jobs out to this process: entry i says whether it got jobs[i]
 * (handed 1) or another process had it first (0). A job that is not in
 * the journal is always got. */
pp_op pp_claim(pp_client *c, const pp_job *jobs, size_t n, pp_error *err);
/* The process is done with a job pp_claim gave it: the job is handed out
 * for good (stored with the engine step's writes). Until then it is held
 * by this process, and a resume after the process died -- the job given
 * to code that never finished with it -- brings it back. 0 (also for a job
 * outside the journal), -1 when the journal cannot record it. */
int pp_journal_handed(pp_client *c, pp_job job, pp_error *err);
/* Drops the jobs of tag (NULL: those without one) and their submissions
 * from the journal. Without force, fails (with the reason, nothing
 * dropped) while one of them is not handed out for good: pending, or
 * finished and not handed out yet. */
pp_op pp_journal_forget(pp_client *c, const char *tag, int force, pp_error *err);
/* Hands out lost submissions (their keys) that are not to be sent again:
 * resume stops reporting them. */
pp_op pp_journal_dismiss(pp_client *c, const int64_t *keys, size_t n, pp_error *err);
/* Whether the journal can record submissions: 1 yes, 0 not yet (a Redis
 * store first takes a number for this process from the server: drive the
 * client until it says 1 before submitting), -1 no journal. */
int pp_journal_ready(pp_client *c);
/* Why a Redis journal's store cannot be reached: the last connection's
 * error ("" when none, or without a Redis journal). *refused (when not
 * NULL) says 1 when the server was reached but TLS failed on certificates
 * (the server's did not verify, or it refused this client's), which no
 * retry mends; the client keeps trying all the same. */
const char *pp_journal_error(pp_client *c, int *refused);
/* A Redis journal: claims up to max finished jobs of tag (NULL: untagged)
 * that no process has handed out, each with a lease renewed while this
 * client runs; with pending set, adopts instead up to max pending jobs
 * whose poller stopped renewing its lease (it died), to poll them here.
 * The entries are as pp_resume's (the jobs become this client's);
 * pp_op_remaining then says how many jobs of the tag are not handed out
 * yet (0: all were). Fails without a Redis journal. */
pp_op pp_fleet_claim(pp_client *c, const char *tag, long max, int pending, pp_error *err);
/* Ends this process' claim of a job: handed out for good (handed 1), or
 * claimable again by any process (0). The release is stored with the
 * engine step's writes (the releases of a step in one script call), or at
 * once when a claim waiting in it has less than half a lease left; until
 * then the claim stays this process' (a process that dies first loses the
 * job with its lease: it is handed out again). 0 / -1. */
int pp_fleet_release(pp_client *c, pp_job job, int handed);
/* Sends the releases (and the other writes) waiting for the engine step
 * now: before the process ends, or leaves the loop. */
void pp_fleet_flush(pp_client *c);
/* 1 while this process surely still holds its claim of the job (its last
 * claim or renewal was answered, and a quarter of the lease counted from
 * its sending is still to run): only then may it be handed to the user;
 * 0 otherwise. */
int pp_fleet_holds(pp_client *c, pp_job job);
/* Keeps the client busy for ms with a timer that does nothing: a process
 * whose claims came back empty while other processes still hold the tag's
 * jobs waits that long in its driver (which sleeps until the client's next
 * deadline) before it asks the store again. Without it a client with
 * nothing in flight is idle, every wait ends at once, and the claims go
 * out back to back. 0 / -1. */
int pp_fleet_nap(pp_client *c, long ms);
/* pp_fleet_claim: the tag's jobs not handed out yet; -1 otherwise. */
long pp_op_remaining(pp_client *c, pp_op op);
/* The entries of a finished journal operation (valid until pp_op_free). */
const pp_journal_entry *pp_op_entries(pp_client *c, pp_op op, size_t *count);

/* ---- Counters, for tests and benchmarks. */
typedef struct pp_stats {
    uint64_t requests; /* HTTP requests sent, retries included */
    uint64_t retries;
    uint64_t submitted; /* jobs the service accepted */
    uint64_t polls;     /* status/results polls */
    uint64_t bytes_in;
    /* Callback listener (pp_listen): callbacks answered 200, and requests
     * refused with a 4xx (sender not allowed, wrong path or method, body too
     * large or not a job object). */
    uint64_t callbacks_received;
    uint64_t callbacks_rejected;
} pp_stats;
void pp_get_stats(pp_client *c, pp_stats *out);

#ifdef __cplusplus
}
#endif
#endif
