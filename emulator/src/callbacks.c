#include "callbacks.h"

#include "config.h"
#include "pc_json.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct callback {
    char *url;
    char *body;
    size_t len;
    int attempt; /* attempts made so far */
};

static void cb_free(struct callback *cb)
{
    free(cb->url);
    free(cb->body);
    free(cb);
}

static void attempt(struct callback *cb);

static void retry_timer(void *arg, int cancelled)
{
    struct callback *cb = arg;
    if (cancelled)
        cb_free(cb);
    else
        attempt(cb);
}

/* Gives up, or schedules the next attempt 0.5 s, 1 s, 2 s later. */
static void failed_attempt(struct callback *cb)
{
    if (cb->attempt >= CALLBACK_ATTEMPTS) {
        stats_add(SC_CB_FAILED, 1);
        cb_free(cb);
        return;
    }
    double delay = CALLBACK_BACKOFF_S * pow(2.0, cb->attempt - 1);
    if (worker_timer(now_s() + delay, retry_timer, cb) != 0)
        cb_free(cb);
}

static void on_done(struct http_call *call, int cancelled)
{
    struct callback *cb = call->arg;
    if (cancelled) {
        cb_free(cb);
        return;
    }
    if (call->rc == CURLE_OK && call->status >= 200 && call->status < 300) {
        stats_add(SC_CB_SENT, 1);
        cb_free(cb);
        return;
    }
    failed_attempt(cb);
}

static void attempt(struct callback *cb)
{
    cb->attempt++;
    struct http_call *c = http_call_new(cb->url, on_done, cb);
    if (!c) {
        failed_attempt(cb);
        return;
    }
    if (http_call_post_json(c, cb->body, cb->len) != 0) {
        http_call_free(c);
        failed_attempt(cb);
        return;
    }
    if (worker_http(c) != 0) {
        http_call_free(c);
        cb_free(cb);
    }
}

void callbacks_send(struct job *j)
{
    const char *url = pc_json_str(j->tmpl, "callback_url");
    if (!url)
        return;
    if (rng_chance(g_cfg.callback_loss)) {
        stats_add(SC_CB_LOST, 1);
        return;
    }
    struct callback *cb = calloc(1, sizeof *cb);
    if (!cb)
        return;
    json_t *o = jobs_object(j, j->host);
    cb->url = strdup(url);
    cb->body = o ? pc_json_dump(o, &cb->len) : NULL;
    json_decref(o);
    if (!cb->url || !cb->body) {
        stats_add(SC_CB_FAILED, 1);
        cb_free(cb);
        return;
    }
    attempt(cb);
}
