/* The job state machine (DESIGN.md). Every change of a job passes through
 * move(): it checks the transition table, sets the state, and publishes
 * the change -- an event for the host and a call to each hook (the
 * scheduler, a journal). The functions below turn what happened (a
 * submission answer, a verdict about an answer) into those moves. */
#include "jobs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[PP_STATE_COUNT] = {
    "new",     "submitting", "pending", "done",    "faulted", "fetching",
    "fetched", "rejected",   "unknown", "expired", "failed",
};

const char *pp_state_name(pp_state s)
{
    return ((int)s >= 0 && s < PP_STATE_COUNT) ? names[s] : 0;
}

int pp_state_is_final(pp_state s)
{
    switch (s) {
    case PP_FETCHED:
    case PP_FAULTED:
    case PP_REJECTED:
    case PP_UNKNOWN:
    case PP_EXPIRED:
    case PP_FAILED: return 1;
    default: return 0;
    }
}

#define B(s) (1u << (s))
/* allowed[from] is the set of states `from` may move to. */
static const unsigned allowed[PP_STATE_COUNT] = {
    /* new: submitted, or attached to an id the service has */
    [PP_NEW] = B(PP_SUBMITTING) | B(PP_PENDING),
    [PP_SUBMITTING] = B(PP_PENDING) | B(PP_REJECTED) | B(PP_UNKNOWN),
    [PP_PENDING] = B(PP_DONE) | B(PP_FAULTED) | B(PP_EXPIRED),
    [PP_DONE] = B(PP_FETCHING) | B(PP_FAULTED) | B(PP_EXPIRED),
    /* fetching -> done: the download gave nothing and may be tried again */
    [PP_FETCHING] = B(PP_FETCHED) | B(PP_DONE) | B(PP_FAULTED) | B(PP_EXPIRED) | B(PP_FAILED),
};

int pp_transition_allowed(pp_state from, pp_state to)
{
    if ((int)from < 0 || from >= PP_STATE_COUNT || (int)to < 0 || to >= PP_STATE_COUNT)
        return 0;
    return (allowed[from] & B(to)) != 0;
}

int pp_jobtab_hook(pp_jobtab *t, pp_change_fn fn, void *ud)
{
    if (t->nhooks >= PP_MAX_HOOKS)
        return -1;
    t->hooks[t->nhooks].fn = fn;
    t->hooks[t->nhooks].ud = ud;
    t->nhooks++;
    return 0;
}

/* The single transition point. */
static int move(pp_jobtab *t, pp_jobrec *j, pp_state to)
{
    pp_state from = j->state;
    if (!pp_transition_allowed(from, to))
        return -1;
    j->state = to;
    pp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = PP_EVENT_JOB;
    ev.job = j->h;
    ev.state = to;
    /* An event lost to memory exhaustion still leaves the state right:
     * hosts read pp_job_state when they wake. */
    (void)pp_evq_push(t->events, &ev);
    for (size_t i = 0; i < t->nhooks; i++)
        t->hooks[i].fn(t->hooks[i].ud, j, from);
    return 0;
}

/* Keeps a job object from an answer to one of our own requests as the
 * job's info; links that leave the service are dropped first. */
static void keep_info(pp_jobtab *t, pp_jobrec *j, json_t *obj)
{
    if (!obj || pp_links_clean_job(obj, t->base_url) < 0)
        return;
    size_t len = 0;
    char *text = pc_json_dump(obj, &len);
    if (!text)
        return;
    pp_info_set(t, j, text, len);
}

void pp_state_submitting(pp_jobtab *t, pp_jobrec *j)
{
    if (j->state == PP_NEW)
        move(t, j, PP_SUBMITTING);
}

int pp_job_set_id(pp_jobtab *t, pp_jobrec *j, const char *id);

int pp_state_accepted(pp_jobtab *t, pp_jobrec *j, const char *id, json_t *obj)
{
    if (j->state != PP_SUBMITTING || pp_job_set_id(t, j, id) < 0)
        return -1;
    keep_info(t, j, obj);
    move(t, j, PP_PENDING);
    return 0;
}

int pp_state_attached(pp_jobtab *t, pp_jobrec *j, const char *id)
{
    if (j->state != PP_NEW || pp_job_set_id(t, j, id) < 0)
        return -1;
    move(t, j, PP_PENDING);
    return 0;
}

void pp_state_refused(pp_jobtab *t, pp_jobrec *j, pp_state to, const pp_error *e)
{
    pp_state_submitting(t, j);
    if (j->state != PP_SUBMITTING)
        return;
    pp_err_copy(&j->err, e);
    move(t, j, to);
}

void pp_state_fetching(pp_jobtab *t, pp_jobrec *j)
{
    if (j->state == PP_DONE)
        move(t, j, PP_FETCHING);
}

void pp_state_fetch_failed(pp_jobtab *t, pp_jobrec *j, const pp_error *e)
{
    if (j->state != PP_FETCHING)
        return;
    if (e)
        pp_err_copy(&j->err, e);
    move(t, j, PP_DONE);
}

void pp_state_store_failed(pp_jobtab *t, pp_jobrec *j, const pp_error *e)
{
    if (j->state != PP_FETCHING)
        return;
    pp_err_copy(&j->err, e);
    move(t, j, PP_FAILED);
}

int pp_state_restored(pp_jobtab *t, pp_jobrec *j, const char *id, pp_state to,
                      const char *results_path, const char *error)
{
    char *path = NULL;
    if (to == PP_FETCHED && !(path = pp_strdup(results_path)))
        return -1;
    if (pp_state_attached(t, j, id) < 0) {
        free(path);
        return -1;
    }
    if (to == PP_FETCHED) {
        free(j->results_path);
        j->results_path = path;
        j->results_temporary = 0;
        move(t, j, PP_DONE);
        move(t, j, PP_FETCHING);
        move(t, j, PP_FETCHED);
    } else if (to == PP_FAULTED || to == PP_EXPIRED) {
        pp_err_set(&j->err, error ? error : pp_state_name(to), 0, NULL, 0);
        move(t, j, to);
    }
    return 0;
}

static void set_error(pp_jobrec *j, const pp_verdict *v, const pp_answer *a, const char *why)
{
    if (v->why || why)
        pp_err_set(&j->err, why ? why : v->why, v->http_status, a ? a->body : NULL,
                   a && a->body ? a->len : 0);
    else if (a && a->http)
        pp_err_from_http(&j->err, a->status, a->body, a->len);
    else if (a && a->error)
        pp_err_set(&j->err, a->error, 0, NULL, 0);
}

/* Results arrived: keep them (memory or file) and end fetched, or failed
 * when they could not be stored. */
static pp_state take_results(pp_jobtab *t, pp_jobrec *j, pc_buf *results, int tmp_fd,
                             char **tmp_path)
{
    if (j->state == PP_PENDING)
        move(t, j, PP_DONE);
    if (j->state == PP_DONE)
        move(t, j, PP_FETCHING);
    if (j->state != PP_FETCHING)
        return j->state;
    pp_results_drop(t, j);
    if (tmp_fd < 0) {
        pc_buf_move(&j->results, results); /* already counted in the budget */
        return move(t, j, PP_FETCHED) < 0 ? j->state : PP_FETCHED;
    }
    int e = pp_results_tmp_finish(tmp_fd, j->results_dir != NULL);
    char *final = NULL;
    if (!e && j->results_dir) {
        final = pp_results_file(j);
        e = final ? pp_results_commit(tmp_path, final) : ENOMEM;
    }
    if (e) {
        const char *where = final ? final : (*tmp_path ? *tmp_path : j->results_dir);
        pp_err_errno(&j->err, where ? where : "results", e);
        if (*tmp_path) {
            unlink(*tmp_path);
            free(*tmp_path);
            *tmp_path = NULL;
        }
        free(final);
        move(t, j, PP_FAILED);
        return j->state;
    }
    free(j->results_path);
    j->results_path = NULL;
    if (final) {
        pp_results_renamed(t, j->results_dir);
        free(final); /* named again when asked for: 50,000 jobs, 4 MB of names */
        j->results_in_dir = 1;
        j->results_temporary = 0;
    } else {
        j->results_path = *tmp_path; /* a spool file */
        *tmp_path = NULL;
        j->results_temporary = 1;
    }
    move(t, j, PP_FETCHED);
    return j->state;
}

pp_state pp_state_apply(pp_jobtab *t, pp_jobrec *j, const pp_verdict *v, const pp_answer *a,
                        pc_buf *results, int tmp_fd, char **tmp_path)
{
    if (pp_state_is_final(j->state) || j->state < PP_PENDING) {
        if (tmp_fd >= 0)
            close(tmp_fd);
        return j->state;
    }
    if (v->object && (v->kind == PP_V_PENDING || v->kind == PP_V_DONE || v->kind == PP_V_FAULTED))
        keep_info(t, j, v->object);
    switch (v->kind) {
    case PP_V_RESULTS: return take_results(t, j, results, tmp_fd, tmp_path);
    case PP_V_DONE:
        if (j->state == PP_PENDING)
            move(t, j, PP_DONE);
        break;
    case PP_V_FAULTED:
        set_error(j, v, a, "job faulted");
        size_t ilen = 0;
        const char *info = pp_info_get(t, j, &ilen);
        if (info && !j->err.body) {
            /* the job object says why, when the answer itself did not */
            pp_error e = {0};
            pp_err_set(&e, "job faulted", v->http_status, info, ilen);
            pp_err_copy(&j->err, &e);
            pp_err_clear(&e);
        }
        move(t, j, PP_FAULTED);
        break;
    case PP_V_EXPIRED:
        set_error(j, v, a, NULL);
        move(t, j, PP_EXPIRED);
        break;
    case PP_V_NOT_READY:
    case PP_V_NOTHING:
        if (v->kind == PP_V_NOTHING && a)
            set_error(j, v, a, NULL);
        if (j->state == PP_FETCHING)
            move(t, j, PP_DONE);
        break;
    default: /* PP_V_PENDING: nothing moves */ break;
    }
    if (tmp_fd >= 0)
        close(tmp_fd);
    return j->state;
}
