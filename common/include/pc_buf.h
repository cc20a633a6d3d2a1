/* A growable byte buffer, always NUL-terminated once it holds memory.
 *
 * Functions that can fail return 0, or -1 when memory runs out; the buffer
 * then keeps what it held and remembers the failure in `failed` until it
 * is reset or freed, so a caller may append many pieces and check once, at
 * pc_buf_take. `pc_buf b = PC_BUF_INIT;` (or zeroed memory) is empty. */
#ifndef PC_BUF_H
#define PC_BUF_H

#include <stddef.h>

#if defined(__GNUC__)
#define PC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PC_PRINTF(fmt, args)
#endif

typedef struct pc_buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len, cap;
    int failed; /* an append or reserve failed since the last reset */
} pc_buf;

/* clang-format off */
#define PC_BUF_INIT {NULL, 0, 0, 0}
/* clang-format on */

void pc_buf_init(pc_buf *b);
/* Appends n bytes (growing by doubling). */
int pc_buf_append(pc_buf *b, const void *p, size_t n);
int pc_buf_appends(pc_buf *b, const char *s);
int pc_buf_appendf(pc_buf *b, const char *fmt, ...) PC_PRINTF(2, 3);
/* Room for n more bytes in one allocation of exactly that size. */
int pc_buf_reserve(pc_buf *b, size_t n);
/* Empties the buffer, keeping its memory; clears `failed`. */
void pc_buf_reset(pc_buf *b);
void pc_buf_free(pc_buf *b);
/* Moves src into dst (dst freed first); src becomes empty. */
void pc_buf_move(pc_buf *dst, pc_buf *src);
/* Hands the bytes over, NUL-terminated ("" for an empty buffer), and
 * empties b. NULL (b freed) when any append failed or memory runs out. */
char *pc_buf_take(pc_buf *b, size_t *len);

#endif
