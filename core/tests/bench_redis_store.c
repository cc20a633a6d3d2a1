/* What the fleet store costs per job, against a local redis-server (started
 * here, as the tests do): commands, round trips, wall time and Redis' own
 * CPU (INFO commandstats) for a job's whole record -- submission, answer,
 * transitions to fetched, claim, hand-out -- three ways:
 *   single   one job per submission, each transition a command of its own
 *   path     one job per submission, its transitions one move (a path)
 *   batch    100 jobs per submission, each step one command for all 100
 * Every command waits for its answer before the next (the round trips are
 * sequential); then the single way with 64 jobs in flight at once, as a
 * busy client pipelines them.
 * usage: bench_redis_store [JOBS]   (default 2000) */
#include "client.h"
#include "redis.h"
#include "redis_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wait1 {
    int done, failed;
    long long integer;
    char first[32]; /* a claim's first key */
    char usec[32];  /* from INFO: evalsha usec */
    char calls[32];
} wait1;

static void on_done(void *ud, const redisReply *rep, const char *err)
{
    wait1 *w = ud;
    w->done = 1;
    if (err) {
        w->failed = 1;
        fprintf(stderr, "bench: %s\n", err);
        return;
    }
    w->integer = rep->integer;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 && rep->element[1]->str)
        snprintf(w->first, sizeof w->first, "%s", rep->element[1]->str);
    if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS) {
        const char *p = strstr(rep->str, "cmdstat_evalsha:calls=");
        if (p) {
            sscanf(p, "cmdstat_evalsha:calls=%31[0-9],usec=%31[0-9]", w->calls, w->usec);
        }
    }
}

static int await(pp_client *c, int rc, wait1 *w)
{
    if (rc < 0)
        return -1;
    while (!w->done)
        pp_wait(c, 100, NULL);
    return w->failed ? -1 : 0;
}

/* Evalsha microseconds Redis spent so far. */
static double server_usec(pp_client *c)
{
    wait1 w;
    memset(&w, 0, sizeof w);
    const char *argv[2] = {"INFO", "commandstats"};
    if (await(c, pp_redis_command(c->redis, 0, 2, argv, NULL, on_done, &w), &w) < 0)
        return 0;
    return atof(w.usec);
}

#define RUN(call)                      \
    do {                               \
        wait1 w_;                      \
        memset(&w_, 0, sizeof w_);     \
        if (await(c, (call), &w_) < 0) \
            return -1;                 \
    } while (0)

/* One job's record in `steps` moves (1: a path, 3: one per transition). */
static int one_job(pp_client *c, pp_rstore *st, const char *tag, long i, int steps)
{
    char sid[32], key[32];
    snprintf(sid, sizeof sid, "s%ld", i);
    snprintf(key, sizeof key, "%ld", i);
    const char *keys[1] = {key};
    const char *vals[1] = {"\"https://example.com/\""};
    RUN(pp_rstore_submit(st, tag, sid, "{\"source\":\"universal\"}", 22, 1, keys, vals, 1, on_done,
                         &w_));
    pp_rjob j = {key, "pending", NULL, "0123456789abcdef"};
    RUN(pp_rstore_answer(st, tag, sid, 0, &j, 1, 0, 0, on_done, &w_));
    static const char *const path[3] = {"done", "fetching", "fetched"};
    for (int s = 0; s < steps; s++) {
        pp_rjob m = {key, steps == 1 ? "done,fetching,fetched" : path[s],
                     s == steps - 1 ? "{\"results_path\":\"/r/x.json\"}" : NULL, NULL};
        RUN(pp_rstore_move(st, tag, &m, 1, 0, 0, on_done, &w_));
    }
    wait1 w;
    memset(&w, 0, sizeof w);
    if (await(c, pp_rstore_claim(st, tag, 1, 30000, on_done, &w), &w) < 0 || !w.first[0])
        return -1;
    const char *got[1] = {w.first};
    RUN(pp_rstore_release(st, tag, PP_LEASE_CLAIM, got, 1, 1, 0, on_done, &w_));
    return 0;
}

#define BATCH 100

static int batch(pp_client *c, pp_rstore *st, const char *tag, long b)
{
    char sid[32];
    char keys[BATCH][32];
    const char *kp[BATCH], *vals[BATCH];
    pp_rjob jobs[BATCH], moves[BATCH];
    snprintf(sid, sizeof sid, "b%ld", b);
    for (int i = 0; i < BATCH; i++) {
        snprintf(keys[i], sizeof keys[i], "%ld", b * BATCH + i);
        kp[i] = keys[i];
        vals[i] = "\"https://example.com/\"";
        jobs[i] = (pp_rjob){keys[i], "pending", NULL, keys[i]};
        moves[i] =
            (pp_rjob){keys[i], "done,fetching,fetched", "{\"results_path\":\"/r/x.json\"}", NULL};
    }
    RUN(pp_rstore_submit(st, tag, sid, "{\"source\":\"universal\"}", 22, BATCH, kp, vals, BATCH,
                         on_done, &w_));
    RUN(pp_rstore_answer(st, tag, sid, 0, jobs, BATCH, 0, 0, on_done, &w_));
    RUN(pp_rstore_move(st, tag, moves, BATCH, 0, 0, on_done, &w_));
    RUN(pp_rstore_claim(st, tag, BATCH, 30000, on_done, &w_));
    RUN(pp_rstore_release(st, tag, PP_LEASE_CLAIM, kp, BATCH, 1, 0, on_done, &w_));
    return 0;
}

/* Jobs in flight at once: each job a chain of its own commands, issued as
 * the previous one of its chain answers. */
typedef struct chain {
    pp_client *c;
    pp_rstore *st;
    long job;
    int step;
    int failed;
    char sid[32], key[32];
    char claimed[32];
    long *left;
} chain;

static void chain_next(void *ud, const redisReply *rep, const char *err);

static void chain_issue(chain *x)
{
    const char *tag = "conc";
    const char *keys[1] = {x->key};
    const char *vals[1] = {"\"https://example.com/\""};
    static const char *const path[3] = {"done", "fetching", "fetched"};
    int rc = 0;
    if (x->step == 0) {
        rc = pp_rstore_submit(x->st, tag, x->sid, "{\"source\":\"universal\"}", 22, 1, keys, vals,
                              1, chain_next, x);
    } else if (x->step == 1) {
        pp_rjob j = {x->key, "pending", NULL, "0123456789abcdef"};
        rc = pp_rstore_answer(x->st, tag, x->sid, 0, &j, 1, 0, 0, chain_next, x);
    } else if (x->step <= 4) {
        pp_rjob m = {x->key, path[x->step - 2], NULL, NULL};
        rc = pp_rstore_move(x->st, tag, &m, 1, 0, 0, chain_next, x);
    } else if (x->step == 5) {
        rc = pp_rstore_claim(x->st, tag, 1, 30000, chain_next, x);
    } else {
        const char *got[1] = {x->claimed};
        rc = pp_rstore_release(x->st, tag, PP_LEASE_CLAIM, got, 1, 1, 0, chain_next, x);
    }
    if (rc < 0) {
        x->failed = 1;
        (*x->left)--;
    }
}

static void chain_next(void *ud, const redisReply *rep, const char *err)
{
    chain *x = ud;
    if (err) {
        fprintf(stderr, "bench: %s\n", err);
        x->failed = 1;
        (*x->left)--;
        return;
    }
    if (x->step == 5) {
        if (rep->elements < 2) { /* another chain took this one's job: any will do */
            (*x->left)--;
            return;
        }
        snprintf(x->claimed, sizeof x->claimed, "%s", rep->element[1]->str);
    }
    if (++x->step > 6) {
        (*x->left)--;
        return;
    }
    chain_issue(x);
}

static double now_s(void)
{
    return (double)pp_now_ms() / 1000.0;
}

static void report(const char *name, long jobs, double secs, const pp_redis_stats *a,
                   const pp_redis_stats *b, double usec, long trips)
{
    double cmds = (double)(b->commands - a->commands);
    char rt[32] = "overlapped";
    if (trips >= 0)
        snprintf(rt, sizeof rt, "%.2f", (double)trips / (double)jobs);
    printf("%-22s %6ld jobs  %5.2f commands/job  %10s round trips/job  %7.1f us/job wall  "
           "%5.1f us/job in Redis  %7.0f jobs/s\n",
           name, jobs, cmds / (double)jobs, rt, secs * 1e6 / (double)jobs, usec / (double)jobs,
           (double)jobs / secs);
}

int main(int argc, char **argv)
{
    long jobs = argc > 1 ? atol(argv[1]) : 2000;
    if (jobs < BATCH)
        jobs = BATCH;
    jobs -= jobs % BATCH;
    signal(SIGPIPE, SIG_IGN);
    rsrv srv;
    memset(&srv, 0, sizeof srv);
    if (rsrv_start(&srv) < 0) {
        fprintf(stderr, "cannot start redis-server (make deps)\n");
        return 1;
    }
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL);
    pp_redis_config rc;
    memset(&rc, 0, sizeof rc);
    rc.url = srv.url;
    pp_rstore st;
    char msg[256];
    if (!c || pp_fleet_open(c, &rc, NULL) < 0 ||
        pp_rstore_init(&st, c->redis, NULL, NULL, &c->rng, msg, sizeof msg) < 0) {
        fprintf(stderr, "cannot open the store\n");
        pp_client_free(c);
        rsrv_cleanup(&srv);
        return 1;
    }
    /* what the journal runs with: a job handed out is given its expiry */
    st.retention_ms = PP_STORE_REDIS_RETENTION_MS;
    printf("redis-server on loopback, one connection; %ld jobs a run\n", jobs);
    struct {
        const char *name;
        int steps;
    } ways[2] = {{"single (7 commands)", 3}, {"path (5 commands)", 1}};
    pp_redis_stats a, b;
    int failed = 0;
    for (int w = 0; w < 2 && !failed; w++) {
        double u0 = server_usec(c);
        pp_redis_get_stats(c->redis, &a);
        double t0 = now_s();
        for (long i = 0; i < jobs && !failed; i++)
            failed = one_job(c, &st, w ? "path" : "single", i, ways[w].steps) < 0;
        double t1 = now_s();
        pp_redis_get_stats(c->redis, &b);
        report(ways[w].name, jobs, t1 - t0, &a, &b, server_usec(c) - u0,
               (long)(b.commands - a.commands));
    }
    if (!failed) {
        double u0 = server_usec(c);
        pp_redis_get_stats(c->redis, &a);
        double t0 = now_s();
        for (long i = 0; i < jobs / BATCH && !failed; i++)
            failed = batch(c, &st, "batch", i) < 0;
        double t1 = now_s();
        pp_redis_get_stats(c->redis, &b);
        report("batch of 100", jobs, t1 - t0, &a, &b, server_usec(c) - u0,
               (long)(b.commands - a.commands));
    }
    if (!failed) {
        enum { INFLIGHT = 64 };
        chain *ch = calloc((size_t)jobs, sizeof *ch);
        long left = jobs, next = 0, running = 0;
        double u0 = server_usec(c);
        pp_redis_get_stats(c->redis, &a);
        double t0 = now_s();
        while (ch && left > 0) {
            while (next < jobs && running < INFLIGHT) {
                chain *x = &ch[next];
                x->c = c;
                x->st = &st;
                x->job = next;
                x->left = &left;
                snprintf(x->sid, sizeof x->sid, "c%ld", next);
                snprintf(x->key, sizeof x->key, "%ld", next);
                chain_issue(x);
                next++;
                running++;
            }
            pp_wait(c, 100, NULL);
            running = next - (jobs - left) < 0 ? 0 : next - (jobs - left);
        }
        double t1 = now_s();
        pp_redis_get_stats(c->redis, &b);
        for (long i = 0; ch && i < jobs; i++)
            failed |= ch[i].failed;
        report("single, 64 in flight", jobs, t1 - t0, &a, &b, server_usec(c) - u0, -1);
        free(ch);
    }
    pp_rstore_cleanup(&st);
    pp_client_free(c);
    rsrv_cleanup(&srv);
    return failed ? 1 : 0;
}
