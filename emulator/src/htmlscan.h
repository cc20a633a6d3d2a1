/* A tolerant scanner that pulls the title and the links out of an HTML
 * page: the emulator's "parser" for type=parsed. It never fails on bad
 * markup; it just finds less. */
#ifndef EMU_HTMLSCAN_H
#define EMU_HTMLSCAN_H

#include <jansson.h>
#include <stddef.h>

#define PARSE_OK 12000
#define PARSE_FAILED 12002

/* {"title": string|null, "links": [{"href","text"}], "parse_status_code":
 * 12000, or 12002 when neither a title nor a link was found}. NULL when out
 * of memory. */
json_t *html_parse(const char *html, size_t len);

#endif
