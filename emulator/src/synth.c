#include "synth.h"

#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[64] = {
    "review", "best", "guide", "price", "compare", "official", "store", "news",
    "latest", "buy", "online", "cheap", "deals", "top", "quality", "shop",
    "brand", "new", "sale", "discount", "shipping", "free", "returns", "catalog",
    "collection", "men", "women", "kids", "sport", "running", "classic", "original",
    "history", "about", "company", "careers", "support", "contact", "blog", "forum",
    "video", "images", "maps", "wiki", "community", "rating", "stars", "stock",
    "delivery", "size", "color", "material", "warranty", "outlet", "exclusive", "limited",
    "edition", "season", "trend", "popular", "local", "global", "market", "fashion"};

/* Host for the pretend site: "<subdomain>.<first word of source>.<domain>". */
static void site_host(const struct synth_in *in, struct buf *b) {
  buf_adds(b, in->subdomain);
  buf_adds(b, ".");
  for (const char *p = in->source; *p && *p != '_'; p++) {
    char c = (char)tolower((unsigned char)*p);
    if (isalnum((unsigned char)c) || c == '-')
      buf_add(b, &c, 1);
  }
  buf_adds(b, ".");
  buf_adds(b, in->domain);
}

static void url_escape(struct buf *b, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      buf_add(b, s, 1);
    else if (c == ' ')
      buf_adds(b, "+");
    else
      buf_printf(b, "%%%02X", c);
  }
}

char *synth_url(const struct synth_in *in) {
  struct buf b;
  buf_init(&b);
  buf_adds(&b, "https://");
  site_host(in, &b);
  buf_adds(&b, "/search?q=");
  url_escape(&b, in->query);
  buf_printf(&b, "&page=%d", in->page);
  return buf_take(&b, NULL);
}

char *synth_page(const struct synth_in *in, size_t *len) {
  struct buf b;
  buf_init(&b);
  uint64_t h = hash64(in->query, strlen(in->query), (uint64_t)in->page * 1000003u);
  h ^= hash64(in->source, strlen(in->source), 7);

  buf_adds(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
  buf_add_html(&b, in->query);
  buf_printf(&b, " - %s results, page %d</title></head>\n<body>\n<h1>Results for &quot;", in->source,
             in->page);
  buf_add_html(&b, in->query);
  buf_adds(&b, "&quot;</h1>\n<div id=\"results\">\n");

  for (int i = 0; i < in->limit; i++) {
    uint64_t r = mix64(h + (uint64_t)i * 0x9e3779b97f4a7c15ULL);
    int rank = (in->page - 1) * in->limit + i + 1;
    buf_printf(&b, "<div class=\"result\" data-rank=\"%d\"><h3><a href=\"https://www.%s-%u.example/",
               rank, words[r & 63], (unsigned)(r >> 40) % 1000);
    buf_printf(&b, "%s/%d\">", words[(r >> 6) & 63], rank);
    buf_add_html(&b, in->query);
    buf_printf(&b, " %s %s</a></h3>\n<p>", words[(r >> 12) & 63], words[(r >> 18) & 63]);
    /* 10..21 snippet words keep a 100-result page near 20 KB. */
    int nw = 10 + (int)((r >> 24) % 12);
    uint64_t w = r;
    for (int k = 0; k < nw; k++) {
      w = mix64(w + (uint64_t)k);
      buf_adds(&b, k ? " " : "");
      buf_adds(&b, words[w & 63]);
    }
    buf_adds(&b, ".</p></div>\n");
  }
  buf_adds(&b, "</div>\n<nav><a href=\"/search?q=");
  url_escape(&b, in->query);
  buf_printf(&b, "&amp;page=%d\">Next</a></nav>\n</body></html>\n", in->page + 1);
  return buf_take(&b, len);
}
