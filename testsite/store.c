#include "site.h"

#include "pc_json.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct record {
    char *name;
    char *body;
    size_t body_len;
    char *remote;
    char *content_type;
    double time;
    int ok;
};

/* A ring of records in arrival order: ring[(head + i) % cap], i < count. */
static struct {
    pthread_mutex_t lock;
    struct record *ring;
    size_t cap;
    size_t head;
    size_t count;
    size_t bytes;
    size_t max_bytes;
} store = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t record_bytes(const struct record *r)
{
    return strlen(r->name) + r->body_len + strlen(r->remote) + strlen(r->content_type) + sizeof(*r);
}

static void record_free(struct record *r)
{
    free(r->name);
    free(r->body);
    free(r->remote);
    free(r->content_type);
    memset(r, 0, sizeof(*r));
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int store_init(size_t max_records, size_t max_bytes)
{
    store.ring = calloc(max_records, sizeof(*store.ring));
    if (!store.ring)
        return -1;
    store.cap = max_records;
    store.max_bytes = max_bytes;
    return 0;
}

void store_destroy(void)
{
    pthread_mutex_lock(&store.lock);
    for (size_t i = 0; i < store.count; i++)
        record_free(&store.ring[(store.head + i) % store.cap]);
    free(store.ring);
    store.ring = NULL;
    store.cap = store.count = store.head = store.bytes = 0;
    pthread_mutex_unlock(&store.lock);
}

static void drop_oldest(void)
{
    struct record *r = &store.ring[store.head];
    store.bytes -= record_bytes(r);
    record_free(r);
    store.head = (store.head + 1) % store.cap;
    store.count--;
}

int store_add(const char *name, const char *body, size_t body_len, const char *remote,
              const char *content_type, int ok)
{
    struct timespec ts;
    struct record r = {0};
    clock_gettime(CLOCK_REALTIME, &ts);
    r.name = dupn(name, strlen(name));
    r.body = dupn(body ? body : "", body ? body_len : 0);
    r.body_len = body ? body_len : 0;
    r.remote = dupn(remote, strlen(remote));
    r.content_type = dupn(content_type, strlen(content_type));
    r.time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    r.ok = ok;
    if (!r.name || !r.body || !r.remote || !r.content_type) {
        record_free(&r);
        return -1;
    }
    size_t size = record_bytes(&r);

    pthread_mutex_lock(&store.lock);
    if (!store.ring) {
        pthread_mutex_unlock(&store.lock);
        record_free(&r);
        return -1;
    }
    while (store.count > 0 && (store.count == store.cap || store.bytes + size > store.max_bytes))
        drop_oldest();
    store.ring[(store.head + store.count) % store.cap] = r;
    store.count++;
    store.bytes += size;
    pthread_mutex_unlock(&store.lock);
    return 0;
}

/* The posted body as JSON when it parses, else as a string (with bytes that
 * are not valid UTF-8 replaced, so that the answer stays valid JSON). */
static json_t *body_value(const struct record *r)
{
    json_t *v = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
    return v ? v : pc_json_bytes(r->body, r->body_len);
}

static json_t *record_json(const struct record *r)
{
    json_t *o = json_object();
    if (!o || pc_json_set(o, "body", body_value(r)) != 0 ||
        pc_json_set(o, "remote", json_string(r->remote)) != 0 ||
        pc_json_set(o, "ok", json_boolean(r->ok)) != 0 ||
        pc_json_set(o, "time", json_real(r->time)) != 0 ||
        pc_json_set(o, "content_type", pc_json_bytes(r->content_type, strlen(r->content_type))) !=
            0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *store_dump(const char *name)
{
    json_t *list = json_array();
    json_t *doc = json_object();
    char *out = NULL;
    if (!list || !doc) {
        json_decref(list);
        json_decref(doc);
        return NULL;
    }
    if (json_object_set(doc, "callbacks", list) != 0)
        goto done;

    pthread_mutex_lock(&store.lock);
    int failed = 0;
    for (size_t i = 0; i < store.count && !failed; i++) {
        const struct record *r = &store.ring[(store.head + i) % store.cap];
        if (strcmp(r->name, name) != 0)
            continue;
        json_t *o = record_json(r);
        if (!o || json_array_append_new(list, o) != 0)
            failed = 1;
    }
    pthread_mutex_unlock(&store.lock);
    if (failed)
        goto done;
    if (json_object_set_new(doc, "count", json_integer((json_int_t)json_array_size(list))) != 0)
        goto done;
    out = pc_json_dump(doc, NULL);
done:
    json_decref(list);
    json_decref(doc);
    return out;
}

size_t store_clear(const char *name)
{
    size_t removed = 0;
    pthread_mutex_lock(&store.lock);
    /* Keep the other names' records, in order, compacted to the ring's front. */
    size_t kept = 0;
    for (size_t i = 0; i < store.count; i++) {
        struct record *r = &store.ring[(store.head + i) % store.cap];
        if (strcmp(r->name, name) == 0) {
            store.bytes -= record_bytes(r);
            record_free(r);
            removed++;
        } else {
            struct record *dst = &store.ring[(store.head + kept) % store.cap];
            if (dst != r) {
                *dst = *r;
                memset(r, 0, sizeof(*r));
            }
            kept++;
        }
    }
    store.count = kept;
    pthread_mutex_unlock(&store.lock);
    return removed;
}
