/* A minimal test harness: CHECK records failures, DONE() returns status. */
#ifndef PP_TEST_CHECK_H
#define PP_TEST_CHECK_H
#include <stdio.h>

static int pp_test_failures = 0;
static int pp_test_checks = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        pp_test_checks++;                                                            \
        if (!(cond)) {                                                               \
            pp_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_EQ_LONG(a, b)                                                                    \
    do {                                                                                       \
        long pp_a_ = (long)(a), pp_b_ = (long)(b);                                             \
        pp_test_checks++;                                                                      \
        if (pp_a_ != pp_b_) {                                                                  \
            pp_test_failures++;                                                                \
            fprintf(stderr, "%s:%d: %s == %ld, expected %ld\n", __FILE__, __LINE__, #a, pp_a_, \
                    pp_b_);                                                                    \
        }                                                                                      \
    } while (0)

#define DONE()                                                              \
    do {                                                                    \
        printf("%d checks, %d failed\n", pp_test_checks, pp_test_failures); \
        return pp_test_failures ? 1 : 0;                                    \
    } while (0)
#endif
