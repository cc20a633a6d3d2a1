/* _links hrefs take the scheme of an https base URL. */
#include "client.h"
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

    json_t *job = json_loads(
        "{\"id\":\"7173957294344910849\",\"_links\":["
        "{\"rel\":\"self\",\"href\":\"http://data.oxylabs.io/v1/queries/7173957294344910849\",\"method\":\"GET\"},"
        "{\"rel\":\"results\",\"href\":\"http://data.oxylabs.io/v1/queries/7173957294344910849/results\",\"method\":\"GET\"},"
        "{\"rel\":\"odd\"},"
        "{\"rel\":\"results-png\",\"href\":\"https://data.oxylabs.io/v1/queries/7173957294344910849/results?type=png\"}]}",
        0, NULL);
    CHECK(job != NULL);
    CHECK(pp_links_upgrade_job(job, "https://data.oxylabs.io") == 0);
    json_t *links = json_object_get(job, "_links");
    CHECK(strcmp(pp_json_str(json_array_get(links, 0), "href"),
                 "https://data.oxylabs.io/v1/queries/7173957294344910849") == 0);
    CHECK(strcmp(pp_json_str(json_array_get(links, 1), "href"),
                 "https://data.oxylabs.io/v1/queries/7173957294344910849/results") == 0);
    CHECK(pp_json_str(json_array_get(links, 2), "href") == NULL);
    CHECK(strcmp(pp_json_str(json_array_get(links, 3), "href"),
                 "https://data.oxylabs.io/v1/queries/7173957294344910849/results?type=png") == 0);
    /* an http base URL leaves them alone */
    json_t *job2 = json_loads("{\"_links\":[{\"href\":\"http://a/b\"}]}", 0, NULL);
    CHECK(pp_links_upgrade_job(job2, "http://a") == 0);
    CHECK(strcmp(pp_json_str(json_array_get(json_object_get(job2, "_links"), 0), "href"),
                 "http://a/b") == 0);
    /* no _links, or not an object: nothing to do */
    json_t *num = json_integer(3);
    CHECK(pp_links_upgrade_job(num, "https://a") == 0);
    json_decref(num);
    json_decref(job);
    json_decref(job2);
    DONE();
}
