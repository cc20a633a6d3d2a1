#include "pc_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pc_buf_init(pc_buf *b)
{
    memset(b, 0, sizeof *b);
}

static int fail(pc_buf *b)
{
    b->failed = 1;
    return -1;
}

/* Makes room for len + n bytes and the NUL, doubling the capacity. */
static int grow(pc_buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        return fail(b);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return fail(b);
    b->data = d;
    b->cap = cap;
    return 0;
}

int pc_buf_append(pc_buf *b, const void *p, size_t n)
{
    if (grow(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int pc_buf_appends(pc_buf *b, const char *s)
{
    return pc_buf_append(b, s, strlen(s));
}

int pc_buf_appendf(pc_buf *b, const char *fmt, ...)
{
    /* Straight into the room left, formatting again only when it is short. */
    size_t room = b->data ? b->cap - b->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (room)
            b->data[b->len] = '\0';
        return fail(b);
    }
    if ((size_t)n >= room) {
        if (grow(b, (size_t)n) != 0) {
            if (room)
                b->data[b->len] = '\0';
            return -1;
        }
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
    return 0;
}

int pc_buf_reserve(pc_buf *b, size_t n)
{
    if (n >= SIZE_MAX - b->len)
        return fail(b);
    if (b->len + n + 1 <= b->cap)
        return 0;
    char *d = realloc(b->data, b->len + n + 1);
    if (!d)
        return fail(b);
    if (!b->data)
        d[0] = '\0';
    b->data = d;
    b->cap = b->len + n + 1;
    return 0;
}

void pc_buf_reset(pc_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

void pc_buf_free(pc_buf *b)
{
    free(b->data);
    pc_buf_init(b);
}

void pc_buf_move(pc_buf *dst, pc_buf *src)
{
    pc_buf_free(dst);
    *dst = *src;
    pc_buf_init(src);
}

char *pc_buf_take(pc_buf *b, size_t *len)
{
    if (!b->failed && !b->data)
        pc_buf_append(b, "", 0);
    if (b->failed) {
        pc_buf_free(b);
        return NULL;
    }
    char *d = b->data;
    if (len)
        *len = b->len;
    pc_buf_init(b);
    return d;
}
