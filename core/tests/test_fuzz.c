/* Untrusted input, mutated at random (deterministic seed): callbacks, poll
 * and status answers, batch submission answers, error bodies and header
 * lines. The readers must neither crash nor misbehave under ASan/UBSan,
 * and keep their contracts: verdicts in range, ids valid and never given
 * to two jobs, every job of an answered submission out of `submitting`. */
#include "offline.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static const char *const seeds[] = {
    "{\"id\":\"7173957294344910849\",\"status\":\"done\",\"_links\":[{\"rel\":\"results\","
    "\"href\":\"http://data.oxylabs.io/v1/queries/7173957294344910849/"
    "results\",\"method\":\"GET\"}]}",
    "{\"id\":123,\"status\":\"faulted\"}",
    "{\"queries\":[{\"id\":\"1\",\"status\":\"pending\"},{\"id\":\"2\"},{\"id\":\"3\",\"status\":"
    "\"done\"}]}",
    "{\"results\":[{\"content\":\"<html>\",\"status_code\":613},{\"status_code\":613}]}",
    "{\"message\":\"Unsupported source\"}",
    "{\"message\":{\"nested\":[1,2,3]}}",
    "x-ratelimit-jobs-remaining: 17\r\n",
    "X-Oxylabs-Job-Status: faulted\r\n",
};
#define NSEEDS (sizeof seeds / sizeof seeds[0])

static size_t mutate(uint64_t *rng, const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, in, n);
    int edits = 1 + (int)(pp_rand(rng) % 6);
    for (int e = 0; e < edits && n > 0; e++) {
        size_t at = (size_t)(pp_rand(rng) % n);
        switch (pp_rand(rng) % 4) {
        case 0: out[at] = (char)(pp_rand(rng) & 0xff); break; /* flip */
        case 1: n = at; break;                                /* cut */
        case 2:
            if (n + 1 < cap) { /* insert */
                memmove(out + at + 1, out + at, n - at);
                out[at] = "{}[]\":,\\0a9 -/."[pp_rand(rng) % 15];
                n++;
            }
            break;
        default:
            memmove(out + at, out + at + 1, n - at - 1);
            n--;
            break; /* delete */
        }
    }
    out[n] = '\0';
    return n;
}

static int bad;
static int accepted; /* jobs a mutated answer still gave an id */

static void readers(const char *buf, size_t n)
{
    pp_answer a;
    memset(&a, 0, sizeof a);
    a.http = 1;
    a.body = buf;
    a.len = n;
    static const long statuses[] = {200, 204, 404, 500};
    for (size_t k = 0; k < 4; k++) {
        a.status = statuses[k];
        a.jobhdr = (int)(k % 5);
        pp_verdict v = pp_read_results(&a);
        if (v.kind < PP_V_NOTHING || v.kind > PP_V_NOT_READY || v.object)
            bad++;
        v = pp_read_status(&a);
        if (v.kind < PP_V_NOTHING || v.kind > PP_V_NOT_READY)
            bad++;
        if (v.object)
            json_decref(v.object);
    }
    char id[PP_ID_MAX + 1];
    int claim;
    if (pp_read_callback(buf, n, id, &claim) == 0 &&
        (!pp_id_valid(id) || claim < PP_V_PENDING || claim > PP_V_FAULTED))
        bad++;
    const char *why = NULL;
    json_t *item = pp_read_job_item(buf, n, id, &why);
    if (item ? !pp_id_valid(id) : !why)
        bad++;
    if (item)
        json_decref(item);
    free(pp_json_error_message(buf, n));
    pp_error e = {0};
    pp_err_from_http(&e, 400, buf, n);
    if (!e.message)
        bad++;
    pp_err_clear(&e);
    json_t *root = json_loadb(buf, n, 0, NULL);
    if (root) {
        (void)pp_results_all_faulted(root);
        (void)pp_links_clean_job(root, "https://x");
        char idb[32];
        (void)pp_json_id(root, idb, sizeof idb);
        json_decref(root);
    }
    long rem = -1, lim = -1;
    int job = 0;
    pp_header_parse(buf, n, &rem, &lim, &job);
    if (rem < -1 || lim < -1 || job < 0 || job > PP_HDR_OTHER)
        bad++;
}

/* A batch of three answered with a mutated answer (fresh ids every other
 * time, else ids that pending jobs may hold): no job may stay submitting,
 * every id given must be valid and name exactly that job. */
static void submission(pp_client *c, uint64_t *rng, int round)
{
    char seed[256], buf[512];
    if (round % 2)
        snprintf(seed, sizeof seed, "%s", seeds[2]);
    else
        snprintf(seed, sizeof seed,
                 "{\"queries\":[{\"id\":\"%d1\",\"status\":\"pending\"},"
                 "{\"id\":%d2},{\"id\":\"%d3\",\"status\":\"done\"}]}",
                 round, round, round);
    mutate(rng, seed, buf, sizeof buf);
    pp_op op = submit_text(c, "{\"source\":\"universal\",\"url\":[\"a\",\"b\",\"c\"]}", NULL);
    size_t n = 0;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    pp_job keep[3] = {0, 0, 0};
    for (size_t i = 0; i < n && i < 3; i++)
        keep[i] = jobs[i];
    pp_req *r = queued_url(c, "/v1/queries/batch");
    if (r)
        answer_req(r, 202, PP_HDR_NONE, buf);
    if (!r || !pp_op_done(c, op))
        bad++;
    pp_op_free(c, op);
    for (size_t i = 0; i < 3; i++) {
        pp_state s = pp_job_state(c, keep[i]);
        const char *id = pp_job_id(c, keep[i]);
        if (s == PP_SUBMITTING || s == PP_NEW)
            bad++;
        if (id && (!pp_id_valid(id) || pp_job_find_id(&c->jobs, id)->h != keep[i]))
            bad++;
        if (s == PP_UNKNOWN && (id || !pp_job_error(c, keep[i])))
            bad++;
        accepted += s == PP_PENDING;
    }
    /* pending ones stay, so that later answers may repeat their ids */
    for (size_t i = 0; i < 3; i++)
        if (pp_job_state(c, keep[i]) != PP_PENDING)
            pp_job_release(c, keep[i]);
}

int main(void)
{
    pp_config cfg;
    offline_config(&cfg);
    cfg.base_url = "https://127.0.0.1:9";
    pp_client *c = offline_new(&cfg);
    if (!c)
        return 1;
    pp_attach(c, "7173957294344910849", NULL);
    pp_attach(c, "123", NULL);
    uint64_t rng = 2024;
    char buf[1024];
    for (int i = 0; i < 30000; i++) {
        const char *seed = seeds[i % NSEEDS];
        size_t n = mutate(&rng, seed, buf, sizeof buf);
        /* callbacks: -1, 0 or 1, nothing else */
        int rc = pp_feed_callback(c, buf, n);
        if (rc < -1 || rc > 1)
            bad++;
        readers(buf, n);
        if (i % 20 == 0)
            submission(c, &rng, i / 20);
        drain_events(c);
        /* answer what the callbacks sent so that requests do not pile up */
        while (c->tp.queued > 64)
            answer_next(c, 204, PP_HDR_PENDING, NULL);
    }
    CHECK_EQ_LONG(bad, 0);
    CHECK(c->jobs.n > 1000);
    printf("%d jobs accepted from mutated answers\n", accepted);
    CHECK(accepted > 50);
    pp_client_free(c);
    DONE();
}
