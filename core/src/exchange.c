/* One HTTP exchange: method, URL, Basic auth, headers, a body, a sink (a
 * memory buffer, or a file descriptor its owner opened, written only with
 * 2xx answers), the response headers, and -- when an attempt ends -- the
 * decision to try again or to hand the answer to the request's completion.
 * Nothing here knows what the request is for. */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pp_req *pp_req_new(pp_transport *t, const char *method, const char *path, const char *body,
                   size_t len, int repeat, pp_req_done_fn done, void *ctx)
{
    pp_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->t = t;
    r->done = done;
    r->ctx = ctx;
    r->repeat = repeat;
    r->fd = -1;
    r->rl_remaining = r->rl_limit = -1;
    snprintf(r->method, sizeof r->method, "%s", method);
    pp_timer_init(&r->timer, 0, r);
    size_t bl = strlen(t->base_url), pl = strlen(path);
    r->url = malloc(bl + pl + 1);
    if (!r->url) {
        free(r);
        return NULL;
    }
    memcpy(r->url, t->base_url, bl);
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

const char *pp_req_path(const pp_req *r)
{
    return r->url + strlen(r->t->base_url);
}

/* What an attempt's end was, for debug lines: "HTTP 503" or curl's words. */
static const char *outcome(const pp_req *r, char *buf, size_t len)
{
    if (r->code == CURLE_OK) {
        snprintf(buf, len, "HTTP %ld", r->status);
        return buf;
    }
    return r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->code);
}

/* One line per attempt; and, when the request is not tried again although
 * its answer was a failure, why not. */
static void debug_attempt(const pp_req *r, int retrying, long delay)
{
    const pp_transport *t = r->t;
    char buf[32];
    const char *what = outcome(r, buf, sizeof buf);
    long took = r->started_at ? (long)(pp_now_ms() - r->started_at) : 0;
    if (r->code == CURLE_OK)
        pp_debug_emit(&t->debug, "request %s %s -> %ld in %ld ms", r->method, pp_req_path(r),
                      r->status, took);
    else
        pp_debug_emit(&t->debug, "request %s %s -> no answer in %ld ms: %s", r->method,
                      pp_req_path(r), took, what);
    if (retrying) {
        pp_debug_emit(&t->debug, "retry %d of %d: %s %s in %ld ms (%s)", r->attempt, t->max_retries,
                      r->method, pp_req_path(r), delay, what);
        return;
    }
    if (t->closing || r->sink_errno ||
        !pp_retry_allowed(PP_REPEAT_SAFE, r->code, r->status, r->sent))
        return;
    if (pp_retry_allowed(r->repeat, r->code, r->status, r->sent))
        pp_debug_emit(&t->debug, "gave up: %s %s after %d retries (%s)", r->method, pp_req_path(r),
                      r->attempt, what);
    else if (r->status != 429)
        pp_debug_emit(&t->debug,
                      "not retried: %s %s may have reached the service (%s); "
                      "a resend could run it twice",
                      r->method, pp_req_path(r), what);
}

void pp_req_sink_fd(pp_req *r, int fd)
{
    r->sink = PP_SINK_FILE;
    r->fd = fd;
}

int pp_req_take_fd(pp_req *r)
{
    int fd = r->fd;
    r->fd = -1;
    return fd;
}

/* ---- curl callbacks */

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    pp_req *r = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new answer (after a 100 Continue or a redirect): start over */
        r->rl_remaining = r->rl_limit = -1;
        r->jobhdr = PP_HDR_NONE;
    }
    pp_header_parse(buf, len, &r->rl_remaining, &r->rl_limit, &r->jobhdr);
    return len;
}

static int write_all(int fd, const char *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        off += (size_t)w;
    }
    return 0;
}

static void unbudget(pp_req *r)
{
    if (r->budgeted && r->t->buffered)
        *r->t->buffered -= r->resp.len < *r->t->buffered ? r->resp.len : *r->t->buffered;
}

/* The memory body would pass the client's budget: move it to a file. */
static int spill(pp_req *r)
{
    int fd = r->spill_fn ? r->spill_fn(r->ctx, r) : -1;
    if (fd < 0)
        return 0; /* stays in memory, over budget */
    int e = r->resp.len ? write_all(fd, r->resp.data, r->resp.len) : 0;
    r->fd = fd;
    r->sink = PP_SINK_FILE;
    r->spilled = 1;
    if (e) {
        r->sink_errno = e;
        return -1;
    }
    r->written = r->resp.len;
    unbudget(r);
    pc_buf_free(&r->resp);
    return 0;
}

/* A file sink that could not be written (a full disk): what it holds goes
 * back to memory, where the rest of the body follows. 0, or -1. */
static int back_to_memory(pp_req *r)
{
    pc_buf_free(&r->resp);
    if (pc_buf_reserve(&r->resp, r->written) < 0)
        return -1;
    if (r->written && pread(r->fd, r->resp.data, r->written, 0) != (ssize_t)r->written)
        return -1;
    r->resp.len = r->written;
    r->resp.data[r->written] = '\0';
    close(r->fd);
    r->fd = -1;
    r->written = 0;
    r->sink = PP_SINK_MEMORY;
    return 0;
}

/* Above this an announced length is not trusted for one allocation. */
#define PP_PRESIZE_MAX ((uint64_t)256 << 20)

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    pp_req *r = ud;
    pp_transport *t = r->t;
    size_t len = size * n;
    t->stats->bytes_in += len;
    long st = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
    int ok = st >= 200 && st <= 299;
    if (ok && r->budgeted && r->sink == PP_SINK_MEMORY && t->buffered &&
        *t->buffered + len > t->budget && spill(r) < 0)
        return 0;
    if (ok && r->sink == PP_SINK_FILE && r->fd < 0 && r->open_fn) {
        r->fd = r->open_fn(r->ctx, r);
        if (r->fd < 0 && r->sink == PP_SINK_FILE) {
            r->sink_errno = errno ? errno : EIO;
            return 0;
        }
    }
    if (ok && r->sink == PP_SINK_FILE && r->fd >= 0) {
        int e = write_all(r->fd, ptr, len);
        if (!e) {
            r->written += len;
            return len;
        }
        if (!r->memory_fallback || back_to_memory(r) < 0) {
            r->sink_errno = e;
            return 0;
        }
    }
    if (r->resp.cap == 0) {
        /* A batch answer runs to megabytes: one allocation of the announced
         * size instead of doubling (which peaks at up to three times it). */
        curl_off_t cl = -1;
        if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
            cl > 0 && (uint64_t)cl < PP_PRESIZE_MAX)
            (void)pc_buf_reserve(&r->resp, (size_t)cl);
    }
    if (pc_buf_append(&r->resp, ptr, len) < 0)
        return 0;
    if (ok && r->budgeted && t->buffered)
        *t->buffered += len;
    return len;
}

int pp_req_prepare(pp_req *r)
{
    pp_transport *t = r->t;
    if (!r->easy) {
        r->easy = t->easy_pool_n ? t->easy_pool[--t->easy_pool_n] : curl_easy_init();
        if (!r->easy)
            return -1;
    }
    CURL *e = r->easy;
    CURLcode rc = CURLE_OK;
    r->errbuf[0] = '\0';
#define SET(opt, val)                           \
    do {                                        \
        if (rc == CURLE_OK)                     \
            rc = curl_easy_setopt(e, opt, val); \
    } while (0)
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
    SET(CURLOPT_TIMEOUT_MS, t->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
    SET(CURLOPT_USERAGENT, t->user_agent);
    if (t->username) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, t->username);
        SET(CURLOPT_PASSWORD, t->password ? t->password : "");
    }
    /* curl silently re-sends a request on a reused connection that closed
     * without a byte of answer; for a request that must not run twice (a
     * submission, a POST) that would be a blind resubmission, so these
     * always get a connection of their own. */
    if (r->repeat != PP_REPEAT_SAFE)
        SET(CURLOPT_FRESH_CONNECT, 1L);
    SET(CURLOPT_HTTPHEADER, r->body ? t->hdr_json : t->hdr_get);
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

static void release_easy(pp_req *r)
{
    pp_transport *t = r->t;
    if (!r->easy)
        return;
    if (t->easy_pool && t->easy_pool_n < t->easy_pool_cap && !t->closing) {
        curl_easy_reset(r->easy);
        t->easy_pool[t->easy_pool_n++] = r->easy;
    } else {
        curl_easy_cleanup(r->easy);
    }
    r->easy = NULL;
}

/* Drops what an attempt collected before the next one. A file sink is
 * emptied, not removed: it belongs to the owner. */
static void reset_answer(pp_req *r)
{
    if (r->fd >= 0 && r->written) {
        if (ftruncate(r->fd, 0) < 0 || lseek(r->fd, 0, SEEK_SET) < 0)
            r->sink_errno = errno ? errno : EIO;
        r->written = 0;
    }
    unbudget(r);
    pc_buf_free(&r->resp);
    r->status = 0;
    r->rl_remaining = r->rl_limit = -1;
    r->jobhdr = PP_HDR_NONE;
    r->code = CURLE_OK;
    r->sent = 0;
    r->errbuf[0] = '\0';
}

void pp_req_finished(pp_req *r, CURLcode code)
{
    pp_transport *t = r->t;
    r->code = code;
    long st = 0, sent = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &sent);
    r->status = st;
    r->sent = sent;
    release_easy(r);
    if (r->sink_errno && r->code == CURLE_WRITE_ERROR)
        snprintf(r->errbuf, sizeof r->errbuf, "%s", strerror(r->sink_errno));
    if (r->code != CURLE_OK && !r->errbuf[0])
        snprintf(r->errbuf, sizeof r->errbuf, "%s", curl_easy_strerror(r->code));

    if (!r->sink_errno && r->attempt < t->max_retries && !t->closing &&
        pp_retry_allowed(r->repeat, r->code, r->status, r->sent)) {
        long delay = pp_backoff_ms(t->retry_base_ms, t->retry_max_ms, r->attempt, t->rng);
        r->attempt++;
        t->stats->retries++;
        if (t->debug.fn)
            debug_attempt(r, 1, delay);
        reset_answer(r);
        if (!r->sink_errno &&
            pp_heap_set(&t->retries, &r->timer, pp_now_ms() + (uint64_t)delay) == 0)
            return;
        /* no memory for the timer, or the sink cannot be emptied: report */
        if (!r->errbuf[0])
            snprintf(r->errbuf, sizeof r->errbuf, "%s", "cannot retry the request");
        r->code = r->sink_errno ? CURLE_WRITE_ERROR : CURLE_OUT_OF_MEMORY;
    } else if (t->debug.fn) {
        debug_attempt(r, 0, 0);
    }
    r->done(r->ctx, r);
}

void pp_req_fail_local(pp_req *r, const char *why)
{
    release_easy(r);
    r->code = CURLE_FAILED_INIT;
    r->status = 0;
    snprintf(r->errbuf, sizeof r->errbuf, "%s", why);
    PP_DEBUG(&r->t->debug, "request %s %s not started: %s", r->method, pp_req_path(r), why);
    r->done(r->ctx, r);
}

void pp_req_free(pp_req *r)
{
    pp_transport *t = r->t;
    if (r->timer.idx != PP_NOT_QUEUED)
        pp_heap_remove(&t->retries, &r->timer);
    if (r->queued) {
        pp_req **head = r->high ? &t->qhi_head : &t->qlo_head;
        pp_req **tail = r->high ? &t->qhi_tail : &t->qlo_tail;
        pp_req *prev = NULL;
        for (pp_req *q = *head; q; prev = q, q = q->qnext) {
            if (q != r)
                continue;
            if (prev)
                prev->qnext = r->qnext;
            else
                *head = r->qnext;
            if (*tail == r)
                *tail = prev;
            break;
        }
        r->queued = 0;
        t->queued--;
    }
    if (r->inflight)
        pp_transport_detach(t, r);
    release_easy(r);
    if (r->fd >= 0)
        close(r->fd);
    unbudget(r);
    if (r->data && r->free_data)
        r->free_data(r->data);
    free(r->url);
    free(r->body);
    pc_buf_free(&r->resp);
    free(r);
}
