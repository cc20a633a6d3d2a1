/* The worker: one thread with an event loop that owns a curl multi handle
 * and a timer heap. Everything that happens later than the API answer runs
 * here: fetching url jobs, finishing jobs at their due time, callbacks and
 * their retries, resuming slowed answers, expiry and schedules. The HTTP
 * threads only hand work over (under a short lock) and never wait for it. */
#ifndef EMU_WORKER_H
#define EMU_WORKER_H

#include <curl/curl.h>
#include <stddef.h>

#include "pc_buf.h"

/* cancelled is nonzero when the worker is shutting down: the callback must
 * then only release what arg holds. */
typedef void (*timer_fn)(void *arg, int cancelled);

struct http_call;
typedef void (*http_done_fn)(struct http_call *call, int cancelled);

/* A transfer run by the worker. The worker owns it once handed over and
 * frees it (easy handle, headers, post data, body) after done returns. */
struct http_call {
    CURL *easy;
    struct curl_slist *headers;
    char *postdata;
    pc_buf body; /* response body, capped at HTTP_BODY_CAP */
    CURLcode rc;
    long status;
    http_done_fn done;
    void *arg;
    struct http_call *next;
};

#define HTTP_BODY_CAP (16u * 1024u * 1024u)

int worker_start(void);
/* Stops the loop; remaining timers and transfers are cancelled. */
void worker_stop(void);

/* Runs fn(arg, 0) on the worker thread at time at (now_s() clock). Returns
 * -1 when the worker is stopped (fn is then not called). */
int worker_timer(double at, timer_fn fn, void *arg);
/* Adds the timer without waking the loop; call worker_wake() after a burst
 * (a 5,000-job batch wakes the loop once, not 5,000 times). */
int worker_timer_quiet(double at, timer_fn fn, void *arg);
void worker_wake(void);

/* A new call for url with the common options set (timeouts, redirects,
 * body capture); NULL when out of memory. */
struct http_call *http_call_new(const char *url, http_done_fn done, void *arg);
/* Makes it a JSON POST of body (copied). Returns 0 on success. */
int http_call_post_json(struct http_call *c, const char *body, size_t len);
void http_call_free(struct http_call *c);
/* Hands the call to the worker. Returns -1 (call not taken) when stopped. */
int worker_http(struct http_call *c);

#endif
