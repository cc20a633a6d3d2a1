#include "params.h"

#include "pc_json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int params_is_http_url(const char *s)
{
    size_t skip;
    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    /* A host must follow the scheme. */
    return s[skip] != '\0' && s[skip] != '/' && s[skip] != '?' && s[skip] != '#';
}

#define FAIL(...)                           \
    do {                                    \
        snprintf(err, errlen, __VA_ARGS__); \
        goto fail;                          \
    } while (0)

enum kind { K_STRING, K_STRING_OR_NULL };

/* Copies a string-valued parameter (or its default) into out. */
static int copy_string(json_t *out, const json_t *in, const char *key, enum kind kind,
                       const char *def, char *err, size_t errlen)
{
    json_t *v = json_object_get(in, key);
    if (!v)
        return pc_json_set(out, key, def ? json_string(def) : json_null()) == 0 ? 0 : -2;
    if (json_is_string(v) || (kind == K_STRING_OR_NULL && json_is_null(v)))
        return json_object_set(out, key, v) == 0 ? 0 : -2;
    snprintf(err, errlen, kind == K_STRING ? "%s must be a string" : "%s must be a string or null",
             key);
    return -1;
}

/* A positive integer parameter within [lo, hi]. */
static int copy_int(json_t *out, const json_t *in, const char *key, long long lo, long long hi,
                    long long def, const char *msg, char *err, size_t errlen)
{
    json_t *v = json_object_get(in, key);
    long long n = def;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
            snprintf(err, errlen, "%s %s", key, msg);
            return -1;
        }
        n = json_integer_value(v);
    }
    return pc_json_set(out, key, json_integer(n)) == 0 ? 0 : -2;
}

static int one_of(const char *s, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(s, *allowed) == 0)
            return 1;
    return 0;
}

static int is_render(const json_t *v)
{
    static const char *const renders[] = {"html", "png", NULL};
    return json_is_string(v) && one_of(json_string_value(v), renders);
}

static int is_storage_type(const json_t *v)
{
    static const char *const types[] = {"s3", "gcs", "s3_compatible", NULL};
    return json_is_string(v) && one_of(json_string_value(v), types);
}

static int is_http_string(const json_t *v)
{
    return json_is_string(v) && params_is_http_url(json_string_value(v));
}

/* A parameter that is null (the default) or a value accepted by ok(). */
static int copy_nullable(json_t *out, const json_t *in, const char *key, int (*ok)(const json_t *),
                         const char *msg, char *err, size_t errlen)
{
    json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v))
        return pc_json_set(out, key, json_null()) == 0 ? 0 : -2;
    if (!ok(v)) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    return json_object_set(out, key, v) == 0 ? 0 : -2;
}

static const char *const known_keys[] = {"source",
                                         "url",
                                         "query",
                                         "domain",
                                         "geo_location",
                                         "locale",
                                         "user_agent_type",
                                         "render",
                                         "parse",
                                         "context",
                                         "callback_url",
                                         "pages",
                                         "start_page",
                                         "limit",
                                         "storage_type",
                                         "storage_url",
                                         "client_notes",
                                         "subdomain",
                                         NULL};

/* Checks one url/query value. */
static int check_target(const json_t *v, int is_url, int batch, char *err, size_t errlen)
{
    const char *name = is_url ? "url" : "query";
    if (!json_is_string(v)) {
        snprintf(err, errlen, batch ? "%s values must be strings" : "%s must be a string", name);
        return -1;
    }
    if (is_url && !params_is_http_url(json_string_value(v))) {
        snprintf(err, errlen, "url must be an http or https URL");
        return -1;
    }
    return 0;
}

json_t *params_validate(const json_t *in, int batch, int *is_url, json_t **targets, char *err,
                        size_t errlen)
{
    json_t *out = NULL, *list = NULL;
    *targets = NULL;
    if (!json_is_object(in))
        FAIL("the JSON body must be an object");

    /* In a batch only url or query may be a list; say which field is wrong. */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v) {
        if (json_is_array(v) && strcmp(key, "context") != 0 &&
            (!batch || (strcmp(key, "url") != 0 && strcmp(key, "query") != 0)))
            FAIL(batch ? "%s must be a single value: only url or query may be a list in a batch"
                       : "%s must not be a list (use /v1/queries/batch for lists)",
                 key);
    }

    json_t *src = json_object_get(in, "source");
    if (!src)
        FAIL("source is required");
    if (!json_is_string(src) || json_string_length(src) == 0)
        FAIL("source must be a non-empty string");

    json_t *url = json_object_get(in, "url"), *query = json_object_get(in, "query");
    if (url && json_is_null(url))
        url = NULL;
    if (query && json_is_null(query))
        query = NULL;
    if (url && query) {
        if (batch && json_is_array(url) && json_is_array(query))
            FAIL("url and query cannot both be lists: give exactly one of them");
        FAIL("give exactly one of url or query, not both");
    }
    if (!url && !query)
        FAIL(batch ? "url or query is required (a list of 1 to %d values)"
                   : "url or query is required",
             BATCH_MAX);
    *is_url = url != NULL;
    json_t *target = url ? url : query;
    const char *tname = url ? "url" : "query";

    list = json_array();
    if (!list)
        FAIL("out of memory");
    if (batch) {
        if (!json_is_array(target))
            FAIL("%s must be a list of 1 to %d values in a batch", tname, BATCH_MAX);
        size_t n = json_array_size(target);
        if (n == 0 || n > BATCH_MAX)
            FAIL("%s must be a list of 1 to %d values (got %zu)", tname, BATCH_MAX, n);
        size_t i;
        json_array_foreach(target, i, v) {
            if (check_target(v, *is_url, 1, err, errlen) != 0)
                goto fail;
        }
        if (json_array_extend(list, target) != 0)
            FAIL("out of memory");
    } else {
        if (check_target(target, *is_url, 0, err, errlen) != 0)
            goto fail;
        if (json_array_append(list, target) != 0)
            FAIL("out of memory");
    }

    out = json_object();
    if (!out || json_object_set(out, "source", src) != 0)
        FAIL("out of memory");

    int rc;
#define STR(k, kind, def)                                              \
    if ((rc = copy_string(out, in, k, kind, def, err, errlen)) != 0) { \
        if (rc == -2)                                                  \
            FAIL("out of memory");                                     \
        goto fail;                                                     \
    }
#define INT(k, lo, hi, def, msg)                                           \
    if ((rc = copy_int(out, in, k, lo, hi, def, msg, err, errlen)) != 0) { \
        if (rc == -2)                                                      \
            FAIL("out of memory");                                         \
        goto fail;                                                         \
    }

    STR("domain", K_STRING, "com");
    STR("geo_location", K_STRING_OR_NULL, NULL);
    STR("locale", K_STRING_OR_NULL, NULL);
    STR("user_agent_type", K_STRING, "desktop");

    if ((rc = copy_nullable(out, in, "render", is_render,
                            "render must be null, \"html\" or \"png\"", err, errlen)) != 0)
        goto nullable_fail;

    v = json_object_get(in, "parse");
    if (v && !json_is_boolean(v))
        FAIL("parse must be a boolean");
    if (pc_json_set(out, "parse", json_boolean(v && json_is_true(v))) != 0)
        FAIL("out of memory");

    v = json_object_get(in, "context");
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *e;
        if (!json_is_array(v))
            FAIL("context must be a list of {\"key\": ..., \"value\": ...} objects");
        json_array_foreach(v, i, e) {
            if (!json_is_object(e) || !json_is_string(json_object_get(e, "key")) ||
                !json_object_get(e, "value"))
                FAIL("context must be a list of {\"key\": ..., \"value\": ...} objects (item %zu)",
                     i + 1);
        }
        if (json_object_set(out, "context", v) != 0)
            FAIL("out of memory");
    } else if (pc_json_set(out, "context", json_array()) != 0)
        FAIL("out of memory");

    if ((rc = copy_nullable(out, in, "callback_url", is_http_string,
                            "callback_url must be an http or https URL or null", err, errlen)) != 0)
        goto nullable_fail;

    INT("pages", 1, 1000, 1, "must be a positive integer (at most 1000)");
    INT("start_page", 1, 1000000, 1, "must be a positive integer");
    INT("limit", 1, 100, 10, "must be an integer between 1 and 100");

    if ((rc = copy_nullable(out, in, "storage_type", is_storage_type,
                            "storage_type must be null, \"s3\", \"gcs\" or \"s3_compatible\"", err,
                            errlen)) != 0)
        goto nullable_fail;

    STR("storage_url", K_STRING_OR_NULL, NULL);
    STR("client_notes", K_STRING_OR_NULL, NULL);
    STR("subdomain", K_STRING, "www");
#undef STR
#undef INT

    /* Unknown parameters are accepted as they are and echoed back. */
    json_object_foreach((json_t *)in, key, v) {
        if (!one_of(key, known_keys) && json_object_set(out, key, v) != 0)
            FAIL("out of memory");
    }
    *targets = list;
    return out;

nullable_fail:
    if (rc == -2)
        snprintf(err, errlen, "out of memory");
fail:
    json_decref(out);
    json_decref(list);
    return NULL;
}
