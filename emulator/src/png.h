/* A real PNG (valid signature, IHDR, zlib-compressed IDAT, IEND, CRCs) as
 * the emulator's "screenshot" of a page: a small picture derived from the
 * page's bytes, so that the same page always gives the same image. */
#ifndef EMU_PNG_H
#define EMU_PNG_H

#include <stddef.h>

/* malloc'd PNG bytes, NULL when out of memory. */
unsigned char *png_of_page(const char *page, size_t page_len, size_t *png_len);

#endif
