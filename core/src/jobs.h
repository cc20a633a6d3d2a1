/*
 * The jobs layer: job records and the table that finds them by handle or
 * by id (jobs.c), the state machine -- the only place a job changes, and
 * where every change is published (state.c) -- and the storage of results
 * in memory, spool files and result files (results.c). Not installed.
 */
#ifndef PP_JOBS_H
#define PP_JOBS_H

#include "answers.h"
#include "plan.h"

/* Where a job's callback comes in (pp_jobrec.cb_expected). */
enum { PP_CB_NONE = 0, PP_CB_LISTENER = 1, PP_CB_EXTERNAL = 2 };

typedef struct pp_jobrec {
    pp_job h;
    pp_state state;
    char *id;
    char *info; /* the last job object the service sent in
                   answer to one of our requests (jobs.c:
                   pp_info_*), in memory... */
    size_t info_len;
    int64_t info_at; /* ... or at this offset of the info spool */
    pp_error err;
    /* results */
    const char *results_dir;  /* where <id>.json goes, NULL for memory */
    const char *results_type; /* ?type= of the results polls, NULL = default */
    /* (both shared: pp_jobtab_intern) */
    pc_buf results;        /* kept in memory (counted in the budget) */
    char *results_path;    /* a file holding them: a spool file or where
                              save_results put them */
    int results_temporary; /* results_path is a spool file */
    int results_in_dir;    /* they are in the result file, <results_dir>/
                              <id>.json, named when asked for */
    /* scheduling (client.h owns these) */
    uint64_t pending_at; /* when it was submitted (the service starts it
                            then) or attached */
    double last_pending; /* its age when a poll last found it pending */
    pp_timer timer;      /* next poll */
    pp_plan_job pj;      /* what the poll plan remembers of it */
    long interval;       /* the safety net's interval (callbacks) */
    /* flags in bytes: a workflow holds tens of thousands of records */
    unsigned char watched;
    unsigned char cb_expected;   /* PP_CB_*: polls are only a safety net */
    int bare_204s;               /* consecutive 204s without a status header */
    unsigned char status_next;   /* the next poll is a status GET */
    unsigned char confirm_fault; /* a faulted claim awaits the status GET */
    int lags;                    /* results said 204 after a done: backoff step */
    uint64_t hint_at;            /* when a callback last made it poll early */
    unsigned char hint_poll;     /* the poll in flight was made by a callback */
    unsigned char poll_status;   /* the poll in flight is a status GET */
    unsigned char recheck;       /* a callback came while a poll was out */
    pp_req *poll_req;            /* a poll or download in flight */
    char *poll_tmp;              /* that download's temporary file */
    int64_t jkey;                /* its key in the journal, 0 when not journaled */
} pp_jobrec;

/* A published change: called after a job moved from `from` to its state. */
typedef void (*pp_change_fn)(void *ud, pp_jobrec *j, pp_state from);
#define PP_MAX_HOOKS 4

typedef struct pp_idmap {
    uint32_t *slots; /* job handles; 0 empty, UINT32_MAX deleted */
    size_t cap, used, live;
} pp_idmap;

typedef struct pp_jobtab {
    pp_jobrec **v;
    size_t n, cap, live;
    pp_idmap ids;
    const char *base_url; /* for cleaning links (the transport's copy) */
    pp_evq *events;       /* the host's queue */
    struct {
        pp_change_fn fn;
        void *ud;
    } hooks[PP_MAX_HOOKS];
    size_t nhooks;
    /* results in memory: bytes held and the budget past which they spool */
    size_t buffered, budget;
    char *spool_dir; /* where spool files go (created lazily) */
    /* job infos: bytes held in memory, the share of the budget they may
     * hold, and the file the rest goes to */
    size_t info_held, info_budget;
    int info_fd; /* -1 until the first info spills */
    uint64_t info_end;
    pc_buf info_read;   /* the last info read back from the file */
    char *spool_parent; /* the folder the spool folder is made in */
    uint64_t spool_seq;
    /* folders result files were renamed into during this engine step,
     * synced once at its end (pp_results_sync_dirs) */
    char *renamed_dirs[4];
    size_t nrenamed;
    /* strings many jobs share (results folders, result types), kept for
     * the table's life: one copy, not one per job */
    char **shared;
    size_t nshared, shared_cap;
    pc_buf where; /* the last name pp_results_where made */
} pp_jobtab;

/* ---- jobs.c */
pp_jobrec *pp_job_get(pp_jobtab *t, pp_job h);
pp_jobrec *pp_job_create(pp_jobtab *t); /* state new */
pp_jobrec *pp_job_find_id(pp_jobtab *t, const char *id);
/* Frees a record (its poll request is told to drop its answer). */
void pp_job_destroy(pp_jobtab *t, pp_jobrec *j);
void pp_jobtab_free(pp_jobtab *t);
/* The table's copy of s (made on first use); NULL on no memory. */
const char *pp_jobtab_intern(pp_jobtab *t, const char *s);

/* Keeps text (len bytes, taken over) as the job's info: in memory while
 * infos hold less than their share of the budget, else in the info spool
 * file (a 50,000-job workflow would hold 70 MB of them). */
void pp_info_set(pp_jobtab *t, pp_jobrec *j, char *text, size_t len);
/* The job's info, NULL if none; valid until the next pp_info_get. */
const char *pp_info_get(pp_jobtab *t, pp_jobrec *j, size_t *len);

/* ---- state.c: every change of a job goes through these */
int pp_transition_allowed(pp_state from, pp_state to);
int pp_jobtab_hook(pp_jobtab *t, pp_change_fn fn, void *ud); /* 0 / -1 */
/* new -> submitting */
void pp_state_submitting(pp_jobtab *t, pp_jobrec *j);
/* A submission answer named this job: it gets its id and info and becomes
 * pending. -1 when the id already belongs to another job of this client (a
 * broken answer): nothing changes, the caller makes the job unknown. */
int pp_state_accepted(pp_jobtab *t, pp_jobrec *j, const char *id, json_t *obj);
/* attach: new -> pending with a known id (0 / -1 on no memory). */
int pp_state_attached(pp_jobtab *t, pp_jobrec *j, const char *id);
/* The submission failed: rejected or unknown, with its error. */
void pp_state_refused(pp_jobtab *t, pp_jobrec *j, pp_state to, const pp_error *e);
/* A verdict about a job with an id. results: the download's memory body
 * (moved into the job) or, with tmp_fd >= 0, its temporary file tmp_path
 * (committed to the job's result file or kept as spool). Returns the new
 * state. */
pp_state pp_state_apply(pp_jobtab *t, pp_jobrec *j, const pp_verdict *v, const pp_answer *a,
                        pc_buf *results, int tmp_fd, char **tmp_path);
/* A download of a done job started / gave nothing: done <-> fetching. */
void pp_state_fetching(pp_jobtab *t, pp_jobrec *j);
void pp_state_fetch_failed(pp_jobtab *t, pp_jobrec *j, const pp_error *e);
/* The results could not be stored: fetching -> failed, with e. */
void pp_state_store_failed(pp_jobtab *t, pp_jobrec *j, const pp_error *e);
/* A new job comes back from the journal with its id, in state `to`:
 * pending, fetched (its results in the file at results_path), faulted or
 * expired (with error). 0, or -1 (the id is taken, no memory). */
int pp_state_restored(pp_jobtab *t, pp_jobrec *j, const char *id, pp_state to,
                      const char *results_path, const char *error);

/* ---- results.c */
/* 0 when dir is a folder results can be written to; -1 with err set. */
int pp_results_dir_check(const char *dir, pp_error *err);
/* A new temporary file beside where the job's results will go (the result
 * folder, else the spool folder): its fd, and its path in *path (owned by
 * the caller); -1 with errno set. */
int pp_results_tmp_open(pp_jobtab *t, const pp_jobrec *j, char **path);
/* Closes a written temporary file, made durable first (fsync) when it is
 * to stay: a result file, not a spool file. 0, or an errno. */
int pp_results_tmp_finish(int fd, int durable);
/* Moves the file at *tmp to final (rename). 0 or an errno; *tmp is freed
 * either way (the file removed on failure). */
int pp_results_commit(char **tmp, const char *final);
/* The result file of a job: <results_dir>/<id>.json (allocated). */
char *pp_results_file(const pp_jobrec *j);
/* The file holding the job's results (see pp_job_results_path), NULL if
 * none; valid until the next call. */
const char *pp_results_where(pp_jobtab *t, const pp_jobrec *j);
/* Writes data to a temporary file beside path, fsynced, renamed to path.
 * 0 or an errno. */
int pp_results_write(const char *path, const char *data, size_t len);
/* Drops the job's results: memory (and its budget) and a spool file. */
void pp_results_drop(pp_jobtab *t, pp_jobrec *j);
/* Puts the job's results at path: renames a spool file, writes the memory
 * copy atomically, or copies the file they are in. 0, or -1 with err. */
int pp_results_save(pp_jobtab *t, pp_jobrec *j, const char *path, pp_error *err);
/* A result file was renamed into dir: the folder's entry is made durable
 * at the end of the step, once for all the files of the step. */
void pp_results_renamed(pp_jobtab *t, const char *dir);
/* Syncs the folders of pp_results_renamed (the end of an engine step). */
void pp_results_sync_dirs(pp_jobtab *t);
/* The spool folder, made on first use; NULL when it cannot be made. */
const char *pp_spool_dir(pp_jobtab *t);
/* Removes the spool folder (client teardown). */
void pp_results_cleanup(pp_jobtab *t);

#endif
