#include "png.h"

#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define W 160
#define H 120

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes one chunk (length, type, data, CRC over type+data) at out. */
static size_t chunk(unsigned char *out, const char type[4], const unsigned char *data, size_t len)
{
    put32(out, (uint32_t)len);
    memcpy(out + 4, type, 4);
    if (len)
        memcpy(out + 8, data, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, out + 4, (uInt)(len + 4));
    put32(out + 8 + len, (uint32_t)crc);
    return len + 12;
}

/* Draws a mock page: a tinted header bar and one grey "text line" per
 * stretch of the page, with widths taken from its hash. */
static void draw(unsigned char *raw, const char *page, size_t len)
{
    uint64_t h = hash64(page, len, 0x9a9e);
    unsigned char bg[3] = {250, 250, 250};
    unsigned char tint[3] = {(unsigned char)(40 + (h & 127)),
                             (unsigned char)(40 + ((h >> 8) & 127)),
                             (unsigned char)(40 + ((h >> 16) & 127))};
    size_t stripe = len / 24 + 1;
    for (int y = 0; y < H; y++) {
        unsigned char *row = raw + (size_t)y * (W * 3 + 1);
        row[0] = 0; /* filter type None */
        int line = (y - 20) / 6;
        int width = 0;
        if (y >= 20 && (y - 20) % 6 < 3 && line < 16) {
            size_t off = (size_t)line * stripe;
            size_t n = off < len ? (len - off < stripe ? len - off : stripe) : 0;
            width = n ? 20 + (int)(hash64(page + off, n, (uint64_t)line) % (W - 30)) : 0;
        }
        for (int x = 0; x < W; x++) {
            const unsigned char *c = bg;
            unsigned char grey[3] = {120, 120, 120};
            if (y < 14)
                c = tint;
            else if (x >= 8 && x < 8 + width)
                c = grey;
            memcpy(row + 1 + x * 3, c, 3);
        }
    }
}

unsigned char *png_of_page(const char *page, size_t page_len, size_t *png_len)
{
    size_t raw_len = (size_t)H * (W * 3 + 1);
    unsigned char *raw = malloc(raw_len);
    if (!raw)
        return NULL;
    draw(raw, page ? page : "", page ? page_len : 0);

    uLongf zlen = compressBound((uLong)raw_len);
    unsigned char *z = malloc(zlen);
    if (!z || compress2(z, &zlen, raw, (uLong)raw_len, 9) != Z_OK) {
        free(raw);
        free(z);
        return NULL;
    }
    free(raw);

    size_t total = 8 + (12 + 13) + (12 + zlen) + 12;
    unsigned char *out = malloc(total);
    if (!out) {
        free(z);
        return NULL;
    }
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    size_t o = 8;
    unsigned char ihdr[13];
    put32(ihdr, W);
    put32(ihdr + 4, H);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type: truecolour RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    o += chunk(out + o, "IHDR", ihdr, sizeof ihdr);
    o += chunk(out + o, "IDAT", z, zlen);
    o += chunk(out + o, "IEND", NULL, 0);
    free(z);
    *png_len = o;
    return out;
}
