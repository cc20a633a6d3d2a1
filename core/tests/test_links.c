/* _links hrefs take the scheme of an https base URL, and a job object
 * keeps only links to the service itself: a forged or broken answer must
 * not point the client (and its credentials) anywhere else. */
#include "base.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static int up_is(const char *href, const char *base, const char *want)
{
    char *s = pp_link_upgrade(href, base);
    int ok = s && strcmp(s, want) == 0;
    free(s);
    return ok;
}

/* The hrefs left after cleaning, as "href1 href2". */
static const char *cleaned(const char *job_json, const char *base)
{
    static char out[1024];
    json_t *job = json_loads(job_json, 0, NULL);
    if (!job || pp_links_clean_job(job, base) < 0) {
        if (job)
            json_decref(job);
        return "(error)";
    }
    out[0] = '\0';
    json_t *links = json_object_get(job, "_links");
    for (size_t i = 0; i < json_array_size(links); i++) {
        const char *href = pc_json_str(json_array_get(links, i), "href");
        if (i)
            strcat(out, " ");
        strncat(out, href ? href : "(none)", 200);
    }
    json_decref(job);
    return out;
}

int main(void)
{
    CHECK(up_is("http://data.oxylabs.io/v1/queries/1/results", "https://data.oxylabs.io",
                "https://data.oxylabs.io/v1/queries/1/results"));
    CHECK(up_is("HTTP://x/y", "HTTPS://x", "https://x/y"));
    CHECK(up_is("https://x/y", "https://x", "https://x/y"));
    CHECK(up_is("http://127.0.0.1:8700/v1/queries/1", "http://127.0.0.1:8700",
                "http://127.0.0.1:8700/v1/queries/1"));
    CHECK(up_is("ftp://x", "https://x", "ftp://x"));
    CHECK(pp_link_upgrade(NULL, "https://x") == NULL);

    const char *job =
        "{\"id\":\"7173957294344910849\",\"_links\":["
        "{\"rel\":\"self\",\"href\":\"http://data.oxylabs.io/v1/queries/"
        "7173957294344910849\",\"method\":\"GET\"},"
        "{\"rel\":\"results\",\"href\":\"http://data.oxylabs.io/v1/queries/7173957294344910849/"
        "results\"},"
        "{\"rel\":\"odd\"},"
        "{\"rel\":\"elsewhere\",\"href\":\"https://evil.example/v1/queries/1\"},"
        "{\"rel\":\"lookalike\",\"href\":\"https://data.oxylabs.io.evil.example/v1\"},"
        "{\"rel\":\"userinfo\",\"href\":\"https://data.oxylabs.io@evil.example/v1\"},"
        "{\"rel\":\"port\",\"href\":\"https://data.oxylabs.io:8443/v1\"},"
        "{\"rel\":\"results-png\",\"href\":\"https://data.oxylabs.io/v1/queries/"
        "7173957294344910849/results?type=png\"},"
        "{\"rel\":\"root\",\"href\":\"https://data.oxylabs.io\"}]}";
    CHECK(strcmp(cleaned(job, "https://data.oxylabs.io"),
                 "https://data.oxylabs.io/v1/queries/7173957294344910849 "
                 "https://data.oxylabs.io/v1/queries/7173957294344910849/results "
                 "https://data.oxylabs.io/v1/queries/7173957294344910849/results?type=png "
                 "https://data.oxylabs.io") == 0);
    /* the other fields of a link stay */
    json_t *o = json_loads(job, 0, NULL);
    CHECK(pp_links_clean_job(o, "https://data.oxylabs.io") == 0);
    json_t *self = json_array_get(json_object_get(o, "_links"), 0);
    CHECK(strcmp(pc_json_str(self, "method"), "GET") == 0 &&
          strcmp(pc_json_str(self, "rel"), "self") == 0);
    CHECK(strcmp(pc_json_str(o, "id"), "7173957294344910849") == 0);
    json_decref(o);
    /* an http base URL leaves the scheme alone; the host still counts */
    CHECK(strcmp(cleaned("{\"_links\":[{\"href\":\"http://a/b\"},{\"href\":\"https://a/b\"}]}",
                         "http://a"),
                 "http://a/b") == 0);
    CHECK(strcmp(cleaned("{\"_links\":[{\"href\":\"HTTP://A/b\"}]}", "http://a"), "HTTP://A/b") ==
          0);
    /* no _links, not a list, or not an object: nothing to do */
    CHECK(strcmp(cleaned("{\"id\":\"1\"}", "https://a"), "") == 0);
    CHECK(strcmp(cleaned("{\"_links\":\"http://a\"}", "https://a"), "") == 0);
    CHECK(strcmp(cleaned("{\"_links\":[1,null,{\"href\":7}]}", "https://a"), "") == 0);
    json_t *num = json_integer(3);
    CHECK(pp_links_clean_job(num, "https://a") == 0);
    json_decref(num);
    DONE();
}
