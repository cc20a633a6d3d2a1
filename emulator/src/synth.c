#include "synth.h"

#include "pc_buf.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[64] = {
    "review",     "best",   "guide",   "price",    "compare",   "official", "store",     "news",
    "latest",     "buy",    "online",  "cheap",    "deals",     "top",      "quality",   "shop",
    "brand",      "new",    "sale",    "discount", "shipping",  "free",     "returns",   "catalog",
    "collection", "men",    "women",   "kids",     "sport",     "running",  "classic",   "original",
    "history",    "about",  "company", "careers",  "support",   "contact",  "blog",      "forum",
    "video",      "images", "maps",    "wiki",     "community", "rating",   "stars",     "stock",
    "delivery",   "size",   "color",   "material", "warranty",  "outlet",   "exclusive", "limited",
    "edition",    "season", "trend",   "popular",  "local",     "global",   "market",    "fashion"};

/* Host for the pretend site: "<subdomain>.<first word of source>.<domain>". */
static void site_host(const struct synth_in *in, pc_buf *b)
{
    pc_buf_appends(b, in->subdomain);
    pc_buf_appends(b, ".");
    for (const char *p = in->source; *p && *p != '_'; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (isalnum((unsigned char)c) || c == '-')
            pc_buf_append(b, &c, 1);
    }
    pc_buf_appends(b, ".");
    pc_buf_appends(b, in->domain);
}

/* Appends s with <, >, &, " and ' escaped for HTML text and attributes. */
static void add_html(pc_buf *b, const char *s)
{
    const char *start = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (rep) {
            pc_buf_append(b, start, (size_t)(s - start));
            pc_buf_appends(b, rep);
            start = s + 1;
        }
    }
    pc_buf_append(b, start, (size_t)(s - start));
}

static void url_escape(pc_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            pc_buf_append(b, s, 1);
        else if (c == ' ')
            pc_buf_appends(b, "+");
        else
            pc_buf_appendf(b, "%%%02X", c);
    }
}

char *synth_url(const struct synth_in *in)
{
    pc_buf b;
    pc_buf_init(&b);
    pc_buf_appends(&b, "https://");
    site_host(in, &b);
    pc_buf_appends(&b, "/search?q=");
    url_escape(&b, in->query);
    pc_buf_appendf(&b, "&page=%d", in->page);
    return pc_buf_take(&b, NULL);
}

char *synth_page(const struct synth_in *in, size_t *len)
{
    pc_buf b;
    pc_buf_init(&b);
    uint64_t h = hash64(in->query, strlen(in->query), (uint64_t)in->page * 1000003u);
    h ^= hash64(in->source, strlen(in->source), 7);

    pc_buf_appends(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    add_html(&b, in->query);
    pc_buf_appendf(&b, " - %s results, page %d</title></head>\n<body>\n<h1>Results for &quot;",
                   in->source, in->page);
    add_html(&b, in->query);
    pc_buf_appends(&b, "&quot;</h1>\n<div id=\"results\">\n");

    for (int i = 0; i < in->limit; i++) {
        uint64_t r = mix64(h + (uint64_t)i * 0x9e3779b97f4a7c15ULL);
        int rank = (in->page - 1) * in->limit + i + 1;
        pc_buf_appendf(
            &b, "<div class=\"result\" data-rank=\"%d\"><h3><a href=\"https://www.%s-%u.example/",
            rank, words[r & 63], (unsigned)(r >> 40) % 1000);
        pc_buf_appendf(&b, "%s/%d\">", words[(r >> 6) & 63], rank);
        add_html(&b, in->query);
        pc_buf_appendf(&b, " %s %s</a></h3>\n<p>", words[(r >> 12) & 63], words[(r >> 18) & 63]);
        /* 10..21 snippet words keep a 100-result page near 20 KB. */
        int nw = 10 + (int)((r >> 24) % 12);
        uint64_t w = r;
        for (int k = 0; k < nw; k++) {
            w = mix64(w + (uint64_t)k);
            pc_buf_appends(&b, k ? " " : "");
            pc_buf_appends(&b, words[w & 63]);
        }
        pc_buf_appends(&b, ".</p></div>\n");
    }
    pc_buf_appends(&b, "</div>\n<nav><a href=\"/search?q=");
    url_escape(&b, in->query);
    pc_buf_appendf(&b, "&amp;page=%d\">Next</a></nav>\n</body></html>\n", in->page + 1);
    return pc_buf_take(&b, len);
}
