/* The service may hand out http:// links for an https:// base URL: links
 * are upgraded to the scheme of the configured base URL. */
#include "base.h"

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

/* href names the service: base_url itself followed by '/', '?' or nothing
 * (compared after the scheme upgrade). */
static int under_base(const char *href, const char *base_url)
{
    size_t n = strlen(base_url);
    if (!pp_strncaseeq(href, base_url, n))
        return 0;
    return href[n] == '\0' || href[n] == '/' || href[n] == '?';
}

int pp_links_clean_job(json_t *job, const char *base_url)
{
    json_t *links = json_is_object(job) ? json_object_get(job, "_links") : NULL;
    if (!json_is_array(links))
        return 0;
    for (size_t i = json_array_size(links); i > 0; i--) {
        json_t *link = json_array_get(links, i - 1);
        const char *href = pc_json_str(link, "href");
        char *up = href ? pp_link_upgrade(href, base_url) : NULL;
        if (href && !up)
            return -1;
        int keep = up && under_base(up, base_url);
        int rc = keep ? json_object_set_new(link, "href", json_string(up))
                      : json_array_remove(links, i - 1);
        free(up);
        if (rc < 0)
            return -1;
    }
    return 0;
}
