/* Retry policy: exponential backoff with full jitter, and which failures
 * may be tried again. A request that must not run twice (a job submission)
 * is repeated only when it provably never reached the service or was
 * answered 429 (which creates nothing); once sent, any other outcome --
 * a 5xx or 524 from a gateway in front of a service that did the work, a
 * lost answer -- is the owner's to report, never a blind resend. */
#include "transport.h"

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

int pp_never_sent(CURLcode code, long sent)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return 1;
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
        /* no request byte left this side: nothing can have been read */
        return sent == 0;
    default: return 0;
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
    case CURLE_HTTP2_STREAM: return 1;
    default: return 0;
    }
}

int pp_retry_allowed(int repeat, CURLcode code, long st, long sent)
{
    if (code == CURLE_OK)
        /* a 429 of a submission goes back to its pacer, which knows the
         * rate-limit window; here only safe requests are repeated */
        return repeat == PP_REPEAT_SAFE && (st == 429 || (st >= 500 && st <= 599));
    if (pp_never_sent(code, sent))
        return 1;
    return repeat == PP_REPEAT_SAFE && transient(code);
}
