/* Untrusted input, mutated at random (deterministic seed): callbacks, API
 * answers, error bodies and header lines. The parsers must neither crash
 * nor misbehave under ASan/UBSan, and must keep their contracts. */
#include "client.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static const char *const seeds[] = {
    "{\"id\":\"7173957294344910849\",\"status\":\"done\",\"_links\":[{\"rel\":\"results\","
    "\"href\":\"http://data.oxylabs.io/v1/queries/7173957294344910849/results\",\"method\":\"GET\"}]}",
    "{\"id\":123,\"status\":\"faulted\"}",
    "{\"queries\":[{\"id\":\"1\",\"status\":\"pending\"},{\"id\":\"2\"}]}",
    "{\"results\":[{\"content\":\"<html>\",\"status_code\":613},{\"status_code\":613}]}",
    "{\"message\":\"Unsupported source\"}",
    "{\"message\":{\"nested\":[1,2,3]}}",
    "x-ratelimit-jobs-remaining: 17\r\n",
    "X-Oxylabs-Job-Status: faulted\r\n",
};

static size_t mutate(uint64_t *rng, const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, in, n);
    int edits = 1 + (int)(pp_rand(rng) % 6);
    for (int e = 0; e < edits && n > 0; e++) {
        size_t at = (size_t)(pp_rand(rng) % n);
        switch (pp_rand(rng) % 4) {
        case 0: out[at] = (char)(pp_rand(rng) & 0xff); break;           /* flip */
        case 1: n = at; break;                                          /* cut */
        case 2: if (n + 1 < cap) {                                      /* insert */
                    memmove(out + at + 1, out + at, n - at);
                    out[at] = "{}[]\":,\\0a9 -"[pp_rand(rng) % 13];
                    n++;
                }
                break;
        default: memmove(out + at, out + at + 1, n - at - 1); n--; break; /* delete */
        }
    }
    out[n] = '\0';
    return n;
}

int main(void)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "https://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL, 0);
    pp_attach(c, "7173957294344910849");
    pp_attach(c, "123");
    uint64_t rng = 2024;
    char buf[1024];
    int bad_rc = 0;
    for (int i = 0; i < 30000; i++) {
        const char *seed = seeds[i % (sizeof seeds / sizeof seeds[0])];
        size_t n = mutate(&rng, seed, buf, sizeof buf);
        /* callbacks: -1, 0 or 1, nothing else */
        int rc = pp_feed_callback(c, buf, n);
        if (rc < -1 || rc > 1)
            bad_rc++;
        /* error bodies */
        free(pp_json_error_message(buf, n));
        pp_error e = {0};
        pp_err_from_http(&e, 400, buf, n);
        if (!e.message)
            bad_rc++;
        pp_err_clear(&e);
        /* results and job objects */
        json_t *root = json_loadb(buf, n, 0, NULL);
        if (root) {
            (void)pp_results_all_faulted(root);
            (void)pp_links_upgrade_job(root, "https://x");
            char idb[32];
            (void)pp_json_id(root, idb, sizeof idb);
            json_decref(root);
        }
        /* header lines */
        long rem = -1, lim = -1;
        int job = 0;
        pp_header_parse(buf, n, &rem, &lim, &job);
        if (rem < -1 || lim < -1 || job < 0 || job > PP_HDR_OTHER)
            bad_rc++;
        pp_event ev[16];
        while (pp_take_events(c, ev, 16) == 16)
            ;
    }
    CHECK_EQ_LONG(bad_rc, 0);
    pp_client_free(c);
    DONE();
}
