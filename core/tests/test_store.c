/* The job store's SQLite backend through its interface (store.h): what is
 * written comes back from list() with its filters; writes are one group
 * until flush (another connection sees none of them before, all after);
 * each claim goes to one of two connections; a held claim can be given
 * back; a claim holds a job for its process until it is done with it or
 * given back; retention deletes the finished jobs handed out for good
 * (and a submission with its last job), never the others; forget drops a
 * tag, refused while a job of it is not handed out; and the files it must
 * refuse are refused with a reason. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "store.h"
#include "check.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/pp-store-XXXXXX";
static char path[256];

typedef struct seen {
    int n;
    int64_t keys[16];
    char ids[16][16];
    int states[16];
    int handed[16];
} seen;

static int count_row(void *ud, const pp_store_row *row)
{
    seen *s = ud;
    if (s->n < 16) {
        s->keys[s->n] = row->key;
        snprintf(s->ids[s->n], sizeof s->ids[0], "%s", row->id ? row->id : "-");
        s->states[s->n] = row->state;
        s->handed[s->n] = row->handed;
    }
    s->n++;
    return 0;
}

static int last_rc;
static void done(void *ud, int rc, const char *why)
{
    (void)ud;
    (void)why;
    last_rc = rc;
}

static seen list(pp_store *s, unsigned states, const char *tag, int unhanded)
{
    seen out;
    memset(&out, 0, sizeof out);
    pp_store_filter f = {states, tag, unhanded};
    const char *why = NULL;
    last_rc = 1;
    CHECK(s->ops->list(s, &f, count_row, done, &out, &why) == 0);
    CHECK_EQ_LONG(last_rc, 0); /* completed before returning */
    return out;
}

static void test_round_trip(void)
{
    char why[512];
    pp_store *s = pp_store_sqlite_open(path, "owner-a", why, sizeof why);
    CHECK(s != NULL);
    if (!s)
        return;
    const char *w = NULL;
    int64_t sub = 0, keys[3];
    CHECK(s->ops->submission(s, "{\"source\":\"universal\"}", "url", "nightly", "/tmp", NULL, &sub,
                             &w) == 0);
    for (int i = 0; i < 3; i++) {
        char value[32];
        snprintf(value, sizeof value, "\"https://e.com/%d\"", i);
        CHECK(s->ops->job(s, sub, value, &keys[i], &w) == 0);
        CHECK(s->ops->sending(s, keys[i], &w) == 0);
    }
    CHECK(s->ops->flush(s, 1, NULL, NULL, &w) == 0);
    CHECK(s->ops->answer(s, keys[0], "id0", &w) == 0);
    CHECK(s->ops->answer(s, keys[1], "id1", &w) == 0);
    CHECK(s->ops->result(s, keys[1], "/tmp/id1.json", &w) == 0);
    CHECK(s->ops->transition(s, keys[2], PP_UNKNOWN, "answer lost", &w) == 0);
    CHECK(s->ops->flush(s, 0, NULL, NULL, &w) == 0);

    seen all = list(s, 0, NULL, 0);
    CHECK_EQ_LONG(all.n, 3);
    CHECK(strcmp(all.ids[0], "id0") == 0 && all.states[0] == PP_PENDING);
    CHECK(strcmp(all.ids[1], "id1") == 0 && all.states[1] == PP_FETCHED);
    CHECK(strcmp(all.ids[2], "-") == 0 && all.states[2] == PP_UNKNOWN);
    CHECK_EQ_LONG(list(s, 1u << PP_FETCHED, NULL, 0).n, 1);
    CHECK_EQ_LONG(list(s, 0, "nightly", 0).n, 3);
    CHECK_EQ_LONG(list(s, 0, "other", 0).n, 0);
    s->ops->close(s);

    /* the file comes back as it was, for the same owner only */
    s = pp_store_sqlite_open(path, "owner-a", why, sizeof why);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_LONG(list(s, 0, NULL, 1).n, 3);
        s->ops->close(s);
    }
    CHECK(pp_store_sqlite_open(path, "owner-b", why, sizeof why) == NULL);
    CHECK(strstr(why, "another account") != NULL);
}

/* Two connections to the journal, as two processes have. 0 / -1. */
static int open_two(pp_store **a, pp_store **b)
{
    char why[512];
    *a = pp_store_sqlite_open(path, "owner-a", why, sizeof why);
    *b = pp_store_sqlite_open(path, "owner-a", why, sizeof why);
    CHECK(*a && *b);
    if (*a && *b)
        return 0;
    if (*a)
        (*a)->ops->close(*a);
    if (*b)
        (*b)->ops->close(*b);
    return -1;
}

/* Writes before a flush are one transaction: another connection sees none
 * of them, then all. */
static void test_grouping(void)
{
    pp_store *a, *b;
    if (open_two(&a, &b) < 0)
        return;
    int before = list(b, 0, "grouped", 0).n;
    const char *w = NULL;
    int64_t sub = 0, key = 0;
    CHECK(a->ops->submission(a, "{}", "query", "grouped", NULL, NULL, &sub, &w) == 0);
    for (int i = 0; i < 5000; i++)
        CHECK(a->ops->job(a, sub, "\"q\"", &key, &w) == 0);
    CHECK_EQ_LONG(list(b, 0, "grouped", 0).n, before);
    last_rc = 1;
    CHECK(a->ops->flush(a, 1, done, NULL, &w) == 0);
    CHECK_EQ_LONG(last_rc, 0);
    CHECK_EQ_LONG(list(b, 0, "grouped", 0).n, before + 5000);
    a->ops->close(a);
    b->ops->close(b);
}

/* Two connections claim the same jobs: each goes to one. A held claim can
 * be given back. */
static void test_claims(void)
{
    pp_store *a, *b;
    if (open_two(&a, &b) < 0)
        return;
    seen all = list(a, 0, "nightly", 0);
    CHECK_EQ_LONG(all.n, 3);
    unsigned char got_a[3], got_b[3];
    const char *w = NULL;
    CHECK(a->ops->claim(a, all.keys, 2, 0, got_a, NULL, NULL, &w) == 0);
    CHECK(b->ops->claim(b, all.keys, 3, 0, got_b, NULL, NULL, &w) == 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_LONG((i < 2 ? got_a[i] : 0) + got_b[i], 1);
    /* claimed, not done with: held by this process, listed with its pid
     * (the journal tells a live holder from a dead one) */
    seen held = list(a, 0, "nightly", 1);
    CHECK_EQ_LONG(held.n, 3);
    for (int i = 0; i < 3 && i < held.n; i++)
        CHECK_EQ_LONG(held.handed[i], -(long)getpid());
    for (int i = 0; i < 3; i++)
        CHECK(a->ops->handed(a, all.keys[i], &w) == 0);
    CHECK(a->ops->flush(a, 0, NULL, NULL, &w) == 0);
    CHECK_EQ_LONG(list(b, 0, "nightly", 1).n, 0);
    /* a held claim joins the group; given back, the job is free again */
    seen grouped = list(a, 0, "grouped", 1);
    CHECK(grouped.n > 0);
    CHECK(a->ops->claim(a, grouped.keys, 1, 1, got_a, NULL, NULL, &w) == 0);
    CHECK_EQ_LONG(got_a[0], 1);
    CHECK(a->ops->unclaim(a, grouped.keys[0], &w) == 0);
    CHECK(a->ops->flush(a, 0, NULL, NULL, &w) == 0);
    CHECK(b->ops->claim(b, grouped.keys, 1, 0, got_b, NULL, NULL, &w) == 0);
    CHECK_EQ_LONG(got_b[0], 1);
    a->ops->close(a);
    b->ops->close(b);
}

/* A hold ends as its holder says: handed out for good, or given back
 * when that holder (and only it) is named. */
static void test_holds(void)
{
    pp_store *a, *b;
    if (open_two(&a, &b) < 0)
        return;
    const char *w = NULL;
    int64_t sub = 0, keys[2];
    CHECK(a->ops->submission(a, "{}", "url", "holds", NULL, NULL, &sub, &w) == 0);
    CHECK(a->ops->job(a, sub, "\"u0\"", &keys[0], &w) == 0);
    CHECK(a->ops->job(a, sub, "\"u1\"", &keys[1], &w) == 0);
    CHECK(a->ops->flush(a, 0, NULL, NULL, &w) == 0);
    unsigned char got[2];
    CHECK(a->ops->claim(a, keys, 2, 0, got, NULL, NULL, &w) == 0);
    CHECK(got[0] == 1 && got[1] == 1);
    long me = (long)getpid();
    /* another holder's name changes nothing */
    CHECK(b->ops->unhold(b, keys[0], me + 1, &w) == 0);
    CHECK(b->ops->flush(b, 0, NULL, NULL, &w) == 0);
    seen s = list(b, 0, "holds", 1);
    CHECK(s.n == 2 && s.handed[0] == -me && s.handed[1] == -me);
    /* the first given back (its holder died), the second done with */
    CHECK(b->ops->unhold(b, keys[0], me, &w) == 0);
    CHECK(b->ops->flush(b, 0, NULL, NULL, &w) == 0);
    CHECK(a->ops->handed(a, keys[1], &w) == 0);
    CHECK(a->ops->flush(a, 0, NULL, NULL, &w) == 0);
    s = list(a, 0, "holds", 1);
    CHECK(s.n == 1 && s.keys[0] == keys[0] && s.handed[0] == 0);
    /* done with stays done with: neither a second claim nor a give-back */
    CHECK(b->ops->unhold(b, keys[1], me, &w) == 0);
    CHECK(b->ops->claim(b, keys, 2, 0, got, NULL, NULL, &w) == 0);
    CHECK(got[0] == 1 && got[1] == 0);
    /* claims that join a group hand out for good */
    CHECK(a->ops->submission(a, "{}", "url", "holds2", NULL, NULL, &sub, &w) == 0);
    CHECK(a->ops->job(a, sub, "\"u2\"", &keys[0], &w) == 0);
    CHECK(a->ops->claim(a, keys, 1, 1, got, NULL, NULL, &w) == 0);
    CHECK(a->ops->flush(a, 0, NULL, NULL, &w) == 0);
    s = list(b, 0, "holds2", 0);
    CHECK(s.n == 1 && s.handed[0] == 1);
    a->ops->close(a);
    b->ops->close(b);
}

static long long count_of(const char *q)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* n jobs of tag, each answered, the first `fetched` of them fetched. */
static int64_t finished(pp_store *s, const char *tag, int n, int fetched, int64_t *keys)
{
    const char *w = NULL;
    int64_t sub = 0;
    CHECK(s->ops->submission(s, "{}", "url", tag, NULL, NULL, &sub, &w) == 0);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s-%d", tag, i);
        CHECK(s->ops->job(s, sub, "\"u\"", &keys[i], &w) == 0);
        CHECK(s->ops->answer(s, keys[i], id, &w) == 0);
        if (i < fetched)
            CHECK(s->ops->result(s, keys[i], NULL, &w) == 0);
    }
    CHECK(s->ops->flush(s, 0, NULL, NULL, &w) == 0);
    return sub;
}

#define RETIRED_RET                                                                  \
    "SELECT count(*) FROM retired r JOIN jobs j ON j.key = r.key JOIN submissions s" \
    " ON s.sub = j.sub WHERE s.tag = 'ret'"

static void test_retention(void)
{
    pp_store *a, *b;
    if (open_two(&a, &b) < 0)
        return;
    pp_store_sqlite_set_retention(a, 200);
    const char *w = NULL;
    int64_t k[3];
    finished(a, "ret", 3, 2, k); /* k[2] pending */
    unsigned char got[3];
    CHECK(b->ops->claim(b, k, 3, 0, got, NULL, NULL, &w) == 0); /* held by b */
    CHECK(b->ops->handed(b, k[0], &w) == 0);
    CHECK(b->ops->handed(b, k[2], &w) == 0); /* handed out, pending: kept */
    CHECK(b->ops->flush(b, 0, NULL, NULL, &w) == 0);
    CHECK_EQ_LONG(count_of(RETIRED_RET), 2); /* both hand-outs noted */
    sleep_ms(300);
    CHECK_EQ_LONG(list(a, 0, "ret", 0).n, 2); /* k[0] gone, its submission kept */
    CHECK_EQ_LONG(count_of(RETIRED_RET), 1);  /* k[2]'s note waits for its end */
    CHECK_EQ_LONG(count_of("SELECT count(*) FROM submissions WHERE tag = 'ret'"), 1);
    /* the last two end handed out: the submission goes with them */
    CHECK(a->ops->result(a, k[2], NULL, &w) == 0);
    CHECK(a->ops->flush(a, 0, NULL, NULL, &w) == 0);
    CHECK(b->ops->handed(b, k[1], &w) == 0);
    CHECK(b->ops->flush(b, 0, NULL, NULL, &w) == 0);
    /* given back: not retired any more */
    CHECK(a->ops->unclaim(a, k[1], &w) == 0);
    CHECK(a->ops->flush(a, 0, NULL, NULL, &w) == 0);
    sleep_ms(300);
    seen s = list(a, 0, "ret", 0);
    CHECK(s.n == 1 && s.keys[0] == k[1]);
    CHECK(b->ops->claim(b, &k[1], 1, 1, got, NULL, NULL, &w) == 0 && got[0]);
    CHECK(b->ops->flush(b, 0, NULL, NULL, &w) == 0);
    sleep_ms(300);
    CHECK_EQ_LONG(list(a, 0, "ret", 0).n, 0);
    CHECK_EQ_LONG(count_of("SELECT count(*) FROM submissions WHERE tag = 'ret'"), 0);
    CHECK_EQ_LONG(count_of(RETIRED_RET), 0);
    /* without retention (b's): kept */
    finished(b, "keep", 1, 1, k);
    CHECK(b->ops->claim(b, k, 1, 1, got, NULL, NULL, &w) == 0 && got[0]);
    CHECK(b->ops->flush(b, 0, NULL, NULL, &w) == 0);
    CHECK(b->ops->flush(b, 0, NULL, NULL, &w) == 0);
    sleep_ms(300);
    CHECK_EQ_LONG(list(b, 0, "keep", 0).n, 1);
    a->ops->close(a);
    b->ops->close(b);
}

static void test_forget(void)
{
    pp_store *a, *b;
    if (open_two(&a, &b) < 0)
        return;
    b->ops->close(b);
    pp_store *s = a;
    const char *w = NULL;
    int64_t k[2];
    finished(s, "fg", 2, 1, k);
    unsigned char got[2];
    CHECK(s->ops->claim(s, k, 1, 1, got, NULL, NULL, &w) == 0 && got[0]);
    CHECK(s->ops->flush(s, 0, NULL, NULL, &w) == 0);
    last_rc = 1;
    CHECK(s->ops->forget(s, "fg", 0, done, NULL, &w) == 0);
    CHECK_EQ_LONG(last_rc, -1);
    CHECK_EQ_LONG(list(s, 0, "fg", 0).n, 2);
    CHECK(s->ops->forget(s, "fg", 1, done, NULL, &w) == 0);
    CHECK_EQ_LONG(last_rc, 0);
    CHECK_EQ_LONG(list(s, 0, "fg", 0).n, 0);
    CHECK_EQ_LONG(count_of("SELECT count(*) FROM submissions WHERE tag = 'fg'"), 0);
    CHECK(list(s, 0, NULL, 0).n > 0); /* the other tags stay */
    s->ops->close(s);
}

static void refused(const char *file, const char *expect)
{
    char why[512] = "";
    pp_store *s = pp_store_sqlite_open(file, "owner-a", why, sizeof why);
    CHECK(s == NULL);
    if (s)
        s->ops->close(s);
    if (!strstr(why, expect))
        fprintf(stderr, "refusal of %s: %s\n", file, why);
    CHECK(strstr(why, expect) != NULL);
    CHECK(strstr(why, file) != NULL);
}

static void test_refusals(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/newer.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 7", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_close(db);
    refused(p, "newer pushpull (schema 7");

    snprintf(p, sizeof p, "%s/other.db", dir);
    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    refused(p, "not a pushpull journal");

    snprintf(p, sizeof p, "%s/empty.db", dir);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    refused(p, "empty file");

    snprintf(p, sizeof p, "%s/garbage.db", dir);
    f = fopen(p, "w");
    CHECK(f != NULL);
    for (int i = 0; f && i < 1000; i++)
        fputs("not a journal\n", f);
    if (f)
        fclose(f);
    refused(p, "not a journal");

    snprintf(p, sizeof p, "%s/no/such/folder/j.db", dir);
    refused(p, "cannot be opened");
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/jobs.db", dir);
    test_round_trip();
    test_grouping();
    test_claims();
    test_holds();
    test_retention();
    test_forget();
    test_refusals();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    DONE();
}
