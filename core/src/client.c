/* Client lifecycle and configuration, and the public job calls. */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BUFFERED ((size_t)32 << 20)

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
    cfg->max_buffered = DEFAULT_MAX_BUFFERED;
    cfg->poll.first_ms = 0;
    cfg->poll.min_ms = 200;
    cfg->poll.max_ms = 5000;
    cfg->poll.factor = 1.5;
    cfg->poll.fetch = 1;
}

int pp_fail(pp_client *c, pp_error *err, const char *message)
{
    pp_err_set(&c->last_err, message, 0, NULL, 0);
    return pp_err_out(err, &c->last_err);
}

int pp_fail_errno(pp_client *c, pp_error *err, const char *what, int errnum)
{
    pp_err_errno(&c->last_err, what, errnum);
    return pp_err_out(err, &c->last_err);
}

static pp_client *refuse(pp_error *err, const char *msg)
{
    if (err) {
        memset(err, 0, sizeof *err);
        err->message = msg;
    }
    return NULL;
}

pp_client *pp_client_new(const pp_config *cfg, pp_error *err)
{
    pp_config d;
    pp_config_init(&d);
    if (!cfg)
        cfg = &d;
    const char *base = cfg->base_url ? cfg->base_url : d.base_url;
    if (!pp_strncaseeq(base, "http://", 7) && !pp_strncaseeq(base, "https://", 8))
        return refuse(err, "base_url must begin with http:// or https://");
    if (cfg->batch_size < 0 || cfg->batch_size > PP_BATCH_MAX)
        return refuse(err, "batch_size must be within 1..5000");
    if (cfg->max_retries < 0)
        return refuse(err, "max_retries must not be negative");
    if (cfg->poll.factor != 0 && cfg->poll.factor < 1.0)
        return refuse(err, "poll.factor must be >= 1");
    pp_client *c = calloc(1, sizeof *c);
    if (!c)
        return refuse(err, pp_oom_message);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    char *base_copy = pp_strndup(base, bl);
    pp_transport_config tc;
#define DEF(f) (cfg->f > 0 ? cfg->f : d.f)
    tc.base_url = base_copy;
    tc.username = cfg->username;
    tc.password = cfg->password;
    tc.user_agent = cfg->user_agent ? cfg->user_agent : "pushpull/" PP_VERSION;
    tc.timeout_ms = DEF(timeout_ms);
    tc.connect_timeout_ms = DEF(connect_timeout_ms);
    tc.max_connections = DEF(max_connections);
    tc.max_retries = cfg->max_retries;
    tc.retry_base_ms = DEF(retry_base_ms);
    tc.retry_max_ms = DEF(retry_max_ms);
    pp_debug_init(&tc.debug, cfg->debug, cfg->debug_ud);
    c->batch_size = DEF(batch_size);
    size_t budget = cfg->max_buffered ? cfg->max_buffered : DEFAULT_MAX_BUFFERED;
#undef DEF
    c->poll.first_ms = cfg->poll.first_ms > 0 ? cfg->poll.first_ms : 0;
    c->poll.min_ms = cfg->poll.min_ms > 0 ? cfg->poll.min_ms : d.poll.min_ms;
    c->poll.max_ms = cfg->poll.max_ms > 0 ? cfg->poll.max_ms : d.poll.max_ms;
    if (c->poll.max_ms < c->poll.min_ms)
        c->poll.max_ms = c->poll.min_ms;
    c->poll.factor = cfg->poll.factor >= 1.0 ? cfg->poll.factor : d.poll.factor;
    /* cfg->poll.fetch: 0 polls status; anything else (the default 1) fetches */
    c->poll.fetch = cfg->poll.fetch != 0;
    c->plan.first_ms = c->poll.first_ms;
    c->plan.min_ms = c->poll.min_ms;
    c->plan.max_ms = c->poll.max_ms;
    c->plan.factor = c->poll.factor;
    pp_estimate_reset(&c->est, PP_ESTIMATE_PRIOR_MS);
    c->rng = pp_now_ms() ^ (uint64_t)(uintptr_t)c ^ 0x9E3779B97F4A7C15ull;
    pp_timer_init(&c->pace_timer, 0, c);
    pp_timer_init(&c->nap_timer, 0, c);
    c->jobs.events = &c->events;
    c->jobs.budget = budget;
    /* infos are read back only when asked for (job.info): past 1 MiB (of
     * the default 32) a pread from the info spool serves them as well */
    c->jobs.info_budget = budget / 32;
    c->jobs.info_fd = -1;
    int rc = base_copy ? pp_transport_init(&c->tp, &tc, &c->rng, &c->stats, &c->fdchanges,
                                           &c->jobs.buffered, budget)
                       : -1;
    free(base_copy);
    c->jobs.base_url = c->tp.base_url;
    if (rc == 0 && cfg->spool_dir && !(c->jobs.spool_parent = pp_strdup(cfg->spool_dir)))
        rc = -1;
    if (rc == 0)
        rc = pp_sched_init(c);
    if (rc < 0) {
        pp_client_free(c);
        return refuse(err, "cannot initialise the client (libcurl, or out of memory)");
    }
    if (cfg->journal) {
        /* the one refusal whose text is made here: kept per thread, as
         * the client it would belong to is gone */
        static __thread char why[700];
        if (pp_journal_open(c, cfg, why, sizeof why) < 0) {
            pp_client_free(c);
            return refuse(err, why);
        }
    }
    return c;
}

void pp_client_free(pp_client *c)
{
    if (!c)
        return;
    c->in_teardown = 1;
    pp_listener_free(c); /* before the jobs its handler feeds */
    pp_journal_settle(c);
    pp_fleet_close(c); /* its completions answered before the jobs go */
    pp_submit_free_queue(c);
    pp_heap_free(&c->timers); /* before the jobs whose timers it holds */
    pp_jobtab_free(&c->jobs); /* jobs first: their requests drop answers */
    pp_journal_close(c);      /* after them: their changes are recorded */
    pp_transport_cleanup(&c->tp);
    pp_ops_free_all(c);
    pp_callbacks_free(c);
    pp_receiver_free(c);
    pp_err_clear(&c->last_err);
    pp_evq_free(&c->events);
    pp_fdq_free(&c->fdchanges);
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

/* ---- jobs */

static pp_jobrec *job(pp_client *c, pp_job h)
{
    return c ? pp_job_get(&c->jobs, h) : NULL;
}

pp_job pp_attach(pp_client *c, const char *job_id, pp_error *err)
{
    if (!c)
        return 0;
    if (!job_id || !pp_id_valid(job_id)) {
        pp_fail(c, err, "a job id is 1 to 96 letters, digits, '-' or '_'");
        return 0;
    }
    pp_jobrec *j = pp_job_find_id(&c->jobs, job_id);
    if (j)
        return j->h;
    j = pp_job_create(&c->jobs);
    if (!j || pp_state_attached(&c->jobs, j, job_id) < 0) {
        if (j)
            pp_job_destroy(&c->jobs, j);
        pp_fail(c, err, pp_oom_message);
        return 0;
    }
    return j->h;
}

int pp_watch(pp_client *c, pp_job h, pp_error *err)
{
    pp_jobrec *j = job(c, h);
    if (!j)
        return c ? pp_fail(c, err, "no such job") : -1;
    pp_sched_watch(c, j);
    return 0;
}

pp_state pp_job_state(pp_client *c, pp_job h)
{
    pp_jobrec *j = job(c, h);
    return j ? j->state : PP_NEW;
}

const char *pp_job_id(pp_client *c, pp_job h)
{
    pp_jobrec *j = job(c, h);
    return j ? j->id : NULL;
}

const char *pp_job_info(pp_client *c, pp_job h, size_t *len)
{
    pp_jobrec *j = job(c, h);
    size_t n = 0;
    const char *info = j ? pp_info_get(&c->jobs, j, &n) : NULL;
    if (len)
        *len = info ? n : 0;
    return info;
}

const char *pp_job_results(pp_client *c, pp_job h, size_t *len)
{
    pp_jobrec *j = job(c, h);
    const char *r = j ? j->results.data : NULL;
    if (len)
        *len = r ? j->results.len : 0;
    return r;
}

const pp_error *pp_job_error(pp_client *c, pp_job h)
{
    pp_jobrec *j = job(c, h);
    if (!j || !j->err.message)
        return NULL;
    switch (j->state) {
    case PP_REJECTED:
    case PP_UNKNOWN:
    case PP_FAULTED:
    case PP_EXPIRED:
    case PP_FAILED: return &j->err;
    default: return NULL;
    }
}

const char *pp_job_results_path(pp_client *c, pp_job h, int *temporary)
{
    pp_jobrec *j = job(c, h);
    if (temporary)
        *temporary = j && j->results_path ? j->results_temporary : 0;
    return j ? pp_results_where(&c->jobs, j) : NULL;
}

int pp_job_save_results(pp_client *c, pp_job h, const char *path, pp_error *err)
{
    pp_jobrec *j = job(c, h);
    if (!j)
        return c ? pp_fail(c, err, "no such job") : -1;
    if (!path || !*path)
        return pp_fail(c, err, "no path");
    if (pp_results_save(&c->jobs, j, path, &c->last_err) < 0)
        return pp_err_out(err, &c->last_err);
    return 0;
}

int pp_write_file(pp_client *c, const char *path, const char *data, size_t len, pp_error *err)
{
    if (!c)
        return -1;
    if (!path || !*path || (!data && len))
        return pp_fail(c, err, "no path or no data");
    int e = pp_results_write(path, data ? data : "", len);
    return e ? pp_fail_errno(c, err, path, e) : 0;
}

void pp_job_drop_results(pp_client *c, pp_job h)
{
    pp_jobrec *j = job(c, h);
    if (j)
        pp_results_drop(&c->jobs, j);
}

void pp_job_release(pp_client *c, pp_job h)
{
    pp_jobrec *j = job(c, h);
    if (!j)
        return;
    /* a job released is one its holder is done with: if completed() gave
     * it to this process, it is handed out for good */
    if (j->jkey)
        (void)pp_journal_handed(c, h, NULL);
    pp_sched_forget(c, j);
    pp_job_destroy(&c->jobs, j);
}
