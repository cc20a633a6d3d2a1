/* Response header parsing: rate-limit headers matched by prefix and suffix
 * without regard to case, the job status header. */
#include "transport.h"
#include "check.h"

#include <string.h>

static int parse(const char *line, long *rem, long *lim, int *job)
{
    return pp_header_parse(line, strlen(line), rem, lim, job);
}

int main(void)
{
    long rem = -1, lim = -1;
    int job = 0;
    CHECK(parse("x-ratelimit-jobs-remaining: 17\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(rem, 17);
    CHECK(parse("X-RateLimit-Jobs-Limit:   50 \r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(lim, 50);
    /* the smallest of several budgets wins */
    CHECK(parse("X-RATELIMIT-REQUESTS-REMAINING: 3\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(rem, 3);
    CHECK(parse("x-ratelimit-other-remaining: 90\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(rem, 3);
    /* generic names count too */
    rem = -1;
    CHECK(parse("x-ratelimit-remaining: 8\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(rem, 8);
    /* not ours */
    rem = -1;
    lim = -1;
    CHECK(parse("x-ratelimit-reset: 1\r\n", &rem, &lim, &job) == 0);
    CHECK(parse("ratelimit-remaining: 1\r\n", &rem, &lim, &job) == 0);
    CHECK(parse("x-ratelimit-jobs-remaining-total: 1\r\n", &rem, &lim, &job) == 0);
    CHECK(parse("x-ratelimit-jobs-remaining: soon\r\n", &rem, &lim, &job) == 0);
    CHECK(parse("x-ratelimit-jobs-remaining: -4\r\n", &rem, &lim, &job) == 0);
    CHECK(parse("x-ratelimit-jobs-remaining 4\r\n", &rem, &lim, &job) == 0);
    CHECK(parse("HTTP/1.1 202 Accepted\r\n", &rem, &lim, &job) == 0);
    CHECK_EQ_LONG(rem, -1);
    CHECK_EQ_LONG(lim, -1);

    CHECK(parse("x-oxylabs-job-status: pending\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(job, PP_HDR_PENDING);
    CHECK(parse("X-Oxylabs-Job-Status: Done\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(job, PP_HDR_DONE);
    CHECK(parse("x-oxylabs-job-status:faulted\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(job, PP_HDR_FAULTED);
    CHECK(parse("x-oxylabs-job-status: queued\r\n", &rem, &lim, &job) == 1);
    CHECK_EQ_LONG(job, PP_HDR_OTHER);
    DONE();
}
