/* Client lifecycle and configuration. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pp_config_init(pp_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->base_url = "https://data.oxylabs.io";
    cfg->timeout_ms = 30000;
    cfg->connect_timeout_ms = 10000;
    cfg->max_connections = 16;
    cfg->max_retries = 6;
    cfg->retry_base_ms = 250;
    cfg->retry_max_ms = 30000;
    cfg->batch_size = PP_BATCH_MAX;
    cfg->poll.first_ms = 0;
    cfg->poll.min_ms = 200;
    cfg->poll.max_ms = 5000;
    cfg->poll.factor = 1.5;
    cfg->poll.fetch = 1;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

pp_client *pp_client_new(const pp_config *cfg, char *err, size_t errlen)
{
    pp_config d;
    pp_config_init(&d);
    if (!cfg)
        cfg = &d;
    const char *base = cfg->base_url ? cfg->base_url : d.base_url;
    if (!pp_strncaseeq(base, "http://", 7) && !pp_strncaseeq(base, "https://", 8)) {
        set_err(err, errlen, "base_url must begin with http:// or https://");
        return NULL;
    }
    if (cfg->batch_size < 0 || cfg->batch_size > PP_BATCH_MAX) {
        set_err(err, errlen, "batch_size must be within 1..5000");
        return NULL;
    }
    if (cfg->poll.factor != 0 && cfg->poll.factor < 1.0) {
        set_err(err, errlen, "poll.factor must be >= 1");
        return NULL;
    }
    pp_client *c = calloc(1, sizeof *c);
    if (!c) {
        set_err(err, errlen, pp_oom_message);
        return NULL;
    }
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    c->base_url = pp_strndup(base, bl);
    c->username = cfg->username ? pp_strdup(cfg->username) : NULL;
    c->password = cfg->password ? pp_strdup(cfg->password) : NULL;
    c->user_agent = pp_strdup(cfg->user_agent ? cfg->user_agent : "pushpull/" PP_VERSION);
    if (!c->base_url || !c->user_agent || (cfg->username && !c->username) ||
        (cfg->password && !c->password)) {
        set_err(err, errlen, pp_oom_message);
        pp_client_free(c);
        return NULL;
    }
#define DEF(f) c->f = cfg->f > 0 ? cfg->f : d.f
    DEF(timeout_ms);
    DEF(connect_timeout_ms);
    DEF(max_connections);
    DEF(retry_base_ms);
    DEF(retry_max_ms);
    DEF(batch_size);
#undef DEF
    c->max_retries = cfg->max_retries > 0 ? cfg->max_retries : (cfg->max_retries < 0 ? 0 : d.max_retries);
    c->poll.first_ms = cfg->poll.first_ms > 0 ? cfg->poll.first_ms : 0;
    c->poll.min_ms = cfg->poll.min_ms > 0 ? cfg->poll.min_ms : d.poll.min_ms;
    c->poll.max_ms = cfg->poll.max_ms > 0 ? cfg->poll.max_ms : d.poll.max_ms;
    if (c->poll.max_ms < c->poll.min_ms)
        c->poll.max_ms = c->poll.min_ms;
    c->poll.factor = cfg->poll.factor >= 1.0 ? cfg->poll.factor : d.poll.factor;
    /* cfg->poll.fetch: 0 polls status; anything else (the default 1) fetches */
    c->poll.fetch = cfg == &d ? 1 : (cfg->poll.fetch != 0);
    c->plan.first_ms = c->poll.first_ms;
    c->plan.min_ms = c->poll.min_ms;
    c->plan.max_ms = c->poll.max_ms;
    c->plan.factor = c->poll.factor;
    pp_estimate_init(&c->est, 1000.0);
    c->rng = pp_now_ms() ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ull;
    pp_timer_init(&c->pace_timer, PP_TIMER_PACE, c);
    if (pp_engine_init(c) < 0) {
        set_err(err, errlen, "cannot initialise libcurl");
        pp_client_free(c);
        return NULL;
    }
    return c;
}

void pp_client_free(pp_client *c)
{
    if (!c)
        return;
    c->in_teardown = 1;
    pp_listener_free(c);         /* before the jobs its handler feeds */
    pp_engine_cleanup(c);        /* frees requests: in flight, queued, waiting */
    pp_submit_free_queue(c);
    pp_jobs_free_all(c);
    pp_ops_free_all(c);
    pp_heap_free(&c->heap);
    pp_err_clear(&c->submit_err);
    if (c->early)
        json_decref(c->early);
    pp_evq_free(&c->events);
    pp_fdq_free(&c->fdchanges);
    free(c->base_url);
    free(c->username);
    if (c->password) {
        volatile char *p = c->password;
        while (*p)
            *p++ = 0;
    }
    free(c->password);
    free(c->user_agent);
    free(c);
}

size_t pp_take_events(pp_client *c, pp_event *out, size_t max)
{
    if (!c || !out || !max)
        return 0;
    return pp_evq_take(&c->events, out, max);
}

void pp_get_stats(pp_client *c, pp_stats *out)
{
    if (!out)
        return;
    if (!c) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = c->stats;
}
