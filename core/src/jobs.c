/* The job table: handles index an array of records; an open-addressing
 * hash map finds a handle from a service id in O(1). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOMB UINT32_MAX

pp_jobrec *pp_job_get(pp_client *c, pp_job h)
{
    if (!c || h == 0 || h > c->njobs)
        return NULL;
    return c->jobs[h - 1];
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int idmap_insert_raw(pp_client *c, uint32_t *slots, size_t cap, pp_job h)
{
    const char *id = c->jobs[h - 1]->id;
    size_t i = (size_t)(hash_str(id) & (cap - 1));
    for (;;) {
        if (slots[i] == 0 || slots[i] == TOMB) {
            slots[i] = h;
            return slots[i] == h;
        }
        i = (i + 1) & (cap - 1);
    }
}

static int idmap_grow(pp_client *c)
{
    pp_idmap *m = &c->ids;
    size_t cap = m->cap ? m->cap : 64;
    while (cap * 7 / 10 <= m->live + 1)
        cap *= 2;
    if (cap == m->cap && m->used + 1 <= cap * 7 / 10)
        return 0;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != TOMB)
            idmap_insert_raw(c, slots, cap, m->slots[i]);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->live;
    return 0;
}

static size_t idmap_find_slot(pp_client *c, const char *id)
{
    pp_idmap *m = &c->ids;
    if (!m->cap)
        return PP_NOT_QUEUED;
    size_t i = (size_t)(hash_str(id) & (m->cap - 1));
    for (size_t probes = 0; probes < m->cap; probes++) {
        uint32_t h = m->slots[i];
        if (h == 0)
            return PP_NOT_QUEUED;
        if (h != TOMB) {
            pp_jobrec *j = c->jobs[h - 1];
            if (j && j->id && strcmp(j->id, id) == 0)
                return i;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return PP_NOT_QUEUED;
}

pp_jobrec *pp_job_find_id(pp_client *c, const char *id)
{
    size_t i = idmap_find_slot(c, id);
    return i == PP_NOT_QUEUED ? NULL : c->jobs[c->ids.slots[i] - 1];
}

int pp_job_set_id(pp_client *c, pp_jobrec *j, const char *id)
{
    if (j->id)
        return strcmp(j->id, id) == 0 ? 0 : -1;
    if ((c->ids.used + 1) * 10 >= c->ids.cap * 7 && idmap_grow(c) < 0)
        return -1;
    char *copy = pp_strdup(id);
    if (!copy)
        return -1;
    j->id = copy;
    idmap_insert_raw(c, c->ids.slots, c->ids.cap, j->h);
    c->ids.used++;
    c->ids.live++;
    return 0;
}

static void idmap_remove(pp_client *c, pp_jobrec *j)
{
    if (!j->id)
        return;
    size_t i = idmap_find_slot(c, j->id);
    if (i != PP_NOT_QUEUED && c->ids.slots[i] == j->h) {
        c->ids.slots[i] = TOMB;
        c->ids.live--;
    }
}

void pp_idmap_free(pp_idmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

pp_jobrec *pp_job_create(pp_client *c)
{
    if (c->njobs >= UINT32_MAX - 1)
        return NULL;
    if (pp_table_reserve((void ***)&c->jobs, &c->capjobs, c->njobs, 256) < 0)
        return NULL;
    pp_jobrec *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->h = (pp_job)(c->njobs + 1);
    j->state = PP_NEW;
    pp_timer_init(&j->timer, PP_TIMER_POLL, j);
    c->jobs[c->njobs++] = j;
    c->livejobs++;
    return j;
}

int pp_job_store_info(pp_client *c, pp_jobrec *j, json_t *obj)
{
    if (pp_links_upgrade_job(obj, c->base_url) < 0)
        return -1;
    size_t len = 0;
    char *text = pp_json_text(obj, &len);
    if (!text)
        return -1;
    free(j->info);
    j->info = text;
    j->info_len = len;
    return 0;
}

static void job_free(pp_client *c, pp_jobrec *j)
{
    pp_heap_remove(&c->heap, &j->timer);
    if (j->poll_req)
        j->poll_req->job = 0;        /* its answer will be dropped */
    free(j->id);
    free(j->info);
    pp_buf_free(&j->results);
    free(j->results_path);
    pp_err_clear(&j->err);
    free(j);
}

void pp_jobs_free_all(pp_client *c)
{
    for (size_t i = 0; i < c->njobs; i++)
        if (c->jobs[i])
            job_free(c, c->jobs[i]);
    free(c->jobs);
    c->jobs = NULL;
    c->njobs = c->capjobs = c->livejobs = 0;
    pp_idmap_free(&c->ids);
}

/* ---- public job API */

/* Ids go into URL paths: letters, digits, '-' and '_' only. */
static int id_ok(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char ch = id[n];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
            return 0;
    }
    return n > 0 && n <= 96;
}

pp_job pp_attach(pp_client *c, const char *job_id)
{
    if (!c || !job_id || !id_ok(job_id))
        return 0;
    pp_jobrec *j = pp_job_find_id(c, job_id);
    if (j)
        return j->h;
    j = pp_job_create(c);
    if (!j)
        return 0;
    if (pp_job_set_id(c, j, job_id) < 0) {
        c->jobs[--c->njobs] = NULL;
        c->livejobs--;
        job_free(c, j);
        return 0;
    }
    j->pending_at = pp_now_ms();
    pp_job_transition(c, j, PP_PENDING);
    return j->h;
}

int pp_watch(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (!j)
        return -1;
    if (j->watched)
        return 0;
    j->watched = 1;
    if (j->state == PP_PENDING && !j->poll_req)
        pp_poll_start(c, j, pp_now_ms());
    else if (j->state == PP_DONE && c->poll.fetch && !j->poll_req)
        pp_poll_fetch_now(c, j);
    return 0;
}

pp_state pp_job_state(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    return j ? j->state : PP_NEW;
}

const char *pp_job_id(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    return j ? j->id : NULL;
}

const char *pp_job_info(pp_client *c, pp_job job, size_t *len)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (len)
        *len = j && j->info ? j->info_len : 0;
    return j ? j->info : NULL;
}

const char *pp_job_results(pp_client *c, pp_job job, size_t *len)
{
    pp_jobrec *j = pp_job_get(c, job);
    const char *r = (j && !j->results_in_file) ? j->results.data : NULL;
    if (len)
        *len = r ? j->results.len : 0;
    return r;
}

const pp_error *pp_job_error(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (!j || !j->err.message)
        return NULL;
    switch (j->state) {
    case PP_REJECTED: case PP_UNKNOWN: case PP_FAULTED: case PP_EXPIRED:
        return &j->err;
    default:
        return NULL;
    }
}

int pp_job_set_results_path(pp_client *c, pp_job job, const char *path)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (!j || !path || !*path)
        return -1;
    char *p = pp_strdup(path);
    if (!p)
        return -1;
    free(j->results_path);
    j->results_path = p;
    return 0;
}

const char *pp_job_results_path(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    return (j && j->results_in_file) ? j->results_path : NULL;
}

void pp_job_drop_results(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (j)
        pp_buf_free(&j->results);
}

void pp_job_release(pp_client *c, pp_job job)
{
    pp_jobrec *j = pp_job_get(c, job);
    if (!j)
        return;
    idmap_remove(c, j);
    c->jobs[job - 1] = NULL;
    c->livejobs--;
    job_free(c, j);
}
