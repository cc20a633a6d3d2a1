/* Redis Cluster's routing, without I/O: which of the 16384 slots a key
 * hashes to, what a -MOVED / -ASK reply says, and which node serves each
 * slot as far as the redirections seen so far tell.
 *
 * The slot is CRC16 (XMODEM: polynomial 0x1021, initial value 0, no
 * reflection) of the key's hash tag modulo 16384. The hash tag is what
 * lies between the first '{' and the first '}' after it, when that is not
 * empty; otherwise the whole key. The store puts every key of a workflow
 * tag under "{<tag>}" so that each script stays in one slot. */
#include "redis.h"

#include <stdlib.h>
#include <string.h>

/* Bit by bit: a key is short, and a table would be 512 bytes of constants
 * to get right by hand. */
static unsigned crc16(const unsigned char *p, size_t n)
{
    unsigned crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)p[i] << 8;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000u) ? ((crc << 1) ^ 0x1021u) & 0xffffu : (crc << 1) & 0xffffu;
    }
    return crc;
}

unsigned pp_redis_key_slot(const char *key, size_t len)
{
    const unsigned char *k = (const unsigned char *)key;
    const unsigned char *open = memchr(k, '{', len);
    if (open) {
        size_t from = (size_t)(open - k) + 1;
        const unsigned char *close = memchr(k + from, '}', len - from);
        if (close && close > k + from)
            return crc16(k + from, (size_t)(close - (k + from))) & (PP_REDIS_SLOTS - 1);
    }
    return crc16(k, len) & (PP_REDIS_SLOTS - 1);
}

int pp_redis_redirect_parse(const char *err, int *ask, unsigned *slot, char *host, size_t hostlen,
                            int *port)
{
    if (!err || !host || !hostlen)
        return -1;
    const char *p;
    if (!strncmp(err, "MOVED ", 6)) {
        *ask = 0;
        p = err + 6;
    } else if (!strncmp(err, "ASK ", 4)) {
        *ask = 1;
        p = err + 4;
    } else {
        return -1;
    }
    char *end;
    unsigned long s = strtoul(p, &end, 10);
    if (end == p || *end != ' ' || s >= PP_REDIS_SLOTS)
        return -1;
    const char *ep = end + 1;
    /* host:port, the host maybe an IPv6 address (the last ':' splits) or
     * empty (the node that answered, for a server that knows no name) */
    const char *colon = strrchr(ep, ':');
    if (!colon)
        return -1;
    long pt = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || (*end && *end != ' ') || pt <= 0 || pt > 65535)
        return -1;
    size_t hl = (size_t)(colon - ep);
    if (hl >= hostlen)
        return -1;
    memcpy(host, ep, hl);
    host[hl] = 0;
    *slot = (unsigned)s;
    *port = (int)pt;
    return 0;
}

/* ---- the slot map */

void pp_redis_slots_init(pp_redis_slots *m)
{
    memset(m, 0, sizeof *m);
    m->node = NULL;
}

void pp_redis_slots_free(pp_redis_slots *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->nodes[i].host);
    free(m->nodes);
    free(m->node);
    memset(m, 0, sizeof *m);
}

int pp_redis_slots_find(const pp_redis_slots *m, const char *host, int port)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->nodes[i].port == port && !strcmp(m->nodes[i].host, host))
            return (int)i;
    return -1;
}

int pp_redis_slots_add(pp_redis_slots *m, const char *host, int port)
{
    int at = pp_redis_slots_find(m, host, port);
    if (at >= 0)
        return at;
    if (m->n >= PP_REDIS_MAX_NODES)
        return -1;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4;
        pp_redis_node_addr *nodes = realloc(m->nodes, cap * sizeof *nodes);
        if (!nodes)
            return -1;
        m->nodes = nodes;
        m->cap = cap;
    }
    char *h = strdup(host);
    if (!h)
        return -1;
    m->nodes[m->n].host = h;
    m->nodes[m->n].port = port;
    return (int)m->n++;
}

int pp_redis_slots_node(const pp_redis_slots *m, unsigned slot)
{
    if (!m->node || slot >= PP_REDIS_SLOTS)
        return -1;
    return (int)m->node[slot] - 1;
}

void pp_redis_slots_forget(pp_redis_slots *m, int node)
{
    for (size_t s = 0; m->node && s < PP_REDIS_SLOTS; s++)
        if (m->node[s] == node + 1)
            m->node[s] = 0;
}

int pp_redis_slots_set(pp_redis_slots *m, unsigned slot, int node)
{
    if (slot >= PP_REDIS_SLOTS || node < 0 || (size_t)node >= m->n)
        return -1;
    if (!m->node && !(m->node = calloc(PP_REDIS_SLOTS, sizeof *m->node)))
        return -1;
    m->node[slot] = (unsigned short)(node + 1);
    return 0;
}
