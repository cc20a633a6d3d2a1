#include "reply.h"

#include "pc_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void reply_init(struct reply *r)
{
    memset(r, 0, sizeof *r);
}

void reply_free(struct reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

static void set_body(struct reply *r, int status, const char *ctype, char *body, size_t len)
{
    free(r->body);
    r->status = status;
    r->ctype = ctype;
    r->body = body;
    r->len = len;
}

/* Out of memory while building an answer: say so with a static body. */
static void reply_oom(struct reply *r)
{
    static const char oom[] = "{\"message\":\"out of memory\"}";
    char *copy = malloc(sizeof oom);
    if (copy)
        memcpy(copy, oom, sizeof oom);
    set_body(r, 500, "application/json", copy, copy ? sizeof oom - 1 : 0);
}

void reply_json(struct reply *r, int status, json_t *obj)
{
    size_t len = 0;
    char *s = pc_json_dump(obj, &len);
    json_decref(obj);
    if (s)
        set_body(r, status, "application/json", s, len);
    else
        reply_oom(r);
}

void reply_message(struct reply *r, int status, const char *fmt, ...)
{
    size_t len = 0;
    va_list ap;
    va_start(ap, fmt);
    char *s = pc_json_vmessage(&len, fmt, ap);
    va_end(ap);
    if (s)
        set_body(r, status, "application/json", s, len);
    else
        reply_oom(r);
}

void reply_raw(struct reply *r, int status, const char *ctype, char *body, size_t len)
{
    set_body(r, status, ctype, body, len);
}

void reply_empty(struct reply *r, int status)
{
    set_body(r, status, NULL, NULL, 0);
}

void reply_header(struct reply *r, const char *name, const char *value)
{
    if (r->nhdr >= REPLY_MAX_HEADERS)
        return;
    snprintf(r->hdr[r->nhdr].name, sizeof r->hdr[0].name, "%s", name);
    snprintf(r->hdr[r->nhdr].value, sizeof r->hdr[0].value, "%s", value);
    r->nhdr++;
}
