/* Backoff with full jitter stays within [0, min(cap, base*2^n)], and the
 * retry classification never resends a submission that may have arrived. */
#include "client.h"
#include "check.h"

int main(void)
{
    uint64_t rng = 7;
    for (int attempt = 0; attempt < 20; attempt++) {
        long ceil_ms = 250;
        for (int i = 0; i < attempt && ceil_ms < 30000; i++)
            ceil_ms *= 2;
        if (ceil_ms > 30000)
            ceil_ms = 30000;
        long lo = ceil_ms, hi = 0;
        for (int k = 0; k < 2000; k++) {
            long d = pp_backoff_ms(250, 30000, attempt, &rng);
            if (d < lo) lo = d;
            if (d > hi) hi = d;
        }
        CHECK(lo >= 0);
        CHECK(hi <= ceil_ms);
        /* full jitter: the spread covers most of the range */
        CHECK(lo < ceil_ms / 10 + 1);
        CHECK(hi > ceil_ms * 9 / 10);
    }
    CHECK(pp_backoff_ms(0, 0, 3, &rng) <= 1);

    /* idempotent requests (kind 0) */
    CHECK(pp_retry_classify(0, CURLE_OK, 200, 100) == PP_RETRY_NO);
    CHECK(pp_retry_classify(0, CURLE_OK, 404, 100) == PP_RETRY_NO);
    CHECK(pp_retry_classify(0, CURLE_OK, 429, 100) == PP_RETRY_YES);
    CHECK(pp_retry_classify(0, CURLE_OK, 500, 100) == PP_RETRY_YES);
    CHECK(pp_retry_classify(0, CURLE_OK, 524, 100) == PP_RETRY_YES);
    CHECK(pp_retry_classify(0, CURLE_COULDNT_CONNECT, 0, 0) == PP_RETRY_YES);
    CHECK(pp_retry_classify(0, CURLE_GOT_NOTHING, 0, 120) == PP_RETRY_YES);
    CHECK(pp_retry_classify(0, CURLE_OPERATION_TIMEDOUT, 0, 120) == PP_RETRY_YES);
    CHECK(pp_retry_classify(0, CURLE_WRITE_ERROR, 200, 120) == PP_RETRY_NO);
    CHECK(pp_retry_classify(0, CURLE_URL_MALFORMAT, 0, 0) == PP_RETRY_NO);
    /* other POSTs (kind 1): only what never left, or a 429 */
    CHECK(pp_retry_classify(1, CURLE_OK, 500, 100) == PP_RETRY_NO);
    CHECK(pp_retry_classify(1, CURLE_OK, 429, 100) == PP_RETRY_YES);
    CHECK(pp_retry_classify(1, CURLE_COULDNT_RESOLVE_HOST, 0, 0) == PP_RETRY_YES);
    CHECK(pp_retry_classify(1, CURLE_GOT_NOTHING, 0, 100) == PP_RETRY_NO);
    /* submissions (kind 2) */
    CHECK(pp_retry_classify(2, CURLE_COULDNT_CONNECT, 0, 0) == PP_RETRY_YES);
    CHECK(pp_retry_classify(2, CURLE_COULDNT_RESOLVE_HOST, 0, 0) == PP_RETRY_YES);
    CHECK(pp_retry_classify(2, CURLE_OPERATION_TIMEDOUT, 0, 0) == PP_RETRY_YES);
    CHECK(pp_retry_classify(2, CURLE_OK, 503, 300) == PP_RETRY_YES);
    CHECK(pp_retry_classify(2, CURLE_OK, 429, 300) == PP_RETRY_NO);   /* the pacer's */
    CHECK(pp_retry_classify(2, CURLE_OK, 400, 300) == PP_RETRY_NO);
    CHECK(pp_retry_classify(2, CURLE_OPERATION_TIMEDOUT, 0, 300) == PP_RETRY_LOST);
    CHECK(pp_retry_classify(2, CURLE_GOT_NOTHING, 0, 300) == PP_RETRY_LOST);
    CHECK(pp_retry_classify(2, CURLE_RECV_ERROR, 0, 300) == PP_RETRY_LOST);
    CHECK(pp_retry_classify(2, CURLE_SEND_ERROR, 0, 300) == PP_RETRY_LOST);
    DONE();
}
