/* /v1/queries endpoints and /v1/info/callbacker_ips. */
#include "api.h"

#include "config.h"
#include "jobs.h"
#include "pc_json.h"
#include "params.h"
#include "ratelimit.h"
#include "results.h"
#include "runner.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *api_body_json(struct request *req, struct reply *rep)
{
    json_error_t e;
    if (req->body_len == 0) {
        reply_message(rep, 400, "the request body must be a JSON object (it is empty)");
        return NULL;
    }
    json_t *v = json_loadb(req->body, req->body_len, 0, &e);
    if (!v) {
        reply_message(rep, 400, "malformed JSON: %s (line %d, column %d)", e.text, e.line,
                      e.column);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        reply_message(rep, 400, "the JSON body must be an object");
        return NULL;
    }
    return v;
}

static void rate_headers(struct reply *rep, long limit, long remaining)
{
    char l[32], r[32];
    snprintf(l, sizeof l, "%ld", limit);
    snprintf(r, sizeof r, "%ld", remaining);
    reply_header(rep, "x-ratelimit-jobs-limit", l);
    reply_header(rep, "x-ratelimit-jobs-remaining", r);
}

/* Validation and rate limit shared by single and batch submissions. Returns
 * the template and targets, or NULL after filling the error reply. */
static json_t *admit(struct request *req, struct reply *rep, int batch, int *is_url,
                     json_t **targets)
{
    json_t *body = api_body_json(req, rep);
    if (!body)
        return NULL;
    char err[512];
    json_t *tmpl = params_validate(body, batch, is_url, targets, err, sizeof err);
    json_decref(body);
    if (!tmpl) {
        reply_message(rep, 400, "%s", err);
        return NULL;
    }
    long limit, remaining, n = (long)json_array_size(*targets);
    if (!ratelimit_take(req->user, n, &limit, &remaining)) {
        /* All or nothing: a batch over the remaining budget creates no job. */
        reply_message(
            rep, 429,
            "rate limit exceeded: %ld jobs per second, %ld left in this second, %ld asked", limit,
            remaining, n);
        rate_headers(rep, limit, remaining);
        json_decref(tmpl);
        json_decref(*targets);
        return NULL;
    }
    rate_headers(rep, limit, remaining);
    return tmpl;
}

void api_submit(struct request *req, struct reply *rep)
{
    int is_url;
    json_t *targets;
    json_t *tmpl = admit(req, rep, 0, &is_url, &targets);
    if (!tmpl)
        return;
    struct job *j = jobs_create(req->user, tmpl, json_string_value(json_array_get(targets, 0)),
                                is_url, req->host);
    if (j)
        values_add(is_url, targets, 1);
    json_decref(tmpl);
    json_decref(targets);
    if (!j) {
        reply_message(rep, 500, "out of memory");
        return;
    }
    /* Rendered before the job is set going, so the answer always shows it
     * pending even when it ends at once (job time 0). */
    size_t len;
    char *s = jobs_render(j, req->host, &len);
    runner_launch(j);
    runner_kick();
    jobs_put(j);
    if (!s)
        reply_message(rep, 500, "out of memory");
    else
        reply_raw(rep, 202, "application/json", s, len);
}

void api_submit_batch(struct request *req, struct reply *rep)
{
    int is_url;
    json_t *targets;
    json_t *tmpl = admit(req, rep, 1, &is_url, &targets);
    if (!tmpl)
        return;
    size_t n = json_array_size(targets);
    struct job **jobs = calloc(n, sizeof *jobs);
    json_t *list = json_array();
    int oom = !jobs || !list;
    for (size_t i = 0; !oom && i < n; i++) {
        jobs[i] = jobs_create(req->user, tmpl, json_string_value(json_array_get(targets, i)),
                              is_url, req->host);
        oom = !jobs[i] || json_array_append_new(list, jobs_object(jobs[i], req->host)) != 0;
    }
    size_t created = 0;
    for (; jobs && created < n && jobs[created]; created++) {
        runner_launch(jobs[created]);
        jobs_put(jobs[created]);
    }
    values_add(is_url, targets, created);
    runner_kick();
    free(jobs);
    json_decref(tmpl);
    json_decref(targets);
    if (oom) {
        json_decref(list);
        reply_message(rep, 500, "out of memory");
        return;
    }
    /* Keep the rate-limit headers set by admit(). */
    reply_json(rep, 202, json_pack("{s:o}", "queries", list));
}

static struct job *find_job(struct request *req, struct reply *rep)
{
    struct job *j = jobs_get_for(req->segs[2], req->user);
    if (!j)
        reply_message(rep, 404, "Job not found (unknown id, another user's, or expired)");
    return j;
}

void api_get_job(struct request *req, struct reply *rep)
{
    struct job *j = find_job(req, rep);
    if (!j)
        return;
    size_t len;
    char *s = jobs_render(j, req->host, &len);
    jobs_put(j);
    if (!s)
        reply_message(rep, 500, "out of memory");
    else
        reply_raw(rep, 200, "application/json", s, len);
}

static const char bad_type[] =
    "type must be raw, parsed, png, markdown or xhr (or a comma-separated list of them)";

void api_get_results(struct request *req, struct reply *rep)
{
    struct job *j = find_job(req, rep);
    if (!j)
        return;
    enum rtype types[RT__COUNT];
    int ntypes = results_types(request_arg(req, "type"), j, types);
    if (ntypes == 0) {
        jobs_put(j);
        reply_message(rep, 400, "%s", bad_type);
        return;
    }
    double updated;
    enum job_status st = jobs_status(j, &updated);
    char key[RT__COUNT + 1];
    for (int i = 0; i < ntypes; i++)
        key[i] = (char)('0' + types[i]);
    key[ntypes] = '\0';
    size_t len;
    char *cached = st == JOB_PENDING ? NULL : jobs_results_cached(j, key, &len);
    if (st == JOB_PENDING) {
        reply_empty(rep, 204);
    } else if (cached) {
        reply_raw(rep, 200, "application/json", cached, len);
    } else {
        json_t *res = results_build(j, st, updated, types, ntypes);
        reply_json(rep, 200, res); /* a NULL res (out of memory) becomes a 500 */
        if (rep->status == 200)
            jobs_results_store(j, key, rep->body, rep->len);
    }
    reply_header(rep, "x-oxylabs-job-status", jobs_status_name(st));
    jobs_put(j);
}

void api_get_content(struct request *req, struct reply *rep)
{
    struct job *j = find_job(req, rep);
    if (!j)
        return;
    enum rtype types[RT__COUNT];
    int ntypes = results_types(request_arg(req, "type"), j, types);
    char *end;
    long page = strtol(req->segs[4], &end, 10);
    int index = -1;
    for (int i = 0; *end == '\0' && i < results_npages(j); i++)
        if (results_page_number(j, i) == page)
            index = i;
    if (ntypes != 1) {
        reply_message(rep, 400, "type must be one of raw, parsed, png, markdown or xhr");
    } else if (index < 0) {
        reply_message(rep, 404, "page %s not found in this job's results", req->segs[4]);
    } else {
        enum job_status st = jobs_status(j, NULL);
        if (st == JOB_PENDING) {
            reply_empty(rep, 204);
        } else {
            char *body;
            size_t len;
            const char *ctype;
            if (results_content(j, st, index, types[0], &body, &len, &ctype) == 0)
                reply_raw(rep, 200, ctype, body, len);
            else
                reply_message(rep, 500, "out of memory");
        }
        reply_header(rep, "x-oxylabs-job-status", jobs_status_name(st));
    }
    jobs_put(j);
}

void api_callbacker_ips(struct request *req, struct reply *rep)
{
    (void)req;
    json_t *ips = json_array();
    for (int i = 0; ips && i < g_cfg.ncallbacker_ips; i++)
        json_array_append_new(ips, json_string(g_cfg.callbacker_ips[i]));
    reply_json(rep, 200, ips ? json_pack("{s:o}", "ips", ips) : NULL);
}
