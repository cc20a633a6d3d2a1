/*
 * The job store: where the journal keeps what it must not lose (every
 * submission before it is sent, every id an answer gave, every change of
 * state, where results were written, who a finished job was handed to).
 * A backend is a table of functions (pp_store_ops) behind a handle whose
 * first member points at it; the journal (journal.c) uses nothing else, so
 * a new backend is a new file. SQLite (store_sqlite.c) is the first.
 *
 * Writes join the current group and cost no I/O of their own; flush ends
 * the group (the journal flushes once per engine step, and before each
 * submission leaves). Every call that reads, claims or flushes names a
 * completion: a backend that finishes at once (SQLite) calls it before
 * returning; one that waits on a server (Redis) calls it later, from run(),
 * which the host loop drives through fd(). Only pure leaf code here: no
 * jobs, no client.
 */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pushpull.h" /* pp_state */

#define PP_STORE_SCHEMA 1 /* the newest schema this code reads and writes */

typedef struct pp_store pp_store;

/* One journaled job, as list() reports it. Strings are valid during the
 * call only. */
typedef struct pp_store_row {
    int64_t key;          /* the job's key in the store (> 0) */
    const char *id;       /* the service's id, NULL until an answer gave one */
    int state;            /* pp_state, as last recorded */
    int sent;             /* its submission may have left (1), or
                             provably did not (0) */
    int handed;           /* 1: handed out for good; 0: not handed out;
                             -pid: held by process pid, which may die
                             before it is done with the job */
    const char *tag;      /* NULL when none */
    const char *params;   /* the submission's job object (JSON), without
                             the list when it was a batch */
    const char *list_key; /* "url" or "query" for a batch, else NULL */
    const char *value;    /* this job's value of the list (JSON), or NULL */
    const char *results_dir, *results_type, *results_path;
    const char *error; /* why it ended badly, NULL when it did not */
    long pid;          /* the process that recorded the submission */
} pp_store_row;

/* What list() selects: states (a bit per pp_state; 0: all), a tag (NULL:
 * any), and only jobs not handed out yet. */
typedef struct pp_store_filter {
    unsigned states;
    const char *tag;
    int unhanded;
} pp_store_filter;

/* A completion: rc 0, or -1 with why (valid during the call). */
typedef void (*pp_store_done_fn)(void *ud, int rc, const char *why);
/* A row of list(); return nonzero to stop early. */
typedef int (*pp_store_row_fn)(void *ud, const pp_store_row *row);

/* The functions a backend provides. The write functions return 0 or -1
 * (why in *why, static or owned by the store until its next call). The
 * others return 0 once their completion has run (its rc says how it went;
 * without a completion, 0 means it went well), 1 when the completion will
 * run later (from run()), -1 when it failed and no completion will run
 * (why set). */
typedef struct pp_store_ops {
    const char *name;
    /* A submission: its job object (without the list), the list's key or
     * NULL, tag, where results go; its key in *sub. The store notes the
     * process that made it (pp_store_row.pid). */
    int (*submission)(pp_store *s, const char *params, const char *list_key, const char *tag,
                      const char *results_dir, const char *results_type, int64_t *sub,
                      const char **why);
    /* One job of it, with its value of the list (JSON) or NULL; its key. */
    int (*job)(pp_store *s, int64_t sub, const char *value, int64_t *key, const char **why);
    /* The job's submission is about to leave. */
    int (*sending)(pp_store *s, int64_t key, const char **why);
    /* An answer gave the job its id (its state is then pending). */
    int (*answer)(pp_store *s, int64_t key, const char *id, const char **why);
    /* The job moved to state; error is why, when it ended badly. */
    int (*transition)(pp_store *s, int64_t key, int state, const char *error, const char **why);
    /* Gives back a claim of this process (the job is not handed out). */
    int (*unclaim)(pp_store *s, int64_t key, const char **why);
    /* A job this process holds (claim without hold) is handed out for good:
     * the process is done with it. Nothing when it does not hold it. */
    int (*handed)(pp_store *s, int64_t key, const char **why);
    /* Gives back the hold of process pid on the job (it died before it
     * was done with it), if pid still holds it. */
    int (*unhold)(pp_store *s, int64_t key, long pid, const char **why);
    /* The job was fetched: its results are in the file at path (NULL:
     * in memory, gone with the process). */
    int (*result)(pp_store *s, int64_t key, const char *path, const char **why);
    /* Ends the group: done(ud, 0) once every write before it is stored --
     * durable (on disk) when durable is set, else at least out of this
     * process. done may be NULL. */
    int (*flush)(pp_store *s, int durable, pp_store_done_fn done, void *ud, const char **why);
    /* Claims n jobs for this process, each for one process only: got[i]
     * is 1 when this process got keys[i] (it was not handed out before).
     * hold: the claims join the current group (stored with the writes
     * around them, or not at all) and hand the jobs out for good; else
     * they are stored now and this process holds the jobs (handed -pid)
     * until handed() -- a store that cannot tell a hold from a hand-out
     * hands them out for good. keys and got
     * stay the caller's until the completion ran. */
    int (*claim)(pp_store *s, const int64_t *keys, size_t n, int hold, unsigned char *got,
                 pp_store_done_fn done, void *ud, const char **why);
    /* The jobs f selects, in the order they were submitted (resume uses
     * f->unhanded); each() for each, then done(). */
    int (*list)(pp_store *s, const pp_store_filter *f, pp_store_row_fn each, pp_store_done_fn done,
                void *ud, const char **why);
    /* Drops the jobs of tag (NULL: those without one) and their
     * submissions from the store. Without force, refused (-1, nothing
     * dropped) while one of them is not handed out for good (pending, or
     * finished and not handed out yet). */
    int (*forget)(pp_store *s, const char *tag, int force, pp_store_done_fn done, void *ud,
                  const char **why);
    /* The fd the host loop watches for completions, -1 when every call
     * completes at once; run() makes progress on it. */
    int (*fd)(pp_store *s);
    void (*run)(pp_store *s);
    /* Ends what is pending (completions are not called) and frees. */
    void (*close)(pp_store *s);
} pp_store_ops;

struct pp_store {
    const pp_store_ops *ops;
};

/* ---- store_sqlite.c */
/* Opens (or makes) the journal at path for owner (a hash naming the
 * account: another owner's journal is refused). NULL with a message in
 * why[0..whylen) when it cannot be used: written by a newer version, not a
 * journal, corrupt, not writable, another account's. */
pp_store *pp_store_sqlite_open(const char *path, const char *owner, char *why, size_t whylen);
/* Jobs in a final state handed out for good are deleted retention_ms
 * after (0: kept forever, as after opening), and a submission with its
 * last job; pending jobs and jobs not handed out are always kept. */
void pp_store_sqlite_set_retention(pp_store *s, long retention_ms);

#endif
