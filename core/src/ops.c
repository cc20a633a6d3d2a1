/* Operations: the host-visible handle of a submission, a status check, a
 * download or a raw API call. Finished operations stay until pp_op_free;
 * one freed while in flight is destroyed when its request ends. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    pp_buf_free(&o->body);
    pp_err_clear(&o->err);
    free(o->path);
    free(o->jobs);
    if (o->params)
        json_decref(o->params);
    if (o->values)
        json_decref(o->values);
    free(o);
}

void pp_op_finish(pp_client *c, pp_oprec *o)
{
    o->done = 1;
    if (o->params) {
        json_decref(o->params);
        o->params = NULL;
    }
    if (o->values) {
        json_decref(o->values);
        o->values = NULL;
    }
    if (o->released) {
        pp_op_destroy(c, o);
        return;
    }
    pp_event ev;
    ev.kind = PP_EVENT_OP;
    ev.job = o->job;
    ev.state = PP_NEW;
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

/* An operation of one request, queued at high priority. */
static pp_op start_op(pp_client *c, int kind, pp_job job, const char *method,
                      const char *path, const char *body, size_t len,
                      const char *file)
{
    pp_oprec *o = pp_op_create(c, kind);
    if (!o)
        return 0;
    o->job = job;
    pp_req *r = pp_req_new(c, PP_RK_OP, method, path, body, len);
    if (!r || (file && (!(o->path = pp_strdup(file)) || pp_req_set_path_sink(r, file) < 0))) {
        if (r)
            pp_req_free(r);
        pp_op_destroy(c, o);
        return 0;
    }
    r->op = o->h;
    r->high = 1;
    pp_engine_enqueue(c, r);
    return o->h;
}

pp_op pp_refresh(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (!j || !j->id)
        return 0;
    char path[96 + 32];
    if (strlen(j->id) > 96)
        return 0;
    snprintf(path, sizeof path, "/v1/queries/%s", j->id);
    return start_op(c, PP_OP_REFRESH, job, "GET", path, NULL, 0, NULL);
}

static int type_ok(const char *t)
{
    for (; *t; t++) {
        char ch = *t;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == ',' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

pp_op pp_fetch(pp_client *c, pp_job job, const char *type, const char *path)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (!j || !j->id || strlen(j->id) > 96)
        return 0;
    if (type && (!*type || strlen(type) > 64 || !type_ok(type)))
        return 0;
    char url[96 + 64 + 40];
    if (type)
        snprintf(url, sizeof url, "/v1/queries/%s/results?type=%s", j->id, type);
    else
        snprintf(url, sizeof url, "/v1/queries/%s/results", j->id);
    pp_op h = start_op(c, PP_OP_FETCH, job, "GET", url, NULL, 0, path);
    if (h && j->state == PP_DONE)
        pp_job_transition(c, j, PP_FETCHING);
    return h;
}

pp_op pp_request(pp_client *c, const char *method, const char *path,
                 const char *body, size_t len)
{
    if (!c || !method || !path || path[0] != '/')
        return 0;
    if (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "PUT") &&
        strcmp(method, "DELETE") && strcmp(method, "PATCH") && strcmp(method, "HEAD"))
        return 0;
    return start_op(c, PP_OP_REQUEST, 0, method, path, body, body ? len : 0, NULL);
}

/* A fetch or refresh answer also tells something about the job. */
static void op_job_effects(pp_client *c, pp_oprec *o, pp_req *r)
{
    pp_jobrec *j = pp_job_get(c, o->job);
    if (!j)
        return;
    if (r->code == CURLE_OK && r->status == 404) {
        if (j->state == PP_PENDING || j->state == PP_DONE || j->state == PP_FETCHING) {
            pp_err_from_http(&j->err, 404, r->resp.data, r->resp.len);
            pp_job_transition(c, j, PP_EXPIRED);
        }
        return;
    }
    if (o->kind == PP_OP_REFRESH) {
        if (r->code == CURLE_OK && r->status == 200 && r->resp.data) {
            json_t *obj = json_loadb(r->resp.data, r->resp.len, 0, NULL);
            if (json_is_object(obj))
                pp_job_apply_object(c, j, obj, 1);   /* fetched only if watched */
            if (obj)
                json_decref(obj);
        }
        return;
    }
    /* fetch */
    if (r->code == CURLE_OK && r->status == 200) {
        if (r->jobhdr == PP_HDR_FAULTED) {
            if (j->state == PP_PENDING || j->state == PP_DONE || j->state == PP_FETCHING) {
                pp_err_set(&j->err, "job faulted", 0, NULL, 0);
                pp_job_transition(c, j, PP_FAULTED);
            }
            return;
        }
        if (j->state == PP_PENDING)
            pp_job_transition(c, j, PP_DONE);
        if (j->state == PP_DONE)
            pp_job_transition(c, j, PP_FETCHING);
        if (j->state == PP_FETCHING) {
            if (o->path) {
                char *p = pp_strdup(o->path);
                if (p) {
                    free(j->results_path);
                    j->results_path = p;
                    j->results_in_file = 1;
                }
            }
            pp_job_transition(c, j, PP_FETCHED);
        }
        return;
    }
    if (r->code == CURLE_OK && r->status == 204) {
        if (r->jobhdr == PP_HDR_FAULTED && (j->state == PP_PENDING || j->state == PP_FETCHING)) {
            pp_err_set(&j->err, "job faulted", 0, NULL, 0);
            pp_job_transition(c, j, PP_FAULTED);
        } else if (r->jobhdr == PP_HDR_DONE && j->state != PP_FETCHED) {
            pp_err_set(&j->err, "results no longer available", 204, NULL, 0);
            pp_job_transition(c, j, PP_EXPIRED);
        }
    }
    if (j->state == PP_FETCHING) {
        pp_job_transition(c, j, PP_DONE);
        if (j->watched && c->poll.fetch && !j->poll_req)
            pp_poll_start(c, j, pp_now_ms() + (uint64_t)c->poll.min_ms);
    }
}

void pp_op_on_answer(pp_client *c, pp_req *r)
{
    pp_oprec *o = (r->op && r->op <= c->nops) ? c->ops[r->op - 1] : NULL;
    if (!o) {
        pp_req_free(r);
        return;
    }
    if (!o->released)
        op_job_effects(c, o, r);
    o->status = r->code == CURLE_OK ? r->status : 0;
    if (r->code != CURLE_OK) {
        pp_err_set(&o->err, r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->code),
                   0, NULL, 0);
        o->has_err = 1;
    } else if (r->status < 200 || r->status > 299) {
        pp_err_from_http(&o->err, r->status, r->resp.data, r->resp.len);
        o->has_err = 1;
    } else {
        pp_buf_move(&o->body, &r->resp);
    }
    pp_req_free(r);
    pp_op_finish(c, o);
}
