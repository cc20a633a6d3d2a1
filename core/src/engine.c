/* The curl multi engine. Curl's socket and timer callbacks only record:
 * fd interest goes to the queue the host takes, the deadline to a field.
 * The host calls in (socket_action / perform / wait) and the layer above
 * then runs pp_transport_run: finished transfers are settled (each request
 * hands its answer to its own completion), retries that are due go back in
 * the queue, and waiting requests get connection slots. */
#include "transport.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    /* Never undone: libcurl's global state outlives every client. */
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sockp)
{
    (void)e;
    (void)sockp;
    pp_transport *t = ud;
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= PP_WANT_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= PP_WANT_WRITE;
    return pp_fdq_push(t->fdchanges, (int)s, ev) < 0 ? -1 : 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
    (void)m;
    pp_transport *t = ud;
    if (timeout_ms < 0) {
        t->curl_timer_set = 0;
    } else {
        t->curl_timer_set = 1;
        t->curl_deadline = pp_now_ms() + (uint64_t)timeout_ms;
    }
    return 0;
}

static int copy_str(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = pp_strdup(src);
    return *dst ? 0 : -1;
}

int pp_transport_init(pp_transport *t, const pp_transport_config *cfg, uint64_t *rng,
                      pp_stats *stats, pp_fdq *fdchanges, size_t *buffered, size_t budget)
{
    memset(t, 0, sizeof *t);
    t->rng = rng;
    t->stats = stats;
    t->fdchanges = fdchanges;
    t->buffered = buffered;
    t->budget = budget;
    t->timeout_ms = cfg->timeout_ms;
    t->connect_timeout_ms = cfg->connect_timeout_ms;
    t->max_connections = cfg->max_connections;
    t->max_retries = cfg->max_retries;
    t->retry_base_ms = cfg->retry_base_ms;
    t->retry_max_ms = cfg->retry_max_ms;
    t->debug = cfg->debug;
    if (copy_str(&t->base_url, cfg->base_url) < 0 || copy_str(&t->username, cfg->username) < 0 ||
        copy_str(&t->password, cfg->password) < 0 || copy_str(&t->user_agent, cfg->user_agent) < 0)
        return -1;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return -1;
    t->multi = curl_multi_init();
    if (!t->multi)
        return -1;
    CURLMcode rc = CURLM_OK;
#define MSET(opt, val)                                  \
    do {                                                \
        if (rc == CURLM_OK)                             \
            rc = curl_multi_setopt(t->multi, opt, val); \
    } while (0)
    MSET(CURLMOPT_SOCKETFUNCTION, on_socket);
    MSET(CURLMOPT_SOCKETDATA, (void *)t);
    MSET(CURLMOPT_TIMERFUNCTION, on_timer);
    MSET(CURLMOPT_TIMERDATA, (void *)t);
    MSET(CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)t->max_connections);
    MSET(CURLMOPT_MAX_HOST_CONNECTIONS, (long)t->max_connections);
    MSET(CURLMOPT_MAXCONNECTS, (long)t->max_connections);
#undef MSET
    if (rc != CURLM_OK)
        return -1;
    t->hdr_get = curl_slist_append(NULL, "Accept: application/json");
    if (!t->hdr_get)
        return -1;
    t->hdr_json = curl_slist_append(NULL, "Accept: application/json");
    if (!t->hdr_json)
        return -1;
    /* appending to a non-empty list returns its head, or NULL on failure */
    if (!curl_slist_append(t->hdr_json, "Content-Type: application/json") ||
        !curl_slist_append(t->hdr_json, "Expect:"))
        return -1;
    t->easy_pool_cap = (size_t)t->max_connections * 2;
    t->easy_pool = calloc(t->easy_pool_cap, sizeof *t->easy_pool);
    return t->easy_pool ? 0 : -1;
}

void pp_transport_cleanup(pp_transport *t)
{
    t->closing = 1;
    while (t->live)
        pp_req_free(t->live);
    while (t->qhi_head)
        pp_req_free(t->qhi_head);
    while (t->qlo_head)
        pp_req_free(t->qlo_head);
    pp_timer *tm;
    while ((tm = pp_heap_top(&t->retries)))
        pp_req_free((pp_req *)tm->owner);
    pp_heap_free(&t->retries);
    for (size_t i = 0; i < t->easy_pool_n; i++)
        curl_easy_cleanup(t->easy_pool[i]);
    free(t->easy_pool);
    t->easy_pool = NULL;
    t->easy_pool_n = 0;
    if (t->multi)
        curl_multi_cleanup(t->multi);
    t->multi = NULL;
    curl_slist_free_all(t->hdr_get);
    curl_slist_free_all(t->hdr_json);
    t->hdr_get = t->hdr_json = NULL;
    free(t->base_url);
    free(t->username);
    pp_free_secret(t->password);
    free(t->user_agent);
    t->base_url = t->username = t->password = t->user_agent = NULL;
}

void pp_transport_send(pp_transport *t, pp_req *r)
{
    pp_req **head = r->high ? &t->qhi_head : &t->qlo_head;
    pp_req **tail = r->high ? &t->qhi_tail : &t->qlo_tail;
    r->qnext = NULL;
    if (*tail)
        (*tail)->qnext = r;
    else
        *head = r;
    *tail = r;
    r->queued = 1;
    t->queued++;
}

static pp_req *dequeue(pp_transport *t)
{
    pp_req **head = t->qhi_head ? &t->qhi_head : &t->qlo_head;
    pp_req **tail = t->qhi_head ? &t->qhi_tail : &t->qlo_tail;
    pp_req *r = *head;
    if (!r)
        return NULL;
    *head = r->qnext;
    if (!*head)
        *tail = NULL;
    r->qnext = NULL;
    r->queued = 0;
    t->queued--;
    return r;
}

static size_t dispatch(pp_transport *t)
{
    size_t started = 0;
    while (t->inflight < (size_t)t->max_connections && !t->closing) {
        pp_req *r = dequeue(t);
        if (!r)
            break;
        if (pp_req_prepare(r) < 0) {
            pp_req_fail_local(r, "cannot prepare the request (out of memory)");
            continue;
        }
        if (curl_multi_add_handle(t->multi, r->easy) != CURLM_OK) {
            pp_req_fail_local(r, "cannot start the request");
            continue;
        }
        r->inflight = 1;
        r->started_at = pp_now_ms();
        r->lprev = NULL;
        r->lnext = t->live;
        if (t->live)
            t->live->lprev = r;
        t->live = r;
        t->inflight++;
        t->stats->requests++;
        started++;
    }
    return started;
}

void pp_transport_detach(pp_transport *t, pp_req *r)
{
    curl_multi_remove_handle(t->multi, r->easy);
    if (r->lprev)
        r->lprev->lnext = r->lnext;
    else
        t->live = r->lnext;
    if (r->lnext)
        r->lnext->lprev = r->lprev;
    r->lprev = r->lnext = NULL;
    r->inflight = 0;
    t->inflight--;
}

static size_t read_finished(pp_transport *t)
{
    size_t n = 0;
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(t->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode code = m->data.result;
        pp_req *r = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
        if (!r) {
            curl_multi_remove_handle(t->multi, e);
            continue;
        }
        pp_transport_detach(t, r);
        pp_req_finished(r, code);
        n++;
    }
    return n;
}

static size_t run_retries(pp_transport *t)
{
    uint64_t now = pp_now_ms();
    size_t n = 0;
    pp_timer *tm;
    while ((tm = pp_heap_top(&t->retries)) && tm->due <= now) {
        pp_heap_remove(&t->retries, tm);
        pp_transport_send(t, (pp_req *)tm->owner);
        n++;
    }
    return n;
}

size_t pp_transport_run(pp_transport *t)
{
    size_t n = read_finished(t);
    n += run_retries(t);
    n += dispatch(t);
    return n;
}

long pp_transport_timeout_ms(pp_transport *t)
{
    if (t->queued && t->inflight < (size_t)t->max_connections)
        return 0;
    uint64_t now = pp_now_ms();
    long best = -1;
    /* libcurl does not always report "no timer" (-1) once its last
     * transfer is removed, which would leave a deadline in the past and
     * make every host spin on timeout 0. With no transfer in the multi
     * handle curl has nothing to time out, so its deadline is ignored. */
    if (t->curl_timer_set && t->inflight)
        best = t->curl_deadline > now ? (long)(t->curl_deadline - now) : 0;
    pp_timer *tm = pp_heap_top(&t->retries);
    if (tm) {
        long d = tm->due > now ? (long)(tm->due - now) : 0;
        if (best < 0 || d < best)
            best = d;
    }
    return best;
}

size_t pp_transport_busy(const pp_transport *t)
{
    return t->inflight + t->queued + t->retries.n;
}

int pp_transport_socket_action(pp_transport *t, int fd, int events)
{
    int running = 0, mask = 0;
    if (fd == PP_SOCKET_TIMEOUT)
        return curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running) == CURLM_OK
                   ? 0
                   : -1;
    if (events & PP_WANT_READ)
        mask |= CURL_CSELECT_IN;
    if (events & PP_WANT_WRITE)
        mask |= CURL_CSELECT_OUT;
    if (events & PP_EV_ERROR)
        mask |= CURL_CSELECT_ERR;
    return curl_multi_socket_action(t->multi, (curl_socket_t)fd, mask, &running) == CURLM_OK ? 0
                                                                                             : -1;
}

int pp_transport_perform(pp_transport *t)
{
    int running = 0;
    return curl_multi_perform(t->multi, &running) == CURLM_OK ? 0 : -1;
}

int pp_transport_wait(pp_transport *t, const pp_fd_change *extra, size_t nextra, int ms)
{
    struct curl_waitfd w[PP_WAIT_EXTRA_MAX];
    unsigned int n = 0;
    for (size_t i = 0; i < nextra && n < PP_WAIT_EXTRA_MAX; i++) {
        if (extra[i].fd < 0 || !extra[i].events)
            continue;
        memset(&w[n], 0, sizeof w[n]);
        w[n].fd = (curl_socket_t)extra[i].fd;
        w[n].events = (short)(((extra[i].events & PP_WANT_READ) ? CURL_WAIT_POLLIN : 0) |
                              ((extra[i].events & PP_WANT_WRITE) ? CURL_WAIT_POLLOUT : 0));
        n++;
    }
    return curl_multi_poll(t->multi, n ? w : NULL, n, ms, NULL) == CURLM_OK ? 0 : -1;
}
