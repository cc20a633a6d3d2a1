/* Folders and files for tests of result files and spooling: a fresh
 * temporary folder, what is in one, what a file holds, and removal. */
#ifndef PP_TEST_FILES_H
#define PP_TEST_FILES_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A new folder under parent; the name stays valid for 8 more calls. */
static inline char *temp_dir_in(const char *parent)
{
    static char dirs[8][128];
    static int n;
    char *d = dirs[n++ % 8];
    snprintf(d, sizeof dirs[0], "%s/pp-test-XXXXXX", parent);
    return mkdtemp(d);
}

static inline char *temp_dir(void)
{
    return temp_dir_in("/tmp");
}

/* Removes what dir holds (folders too), and dir itself unless keep. */
static inline void remove_tree(const char *dir, int keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        if (unlink(p) < 0)
            remove_tree(p, 0);
    }
    if (d)
        closedir(d);
    if (!keep)
        rmdir(dir);
}

static inline int name_order(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The names in dir, sorted, comma separated (temporary dot files too). */
static inline const char *listing(const char *dir)
{
    static char out[2048];
    char names[64][256];
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && n < 64 && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof names[0], name_order);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", sizeof out - strlen(out) - 1);
        strncat(out, names[i], sizeof out - strlen(out) - 1);
    }
    return out;
}

/* 1 when the file at path holds exactly want. */
static inline int file_is(const char *path, const char *want)
{
    size_t wl = strlen(want);
    char *buf = malloc(wl + 2);
    int fd = open(path, O_RDONLY);
    ssize_t n = (buf && fd >= 0) ? read(fd, buf, wl + 1) : -1;
    if (fd >= 0)
        close(fd);
    int same = n == (ssize_t)wl && memcmp(buf, want, wl) == 0;
    free(buf);
    return same;
}

static inline void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

#endif
