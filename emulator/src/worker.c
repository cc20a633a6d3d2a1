#include "worker.h"

#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Transfers running at once; more wait in a queue so that a 5,000-url batch
 * does not open 5,000 sockets together. */
#define MAX_IN_FLIGHT 128

struct timer {
    double at;
    unsigned long seq; /* ties keep insertion order */
    timer_fn fn;
    void *arg;
};

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static CURLM *multi;
static int running, stopping;

/* Shared with other threads under lock. */
static struct timer *inbox_timers;
static size_t ninbox, capinbox;
static struct http_call *inbox_http_head, *inbox_http_tail;
static unsigned long timer_seq;

/* Owned by the worker thread. */
static struct timer *heap;
static size_t nheap, capheap;
static struct http_call *wait_head, *wait_tail;
static int in_flight;
static struct http_call *flight; /* transfers in the multi, linked by next */

static int timer_less(const struct timer *a, const struct timer *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static int heap_push(struct timer t)
{
    if (nheap == capheap) {
        size_t cap = capheap ? capheap * 2 : 1024;
        struct timer *p = realloc(heap, cap * sizeof *p);
        if (!p)
            return -1;
        heap = p;
        capheap = cap;
    }
    size_t i = nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_less(&t, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = t;
    return 0;
}

static struct timer heap_pop(void)
{
    struct timer top = heap[0], last = heap[--nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= nheap)
            break;
        if (c + 1 < nheap && timer_less(&heap[c + 1], &heap[c]))
            c++;
        if (!timer_less(&heap[c], &last))
            break;
        heap[i] = heap[c];
        i = c;
    }
    if (nheap)
        heap[i] = last;
    return top;
}

static int add_timer(double at, timer_fn fn, void *arg, int wake)
{
    pthread_mutex_lock(&lock);
    if (!running || stopping) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    if (ninbox == capinbox) {
        size_t cap = capinbox ? capinbox * 2 : 1024;
        struct timer *p = realloc(inbox_timers, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&lock);
            return -1;
        }
        inbox_timers = p;
        capinbox = cap;
    }
    inbox_timers[ninbox++] = (struct timer){at, timer_seq++, fn, arg};
    pthread_mutex_unlock(&lock);
    if (wake)
        curl_multi_wakeup(multi);
    return 0;
}

int worker_timer(double at, timer_fn fn, void *arg)
{
    return add_timer(at, fn, arg, 1);
}
int worker_timer_quiet(double at, timer_fn fn, void *arg)
{
    return add_timer(at, fn, arg, 0);
}

void worker_wake(void)
{
    if (multi)
        curl_multi_wakeup(multi);
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct http_call *c = userp;
    size_t len = size * n;
    /* Past the cap the rest is read and dropped rather than failing the
     * transfer: a huge page still yields its status code and a prefix. */
    if (c->body.len < HTTP_BODY_CAP) {
        size_t keep = HTTP_BODY_CAP - c->body.len;
        pc_buf_append(&c->body, data, len < keep ? len : keep);
    }
    return len;
}

struct http_call *http_call_new(const char *url, http_done_fn done, void *arg)
{
    struct http_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pc_buf_init(&c->body);
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(c);
        return NULL;
    }
    c->done = done;
    c->arg = arg;
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c->easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "pushpull-emulator/0.1");
    return c;
}

int http_call_post_json(struct http_call *c, const char *body, size_t len)
{
    c->postdata = malloc(len + 1);
    if (!c->postdata)
        return -1;
    memcpy(c->postdata, body, len);
    c->postdata[len] = '\0';
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (!h)
        return -1;
    struct curl_slist *h2 = curl_slist_append(h, "Expect:");
    if (!h2) {
        curl_slist_free_all(h);
        return -1;
    }
    c->headers = h2;
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->postdata);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)len);
    return 0;
}

void http_call_free(struct http_call *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->postdata);
    pc_buf_free(&c->body);
    free(c);
}

int worker_http(struct http_call *c)
{
    c->next = NULL;
    pthread_mutex_lock(&lock);
    if (!running || stopping) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    if (inbox_http_tail)
        inbox_http_tail->next = c;
    else
        inbox_http_head = c;
    inbox_http_tail = c;
    pthread_mutex_unlock(&lock);
    curl_multi_wakeup(multi);
    return 0;
}

/* Moves handed-over work into the worker's own structures. */
static void drain_inbox(void)
{
    pthread_mutex_lock(&lock);
    struct timer *t = inbox_timers;
    size_t n = ninbox;
    inbox_timers = NULL;
    ninbox = capinbox = 0;
    struct http_call *h = inbox_http_head;
    inbox_http_head = inbox_http_tail = NULL;
    pthread_mutex_unlock(&lock);

    for (size_t i = 0; i < n; i++) {
        if (heap_push(t[i]) != 0)
            t[i].fn(t[i].arg, 1); /* out of memory: the work is cancelled, not lost silently */
    }
    free(t);
    while (h) {
        struct http_call *next = h->next;
        h->next = NULL;
        if (wait_tail)
            wait_tail->next = h;
        else
            wait_head = h;
        wait_tail = h;
        h = next;
    }
}

static void start_waiting(void)
{
    while (wait_head && in_flight < MAX_IN_FLIGHT) {
        struct http_call *c = wait_head;
        wait_head = c->next;
        if (!wait_head)
            wait_tail = NULL;
        c->next = NULL;
        if (curl_multi_add_handle(multi, c->easy) != CURLM_OK) {
            c->rc = CURLE_OUT_OF_MEMORY;
            c->done(c, 0);
            http_call_free(c);
            continue;
        }
        c->next = flight;
        flight = c;
        in_flight++;
    }
}

static void finish_transfers(void)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct http_call *c = NULL;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
        curl_multi_remove_handle(multi, e);
        in_flight--;
        if (!c)
            continue;
        for (struct http_call **pp = &flight; *pp; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
        c->next = NULL;
        c->rc = rc;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
        c->done(c, 0);
        http_call_free(c);
    }
}

static void run_due_timers(void)
{
    double now = now_s();
    while (nheap && heap[0].at <= now) {
        struct timer t = heap_pop();
        t.fn(t.arg, 0);
    }
}

static void *loop(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&lock);
        int stop = stopping;
        pthread_mutex_unlock(&lock);
        if (stop)
            break;
        drain_inbox();
        start_waiting();
        int still;
        curl_multi_perform(multi, &still);
        finish_transfers();
        run_due_timers();
        start_waiting();

        int wait_ms = 1000;
        if (nheap) {
            double d = (heap[0].at - now_s()) * 1000.0;
            wait_ms = d <= 0 ? 0 : d < 1000 ? (int)d + 1 : 1000;
        }
        long curl_ms = -1;
        curl_multi_timeout(multi, &curl_ms);
        if (curl_ms >= 0 && curl_ms < wait_ms)
            wait_ms = (int)curl_ms;
        if (wait_ms > 0)
            curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
    }

    /* Shutdown: give every owner a chance to release what it holds. */
    drain_inbox();
    while (nheap) {
        struct timer t = heap_pop();
        t.fn(t.arg, 1);
    }
    while (flight) {
        struct http_call *c = flight;
        flight = c->next;
        curl_multi_remove_handle(multi, c->easy);
        c->rc = CURLE_ABORTED_BY_CALLBACK;
        c->done(c, 1);
        http_call_free(c);
    }
    while (wait_head) {
        struct http_call *c = wait_head;
        wait_head = c->next;
        c->rc = CURLE_ABORTED_BY_CALLBACK;
        c->done(c, 1);
        http_call_free(c);
    }
    wait_tail = NULL;
    return NULL;
}

int worker_start(void)
{
    multi = curl_multi_init();
    if (!multi)
        return -1;
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 32L);
    running = 1;
    if (pthread_create(&thread, NULL, loop, NULL) != 0) {
        running = 0;
        curl_multi_cleanup(multi);
        multi = NULL;
        return -1;
    }
    return 0;
}

void worker_stop(void)
{
    pthread_mutex_lock(&lock);
    if (!running) {
        pthread_mutex_unlock(&lock);
        return;
    }
    stopping = 1;
    pthread_mutex_unlock(&lock);
    curl_multi_wakeup(multi);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&lock);
    running = 0;
    pthread_mutex_unlock(&lock);
    free(heap);
    heap = NULL;
    nheap = capheap = 0;
    curl_multi_cleanup(multi);
    multi = NULL;
}
