/* The answers layer: an HTTP answer as the transport hands it over (a
 * status, the headers that matter, a body) read as the reply to a results
 * poll, a status poll, a submission and as a callback body. The first byte
 * picks the status; the rest is header lines, a blank line, the body. Every
 * verdict must be one the state layer knows, a status answer's object a
 * JSON object, and a callback's id one the client can put in a URL. */
#include "fuzz.h"
#include "answers.h"
#include "answer_input.h"

#include <string.h>

static const long statuses[] = {200, 204, 404, 500, 524, 429, 400, 202, 201, 302, 0};
#define NSTATUSES (sizeof statuses / sizeof *statuses)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    pp_answer a;
    memset(&a, 0, sizeof a);
    a.status = statuses[data[0] % NSTATUSES];
    a.http = a.status != 0;
    a.error = a.http ? NULL : "connection reset";
    a.never_sent = data[0] & 0x80;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    long remaining = -1, limit = -1;
    p = read_headers(p, end, &remaining, &limit, &a.jobhdr);
    REQUIRE(remaining >= -1 && limit >= -1);
    REQUIRE(a.jobhdr >= PP_HDR_NONE && a.jobhdr <= PP_HDR_OTHER);
    a.body = p;
    a.len = (size_t)(end - p);

    pp_verdict v = pp_read_results(&a);
    REQUIRE(v.kind >= PP_V_NOTHING && v.kind <= PP_V_NOT_READY && !v.object);
    REQUIRE(v.kind != PP_V_RESULTS || a.status == 200);

    v = pp_read_status(&a);
    REQUIRE(v.kind >= PP_V_NOTHING && v.kind <= PP_V_NOT_READY);
    REQUIRE(!v.object || json_is_object(v.object));
    if (v.object)
        json_decref(v.object);

    int sub = pp_read_submission(&a);
    REQUIRE(sub >= PP_SUB_ACCEPTED && sub <= PP_SUB_UNKNOWN);
    REQUIRE(sub != PP_SUB_ACCEPTED || (a.status >= 200 && a.status <= 299));

    char id[PP_ID_MAX + 1];
    int claim = 0;
    if (pp_read_callback(a.body, a.len, id, &claim) == 0) {
        REQUIRE(pp_id_valid(id));
        REQUIRE(claim == PP_V_PENDING || claim == PP_V_DONE || claim == PP_V_FAULTED);
    }
    const char *why = NULL;
    json_t *item = pp_read_job_item(a.body, a.len, id, &why);
    REQUIRE(item ? pp_id_valid(id) : why != NULL);
    if (item)
        json_decref(item);
    return 0;
}
