/* Driving the client: what the host calls when an fd is ready, when its
 * timer fires, when it can only tick, or when it may block -- and what it
 * asks (the next deadline, fd interest, how busy the client is). Every
 * call ends in pp_run, which settles what the transport finished, fires
 * due polls and the pacer, and fills free connection slots. */
#include "client.h"
#include "redis.h"

#include <limits.h>

/* Redis connections a wait watches (a cluster's nodes): any beyond are
 * served when the wait ends (pp_redis_poll). */
#define WAIT_REDIS_FDS 32

void pp_run(pp_client *c)
{
    for (int round = 0; round < 4; round++) {
        size_t n = pp_transport_run(&c->tp);
        n += pp_sched_run(c);
        pp_submit_pump(c);
        n += pp_transport_run(&c->tp);
        if (!n)
            break;
    }
    /* the step's renames, then its journal records: one sync each */
    pp_results_sync_dirs(&c->jobs);
    pp_journal_step(c);
}

static int drive_failed(pp_client *c, pp_error *err)
{
    return pp_fail(c, err, "libcurl failed to drive its transfers");
}

int pp_socket_action(pp_client *c, int fd, int events, pp_error *err)
{
    if (!c)
        return -1;
    if (fd >= 0 && fd == pp_listener_fd(c)) {
        /* the callback listener's epoll fd: not curl's */
        pp_listener_run(c, 1);
        pp_run(c);
        return 0;
    }
    if (fd >= 0 && pp_redis_io_fd(c->redis, fd, events) == 0) {
        pp_redis_timers(c->redis);
        pp_run(c);
        return 0;
    }
    int rc = pp_transport_socket_action(&c->tp, fd, events);
    if (fd == PP_SOCKET_TIMEOUT) {
        pp_listener_run(c, 0);
        pp_redis_timers(c->redis);
    }
    pp_run(c);
    return rc < 0 ? drive_failed(c, err) : 0;
}

long pp_timeout_ms(pp_client *c)
{
    if (!c)
        return -1;
    if (c->sq_head && c->pace_timer.idx == PP_NOT_QUEUED &&
        c->submits_inflight < PP_SUBMITS_INFLIGHT_MAX &&
        !(c->submits_inflight && !c->rl_known && !c->rl_probed))
        return 0;
    long best = pp_transport_timeout_ms(&c->tp);
    /* a saturated transport: due polls wait for its answers, not a timer */
    pp_timer *t = pp_sched_saturated(c) ? NULL : pp_heap_top(&c->timers);
    if (t) {
        uint64_t now = pp_now_ms();
        long d = t->due > now ? (long)(t->due - now) : 0;
        if (best < 0 || d < best)
            best = d;
    }
    long extra[3] = {pp_listener_timeout_ms(c), pp_redis_timeout_ms(c->redis),
                     pp_journal_timeout_ms(c)};
    for (int i = 0; i < 3; i++)
        if (extra[i] >= 0 && (best < 0 || extra[i] < best))
            best = extra[i];
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
    if (!c->fd_taker) {
        pp_fd_change rfd[WAIT_REDIS_FDS];
        size_t n = pp_redis_fds(c->redis, rfd, WAIT_REDIS_FDS);
        for (size_t i = 0; i < n; i++)
            if (pp_fdq_push(&c->fdchanges, rfd[i].fd, rfd[i].events) < 0)
                return 0;
    }
    c->fd_taker = 1;
    return (out && max) ? pp_fdq_take(&c->fdchanges, out, max) : 0;
}

int pp_perform(pp_client *c, pp_error *err)
{
    if (!c)
        return -1;
    if (!c->fd_taker)
        pp_fdq_clear(&c->fdchanges); /* nobody watches fds: keep no backlog */
    int rc = pp_transport_perform(&c->tp);
    pp_listener_run(c, 1);
    pp_redis_poll(c->redis);
    pp_run(c);
    /* transfers the run just started get their first step now */
    if (rc == 0 && c->tp.inflight) {
        rc = pp_transport_perform(&c->tp);
        pp_run(c);
    }
    if (!c->fd_taker)
        pp_fdq_clear(&c->fdchanges);
    return rc < 0 ? drive_failed(c, err) : 0;
}

int pp_wait(pp_client *c, int ms, pp_error *err)
{
    if (!c)
        return -1;
    long t = pp_timeout_ms(c);
    long wait = ms < 0 ? (t < 0 ? 1000 : t) : ms;
    if (t >= 0 && t < wait)
        wait = t;
    if (wait > INT_MAX)
        wait = INT_MAX;
    pp_fd_change extra[1 + WAIT_REDIS_FDS] = {{pp_listener_fd(c), PP_WANT_READ}};
    size_t nextra = 1 + pp_redis_fds(c->redis, extra + 1, WAIT_REDIS_FDS);
    if (wait > 0 && pp_transport_wait(&c->tp, extra, nextra, (int)wait) < 0)
        return drive_failed(c, err);
    return pp_perform(c, err);
}

size_t pp_busy(pp_client *c)
{
    if (!c)
        return 0;
    return pp_transport_busy(&c->tp) + c->timers.n + c->sq_len + pp_redis_busy(c->redis);
}
