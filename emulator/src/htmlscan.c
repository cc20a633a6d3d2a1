#include "htmlscan.h"

#include "pc_json.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LINKS 1000

/* Case-insensitive search for needle in [p, end). */
static const char *find_ci(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; (size_t)(end - p) >= n; p++)
        if (strncasecmp(p, needle, n) == 0)
            return p;
    return NULL;
}

static void put_utf8(pc_buf *b, unsigned long cp)
{
    char out[4];
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        out[0] = (char)cp;
        pc_buf_append(b, out, 1);
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        pc_buf_append(b, out, 2);
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        pc_buf_append(b, out, 3);
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        pc_buf_append(b, out, 4);
    }
}

/* Appends the text of [p, end): tags dropped, the common entities decoded,
 * runs of whitespace collapsed to one space, trimmed. */
static void add_text(pc_buf *b, const char *p, const char *end)
{
    int space = 0;
    while (p < end) {
        if (*p == '<') {
            const char *gt = memchr(p, '>', (size_t)(end - p));
            p = gt ? gt + 1 : end;
            space = 1;
            continue;
        }
        if (isspace((unsigned char)*p)) {
            space = 1;
            p++;
            continue;
        }
        if (space && b->len)
            pc_buf_append(b, " ", 1);
        space = 0;
        if (*p == '&') {
            const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
            if (semi) {
                size_t n = (size_t)(semi - p - 1);
                const char *e = p + 1;
                const char *rep = NULL;
                if (n == 3 && strncmp(e, "amp", 3) == 0)
                    rep = "&";
                else if (n == 2 && strncmp(e, "lt", 2) == 0)
                    rep = "<";
                else if (n == 2 && strncmp(e, "gt", 2) == 0)
                    rep = ">";
                else if (n == 4 && strncmp(e, "quot", 4) == 0)
                    rep = "\"";
                else if (n == 4 && strncmp(e, "apos", 4) == 0)
                    rep = "'";
                else if (n == 4 && strncmp(e, "nbsp", 4) == 0)
                    rep = " ";
                if (rep) {
                    pc_buf_appends(b, rep);
                    p = semi + 1;
                    continue;
                }
                if (n >= 2 && e[0] == '#') {
                    char num[12];
                    memcpy(num, e + 1, n - 1);
                    num[n - 1] = '\0';
                    char *stop;
                    unsigned long cp = (num[0] == 'x' || num[0] == 'X')
                                           ? strtoul(num + 1, &stop, 16)
                                           : strtoul(num, &stop, 10);
                    if (*stop == '\0' && stop != num) {
                        put_utf8(b, cp);
                        p = semi + 1;
                        continue;
                    }
                }
            }
        }
        pc_buf_append(b, p, 1);
        p++;
    }
}

static json_t *text_value(const char *p, const char *end)
{
    pc_buf b;
    pc_buf_init(&b);
    add_text(&b, p, end);
    return pc_json_take_buf(&b);
}

/* Finds href in the attributes [p, end) of an <a> tag. */
static json_t *find_href(const char *p, const char *end)
{
    while ((p = find_ci(p, end, "href")) != NULL) {
        /* Must be an attribute name, not the tail of another one. */
        if (!isspace((unsigned char)p[-1])) {
            p += 4;
            continue;
        }
        const char *q = p + 4;
        while (q < end && isspace((unsigned char)*q))
            q++;
        if (q >= end || *q != '=') {
            p += 4;
            continue;
        }
        q++;
        while (q < end && isspace((unsigned char)*q))
            q++;
        const char *vs = q, *ve;
        if (q < end && (*q == '"' || *q == '\'')) {
            char quote = *q;
            vs = q + 1;
            ve = memchr(vs, quote, (size_t)(end - vs));
            if (!ve)
                ve = end;
        } else {
            ve = vs;
            while (ve < end && !isspace((unsigned char)*ve) && *ve != '>')
                ve++;
        }
        return text_value(vs, ve);
    }
    return NULL;
}

json_t *html_parse(const char *html, size_t len)
{
    const char *end = html + len;
    json_t *links = json_array();
    json_t *out = json_object();
    if (!links || !out)
        goto oom;

    json_t *title = NULL;
    const char *t = find_ci(html, end, "<title");
    if (t) {
        const char *gt = memchr(t, '>', (size_t)(end - t));
        if (gt) {
            const char *close = find_ci(gt + 1, end, "</title");
            title = text_value(gt + 1, close ? close : end);
            if (!title)
                goto oom;
        }
    }

    const char *p = html;
    while (json_array_size(links) < MAX_LINKS && (p = find_ci(p, end, "<a")) != NULL) {
        const char *attrs = p + 2;
        p += 2;
        if (attrs >= end || !(isspace((unsigned char)*attrs) || *attrs == '>'))
            continue;
        const char *gt = memchr(attrs, '>', (size_t)(end - attrs));
        if (!gt)
            break;
        json_t *href = find_href(attrs, gt);
        const char *close = find_ci(gt + 1, end, "</a");
        const char *text_end = close ? close : end;
        p = close ? close + 3 : end;
        if (!href)
            continue;
        json_t *text = text_value(gt + 1, text_end);
        json_t *link = text ? json_pack("{s:o, s:o}", "href", href, "text", text) : NULL;
        if (!link) {
            json_decref(href);
            goto oom;
        }
        if (json_array_append_new(links, link) != 0)
            goto oom;
    }

    int ok = (title && json_string_length(title) > 0) || json_array_size(links) > 0;
    /* jset consumes its value even when it fails. */
    if (pc_json_set(out, "title", title ? title : json_null()) != 0)
        goto oom;
    int bad = pc_json_set(out, "links", links);
    links = NULL;
    if (bad ||
        pc_json_set(out, "parse_status_code", json_integer(ok ? PARSE_OK : PARSE_FAILED)) != 0)
        goto oom;
    return out;

oom:
    json_decref(links);
    json_decref(out);
    return NULL;
}
