/* The timer heap: order, re-arming, removal from the middle. */
#include "base.h"
#include "check.h"

#include <stdlib.h>

#define N 2000

int main(void)
{
    pp_heap h = {0};
    static pp_timer t[N];
    uint64_t rng = 42;
    for (int i = 0; i < N; i++) {
        pp_timer_init(&t[i], 0, &t[i]);
        CHECK(pp_heap_set(&h, &t[i], pp_rand(&rng) % 100000) == 0);
    }
    /* re-arm a third, remove a third */
    for (int i = 0; i < N; i += 3)
        pp_heap_set(&h, &t[i], pp_rand(&rng) % 100000);
    for (int i = 1; i < N; i += 3)
        pp_heap_remove(&h, &t[i]);
    for (int i = 1; i < N; i += 3)
        CHECK(t[i].idx == PP_NOT_QUEUED);
    size_t expect = N - (N + 1) / 3;
    CHECK_EQ_LONG(h.n, expect);
    uint64_t last = 0;
    size_t popped = 0;
    int ordered = 1;
    pp_timer *top;
    while ((top = pp_heap_top(&h))) {
        if (top->due < last)
            ordered = 0;
        last = top->due;
        pp_heap_remove(&h, top);
        popped++;
    }
    CHECK(ordered);
    CHECK_EQ_LONG(popped, expect);
    /* removing a timer twice or one never queued is harmless */
    pp_heap_remove(&h, &t[0]);
    pp_heap_free(&h);
    DONE();
}
