/* What the service's answers mean, in one place. Every reader is a pure
 * function of the answer: the state layer applies the verdicts.
 *
 * The results endpoint is the proof that a job is done: a 200 brings the
 * results (or, when every page says 613, says it faulted); a 204 says
 * pending, or with x-oxylabs-job-status says faulted or (done: results no
 * longer kept) expired; a 404 says the job is gone. */
#include "answers.h"

#include <string.h>

void pp_answer_from_req(pp_answer *a, const pp_req *r, const char *path)
{
    memset(a, 0, sizeof *a);
    a->http = r->code == CURLE_OK;
    a->status = a->http ? r->status : 0;
    a->jobhdr = r->jobhdr;
    a->body = r->resp.data;
    a->len = r->resp.len;
    a->path =
        (a->http && a->status >= 200 && a->status <= 299 && r->sink == PP_SINK_FILE) ? path : NULL;
    a->error = a->http ? NULL : (r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->code));
    a->never_sent = !a->http && pp_never_sent(r->code, r->sent);
}

static pp_verdict verdict(int kind, const pp_answer *a, const char *why)
{
    pp_verdict v;
    v.kind = kind;
    v.http_status = a->http ? (int)a->status : 0;
    v.why = why;
    v.object = NULL;
    return v;
}

int pp_results_all_faulted(json_t *root)
{
    json_t *res = json_is_object(root) ? json_object_get(root, "results") : NULL;
    if (!json_is_array(res) || json_array_size(res) == 0)
        return 0;
    size_t i;
    json_t *item;
    json_array_foreach(res, i, item) {
        json_t *sc = json_is_object(item) ? json_object_get(item, "status_code") : NULL;
        if (!json_is_integer(sc) || json_integer_value(sc) != 613)
            return 0;
    }
    return 1;
}

/* A 200 without a done header is read back (a whole results file,
 * possibly megabytes) to look for the 613 of a faulted job; a service that
 * says the job is done is believed. */
static int results_faulted(const pp_answer *a)
{
    if (a->jobhdr == PP_HDR_FAULTED)
        return 1;
    if (a->jobhdr == PP_HDR_DONE)
        return 0;
    json_t *root = NULL;
    if (a->path)
        root = json_load_file(a->path, 0, NULL);
    else if (a->body)
        root = json_loadb(a->body, a->len, 0, NULL);
    int f = root ? pp_results_all_faulted(root) : 0;
    if (root)
        json_decref(root);
    return f;
}

pp_verdict pp_read_results(const pp_answer *a)
{
    if (!a->http)
        return verdict(PP_V_NOTHING, a, NULL);
    switch (a->status) {
    case 200:
        return results_faulted(a) ? verdict(PP_V_FAULTED, a, "job faulted")
                                  : verdict(PP_V_RESULTS, a, NULL);
    case 204:
        switch (a->jobhdr) {
        case PP_HDR_FAULTED: return verdict(PP_V_FAULTED, a, "job faulted");
        case PP_HDR_DONE: return verdict(PP_V_EXPIRED, a, "results no longer available");
        case PP_HDR_PENDING: return verdict(PP_V_PENDING, a, NULL);
        default: return verdict(PP_V_NOT_READY, a, NULL);
        }
    case 404: return verdict(PP_V_EXPIRED, a, NULL);
    default: return verdict(PP_V_NOTHING, a, NULL);
    }
}

int pp_read_job_status(json_t *obj)
{
    const char *st = json_is_object(obj) ? json_string_value(json_object_get(obj, "status")) : NULL;
    if (!st)
        return PP_V_NOTHING;
    if (!strcmp(st, "pending"))
        return PP_V_PENDING;
    if (!strcmp(st, "done"))
        return PP_V_DONE;
    if (!strcmp(st, "faulted"))
        return PP_V_FAULTED;
    return PP_V_NOTHING;
}

pp_verdict pp_read_status(const pp_answer *a)
{
    if (!a->http)
        return verdict(PP_V_NOTHING, a, NULL);
    if (a->status == 404)
        return verdict(PP_V_EXPIRED, a, NULL);
    if (a->status != 200 || !a->body)
        return verdict(PP_V_NOTHING, a, NULL);
    json_t *obj = json_loadb(a->body, a->len, 0, NULL);
    int kind = pp_read_job_status(obj);
    if (kind == PP_V_NOTHING) {
        if (obj)
            json_decref(obj);
        return verdict(PP_V_NOTHING, a, "the status answer is not a job object");
    }
    pp_verdict v = verdict(kind, a, kind == PP_V_FAULTED ? "job faulted" : NULL);
    v.object = obj;
    return v;
}

int pp_read_callback(const char *body, size_t len, char *id, int *claim)
{
    json_t *obj = body ? json_loadb(body, len, 0, NULL) : NULL;
    char buf[32];
    const char *s = json_is_object(obj) ? pp_json_id(obj, buf, sizeof buf) : NULL;
    int kind = pp_read_job_status(obj);
    int ok = s && pp_id_valid(s) && kind != PP_V_NOTHING;
    if (ok) {
        strcpy(id, s); /* pp_id_valid bounds it by PP_ID_MAX */
        *claim = kind;
    }
    if (obj)
        json_decref(obj);
    return ok ? 0 : -1;
}

int pp_read_submission(const pp_answer *a)
{
    if (!a->http)
        return a->never_sent ? PP_SUB_RETRY : PP_SUB_UNKNOWN;
    if (a->status >= 200 && a->status <= 299)
        return PP_SUB_ACCEPTED;
    if (a->status == 429)
        return PP_SUB_RETRY;
    if (a->status >= 400 && a->status <= 499)
        return PP_SUB_REJECTED;
    return PP_SUB_UNKNOWN;
}

json_t *pp_read_job_item(const char *text, size_t len, char *id, const char **why)
{
    json_t *obj = json_loadb(text, len, 0, NULL);
    if (!json_is_object(obj)) {
        *why = "the service's answer did not list this job";
        if (obj)
            json_decref(obj);
        return NULL;
    }
    char buf[32];
    const char *s = pp_json_id(obj, buf, sizeof buf);
    if (!s || !pp_id_valid(s)) {
        *why = "the service's answer gave this job no valid id";
        json_decref(obj);
        return NULL;
    }
    strcpy(id, s); /* pp_id_valid bounds it by PP_ID_MAX */
    return obj;
}
