/* Retry policy: exponential backoff with full jitter, and which failures
 * may be retried at all. A job submission is retried only when it surely
 * never reached the service; once sent, a lost answer makes its jobs
 * unknown instead of creating them twice. */
#include "internal.h"

long pp_backoff_ms(long base_ms, long cap_ms, int attempt, uint64_t *rng)
{
    if (base_ms <= 0)
        base_ms = 1;
    if (cap_ms < base_ms)
        cap_ms = base_ms;
    double ceil_ms = (double)base_ms;
    for (int i = 0; i < attempt && ceil_ms < (double)cap_ms; i++)
        ceil_ms *= 2.0;
    if (ceil_ms > (double)cap_ms)
        ceil_ms = (double)cap_ms;
    return (long)(pp_rand_unit(rng) * (ceil_ms + 1.0));
}

/* Failures that happen before a single request byte can have been read by
 * the server. */
static int never_sent(CURLcode code, long sent)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return 1;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
        return sent == 0;
    default:
        return 0;
    }
}

/* Transport failures worth another attempt for a request that may be
 * repeated safely. */
static int transient(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

int pp_retry_classify(int kind, CURLcode code, long st, long sent)
{
    if (code == CURLE_OK) {
        if (st == 429)
            return kind == 2 ? PP_RETRY_NO : PP_RETRY_YES;
        if (st >= 500 && st <= 599)
            return kind == 1 ? PP_RETRY_NO : PP_RETRY_YES;
        return PP_RETRY_NO;
    }
    if (never_sent(code, sent))
        return PP_RETRY_YES;
    if (kind == 0)
        return transient(code) ? PP_RETRY_YES : PP_RETRY_NO;
    if (kind == 2)
        return PP_RETRY_LOST;
    return PP_RETRY_NO;
}
