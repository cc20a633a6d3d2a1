#include "storage.h"

#include "config.h"
#include "pc_json.h"
#include "results.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Turns storage_url into a relative folder path: scheme, query and fragment
 * dropped ("s3://bucket/p" -> "bucket/p"; an s3_compatible URL gives
 * host/path). Returns NULL (code 13102) when the result could escape
 * storage-dir: absolute, empty, or with a ".." component. */
static char *relative_path(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    if (*p == '/' || *p == '\\')
        return NULL;
    size_t n = strcspn(p, "?#");
    char *rel = malloc(n + 1);
    if (!rel)
        return NULL;
    memcpy(rel, p, n);
    rel[n] = '\0';
    while (n > 0 && rel[n - 1] == '/')
        rel[--n] = '\0';
    if (n == 0 || strchr(rel, '\\')) {
        free(rel);
        return NULL;
    }
    /* Component by component: "..", and also ".", are refused. */
    for (const char *c = rel; *c;) {
        size_t len = strcspn(c, "/");
        if ((len == 2 && strncmp(c, "..", 2) == 0) || (len == 1 && c[0] == '.')) {
            free(rel);
            return NULL;
        }
        c += len;
        while (*c == '/')
            c++;
    }
    return rel;
}

/* mkdir -p for path (which is modified in place and restored). */
static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    pc_buf path, tmp;
    pc_buf_init(&path);
    pc_buf_init(&tmp);
    pc_buf_appendf(&path, "%s/%s", dir, name);
    pc_buf_appendf(&tmp, "%s/.%s.tmp", dir, name);
    char *final = pc_buf_take(&path, NULL), *partial = pc_buf_take(&tmp, NULL);
    int rc = -1;
    FILE *f = (final && partial) ? fopen(partial, "wb") : NULL;
    if (f) {
        int ok = fwrite(data, 1, len, f) == len;
        ok &= fclose(f) == 0;
        /* Written whole under a temporary name, then renamed: a reader never
         * sees half a file. */
        if (ok && rename(partial, final) == 0)
            rc = 0;
        else
            unlink(partial);
    }
    free(final);
    free(partial);
    return rc;
}

static json_t *outcome(const char *type, int code, const char *message)
{
    const char *event = strcmp(type, "gcs") == 0             ? "GCS_STORAGE_UPLOAD"
                        : strcmp(type, "s3_compatible") == 0 ? "S3_COMPATIBLE_STORAGE_UPLOAD"
                                                             : "S3_STORAGE_UPLOAD";
    return json_pack("{s:s, s:i, s:s}", "event", event, "code", code, "message", message);
}

json_t *storage_upload(struct job *j)
{
    const char *type = pc_json_str(j->tmpl, "storage_type");
    const char *url = pc_json_str(j->tmpl, "storage_url");
    if (!type || !url)
        return NULL;
    char *rel = relative_path(url);
    if (!rel)
        return outcome(type, STORAGE_NO_PATH, "No such path");

    json_t *res = NULL;
    char *data = NULL, *dir = NULL;
    size_t len = 0;
    int rc = -1;
    enum rtype types[RT__COUNT];
    int ntypes = results_types(NULL, j, types);
    pc_buf d;
    pc_buf_init(&d);
    pc_buf_appendf(&d, "%s/%s", g_cfg.storage_dir, rel);
    dir = pc_buf_take(&d, NULL);
    res = results_build(j, JOB_DONE, now_s(), types, ntypes);
    if (res)
        data = pc_json_dump(res, &len);
    if (dir && data && mkdirs(dir) == 0) {
        char name[32];
        snprintf(name, sizeof name, "%" PRIu64 ".json", j->id);
        rc = write_file(dir, name, data, len);
    }
    json_decref(res);
    free(data);
    free(dir);
    free(rel);
    return rc == 0 ? outcome(type, STORAGE_OK, "Upload Successful")
                   : outcome(type, STORAGE_FAILED, "Upload failed");
}
