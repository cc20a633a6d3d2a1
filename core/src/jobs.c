/* The job table: handles index an array of records; an open-addressing
 * hash map finds a handle from a service id in O(1). An id names at most
 * one live job: the state layer refuses a second job with the same id. */
#include "jobs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOMB UINT32_MAX

pp_jobrec *pp_job_get(pp_jobtab *t, pp_job h)
{
    if (!t || h == 0 || h > t->n)
        return NULL;
    return t->v[h - 1];
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

static void insert_raw(pp_jobtab *t, uint32_t *slots, size_t cap, pp_job h)
{
    size_t i = (size_t)(hash_str(t->v[h - 1]->id) & (cap - 1));
    while (slots[i] != 0 && slots[i] != TOMB)
        i = (i + 1) & (cap - 1);
    slots[i] = h;
}

static int idmap_grow(pp_jobtab *t)
{
    pp_idmap *m = &t->ids;
    size_t cap = m->cap ? m->cap : 64;
    while (cap * 7 / 10 <= m->live + 1)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != TOMB)
            insert_raw(t, slots, cap, m->slots[i]);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->live;
    return 0;
}

static size_t find_slot(pp_jobtab *t, const char *id)
{
    pp_idmap *m = &t->ids;
    if (!m->cap)
        return PP_NOT_QUEUED;
    size_t i = (size_t)(hash_str(id) & (m->cap - 1));
    for (size_t probes = 0; probes < m->cap; probes++) {
        uint32_t h = m->slots[i];
        if (h == 0)
            return PP_NOT_QUEUED;
        if (h != TOMB) {
            pp_jobrec *j = t->v[h - 1];
            if (j && j->id && strcmp(j->id, id) == 0)
                return i;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return PP_NOT_QUEUED;
}

pp_jobrec *pp_job_find_id(pp_jobtab *t, const char *id)
{
    size_t i = find_slot(t, id);
    return i == PP_NOT_QUEUED ? NULL : t->v[t->ids.slots[i] - 1];
}

/* Gives j the id; -1 when another job has it or on no memory. Used by the
 * state layer only. */
int pp_job_set_id(pp_jobtab *t, pp_jobrec *j, const char *id);
int pp_job_set_id(pp_jobtab *t, pp_jobrec *j, const char *id)
{
    if (j->id || pp_job_find_id(t, id))
        return -1;
    if ((t->ids.used + 1) * 10 >= t->ids.cap * 7 && idmap_grow(t) < 0)
        return -1;
    char *copy = pp_strdup(id);
    if (!copy)
        return -1;
    j->id = copy;
    insert_raw(t, t->ids.slots, t->ids.cap, j->h);
    t->ids.used++;
    t->ids.live++;
    return 0;
}

static void idmap_remove(pp_jobtab *t, pp_jobrec *j)
{
    if (!j->id)
        return;
    size_t i = find_slot(t, j->id);
    if (i != PP_NOT_QUEUED && t->ids.slots[i] == j->h) {
        t->ids.slots[i] = TOMB;
        t->ids.live--;
    }
}

pp_jobrec *pp_job_create(pp_jobtab *t)
{
    if (t->n >= UINT32_MAX - 1)
        return NULL;
    if (pp_table_reserve((void ***)&t->v, &t->cap, t->n, 256) < 0)
        return NULL;
    pp_jobrec *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->h = (pp_job)(t->n + 1);
    j->state = PP_NEW;
    j->info_at = -1;
    pp_timer_init(&j->timer, 0, j);
    t->v[t->n++] = j;
    t->live++;
    return j;
}

void pp_info_set(pp_jobtab *t, pp_jobrec *j, char *text, size_t len)
{
    if (j->info) {
        t->info_held -= j->info_len < t->info_held ? j->info_len : t->info_held;
        free(j->info);
    }
    j->info = NULL;
    j->info_len = 0;
    j->info_at = -1;
    if (!text)
        return;
    if (t->info_held + len > t->info_budget) {
        const char *dir = t->info_fd >= 0 ? NULL : pp_spool_dir(t);
        if (dir) {
            size_t n = strlen(dir) + 8;
            char *p = malloc(n);
            if (p) {
                snprintf(p, n, "%s/infos", dir);
                t->info_fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                free(p);
            }
        }
        if (t->info_fd >= 0 && pwrite(t->info_fd, text, len, (off_t)t->info_end) == (ssize_t)len) {
            j->info_at = (int64_t)t->info_end;
            j->info_len = len;
            t->info_end += len;
            free(text);
            return;
        }
        /* no spool file: keep it in memory over budget rather than lose it */
    }
    /* a dump grows by doubling: hold only the bytes the budget counts */
    char *fit = realloc(text, len + 1);
    if (fit)
        text = fit;
    j->info = text;
    j->info_len = len;
    t->info_held += len;
}

const char *pp_info_get(pp_jobtab *t, pp_jobrec *j, size_t *len)
{
    *len = j->info_len;
    if (j->info || j->info_at < 0)
        return j->info;
    pc_buf_reset(&t->info_read);
    if (pc_buf_reserve(&t->info_read, j->info_len) < 0 ||
        pread(t->info_fd, t->info_read.data, j->info_len, (off_t)j->info_at) !=
            (ssize_t)j->info_len) {
        *len = 0;
        return NULL;
    }
    t->info_read.len = j->info_len;
    t->info_read.data[j->info_len] = '\0';
    return t->info_read.data;
}

void pp_job_destroy(pp_jobtab *t, pp_jobrec *j)
{
    idmap_remove(t, j);
    if (j->h && j->h <= t->n && t->v[j->h - 1] == j) {
        t->v[j->h - 1] = NULL;
        t->live--;
    }
    if (j->poll_req)
        j->poll_req->owner = 0; /* its answer will be dropped */
    if (j->poll_tmp) {
        unlink(j->poll_tmp);
        free(j->poll_tmp);
    }
    pp_results_drop(t, j);
    pp_info_set(t, j, NULL, 0);
    free(j->id);
    free(j->results_path);
    pp_err_clear(&j->err);
    free(j);
}

void pp_jobtab_free(pp_jobtab *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i])
            pp_job_destroy(t, t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = t->live = 0;
    free(t->ids.slots);
    memset(&t->ids, 0, sizeof t->ids);
    for (size_t i = 0; i < t->nshared; i++)
        free(t->shared[i]);
    free(t->shared);
    t->shared = NULL;
    t->nshared = t->shared_cap = 0;
    pp_results_cleanup(t);
}

const char *pp_jobtab_intern(pp_jobtab *t, const char *s)
{
    for (size_t i = 0; i < t->nshared; i++)
        if (strcmp(t->shared[i], s) == 0)
            return t->shared[i];
    if (pp_table_reserve((void ***)&t->shared, &t->shared_cap, t->nshared, 8) < 0)
        return NULL;
    char *copy = pp_strdup(s);
    if (copy)
        t->shared[t->nshared++] = copy;
    return copy;
}
