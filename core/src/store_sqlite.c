/* The SQLite backend of the job store: one file in WAL mode, shared by the
 * processes of one host (SQLite's locks; a busy process waits up to
 * BUSY_MS). Writes gather in one transaction until flush; a durable flush
 * commits with synchronous=FULL (the WAL is fsynced), the others with
 * NORMAL (in the OS cache: they survive the process, not the machine).
 * Every call completes before it returns.
 *
 * Retention: a hand-out for good is noted with its time (`retired`; a job
 * given back leaves it); a flush or a listing that comes after the
 * retention's half has passed deletes the jobs noted before the retention
 * that are in a final state, and a submission with its last job. The
 * journal hands out ended jobs, so the time of the hand-out is the time
 * both were true. The table and its indexes are made if missing: a
 * journal of schema 1 stays one. One row written per hand-out, nothing
 * per change of state: triggers, or a conditional insert at each end,
 * cost the journal half again as much; this costs it a fifth (some 18,000
 * instructions a job, bench/run.sh instructions-journal). */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The server's clock in ms, as SQL. */
#define NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
#define BUSY_MS 10000
#define EXPIRE_EVERY_MS 600000 /* retention's passes, at most this far apart */
#define CACHE_KB "64"
/* How long an empty file may wait for the process that made it. */
#define EMPTY_TRIES 20
#define EMPTY_WAIT_MS 50

enum {
    S_SUB,
    S_JOB,
    S_SENDING,
    S_ANSWER,
    S_STATE,
    S_UNCLAIM,
    S_RESULT,
    S_CLAIM,
    S_HANDED,
    S_UNHOLD,
    S_LIST,
    S_RETIRE, /* %d: the final states, filled in when prepared */
    S_UNRETIRE,
    S_BEGIN,  /* the group's transaction, prepared once: parsing them at */
    S_COMMIT, /* every engine step and hand-out cost more than the writes */
    S_ROLLBACK,
    S_COUNT
};

static const char *const sql[S_COUNT] = {
    [S_SUB] = "INSERT INTO submissions(params, list_key, tag, results_dir, results_type, pid)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_JOB] = "INSERT INTO jobs(sub, value, state) VALUES (?1, ?2, 0)",
    /* updates: ?1 the job, ?2 its state, ?3 a text */
    [S_SENDING] = "UPDATE jobs SET sent = 1, state = ?2 WHERE key = ?1",
    [S_ANSWER] = "UPDATE jobs SET id = ?3, state = ?2 WHERE key = ?1",
    [S_STATE] = "UPDATE jobs SET state = ?2, error = ?3 WHERE key = ?1",
    [S_RESULT] = "UPDATE jobs SET results_path = ?3, state = ?2 WHERE key = ?1",
    [S_UNCLAIM] = "UPDATE jobs SET handed = 0 WHERE key = ?1",
    /* ?2: 1 (handed out for good) or -pid (held by process pid) */
    [S_CLAIM] = "UPDATE jobs SET handed = ?2 WHERE key = ?1 AND handed = 0",
    [S_HANDED] = "UPDATE jobs SET handed = 1 WHERE key = ?1 AND handed = -?2",
    [S_UNHOLD] = "UPDATE jobs SET handed = 0 WHERE key = ?1 AND handed = -?2",
    [S_LIST] = "SELECT j.key, j.id, j.state, j.sent, j.handed, s.tag, s.params, s.list_key,"
               " j.value, s.results_dir, s.results_type, j.results_path, j.error, s.pid"
               " FROM jobs j JOIN submissions s ON s.sub = j.sub"
               " WHERE (?1 = 0 OR j.handed <= 0) AND (?2 IS NULL OR s.tag = ?2)"
               " ORDER BY j.key",
    [S_RETIRE] = "INSERT OR REPLACE INTO retired(key, at) VALUES (?1, " NOW_MS ")",
    [S_UNRETIRE] = "DELETE FROM retired WHERE key = ?1",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

static const char schema[] =
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE submissions(sub INTEGER PRIMARY KEY, params TEXT NOT NULL, list_key TEXT,"
    " tag TEXT, results_dir TEXT, results_type TEXT, pid INTEGER);"
    "CREATE TABLE jobs(key INTEGER PRIMARY KEY, sub INTEGER NOT NULL REFERENCES submissions,"
    " value TEXT, id TEXT, state INTEGER NOT NULL, sent INTEGER NOT NULL DEFAULT 0,"
    " handed INTEGER NOT NULL DEFAULT 0, results_path TEXT, error TEXT);"
    "CREATE INDEX submissions_tag ON submissions(tag);";

static const char retention_schema[] =
    "CREATE TABLE IF NOT EXISTS retired(key INTEGER PRIMARY KEY, at INTEGER NOT NULL);"

    "CREATE INDEX IF NOT EXISTS jobs_sub ON jobs(sub);";

/* A job that goes: handed out before ?1 (the oldest time kept, ms) and
 * in a final state (%d: filled in when prepared). */
#define DUE(j, r) "(" r ".at < ?1 AND " j ".handed = 1 AND " j ".state IN (%d, %d, %d, %d, %d, %d))"

/* Submissions first: those whose every job goes, go now. The notes of
 * jobs not ended yet stay. */
static const char *const expire_sql[] = {
    "DELETE FROM submissions WHERE sub IN (SELECT j.sub FROM retired r JOIN jobs j"
    " ON j.key = r.key WHERE " DUE(
        "j", "r") ") AND NOT EXISTS (SELECT 1 FROM jobs j"
                  " LEFT JOIN retired r ON r.key = j.key WHERE j.sub = submissions.sub"
                  " AND (r.at IS NULL OR NOT " DUE("j", "r") "))",
    "DELETE FROM jobs WHERE key IN (SELECT r.key FROM retired r JOIN jobs j ON j.key = r.key"
    " WHERE " DUE("j", "r") ")",
    "DELETE FROM retired WHERE at < ?1 AND key NOT IN (SELECT key FROM jobs)",
};

typedef struct sq_store {
    pp_store base;
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    int in_tx;
    long retention_ms;    /* 0: kept forever */
    uint64_t next_expire; /* pp_now_ms() of the next deletion of what expired */
    char why[512];
} sq_store;

static const char *fail_db(sq_store *s, const char *what)
{
    snprintf(s->why, sizeof s->why, "journal: %s: %s", what, sqlite3_errmsg(s->db));
    return s->why;
}

/* Runs one of the transaction statements. */
static int exec(sq_store *s, int which, const char **why)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && why)
        *why = fail_db(s, sql[which]);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Every write runs inside the group's transaction, taken with the write
 * lock at once (IMMEDIATE: two processes never deadlock upgrading). */
static int group(sq_store *s, const char **why)
{
    if (s->in_tx)
        return 0;
    if (exec(s, S_BEGIN, why) < 0)
        return -1;
    s->in_tx = 1;
    return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Runs a bound write statement; 0 / -1. */
static int step_write(sq_store *s, sqlite3_stmt *st, const char *what, const char **why)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        *why = fail_db(s, what);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return 0;
}

static int sq_submission(pp_store *ps, const char *params, const char *list_key, const char *tag,
                         const char *results_dir, const char *results_type, int64_t *sub,
                         const char **why)
{
    sq_store *s = (sq_store *)ps;
    sqlite3_stmt *st = s->st[S_SUB];
    if (group(s, why) < 0)
        return -1;
    if (bind_text(st, 1, params) || bind_text(st, 2, list_key) || bind_text(st, 3, tag) ||
        bind_text(st, 4, results_dir) || bind_text(st, 5, results_type) ||
        sqlite3_bind_int64(st, 6, (sqlite3_int64)getpid())) {
        *why = fail_db(s, "recording a submission");
        return -1;
    }
    if (step_write(s, st, "recording a submission", why) < 0)
        return -1;
    *sub = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static int sq_job(pp_store *ps, int64_t sub, const char *value, int64_t *key, const char **why)
{
    sq_store *s = (sq_store *)ps;
    sqlite3_stmt *st = s->st[S_JOB];
    if (group(s, why) < 0)
        return -1;
    if (sqlite3_bind_int64(st, 1, sub) || bind_text(st, 2, value)) {
        *why = fail_db(s, "recording a job");
        return -1;
    }
    if (step_write(s, st, "recording a job", why) < 0)
        return -1;
    *key = sqlite3_last_insert_rowid(s->db);
    return 0;
}

/* One of the updates of a job. */
static int update(sq_store *s, int which, int64_t key, int state, const char *text,
                  const char *what, const char **why)
{
    sqlite3_stmt *st = s->st[which];
    if (group(s, why) < 0)
        return -1;
    int params = sqlite3_bind_parameter_count(st);
    if (sqlite3_bind_int64(st, 1, key) || (params >= 2 && sqlite3_bind_int(st, 2, state)) ||
        (params >= 3 && bind_text(st, 3, text))) {
        *why = fail_db(s, what);
        return -1;
    }
    return step_write(s, st, what, why);
}

/* A hand-out for good noted with its time (S_RETIRE), or its note
 * dropped (S_UNRETIRE). Noted whatever this process' retention: another
 * sharing the file may delete by it. */
static int retire(sq_store *s, int which, int64_t key, const char **why)
{
    sqlite3_stmt *st = s->st[which];
    if (sqlite3_bind_int64(st, 1, key)) {
        *why = fail_db(s, "noting a job's hand-out");
        return -1;
    }
    return step_write(s, st, "noting a job's hand-out", why);
}

static int sq_sending(pp_store *ps, int64_t key, const char **why)
{
    return update((sq_store *)ps, S_SENDING, key, PP_SUBMITTING, NULL, "recording a sending", why);
}

static int sq_answer(pp_store *ps, int64_t key, const char *id, const char **why)
{
    return update((sq_store *)ps, S_ANSWER, key, PP_PENDING, id, "recording an answer", why);
}

static int sq_transition(pp_store *ps, int64_t key, int state, const char *error, const char **why)
{
    return update((sq_store *)ps, S_STATE, key, state, error, "recording a change", why);
}

static int sq_unclaim(pp_store *ps, int64_t key, const char **why)
{
    sq_store *s = (sq_store *)ps;
    if (update(s, S_UNCLAIM, key, 0, NULL, "giving back a claim", why) < 0)
        return -1;
    return retire(s, S_UNRETIRE, key, why);
}

/* handed / unhold: a change of the job's hand-out while process pid holds
 * it. */
static int held(pp_store *ps, int which, int64_t key, long pid, const char *what, const char **why)
{
    sq_store *s = (sq_store *)ps;
    sqlite3_stmt *st = s->st[which];
    if (group(s, why) < 0)
        return -1;
    if (sqlite3_bind_int64(st, 1, key) || sqlite3_bind_int64(st, 2, (sqlite3_int64)pid)) {
        *why = fail_db(s, what);
        return -1;
    }
    return step_write(s, st, what, why);
}

static int sq_handed(pp_store *ps, int64_t key, const char **why)
{
    if (held(ps, S_HANDED, key, (long)getpid(), "recording a hand-out", why) < 0)
        return -1;
    return retire((sq_store *)ps, S_RETIRE, key, why);
}

static int sq_unhold(pp_store *ps, int64_t key, long pid, const char **why)
{
    /* a job held (handed -pid) was never retired */
    return held(ps, S_UNHOLD, key, pid, "giving back a dead process' job", why);
}

static int sq_result(pp_store *ps, int64_t key, const char *path, const char **why)
{
    return update((sq_store *)ps, S_RESULT, key, PP_FETCHED, path, "recording a result file", why);
}

/* Makes every commit so far durable: an fsync of the WAL (commits under
 * synchronous=NORMAL are written to it, not synced). */
static int sync_wal(sq_store *s, const char **why)
{
    sqlite3_file *wal = NULL;
    if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
        !wal || !wal->pMethods)
        return 0; /* no WAL open: the commit wrote the database itself */
    if (wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) == SQLITE_OK)
        return 0;
    if (why) {
        snprintf(s->why, sizeof s->why, "journal: cannot sync its log: %s", strerror(errno));
        *why = s->why;
    }
    return -1;
}

static int commit(sq_store *s, int durable, const char **why)
{
    int rc = 0;
    if (s->in_tx) {
        rc = exec(s, S_COMMIT, why);
        if (rc < 0)
            (void)exec(s, S_ROLLBACK, NULL);
        s->in_tx = 0;
    }
    if (rc == 0 && durable)
        rc = sync_wal(s, why);
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Deletes what expired, in a transaction of its own, when half the
 * retention (at most EXPIRE_EVERY_MS) has passed since it last did. A pass
 * reads the whole of `retired` (a retention's hand-outs, 16 bytes each):
 * an index on the time would cost every hand-out as much as the pass
 * costs in ten minutes. */
static int expire(sq_store *s, const char **why)
{
    if (s->retention_ms <= 0 || s->in_tx || now_ms() < s->next_expire)
        return 0;
    long every = s->retention_ms / 2 < EXPIRE_EVERY_MS ? s->retention_ms / 2 : EXPIRE_EVERY_MS;
    s->next_expire = now_ms() + (uint64_t)every;
    char q[96];
    snprintf(q, sizeof q, "SELECT " NOW_MS " - %ld", s->retention_ms);
    sqlite3_stmt *st = NULL;
    sqlite3_int64 oldest = 0;
    int rc =
        sqlite3_prepare_v2(s->db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW
            ? 0
            : -1;
    if (rc == 0)
        oldest = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (rc < 0 || group(s, why) < 0) {
        if (rc < 0)
            *why = fail_db(s, "deleting expired jobs");
        return -1;
    }
    for (size_t i = 0; rc == 0 && i < sizeof expire_sql / sizeof *expire_sql; i++) {
        char text[1024];
        snprintf(text, sizeof text, expire_sql[i], PP_FAULTED, PP_FETCHED, PP_REJECTED, PP_UNKNOWN,
                 PP_EXPIRED, PP_FAILED, PP_FAULTED, PP_FETCHED, PP_REJECTED, PP_UNKNOWN, PP_EXPIRED,
                 PP_FAILED);
        if (sqlite3_prepare_v2(s->db, text, -1, &st, NULL) != SQLITE_OK ||
            sqlite3_bind_int64(st, 1, oldest) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
            *why = fail_db(s, "deleting expired jobs");
            rc = -1;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc < 0) {
        (void)exec(s, S_ROLLBACK, NULL);
        s->in_tx = 0;
        return -1;
    }
    return commit(s, 0, why);
}

void pp_store_sqlite_set_retention(pp_store *ps, long retention_ms)
{
    sq_store *s = (sq_store *)ps;
    s->retention_ms = retention_ms > 0 ? retention_ms : 0;
    s->next_expire = 0;
}

static int sq_flush(pp_store *ps, int durable, pp_store_done_fn done, void *ud, const char **why)
{
    sq_store *s = (sq_store *)ps;
    const char *w = NULL;
    int rc = commit(s, durable, &w);
    /* a deletion that fails (the file busy past BUSY_MS) is tried again
     * later: the flush itself went well */
    if (rc == 0)
        (void)expire(s, &(const char *){NULL});
    if (rc < 0 && why)
        *why = w;
    if (!done)
        return rc;
    done(ud, rc, w);
    return 0;
}

static int sq_claim(pp_store *ps, const int64_t *keys, size_t n, int hold, unsigned char *got,
                    pp_store_done_fn done, void *ud, const char **why)
{
    sq_store *s = (sq_store *)ps;
    sqlite3_stmt *st = s->st[S_CLAIM];
    const char *w = NULL;
    int rc = group(s, &w);
    sqlite3_int64 to = hold ? 1 : -(sqlite3_int64)getpid();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        got[i] = 0;
        if (sqlite3_bind_int64(st, 1, keys[i]) || sqlite3_bind_int64(st, 2, to) ||
            sqlite3_step(st) != SQLITE_DONE) {
            w = fail_db(s, "claiming a job");
            rc = -1;
        } else {
            got[i] = sqlite3_changes(s->db) == 1;
        }
        sqlite3_reset(st);
        /* a claim that joins a group hands out for good */
        if (rc == 0 && hold && got[i] && retire(s, S_RETIRE, keys[i], &w) < 0)
            rc = -1;
    }
    if (rc == 0 && !hold)
        rc = commit(s, 0, &w);
    else if (rc < 0 && s->in_tx) {
        (void)exec(s, S_ROLLBACK, NULL);
        s->in_tx = 0;
    }
    if (rc < 0) {
        memset(got, 0, n);
        if (why)
            *why = w;
    }
    if (!done)
        return rc;
    done(ud, rc, w);
    return 0;
}

/* Runs q with the tag bound to ?1; the integer its first row gives
 * (0 without one), -1 on failure (why set). */
static long long tag_query(sq_store *s, const char *q, const char *tag, const char **why)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    int rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
    if (rc == SQLITE_OK && bind_text(st, 1, tag) == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
            v = 0;
    }
    sqlite3_finalize(st);
    if (v < 0)
        *why = fail_db(s, "forgetting a tag");
    return v;
}

/* In the group's transaction, committed at once (durable): the check and
 * the deletes see the same rows. */
static int sq_forget(pp_store *ps, const char *tag, int force, pp_store_done_fn done, void *ud,
                     const char **why)
{
    sq_store *s = (sq_store *)ps;
    const char *w = NULL;
    long long left = 0;
    int rc = group(s, &w);
    if (rc == 0 && !force)
        left = tag_query(s,
                         "SELECT count(*) FROM jobs j JOIN submissions s ON s.sub = j.sub"
                         " WHERE s.tag IS ?1 AND j.handed <= 0",
                         tag, &w);
    if (left > 0) {
        snprintf(s->why, sizeof s->why,
                 "journal: forget: %lld jobs of the tag are pending or not handed out yet", left);
        w = s->why;
        rc = -1;
    } else if (rc < 0 || left < 0 ||
               tag_query(s,
                         "DELETE FROM jobs WHERE sub IN (SELECT sub FROM submissions"
                         " WHERE tag IS ?1)",
                         tag, &w) < 0 ||
               tag_query(s, "DELETE FROM submissions WHERE tag IS ?1", tag, &w) < 0 ||
               commit(s, 1, &w) < 0) {
        /* the journal flushed its group before asking (jop_start): only
         * this forget is undone */
        if (s->in_tx) {
            (void)exec(s, S_ROLLBACK, NULL);
            s->in_tx = 0;
        }
        rc = -1;
    }
    if (rc < 0 && why)
        *why = w;
    if (!done)
        return rc;
    done(ud, rc, w);
    return 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int sq_list(pp_store *ps, const pp_store_filter *f, pp_store_row_fn each,
                   pp_store_done_fn done, void *ud, const char **why)
{
    sq_store *s = (sq_store *)ps;
    sqlite3_stmt *st = s->st[S_LIST];
    const char *w = NULL;
    /* what expired is not listed: deleted first when due (the journal
     * flushed its group before listing; a deletion that fails is tried
     * again later) */
    (void)expire(s, &(const char *){NULL});
    int rc = 0;
    if (sqlite3_bind_int(st, 1, f && f->unhanded) || bind_text(st, 2, f ? f->tag : NULL)) {
        w = fail_db(s, "listing jobs");
        rc = -1;
    }
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        pp_store_row row;
        row.state = sqlite3_column_int(st, 2);
        if (f && f->states && !(f->states & (1u << row.state)))
            continue;
        row.key = sqlite3_column_int64(st, 0);
        row.id = col(st, 1);
        row.sent = sqlite3_column_int(st, 3);
        row.handed = sqlite3_column_int(st, 4);
        row.tag = col(st, 5);
        row.params = col(st, 6);
        row.list_key = col(st, 7);
        row.value = col(st, 8);
        row.results_dir = col(st, 9);
        row.results_type = col(st, 10);
        row.results_path = col(st, 11);
        row.error = col(st, 12);
        row.pid = (long)sqlite3_column_int64(st, 13);
        if (!row.params) {
            w = fail_db(s, "listing jobs (a row without parameters)");
            rc = -1;
        } else if (each(ud, &row)) {
            break;
        }
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE) {
        w = fail_db(s, "listing jobs");
        rc = -1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc < 0 && why)
        *why = w;
    if (!done)
        return rc;
    done(ud, rc, w);
    return 0;
}

static int sq_fd(pp_store *ps)
{
    (void)ps;
    return -1;
}

static void sq_run(pp_store *ps)
{
    (void)ps;
}

static void sq_close(pp_store *ps)
{
    sq_store *s = (sq_store *)ps;
    if (!s)
        return;
    if (s->in_tx)
        (void)commit(s, 1, NULL);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

static const pp_store_ops sqlite_ops = {
    .name = "sqlite",
    .submission = sq_submission,
    .job = sq_job,
    .sending = sq_sending,
    .answer = sq_answer,
    .transition = sq_transition,
    .unclaim = sq_unclaim,
    .handed = sq_handed,
    .unhold = sq_unhold,
    .result = sq_result,
    .flush = sq_flush,
    .claim = sq_claim,
    .list = sq_list,
    .forget = sq_forget,
    .fd = sq_fd,
    .run = sq_run,
    .close = sq_close,
};

/* ---- opening */

/* An integer a one-row query gives, or -1 (why set). */
static long long query_int(sq_store *s, const char *q, const char *what, char *why, size_t n)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        snprintf(why, n, "%s: %s", what, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return v;
}

/* Whether an error says the file or its folder cannot be written (a WAL
 * journal needs its -wal and -shm files beside it), not that it is bad. */
static int cannot_write(int code)
{
    switch (code & 0xff) {
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_IOERR:
    case SQLITE_AUTH: return 1;
    default: return 0;
    }
}

/* 0 when the file is intact, else -1 with why it cannot be used. */
static int check_intact(sq_store *s, const char *path, char *why, size_t n)
{
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        ok = r && strcmp(r, "ok") == 0;
        if (!ok)
            snprintf(why, n, "journal %s is damaged (%s): restore it from a copy or move it away",
                     path, r ? r : "?");
    } else if (cannot_write(sqlite3_extended_errcode(s->db))) {
        snprintf(why, n, "journal %s cannot be opened for writing (%s): is its folder read-only?",
                 path, sqlite3_errmsg(s->db));
    } else {
        snprintf(why, n, "journal %s is damaged or not a journal (%s)", path,
                 sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

/* Makes the schema in a new file, or checks the owner of an existing one;
 * the write lock is taken first so two processes opening one new file make
 * it once. 1 when the file was empty before it was opened and still holds
 * nothing: the process that made it may be about to write it (try again),
 * or it was cut short. */
static int set_up(sq_store *s, const char *path, const char *owner, int was_empty, char *why,
                  size_t n)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(why, n, "journal %s cannot be written (%s): is its folder read-only?", path,
                 sqlite3_errmsg(s->db));
        return -1;
    }
    int rc = -1;
    long long version = query_int(s, "PRAGMA user_version", "journal", why, n);
    long long tables = query_int(s, "SELECT count(*) FROM sqlite_master", "journal", why, n);
    sqlite3_stmt *st = NULL;
    if (version < 0 || tables < 0)
        goto out;
    if (version > PP_STORE_SCHEMA) {
        snprintf(why, n,
                 "journal %s was written by a newer pushpull (schema %lld; this one reads up to "
                 "%d): use that version, or another file",
                 path, version, PP_STORE_SCHEMA);
        goto out;
    }
    if (version == 0 && tables == 0 && was_empty) {
        rc = 1;
        goto out;
    }
    if (version == 0 && tables > 0) {
        snprintf(why, n, "%s is an SQLite database but not a pushpull journal", path);
        goto out;
    }
    if (version == 0) {
        char q[64];
        snprintf(q, sizeof q, "PRAGMA user_version = %d", PP_STORE_SCHEMA);
        if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, q, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(why, n, "journal %s: cannot make its tables (%s)", path,
                     sqlite3_errmsg(s->db));
            goto out;
        }
    }
    if (sqlite3_exec(s->db, retention_schema, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(why, n, "journal %s: cannot make its retention's tables (%s)", path,
                 sqlite3_errmsg(s->db));
        goto out;
    }
    if (sqlite3_prepare_v2(s->db, "SELECT v FROM meta WHERE k = 'owner'", -1, &st, NULL) !=
        SQLITE_OK) {
        snprintf(why, n, "journal %s: %s", path, sqlite3_errmsg(s->db));
        goto out;
    }
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *have = (const char *)sqlite3_column_text(st, 0);
        if (!have || strcmp(have, owner) != 0) {
            snprintf(why, n,
                     "journal %s belongs to another account or service (username and base_url "
                     "differ): give each account its own journal",
                     path);
            goto out;
        }
    } else if (step == SQLITE_DONE) {
        sqlite3_finalize(st);
        st = NULL;
        if (sqlite3_prepare_v2(s->db, "INSERT INTO meta(k, v) VALUES ('owner', ?1)", -1, &st,
                               NULL) != SQLITE_OK ||
            bind_text(st, 1, owner) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
            snprintf(why, n, "journal %s: %s", path, sqlite3_errmsg(s->db));
            goto out;
        }
    } else {
        snprintf(why, n, "journal %s: %s", path, sqlite3_errmsg(s->db));
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    if (sqlite3_exec(s->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK &&
        rc == 0) {
        snprintf(why, n, "journal %s cannot be written (%s)", path, sqlite3_errmsg(s->db));
        rc = -1;
    }
    return rc;
}

pp_store *pp_store_sqlite_open(const char *path, const char *owner, char *why, size_t n)
{
    struct stat stbuf;
    /* an empty file: a journal cut short, or one another process has just
     * made and not yet written (set_up tells them apart) */
    int was_empty = stat(path, &stbuf) == 0 && S_ISREG(stbuf.st_mode) && stbuf.st_size == 0;
    sq_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, n, "journal %s: out of memory", path);
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, n, "journal %s cannot be opened: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 0, 0);
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_MS);
    if (check_intact(s, path, why, n) < 0)
        goto fail;
    sqlite3_stmt *st = NULL;
    const char *mode = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = (const char *)sqlite3_column_text(st, 0);
    int wal = mode && strcmp(mode, "wal") == 0;
    if (!wal)
        snprintf(why, n, "journal %s cannot be put in WAL mode (%s): is its folder read-only?",
                 path, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    if (!wal)
        goto fail;
    /* a small page cache: the journal is written, read back only on resume */
    if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -" CACHE_KB, NULL,
                     NULL, NULL) != SQLITE_OK) {
        snprintf(why, n, "journal %s: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    for (int tries = 0;; tries++) {
        int rc = set_up(s, path, owner, was_empty, why, n);
        if (rc == 0)
            break;
        if (rc < 0)
            goto fail;
        if (tries == EMPTY_TRIES) {
            snprintf(why, n,
                     "journal %s is an empty file (truncated?): move it away to start a new "
                     "journal",
                     path);
            goto fail;
        }
        struct timespec ts = {0, EMPTY_WAIT_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK) {
            snprintf(why, n, "journal %s: %s", path, sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    return &s->base;
fail:
    sq_close(&s->base);
    return NULL;
}
