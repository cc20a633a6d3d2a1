/* The job state machine: every allowed and forbidden transition, and the
 * state layer on a job table of its own (no client): each change is
 * published once as an event and to every hook, forbidden moves change
 * nothing, and verdicts move jobs as DESIGN.md says. */
#include "jobs.h"
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int allowed_by_design(pp_state f, pp_state t)
{
    static const struct {
        pp_state f, t;
    } ok[] = {
        {PP_NEW, PP_SUBMITTING},      {PP_NEW, PP_PENDING},        {PP_SUBMITTING, PP_PENDING},
        {PP_SUBMITTING, PP_REJECTED}, {PP_SUBMITTING, PP_UNKNOWN}, {PP_PENDING, PP_DONE},
        {PP_PENDING, PP_FAULTED},     {PP_PENDING, PP_EXPIRED},    {PP_DONE, PP_FETCHING},
        {PP_DONE, PP_FAULTED},        {PP_DONE, PP_EXPIRED},       {PP_FETCHING, PP_FETCHED},
        {PP_FETCHING, PP_DONE},       {PP_FETCHING, PP_FAULTED},   {PP_FETCHING, PP_EXPIRED},
        {PP_FETCHING, PP_FAILED},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i].f == f && ok[i].t == t)
            return 1;
    return 0;
}

static void test_table(void)
{
    for (int f = 0; f < PP_STATE_COUNT; f++)
        for (int t = 0; t < PP_STATE_COUNT; t++)
            CHECK_EQ_LONG(pp_transition_allowed((pp_state)f, (pp_state)t),
                          allowed_by_design((pp_state)f, (pp_state)t));
    static const pp_state finals[] = {PP_FETCHED, PP_FAULTED, PP_REJECTED,
                                      PP_UNKNOWN, PP_EXPIRED, PP_FAILED};
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        CHECK(pp_state_is_final(finals[i]));
        for (int t = 0; t < PP_STATE_COUNT; t++)
            CHECK(!pp_transition_allowed(finals[i], (pp_state)t));
    }
    static const pp_state moving[] = {PP_NEW, PP_SUBMITTING, PP_PENDING, PP_DONE, PP_FETCHING};
    for (size_t i = 0; i < sizeof moving / sizeof moving[0]; i++)
        CHECK(!pp_state_is_final(moving[i]));
    CHECK(!pp_transition_allowed(PP_PENDING, PP_PENDING));
    CHECK(!pp_transition_allowed((pp_state)-1, PP_NEW));
    CHECK(!pp_transition_allowed(PP_NEW, PP_STATE_COUNT));

    CHECK(strcmp(pp_state_name(PP_NEW), "new") == 0);
    CHECK(strcmp(pp_state_name(PP_FETCHING), "fetching") == 0);
    CHECK(strcmp(pp_state_name(PP_EXPIRED), "expired") == 0);
    CHECK(strcmp(pp_state_name(PP_FAILED), "failed") == 0);
    CHECK(pp_state_name(PP_STATE_COUNT) == NULL);
    CHECK(pp_state_name((pp_state)-3) == NULL);
}

/* ---- the state layer on its own job table */

typedef struct seen {
    pp_job job[64];
    pp_state from[64], to[64];
    size_t n;
} seen;

static void record(void *ud, pp_jobrec *j, pp_state from)
{
    seen *s = ud;
    if (s->n < 64) {
        s->job[s->n] = j->h;
        s->from[s->n] = from;
        s->to[s->n] = j->state;
        s->n++;
    }
}

static void noop_hook(void *ud, pp_jobrec *j, pp_state from)
{
    (void)ud;
    (void)j;
    (void)from;
}

/* The events queued since the last call: their states, in order, as
 * "submitting,pending,...". */
static const char *events(pp_evq *q, pp_job job)
{
    static char out[256];
    pp_event ev[32];
    size_t n = pp_evq_take(q, ev, 32);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind != PP_EVENT_JOB || ev[i].job != job)
            return "(another job's event)";
        if (i)
            strcat(out, ",");
        strcat(out, pp_state_name(ev[i].state));
    }
    return out;
}

static pp_answer http(long status, const char *body)
{
    pp_answer a;
    memset(&a, 0, sizeof a);
    a.http = 1;
    a.status = status;
    a.body = body;
    a.len = body ? strlen(body) : 0;
    return a;
}

static pp_verdict verdict(int kind, int status, const char *why)
{
    pp_verdict v;
    v.kind = kind;
    v.http_status = status;
    v.why = why;
    v.object = NULL;
    return v;
}

static pp_jobrec *pending_job(pp_jobtab *t, pp_evq *q, const char *id)
{
    pp_jobrec *j = pp_job_create(t);
    if (j && pp_state_attached(t, j, id) < 0)
        return NULL;
    pp_event ev[8];
    while (pp_evq_take(q, ev, 8) == 8)
        ;
    return j;
}

static void apply(pp_jobtab *t, pp_jobrec *j, int kind, int status, const char *body)
{
    pp_verdict v = verdict(kind, status, NULL);
    pp_answer a = http(status, body);
    pc_buf none = {0};
    char *no_tmp = NULL;
    pp_state_apply(t, j, &v, &a, &none, -1, &no_tmp);
}

static void test_layer(void)
{
    pp_evq q = {0};
    pp_jobtab t = {0};
    t.events = &q;
    t.base_url = "https://api.test";
    t.budget = 1 << 20;
    seen s = {{0}, {0}, {0}, 0};
    CHECK(pp_jobtab_hook(&t, record, &s) == 0);
    for (int i = 1; i < PP_MAX_HOOKS; i++)
        CHECK(pp_jobtab_hook(&t, noop_hook, NULL) == 0);
    CHECK(pp_jobtab_hook(&t, noop_hook, NULL) == -1);

    /* submitted and accepted: the id and the job object (its links
     * cleaned: only the service's own, on the base URL's scheme) */
    pp_jobrec *j = pp_job_create(&t);
    CHECK(j && j->state == PP_NEW && j->h == 1);
    pp_state_submitting(&t, j);
    pp_state_submitting(&t, j); /* once only */
    json_t *obj = json_loads("{\"id\":\"42\",\"status\":\"pending\",\"_links\":["
                             "{\"rel\":\"self\",\"href\":\"http://api.test/v1/queries/42\"},"
                             "{\"rel\":\"x\",\"href\":\"https://evil.test/steal\"}]}",
                             0, NULL);
    CHECK(pp_state_accepted(&t, j, "42", obj) == 0);
    CHECK(j->state == PP_PENDING && j->id && strcmp(j->id, "42") == 0);
    CHECK(strcmp(events(&q, j->h), "submitting,pending") == 0);
    CHECK(s.n == 2 && s.from[0] == PP_NEW && s.to[0] == PP_SUBMITTING);
    CHECK(s.from[1] == PP_SUBMITTING && s.to[1] == PP_PENDING && s.job[1] == j->h);
    CHECK(j->info && strstr(j->info, "https://api.test/v1/queries/42") && !strstr(j->info, "evil"));
    CHECK(pp_job_find_id(&t, "42") == j);
    /* accepted twice, or not submitting: nothing moves */
    CHECK(pp_state_accepted(&t, j, "43", obj) == -1);
    CHECK(strcmp(j->id, "42") == 0 && pp_job_find_id(&t, "43") == NULL);

    /* an id another job already has is refused: nothing changes */
    pp_jobrec *twin = pp_job_create(&t);
    pp_state_submitting(&t, twin);
    (void)events(&q, twin->h);
    s.n = 0;
    CHECK(pp_state_accepted(&t, twin, "42", obj) == -1);
    CHECK(twin->state == PP_SUBMITTING && twin->id == NULL && twin->info == NULL);
    CHECK(pp_job_find_id(&t, "42") == j);
    CHECK(s.n == 0 && strcmp(events(&q, twin->h), "") == 0);
    json_decref(obj);
    /* the caller makes it unknown, with the reason */
    pp_error e = {0};
    pp_err_set(&e, "the service's answer repeated an id", 202, NULL, 0);
    pp_state_refused(&t, twin, PP_UNKNOWN, &e);
    CHECK(twin->state == PP_UNKNOWN && twin->err.message && strstr(twin->err.message, "repeated"));
    CHECK(strcmp(events(&q, twin->h), "unknown") == 0);
    /* refusing a job still new passes through submitting */
    pp_jobrec *r = pp_job_create(&t);
    pp_state_refused(&t, r, PP_REJECTED, &e);
    CHECK(r->state == PP_REJECTED && strcmp(events(&q, r->h), "submitting,rejected") == 0);
    /* ... and a job past submitting is not refused */
    pp_state_refused(&t, j, PP_UNKNOWN, &e);
    CHECK(j->state == PP_PENDING && j->err.message == NULL);
    pp_err_clear(&e);

    /* attached: new -> pending with its id; a taken id or a job not new
     * is refused */
    pp_jobrec *at = pp_job_create(&t);
    CHECK(pp_state_attached(&t, at, "77") == 0 && at->state == PP_PENDING);
    CHECK(strcmp(events(&q, at->h), "pending") == 0);
    CHECK(pp_state_attached(&t, at, "78") == -1);
    pp_jobrec *at2 = pp_job_create(&t);
    CHECK(pp_state_attached(&t, at2, "77") == -1 && at2->state == PP_NEW && !at2->id);

    /* a status answer's job object becomes the info (our own request) */
    pp_verdict v = verdict(PP_V_PENDING, 200, NULL);
    v.object = json_loads("{\"id\":\"42\",\"status\":\"pending\",\"seen\":2}", 0, NULL);
    pp_answer a = http(200, "{}");
    pc_buf none = {0};
    char *no_tmp = NULL;
    CHECK(pp_state_apply(&t, j, &v, &a, &none, -1, &no_tmp) == PP_PENDING);
    CHECK(j->info && strstr(j->info, "\"seen\":2"));
    json_decref(v.object);
    CHECK(strcmp(events(&q, j->h), "") == 0);

    /* results in memory: pending -> done -> fetching -> fetched, the
     * body moved into the job */
    pc_buf body = {0};
    pc_buf_append(&body, "{\"results\":[]}", 14);
    v = verdict(PP_V_RESULTS, 200, NULL);
    s.n = 0;
    CHECK(pp_state_apply(&t, j, &v, &a, &body, -1, &no_tmp) == PP_FETCHED);
    CHECK(body.data == NULL && j->results.data && j->results.len == 14);
    CHECK(strcmp(events(&q, j->h), "done,fetching,fetched") == 0);
    CHECK(s.n == 3 && s.from[0] == PP_PENDING && s.from[2] == PP_FETCHING && s.to[2] == PP_FETCHED);
    /* a final job never moves again, and an fd handed in is closed */
    int fd = open("/dev/null", O_WRONLY);
    v = verdict(PP_V_FAULTED, 200, "job faulted");
    CHECK(pp_state_apply(&t, j, &v, &a, &none, fd, &no_tmp) == PP_FETCHED);
    CHECK(fcntl(fd, F_GETFD) == -1);
    CHECK(j->err.message == NULL && strcmp(events(&q, j->h), "") == 0);

    /* faulted: the job object says why when the answer does not */
    pp_jobrec *f = pending_job(&t, &q, "50");
    free(f->info);
    f->info = pp_strdup("{\"id\":\"50\",\"status\":\"faulted\",\"why\":\"blocked\"}");
    f->info_len = strlen(f->info);
    v = verdict(PP_V_FAULTED, 204, "job faulted");
    a = http(204, NULL);
    CHECK(pp_state_apply(&t, f, &v, &a, &none, -1, &no_tmp) == PP_FAULTED);
    CHECK(f->err.message && strcmp(f->err.message, "job faulted") == 0);
    CHECK(f->err.body && strstr(f->err.body, "blocked"));
    CHECK(strcmp(events(&q, f->h), "faulted") == 0);

    /* expired by a 404: the service's message */
    pp_jobrec *x = pending_job(&t, &q, "51");
    apply(&t, x, PP_V_EXPIRED, 404, "{\"message\":\"Job not found.\"}");
    CHECK(x->state == PP_EXPIRED && x->err.http_status == 404);
    CHECK(x->err.message && strstr(x->err.message, "Job not found."));

    /* says nothing / not ready: a pending job stays; a download goes back
     * to done */
    pp_jobrec *d = pending_job(&t, &q, "52");
    apply(&t, d, PP_V_NOT_READY, 204, NULL);
    apply(&t, d, PP_V_NOTHING, 500, "oops");
    CHECK(d->state == PP_PENDING && strcmp(events(&q, d->h), "") == 0);
    apply(&t, d, PP_V_DONE, 200, NULL);
    CHECK(d->state == PP_DONE);
    pp_state_fetching(&t, d);
    CHECK(d->state == PP_FETCHING);
    apply(&t, d, PP_V_NOTHING, 503, NULL);
    CHECK(d->state == PP_DONE && d->err.http_status == 503);
    CHECK(strcmp(events(&q, d->h), "done,fetching,done") == 0);
    pp_state_fetching(&t, d);
    pp_state_fetch_failed(&t, d, NULL);
    CHECK(d->state == PP_DONE);
    pp_state_fetch_failed(&t, d, NULL); /* not fetching: nothing */
    CHECK(d->state == PP_DONE);
    /* the results could not be stored: failed, with why */
    pp_state_fetching(&t, d);
    pp_err_set(&e, "/x/52.json: Permission denied", 0, NULL, 0);
    pp_state_store_failed(&t, d, &e);
    CHECK(d->state == PP_FAILED && strstr(d->err.message, "/x/52.json"));
    pp_err_clear(&e);
    apply(&t, d, PP_V_EXPIRED, 404, NULL);
    CHECK(d->state == PP_FAILED && strstr(d->err.message, "/x/52.json"));
    CHECK(strcmp(events(&q, d->h), "fetching,done,fetching,failed") == 0);

    /* a job not yet pending takes no verdict */
    pp_jobrec *n = pp_job_create(&t);
    apply(&t, n, PP_V_DONE, 200, NULL);
    CHECK(n->state == PP_NEW);

    pp_jobtab_free(&t);
    pp_evq_free(&q);
}

int main(void)
{
    test_table();
    test_layer();
    DONE();
}
