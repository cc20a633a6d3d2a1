/* Validation of job parameters (POST /v1/queries, /batch, schedule items).
 * The contract: every known parameter is checked by type and value, unknown
 * ones are kept and echoed, and an error message names the parameter. */
#ifndef EMU_PARAMS_H
#define EMU_PARAMS_H

#include <jansson.h>
#include <stddef.h>

#define BATCH_MAX 5000

/* Validates in. With batch == 0, url or query must be a single string; with
 * batch != 0 exactly one of them must be a list of 1..BATCH_MAX strings.
 *
 * On success returns a new template object: every known parameter with its
 * default filled in, plus the unknown ones, but without url/query; *is_url
 * tells which of the two was given and *targets (new reference) holds its
 * values, one per job. On failure returns NULL with a message in err. */
json_t *params_validate(const json_t *in, int batch, int *is_url, json_t **targets, char *err,
                        size_t errlen);

/* True for an absolute http:// or https:// URL with a host. */
int params_is_http_url(const char *s);

#endif
