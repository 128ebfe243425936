// SPDX-License-Identifier: Apache-2.0
/*
 * cursor.c - the delivery cursor (cursor.h): in-flight counts per scan, the
 * cursor file, and at a restart the ids of the alerts already printed since
 * the cursor, read back from the varlog and audit logs.
 *
 * Workload assumed: one cursor write per second; at a restart, the log
 * written since the last cursor (seconds of alerts) is read once. Counts
 * live in SLOTS slots by scan % SLOTS: when the pipeline lags SLOTS scans
 * behind, scans share a slot and the cursor waits for both (late, never
 * wrong).
 */
#include "daemon/cursor.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define SLOTS     64
#define POSITIONS 1024
#define LOGS      2 /* varlog, audit */
#define LINE_CAP  (4u << 20)

struct pos {
    uint64_t ino;
    uint64_t off;
};

struct scan_pos {
    uint32_t gen; /* 0: empty */
    struct pos p[LOGS];
};

struct mz_cursor {
    char path[PATH_MAX];
    char logs[LOGS][PATH_MAX]; /* "" when that log is off */
    uint32_t keep;             /* varlog rotations kept */
    uint8_t instance[16];
    bool pinned;

    _Atomic int64_t inflight[SLOTS];
    _Atomic uint32_t scanned; /* every observation of scans <= this handed over */

    pthread_mutex_t mu; /* guards positions */
    struct scan_pos positions[POSITIONS];

    /* main thread */
    uint32_t done, saved;
    bool saved_once;
    struct pos base[LOGS]; /* positions the cursor 'done' stands for when no scan of ours did */
    uint32_t resumed_from;

    /* ids of alerts printed before the restart; read-only once running */
    uint8_t (*ids)[16];
    size_t ids_cap, ids_n;
    _Atomic uint64_t duplicates;
};

/* ---- the id set ---------------------------------------------------------------- */

static size_t id_slot(const uint8_t id[16], size_t cap)
{
    uint64_t h;
    memcpy(&h, id, 8);
    return (size_t)(h * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

static bool id_empty(const uint8_t id[16])
{
    static const uint8_t zero[16];
    return memcmp(id, zero, 16) == 0;
}

static void id_put(struct mz_cursor *c, const uint8_t id[16])
{
    if (id_empty(id))
        return;
    if ((c->ids_n + 1) * 2 > c->ids_cap) {
        uint8_t(*old)[16] = c->ids;
        size_t old_cap = c->ids_cap;
        c->ids_cap = old_cap ? old_cap * 2 : 1024;
        c->ids = mz_calloc(c->ids_cap, 16);
        c->ids_n = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (!id_empty(old[i]))
                id_put(c, old[i]);
        free(old);
    }
    for (size_t i = id_slot(id, c->ids_cap);; i = (i + 1) & (c->ids_cap - 1)) {
        if (memcmp(c->ids[i], id, 16) == 0)
            return;
        if (id_empty(c->ids[i])) {
            memcpy(c->ids[i], id, 16);
            c->ids_n++;
            return;
        }
    }
}

static bool id_has(const struct mz_cursor *c, const uint8_t id[16])
{
    if (!c->ids_n)
        return false;
    for (size_t i = id_slot(id, c->ids_cap);; i = (i + 1) & (c->ids_cap - 1)) {
        if (memcmp(c->ids[i], id, 16) == 0)
            return true;
        if (id_empty(c->ids[i]))
            return false;
    }
}

static int unhex(const char *s, uint8_t out[16])
{
    for (int i = 0; i < 32; i++) {
        int v;
        char ch = s[i];
        if (ch >= '0' && ch <= '9')
            v = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            v = ch - 'a' + 10;
        else
            return -EINVAL;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 0;
}

/* ---- logs ---------------------------------------------------------------------- */

static struct pos pos_of(const char *path)
{
    struct pos p = {0, 0};
    struct stat st;
    if (path[0] && stat(path, &st) == 0) {
        p.ino = (uint64_t)st.st_ino;
        p.off = (uint64_t)st.st_size;
    }
    return p;
}

/* Adds the id of every whole line of path from off on. */
static size_t read_ids(struct mz_cursor *c, const char *path, uint64_t off)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = 0;
    if (off && fseeko(f, (off_t)off, SEEK_SET) != 0) {
        fclose(f);
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if ((size_t)len > LINE_CAP || line[len - 1] != '\n')
            continue;
        /* the id is the first field of every printed alert */
        const char *p = strstr(line, "\"id\":\"");
        uint8_t id[16];
        if (p && p - line < 16 && (size_t)(p - line) + 6 + 32 <= (size_t)len &&
            unhex(p + 6, id) == 0) {
            id_put(c, id);
            n++;
        }
    }
    free(line);
    fclose(f);
    return n;
}

/* The varlog and its rotations, newest first: path, path.1, ... path.keep;
 * the audit log is never rotated. Reads every file newer than the one that
 * holds p.ino, and that one from p.off on; all of them when none does. */
static size_t read_log_since(struct mz_cursor *c, int log, struct pos p)
{
    char files[64][PATH_MAX + 16];
    uint32_t nf = 0;
    uint32_t rot = log == 0 ? (c->keep < 63 ? c->keep : 63) : 0;
    for (uint32_t i = 0; i <= rot; i++) {
        if (i == 0)
            snprintf(files[nf], sizeof(files[nf]), "%s", c->logs[log]);
        else
            snprintf(files[nf], sizeof(files[nf]), "%s.%u", c->logs[log], i);
        nf++;
    }
    int32_t at = -1;
    for (uint32_t i = 0; i < nf && p.ino; i++) {
        struct stat st;
        if (stat(files[i], &st) == 0 && (uint64_t)st.st_ino == p.ino) {
            at = (int32_t)i;
            break;
        }
    }
    size_t n = 0;
    int32_t oldest = at >= 0 ? at : (int32_t)nf - 1;
    for (int32_t i = oldest; i >= 0; i--)
        n += read_ids(c, files[i], i == at ? p.off : 0);
    return n;
}

/* ---- the cursor file ------------------------------------------------------------ */

static int cursor_path(const struct mz_config *cfg, char *out, size_t len)
{
    char dir[PATH_MAX];
    int err = mz_config_state_dir(cfg, dir, sizeof(dir));
    if (err < 0)
        return err;
    if ((size_t)snprintf(out, len, "%s/cursor.json", strcmp(dir, "/") == 0 ? "" : dir) >= len)
        return -ENAMETOOLONG;
    return 0;
}

struct mz_cursor *mz_cursor_new(const struct mz_config *cfg, const uint8_t instance[16])
{
    char path[PATH_MAX];
    if (cursor_path(cfg, path, sizeof(path)) < 0)
        return NULL;
    struct mz_cursor *c = mz_calloc(1, sizeof(*c));
    (void)mz_strlcpy(c->path, path, sizeof(c->path));
    memcpy(c->instance, instance, 16);
    static const uint8_t zero[16];
    c->pinned = memcmp(instance, zero, 16) != 0;
    if (cfg->printers.varlog.enabled && cfg->printers.varlog.path) {
        (void)mz_strlcpy(c->logs[0], cfg->printers.varlog.path, sizeof(c->logs[0]));
        char dir[PATH_MAX];
        (void)mz_strlcpy(dir, cfg->printers.varlog.path, sizeof(dir));
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof(dir), ".");
        /* printers/output.c puts the audit log there */
        if ((size_t)snprintf(c->logs[1], sizeof(c->logs[1]), "%s/audit.log", dir) >=
            sizeof(c->logs[1]))
            c->logs[1][0] = 0;
        c->keep = cfg->printers.varlog.keep;
    }
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < LOGS; i++)
        c->base[i] = pos_of(c->logs[i]);
    return c;
}

static int parse_u64(const cJSON *o, const char *name, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0)
        return -EINVAL;
    *out = (uint64_t)v->valuedouble;
    return 0;
}

/* Reads the cursor file: 0 and fills gen and positions when it is this
 * instance's. */
static int load_file(struct mz_cursor *c, uint32_t *gen, struct pos pos[LOGS])
{
    char *data = NULL;
    size_t len = 0;
    int err = mz_read_file(c->path, 64 * 1024, &data, &len);
    if (err)
        return err;
    cJSON *j = cJSON_ParseWithLength(data, len);
    free(data);
    err = -EINVAL;
    char hex[33];
    mz_hex(c->instance, 16, hex);
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(j, "instance");
    const cJSON *logs = cJSON_GetObjectItemCaseSensitive(j, "logs");
    uint64_t g;
    if (!cJSON_IsString(inst) || strcmp(inst->valuestring, hex) != 0) {
        err = -ESTALE;
        goto out;
    }
    if (parse_u64(j, "gen", &g) || g > UINT32_MAX || !cJSON_IsArray(logs))
        goto out;
    for (int i = 0; i < LOGS; i++) {
        const cJSON *l = cJSON_GetArrayItem(logs, i);
        const cJSON *lp = cJSON_GetObjectItemCaseSensitive(l, "path");
        pos[i] = (struct pos){0, 0};
        /* a log moved elsewhere in the config: read it whole */
        if (!cJSON_IsString(lp) || strcmp(lp->valuestring, c->logs[i]) != 0)
            continue;
        if (parse_u64(l, "ino", &pos[i].ino) || parse_u64(l, "off", &pos[i].off))
            goto out;
    }
    *gen = (uint32_t)g;
    err = 0;
out:
    cJSON_Delete(j);
    return err;
}

int mz_cursor_restore(struct mz_cursor *c, bool adopted, uint32_t *from_gen)
{
    *from_gen = 0;
    if (!adopted || !c->pinned)
        return 0; /* fresh maps: nothing of theirs was printed */
    uint32_t gen = 0;
    struct pos pos[LOGS];
    int err = load_file(c, &gen, pos);
    if (err) {
        /* The last daemon died before its first cursor (or it was removed):
         * everything in the maps again, against the whole logs. */
        log_warn("cursor: %s: %s: delivering every record in the adopted maps again", c->path,
                 err == -ESTALE ? "made for other maps" : strerror(-err));
        gen = 0;
        memset(pos, 0, sizeof(pos));
    }
    size_t n = 0;
    for (int i = 0; i < LOGS; i++)
        if (c->logs[i][0])
            n += read_log_since(c, i, pos[i]);
    c->done = c->saved = gen;
    memcpy(c->base, pos, sizeof(c->base));
    atomic_store(&c->scanned, gen);
    c->resumed_from = gen;
    *from_gen = gen;
    log_info("cursor: resuming from generation %u; %zu alerts printed since then will not be "
             "printed again",
             gen, n);
    return 1;
}

void mz_cursor_scan_start(struct mz_cursor *c, uint32_t gen)
{
    if (!c || !gen)
        return;
    struct scan_pos *s = &c->positions[gen % POSITIONS];
    pthread_mutex_lock(&c->mu);
    if (s->gen != gen) { /* the first attempt of that scan: the earliest position */
        s->gen = gen;
        for (int i = 0; i < LOGS; i++)
            s->p[i] = pos_of(c->logs[i]);
    }
    pthread_mutex_unlock(&c->mu);
}

void mz_cursor_scanned(struct mz_cursor *c, uint32_t gen)
{
    if (c)
        atomic_store(&c->scanned, gen);
}

void mz_cursor_add(struct mz_cursor *c, uint32_t scan, int64_t n)
{
    if (c)
        atomic_fetch_add(&c->inflight[scan % SLOTS], n);
}

bool mz_cursor_printed(struct mz_cursor *c, const char id[33])
{
    uint8_t b[16];
    if (!c || !c->ids_n || unhex(id, b) < 0 || !id_has(c, b))
        return false;
    atomic_fetch_add(&c->duplicates, 1);
    return true;
}

int mz_cursor_save(struct mz_cursor *c)
{
    if (!c)
        return 0;
    uint32_t sc = atomic_load(&c->scanned);
    while (c->done < sc && atomic_load(&c->inflight[(c->done + 1) % SLOTS]) == 0)
        c->done++;
    if (!c->pinned)
        return 0; /* counted (col_ack), but no later daemon can resume */
    if (c->saved_once && c->done == c->saved)
        return 0;
    struct pos pos[LOGS];
    pthread_mutex_lock(&c->mu);
    const struct scan_pos *s = &c->positions[c->done % POSITIONS];
    /* a scan of ours began at done: its positions; else the cursor is the
     * restored one (or 0) and so are its positions */
    memcpy(pos, s->gen == c->done && c->done ? s->p : c->base, sizeof(pos));
    pthread_mutex_unlock(&c->mu);

    cJSON *j = cJSON_CreateObject();
    char hex[33];
    mz_hex(c->instance, 16, hex);
    cJSON_AddStringToObject(j, "instance", hex);
    cJSON_AddNumberToObject(j, "gen", c->done);
    cJSON *logs = cJSON_AddArrayToObject(j, "logs");
    for (int i = 0; logs && i < LOGS; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "path", c->logs[i]);
        cJSON_AddNumberToObject(l, "ino", (double)pos[i].ino);
        cJSON_AddNumberToObject(l, "off", (double)pos[i].off);
        cJSON_AddItemToArray(logs, l);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return -ENOMEM;
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
    int err = 0;
    FILE *f = fopen(tmp, "we");
    if (!f) {
        err = -errno;
    } else {
        bool ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, c->path) < 0)
            err = -errno;
    }
    free(text);
    if (err) {
        log_debug("cursor: cannot write %s: %s", c->path, strerror(-err));
        return err;
    }
    c->saved = c->done;
    c->saved_once = true;
    return 0;
}

uint32_t mz_cursor_gen(const struct mz_cursor *c)
{
    return c->done;
}

cJSON *mz_cursor_stats_json(const struct mz_cursor *c)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !c)
        return j;
    cJSON_AddNumberToObject(j, "gen", c->saved);
    cJSON_AddNumberToObject(j, "resumed_from", c->resumed_from);
    cJSON_AddNumberToObject(j, "restored_ids", (double)c->ids_n);
    cJSON_AddNumberToObject(j, "duplicates_skipped", (double)atomic_load(&c->duplicates));
    return j;
}

void mz_cursor_free(struct mz_cursor *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->ids);
    free(c);
}

int mz_cursor_remove(const struct mz_config *cfg)
{
    char path[PATH_MAX];
    if (cursor_path(cfg, path, sizeof(path)) < 0)
        return 0;
    if (unlink(path) < 0)
        return errno == ENOENT ? 0 : -errno;
    return 0;
}
