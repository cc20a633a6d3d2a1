/* Where results live. In memory, within the client's budget; past it, in
 * spool files; with a results folder, in <folder>/<id>.json. A file is
 * always written to a temporary name in its final folder, made durable
 * (fsync), and renamed into place, so that a result file either holds a
 * whole answer or is the earlier one untouched -- never a truncated mix. */
#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

int pp_results_dir_check(const char *dir, pp_error *err)
{
    struct stat st;
    int e = 0;
    if (stat(dir, &st) < 0)
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    else if (access(dir, W_OK | X_OK) < 0)
        e = errno;
    if (!e)
        return 0;
    pp_error tmp = {0};
    char what[512];
    snprintf(what, sizeof what, "results_dir %.480s", dir);
    pp_err_errno(&tmp, what, e);
    if (err) {
        pp_err_clear(err);
        *err = tmp;
    } else {
        pp_err_clear(&tmp);
    }
    return -1;
}

char *pp_results_file(const pp_jobrec *j)
{
    if (!j->results_dir || !j->id)
        return NULL;
    size_t n = strlen(j->results_dir) + strlen(j->id) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s.json", j->results_dir, j->id);
    return p;
}

/* The spool folder, made on first use under $TMPDIR (or /tmp) unless the
 * client named a parent. */
const char *pp_spool_dir(pp_jobtab *t)
{
    if (t->spool_dir)
        return t->spool_dir;
    const char *parent = t->spool_parent;
    if (!parent)
        parent = getenv("TMPDIR");
    if (!parent || !*parent)
        parent = "/tmp";
    size_t n = strlen(parent) + 32;
    char *p = malloc(n);
    if (!p)
        return NULL;
    snprintf(p, n, "%s/pushpull-spool-XXXXXX", parent);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    t->spool_dir = p;
    return p;
}

int pp_results_tmp_open(pp_jobtab *t, const pp_jobrec *j, char **path)
{
    const char *dir = j->results_dir ? j->results_dir : pp_spool_dir(t);
    if (!dir) {
        if (!errno)
            errno = ENOMEM;
        return -1;
    }
    size_t n = strlen(dir) + (j->id ? strlen(j->id) : 0) + 48;
    char *p = malloc(n);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(p, n, "%s/.%s-%llu.tmp-XXXXXX", dir, j->id ? j->id : "job",
             (unsigned long long)++t->spool_seq);
    int fd = mkstemp(p);
    if (fd < 0) {
        int e = errno;
        free(p);
        errno = e;
        return -1;
    }
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    *path = p;
    return fd;
}

int pp_results_tmp_finish(int fd, int durable)
{
    int e = 0;
    if (durable && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    return e;
}

/* A spool file is not made durable when it is written (it is temporary);
 * it is when it is saved. 0 or an errno. */
static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = fsync(fd) < 0 ? errno : 0;
    close(fd);
    return e;
}

int pp_results_commit(char **tmp, const char *final)
{
    int e = 0;
    if (rename(*tmp, final) < 0) {
        e = errno;
        unlink(*tmp);
    }
    free(*tmp);
    *tmp = NULL;
    return e;
}

const char *pp_results_where(pp_jobtab *t, const pp_jobrec *j)
{
    if (j->results_path || !j->results_in_dir || !j->results_dir || !j->id)
        return j->results_path;
    pc_buf_reset(&t->where);
    if (pc_buf_appendf(&t->where, "%s/%s.json", j->results_dir, j->id) < 0)
        return NULL;
    return t->where.data;
}

void pp_results_drop(pp_jobtab *t, pp_jobrec *j)
{
    size_t held = j->results.len;
    t->buffered -= held < t->buffered ? held : t->buffered;
    pc_buf_free(&j->results);
    if (j->results_temporary && j->results_path) {
        unlink(j->results_path);
        free(j->results_path);
        j->results_path = NULL;
        j->results_temporary = 0;
    }
}

/* Writes len bytes to a new temporary file beside path, then renames it to
 * path. 0 or an errno. */
int pp_results_write(const char *path, const char *data, size_t len)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return ENOMEM;
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return e;
    }
    int e = 0;
    size_t off = 0;
    while (!e && off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno != EINTR)
            e = errno;
        else if (w > 0)
            off += (size_t)w;
    }
    int fe = pp_results_tmp_finish(fd, 1);
    if (!e)
        e = fe;
    if (e) {
        unlink(tmp);
        free(tmp);
        return e;
    }
    return pp_results_commit(&tmp, path);
}

/* Copies the file at from to path, atomically. 0 or an errno. */
static int copy_atomic(const char *from, const char *path)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno;
    struct stat st;
    if (fstat(in, &st) < 0) {
        int e = errno;
        close(in);
        return e;
    }
    char *data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (!data) {
        close(in);
        return ENOMEM;
    }
    size_t got = 0, want = (size_t)st.st_size;
    int e = 0;
    while (got < want) {
        ssize_t r = read(in, data + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            e = r < 0 ? errno : EIO;
            break;
        }
        got += (size_t)r;
    }
    close(in);
    if (!e)
        e = pp_results_write(path, data, got);
    free(data);
    return e;
}

int pp_results_save(pp_jobtab *t, pp_jobrec *j, const char *path, pp_error *err)
{
    int e = 0;
    if (j->results.data) {
        e = pp_results_write(path, j->results.data, j->results.len);
        if (!e)
            pp_results_drop(t, j);
    } else if (j->results_path && j->results_temporary) {
        char *tmp = j->results_path;
        e = sync_path(tmp);
        if (e) {
            /* cannot be made durable: keep the spool file */
        } else if (rename(tmp, path) == 0) {
            free(tmp);
            j->results_path = NULL;
            j->results_temporary = 0;
        } else if (errno == EXDEV) {
            e = copy_atomic(tmp, path); /* another filesystem */
            if (!e)
                pp_results_drop(t, j);
        } else {
            e = errno;
        }
    } else if (j->results_path || j->results_in_dir) {
        const char *from = pp_results_where(t, j);
        if (!from) {
            e = ENOMEM;
        } else {
            if (strcmp(from, path) == 0)
                return 0;
            e = copy_atomic(from, path);
        }
    } else {
        pp_err_set(err, "no results kept for this job", 0, NULL, 0);
        return -1;
    }
    if (e) {
        pp_err_errno(err, path, e);
        return -1;
    }
    char *copy = pp_strdup(path);
    if (copy) {
        free(j->results_path);
        j->results_path = copy;
        j->results_temporary = 0;
        j->results_in_dir = 0;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* the files are durable already: at worst a rename
                            is lost to a power cut, and fetched again */
        close(fd);
    }
}

void pp_results_renamed(pp_jobtab *t, const char *dir)
{
    for (size_t i = 0; i < t->nrenamed; i++)
        if (strcmp(t->renamed_dirs[i], dir) == 0)
            return;
    if (t->nrenamed == sizeof t->renamed_dirs / sizeof t->renamed_dirs[0])
        pp_results_sync_dirs(t);
    char *copy = pp_strdup(dir);
    if (!copy) {
        sync_dir(dir);
        return;
    }
    t->renamed_dirs[t->nrenamed++] = copy;
}

void pp_results_sync_dirs(pp_jobtab *t)
{
    for (size_t i = 0; i < t->nrenamed; i++) {
        sync_dir(t->renamed_dirs[i]);
        free(t->renamed_dirs[i]);
    }
    t->nrenamed = 0;
}

void pp_results_cleanup(pp_jobtab *t)
{
    pp_results_sync_dirs(t);
    if (t->info_fd >= 0)
        close(t->info_fd);
    t->info_fd = -1;
    pc_buf_free(&t->info_read);
    pc_buf_free(&t->where);
    if (t->spool_dir) {
        /* spool files of released jobs are gone; anything left is ours */
        DIR *d = opendir(t->spool_dir);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.' &&
                    (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
                    continue;
                size_t n = strlen(t->spool_dir) + strlen(e->d_name) + 2;
                char *p = malloc(n);
                if (p) {
                    snprintf(p, n, "%s/%s", t->spool_dir, e->d_name);
                    unlink(p);
                    free(p);
                }
            }
            closedir(d);
        }
        rmdir(t->spool_dir);
        free(t->spool_dir);
        t->spool_dir = NULL;
    }
    free(t->spool_parent);
    t->spool_parent = NULL;
}
