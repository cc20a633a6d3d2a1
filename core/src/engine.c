/* The curl multi engine. Curl's socket and timer callbacks only record:
 * fd interest goes to a queue the host takes, the deadline to a field. The
 * host calls in (socket_action / perform / poll) and every call ends in
 * pp_engine_run: finished transfers are settled, due timers fire, the
 * submission pacer runs, and waiting requests get connection slots. */
#include "internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

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
    pp_client *c = ud;
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= PP_WANT_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= PP_WANT_WRITE;
    return pp_fdq_push(&c->fdchanges, (int)s, ev) < 0 ? -1 : 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
    (void)m;
    pp_client *c = ud;
    if (timeout_ms < 0) {
        c->curl_timer_set = 0;
    } else {
        c->curl_timer_set = 1;
        c->curl_deadline = pp_now_ms() + (uint64_t)timeout_ms;
    }
    return 0;
}

int pp_engine_init(pp_client *c)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return -1;
    c->multi = curl_multi_init();
    if (!c->multi)
        return -1;
    CURLMcode rc = CURLM_OK;
#define MSET(opt, val) do { if (rc == CURLM_OK) rc = curl_multi_setopt(c->multi, opt, val); } while (0)
    MSET(CURLMOPT_SOCKETFUNCTION, on_socket);
    MSET(CURLMOPT_SOCKETDATA, (void *)c);
    MSET(CURLMOPT_TIMERFUNCTION, on_timer);
    MSET(CURLMOPT_TIMERDATA, (void *)c);
    MSET(CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->max_connections);
    MSET(CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->max_connections);
    MSET(CURLMOPT_MAXCONNECTS, (long)c->max_connections);
#undef MSET
    if (rc != CURLM_OK)
        return -1;
    struct curl_slist *l;
    l = curl_slist_append(NULL, "Accept: application/json");
    if (!l)
        return -1;
    c->hdr_get = l;
    l = curl_slist_append(NULL, "Accept: application/json");
    if (!l)
        return -1;
    c->hdr_json = l;
    /* appending to a non-empty list returns its head, or NULL on failure */
    if (!curl_slist_append(c->hdr_json, "Content-Type: application/json"))
        return -1;
    if (!curl_slist_append(c->hdr_json, "Expect:"))
        return -1;
    c->easy_pool_cap = (size_t)c->max_connections * 2;
    c->easy_pool = calloc(c->easy_pool_cap, sizeof *c->easy_pool);
    return c->easy_pool ? 0 : -1;
}

static void free_queue(pp_req **head, pp_req **tail)
{
    pp_req *r = *head;
    while (r) {
        pp_req *n = r->qnext;
        r->queued = 0;
        pp_req_free(r);
        r = n;
    }
    *head = *tail = NULL;
}

void pp_engine_cleanup(pp_client *c)
{
    /* requests in flight */
    while (c->live)
        pp_req_free(c->live);
    free_queue(&c->qhi_head, &c->qhi_tail);
    free_queue(&c->qlo_head, &c->qlo_tail);
    /* requests waiting on a retry timer */
    for (size_t i = c->heap.n; i > 0; i--) {
        pp_timer *t = c->heap.v[i - 1];
        if (i - 1 < c->heap.n && t->kind == PP_TIMER_RETRY)
            pp_req_free((pp_req *)t->owner);
    }
    for (size_t i = 0; i < c->easy_pool_n; i++)
        curl_easy_cleanup(c->easy_pool[i]);
    free(c->easy_pool);
    c->easy_pool = NULL;
    c->easy_pool_n = 0;
    if (c->multi)
        curl_multi_cleanup(c->multi);
    c->multi = NULL;
    curl_slist_free_all(c->hdr_get);
    curl_slist_free_all(c->hdr_json);
    c->hdr_get = c->hdr_json = NULL;
}

CURL *pp_engine_easy(pp_client *c)
{
    if (c->easy_pool_n)
        return c->easy_pool[--c->easy_pool_n];
    return curl_easy_init();
}

void pp_engine_easy_release(pp_client *c, CURL *e)
{
    if (!e)
        return;
    if (c->easy_pool && c->easy_pool_n < c->easy_pool_cap && !c->in_teardown) {
        curl_easy_reset(e);
        c->easy_pool[c->easy_pool_n++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

int pp_engine_enqueue(pp_client *c, pp_req *r)
{
    pp_req **head = r->high ? &c->qhi_head : &c->qlo_head;
    pp_req **tail = r->high ? &c->qhi_tail : &c->qlo_tail;
    r->qnext = NULL;
    if (*tail)
        (*tail)->qnext = r;
    else
        *head = r;
    *tail = r;
    r->queued = 1;
    c->queued++;
    return 0;
}

void pp_engine_detach(pp_client *c, pp_req *r)
{
    if (!r->inflight)
        return;
    curl_multi_remove_handle(c->multi, r->easy);
    if (r->lprev)
        r->lprev->lnext = r->lnext;
    else
        c->live = r->lnext;
    if (r->lnext)
        r->lnext->lprev = r->lprev;
    r->lprev = r->lnext = NULL;
    r->inflight = 0;
    c->inflight--;
}

static pp_req *dequeue(pp_client *c)
{
    pp_req **head = c->qhi_head ? &c->qhi_head : &c->qlo_head;
    pp_req **tail = c->qhi_head ? &c->qhi_tail : &c->qlo_tail;
    pp_req *r = *head;
    if (!r)
        return NULL;
    *head = r->qnext;
    if (!*head)
        *tail = NULL;
    r->qnext = NULL;
    r->queued = 0;
    c->queued--;
    return r;
}

static size_t dispatch(pp_client *c)
{
    size_t started = 0;
    while (c->inflight < (size_t)c->max_connections) {
        pp_req *r = dequeue(c);
        if (!r)
            break;
        if (pp_req_prepare(r) < 0) {
            pp_req_fail_local(r, "cannot prepare the request (out of memory)");
            continue;
        }
        if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
            pp_req_fail_local(r, "cannot start the request");
            continue;
        }
        r->inflight = 1;
        r->started_at = pp_now_ms();
        r->lprev = NULL;
        r->lnext = c->live;
        if (c->live)
            c->live->lprev = r;
        c->live = r;
        c->inflight++;
        c->stats.requests++;
        if (r->kind == PP_RK_POLL || r->kind == PP_RK_STATUS)
            c->stats.polls++;
        started++;
    }
    return started;
}

static size_t read_finished(pp_client *c)
{
    size_t n = 0;
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode code = m->data.result;
        pp_req *r = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
        if (!r) {
            curl_multi_remove_handle(c->multi, e);
            continue;
        }
        pp_engine_detach(c, r);
        pp_req_finished(r, code);
        n++;
    }
    return n;
}

static size_t run_timers(pp_client *c)
{
    uint64_t now = pp_now_ms();
    size_t fired = 0, budget = c->heap.n + 16;
    pp_timer *t;
    while (budget-- && (t = pp_heap_top(&c->heap)) && t->due <= now) {
        pp_heap_remove(&c->heap, t);
        fired++;
        switch (t->kind) {
        case PP_TIMER_POLL:
            pp_poll_fire(c, (pp_jobrec *)t->owner);
            break;
        case PP_TIMER_RETRY:
            c->retry_timers--;
            pp_engine_enqueue(c, (pp_req *)t->owner);
            break;
        default:
            break;   /* the pacer: pp_submit_pump runs next */
        }
    }
    return fired;
}

void pp_engine_run(pp_client *c)
{
    for (int round = 0; round < 4; round++) {
        size_t n = read_finished(c);
        n += run_timers(c);
        pp_submit_pump(c);
        n += dispatch(c);
        if (!n)
            break;
    }
}

/* ---- driving, public */

int pp_socket_action(pp_client *c, int fd, int events)
{
    if (!c)
        return -1;
    int running = 0;
    CURLMcode rc;
    if (fd >= 0 && fd == pp_listener_fd(c)) {
        /* the callback listener's epoll fd: not curl's */
        pp_listener_run(c, 1);
        pp_engine_run(c);
        return 0;
    }
    if (fd == PP_SOCKET_TIMEOUT) {
        rc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        pp_listener_run(c, 0);
    } else {
        int mask = 0;
        if (events & PP_WANT_READ)
            mask |= CURL_CSELECT_IN;
        if (events & PP_WANT_WRITE)
            mask |= CURL_CSELECT_OUT;
        if (events & PP_EV_ERROR)
            mask |= CURL_CSELECT_ERR;
        rc = curl_multi_socket_action(c->multi, (curl_socket_t)fd, mask, &running);
    }
    pp_engine_run(c);
    return rc == CURLM_OK ? 0 : -1;
}

long pp_timeout_ms(pp_client *c)
{
    if (!c)
        return -1;
    if (c->queued && c->inflight < (size_t)c->max_connections)
        return 0;
    if (c->sq_head && c->pace_timer.idx == PP_NOT_QUEUED &&
        !(c->submits_inflight && !c->rl_known && !c->rl_probed))
        return 0;
    uint64_t now = pp_now_ms();
    long best = -1;
    /* libcurl does not always report "no timer" (-1) once its last
     * transfer is removed, which would leave a deadline in the past and
     * make every host spin on timeout 0. With no transfer in the multi
     * handle curl has nothing to time out, so its deadline is ignored. */
    if (c->curl_timer_set && c->inflight)
        best = c->curl_deadline > now ? (long)(c->curl_deadline - now) : 0;
    pp_timer *t = pp_heap_top(&c->heap);
    if (t) {
        long d = t->due > now ? (long)(t->due - now) : 0;
        if (best < 0 || d < best)
            best = d;
    }
    long l = pp_listener_timeout_ms(c);
    if (l >= 0 && (best < 0 || l < best))
        best = l;
    return best;
}

size_t pp_take_fd_changes(pp_client *c, pp_fd_change *out, size_t max)
{
    if (!c)
        return 0;
    if (!c->fd_taker && pp_listener_fd(c) >= 0) {
        /* a host that starts watching fds late still learns the listener's
         * (pp_perform drops changes while nobody takes them) */
        if (pp_fdq_push(&c->fdchanges, pp_listener_fd(c), PP_WANT_READ) < 0)
            return 0;
    }
    c->fd_taker = 1;
    return (out && max) ? pp_fdq_take(&c->fdchanges, out, max) : 0;
}

int pp_perform(pp_client *c)
{
    if (!c)
        return -1;
    if (!c->fd_taker)
        pp_fdq_clear(&c->fdchanges);    /* nobody watches fds: keep no backlog */
    int running = 0;
    CURLMcode rc = curl_multi_perform(c->multi, &running);
    pp_listener_run(c, 1);
    pp_engine_run(c);
    /* transfers the run just started get their first step now */
    if (rc == CURLM_OK && c->inflight) {
        rc = curl_multi_perform(c->multi, &running);
        pp_engine_run(c);
    }
    if (!c->fd_taker)
        pp_fdq_clear(&c->fdchanges);
    return rc == CURLM_OK ? 0 : -1;
}

int pp_poll(pp_client *c, int ms)
{
    if (!c)
        return -1;
    long t = pp_timeout_ms(c);
    long wait = ms < 0 ? (t < 0 ? 1000 : t) : ms;
    if (t >= 0 && t < wait)
        wait = t;
    if (wait > INT_MAX)
        wait = INT_MAX;
    if (wait > 0) {
        struct curl_waitfd extra = {0};
        unsigned int nextra = 0;
        if (pp_listener_fd(c) >= 0) {
            extra.fd = (curl_socket_t)pp_listener_fd(c);
            extra.events = CURL_WAIT_POLLIN;
            nextra = 1;
        }
        CURLMcode rc = curl_multi_poll(c->multi, nextra ? &extra : NULL, nextra, (int)wait, NULL);
        if (rc != CURLM_OK)
            return -1;
    }
    return pp_perform(c);
}

size_t pp_busy(pp_client *c)
{
    if (!c)
        return 0;
    return c->inflight + c->queued + c->heap.n + c->sq_len;
}
