/* An event-loop host, as libuv or an nginx module would be: it watches
 * the fds the core reports with poll(2), calls pp_socket_action for those
 * that are ready and PP_SOCKET_TIMEOUT when the core's deadline comes. */
#ifndef PP_TEST_HOST_H
#define PP_TEST_HOST_H

#include "pushpull.h"

#include <poll.h>

#define HOST_MAX_FDS 256

typedef struct host {
    struct pollfd p[HOST_MAX_FDS];
    int n;
    int max_watched; /* the most fds watched at once */
} host;

/* Applies the fd changes the core reported. */
static inline void host_take(pp_client *c, host *h)
{
    pp_fd_change ch[32];
    size_t k;
    while ((k = pp_take_fd_changes(c, ch, 32)) > 0) {
        for (size_t i = 0; i < k; i++) {
            int at = -1;
            for (int x = 0; x < h->n; x++)
                if (h->p[x].fd == ch[i].fd)
                    at = x;
            if (ch[i].events == 0) {
                if (at >= 0)
                    h->p[at] = h->p[--h->n];
                continue;
            }
            if (at < 0 && h->n < HOST_MAX_FDS) {
                at = h->n++;
                h->p[at].fd = ch[i].fd;
            }
            if (at >= 0)
                h->p[at].events = (short)(((ch[i].events & PP_WANT_READ) ? POLLIN : 0) |
                                          ((ch[i].events & PP_WANT_WRITE) ? POLLOUT : 0));
        }
        if (k < 32)
            break;
    }
    if (h->n > h->max_watched)
        h->max_watched = h->n;
}

/* Waits up to ms (less when the core has a deadline) and serves what is
 * ready. */
static inline void host_step(pp_client *c, host *h, int ms)
{
    host_take(c, h);
    long t = pp_timeout_ms(c);
    if (t >= 0 && t < ms)
        ms = (int)t;
    for (int x = 0; x < h->n; x++)
        h->p[x].revents = 0;
    int rc = poll(h->p, (nfds_t)h->n, ms);
    /* a copy: socket actions change the set */
    struct pollfd ready[HOST_MAX_FDS];
    int nr = 0;
    for (int x = 0; rc > 0 && x < h->n; x++)
        if (h->p[x].revents)
            ready[nr++] = h->p[x];
    for (int x = 0; x < nr; x++) {
        int ev = ((ready[x].revents & POLLIN) ? PP_WANT_READ : 0) |
                 ((ready[x].revents & POLLOUT) ? PP_WANT_WRITE : 0) |
                 ((ready[x].revents & (POLLERR | POLLHUP)) ? PP_EV_ERROR : 0);
        pp_socket_action(c, ready[x].fd, ev, NULL);
    }
    if (rc == 0 || pp_timeout_ms(c) == 0)
        pp_socket_action(c, PP_SOCKET_TIMEOUT, 0, NULL);
    host_take(c, h);
}

#endif
