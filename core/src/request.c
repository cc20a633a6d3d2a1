/* One HTTP exchange: method, URL, Basic auth, headers, a body, a sink (a
 * memory buffer, or a file opened only once the answer is 2xx), the
 * response headers, and the retry decision when it ends. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int method_retry_kind(const char *m)
{
    return (!strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
            !strcmp(m, "DELETE")) ? 0 : 1;
}

pp_req *pp_req_new(pp_client *c, int kind, const char *method,
                   const char *path, const char *body, size_t len)
{
    pp_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = c;
    r->kind = kind;
    r->fd = -1;
    r->rl_remaining = r->rl_limit = -1;
    snprintf(r->method, sizeof r->method, "%s", method);
    r->retry_kind = kind == PP_RK_SUBMIT ? 2 : method_retry_kind(method);
    pp_timer_init(&r->timer, PP_TIMER_RETRY, r);
    size_t bl = strlen(c->base_url), pl = strlen(path);
    r->url = malloc(bl + pl + 1);
    if (!r->url) {
        free(r);
        return NULL;
    }
    memcpy(r->url, c->base_url, bl);
    memcpy(r->url + bl, path, pl + 1);
    if (body) {
        r->body = pp_strndup(body, len);
        if (!r->body) {
            free(r->url);
            free(r);
            return NULL;
        }
        r->body_len = len;
    }
    return r;
}

int pp_req_set_path_sink(pp_req *r, const char *file)
{
    char *p = pp_strdup(file);
    if (!p)
        return -1;
    free(r->path);
    r->path = p;
    return 0;
}

/* ---- header parsing */

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' ||
                       (*e)[-1] == '\r' || (*e)[-1] == '\n'))
        (*e)--;
}

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && pp_strncaseeq(s + n - k, suffix, k);
}

static long parse_count(const char *s, const char *e)
{
    long v = 0;
    if (s == e)
        return -1;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > 100000000L)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int pp_header_parse(const char *line, size_t len, long *remaining, long *limit,
                    int *jobhdr)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return 0;
    const char *ns = line, *ne = colon, *vs = colon + 1, *ve = line + len;
    trim(&ns, &ne);
    trim(&vs, &ve);
    size_t nl = (size_t)(ne - ns);
    static const char pfx[] = "x-ratelimit-";
    if (nl > sizeof pfx - 1 && pp_strncaseeq(ns, pfx, sizeof pfx - 1)) {
        long *slot = NULL;
        if (nl >= sizeof pfx - 1 + 9 && ends_with_ci(ns, nl, "remaining"))
            slot = remaining;
        else if (nl >= sizeof pfx - 1 + 5 && ends_with_ci(ns, nl, "limit"))
            slot = limit;
        if (!slot)
            return 0;
        long v = parse_count(vs, ve);
        if (v < 0)
            return 0;
        if (*slot < 0 || v < *slot)
            *slot = v;
        return 1;
    }
    static const char js[] = "x-oxylabs-job-status";
    if (nl == sizeof js - 1 && pp_strncaseeq(ns, js, nl)) {
        size_t vl = (size_t)(ve - vs);
        if (vl == 7 && pp_strncaseeq(vs, "pending", 7))
            *jobhdr = PP_HDR_PENDING;
        else if (vl == 4 && pp_strncaseeq(vs, "done", 4))
            *jobhdr = PP_HDR_DONE;
        else if (vl == 7 && pp_strncaseeq(vs, "faulted", 7))
            *jobhdr = PP_HDR_FAULTED;
        else
            *jobhdr = PP_HDR_OTHER;
        return 1;
    }
    return 0;
}

/* ---- curl callbacks */

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    pp_req *r = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new answer (after a 100 Continue or a redirect): start over */
        pp_buf_reset(&r->headers);
        r->rl_remaining = r->rl_limit = -1;
        r->jobhdr = PP_HDR_NONE;
    }
    if (pp_buf_append(&r->headers, buf, len) < 0)
        return 0;
    pp_header_parse(buf, len, &r->rl_remaining, &r->rl_limit, &r->jobhdr);
    return len;
}

static int open_sink(pp_req *r)
{
    r->fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (r->fd < 0) {
        r->sink_errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

/* Above this an announced length is not trusted for one allocation. */
#define PP_PRESIZE_MAX ((uint64_t)256 << 20)

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    pp_req *r = ud;
    size_t len = size * n;
    r->c->stats.bytes_in += len;
    if (r->path) {
        long st = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
        if (st >= 200 && st <= 299) {
            if (r->fd < 0 && open_sink(r) < 0)
                return 0;
            size_t off = 0;
            while (off < len) {
                ssize_t w = write(r->fd, ptr + off, len - off);
                if (w < 0) {
                    if (errno == EINTR)
                        continue;
                    r->sink_errno = errno;
                    return 0;
                }
                off += (size_t)w;
            }
            return len;
        }
    }
    if (r->resp.cap == 0) {
        /* A batch answer runs to megabytes: one allocation of the announced
         * size instead of doubling (which peaks at up to three times it). */
        curl_off_t cl = -1;
        if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
            cl > 0 && (uint64_t)cl < PP_PRESIZE_MAX)
            (void)pp_buf_reserve(&r->resp, (size_t)cl);
    }
    if (pp_buf_append(&r->resp, ptr, len) < 0)
        return 0;
    return len;
}

int pp_req_prepare(pp_req *r)
{
    pp_client *c = r->c;
    if (!r->easy) {
        r->easy = pp_engine_easy(c);
        if (!r->easy)
            return -1;
    }
    CURL *e = r->easy;
    CURLcode rc = CURLE_OK;
    r->errbuf[0] = '\0';
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_PRIVATE, (void *)r);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)r);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)r);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_PIPEWAIT, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_USERAGENT, c->user_agent);
    if (c->username) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, c->username);
        SET(CURLOPT_PASSWORD, c->password ? c->password : "");
    }
    /* curl silently re-sends a request on a reused connection that closed
     * without a byte of answer; for a request that must not be repeated
     * (a submission, a POST) that would be a blind resubmission, so these
     * always get a connection of their own. */
    if (r->retry_kind != 0)
        SET(CURLOPT_FRESH_CONNECT, 1L);
    SET(CURLOPT_HTTPHEADER, r->body ? c->hdr_json : c->hdr_get);
    if (!strcmp(r->method, "GET")) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(r->method, "HEAD")) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (!strcmp(r->method, "POST"))
            SET(CURLOPT_POST, 1L);
        else
            SET(CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body || !strcmp(r->method, "POST")) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            SET(CURLOPT_POSTFIELDS, r->body ? r->body : "");
        }
    }
#undef SET
    return rc == CURLE_OK ? 0 : -1;
}

void pp_req_reset_answer(pp_req *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
        if (r->path)
            unlink(r->path);
    }
    pp_buf_reset(&r->resp);
    pp_buf_reset(&r->headers);
    r->status = 0;
    r->rl_remaining = r->rl_limit = -1;
    r->jobhdr = PP_HDR_NONE;
    r->code = CURLE_OK;
    r->sent = 0;
    r->sink_errno = 0;
    r->errbuf[0] = '\0';
}

static void deliver(pp_req *r)
{
    pp_client *c = r->c;
    switch (r->kind) {
    case PP_RK_SUBMIT:
        pp_submit_on_answer(c, r);
        break;
    case PP_RK_POLL:
    case PP_RK_STATUS:
        pp_poll_on_answer(c, r);
        break;
    default:
        pp_op_on_answer(c, r);
        break;
    }
}

/* Settles the file sink of a finished attempt: kept only for a complete
 * 2xx answer; an empty 200 still creates the (empty) file. */
static void settle_sink(pp_req *r)
{
    if (!r->path)
        return;
    int ok = r->code == CURLE_OK && r->status >= 200 && r->status <= 299;
    if (ok && r->fd < 0 && r->status == 200 && open_sink(r) < 0) {
        r->code = CURLE_WRITE_ERROR;
        ok = 0;
    }
    if (r->fd >= 0) {
        if (close(r->fd) < 0 && ok) {
            r->sink_errno = errno;
            r->code = CURLE_WRITE_ERROR;
            ok = 0;
        }
        r->fd = -1;
        if (!ok)
            unlink(r->path);
    }
    if (r->sink_errno && r->code == CURLE_WRITE_ERROR)
        snprintf(r->errbuf, sizeof r->errbuf, "%s: %s", r->path, strerror(r->sink_errno));
}

void pp_req_finished(pp_req *r, CURLcode code)
{
    pp_client *c = r->c;
    r->code = code;
    long st = 0, sent = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
    r->status = st;
    r->sent = sent;
    pp_engine_easy_release(c, r->easy);
    r->easy = NULL;
    settle_sink(r);
    if (r->code != CURLE_OK && !r->errbuf[0])
        snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(r->code));

    int verdict = pp_retry_classify(r->retry_kind, r->code, r->status, r->sent);
    if (r->sink_errno)
        verdict = PP_RETRY_NO;
    if (verdict == PP_RETRY_YES && r->attempt < c->max_retries && !c->in_teardown) {
        long delay = pp_backoff_ms(c->retry_base_ms, c->retry_max_ms, r->attempt, &c->rng);
        r->attempt++;
        c->stats.retries++;
        pp_req_reset_answer(r);
        if (pp_heap_set(&c->heap, &r->timer, pp_now_ms() + (uint64_t)delay) == 0) {
            c->retry_timers++;
            return;
        }
        /* no memory for the timer: report the failure instead */
    }
    deliver(r);
}

void pp_req_fail_local(pp_req *r, const char *why)
{
    if (r->easy) {
        pp_engine_easy_release(r->c, r->easy);
        r->easy = NULL;
    }
    r->code = CURLE_FAILED_INIT;
    r->status = 0;
    snprintf(r->errbuf, sizeof r->errbuf, "%s", why);
    deliver(r);
}

void pp_req_free(pp_req *r)
{
    pp_client *c = r->c;
    pp_jobrec *j = (r->kind == PP_RK_POLL || r->kind == PP_RK_STATUS)
                   ? pp_job_get(c, r->job) : NULL;
    if (j && j->poll_req == r)
        j->poll_req = NULL;
    if (r->timer.idx != PP_NOT_QUEUED) {
        pp_heap_remove(&c->heap, &r->timer);
        c->retry_timers--;
    }
    if (r->easy) {
        pp_engine_detach(c, r);
        pp_engine_easy_release(c, r->easy);
        r->easy = NULL;
    }
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
        if (r->path)
            unlink(r->path);
    }
    free(r->url);
    free(r->body);
    free(r->path);
    free(r->chunk);
    pp_buf_free(&r->resp);
    pp_buf_free(&r->headers);
    free(r);
}
