/* The buffer's contract (growth, exact reserve, the sticky failure, take,
 * move), the JSON helpers and the {"message": ...} body. realloc is wrapped
 * so that a test can make it fail. */
#include "pc_buf.h"
#include "pc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_realloc;

void *__wrap_realloc(void *p, size_t n)
{
    return fail_realloc ? NULL : __real_realloc(p, n);
}

static void test_append(void)
{
    pc_buf b = PC_BUF_INIT;
    CHECK(pc_buf_append(&b, "", 0) == 0 && b.data && b.data[0] == '\0' && b.len == 0);
    for (int i = 0; i < 1000; i++)
        CHECK(pc_buf_append(&b, "abc", 3) == 0);
    CHECK(b.len == 3000 && b.cap > b.len && b.data[3000] == '\0');
    CHECK(memcmp(b.data + 2997, "abc", 3) == 0);
    CHECK(pc_buf_appendf(&b, "%d-%s", 42, "x") == 0 && strcmp(b.data + 3000, "42-x") == 0);
    char big[2000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    size_t before = b.len;
    CHECK(pc_buf_appendf(&b, "<%s>", big) == 0 && b.len == before + 2001);
    CHECK(b.data[b.len - 1] == '>' && b.data[b.len] == '\0');
    pc_buf_reset(&b);
    CHECK(b.len == 0 && b.data[0] == '\0' && b.cap > 0);
    CHECK(pc_buf_appends(&b, "again") == 0 && strcmp(b.data, "again") == 0);
    pc_buf_free(&b);
    CHECK(!b.data && b.len == 0 && b.cap == 0);
}

static void test_reserve(void)
{
    pc_buf b = PC_BUF_INIT;
    CHECK(pc_buf_reserve(&b, 10000) == 0 && b.cap == 10001 && b.data[0] == '\0');
    char *kept = b.data;
    for (int i = 0; i < 100; i++)
        pc_buf_append(&b, "0123456789", 10);
    CHECK(b.data == kept && b.len == 1000);
    CHECK(pc_buf_reserve(&b, (size_t)-1) == -1 && b.failed);
    pc_buf_free(&b);
}

static void test_failure(void)
{
    pc_buf b = PC_BUF_INIT;
    pc_buf_appends(&b, "kept");
    fail_realloc = 1;
    char big[600];
    memset(big, 'y', sizeof big);
    CHECK(pc_buf_append(&b, big, sizeof big) == -1);
    CHECK(b.failed && b.len == 4 && strcmp(b.data, "kept") == 0);
    CHECK(pc_buf_appendf(&b, "%.*s", 599, big) == -1 && strcmp(b.data, "kept") == 0);
    fail_realloc = 0;
    CHECK(pc_buf_appends(&b, "!") == 0 && b.failed);
    size_t len = 1;
    CHECK(pc_buf_take(&b, &len) == NULL && !b.data && !b.failed);
    pc_buf_appends(&b, "x");
    fail_realloc = 1;
    pc_buf_append(&b, big, sizeof big);
    fail_realloc = 0;
    pc_buf_reset(&b);
    CHECK(!b.failed);
    pc_buf_free(&b);
}

static void test_take_move(void)
{
    pc_buf b = PC_BUF_INIT, d = PC_BUF_INIT;
    size_t len = 9;
    char *s = pc_buf_take(&b, &len);
    CHECK(s && s[0] == '\0' && len == 0);
    free(s);
    pc_buf_appends(&b, "moved");
    pc_buf_appends(&d, "old");
    pc_buf_move(&d, &b);
    CHECK(strcmp(d.data, "moved") == 0 && !b.data && b.len == 0);
    s = pc_buf_take(&d, &len);
    CHECK(s && strcmp(s, "moved") == 0 && len == 5 && !d.data);
    free(s);
}

static void test_json(void)
{
    json_t *o = json_object();
    CHECK(pc_json_set(o, "a", json_string("x")) == 0);
    CHECK(pc_json_set(o, "b", NULL) == -1);
    CHECK(pc_json_set(o, "n", json_integer(5)) == 0);
    CHECK(strcmp(pc_json_str(o, "a"), "x") == 0);
    CHECK(pc_json_str(o, "n") == NULL && pc_json_str(o, "zz") == NULL);
    CHECK(pc_json_str(json_array_get(o, 0), "a") == NULL);
    size_t len;
    char *text = pc_json_dump(o, &len);
    CHECK(text && strcmp(text, "{\"a\":\"x\",\"n\":5}") == 0 && len == strlen(text));
    free(text);
    json_decref(o);
    CHECK(pc_json_dump(NULL, &len) == NULL);

    json_t *s = pc_json_bytes("ok\xff\xc3\xa9", 5);
    CHECK(s && strcmp(json_string_value(s), "ok\xEF\xBF\xBD\xc3\xa9") == 0);
    json_decref(s);
    pc_buf b = PC_BUF_INIT;
    pc_buf_appends(&b, "from a buffer");
    s = pc_json_take_buf(&b);
    CHECK(s && strcmp(json_string_value(s), "from a buffer") == 0 && !b.data);
    json_decref(s);

    text = pc_json_message(&len, "no \"%s\" job", "such");
    CHECK(text && strcmp(text, "{\"message\":\"no \\\"such\\\" job\"}") == 0);
    free(text);
    text = pc_json_message(NULL, "bad %s byte", "\xff");
    CHECK(text && strcmp(text, "{\"message\":\"invalid request\"}") == 0);
    free(text);
}

int main(void)
{
    test_append();
    test_reserve();
    test_failure();
    test_take_move();
    test_json();
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
