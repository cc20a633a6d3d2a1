/* Synthesized result pages for query sources: deterministic HTML derived
 * from the query, so the same query always yields the same page and no page
 * has to be stored. The number of result blocks follows `limit`, which puts
 * a page between about 2 KB (limit 10) and 20+ KB (limit 100). */
#ifndef EMU_SYNTH_H
#define EMU_SYNTH_H

#include <stddef.h>

struct synth_in {
    const char *source, *domain, *subdomain, *query;
    int page, limit;
};

/* malloc'd NUL-terminated HTML; NULL when out of memory. */
char *synth_page(const struct synth_in *in, size_t *len);
/* The address the page pretends to come from (malloc'd). */
char *synth_url(const struct synth_in *in);

#endif
