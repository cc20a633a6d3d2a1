#include "pc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int to_buf(const char *data, size_t len, void *b)
{
    return pc_buf_append(b, data, len);
}

int pc_json_append(pc_buf *b, const json_t *v)
{
    /* One pass into a growing buffer: sizing first with json_dumpb would
     * escape every string twice, which is most of the cost for big pages. */
    if (!v ||
        json_dump_callback(v, to_buf, b, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) != 0)
        return -1;
    return 0;
}

char *pc_json_dump(const json_t *v, size_t *len)
{
    pc_buf b = PC_BUF_INIT;
    if (pc_json_append(&b, v) < 0) {
        pc_buf_free(&b);
        return NULL;
    }
    return pc_buf_take(&b, len);
}

json_t *pc_json_bytes(const char *data, size_t len)
{
    json_t *s = json_stringn(data ? data : "", data ? len : 0);
    if (s)
        return s;
    size_t n;
    char *fixed = pc_utf8_repair(data, len, &n);
    if (!fixed)
        return NULL;
    s = json_stringn_nocheck(fixed, n);
    free(fixed);
    return s;
}

json_t *pc_json_take_buf(pc_buf *b)
{
    size_t len;
    char *s = pc_buf_take(b, &len);
    if (!s)
        return NULL;
    json_t *v = pc_json_bytes(s, len);
    free(s);
    return v;
}

int pc_json_set(json_t *obj, const char *key, json_t *v)
{
    if (!v)
        return -1;
    return json_object_set_new(obj, key, v);
}

const char *pc_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

char *pc_json_vmessage(size_t *len, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* json_string refuses invalid UTF-8: a generic message is better than
     * no answer. */
    json_t *m = json_string(msg);
    if (!m)
        m = json_string("invalid request");
    json_t *o = m ? json_pack("{s:o}", "message", m) : NULL;
    char *text = pc_json_dump(o, len);
    json_decref(o);
    return text;
}

char *pc_json_message(size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = pc_json_vmessage(len, fmt, ap);
    va_end(ap);
    return text;
}
