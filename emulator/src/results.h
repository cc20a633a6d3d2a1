/* Results of a finished job in each result type, built on demand from the
 * stored (url jobs) or synthesized (query jobs) page HTML. */
#ifndef EMU_RESULTS_H
#define EMU_RESULTS_H

#include <jansson.h>
#include <stddef.h>

#include "jobs.h"

enum rtype { RT_RAW, RT_PARSED, RT_PNG, RT_MARKDOWN, RT_XHR, RT__COUNT };

#define STATUS_FAULTED 613

/* Parses ?type= (one type or a comma list, each at most once) into types.
 * NULL or "" gives the job's default: parsed when it asked for parse, else
 * raw. Returns the number of types, or 0 when the value is invalid. */
int results_types(const char *spec, const struct job *j, enum rtype types[RT__COUNT]);
const char *results_type_name(enum rtype t);

/* Number of result pages and the page number of index i. */
int results_npages(const struct job *j);
int results_page_number(const struct job *j, int i);

/* {"results": [...]}: for each page, one result per type. The job must have
 * left pending (st, updated as read from it). NULL when out of memory. */
json_t *results_build(struct job *j, enum job_status st, double updated, const enum rtype *types,
                      int ntypes);

/* One page's content without the wrapper, for .../results/{page}/content.
 * Returns 0 and a malloc'd body with its Content-Type, -1 when out of
 * memory. */
int results_content(struct job *j, enum job_status st, int index, enum rtype t, char **body,
                    size_t *len, const char **ctype);

#endif
