/* Cloud storage uploads, emulated as files under --storage-dir. */
#ifndef EMU_STORAGE_H
#define EMU_STORAGE_H

#include <jansson.h>

#include "jobs.h"

#define STORAGE_OK 13000
#define STORAGE_FAILED 13001
#define STORAGE_NO_PATH 13102

/* When the job asks for storage, writes its results to
 * <storage-dir>/<bucket path>/<job id>.json and returns the statuses entry
 * describing the outcome; NULL when the job asks for no upload. */
json_t *storage_upload(struct job *j);

#endif
