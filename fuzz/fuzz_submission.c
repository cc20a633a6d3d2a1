/* The mapping of a batch submission's answer to its jobs, through a real
 * client: a batch of values is submitted (never sent: the client is not
 * driven), and its queued request is completed with the input as the
 * service's answer (first byte: the status; then header lines, a blank
 * line, the body), as the transport would. Every job must end pending with
 * a valid id of its own -- no two jobs share one -- or unknown, rejected,
 * or back in the pacer's queue (429); releasing the unknown ones and
 * submitting again must work. */
#include "fuzz.h"
#include "client.h"
#include "answer_input.h"

#include <string.h>

static const long statuses[] = {202, 200, 500, 524, 429, 400, 201, 204};
#define NSTATUSES (sizeof statuses / sizeof *statuses)
#define NVALUES 6

static const char batch[] =
    "{\"source\":\"universal\",\"url\":[\"https://a.example/1\","
    "\"https://a.example/2\",\"https://a.example/3\",\"https://a.example/4\","
    "\"https://a.example/5\",\"https://a.example/6\"]}";

/* Completes the first queued request with the fuzzer's answer. */
static void answer(pp_client *c, const uint8_t *data, size_t size)
{
    pp_req *r = c->tp.qhi_head ? c->tp.qhi_head : c->tp.qlo_head;
    if (!r)
        return;
    r->code = CURLE_OK;
    r->status = size ? statuses[data[0] % NSTATUSES] : 202;
    const char *p = (const char *)data + (size ? 1 : 0), *end = (const char *)data + size;
    p = read_headers(p, end, &r->rl_remaining, &r->rl_limit, &r->jobhdr);
    REQUIRE(pc_buf_append(&r->resp, p, (size_t)(end - p)) == 0);
    r->done(r->ctx, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL);
    REQUIRE(c != NULL);
    for (int round = 0; round < 2; round++) {
        pp_op op = pp_submit(c, batch, sizeof batch - 1, NULL, NULL);
        REQUIRE(op != 0);
        pp_submit_pump(c); /* the chunk becomes a queued request */
        answer(c, data, size);
        size_t n = 0;
        const pp_job *jobs = pp_op_jobs(c, op, &n);
        REQUIRE(n == NVALUES);
        for (size_t i = 0; i < n; i++) {
            pp_state st = pp_job_state(c, jobs[i]);
            const char *id = pp_job_id(c, jobs[i]);
            if (st == PP_PENDING || st == PP_DONE || st == PP_FETCHING) {
                REQUIRE(id && pp_id_valid(id));
                for (size_t k = 0; k < i; k++) {
                    const char *other = pp_job_id(c, jobs[k]);
                    REQUIRE(!other || strcmp(other, id) != 0);
                }
            } else {
                REQUIRE(st == PP_UNKNOWN || st == PP_REJECTED || st == PP_SUBMITTING ||
                        st == PP_NEW);
                REQUIRE(st == PP_SUBMITTING || st == PP_NEW || pp_job_error(c, jobs[i]));
            }
        }
        for (size_t i = 0; i < n; i++)
            if (pp_job_state(c, jobs[i]) == PP_UNKNOWN)
                pp_job_release(c, jobs[i]);
        pp_op_free(c, op);
    }
    pp_client_free(c);
    return 0;
}
