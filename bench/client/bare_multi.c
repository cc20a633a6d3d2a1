/* The physical limit of fetching results: GET /v1/queries/{id}/results for
 * every id of a list with curl multi, over at most N keep-alive connections,
 * each body written straight to OUT_DIR/<id>.json. No polling, no state, no
 * parsing: the jobs must have ended before it runs. Prints one JSON line.
 *
 *   bare_multi [--connections N] [--durable] BASE_URL USER:PASS IDS_FILE OUT_DIR
 *
 * --durable writes each body as the pushpull core does with results_dir: to
 * a temporary file in OUT_DIR, fsynced, then renamed to <id>.json.
 *
 * Built by bench/run.sh: cc -std=c99 ... $(pkg-config --cflags --libs libcurl)
 */
#define _POSIX_C_SOURCE 200809L

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One transfer in flight: its handle is reused for the next id, so that its
 * connection stays in the multi handle's pool. */
struct slot {
    CURL *easy;
    FILE *out;
    size_t id; /* index in the id list */
    char path[4096];
    char final_path[4096];
};

struct run {
    const char *base_url;
    const char *userpwd;
    const char *out_dir;
    int durable;
    char **ids;
    size_t nids;
    size_t next; /* next id to start */
    long requests, fetched, failed;
    long opened; /* connections opened, to check that they were kept alive */
    double bytes;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads one id a line; returns the count, or -1 (message printed). */
static long read_ids(const char *path, char ***out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t n = 0, cap = 0;
    char **ids = NULL;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            char **grown = realloc(ids, ncap * sizeof *ids);
            if (!grown)
                goto oom;
            ids = grown;
            cap = ncap;
        }
        if (!(ids[n] = strdup(line)))
            goto oom;
        n++;
    }
    free(line);
    fclose(f);
    *out = ids;
    return (long)n;
oom:
    fprintf(stderr, "out of memory reading %s\n", path);
    free(line);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return -1;
}

/* Starts the next id on slot s; 1 when started, 0 when none is left, -1 on
 * error. */
static int start(struct run *r, CURLM *multi, struct slot *s)
{
    if (r->next >= r->nids)
        return 0;
    s->id = r->next++;
    const char *id = r->ids[s->id];
    char url[4096];
    int n = snprintf(url, sizeof url, "%s/v1/queries/%s/results", r->base_url, id);
    int p = snprintf(s->final_path, sizeof s->final_path, "%s/%s.json", r->out_dir, id);
    int q = snprintf(s->path, sizeof s->path, r->durable ? "%s/.%s.part" : "%s/%s.json", r->out_dir,
                     id);
    if (n < 0 || (size_t)n >= sizeof url || p < 0 || (size_t)p >= sizeof s->final_path || q < 0 ||
        (size_t)q >= sizeof s->path) {
        fprintf(stderr, "id too long: %s\n", id);
        return -1;
    }
    if (!(s->out = fopen(s->path, "wb"))) {
        perror(s->path);
        return -1;
    }
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s->out);
    if (curl_multi_add_handle(multi, s->easy) != CURLM_OK) {
        fprintf(stderr, "curl_multi_add_handle failed\n");
        return -1;
    }
    r->requests++;
    return 1;
}

/* Closes the file of a finished transfer; 0, or -1 on a write error. */
static int finish(struct run *r, struct slot *s, CURLcode rc)
{
    long status = 0;
    curl_off_t size = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    long opened = 0;
    curl_easy_getinfo(s->easy, CURLINFO_SIZE_DOWNLOAD_T, &size);
    curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &opened);
    r->opened += opened;
    int ok = rc == CURLE_OK && status == 200;
    int io = fflush(s->out) == 0 && (!r->durable || fsync(fileno(s->out)) == 0);
    io = (fclose(s->out) == 0) && io;
    s->out = NULL;
    if (io && ok && r->durable)
        io = rename(s->path, s->final_path) == 0;
    if (!io) {
        perror(s->path);
        return -1;
    }
    if (ok) {
        r->fetched++;
        r->bytes += (double)size;
    } else {
        r->failed++;
        fprintf(stderr, "%s: %s, HTTP %ld\n", r->ids[s->id], curl_easy_strerror(rc), status);
    }
    return 0;
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: bare_multi [--connections N] [--durable] BASE_URL USER:PASS IDS_FILE OUT_DIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof r);
    long conns = 16;
    int a = 1;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--durable") == 0)
            r.durable = 1;
        else if (strcmp(argv[a], "--connections") == 0 && a + 1 < argc)
            conns = strtol(argv[++a], NULL, 10);
        else
            return usage();
    }
    if (argc - a != 4 || conns < 1 || conns > 1024)
        return usage();
    r.base_url = argv[a];
    r.userpwd = argv[a + 1];
    r.out_dir = argv[a + 3];
    long nids = read_ids(argv[a + 2], &r.ids);
    if (nids < 0)
        return 1;
    r.nids = (size_t)nids;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    CURLM *multi = curl_multi_init();
    struct slot *slots = calloc((size_t)conns, sizeof *slots);
    if (!multi || !slots) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conns);

    int status = 0;
    double t0 = now_s();
    for (long i = 0; i < conns; i++) {
        struct slot *s = &slots[i];
        if (!(s->easy = curl_easy_init())) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        curl_easy_setopt(s->easy, CURLOPT_USERPWD, r.userpwd);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        if (start(&r, multi, s) < 0) {
            status = 1;
            goto done;
        }
    }
    int running = 1;
    while (running) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            fprintf(stderr, "curl_multi_perform failed\n");
            status = 1;
            goto done;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            CURLcode rc = msg->data.result;
            curl_multi_remove_handle(multi, s->easy);
            int started = finish(&r, s, rc) == 0 ? start(&r, multi, s) : -1;
            if (started < 0) {
                status = 1;
                goto done;
            }
            running |= started;
        }
        if (running && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) {
            fprintf(stderr, "curl_multi_poll failed\n");
            status = 1;
            goto done;
        }
    }
    double wall = now_s() - t0;
    printf(
        "{\"jobs\": %zu, \"fetched\": %ld, \"failed\": %ld, \"wall_s\": %.4f, \"requests\": %ld, "
        "\"requests_per_job\": %.4f, \"bytes\": %.0f, \"max_connections\": %ld, "
        "\"connections_opened\": %ld, "
        "\"durable\": %s}\n",
        r.nids, r.fetched, r.failed, wall, r.requests,
        r.nids ? (double)r.requests / (double)r.nids : 0.0, r.bytes, conns, r.opened,
        r.durable ? "true" : "false");
    status = r.failed ? 1 : 0;
done:
    for (long i = 0; i < conns; i++) {
        if (slots[i].easy) {
            curl_multi_remove_handle(multi, slots[i].easy);
            curl_easy_cleanup(slots[i].easy);
        }
        if (slots[i].out)
            fclose(slots[i].out);
    }
    free(slots);
    curl_multi_cleanup(multi);
    for (size_t i = 0; i < r.nids; i++)
        free(r.ids[i]);
    free(r.ids);
    curl_global_cleanup();
    return status;
}
