/* Callback intake. A callback is a hint, never proof: anybody who can
 * reach the receiver can post one, so its body is read only for the id and
 * the status it claims, and the claim goes to the scheduler, which checks
 * it with the service (the results download for "done", a status request
 * for "faulted"). A callback never changes a job nor its info by itself.
 *
 * A job can end before the answer to its (batch) submission arrives: while
 * submissions are out, claims for unknown ids are kept -- the id and the
 * claim only, within a byte cap -- and handed over when the id arrives.
 *
 * Also here: where callbacks come in besides the listener (the URL of
 * pp_expect_callbacks) and the safety-net delay of jobs expecting them. */
#include "client.h"

#include <stdlib.h>
#include <string.h>

#define EARLY_MAX_BYTES ((size_t)1 << 20)
#define DEFAULT_SAFETY_MIN_MS 30000L
#define DEFAULT_SAFETY_FACTOR 3.0

static void early_clear(pp_client *c)
{
    for (size_t i = 0; i < c->early_n; i++)
        free(c->early[i].id);
    c->early_n = 0;
    c->early_bytes = 0;
}

/* 1 when kept. The oldest claims go first when the cap is reached. */
static int early_keep(pp_client *c, const char *id, int claim)
{
    if (!c->submits_inflight) {
        early_clear(c);
        return 0;
    }
    size_t cost = strlen(id) + 1 + sizeof(pp_early);
    while (c->early_n && c->early_bytes + cost > EARLY_MAX_BYTES) {
        c->early_bytes -= strlen(c->early[0].id) + 1 + sizeof(pp_early);
        free(c->early[0].id);
        memmove(c->early, c->early + 1, (c->early_n - 1) * sizeof *c->early);
        c->early_n--;
    }
    if (c->early_n == c->early_cap) {
        size_t cap = c->early_cap ? c->early_cap * 2 : 64;
        pp_early *v = realloc(c->early, cap * sizeof *v);
        if (!v)
            return 0;
        c->early = v;
        c->early_cap = cap;
    }
    char *copy = pp_strdup(id);
    if (!copy)
        return 0;
    c->early[c->early_n].id = copy;
    c->early[c->early_n].claim = claim;
    c->early_n++;
    c->early_bytes += cost;
    return 1;
}

void pp_callback_early(pp_client *c, pp_jobrec *j)
{
    if (!j) {
        early_clear(c); /* no submission is out: nothing to wait for */
        return;
    }
    for (size_t i = 0; i < c->early_n; i++) {
        if (strcmp(c->early[i].id, j->id) != 0)
            continue;
        int claim = c->early[i].claim;
        c->early_bytes -= strlen(c->early[i].id) + 1 + sizeof(pp_early);
        free(c->early[i].id);
        c->early[i] = c->early[--c->early_n];
        PP_DEBUG(&c->tp.debug, "job %s got its id: the callback that came before it applies now",
                 j->id);
        pp_sched_hint(c, j, claim);
        return;
    }
}

int pp_callback_take(pp_client *c, const char *body, size_t len)
{
    char id[PP_ID_MAX + 1];
    int claim;
    if (pp_read_callback(body, len, id, &claim) < 0) {
        PP_DEBUG(&c->tp.debug, "callback refused: %zu bytes that are not a job object", len);
        return -1;
    }
    pp_jobrec *j = pp_job_find_id(&c->jobs, id);
    if (j) {
        pp_sched_hint(c, j, claim);
        return 0;
    }
    /* a fleet on Redis: the job may be another process' */
    int published = pp_journal_callback(c, id, claim) == 0;
    if (published)
        PP_DEBUG(&c->tp.debug, "callback for job %s: not here, published to the fleet", id);
    if (early_keep(c, id, claim)) {
        PP_DEBUG(&c->tp.debug,
                 "callback for job %s: no such job yet; kept until the submissions "
                 "out answer",
                 id);
        return 1;
    }
    if (published)
        return 1;
    PP_DEBUG(&c->tp.debug, "callback for job %s: no job of this client, ignored", id);
    return 2;
}

int pp_feed_callback(pp_client *c, const char *json, size_t len)
{
    if (!c || !json)
        return -1;
    int rc = pp_callback_take(c, json, len);
    pp_run(c);
    return rc > 0 ? 1 : rc;
}

/* ---- where callbacks come in */

int pp_expect_callbacks(pp_client *c, const char *url, long safety_min_ms, double safety_factor,
                        pp_error *err)
{
    if (!c)
        return -1;
    pp_cb_source *x = &c->cb[PP_CB_EXTERNAL];
    if (!url) {
        if (x->active) {
            free(x->url);
            memset(x, 0, sizeof *x);
            pp_sched_release_callbacks(c, PP_CB_EXTERNAL);
        }
        return 0;
    }
    if (!pp_strncaseeq(url, "http://", 7) && !pp_strncaseeq(url, "https://", 8))
        return pp_fail(c, err, "the callback URL must begin with http:// or https://");
    if (safety_min_ms < 0 || safety_factor < 0)
        return pp_fail(c, err, "safety_factor and safety_min_ms must not be negative");
    char *copy = pp_strdup(url);
    if (!copy)
        return pp_fail(c, err, pp_oom_message);
    /* jobs already submitted for an earlier URL keep expecting callbacks */
    free(x->url);
    x->active = 1;
    x->url = copy;
    x->url_len = strlen(copy);
    x->safety_min_ms = safety_min_ms ? safety_min_ms : DEFAULT_SAFETY_MIN_MS;
    x->safety_factor = safety_factor > 0 ? safety_factor : DEFAULT_SAFETY_FACTOR;
    return 0;
}

const char *pp_expected_callback_url(pp_client *c)
{
    return c && c->cb[PP_CB_EXTERNAL].active ? c->cb[PP_CB_EXTERNAL].url : NULL;
}

/* url is base exactly, or base followed by a query. */
static int names(const char *url, const pp_cb_source *x)
{
    if (!x->active || strncmp(url, x->url, x->url_len) != 0)
        return 0;
    char next = url[x->url_len];
    return next == '\0' || next == '?';
}

int pp_callback_kind(pp_client *c, const char *url)
{
    if (!url)
        return PP_CB_NONE;
    if (names(url, &c->cb[PP_CB_LISTENER]))
        return PP_CB_LISTENER;
    if (names(url, &c->cb[PP_CB_EXTERNAL]))
        return PP_CB_EXTERNAL;
    return PP_CB_NONE;
}

long pp_callback_safety_ms(pp_client *c, int kind, double est_ms)
{
    if (kind != PP_CB_LISTENER && kind != PP_CB_EXTERNAL)
        return -1;
    const pp_cb_source *x = &c->cb[kind];
    if (!x->active)
        return -1;
    double v = est_ms * x->safety_factor;
    if (!(v >= (double)x->safety_min_ms))
        v = (double)x->safety_min_ms;
    if (v > 3600000.0)
        v = 3600000.0;
    return (long)v;
}

void pp_callbacks_free(pp_client *c)
{
    early_clear(c);
    free(c->early);
    c->early = NULL;
    c->early_cap = 0;
    for (int k = 0; k < 3; k++) {
        free(c->cb[k].url);
        memset(&c->cb[k], 0, sizeof c->cb[k]);
    }
}
