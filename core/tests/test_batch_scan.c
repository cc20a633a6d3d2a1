/* The batch answer scanner: the same elements and the same error however
 * the body is split (whole, byte by byte, at every single cut, in random
 * chunks), strings that hold escapes and brackets, nesting, the shapes of
 * a well formed body and the many ways to break one, max_item, a callback
 * that stops the scan, 5,000 elements in bounded memory.
 *
 * `test_batch_scan --bench` measures scanning a 5,000-job answer against
 * json_loadb of the same text (time and peak memory). */
#define _POSIX_C_SOURCE 200809L
#include "batch_scan.h"
#include "check.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- what a scan produced */

typedef struct result {
    char *items; /* "index:len:text\n" for each element, NUL-terminated */
    size_t len, cap;
    size_t count;
    size_t stop_at; /* the callback stops at this index */
    int feed_rc;    /* the first -1 of pp_scan_feed, else 0 */
    int end_rc;
    char err[160];
} result;

static void result_add(result *r, const char *text, size_t n)
{
    if (r->len + n + 64 > r->cap) {
        size_t cap = (r->len + n + 64) * 2;
        char *b = realloc(r->items, cap);
        if (!b) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        r->items = b;
        r->cap = cap;
    }
    r->len += (size_t)sprintf(r->items + r->len, "%zu:%zu:", r->count, n);
    memcpy(r->items + r->len, text, n);
    r->len += n;
    r->items[r->len++] = '\n';
    r->items[r->len] = '\0';
}

static int on_item(void *ud, size_t index, const char *json, size_t len)
{
    result *r = ud;
    if (index != r->count)
        fprintf(stderr, "element %zu came as index %zu\n", r->count, index);
    result_add(r, json, len);
    return r->count++ == r->stop_at;
}

static void result_free(result *r)
{
    free(r->items);
    memset(r, 0, sizeof *r);
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Feeds body in pieces ending at cuts[] (then the rest); seed != 0 instead
 * picks random piece sizes. */
static void scan_split(const char *body, size_t n, const size_t *cuts, size_t ncuts, uint64_t seed,
                       size_t max_item, size_t stop_at, result *r)
{
    memset(r, 0, sizeof *r);
    r->stop_at = stop_at;
    pp_scan *s = pp_scan_new(on_item, r, max_item);
    if (!s) {
        fprintf(stderr, "pp_scan_new failed\n");
        exit(2);
    }
    size_t at = 0, k = 0;
    while (at < n && r->feed_rc == 0) {
        size_t next = n;
        if (seed) {
            /* mostly small pieces, some large */
            uint64_t span = rng_next(&seed) % 3 ? 17 : 600;
            next = at + 1 + (size_t)(rng_next(&seed) % span);
        } else if (k < ncuts)
            next = cuts[k++];
        if (next > n)
            next = n;
        /* a piece may also be empty */
        r->feed_rc = pp_scan_feed(s, body + at, next - at);
        at = next;
    }
    r->end_rc = pp_scan_end(s);
    const char *e = pp_scan_error(s);
    snprintf(r->err, sizeof r->err, "%s", e ? e : "");
    if (pp_scan_count(s) != r->count)
        r->err[0] = '?'; /* shows up as a difference */
    if (r->feed_rc < 0 && pp_scan_feed(s, "{", 1) != -1)
        r->err[0] = '!';
    pp_scan_free(s);
}

static void scan_whole(const char *body, size_t n, size_t max_item, result *r)
{
    scan_split(body, n, NULL, 0, 0, max_item, (size_t)-1, r);
}

static int same(const result *a, const result *b)
{
    return a->count == b->count && a->feed_rc == b->feed_rc && a->end_rc == b->end_rc &&
           a->len == b->len && (a->len == 0 || !memcmp(a->items, b->items, a->len)) &&
           !strcmp(a->err, b->err);
}

/* Every way of splitting body gives what feeding it whole gives. */
static void check_splits(const char *body, size_t n, size_t max_item)
{
    result whole, other;
    scan_whole(body, n, max_item, &whole);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    if (!cuts)
        exit(2);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    scan_split(body, n, cuts, n, 0, max_item, (size_t)-1, &other);
    CHECK(same(&whole, &other));
    if (!same(&whole, &other))
        fprintf(stderr, "  byte by byte differs for %.80s\n  (%s | %s)\n", body, whole.err,
                other.err);
    result_free(&other);
    int bad = 0;
    for (size_t k = 0; k <= n; k++) {
        size_t two[2] = {k, k}; /* also an empty feed at the cut */
        scan_split(body, n, two, 2, 0, max_item, (size_t)-1, &other);
        bad += !same(&whole, &other);
        result_free(&other);
    }
    CHECK_EQ_LONG(bad, 0);
    for (uint64_t seed = 1; seed <= 25; seed++) {
        scan_split(body, n, NULL, 0, seed * 0x9E3779B97F4A7C15ull, max_item, (size_t)-1, &other);
        bad += !same(&whole, &other);
        result_free(&other);
    }
    CHECK_EQ_LONG(bad, 0);
    free(cuts);
    result_free(&whole);
}

static int scan_ok(const char *body, result *r)
{
    scan_whole(body, strlen(body), 0, r);
    return r->feed_rc == 0 && r->end_rc == 0 && r->err[0] == 0;
}

/* ---- well formed bodies */

static void test_basic(void)
{
    result r;
    CHECK(scan_ok("{\"queries\":[{\"id\":\"1\",\"status\":\"pending\"},{\"id\":\"2\"}]}", &r));
    CHECK_EQ_LONG(r.count, 2);
    CHECK(r.items &&
          !strcmp(r.items, "0:29:{\"id\":\"1\",\"status\":\"pending\"}\n1:10:{\"id\":\"2\"}\n"));
    result_free(&r);

    /* whitespace around everything; values of every type, as they are */
    CHECK(scan_ok(" \r\n\t{ \"queries\" :\n[ 0 , -0.5e+3 ,\"\" , true,false ,null,[ ],{ }, 12 ,"
                  "123456789012345678901234567890] }\n ",
                  &r));
    CHECK_EQ_LONG(r.count, 10);
    CHECK(r.items && !strcmp(r.items, "0:1:0\n1:7:-0.5e+3\n2:2:\"\"\n3:4:true\n4:5:false\n"
                                      "5:4:null\n6:3:[ ]\n7:3:{ }\n8:2:12\n"
                                      "9:30:123456789012345678901234567890\n"));
    result_free(&r);

    CHECK(scan_ok("{\"queries\":[]}", &r));
    CHECK_EQ_LONG(r.count, 0);
    result_free(&r);
    CHECK(scan_ok("{ \"queries\" : [ ] }", &r));
    CHECK_EQ_LONG(r.count, 0);
    result_free(&r);
}

static void test_strings(void)
{
    /* brackets, quotes and escapes inside strings end nothing */
    static const char body[] = "{\"queries\":[\"}]{[\\\",\\\\\","
                               "{\"a\\\"}\":\"]\\u005d\\ud83d\\ude00\\n\\/\\b\\f\\r\\t\"},"
                               "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"]}";
    result r;
    CHECK(scan_ok(body, &r));
    CHECK_EQ_LONG(r.count, 3);
    const char *want = "0:11:\"}]{[\\\",\\\\\"\n"
                       "1:42:{\"a\\\"}\":\"]\\u005d\\ud83d\\ude00\\n\\/\\b\\f\\r\\t\"}\n"
                       "2:21:\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"\n";
    CHECK(r.items && !strcmp(r.items, want));
    if (r.items && strcmp(r.items, want))
        fprintf(stderr, "got:\n%s", r.items);
    result_free(&r);
    check_splits(body, strlen(body), 0);
}

/* An answer whose one element nests objects and arrays levels deep. */
static char *nested(int levels)
{
    char *b = malloc((size_t)levels * 6 + 32);
    if (!b)
        exit(2);
    size_t n = (size_t)sprintf(b, "{\"queries\":[");
    for (int i = 0; i < levels; i++)
        n += (size_t)sprintf(b + n, "%s", i % 2 ? "[" : "{\"k\":");
    b[n++] = '1';
    for (int i = levels - 1; i >= 0; i--)
        b[n++] = i % 2 ? ']' : '}';
    strcpy(b + n, "]}");
    return b;
}

/* The text of element i of a result. */
static const char *item_text(const result *r, size_t i, size_t *len)
{
    const char *p = r->items;
    for (size_t k = 0; p && k <= i; k++) {
        size_t idx;
        int used;
        if (sscanf(p, "%zu:%zu:%n", &idx, len, &used) != 2)
            return NULL;
        if (k == i)
            return p + used;
        p += (size_t)used + *len + 1;
    }
    return NULL;
}

static void test_nesting(void)
{
    /* the object and the array take two of the 64 levels */
    char *ok = nested(PP_SCAN_MAX_DEPTH - 2);
    char *deep = nested(PP_SCAN_MAX_DEPTH - 1);
    result r;
    CHECK(scan_ok(ok, &r));
    CHECK_EQ_LONG(r.count, 1);
    size_t len = 0;
    const char *text = item_text(&r, 0, &len);
    json_t *v = text ? json_loadb(text, len, 0, NULL) : NULL;
    CHECK(v != NULL);
    json_decref(v);
    result_free(&r);
    CHECK(!scan_ok(deep, &r));
    CHECK(strstr(r.err, "nested too deep") != NULL);
    CHECK_EQ_LONG(r.count, 0);
    result_free(&r);
    check_splits(ok, strlen(ok), 0);
    check_splits(deep, strlen(deep), 0);
    free(ok);
    free(deep);
}

static void test_keys(void)
{
    result r;
    /* other keys are skipped, whatever they hold, before and after; a
     * "queries" deeper down is not the one; an escaped key is */
    CHECK(scan_ok("{\"x\":[1,{\"queries\":[9]}],\"\\u0071uerie\\u0073\":[1,2],"
                  "\"y\":\"queries\",\"queriesX\":[3],\"querie\":[4]}",
                  &r));
    CHECK_EQ_LONG(r.count, 2);
    CHECK(r.items && !strcmp(r.items, "0:1:1\n1:1:2\n"));
    result_free(&r);
    /* a "queries" key inside an element is no second one */
    CHECK(scan_ok("{\"queries\":[{\"queries\":[1]}]}", &r));
    CHECK_EQ_LONG(r.count, 1);
    result_free(&r);

    CHECK(!scan_ok("{\"queries\":[1],\"queries\":[2]}", &r));
    CHECK(strstr(r.err, "second \"queries\"") != NULL);
    CHECK_EQ_LONG(r.count, 1);
    result_free(&r);
    CHECK(!scan_ok("{\"queries\":[1],\"\\u0071ueries\":{}}", &r));
    CHECK(strstr(r.err, "second") != NULL);
    result_free(&r);

    /* missing */
    CHECK(!scan_ok("{}", &r));
    CHECK(!strcmp(r.err, "byte 2: no \"queries\" key"));
    result_free(&r);
    CHECK(!scan_ok("{\"query\":[1],\"a\":{\"queries\":[1]}}", &r));
    CHECK(strstr(r.err, "no \"queries\" key") != NULL);
    CHECK_EQ_LONG(r.count, 0);
    result_free(&r);

    /* not an array */
    static const char *const not_arrays[] = {
        "{\"queries\":{}}",
        "{\"queries\":\"[]\"}",
        "{\"queries\":null}",
        "{\"queries\":5}",
    };
    for (size_t i = 0; i < sizeof not_arrays / sizeof *not_arrays; i++) {
        CHECK(!scan_ok(not_arrays[i], &r));
        CHECK(!strcmp(r.err, "byte 11: \"queries\" is not an array"));
        CHECK(r.feed_rc == -1);
        result_free(&r);
    }
}

static void test_trailer(void)
{
    result r;
    CHECK(scan_ok("{\"queries\":[1]} \n\t\r", &r));
    result_free(&r);
    static const char *const bad[] = {
        "{\"queries\":[1]}x",  "{\"queries\":[1]}{}", "{\"queries\":[1]}]",
        "{\"queries\":[1]} 0", "{\"queries\":[1]}\0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = strlen(bad[i]) + (i == 4);
        scan_whole(bad[i], n, 0, &r);
        CHECK(r.feed_rc == -1 && r.end_rc == -1);
        CHECK(strstr(r.err, "data after the JSON object") != NULL);
        CHECK_EQ_LONG(r.count, 1);
        result_free(&r);
    }
}

static void test_truncated(void)
{
    static const char body[] = "{\"a\":[true,{\"b\":null}],\"queries\":[{\"id\":\"1\",\"n\":-1.5E+"
                               "2,\"s\":\"\\u00e9\\ud83d\\ude00\xc3\xa9\"},"
                               "[false],\"x\",12]}";
    size_t n = strlen(body);
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        result r;
        scan_whole(body, k, 0, &r);
        /* every prefix reads fine, and ends badly */
        bad += r.feed_rc != 0 || r.end_rc != -1 || !strstr(r.err, k ? "ended early" : "empty body");
        result_free(&r);
    }
    CHECK_EQ_LONG(bad, 0);
    result r;
    CHECK(scan_ok(body, &r));
    CHECK_EQ_LONG(r.count, 4);
    result_free(&r);
    check_splits(body, n, 0);
}

/* ---- malformed bodies, and agreement with jansson */

static const char *const malformed[] = {
    "",
    "   ",
    "[]",
    "\"queries\"",
    "null",
    "{\"queries\":[]",
    "{\"queries\":[}",
    "{\"queries\":[]]",
    "\xef\xbb\xbf{\"queries\":[]}",
    "{'queries':[]}",
    "{queries:[]}",
    "{\"queries\" []}",
    "{\"queries\":[],}",
    "{,\"queries\":[]}",
    "{\"a\" 1,\"queries\":[]}",
    "{\"queries\":[1,]}",
    "{\"queries\":[,1]}",
    "{\"queries\":[1 2]}",
    "{\"queries\":[1:2]}",
    "{\"queries\":[{\"a\":1,}]}",
    "{\"queries\":[{1:2}]}",
    "{\"queries\":[{\"a\"}]}",
    "{\"queries\":[{\"a\":}]}",
    "{\"queries\":[[}]]}",
    "{\"queries\":[{]}]}",
    "{\"queries\":[01]}",
    "{\"queries\":[-]}",
    "{\"queries\":[-a]}",
    "{\"queries\":[1.]}",
    "{\"queries\":[.5]}",
    "{\"queries\":[+1]}",
    "{\"queries\":[1e]}",
    "{\"queries\":[1e+]}",
    "{\"queries\":[1.5e+x]}",
    "{\"queries\":[0x10]}",
    "{\"queries\":[NaN]}",
    "{\"queries\":[Infinity]}",
    "{\"queries\":[-Infinity]}",
    "{\"queries\":[tru]}",
    "{\"queries\":[trUe]}",
    "{\"queries\":[nul]}",
    "{\"queries\":[falsey]}",
    "{\"queries\":[\"a]}",
    "{\"queries\":[\"\\x\"]}",
    "{\"queries\":[\"\\u12G4\"]}",
    "{\"queries\":[\"\\u12\"]}",
    "{\"queries\":[\"\\ud800\"]}",
    "{\"queries\":[\"\\udc00\"]}",
    "{\"queries\":[\"\\ud800\\u0041\"]}",
    "{\"queries\":[\"\\ud800\\ud800\"]}",
    "{\"queries\":[\"\\ud800x\"]}",
    "{\"queries\":[\"\\ud800\\n\"]}",
    "{\"queries\":[\"\t\"]}",
    "{\"queries\":[\"\n\"]}",
    "{\"queries\":[\"\x7f\x80\"]}",
    "{\"queries\":[\"\xc0\x80\"]}",
    "{\"queries\":[\"\xc1\xbf\"]}",
    "{\"queries\":[\"\xe0\x80\xaf\"]}",
    "{\"queries\":[\"\xed\xa0\x80\"]}",
    "{\"queries\":[\"\xf0\x80\x80\xaf\"]}",
    "{\"queries\":[\"\xf4\x90\x80\x80\"]}",
    "{\"queries\":[\"\xf5\x80\x80\x80\"]}",
    "{\"queries\":[\"\xff\"]}",
    "{\"queries\":[\"\xc3\"]}",
    "{\"queries\":[\"\xe2\x82\"]}",
    "{\"queries\":[\"\xc3\x28\"]}",
    "{\"queries\":[1]}/",
    "{\"queries\":[1]/**/}",
    "{\"queries\":[\xc3\xa9]}",
    "{\"q\\ueries\":[]}",
    "{\"queries\":[\"a\"\"b\"]}",
};

static const char *const wellformed[] = {
    "{\"queries\":[0,-0,1,-1,1.5,-1.5e10,2E-3,1e+5,9223372036854775807,1.7976931348623157e308]}",
    "{\"queries\":[\"\",\"\\\"\",\"\\u0000\",\"\\uFFFF\",\"\\uDBFF\\uDFFF\",\"\\u00e9\","
    "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\"]}",
    "{\"queries\":[{\"a\":[{\"b\":{\"c\":[[[]]]}},{}]},[1,[2,[3]]],{\"\":\"\"}]}",
    "{\"before\":{\"x\":[1,\"]\"]},\"queries\":[true],\"after\":[[],{}]}",
    "\n{\"queries\":[{\"id\":\"7173957294344910849\",\"status\":\"done\",\"_links\":[{\"rel\":"
    "\"self\","
    "\"href\":\"http://data.oxylabs.io/v1/queries/7173957294344910849\",\"method\":\"GET\"}]}]}\n",
};

/* Each element parses alone to what jansson finds at its place in the
 * whole body. */
static void check_against_jansson(const char *body)
{
    result r;
    CHECK(scan_ok(body, &r));
    json_error_t e;
    json_t *root = json_loads(body, JSON_ALLOW_NUL, &e);
    CHECK(root != NULL);
    json_t *arr = json_object_get(root, "queries");
    CHECK_EQ_LONG(json_array_size(arr), r.count);
    for (size_t i = 0; i < r.count && i < json_array_size(arr); i++) {
        size_t len = 0;
        const char *text = item_text(&r, i, &len);
        json_t *v = text ? json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e) : NULL;
        CHECK(v && json_equal(v, json_array_get(arr, i)));
        json_decref(v);
    }
    json_decref(root);
    result_free(&r);
}

static void test_malformed(void)
{
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        result r;
        CHECK(!scan_ok(malformed[i], &r));
        if (r.end_rc == 0)
            fprintf(stderr, "  accepted: %s\n", malformed[i]);
        CHECK(r.err[0] != 0);
        /* jansson refuses them too (as objects with a queries array) */
        json_t *root = json_loads(malformed[i], 0, NULL);
        CHECK(!root || !json_is_array(json_object_get(root, "queries")));
        json_decref(root);
        result_free(&r);
        check_splits(malformed[i], strlen(malformed[i]), 0);
    }
    for (size_t i = 0; i < sizeof wellformed / sizeof *wellformed; i++) {
        check_against_jansson(wellformed[i]);
        check_splits(wellformed[i], strlen(wellformed[i]), 0);
    }
}

/* ---- limits and stopping */

static void test_max_item(void)
{
    result r;
    /* 10 bytes fit in 10 */
    static const char fit[] = "{\"queries\":[\"12345678\",1234567890,[12345678]]}";
    scan_whole(fit, strlen(fit), 10, &r);
    CHECK(r.end_rc == 0 && r.count == 3);
    result_free(&r);
    static const char *const big[] = {
        "{\"queries\":[\"123456789\"]}", "{\"queries\":[12345678901]}",
        "{\"queries\":[[123456789]]}",   "{\"queries\":[{\"a\":123456789}]}",
        "{\"queries\":[\"1234567890",
    };
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        scan_whole(big[i], strlen(big[i]), 10, &r);
        CHECK(r.feed_rc == -1 && r.end_rc == -1 && r.count == 0);
        /* the element begins at byte 12: its eleventh byte is 22 */
        CHECK(!strcmp(r.err, "byte 22: an element is larger than max_item"));
        result_free(&r);
        check_splits(big[i], strlen(big[i]), 10);
    }
    /* one large element among small ones; the ones before it came out */
    static const char mixed[] = "{\"queries\":[1,22,\"a\",[1,2,3,4,5,6,7,8],4]}";
    scan_whole(mixed, strlen(mixed), 8, &r);
    CHECK(r.feed_rc == -1 && r.count == 3);
    result_free(&r);
    check_splits(mixed, strlen(mixed), 8);
    check_splits(mixed, strlen(mixed), 1);
    /* skipped keys are not elements: no limit applies */
    static const char skipped[] = "{\"x\":\"a long string, longer than ten\",\"queries\":[]}";
    scan_whole(skipped, strlen(skipped), 10, &r);
    CHECK(r.end_rc == 0);
    result_free(&r);
}

static void test_stop(void)
{
    static const char body[] = "{\"queries\":[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"}]}";
    result r;
    scan_split(body, strlen(body), NULL, 0, 0, 0, 1, &r);
    CHECK(r.feed_rc == -1 && r.end_rc == -1);
    CHECK_EQ_LONG(r.count, 2);
    CHECK(strstr(r.err, "stopped by the callback") != NULL);
    CHECK(r.err[0] == 'b'); /* a further feed returned -1 too */
    result_free(&r);
    /* stopped in any split: the same */
    result whole, other;
    scan_split(body, strlen(body), NULL, 0, 0, 0, 0, &whole);
    for (uint64_t seed = 1; seed < 20; seed++) {
        scan_split(body, strlen(body), NULL, 0, seed, 0, 0, &other);
        CHECK(same(&whole, &other));
        result_free(&other);
    }
    CHECK_EQ_LONG(whole.count, 1);
    result_free(&whole);
}

static void test_misuse(void)
{
    CHECK(pp_scan_new(NULL, NULL, 0) == NULL);
    CHECK(pp_scan_feed(NULL, "{", 1) == -1);
    CHECK(pp_scan_end(NULL) == -1);
    CHECK(pp_scan_count(NULL) == 0);
    CHECK(pp_scan_error(NULL) == NULL);
    pp_scan_free(NULL);
    result r = {0};
    r.stop_at = (size_t)-1;
    pp_scan *s = pp_scan_new(on_item, &r, 0);
    CHECK(s != NULL);
    CHECK(pp_scan_feed(s, NULL, 0) == 0);
    CHECK(pp_scan_feed(s, "{\"queries\":[]}", 14) == 0);
    CHECK(pp_scan_error(s) == NULL);
    CHECK(pp_scan_end(s) == 0);
    CHECK(pp_scan_end(s) == 0);
    CHECK(pp_scan_feed(s, " ", 1) == -1);
    CHECK(pp_scan_error(s) && strstr(pp_scan_error(s), "after the end"));
    pp_scan_free(s);
    result_free(&r);
}

/* ---- a real-sized answer */

/* A job object as the service answers a batch, about 1.4 KB. */
static size_t job_text(char *out, size_t cap, size_t i)
{
    char id[40];
    snprintf(id, sizeof id, "71739572943%08zu", i);
    return (size_t)snprintf(
        out, cap,
        "{\"callback_url\":\"https://hooks.example.com/callback?batch=1\",\"client_id\":163,"
        "\"client_notes\":null,\"context\":[{\"key\":\"follow_redirects\",\"value\":null},"
        "{\"key\":\"headers\",\"value\":null},{\"key\":\"http_method\",\"value\":\"get\"},"
        "{\"key\":\"session_id\",\"value\":null},{\"key\":\"successful_status_codes\",\"value\":[]}"
        "],"
        "\"created_at\":\"2019-10-01 00:00:01\",\"domain\":\"com\",\"geo_location\":null,"
        "\"id\":\"%s\",\"limit\":10,\"locale\":null,\"pages\":1,\"parse\":false,"
        "\"parser_type\":null,\"parsing_instructions\":null,\"render\":null,"
        "\"url\":\"https://shop.example.com/catalog/item/%zu?ref=batch\\u0026page=1\","
        "\"query\":\"\",\"source\":\"universal\",\"start_page\":1,\"status\":\"pending\","
        "\"storage_type\":null,\"storage_url\":null,\"subdomain\":\"www\",\"content_encoding\":"
        "\"utf-8\","
        "\"updated_at\":\"2019-10-01 00:00:01\",\"user_agent_type\":\"desktop\",\"statuses\":[],"
        "\"_links\":[{\"rel\":\"self\",\"href\":\"http://data.oxylabs.io/v1/queries/"
        "%s\",\"method\":\"GET\"},"
        "{\"rel\":\"results\",\"href\":\"http://data.oxylabs.io/v1/queries/%s/"
        "results\",\"method\":\"GET\"},"
        "{\"rel\":\"results-html\",\"href\":\"http://data.oxylabs.io/v1/queries/%s/"
        "results?type=raw\",\"method\":\"GET\"},"
        "{\"rel\":\"results-parsed\",\"href\":\"http://data.oxylabs.io/v1/queries/%s/"
        "results?type=parsed\",\"method\":\"GET\"},"
        "{\"rel\":\"results-png\",\"href\":\"http://data.oxylabs.io/v1/queries/%s/"
        "results?type=png\",\"method\":\"GET\"}]}",
        id, i, id, id, id, id, id);
}

static char *batch_body(size_t jobs, size_t *len)
{
    char job[2048];
    size_t cap = jobs * sizeof job + 64, n = 0;
    char *b = malloc(cap);
    if (!b)
        exit(2);
    n += (size_t)sprintf(b, "{\"queries\":[");
    for (size_t i = 0; i < jobs; i++) {
        if (i)
            b[n++] = ',';
        size_t k = job_text(job, sizeof job, i);
        memcpy(b + n, job, k);
        n += k;
    }
    n += (size_t)sprintf(b + n, "]}");
    *len = n;
    return b;
}

typedef struct many {
    size_t bad;
    size_t largest;
} many;

static int on_job(void *ud, size_t index, const char *json, size_t len)
{
    many *m = ud;
    json_error_t e;
    json_t *job = json_loadb(json, len, 0, &e);
    char want[40];
    snprintf(want, sizeof want, "71739572943%08zu", index);
    const char *id = json_string_value(json_object_get(job, "id"));
    m->bad += !id || strcmp(id, want) != 0;
    if (len > m->largest)
        m->largest = len;
    json_decref(job);
    return 0;
}

static void test_many(void)
{
    size_t n;
    char *body = batch_body(5000, &n);
    CHECK(n > 5000 * 1300 && n < 5000 * 1500);
    /* as curl hands a body over: 16 KiB at a time */
    many m = {0, 0};
    pp_scan *s = pp_scan_new(on_job, &m, 0);
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += 16384)
        rc = pp_scan_feed(s, body + at, n - at < 16384 ? n - at : 16384);
    CHECK(rc == 0);
    CHECK(pp_scan_end(s) == 0);
    CHECK_EQ_LONG(pp_scan_count(s), 5000);
    CHECK_EQ_LONG(m.bad, 0);
    /* only the element that straddles two feeds is kept */
    CHECK(pp_scan_capacity(s) <= 4096 && m.largest > 1300);
    pp_scan_free(s);
    /* fed whole, nothing is copied */
    s = pp_scan_new(on_job, &m, 0);
    CHECK(pp_scan_feed(s, body, n) == 0 && pp_scan_end(s) == 0);
    CHECK_EQ_LONG(pp_scan_capacity(s), 0);
    CHECK_EQ_LONG(pp_scan_count(s), 5000);
    pp_scan_free(s);
    free(body);
}

/* ---- --bench: time and peak memory against json_loadb */

/* Room before each block for its size, keeping malloc's alignment. */
#define HEAP_HEADER 16

static size_t heap_now, heap_peak;

static void *counting_malloc(size_t n)
{
    size_t *p = malloc(n + HEAP_HEADER);
    if (!p)
        return NULL;
    *p = n;
    heap_now += n;
    if (heap_now > heap_peak)
        heap_peak = heap_now;
    return (char *)p + HEAP_HEADER;
}

static void counting_free(void *q)
{
    if (!q)
        return;
    size_t *p = (size_t *)(void *)((char *)q - HEAP_HEADER);
    heap_now -= *p;
    free(p);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int on_nothing(void *ud, size_t index, const char *json, size_t len)
{
    (void)index;
    (void)json;
    *(size_t *)ud += len;
    return 0;
}

enum { MODE_TREE, MODE_SCAN, MODE_SCAN_PARSE };

/* One mode on body; returns seconds; heap_peak and *kept say its memory. */
static double bench_once(int mode, const char *body, size_t n, size_t *kept)
{
    double t0 = now_s();
    *kept = 0;
    if (mode == MODE_TREE) {
        json_t *root = json_loadb(body, n, 0, NULL);
        json_t *arr = json_object_get(root, "queries");
        size_t ids = 0;
        for (size_t i = 0; i < json_array_size(arr); i++)
            ids += json_string_length(json_object_get(json_array_get(arr, i), "id"));
        if (ids != 19 * 5000)
            fprintf(stderr, "tree: %zu id bytes\n", ids);
        json_decref(root);
    } else {
        size_t seen = 0;
        many m = {0, 0};
        pp_scan *s =
            mode == MODE_SCAN ? pp_scan_new(on_nothing, &seen, 0) : pp_scan_new(on_job, &m, 0);
        for (size_t at = 0; s && at < n; at += 16384)
            pp_scan_feed(s, body + at, n - at < 16384 ? n - at : 16384);
        if (!s || pp_scan_end(s) != 0 || pp_scan_count(s) != 5000 || m.bad)
            fprintf(stderr, "scan failed\n");
        *kept = pp_scan_capacity(s);
        pp_scan_free(s);
    }
    return now_s() - t0;
}

/* Peak resident set growth of one run, in a child forked before the
 * benchmark touched any memory: it builds its own body. */
static long rss_growth_kb(int mode)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        size_t n, kept;
        char *body = batch_body(5000, &n);
        struct rusage u;
        getrusage(RUSAGE_SELF, &u);
        long before = u.ru_maxrss;
        bench_once(mode, body, n, &kept);
        getrusage(RUSAGE_SELF, &u);
        long d = u.ru_maxrss - before;
        ssize_t w = write(fds[1], &d, sizeof d);
        _exit(w == (ssize_t)sizeof d ? 0 : 1);
    }
    close(fds[1]);
    long d = -1;
    if (pid < 0 || read(fds[0], &d, sizeof d) != (ssize_t)sizeof d)
        d = -1;
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return d;
}

static int bench(void)
{
    static const char *const names[] = {
        "json_loadb of the whole body",
        "pp_scan, elements not parsed",
        "pp_scan + json_loadb per element",
    };
    long rss[3];
    for (int mode = MODE_TREE; mode <= MODE_SCAN_PARSE; mode++)
        rss[mode] = rss_growth_kb(mode);
    size_t n;
    char *body = batch_body(5000, &n);
    printf("body: 5000 jobs, %zu bytes (%.2f KB each), fed in 16 KiB pieces; best of 5\n", n,
           (double)n / 5000 / 1000);
    for (int mode = MODE_TREE; mode <= MODE_SCAN_PARSE; mode++) {
        double best = 1e9;
        size_t kept = 0;
        for (int rep = 0; rep < 5; rep++) {
            double t = bench_once(mode, body, n, &kept);
            if (t < best)
                best = t;
        }
        /* the heap once more, counted */
        json_set_alloc_funcs(counting_malloc, counting_free);
        heap_now = heap_peak = 0;
        bench_once(mode, body, n, &kept);
        json_set_alloc_funcs(malloc, free);
        printf("%-34s %7.1f ms %7.1f MB/s   peak heap %10zu B (jansson %zu, scanner buffer %zu)"
               "   peak RSS growth %6ld KB\n",
               names[mode], best * 1e3, (double)n / best / 1e6, heap_peak + kept, heap_peak, kept,
               rss[mode]);
    }
    free(body);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--bench"))
        return bench();
    test_basic();
    test_strings();
    test_nesting();
    test_keys();
    test_trailer();
    test_truncated();
    test_malformed();
    test_max_item();
    test_stop();
    test_misuse();
    test_many();
    DONE();
}
