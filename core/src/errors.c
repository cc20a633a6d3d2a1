/* pp_error values: owned message and body, HTTP reason phrases. */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char pp_oom_message[] = "out of memory";

void pp_err_clear(pp_error *e)
{
    if (e->message && e->message != pp_oom_message)
        free((char *)e->message);
    free((char *)e->body);
    e->message = NULL;
    e->body = NULL;
    e->body_len = 0;
    e->http_status = 0;
}

void pp_err_set(pp_error *e, const char *message, int http_status, const char *body,
                size_t body_len)
{
    pp_err_clear(e);
    char *m = pp_strdup(message ? message : "error");
    e->message = m ? m : pp_oom_message;
    e->http_status = http_status;
    if (body && m) {
        char *b = pp_strndup(body, body_len);
        if (b) {
            e->body = b;
            e->body_len = body_len;
        }
    }
}

void pp_err_copy(pp_error *dst, const pp_error *src)
{
    if (!src->message) {
        pp_err_clear(dst);
        return;
    }
    pp_err_set(dst, src->message, src->http_status, src->body, src->body_len);
}

const char *pp_http_reason(long s)
{
    switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 524: return "A Timeout Occurred";
    default: return "HTTP error";
    }
}

void pp_err_from_http(pp_error *e, long status, const char *body, size_t len)
{
    char head[64];
    snprintf(head, sizeof head, "%ld %s", status, pp_http_reason(status));
    char *svc = (body && len) ? pp_json_error_message(body, len) : NULL;
    if (svc) {
        size_t n = strlen(head) + 2 + strlen(svc) + 1;
        char *m = malloc(n);
        if (m) {
            snprintf(m, n, "%s: %s", head, svc);
            pp_err_set(e, m, (int)status, body, len);
            free(m);
            free(svc);
            return;
        }
        free(svc);
    }
    pp_err_set(e, head, (int)status, body, body && len ? len : 0);
    if (!len && e->body) {
        free((char *)e->body);
        e->body = NULL;
    }
}

void pp_err_errno(pp_error *e, const char *what, int errnum)
{
    const char *why = strerror(errnum);
    size_t n = strlen(what) + strlen(why) + 3;
    char *m = malloc(n);
    if (!m) {
        pp_err_set(e, pp_oom_message, 0, NULL, 0);
        return;
    }
    snprintf(m, n, "%s: %s", what, why);
    pp_err_set(e, m, 0, NULL, 0);
    free(m);
}

int pp_err_out(pp_error *out, const pp_error *src)
{
    if (out)
        *out = *src;
    return -1;
}
