/* The two queues the host pulls from: job/op events and fd interest. */
#include "base.h"

#include <stdlib.h>
#include <string.h>

/* Both queues are arrays consumed from head; space is reclaimed when the
 * consumer catches up or, lazily, by sliding the live part down. */
static int grow(void **v, size_t *head, size_t *n, size_t *cap, size_t elem)
{
    if (*head > 0 && *head >= *n / 2) {
        memmove(*v, (char *)*v + *head * elem, (*n - *head) * elem);
        *n -= *head;
        *head = 0;
        if (*n < *cap)
            return 0;
    }
    size_t nc = *cap ? *cap * 2 : 64;
    void *nv = realloc(*v, nc * elem);
    if (!nv)
        return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

int pp_evq_push(pp_evq *q, const pp_event *ev)
{
    if (q->n == q->cap && grow((void **)&q->v, &q->head, &q->n, &q->cap, sizeof *q->v) < 0)
        return -1;
    q->v[q->n++] = *ev;
    return 0;
}

/* Copies up to max items from the head of a queue array. */
static size_t take(const void *v, size_t *head, size_t *n, void *out, size_t max, size_t elem)
{
    size_t k = *n - *head;
    if (k > max)
        k = max;
    if (k)
        memcpy(out, (const char *)v + *head * elem, k * elem);
    *head += k;
    if (*head == *n)
        *head = *n = 0;
    return k;
}

size_t pp_evq_take(pp_evq *q, pp_event *out, size_t max)
{
    return take(q->v, &q->head, &q->n, out, max, sizeof *q->v);
}

void pp_evq_free(pp_evq *q)
{
    free(q->v);
    memset(q, 0, sizeof *q);
}

int pp_fdq_push(pp_fdq *q, int fd, int events)
{
    /* The queue holds at most a few entries per open connection, so the
     * backward scan is bounded by the pool size, not by the job count. */
    for (size_t i = q->n; i > q->head; i--) {
        pp_fd_change *ch = &q->v[i - 1];
        if (ch->fd != fd)
            continue;
        if (ch->events != 0 && events != 0) {
            ch->events = events;
            return 0;
        }
        break;
    }
    if (q->n == q->cap && grow((void **)&q->v, &q->head, &q->n, &q->cap, sizeof *q->v) < 0)
        return -1;
    q->v[q->n].fd = fd;
    q->v[q->n].events = events;
    q->n++;
    return 0;
}

size_t pp_fdq_take(pp_fdq *q, pp_fd_change *out, size_t max)
{
    return take(q->v, &q->head, &q->n, out, max, sizeof *q->v);
}

void pp_fdq_clear(pp_fdq *q)
{
    q->head = q->n = 0;
}

void pp_fdq_free(pp_fdq *q)
{
    free(q->v);
    memset(q, 0, sizeof *q);
}
