#include "pc_mhd.h"

#include "pc_json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE "application/json"

struct MHD_Response *pc_mhd_response(const char *ctype, char *body, size_t len)
{
    struct MHD_Response *r;
    if (body && len) {
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(body);
    } else {
        /* MHD versions differ on whether an empty buffer is freed. */
        free(body);
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return NULL;
    return ctype ? pc_mhd_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) : r;
}

struct MHD_Response *pc_mhd_response_text(const char *ctype, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    return r && ctype ? pc_mhd_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) : r;
}

struct MHD_Response *pc_mhd_header(struct MHD_Response *r, const char *name, const char *value)
{
    if (r && MHD_add_response_header(r, name, value) != MHD_YES) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

pc_mhd_result pc_mhd_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    if (!r)
        return MHD_NO;
    pc_mhd_result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

pc_mhd_result pc_mhd_send(struct MHD_Connection *c, unsigned status, const char *ctype, char *body,
                          size_t len)
{
    return pc_mhd_queue(c, status, pc_mhd_response(ctype, body, len));
}

pc_mhd_result pc_mhd_send_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                              pc_buf *b)
{
    size_t len;
    char *body = pc_buf_take(b, &len);
    return body ? pc_mhd_send(c, status, ctype, body, len) : MHD_NO;
}

pc_mhd_result pc_mhd_send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                               const char *text)
{
    return pc_mhd_queue(c, status, pc_mhd_response_text(ctype, text));
}

pc_mhd_result pc_mhd_send_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
    size_t len;
    char *text = pc_json_dump(v, &len);
    json_decref(v);
    return text ? pc_mhd_send(c, status, JSON_TYPE, text, len) : MHD_NO;
}

pc_mhd_result pc_mhd_send_message(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    size_t len;
    va_list ap;
    va_start(ap, fmt);
    char *text = pc_json_vmessage(&len, fmt, ap);
    va_end(ap);
    return text ? pc_mhd_send(c, status, JSON_TYPE, text, len) : MHD_NO;
}
