#include "values.h"

#include "stats.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct value {
    char *text;
    int is_url;
    long jobs;
    struct value *next;
};

/* One lock for the table: it is taken once per submission request, never
 * per read, so it is not on the hot path of GETs. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct value **buckets;
static size_t nbuckets; /* a power of two, or 0 before the first value */
static size_t count;
static int truncated;

static size_t bucket_of(const char *text, size_t len, int is_url, size_t n)
{
    return (size_t)hash64(text, len, (uint64_t)is_url) & (n - 1);
}

/* Doubles the bucket array when the load passes 1; on failure the table
 * simply stays denser. */
static void maybe_grow(void)
{
    if (nbuckets && count < nbuckets)
        return;
    size_t n = nbuckets ? nbuckets * 2 : 1024;
    struct value **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (size_t i = 0; i < nbuckets; i++) {
        struct value *v = buckets[i];
        while (v) {
            struct value *next = v->next;
            size_t b = bucket_of(v->text, strlen(v->text), v->is_url, n);
            v->next = nb[b];
            nb[b] = v;
            v = next;
        }
    }
    free(buckets);
    buckets = nb;
    nbuckets = n;
}

/* Called with the lock held. */
static void add_one(int is_url, const char *text)
{
    size_t len = strlen(text);
    if (nbuckets) {
        for (struct value *v = buckets[bucket_of(text, len, is_url, nbuckets)]; v; v = v->next) {
            if (v->is_url == is_url && strcmp(v->text, text) == 0) {
                if (++v->jobs == 2)
                    stats_add(SC_VALUES_CREATED_TWICE, 1);
                return;
            }
        }
    }
    maybe_grow();
    struct value *v = count < VALUES_MAX && nbuckets ? malloc(sizeof *v) : NULL;
    char *copy = v ? strdup(text) : NULL;
    if (!copy) {
        free(v);
        truncated = 1;
        return;
    }
    size_t b = bucket_of(text, len, is_url, nbuckets);
    v->text = copy;
    v->is_url = is_url;
    v->jobs = 1;
    v->next = buckets[b];
    buckets[b] = v;
    count++;
}

void values_add(int is_url, const json_t *targets, size_t n)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(targets, i));
        if (text)
            add_one(is_url, text);
    }
    pthread_mutex_unlock(&lock);
}

json_t *values_json(void)
{
    json_t *url = json_object(), *query = json_object();
    int oom = !url || !query;
    long twice = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; !oom && i < nbuckets; i++) {
        for (struct value *v = buckets[i]; !oom && v; v = v->next) {
            oom = json_object_set_new(v->is_url ? url : query, v->text, json_integer(v->jobs)) != 0;
            twice += v->jobs > 1;
        }
    }
    int cut = truncated;
    pthread_mutex_unlock(&lock);
    if (oom) {
        json_decref(url);
        json_decref(query);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:I, s:b}", "url", url, "query", query, "created_twice",
                     (json_int_t)twice, "truncated", cut);
}

void values_clear(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nbuckets; i++) {
        struct value *v = buckets[i];
        while (v) {
            struct value *next = v->next;
            free(v->text);
            free(v);
            v = next;
        }
    }
    free(buckets);
    buckets = NULL;
    nbuckets = count = 0;
    truncated = 0;
    pthread_mutex_unlock(&lock);
}
