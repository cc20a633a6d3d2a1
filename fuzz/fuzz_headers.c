/* pp_header_parse, the reader of the rate-limit and job-status headers of
 * every answer. The input is a header block; each line goes in as curl
 * hands it over (CRLF kept, in an allocation of its own, so a read past it
 * is caught), then the whole block as one line. Checked:
 *   - a line it does not take (0) changes nothing;
 *   - a budget, once known, is never negative and only goes down (the
 *     smallest of several wins); the job status stays within its enum;
 *   - names and values are read without regard to case: the line in upper
 *     case gives the same answer. */
#include "transport.h"
#include "fuzz.h"

#include <ctype.h>
#include <string.h>

typedef struct hdr_state {
    long remaining, limit;
    int job;
} hdr_state;

static void parse_line(const char *line, size_t len, hdr_state *st)
{
    char *copy = malloc(len ? len : 1);
    char *upper = malloc(len ? len : 1);
    REQUIRE(copy && upper);
    memcpy(copy, line, len);
    for (size_t i = 0; i < len; i++)
        upper[i] = (char)toupper((unsigned char)line[i]);

    hdr_state before = *st, other = *st;
    int rc = pp_header_parse(copy, len, &st->remaining, &st->limit, &st->job);
    int rc_upper = pp_header_parse(upper, len, &other.remaining, &other.limit, &other.job);
    REQUIRE(rc == 0 || rc == 1);
    REQUIRE(rc == rc_upper);
    REQUIRE(other.remaining == st->remaining && other.limit == st->limit && other.job == st->job);
    if (rc == 0)
        REQUIRE(st->remaining == before.remaining && st->limit == before.limit &&
                st->job == before.job);
    REQUIRE(st->remaining >= -1 && st->limit >= -1);
    REQUIRE(before.remaining < 0 || (st->remaining >= 0 && st->remaining <= before.remaining));
    REQUIRE(before.limit < 0 || (st->limit >= 0 && st->limit <= before.limit));
    REQUIRE(st->job >= PP_HDR_NONE && st->job <= PP_HDR_OTHER);
    free(copy);
    free(upper);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    hdr_state st;
    memset(&st, 0, sizeof st);
    st.remaining = st.limit = -1;
    size_t start = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '\n') {
            parse_line(text + start, i + 1 - start, &st);
            start = i + 1;
        }
    }
    if (start < size)
        parse_line(text + start, size - start, &st);

    memset(&st, 0, sizeof st);
    st.remaining = st.limit = -1;
    parse_line(text, size, &st);
    return 0;
}
