/* pp_feed_callback, where a host hands over the body of a callback it
 * received: a fresh client that knows a few jobs (attached ids, one of them
 * watched) is fed the input twice. For inputs of odd length a batch
 * submission is out too (never sent: the client is not driven), so that
 * callbacks for unknown ids are kept for when its answer comes. Checked
 * against jansson's own reading of the body: -1 exactly when it is not an
 * object with a valid id (a string or an integer of 1 to 96 letters, digits,
 * '-' or '_') and a status the service uses; else 0 when the id is one of
 * the client's jobs, 1 when not; the second feed answers as the first; every
 * job stays in a valid state, and the job object kept for it is JSON. */
#include "fuzz.h"
#include "pushpull.h"

#include <ctype.h>
#include <jansson.h>
#include <string.h>

static const char *const ids[] = {
    "7173957294344910849", "12345678900987654321", "01234567899876543210", "123", "1",
};
#define NIDS (sizeof ids / sizeof *ids)

/* An id the client takes: 1 to 96 letters, digits, '-' or '_'. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 96)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

static int status_ok(json_t *v)
{
    const char *s = json_string_value(v);
    return s && (!strcmp(s, "pending") || !strcmp(s, "done") || !strcmp(s, "faulted"));
}

/* What pp_feed_callback must answer, from jansson's reading. */
static int expected(const uint8_t *data, size_t size)
{
    json_t *obj = json_loadb((const char *)data, size, 0, NULL);
    int rc = -1;
    json_t *id = json_object_get(obj, "id");
    char buf[32];
    const char *text = NULL;
    if (json_is_string(id) && json_string_length(id) > 0) {
        text = json_string_value(id);
    } else if (json_is_integer(id)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        text = buf;
    }
    if (json_is_object(obj) && text && id_ok(text) && status_ok(json_object_get(obj, "status"))) {
        rc = 1;
        for (size_t i = 0; i < NIDS; i++)
            if (!strcmp(text, ids[i]))
                rc = 0;
    }
    json_decref(obj);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9"; /* never reached: the client is not driven */
    pp_client *c = pp_client_new(&cfg, NULL);
    REQUIRE(c != NULL);
    pp_job jobs[NIDS];
    for (size_t i = 0; i < NIDS; i++)
        REQUIRE((jobs[i] = pp_attach(c, ids[i], NULL)) != 0);
    REQUIRE(pp_watch(c, jobs[0], NULL) == 0);
    if (size % 2) {
        static const char batch[] =
            "{\"source\":\"universal\",\"url\":[\"https://a.example\",\"https://b.example\"]}";
        REQUIRE(pp_submit(c, batch, sizeof batch - 1, NULL, NULL) != 0);
    }

    int want = expected(data, size);
    int rc = pp_feed_callback(c, (const char *)data, size);
    if (rc != want)
        fprintf(stderr, "pp_feed_callback: %d, expected %d\n", rc, want);
    REQUIRE(rc == want);
    REQUIRE(pp_feed_callback(c, (const char *)data, size) == rc);

    for (size_t i = 0; i < NIDS; i++) {
        pp_state st = pp_job_state(c, jobs[i]);
        REQUIRE(pp_state_name(st) != NULL);
        REQUIRE(!strcmp(pp_job_id(c, jobs[i]), ids[i]));
        size_t len = 0;
        const char *info = pp_job_info(c, jobs[i], &len);
        if (info) {
            json_t *v = json_loadb(info, len, 0, NULL);
            REQUIRE(json_is_object(v));
            json_decref(v);
        }
        const pp_error *e = pp_job_error(c, jobs[i]);
        REQUIRE(!e || e->message);
    }
    pp_event ev[16];
    size_t n;
    while ((n = pp_take_events(c, ev, 16)) > 0)
        for (size_t i = 0; i < n; i++)
            REQUIRE(ev[i].kind != PP_EVENT_JOB || pp_state_name(ev[i].state));
    pp_client_free(c);
    return 0;
}
