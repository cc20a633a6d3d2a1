#include "results.h"

#include "htmlscan.h"
#include "pc_json.h"
#include "png.h"
#include "synth.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[RT__COUNT] = {"raw", "parsed", "png", "markdown", "xhr"};

const char *results_type_name(enum rtype t)
{
    return type_names[t];
}

int results_types(const char *spec, const struct job *j, enum rtype types[RT__COUNT])
{
    if (!spec || !*spec) {
        types[0] = j->parse ? RT_PARSED : RT_RAW;
        return 1;
    }
    int n = 0, seen[RT__COUNT] = {0};
    const char *p = spec;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int found = -1;
        for (int t = 0; t < RT__COUNT; t++)
            if (strlen(type_names[t]) == len && strncmp(p, type_names[t], len) == 0)
                found = t;
        /* "html" is the name the service's own links use for raw. */
        if (found < 0 && len == 4 && strncmp(p, "html", 4) == 0)
            found = RT_RAW;
        if (found < 0 || seen[found])
            return 0;
        seen[found] = 1;
        types[n++] = (enum rtype)found;
        if (!comma)
            break;
        p = comma + 1;
    }
    return n;
}

int results_npages(const struct job *j)
{
    return j->is_url ? 1 : j->npages_wanted;
}

int results_page_number(const struct job *j, int i)
{
    return j->is_url ? 1 : j->start_page + i;
}

static struct synth_in synth_of(const struct job *j, int i)
{
    struct synth_in in = {
        .source = pc_json_str(j->tmpl, "source"),
        .domain = pc_json_str(j->tmpl, "domain"),
        .subdomain = pc_json_str(j->tmpl, "subdomain"),
        .query = j->target,
        .page = results_page_number(j, i),
        .limit = j->limit,
    };
    return in;
}

/* The page's HTML and target status. For url jobs it points into the job
 * (*owned = 0); for query jobs it is synthesized (*owned = 1). */
static int page_html(struct job *j, int i, const char **html, size_t *len, int *status, int *owned)
{
    if (j->is_url) {
        if (j->npages < 1) {
            *html = "";
            *len = 0;
            *status = STATUS_FAULTED;
        } else {
            *html = j->pages[0].body ? j->pages[0].body : "";
            *len = j->pages[0].body ? j->pages[0].len : 0;
            *status = j->pages[0].status_code;
        }
        *owned = 0;
        return 0;
    }
    struct synth_in in = synth_of(j, i);
    char *s = synth_page(&in, len);
    if (!s)
        return -1;
    *html = s;
    *status = 200;
    *owned = 1;
    return 0;
}

static json_t *markdown_of(const char *html, size_t len)
{
    json_t *parsed = html_parse(html, len);
    if (!parsed)
        return NULL;
    pc_buf b;
    pc_buf_init(&b);
    const char *title = pc_json_str(parsed, "title");
    if (title && *title)
        pc_buf_appendf(&b, "# %s\n\n", title);
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(parsed, "links"), i, l) {
        pc_buf_appendf(&b, "- [%s](%s)\n", pc_json_str(l, "text"), pc_json_str(l, "href"));
    }
    json_decref(parsed);
    return pc_json_take_buf(&b);
}

static json_t *png_value(const char *html, size_t len)
{
    size_t plen;
    unsigned char *png = png_of_page(html, len, &plen);
    if (!png)
        return NULL;
    char *b64 = base64_encode(png, plen, NULL);
    free(png);
    json_t *v = b64 ? json_string(b64) : NULL;
    free(b64);
    return v;
}

static json_t *content_value(enum rtype t, const char *html, size_t len)
{
    switch (t) {
    case RT_RAW: return pc_json_bytes(html, len);
    case RT_PARSED: return html_parse(html, len);
    case RT_PNG: return png_value(html, len);
    case RT_MARKDOWN: return markdown_of(html, len);
    case RT_XHR: return json_array();
    default: return NULL;
    }
}

static char *page_url(struct job *j, int i)
{
    if (j->is_url)
        return strdup(j->target);
    struct synth_in in = synth_of(j, i);
    return synth_url(&in);
}

json_t *results_build(struct job *j, enum job_status st, double updated, const enum rtype *types,
                      int ntypes)
{
    char created_s[20], updated_s[20], id[24];
    fmt_time(j->created, created_s);
    fmt_time(updated, updated_s);
    snprintf(id, sizeof id, "%" PRIu64, j->id);
    json_t *list = json_array();
    if (!list)
        return NULL;
    int n = results_npages(j);
    for (int i = 0; i < n; i++) {
        const char *html = "";
        size_t len = 0;
        int status = STATUS_FAULTED, owned = 0;
        if (st != JOB_FAULTED && page_html(j, i, &html, &len, &status, &owned) != 0)
            goto oom;
        char *url = page_url(j, i);
        for (int k = 0; k < ntypes; k++) {
            /* A faulted job has nothing to show: empty content, status 613. */
            json_t *content =
                st == JOB_FAULTED ? json_string("") : content_value(types[k], html, len);
            json_t *r =
                (content && url)
                    ? json_pack("{s:o, s:s, s:s, s:i, s:o, s:s, s:i, s:s}", "content", content,
                                "created_at", created_s, "updated_at", updated_s, "page",
                                results_page_number(j, i), "url", pc_json_bytes(url, strlen(url)),
                                "job_id", id, "status_code", status, "type", type_names[types[k]])
                    : NULL;
            if (!r || json_array_append_new(list, r) != 0) {
                if (!r && !url)
                    json_decref(content);
                if (owned)
                    free((char *)html);
                free(url);
                goto oom;
            }
        }
        free(url);
        if (owned)
            free((char *)html);
    }
    json_t *out = json_pack("{s:o}", "results", list);
    return out;
oom:
    json_decref(list);
    return NULL;
}

int results_content(struct job *j, enum job_status st, int index, enum rtype t, char **body,
                    size_t *len, const char **ctype)
{
    const char *html = "";
    size_t hlen = 0;
    int status = 0, owned = 0;
    if (st != JOB_FAULTED && page_html(j, index, &html, &hlen, &status, &owned) != 0)
        return -1;
    int rc = 0;
    *body = NULL;
    *len = 0;
    if (st == JOB_FAULTED) {
        *ctype = "text/plain; charset=utf-8";
        *body = calloc(1, 1);
        rc = *body ? 0 : -1;
    } else if (t == RT_RAW) {
        *ctype = "text/html; charset=utf-8";
        *body = malloc(hlen + 1);
        if (*body) {
            memcpy(*body, html, hlen);
            (*body)[hlen] = '\0';
            *len = hlen;
        } else
            rc = -1;
    } else if (t == RT_PNG) {
        *ctype = "image/png";
        *body = (char *)png_of_page(html, hlen, len);
        rc = *body ? 0 : -1;
    } else {
        json_t *v = content_value(t, html, hlen);
        if (t == RT_MARKDOWN) {
            *ctype = "text/markdown; charset=utf-8";
            if (v) {
                *len = json_string_length(v);
                *body = malloc(*len + 1);
                if (*body)
                    memcpy(*body, json_string_value(v), *len + 1);
            }
        } else {
            *ctype = "application/json";
            if (v)
                *body = pc_json_dump(v, len);
        }
        json_decref(v);
        rc = *body ? 0 : -1;
    }
    if (owned)
        free((char *)html);
    return rc;
}
