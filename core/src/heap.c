/* A binary min-heap of timers. Each timer knows its slot, so re-arming and
 * cancelling are O(log n), and the next due time is O(1). */
#include "base.h"

#include <stdlib.h>

void pp_timer_init(pp_timer *t, int kind, void *owner)
{
    t->due = 0;
    t->idx = PP_NOT_QUEUED;
    t->kind = kind;
    t->owner = owner;
}

static void place(pp_heap *h, size_t i, pp_timer *t)
{
    h->v[i] = t;
    t->idx = i;
}

static void sift_up(pp_heap *h, size_t i)
{
    pp_timer *t = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->due <= t->due)
            break;
        place(h, i, h->v[p]);
        i = p;
    }
    place(h, i, t);
}

static void sift_down(pp_heap *h, size_t i)
{
    pp_timer *t = h->v[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t best = t->due;
        if (l < h->n && h->v[l]->due < best) {
            m = l;
            best = h->v[l]->due;
        }
        if (l + 1 < h->n && h->v[l + 1]->due < best)
            m = l + 1;
        if (m == i)
            break;
        place(h, i, h->v[m]);
        i = m;
    }
    place(h, i, t);
}

void pp_heap_remove(pp_heap *h, pp_timer *t)
{
    size_t i = t->idx;
    if (i == PP_NOT_QUEUED || i >= h->n || h->v[i] != t)
        return;
    t->idx = PP_NOT_QUEUED;
    h->n--;
    if (i == h->n)
        return;
    pp_timer *moved = h->v[h->n];
    place(h, i, moved);
    sift_down(h, i);
    sift_up(h, moved->idx);
}

int pp_heap_set(pp_heap *h, pp_timer *t, uint64_t due)
{
    if (t->idx != PP_NOT_QUEUED) {
        uint64_t old = t->due;
        t->due = due;
        if (due < old)
            sift_up(h, t->idx);
        else
            sift_down(h, t->idx);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        pp_timer **v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    t->due = due;
    place(h, h->n, t);
    h->n++;
    sift_up(h, h->n - 1);
    return 0;
}

pp_timer *pp_heap_top(const pp_heap *h)
{
    return h->n ? h->v[0] : NULL;
}

void pp_heap_free(pp_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->v[i]->idx = PP_NOT_QUEUED;
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
