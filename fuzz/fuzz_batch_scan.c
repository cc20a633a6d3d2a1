/* pp_scan against itself and against jansson. The input is a body.
 *
 * It is scanned whole, then in pieces (one byte at a time, and sizes drawn
 * from a generator seeded by the input), then with a small max_item, then
 * with a callback that stops early. Checked:
 *   - every split gives the same elements, count, result and error;
 *   - every element handed out parses alone with jansson (failing only for
 *     what jansson cannot hold: a number too large, \u0000 in a key);
 *   - a small max_item gives exactly the elements before the first larger
 *     one; a stop gives exactly the elements up to it;
 *   - agreement with jansson on the whole body: when jansson accepts it as
 *     an object with a "queries" array (no duplicate key, nesting within
 *     the cap, no NUL byte: jansson takes one right after a number or a
 *     literal) the scan succeeds with the same elements, and when the scan
 *     succeeds jansson accepts the body. */
#include "batch_scan.h"
#include "fuzz.h"

#include <jansson.h>
#include <string.h>

typedef struct run {
    size_t stop_at; /* the callback stops at this index */
    size_t count;
    uint64_t *hashes; /* per element */
    size_t *lens;
    size_t cap;
    char *texts; /* kept when keep_texts */
    size_t texts_len, texts_cap;
    int keep_texts;
    int feed_rc, end_rc;
    char err[160];
} run;

static uint64_t fnv(const char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

static void *grow(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    REQUIRE(q != NULL);
    return q;
}

/* Valid JSON that jansson still refuses. */
static int beyond_jansson(const json_error_t *e)
{
    enum json_error_code code = json_error_code(e);
    return code == json_error_numeric_overflow || code == json_error_null_byte_in_key;
}

static int on_item(void *ud, size_t index, const char *json, size_t len)
{
    run *r = ud;
    REQUIRE(index == r->count);
    REQUIRE(len > 0);
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->hashes = grow(r->hashes, r->cap * sizeof *r->hashes);
        r->lens = grow(r->lens, r->cap * sizeof *r->lens);
    }
    r->hashes[r->count] = fnv(json, len, 0xcbf29ce484222325ull);
    r->lens[r->count] = len;
    if (r->keep_texts) {
        if (r->texts_len + len > r->texts_cap) {
            r->texts_cap = (r->texts_len + len) * 2;
            r->texts = grow(r->texts, r->texts_cap);
        }
        memcpy(r->texts + r->texts_len, json, len);
        r->texts_len += len;
        /* one complete value */
        json_error_t e;
        json_t *v = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!v && !beyond_jansson(&e)) {
            fprintf(stderr, "element %zu is no JSON value: %s\n%.*s\n", index, e.text, (int)len,
                    json);
            abort();
        }
        json_decref(v);
    }
    return r->count++ == r->stop_at;
}

static void run_free(run *r)
{
    free(r->hashes);
    free(r->lens);
    free(r->texts);
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* seed 0: whole; 1: byte by byte; else random pieces. */
static void scan(const uint8_t *data, size_t size, uint64_t seed, size_t max_item, size_t stop_at,
                 int keep_texts, run *r)
{
    memset(r, 0, sizeof *r);
    r->stop_at = stop_at;
    r->keep_texts = keep_texts;
    pp_scan *s = pp_scan_new(on_item, r, max_item);
    REQUIRE(s != NULL);
    size_t at = 0;
    while (at < size && r->feed_rc == 0) {
        size_t n = size - at;
        if (seed == 1)
            n = 1;
        else if (seed)
            n = (size_t)(next_rand(&seed) % (next_rand(&seed) % 4 ? 9 : 300)); /* 0 too */
        if (n > size - at)
            n = size - at;
        r->feed_rc = pp_scan_feed(s, (const char *)data + at, n);
        at += n;
    }
    r->end_rc = pp_scan_end(s);
    REQUIRE(pp_scan_count(s) == r->count);
    const char *e = pp_scan_error(s);
    REQUIRE((e != NULL) == (r->end_rc != 0));
    snprintf(r->err, sizeof r->err, "%s", e ? e : "");
    if (r->feed_rc)
        REQUIRE(pp_scan_feed(s, "{", 1) == -1);
    pp_scan_free(s);
}

static void same(const run *a, const run *b)
{
    REQUIRE(a->count == b->count);
    REQUIRE(a->feed_rc == b->feed_rc && a->end_rc == b->end_rc);
    REQUIRE(!strcmp(a->err, b->err));
    for (size_t i = 0; i < a->count; i++)
        REQUIRE(a->hashes[i] == b->hashes[i] && a->lens[i] == b->lens[i]);
}

static size_t depth(const json_t *v)
{
    size_t d = 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            size_t k = depth(json_array_get(v, i));
            d = k > d ? k : d;
        }
        return d + 1;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)v, key, x) {
            size_t k = depth(x);
            d = k > d ? k : d;
        }
        return d + 1;
    }
    return 0;
}

/* The whole body, read by jansson, against the scan. */
static void against_jansson(const uint8_t *data, size_t size, const run *whole)
{
    json_error_t e;
    json_t *root = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &e);
    if (whole->end_rc == 0)
        REQUIRE(root || beyond_jansson(&e));
    json_decref(root);

    root = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
    json_t *arr = json_object_get(root, "queries");
    if (json_is_array(arr) && depth(root) <= PP_SCAN_MAX_DEPTH && !memchr(data, 0, size)) {
        if (whole->end_rc != 0)
            fprintf(stderr, "jansson reads what the scan refused: %s\n", whole->err);
        REQUIRE(whole->end_rc == 0);
        REQUIRE(whole->count == json_array_size(arr));
        size_t off = 0;
        for (size_t i = 0; i < whole->count; i++) {
            json_t *v = json_loadb(whole->texts + off, whole->lens[i],
                                   JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
            REQUIRE(v && json_equal(v, json_array_get(arr, i)));
            json_decref(v);
            off += whole->lens[i];
        }
    }
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = fnv((const char *)data, size, 0xcbf29ce484222325ull) | 2;
    run whole, other;
    scan(data, size, 0, size + 1, (size_t)-1, 1, &whole);
    against_jansson(data, size, &whole);

    scan(data, size, 1, size + 1, (size_t)-1, 0, &other);
    same(&whole, &other);
    run_free(&other);
    scan(data, size, seed, size + 1, (size_t)-1, 0, &other);
    same(&whole, &other);
    run_free(&other);

    /* a small max_item: the elements before the first larger one */
    size_t max_item = 1 + (size_t)(seed % 64);
    run small;
    scan(data, size, 0, max_item, (size_t)-1, 0, &small);
    size_t first_large = 0;
    while (first_large < whole.count && whole.lens[first_large] <= max_item)
        first_large++;
    REQUIRE(small.count == first_large);
    for (size_t i = 0; i < small.count; i++)
        REQUIRE(small.hashes[i] == whole.hashes[i]);
    if (small.end_rc == 0)
        REQUIRE(whole.end_rc == 0 && first_large == whole.count);
    scan(data, size, seed ^ 0x5555, max_item, (size_t)-1, 0, &other);
    same(&small, &other);
    run_free(&other);
    run_free(&small);

    /* a callback that stops */
    if (whole.count) {
        size_t stop = (size_t)(seed >> 8) % whole.count;
        scan(data, size, seed ^ 0xaaaa, size + 1, stop, 0, &other);
        REQUIRE(other.count == stop + 1 && other.feed_rc == -1 && other.end_rc == -1);
        REQUIRE(strstr(other.err, "stopped by the callback") != NULL);
        for (size_t i = 0; i < other.count; i++)
            REQUIRE(other.hashes[i] == whole.hashes[i]);
        run_free(&other);
    }
    run_free(&whole);
    return 0;
}
