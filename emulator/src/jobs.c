#include "jobs.h"

#include "config.h"
#include "pc_json.h"
#include "stats.h"
#include "util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSHARDS 64

struct shard {
    pthread_mutex_t lock;
    struct job **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
};

static struct shard shards[NSHARDS];
static uint64_t next_id;
static size_t results_cache_bytes; /* atomic: bytes held by all res_cache */

static struct shard *shard_of(uint64_t id)
{
    return &shards[mix64(id) % NSHARDS];
}
static size_t bucket_of(const struct shard *s, uint64_t id)
{
    return (size_t)(mix64(id) >> 8) & (s->nbuckets - 1);
}

int jobs_init(uint64_t seed)
{
    /* 19-digit ids that look like the service's, distinct between runs with
     * different seeds, and never reused within a run (not even after reset). */
    next_id = 7100000000000000000ULL + mix64(seed ^ 0x5eed) % 1000000000000000000ULL;
    for (int i = 0; i < NSHARDS; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
        shards[i].nbuckets = 256;
        shards[i].buckets = calloc(shards[i].nbuckets, sizeof *shards[i].buckets);
        if (!shards[i].buckets)
            return -1;
    }
    return 0;
}

static void job_free(struct job *j)
{
    for (int i = 0; i < j->npages; i++)
        free(j->pages[i].body);
    free(j->pages);
    free(j->target);
    free(j->host);
    json_decref(j->tmpl);
    json_decref(j->statuses);
    free(j->cache);
    free(j->cache_host);
    if (j->res_cache)
        __atomic_sub_fetch(&results_cache_bytes, j->res_len, __ATOMIC_RELAXED);
    free(j->res_cache);
    free(j);
}

void jobs_put(struct job *j)
{
    if (j && __atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) == 0)
        job_free(j);
}

static enum stat_counter gauge_of(enum job_status s)
{
    return s == JOB_PENDING ? SC_JOBS_PENDING : s == JOB_DONE ? SC_JOBS_DONE : SC_JOBS_FAULTED;
}

/* Doubles the bucket array when the load passes 1; on failure the table
 * simply stays denser. Called with the shard lock held. */
static void maybe_grow(struct shard *s)
{
    if (s->count < s->nbuckets)
        return;
    size_t n = s->nbuckets * 2;
    struct job **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct job *j = s->buckets[i];
        while (j) {
            struct job *next = j->next;
            size_t b = (size_t)(mix64(j->id) >> 8) & (n - 1);
            j->next = nb[b];
            nb[b] = j;
            j = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
}

struct job *jobs_create(int user, json_t *tmpl, const char *target, int is_url, const char *host)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->target = strdup(target);
    j->host = strdup(host);
    j->statuses = json_array();
    if (!j->target || !j->host || !j->statuses) {
        job_free(j);
        return NULL;
    }
    j->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    j->user = user;
    j->is_url = is_url;
    j->tmpl = json_incref(tmpl);
    j->created = j->updated = now_s();
    j->status = JOB_PENDING;
    j->start_page = (int)json_integer_value(json_object_get(tmpl, "start_page"));
    j->npages_wanted = (int)json_integer_value(json_object_get(tmpl, "pages"));
    j->limit = (int)json_integer_value(json_object_get(tmpl, "limit"));
    j->parse = json_is_true(json_object_get(tmpl, "parse"));
    j->refs = 2; /* the table's and the caller's */

    struct shard *s = shard_of(j->id);
    pthread_mutex_lock(&s->lock);
    maybe_grow(s);
    size_t b = bucket_of(s, j->id);
    j->next = s->buckets[b];
    s->buckets[b] = j;
    s->count++;
    pthread_mutex_unlock(&s->lock);
    stats_add(SC_JOBS_CREATED, 1);
    stats_add(SC_JOBS_PENDING, 1);
    return j;
}

struct job *jobs_get(uint64_t id)
{
    struct shard *s = shard_of(id);
    pthread_mutex_lock(&s->lock);
    struct job *j = s->buckets[bucket_of(s, id)];
    while (j && j->id != id)
        j = j->next;
    if (j)
        __atomic_add_fetch(&j->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->lock);
    return j;
}

uint64_t jobs_parse_id(const char *idstr)
{
    uint64_t id = 0;
    size_t n = strlen(idstr);
    if (n == 0 || n > 20)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (idstr[i] < '0' || idstr[i] > '9')
            return 0;
        unsigned d = (unsigned)(idstr[i] - '0');
        if (id > (UINT64_MAX - d) / 10)
            return 0;
        id = id * 10 + d;
    }
    return id;
}

struct job *jobs_get_for(const char *idstr, int user)
{
    uint64_t id = jobs_parse_id(idstr);
    struct job *j = id ? jobs_get(id) : NULL;
    if (j && j->user != user) {
        jobs_put(j);
        return NULL;
    }
    return j;
}

const char *jobs_status_name(enum job_status s)
{
    return s == JOB_PENDING ? "pending" : s == JOB_DONE ? "done" : "faulted";
}

static json_t *make_link(const char *rel, const char *base, const char *suffix)
{
    char href[512];
    snprintf(href, sizeof href, "%s%s", base, suffix);
    return json_pack("{s:s, s:s, s:s}", "rel", rel, "href", href, "method", "GET");
}

/* Builds the job object; the shard lock must be held (status, statuses). */
static json_t *build_locked(struct job *j, const char *host)
{
    char id[24], created[20], updated[20], base[400];
    snprintf(id, sizeof id, "%" PRIu64, j->id);
    fmt_time(j->created, created);
    fmt_time(j->updated, updated);
    /* The service's own links say http:// whatever scheme the client used. */
    snprintf(base, sizeof base, "http://%s/v1/queries/%s", host, id);

    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= pc_json_set(o, "id", json_string(id));
    bad |= pc_json_set(o, "client_id", json_integer(g_cfg.users[j->user].client_id));
    bad |= pc_json_set(o, "status", json_string(jobs_status_name(j->status)));
    bad |= pc_json_set(o, "created_at", json_string(created));
    bad |= pc_json_set(o, "updated_at", json_string(updated));
    bad |= json_object_set(o, "source", json_object_get(j->tmpl, "source"));
    bad |= pc_json_set(o, j->is_url ? "url" : "query", pc_json_bytes(j->target, strlen(j->target)));
    const char *key;
    json_t *v;
    json_object_foreach(j->tmpl, key, v) {
        if (strcmp(key, "source") != 0)
            bad |= json_object_set(o, key, v);
    }
    /* A copy: the worker appends to the job's own list later, possibly while
     * this object is being serialized on another thread. */
    bad |= pc_json_set(o, "statuses", json_deep_copy(j->statuses));
    json_t *links = json_pack("[o, o, o, o, o]", make_link("self", base, ""),
                              make_link("results", base, "/results"),
                              make_link("results-html", base, "/results?type=raw"),
                              make_link("results-parsed", base, "/results?type=parsed"),
                              make_link("results-png", base, "/results?type=png"));
    bad |= pc_json_set(o, "_links", links);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *jobs_object(struct job *j, const char *host)
{
    struct shard *s = shard_of(j->id);
    pthread_mutex_lock(&s->lock);
    json_t *o = build_locked(j, host);
    pthread_mutex_unlock(&s->lock);
    return o;
}

/* Copies the cached text when the key matches; shard lock held. */
static char *copy_if(const char *data, size_t len, int match, size_t *out_len)
{
    if (!data || !match)
        return NULL;
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, data, len + 1);
        *out_len = len;
    }
    return out;
}

char *jobs_render(struct job *j, const char *host, size_t *len)
{
    struct shard *s = shard_of(j->id);
    char *out;
    pthread_mutex_lock(&s->lock);
    if (!j->cache || strcmp(j->cache_host, host) != 0) {
        /* Rebuild; readers of a job mostly come through one Host, so one cached
         * rendering makes repeated polls a lookup and a memcpy. */
        free(j->cache);
        free(j->cache_host);
        j->cache = NULL;
        j->cache_host = strdup(host);
        json_t *o = j->cache_host ? build_locked(j, host) : NULL;
        if (o)
            j->cache = pc_json_dump(o, &j->cache_len);
        json_decref(o);
    }
    out = copy_if(j->cache, j->cache_len, 1, len);
    pthread_mutex_unlock(&s->lock);
    return out;
}

char *jobs_results_cached(struct job *j, const char *key, size_t *len)
{
    struct shard *s = shard_of(j->id);
    pthread_mutex_lock(&s->lock);
    char *out = copy_if(j->res_cache, j->res_len, strcmp(j->res_key, key) == 0, len);
    pthread_mutex_unlock(&s->lock);
    return out;
}

void jobs_results_store(struct job *j, const char *key, const char *data, size_t len)
{
    if (strlen(key) >= sizeof j->res_key)
        return;
    size_t total = __atomic_add_fetch(&results_cache_bytes, len, __ATOMIC_RELAXED);
    char *copy = total <= RESULTS_CACHE_BYTES ? malloc(len + 1) : NULL;
    if (!copy) {
        __atomic_sub_fetch(&results_cache_bytes, len, __ATOMIC_RELAXED);
        return;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    struct shard *s = shard_of(j->id);
    pthread_mutex_lock(&s->lock);
    char *old = j->res_cache;
    size_t old_len = j->res_len;
    j->res_cache = copy;
    j->res_len = len;
    strcpy(j->res_key, key);
    pthread_mutex_unlock(&s->lock);
    if (old) {
        __atomic_sub_fetch(&results_cache_bytes, old_len, __ATOMIC_RELAXED);
        free(old);
    }
}

enum job_status jobs_status(struct job *j, double *updated)
{
    struct shard *s = shard_of(j->id);
    pthread_mutex_lock(&s->lock);
    enum job_status st = j->status;
    if (updated)
        *updated = j->updated;
    pthread_mutex_unlock(&s->lock);
    return st;
}

int jobs_finish(struct job *j, enum job_status st, json_t *status_entry)
{
    struct shard *s = shard_of(j->id);
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    if (j->status == JOB_PENDING && !j->removed) {
        if (status_entry)
            json_array_append(j->statuses, status_entry);
        /* Publishing the status last, under the lock, makes pages (written by
         * the worker before this call) visible to whoever sees "done". */
        j->status = st;
        j->updated = now_s();
        free(j->cache);
        j->cache = NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    json_decref(status_entry);
    if (rc == 0) {
        stats_add(SC_JOBS_PENDING, -1);
        stats_add(gauge_of(st), 1);
    }
    return rc;
}

/* Unlinks the jobs matching (all, or finished and expired) from one shard
 * onto *out. Called with the shard lock held. */
static size_t unlink_matching(struct shard *s, int all, double cutoff, struct job **out)
{
    size_t n = 0;
    for (size_t b = 0; b < s->nbuckets; b++) {
        struct job **pp = &s->buckets[b];
        while (*pp) {
            struct job *j = *pp;
            if (all || (j->status != JOB_PENDING && j->updated <= cutoff)) {
                /* Marked under the lock, so that a worker still holding the job can
                 * no longer finish it and skew the gauges. */
                j->removed = 1;
                stats_add(gauge_of(j->status), -1);
                *pp = j->next;
                j->next = *out;
                *out = j;
                s->count--;
                n++;
            } else
                pp = &j->next;
        }
    }
    return n;
}

static size_t remove_matching(int all, double cutoff)
{
    size_t total = 0;
    for (int i = 0; i < NSHARDS; i++) {
        struct job *dead = NULL;
        pthread_mutex_lock(&shards[i].lock);
        total += unlink_matching(&shards[i], all, cutoff, &dead);
        pthread_mutex_unlock(&shards[i].lock);
        /* Dropping the table's references outside the lock: freeing may take a
         * while for jobs with big pages. */
        while (dead) {
            struct job *next = dead->next;
            jobs_put(dead);
            dead = next;
        }
    }
    return total;
}

size_t jobs_expire(double now, double retention)
{
    return remove_matching(0, now - retention);
}

void jobs_clear(void)
{
    remove_matching(1, 0);
}

void jobs_shutdown(void)
{
    jobs_clear();
    for (int i = 0; i < NSHARDS; i++) {
        free(shards[i].buckets);
        shards[i].buckets = NULL;
        pthread_mutex_destroy(&shards[i].lock);
    }
}
