/* An incremental reader of batch submission answers (see batch_scan.h).
 *
 * One state machine over the bytes of the body, with a stack of open
 * containers. Three places are special: the top-level value must be an
 * object; its keys are decoded just enough to recognise "queries" (also
 * when written with escapes); and a value that begins directly inside the
 * "queries" array (depth 2) is an element: its bytes are handed out when
 * it ends, straight from the caller's feed when the element lies in one
 * feed, else from a buffer that holds only that element.
 *
 * An element may not exceed max_item bytes: the scan of each feed is
 * bounded so that the check falls on the same byte however the body is
 * split, which keeps the outcome independent of the split. */
#include "batch_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_VALUE,     /* a value is due */
    S_ARR_FIRST, /* after '[': a value or ']' */
    S_OBJ_FIRST, /* after '{': a key or '}' */
    S_KEY,       /* after ',' in an object: a key */
    S_COLON,
    S_AFTER,   /* after a value in a container: ',' or its close */
    S_TRAILER, /* after the top-level object: whitespace only */
    S_STR,
    S_STR_ESC,    /* after '\' */
    S_STR_HEX,    /* inside \uXXXX */
    S_STR_LOW_BS, /* a high surrogate wants '\' ... */
    S_STR_LOW_U,  /* ... 'u' and a low one */
    S_STR_UTF8,   /* continuation bytes of a UTF-8 sequence */
    S_NUM_MINUS,
    S_NUM_ZERO,
    S_NUM_INT,
    S_NUM_DOT,
    S_NUM_FRAC,
    S_NUM_E,
    S_NUM_ESIGN,
    S_NUM_EXP,
    S_LITERAL, /* the rest of true, false or null */
    S_FAILED
};

static const char queries_key[] = "queries";
#define QUERIES_LEN (sizeof queries_key - 1)
#define KEY_NOT_QUERIES ((size_t)-1)

struct pp_scan {
    pp_scan_item_fn fn;
    void *ud;
    size_t max_item;
    int state;
    unsigned depth;
    char stack[PP_SCAN_MAX_DEPTH]; /* '{' or '[' for each open container */

    /* inside a string */
    int str_is_key;
    int capture; /* a key of the top-level object */
    unsigned hex_left, hex_val;
    int want_low; /* the \u just read was a high surrogate */
    unsigned utf8_left;
    unsigned char utf8_lo, utf8_hi; /* range of the next continuation byte */
    const char *literal;

    /* the key being read, decoded; KEY_NOT_QUERIES once it cannot match */
    char key[QUERIES_LEN];
    size_t key_len;
    int queries_next; /* the value due is that of "queries" */
    int queries_seen;
    int in_queries; /* the array is open: depth 2 is its level */

    /* the element being read */
    int in_elem;
    const char *elem_start;         /* its first byte in the current feed */
    unsigned long long elem_offset; /* its first byte in the body */
    char *buf;                      /* its bytes from earlier feeds */
    size_t len, cap;

    size_t count;
    unsigned long long offset; /* bytes fed before the current feed */
    const char *chunk;         /* the current feed */
    int ended;
    char err[128];
};

pp_scan *pp_scan_new(pp_scan_item_fn fn, void *ud, size_t max_item)
{
    if (!fn)
        return NULL;
    pp_scan *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fn = fn;
    s->ud = ud;
    /* the size checks add one to it */
    s->max_item = max_item == 0             ? PP_SCAN_DEFAULT_MAX_ITEM
                  : max_item > SIZE_MAX / 2 ? SIZE_MAX / 2
                                            : max_item;
    s->state = S_VALUE;
    return s;
}

void pp_scan_free(pp_scan *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s);
}

size_t pp_scan_count(const pp_scan *s)
{
    return s ? s->count : 0;
}

size_t pp_scan_capacity(const pp_scan *s)
{
    return s ? s->cap : 0;
}

const char *pp_scan_error(const pp_scan *s)
{
    return s && s->state == S_FAILED ? s->err : NULL;
}

static int fail_at(pp_scan *s, unsigned long long offset, const char *msg)
{
    if (s->state != S_FAILED) {
        snprintf(s->err, sizeof s->err, "byte %llu: %s", offset, msg);
        s->state = S_FAILED;
    }
    return -1;
}

static int fail(pp_scan *s, const char *at, const char *msg)
{
    return fail_at(s, s->offset + (unsigned long long)(at - s->chunk), msg);
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Bytes a string may hold as they are, without a closer look. */
static int plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static int append(pp_scan *s, const char *at, const char *p, size_t n)
{
    if (n > s->cap - s->len) {
        size_t need = s->len + n; /* <= max_item + 1: no overflow */
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < need)
            cap *= 2;
        if (cap > s->max_item)
            cap = need > s->max_item ? need : s->max_item;
        char *b = realloc(s->buf, cap);
        if (!b)
            return fail(s, at, "out of memory");
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

/* The element ends just before end. */
static int emit(pp_scan *s, const char *end)
{
    size_t tail = (size_t)(end - s->elem_start);
    if (s->len + tail > s->max_item)
        return fail_at(s, s->elem_offset + s->max_item, "an element is larger than max_item");
    const char *text = s->elem_start;
    size_t n = tail;
    if (s->len) {
        if (append(s, end, s->elem_start, tail) < 0)
            return -1;
        text = s->buf;
        n = s->len;
    }
    s->in_elem = 0;
    s->len = 0;
    size_t index = s->count++;
    if (s->fn(s->ud, index, text, n) != 0)
        return fail(s, end, "stopped by the callback");
    return 0;
}

/* A value ended just before end. */
static int value_done(pp_scan *s, const char *end)
{
    if (s->depth == 0) {
        if (!s->queries_seen)
            return fail(s, end, "no \"queries\" key");
        s->state = S_TRAILER;
        return 0;
    }
    s->state = S_AFTER;
    if (s->in_elem && s->depth == 2)
        return emit(s, end);
    return 0;
}

static int open_container(pp_scan *s, const char *p, char kind)
{
    if (s->depth == PP_SCAN_MAX_DEPTH)
        return fail(s, p, "nested too deep");
    s->stack[s->depth++] = kind;
    s->state = kind == '{' ? S_OBJ_FIRST : S_ARR_FIRST;
    return 0;
}

static int close_container(pp_scan *s, const char *p, char kind)
{
    if (s->stack[s->depth - 1] != (kind == '}' ? '{' : '['))
        return fail(s, p, kind == '}' ? "'}' closes an array" : "']' closes an object");
    s->depth--;
    if (s->depth == 1 && s->in_queries)
        s->in_queries = 0;
    return value_done(s, p + 1);
}

static void start_string(pp_scan *s, int is_key)
{
    s->str_is_key = is_key;
    s->capture = is_key && s->depth == 1;
    s->key_len = 0;
    s->want_low = 0;
    s->state = S_STR;
}

/* One decoded character of the key; ch < 0: one that "queries" lacks. */
static void key_char(pp_scan *s, int ch)
{
    if (!s->capture || s->key_len == KEY_NOT_QUERIES)
        return;
    if (ch < 0 || s->key_len == QUERIES_LEN || ch != queries_key[s->key_len])
        s->key_len = KEY_NOT_QUERIES;
    else
        s->key[s->key_len++] = (char)ch;
}

static int string_done(pp_scan *s, const char *end)
{
    if (!s->str_is_key)
        return value_done(s, end);
    s->state = S_COLON;
    if (s->capture && s->key_len == QUERIES_LEN) {
        if (s->queries_seen)
            return fail(s, end - 1, "a second \"queries\" key");
        s->queries_next = 1;
    }
    return 0;
}

/* The first byte of a value, at p. */
static int begin_value(pp_scan *s, const char *p)
{
    unsigned char c = (unsigned char)*p;
    if (s->depth == 0 && c != '{')
        return fail(s, p, "the body is not a JSON object");
    if (s->queries_next && c != '[')
        return fail(s, p, "\"queries\" is not an array");
    if (s->in_queries && s->depth == 2) {
        s->in_elem = 1;
        s->elem_start = p;
        s->elem_offset = s->offset + (unsigned long long)(p - s->chunk);
    }
    switch (c) {
    case '{': return open_container(s, p, '{');
    case '[':
        if (s->queries_next) {
            s->queries_next = 0;
            s->queries_seen = 1;
            s->in_queries = 1;
        }
        return open_container(s, p, '[');
    case '"': start_string(s, 0); return 0;
    case 't':
    case 'f':
    case 'n':
        s->literal = c == 't' ? "rue" : c == 'f' ? "alse" : "ull";
        s->state = S_LITERAL;
        return 0;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            s->state = c == '-' ? S_NUM_MINUS : c == '0' ? S_NUM_ZERO : S_NUM_INT;
            return 0;
        }
        return fail(s, p, "a value was expected");
    }
}

static int utf8_lead(pp_scan *s, unsigned char c)
{
    s->utf8_lo = 0x80;
    s->utf8_hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        s->utf8_left = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        s->utf8_left = 2;
        if (c == 0xE0)
            s->utf8_lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            s->utf8_hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        s->utf8_left = 3;
        if (c == 0xF0)
            s->utf8_lo = 0x90;
        else if (c == 0xF4)
            s->utf8_hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return -1;
    }
    s->state = S_STR_UTF8;
    return 0;
}

static int escape(pp_scan *s, const char *p)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    unsigned char c = (unsigned char)*p;
    if (c == 'u') {
        s->hex_left = 4;
        s->hex_val = 0;
        s->state = S_STR_HEX;
        return 0;
    }
    const char *at = c ? strchr(from, c) : NULL;
    if (!at)
        return fail(s, p, "invalid escape in a string");
    key_char(s, (unsigned char)to[at - from]);
    s->state = S_STR;
    return 0;
}

static int hex(pp_scan *s, const char *p)
{
    int d = hex_digit((unsigned char)*p);
    if (d < 0)
        return fail(s, p, "invalid \\u escape");
    s->hex_val = s->hex_val * 16 + (unsigned)d;
    if (--s->hex_left)
        return 0;
    unsigned v = s->hex_val;
    int high = v >= 0xD800 && v <= 0xDBFF, low = v >= 0xDC00 && v <= 0xDFFF;
    if (s->want_low != low)
        return fail(s, p, "unpaired UTF-16 surrogate");
    s->want_low = high;
    if (high) {
        s->state = S_STR_LOW_BS;
        return 0;
    }
    key_char(s, v < 0x80 && !low ? (int)v : -1);
    s->state = S_STR;
    return 0;
}

/* The byte at p must be want, and leads to state next. */
static int expect(pp_scan *s, const char *p, char want, int next, const char *msg)
{
    if (*p != want)
        return fail(s, p, msg);
    s->state = next;
    return 0;
}

/* The state a number moves to on c: S_AFTER when c ends it (c is not part
 * of it), S_FAILED when the text is no number. */
static int number_next(int state, unsigned char c)
{
    int digit = c >= '0' && c <= '9', exp = c == 'e' || c == 'E';
    switch (state) {
    case S_NUM_MINUS: return c == '0' ? S_NUM_ZERO : digit ? S_NUM_INT : S_FAILED;
    case S_NUM_INT:
        if (digit)
            return S_NUM_INT;
        /* fall through */
    case S_NUM_ZERO: return c == '.' ? S_NUM_DOT : exp ? S_NUM_E : S_AFTER;
    case S_NUM_DOT: return digit ? S_NUM_FRAC : S_FAILED;
    case S_NUM_FRAC: return digit ? S_NUM_FRAC : exp ? S_NUM_E : S_AFTER;
    case S_NUM_E: return c == '+' || c == '-' ? S_NUM_ESIGN : digit ? S_NUM_EXP : S_FAILED;
    case S_NUM_ESIGN: return digit ? S_NUM_EXP : S_FAILED;
    default: /* S_NUM_EXP */ return digit ? S_NUM_EXP : S_AFTER;
    }
}

/* Scans [p, stop). Returns where it stopped: stop, the failing byte, or
 * just after an element began or ended, so that the caller can bound the
 * next stretch by max_item. */
static const char *run(pp_scan *s, const char *p, const char *stop)
{
    const int in_elem = s->in_elem;
    while (p < stop && s->in_elem == in_elem) {
        unsigned char c = (unsigned char)*p;
        int rc = 0;
        switch (s->state) {
        case S_STR:
            if (!s->capture) {
                while (p < stop && plain((unsigned char)*p))
                    p++;
                if (p == stop)
                    return p;
                c = (unsigned char)*p;
            }
            if (c == '"') {
                rc = string_done(s, p + 1);
            } else if (c == '\\') {
                s->state = S_STR_ESC;
            } else if (c < 0x20) {
                rc = fail(s, p, "a control character in a string");
            } else if (c >= 0x80) {
                key_char(s, -1);
                if (utf8_lead(s, c) < 0)
                    rc = fail(s, p, "invalid UTF-8");
            } else {
                key_char(s, c);
            }
            break;
        case S_STR_ESC: rc = escape(s, p); break;
        case S_STR_HEX: rc = hex(s, p); break;
        case S_STR_LOW_BS: rc = expect(s, p, '\\', S_STR_LOW_U, "unpaired UTF-16 surrogate"); break;
        case S_STR_LOW_U:
            rc = expect(s, p, 'u', S_STR_HEX, "unpaired UTF-16 surrogate");
            s->hex_left = 4;
            s->hex_val = 0;
            break;
        case S_STR_UTF8:
            if (c < s->utf8_lo || c > s->utf8_hi) {
                rc = fail(s, p, "invalid UTF-8");
            } else {
                s->utf8_lo = 0x80;
                s->utf8_hi = 0xBF;
                if (--s->utf8_left == 0)
                    s->state = S_STR;
            }
            break;
        case S_NUM_MINUS:
        case S_NUM_ZERO:
        case S_NUM_INT:
        case S_NUM_DOT:
        case S_NUM_FRAC:
        case S_NUM_E:
        case S_NUM_ESIGN:
        case S_NUM_EXP: {
            int next = number_next(s->state, c);
            if (next == S_FAILED) {
                rc = fail(s, p, "invalid number");
            } else if (next != S_AFTER) {
                s->state = next;
            } else {
                if (value_done(s, p) < 0)
                    return p;
                continue; /* p belongs to what follows */
            }
            break;
        }
        case S_LITERAL:
            if (c != (unsigned char)*s->literal)
                rc = fail(s, p, "invalid literal");
            else if (!*++s->literal)
                rc = value_done(s, p + 1);
            break;
        case S_FAILED: return p;
        default:
            /* between tokens */
            if (is_ws(c))
                break;
            switch (s->state) {
            case S_VALUE: rc = begin_value(s, p); break;
            case S_ARR_FIRST: rc = c == ']' ? close_container(s, p, ']') : begin_value(s, p); break;
            case S_OBJ_FIRST:
                if (c == '}')
                    rc = close_container(s, p, '}');
                else if (c == '"')
                    start_string(s, 1);
                else
                    rc = fail(s, p, "a key or '}' was expected");
                break;
            case S_KEY:
                if (c == '"')
                    start_string(s, 1);
                else
                    rc = fail(s, p, "a key was expected");
                break;
            case S_COLON: rc = expect(s, p, ':', S_VALUE, "':' was expected"); break;
            case S_AFTER:
                if (c == ',')
                    s->state = s->stack[s->depth - 1] == '{' ? S_KEY : S_VALUE;
                else if (c == '}' || c == ']')
                    rc = close_container(s, p, (char)c);
                else
                    rc = fail(s, p, "',' or a close was expected");
                break;
            default: /* S_TRAILER */ rc = fail(s, p, "data after the JSON object"); break;
            }
            break;
        }
        if (rc < 0)
            return p;
        p++;
    }
    return p;
}

int pp_scan_feed(pp_scan *s, const char *data, size_t len)
{
    if (!s || s->state == S_FAILED)
        return -1;
    s->chunk = data;
    if (s->ended)
        return fail(s, data, "fed after the end");
    if (len == 0)
        return 0;
    if (!data)
        return fail(s, data, "no data");
    const char *p = data, *end = data + len;
    if (s->in_elem)
        s->elem_start = data;
    while (p < end) {
        const char *stop = end;
        if (s->in_elem) {
            /* the element may take max_item bytes and one more: a number
             * ends only at the byte after it */
            size_t have = s->len + (size_t)(p - s->elem_start);
            size_t room = s->max_item + 1 - have;
            if (room < (size_t)(end - p))
                stop = p + room;
        }
        p = run(s, p, stop);
        if (s->state == S_FAILED)
            return -1;
        if (s->in_elem && s->len + (size_t)(p - s->elem_start) > s->max_item)
            return fail_at(s, s->elem_offset + s->max_item, "an element is larger than max_item");
    }
    if (s->in_elem && append(s, end, s->elem_start, (size_t)(end - s->elem_start)) < 0)
        return -1;
    s->offset += len;
    return 0;
}

int pp_scan_end(pp_scan *s)
{
    if (!s || s->state == S_FAILED)
        return -1;
    s->ended = 1;
    if (s->state == S_TRAILER)
        return 0;
    return fail_at(s, s->offset,
                   s->offset == 0 ? "empty body" : "the body ended early (truncated)");
}
