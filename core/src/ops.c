/* Operations: the host-visible handle of a submission, a status check, a
 * download or a raw API call. Finished operations stay until pp_op_free;
 * one freed while in flight is destroyed when its request ends. What a
 * refresh or a download says about its job goes through the answers and
 * state layers like any poll's answer. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pp_oprec *pp_op_get(pp_client *c, pp_op h)
{
    if (!c || h == 0 || h > c->nops)
        return NULL;
    pp_oprec *o = c->ops[h - 1];
    return (o && !o->released) ? o : NULL;
}

pp_oprec *pp_op_create(pp_client *c, int kind)
{
    if (c->nops >= UINT32_MAX - 1)
        return NULL;
    if (pp_table_reserve((void ***)&c->ops, &c->capops, c->nops, 64) < 0)
        return NULL;
    pp_oprec *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->h = (pp_op)(c->nops + 1);
    o->kind = kind;
    c->ops[c->nops++] = o;
    return o;
}

void pp_op_destroy(pp_client *c, pp_oprec *o)
{
    if (o->h && o->h <= c->nops && c->ops[o->h - 1] == o)
        c->ops[o->h - 1] = NULL;
    pc_buf_free(&o->body);
    pp_err_clear(&o->err);
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
    }
    free(o->path);
    free(o->jobs);
    pp_journal_entries_free(o);
    if (o->params)
        json_decref(o->params);
    free(o->values);
    free(o->value_at);
    free(o);
}

void pp_op_finish(pp_client *c, pp_oprec *o)
{
    o->done = 1;
    if (o->params) {
        json_decref(o->params);
        o->params = NULL;
    }
    free(o->values);
    free(o->value_at);
    o->values = NULL;
    o->value_at = NULL;
    if (o->released) {
        pp_op_destroy(c, o);
        return;
    }
    pp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = PP_EVENT_OP;
    ev.job = o->job;
    ev.op = o->h;
    (void)pp_evq_push(&c->events, &ev);
}

void pp_ops_free_all(pp_client *c)
{
    for (size_t i = 0; i < c->nops; i++)
        if (c->ops[i])
            pp_op_destroy(c, c->ops[i]);
    free(c->ops);
    c->ops = NULL;
    c->nops = c->capops = 0;
}

/* ---- public */

int pp_op_done(pp_client *c, pp_op op)
{
    pp_oprec *o = pp_op_get(c, op);
    return o ? o->done : 0;
}

int pp_op_status(pp_client *c, pp_op op)
{
    pp_oprec *o = pp_op_get(c, op);
    return o ? (int)o->status : 0;
}

const char *pp_op_body(pp_client *c, pp_op op, size_t *len)
{
    pp_oprec *o = pp_op_get(c, op);
    const char *b = o ? o->body.data : NULL;
    if (len)
        *len = b ? o->body.len : 0;
    return b;
}

const pp_error *pp_op_error(pp_client *c, pp_op op)
{
    pp_oprec *o = pp_op_get(c, op);
    return (o && o->has_err && o->err.message) ? &o->err : NULL;
}

void pp_op_free(pp_client *c, pp_op op)
{
    pp_oprec *o = pp_op_get(c, op);
    if (!o)
        return;
    if (o->done)
        pp_op_destroy(c, o);
    else
        o->released = 1;
}

const pp_job *pp_op_jobs(pp_client *c, pp_op op, size_t *count)
{
    pp_oprec *o = pp_op_get(c, op);
    if (count)
        *count = o ? o->njobs : 0;
    return o ? o->jobs : NULL;
}

/* What a refresh or a download says about its job. */
static void job_effects(pp_client *c, pp_oprec *o, pp_req *r, const pp_answer *a)
{
    pp_jobrec *j = pp_job_get(&c->jobs, o->job);
    if (!j)
        return;
    pp_verdict v = o->kind == PP_OP_REFRESH ? pp_read_status(a) : pp_read_results(a);
    if (v.kind == PP_V_NOTHING || v.kind == PP_V_NOT_READY) {
        /* the operation reports its own failure; the job goes on as it was */
        if (v.object)
            json_decref(v.object);
        return;
    }
    pc_buf none = {0};
    char *no_tmp = NULL;
    if (v.kind == PP_V_RESULTS && j->state != PP_FETCHED)
        pp_results_drop(&c->jobs, j);
    pp_state_apply(&c->jobs, j, &v, a, &none, -1, &no_tmp);
    if (v.kind == PP_V_RESULTS && o->path && j->state == PP_FETCHED && !j->results_path &&
        !j->results_in_dir) {
        j->results_path = pp_strdup(o->path);
        j->results_temporary = 0;
    }
    if (v.object)
        json_decref(v.object);
    (void)r;
}

static void on_answer(void *ctx, pp_req *r)
{
    pp_client *c = ctx;
    pp_oprec *o = (r->owner && r->owner <= c->nops) ? c->ops[r->owner - 1] : NULL;
    if (!o) {
        pp_req_free(r);
        return;
    }
    int ok = r->code == CURLE_OK && r->status >= 200 && r->status <= 299;
    if (o->tmp) {
        /* a download to a file: the whole answer, made durable, renamed */
        int fd = pp_req_take_fd(r);
        int e = fd >= 0 ? pp_results_tmp_finish(fd, ok) : 0;
        if (ok && !e)
            e = pp_results_commit(&o->tmp, o->path);
        if (e && ok) {
            pp_err_errno(&o->err, o->path, e);
            o->has_err = 1;
            ok = 0;
        }
    }
    pp_answer a;
    pp_answer_from_req(&a, r, ok && o->path ? o->path : NULL);
    if (!o->released && (ok || r->code == CURLE_OK))
        job_effects(c, o, r, &a);
    o->status = r->code == CURLE_OK ? r->status : 0;
    if (o->has_err) {
        /* the file could not be written */
    } else if (r->code != CURLE_OK) {
        pp_err_set(&o->err, a.error, 0, NULL, 0);
        o->has_err = 1;
    } else if (!ok) {
        pp_err_from_http(&o->err, r->status, r->resp.data, r->resp.len);
        o->has_err = 1;
    } else {
        pc_buf_move(&o->body, &r->resp);
    }
    if (o->tmp) {
        unlink(o->tmp); /* the download failed: no partial file */
        free(o->tmp);
        o->tmp = NULL;
    }
    pp_req_free(r);
    pp_op_finish(c, o);
}

/* An operation of one request, queued at high priority. */
static pp_op start_op(pp_client *c, int kind, pp_job job, const char *method, const char *path,
                      const char *body, size_t len, const char *file, pp_error *err)
{
    pp_oprec *o = pp_op_create(c, kind);
    pp_req *r = o ? pp_req_new(&c->tp, method, path, body, len,
                               strcmp(method, "POST") && strcmp(method, "PATCH") ? PP_REPEAT_SAFE
                                                                                 : PP_REPEAT_ONCE,
                               on_answer, c)
                  : NULL;
    if (!r) {
        if (o)
            pp_op_destroy(c, o);
        pp_fail(c, err, pp_oom_message);
        return 0;
    }
    o->job = job;
    r->owner = o->h;
    r->high = 1;
    if (file) {
        size_t n = strlen(file) + 16;
        o->path = pp_strdup(file);
        o->tmp = malloc(n);
        int fd = -1;
        if (o->path && o->tmp) {
            snprintf(o->tmp, n, "%s.tmp-XXXXXX", file);
            fd = mkstemp(o->tmp);
        }
        if (fd < 0) {
            int e = (o->path && o->tmp) ? errno : ENOMEM;
            free(o->tmp);
            o->tmp = NULL;
            pp_req_free(r);
            pp_op_destroy(c, o);
            pp_fail_errno(c, err, file, e);
            return 0;
        }
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        pp_req_sink_fd(r, fd);
    }
    pp_transport_send(&c->tp, r);
    return o->h;
}

static pp_jobrec *job_with_id(pp_client *c, pp_job job, pp_error *err)
{
    pp_jobrec *j = c ? pp_job_get(&c->jobs, job) : NULL;
    if (!j)
        pp_fail(c, err, "no such job");
    else if (!j->id)
        pp_fail(c, err, "the job has no id yet");
    else
        return j;
    return NULL;
}

pp_op pp_refresh(pp_client *c, pp_job job, pp_error *err)
{
    pp_jobrec *j = job_with_id(c, job, err);
    if (!j)
        return 0;
    char path[PP_ID_MAX + 32];
    snprintf(path, sizeof path, "/v1/queries/%s", j->id);
    return start_op(c, PP_OP_REFRESH, job, "GET", path, NULL, 0, NULL, err);
}

/* Result types go into the query string: letters, digits, ',', '_', '-'. */
int pp_type_valid(const char *t);
int pp_type_valid(const char *t)
{
    size_t n = 0;
    for (; t[n]; n++) {
        char ch = t[n];
        if (n >= 64 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                         (ch >= '0' && ch <= '9') || ch == ',' || ch == '_' || ch == '-'))
            return 0;
    }
    return n > 0;
}

pp_op pp_fetch(pp_client *c, pp_job job, const char *type, const char *path, pp_error *err)
{
    pp_jobrec *j = job_with_id(c, job, err);
    if (!j)
        return 0;
    if (type && !pp_type_valid(type)) {
        pp_fail(c, err, "type must be a result type such as raw, parsed or png");
        return 0;
    }
    char url[PP_ID_MAX + 64 + 40];
    if (type)
        snprintf(url, sizeof url, "/v1/queries/%s/results?type=%s", j->id, type);
    else
        snprintf(url, sizeof url, "/v1/queries/%s/results", j->id);
    return start_op(c, PP_OP_FETCH, job, "GET", url, NULL, 0, path, err);
}

pp_op pp_request(pp_client *c, const char *method, const char *path, const char *body, size_t len,
                 pp_error *err)
{
    if (!c)
        return 0;
    if (!method || !path || path[0] != '/') {
        pp_fail(c, err, "path must begin with /");
        return 0;
    }
    if (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "PUT") &&
        strcmp(method, "DELETE") && strcmp(method, "PATCH") && strcmp(method, "HEAD")) {
        pp_fail(c, err, "method must be GET, POST, PUT, DELETE, PATCH or HEAD");
        return 0;
    }
    return start_op(c, PP_OP_REQUEST, 0, method, path, body, body ? len : 0, NULL, err);
}
