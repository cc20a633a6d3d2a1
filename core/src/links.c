/* The service may hand out http:// links for an https:// base URL: links
 * are upgraded to the scheme of the configured base URL. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int is_https(const char *url)
{
    return url && pp_strncaseeq(url, "https://", 8);
}

char *pp_link_upgrade(const char *href, const char *base_url)
{
    if (!href)
        return NULL;
    if (is_https(base_url) && pp_strncaseeq(href, "http://", 7)) {
        size_t n = strlen(href);
        char *s = malloc(n + 2);
        if (!s)
            return NULL;
        memcpy(s, "https://", 8);
        memcpy(s + 8, href + 7, n - 7 + 1);
        return s;
    }
    return pp_strdup(href);
}

int pp_links_upgrade_job(json_t *job, const char *base_url)
{
    if (!is_https(base_url))
        return 0;
    json_t *links = json_is_object(job) ? json_object_get(job, "_links") : NULL;
    if (!json_is_array(links))
        return 0;
    size_t i;
    json_t *link;
    json_array_foreach(links, i, link) {
        const char *href = pp_json_str(link, "href");
        if (!href || !pp_strncaseeq(href, "http://", 7))
            continue;
        char *up = pp_link_upgrade(href, base_url);
        if (!up)
            return -1;
        int rc = json_object_set_new(link, "href", json_string(up));
        free(up);
        if (rc < 0)
            return -1;
    }
    return 0;
}
