/* Small jansson helpers. All JSON in the core goes through jansson. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pp_json_id(json_t *obj, char *buf, size_t buflen)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, "id") : NULL;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return *s ? s : NULL;
    }
    if (json_is_integer(v) && buflen >= 32) {
        snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return NULL;
}

char *pp_json_error_message(const char *body, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return NULL;
    char *out = NULL;
    json_t *m = json_is_object(root) ? json_object_get(root, "message") : NULL;
    if (json_is_string(m))
        out = pp_strdup(json_string_value(m));
    else if (m && !json_is_null(m))
        out = pc_json_dump(m, NULL);
    json_decref(root);
    return out;
}

int pp_id_valid(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char ch = id[n];
        if (n >= 96 || !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                         (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
            return 0;
    }
    return n > 0;
}
