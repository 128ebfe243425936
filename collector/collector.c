// SPDX-License-Identifier: Apache-2.0
/*
 * collector.c - loads the collector's BPF object, scans its maps by
 * generation, measures loss, joins records into observations.
 *
 * A scan s (s = 1, 2, ...) first sets the kernel's cur_gen to s, then walks
 * each counted map with bpf_map_lookup_batch. Every record carries gen (the
 * generation of its last change) and created_gen. The scan delivers records
 * with gen >= s-1, minus those it already delivered unchanged at scan s-1
 * (the "ahead" set: records it read while they were being changed during its
 * own walk). No record is starved by constant updates, none is delivered
 * twice unchanged.
 *
 * Nothing is evicted: the maps are plain hash maps (bpf/README.md, "No
 * silent eviction"). The collector deletes what it delivered once the
 * delivery is acknowledged (delivery_acked) and the record can no longer
 * change (execs; links, flows and events of exited processes), or, past
 * three quarters full, what it delivered and has not changed since (a
 * later change makes a new record). Deletes use lookup-and-delete: a change that landed
 * between the walk and the delete is delivered, not lost. Tasks, paths and
 * command lines are deleted when no record the collector still holds or
 * will deliver refers to them (mark and sweep, once per scan). A record a
 * full map could not take is in the overflow ring, drained between scans
 * (col_due) and at each scan, and delivered like the others.
 *
 * Counting: the kernel counts per map the records it made (in the map, in
 * the ring, or lost because both were full) and the unreadable ones; the
 * collector counts deliveries and join misses. A record created in
 * generation g is first seen at scan g or g+1: comparing the creations of
 * generation s-1 with what scan s saw of them checks that no record left a
 * map unseen ("unaccounted", 0 by construction).
 *
 * Workload assumed: up to the configured map sizes per scan; memory is the
 * task table (rebuilt each scan), bounded caches, the reference sets of the
 * sweep, and the pending records of a scan the downstream queue could not
 * take yet (records drained from the ring: at most RING_PEND_MAX).
 */
#include "collector/collector.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/definitions/syscall_list.h"
#include "bpf/mizan_maps.h"
#include "collector/col_enrich.h"
#include "collector/col_interest.h"
#include "collector/col_journal.h"
#include "collector/col_mntns.h"
#include "collector/col_pin.h"
#include "core/log.h"
#include "core/util.h"
#include "mizan.skel.h"

#define BATCH          2048
#define GC_BATCH       256
#define VAL_MAX        128 /* the largest counted record value */
#define STR_WAYS       4
#define RING_PEND_MAX  131072 /* records drained from the ring, not yet delivered */
#define RING_DUE       1024   /* that many waiting start a scan early */
#define RING_STR_MAX   65536  /* strings from the ring kept when their map was full */
#define RING_DRAIN_MAX 65536  /* records one drain takes at most */
#define STR_GC_EVERY   8      /* scans between sweeps of a string map under a quarter full */
#define NAMES_GC_EVERY 64     /* scans between sweeps of dns_names */
#define DOMAIN_TTL_NS  (600ull * 1000000000ull) /* domains older than this go when half full */
#define LOSS_LOG_NS    (5ull * 1000000000ull)   /* at most one loss warning per map per 5 s */

enum col_kind {
    COL_RECORDS = 0, /* execs, links, flows, events: delivered as observations */
    COL_TASKS = 1,   /* joined, deleted when nothing refers to them */
    COL_STRINGS = 2, /* files, args (both tiers): joined, swept */
    COL_DOMAINS = 3, /* ip -> domain: joined, aged out */
};

_Static_assert(sizeof(struct mz_event_val) <= VAL_MAX, "VAL_MAX");
_Static_assert(sizeof(struct mz_task_val) <= VAL_MAX, "VAL_MAX");

/* ---- small tables ------------------------------------------------------------ */

/* "ahead" set: records delivered with gen == s during scan s. */
struct ahead_entry {
    uint8_t used;
    uint8_t counted; /* its creation was counted as seen at that scan */
    uint8_t key[16];
    uint64_t first;
    uint64_t fp;
};

struct ahead {
    struct ahead_entry *e;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t key_hash(const uint8_t key[16])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    return (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
}

static struct ahead_entry *ahead_find(const struct ahead *a, const uint8_t key[16])
{
    if (!a->n)
        return NULL;
    size_t mask = a->cap - 1;
    for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
        struct ahead_entry *e = &a->e[i];
        if (!e->used)
            return NULL;
        if (memcmp(e->key, key, 16) == 0)
            return e;
    }
}

static void ahead_put(struct ahead *a, const uint8_t key[16], uint64_t first, uint64_t fp,
                      bool counted)
{
    if ((a->n + 1) * 2 > a->cap) {
        struct ahead old = *a;
        a->cap = old.cap ? old.cap * 2 : 1024;
        a->e = mz_calloc(a->cap, sizeof(*a->e));
        a->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.e[i].used)
                ahead_put(a, old.e[i].key, old.e[i].first, old.e[i].fp, old.e[i].counted);
        free(old.e);
    }
    size_t mask = a->cap - 1;
    for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
        struct ahead_entry *e = &a->e[i];
        if (e->used && memcmp(e->key, key, 16) != 0)
            continue;
        if (!e->used)
            a->n++;
        e->used = 1;
        memcpy(e->key, key, 16);
        e->first = first;
        e->fp = fp;
        e->counted = counted;
        return;
    }
}

static void ahead_clear(struct ahead *a)
{
    if (a->n)
        memset(a->e, 0, a->cap * sizeof(*a->e));
    a->n = 0;
}

/* A set of 64-bit keys (never 0): the references of the sweep. */
struct keyset {
    uint64_t *k;
    size_t cap; /* power of two */
    size_t n;
};

static void keyset_add(struct keyset *s, uint64_t key)
{
    if (!key)
        return;
    if ((s->n + 1) * 2 > s->cap) {
        struct keyset old = *s;
        s->cap = old.cap ? old.cap * 2 : 4096;
        s->k = mz_calloc(s->cap, sizeof(*s->k));
        s->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.k[i])
                keyset_add(s, old.k[i]);
        free(old.k);
    }
    size_t mask = s->cap - 1;
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) & mask;; i = (i + 1) & mask) {
        if (s->k[i] == key)
            return;
        if (!s->k[i]) {
            s->k[i] = key;
            s->n++;
            return;
        }
    }
}

static bool keyset_has(const struct keyset *s, uint64_t key)
{
    if (!key || !s->n)
        return false;
    size_t mask = s->cap - 1;
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) & mask;; i = (i + 1) & mask) {
        if (s->k[i] == key)
            return true;
        if (!s->k[i])
            return false;
    }
}

static void keyset_clear(struct keyset *s)
{
    if (s->n)
        memset(s->k, 0, s->cap * sizeof(*s->k));
    s->n = 0;
}

/* Strings drained from the overflow ring, kept whole (not in a lossy
 * cache) until no pending record can need them. */
struct strtab_entry {
    uint64_t key;
    char *s;
    uint32_t ns; /* a path's mount namespace (mz_file_val.mnt_ns) */
};

struct strtab {
    struct strtab_entry *e;
    size_t cap; /* power of two */
    size_t n;
};

static void strtab_put(struct strtab *t, uint64_t key, char *str, uint32_t ns)
{
    if (!key) {
        free(str);
        return;
    }
    if ((t->n + 1) * 2 > t->cap) {
        struct strtab old = *t;
        t->cap = old.cap ? old.cap * 2 : 1024;
        t->e = mz_calloc(t->cap, sizeof(*t->e));
        t->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.e[i].key)
                strtab_put(t, old.e[i].key, old.e[i].s, old.e[i].ns);
        free(old.e);
    }
    size_t mask = t->cap - 1;
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) & mask;; i = (i + 1) & mask) {
        if (t->e[i].key == key) {
            free(str); /* content-addressed: the same string */
            return;
        }
        if (!t->e[i].key) {
            t->e[i].key = key;
            t->e[i].s = str;
            t->e[i].ns = ns;
            t->n++;
            return;
        }
    }
}

static const struct strtab_entry *strtab_find(const struct strtab *t, uint64_t key)
{
    if (!key || !t->n)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) & mask;; i = (i + 1) & mask) {
        if (t->e[i].key == key)
            return &t->e[i];
        if (!t->e[i].key)
            return NULL;
    }
}

static const char *strtab_get(const struct strtab *t, uint64_t key)
{
    const struct strtab_entry *e = strtab_find(t, key);
    return e ? e->s : NULL;
}

static void strtab_clear(struct strtab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->e[i].s);
    if (t->n)
        memset(t->e, 0, t->cap * sizeof(*t->e));
    t->n = 0;
    if (t->cap > 65536) {
        free(t->e);
        t->e = NULL;
        t->cap = 0;
    }
}

/* Task table: every task record, rebuilt at each scan for joins. */
struct task_slot {
    uint64_t key; /* 0: empty (keys are never 0) */
    struct mz_task_val v;
};

struct task_table {
    struct task_slot *s;
    size_t cap;
    size_t n;
};

static void task_put(struct task_table *t, uint64_t key, const struct mz_task_val *v)
{
    if ((t->n + 1) * 4 > t->cap * 3)
        return; /* cannot happen: cap is sized from the map */
    size_t mask = t->cap - 1;
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) & mask;; i = (i + 1) & mask) {
        if (!t->s[i].key || t->s[i].key == key) {
            if (!t->s[i].key)
                t->n++;
            t->s[i].key = key;
            t->s[i].v = *v;
            return;
        }
    }
}

static const struct mz_task_val *task_find(const struct task_table *t, uint64_t key)
{
    if (!key || !t->n)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) & mask;; i = (i + 1) & mask) {
        if (!t->s[i].key)
            return NULL;
        if (t->s[i].key == key)
            return &t->s[i].v;
    }
}

/* Content-addressed strings (paths, command lines): the kernel key names the
 * content forever, so entries never go stale; bounded, 4-way. */
struct str_entry {
    uint64_t key;
    uint32_t age;
    uint32_t flags;
    char *s;
    uint32_t ns; /* a path's mount namespace (mz_file_val.mnt_ns) */
};

struct str_cache {
    struct str_entry *e;
    size_t sets;
    uint32_t clock;
};

static void str_cache_init(struct str_cache *c, size_t entries)
{
    c->sets = entries / STR_WAYS ? entries / STR_WAYS : 1;
    c->e = mz_calloc(c->sets * STR_WAYS, sizeof(*c->e));
}

static void str_cache_free(struct str_cache *c)
{
    if (!c->e)
        return;
    for (size_t i = 0; i < c->sets * STR_WAYS; i++)
        free(c->e[i].s);
    free(c->e);
    c->e = NULL;
}

static struct str_entry *str_cache_get(struct str_cache *c, uint64_t key)
{
    struct str_entry *w = &c->e[(key % c->sets) * STR_WAYS];
    for (int i = 0; i < STR_WAYS; i++)
        if (w[i].s && w[i].key == key) {
            w[i].age = ++c->clock;
            return &w[i];
        }
    return NULL;
}

static void str_cache_put(struct str_cache *c, uint64_t key, char *s, uint32_t flags, uint32_t ns)
{
    struct str_entry *w = &c->e[(key % c->sets) * STR_WAYS];
    struct str_entry *victim = &w[0];
    for (int i = 0; i < STR_WAYS; i++) {
        if (!w[i].s) {
            victim = &w[i];
            break;
        }
        if (w[i].age < victim->age)
            victim = &w[i];
    }
    free(victim->s);
    victim->key = key;
    victim->s = s;
    victim->flags = flags;
    victim->ns = ns;
    victim->age = ++c->clock;
}

/* ---- maps ---------------------------------------------------------------------- */

struct col_map {
    const char *name;
    int fd;
    uint32_t id;
    uint32_t key_size, val_size, max_entries;
    int acc;  /* MZ_MAP_* */
    int kind; /* enum col_kind */
    size_t off_gen, off_cgen, off_first;
    /* generation accounting (walked maps) */
    uint64_t created_last[MZ_GEN_SLOTS];
    uint64_t seen_slot[MZ_GEN_SLOTS];
    uint64_t seen, unaccounted, entries;
    /* the kernel's counts (sums over CPUs, as of the last read) */
    uint64_t in_map, overflowed, lost_full, lost_read, updated, aggregated;
    /* the collector's */
    uint64_t deleted;   /* records taken out of the map (delivered first) */
    uint64_t from_ring; /* records of this map drained from the ring and delivered */
    uint64_t restored;  /* tasks and strings from the ring put back into the map */
    uint64_t lost_join; /* records of this map a delivered record needed, gone */
    uint64_t lost_logged, logged_ns;
    bool crowded; /* past three quarters full at the start of the scan */
    struct ahead prev, cur;
    /* keys of records to delete after this walk */
    uint8_t *retire;
    size_t n_retire, cap_retire;
};

/* A record waiting to be turned into an observation and delivered. */
struct pending {
    uint8_t acc;
    uint8_t ring; /* drained from the overflow ring */
    uint8_t pad[6];
    uint8_t key[16];
    uint8_t val[VAL_MAX];
};

struct map_stats {
    char name[16];
    uint64_t created, updated, delivered, lost_full, lost_read, lost_join;
    uint64_t overflowed, unaccounted, deleted, entries, max_entries, aggregated;
    int kind;
};

/* The tasks with the most records aggregated (bpf/helpers/interest.h), for
 * `mizan status`: a few, by count since the daemon started. */
#define AGGR_TOP 8
struct aggr_task {
    uint64_t task_key, count, last_ns;
    uint32_t pid, actions;
    char comm[16];
};

struct col_snapshot {
    uint64_t scans, early_scans, emitted, paused, pending, last_scan_us, unaccounted, lost;
    uint64_t truncated, read_errors, miss_task, miss_file, miss_args;
    struct map_stats maps[MZ_MAP_COUNT];
    size_t n_maps;
    uint64_t aggregated;
    struct aggr_task aggr[AGGR_TOP];
    uint64_t interest_gen;
    uint64_t journal_written, journal_replayed;
    struct col_enrich_stats enrich;
};

struct mz_collector {
    struct mizan *skel;
    struct col_pin *pin;       /* pinned maps and links (collector.pin_dir) */
    uint64_t self_lo, self_hi; /* mizan's own start time lies in [lo, hi) */
    bool resume;               /* next scan also delivers gen >= resume_gen */
    uint32_t resume_gen;
    _Atomic uint32_t ack_gen;                 /* records of gen < this are printed (col_ack) */
    struct bpf_link *dns_link;                /* cgroup_skb on the cgroup v2 root, or NULL */
    struct bpf_link *sys_links[COL_SYSCALLS]; /* the syscall exit tracepoints */
    const char *sys_names[COL_SYSCALLS];      /* their syscalls (static strings) */
    int n_sys_links;
    struct ring_buffer *ring;          /* the overflow ring */
    struct col_map maps[MZ_MAP_COUNT]; /* indexed by MZ_MAP_* */
    int fd_counters;
    int fd_dns_names; /* name key -> name (the names domains entries list) */
    uint32_t own_ids[MZ_OWN_MAPS_MAX];
    char own_names[MZ_OWN_MAPS_MAX][16];
    size_t n_own;
    int ncpus;
    uint32_t jiffy_ns; /* 0: the kernel's tick length is unknown */
    bool direct_reads; /* the open path loaded is mz_open_exit (not _compat) */
    uint32_t gen;
    uint32_t acked_scan; /* see delivery_acked */
    uint64_t boot_to_wall;

    struct task_table tasks;
    struct task_table ring_tasks; /* task records drained from the ring */
    struct str_cache paths, argv;
    struct str_cache exes;               /* exe paths: joined into every observation and ancestry */
    struct strtab ring_paths, ring_argv; /* strings drained from the ring */
    bool ring_partial;                   /* the last drain stopped before the ring's end */
    uint32_t ring_budget;                /* records the current drain may still take */
    struct keyset ref_tasks, ref_files, ref_args;
    struct col_enrich *enrich;
    struct col_mntns *mntns;       /* paths of other mount namespaces in the initial one */
    struct col_interest *interest; /* the kernel's interest set and aggregates */
    struct col_journal *journal;   /* what was drained from the ring, for a restart */
    bool journal_replay;           /* the first scan delivers the last daemon's journal */
    /* what records delivered from the ring refer to, kept from the sweeps
     * until they are printed (a restart replays them from the journal and
     * joins them again): a queue by scan */
    struct held_ref *held;
    size_t held_head, held_n, held_cap;
    bool replaying;
    struct aggr_task aggr[AGGR_TOP];
    uint64_t aggr_logged, aggr_logged_ns;

    void *keys, *vals;       /* batch buffers */
    void *gc_keys, *gc_vals; /* sweep buffers (GC_BATCH of the largest value) */
    struct mz_counters *ctr; /* per-CPU counters read buffer */

    struct pending *pend;
    size_t pend_head, pend_n, pend_cap;

    uint64_t scans, early_scans, emitted, paused, miss_task, miss_file, miss_args, truncated,
        read_errors;
    uint64_t mntns_unmapped; /* paths of other mount namespaces with no host path */
    uint64_t last_scan_us;

    pthread_mutex_t snap_lock;
    struct col_snapshot snap;
};

__attribute__((format(printf, 2, 0))) static int libbpf_log(enum libbpf_print_level level,
                                                            const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG && mz_log_get_level() < MZ_LOG_TRACE)
        return 0;
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[n - 1] = 0;
    if (level == LIBBPF_WARN)
        log_debug("libbpf: %s", line);
    else
        log_trace("libbpf: %s", line);
    return 0;
}

/* The tracefs events directory must exist for libbpf to attach tracepoints. */
static void ensure_tracefs(void)
{
    if (access("/sys/kernel/tracing/events", F_OK) == 0)
        return;
    if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) < 0 && errno != EBUSY)
        log_warn("collector: cannot mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
}

/* Disables programs whose tracepoint this kernel lacks (e.g. module loads on
 * a kernel without modules). */
static void disable_missing(struct mizan *skel)
{
    struct bpf_program *p;
    bpf_object__for_each_program(p, skel->obj)
    {
        const char *sec = bpf_program__section_name(p);
        const char *tp = NULL;
        if (strncmp(sec, "tracepoint/", 11) == 0)
            tp = sec + 11;
        if (!tp)
            continue;
        char path[256];
        snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s", tp);
        if (access(path, F_OK) != 0) {
            log_debug("collector: %s: no such tracepoint here, not loaded", tp);
            bpf_program__set_autoload(p, false);
        }
    }
}

/* Whether this kernel has the kfunc the direct open path needs. */
static bool kernel_has_rdonly_cast(void)
{
    struct btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux)
        return false;
    bool has = btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
    btf__free(vmlinux);
    return has;
}

/* Keeps one of the two versions of the syscall-exit program (see
 * collector.direct_reads); returns true when it is the direct one. */
static bool choose_open_path(struct mizan *skel, enum mz_direct_reads mode)
{
    bool direct = mode == MZ_DIRECT_AUTO && kernel_has_rdonly_cast();
    bpf_program__set_autoload(skel->progs.mz_open_exit, direct);
    bpf_program__set_autoload(skel->progs.mz_open_exit_compat, !direct);
    return direct;
}

#define SYSCALL_NAME(n) #n,
static const char *const open_syscalls[] = {MZ_OPEN_SYSCALLS(SYSCALL_NAME)};
static const char *const other_syscalls[] = {MZ_OTHER_SYSCALLS(SYSCALL_NAME)};
_Static_assert(sizeof(open_syscalls) / sizeof(open_syscalls[0]) +
                       sizeof(other_syscalls) / sizeof(other_syscalls[0]) <=
                   COL_SYSCALLS,
               "COL_SYSCALLS holds every recorded syscall");

static int attach_syscall_list(struct bpf_program *p, const char *const *names, size_t n,
                               struct bpf_link **links, const char **attached, int k)
{
    for (size_t i = 0; i < n; i++) {
        char tp[64], path[128];
        snprintf(tp, sizeof(tp), "sys_exit_%s", names[i]);
        snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/%s", tp);
        if (access(path, F_OK) != 0) {
            log_info("collector: syscalls:%s: no such tracepoint on this kernel, %s not recorded",
                     tp, names[i]);
            continue;
        }
        struct bpf_link *l = bpf_program__attach_tracepoint(p, "syscalls", tp);
        if (!l) {
            log_warn("collector: syscalls:%s: cannot attach: %s, %s not recorded", tp,
                     strerror(errno), names[i]);
            continue;
        }
        if (attached)
            attached[k] = names[i];
        links[k++] = l;
    }
    return k;
}

int col_attach_syscalls(struct bpf_program *open, struct bpf_program *other,
                        struct bpf_link *links[COL_SYSCALLS], const char *names[COL_SYSCALLS])
{
    int k = attach_syscall_list(open, open_syscalls,
                                sizeof(open_syscalls) / sizeof(open_syscalls[0]), links, names, 0);
    return attach_syscall_list(other, other_syscalls,
                               sizeof(other_syscalls) / sizeof(other_syscalls[0]), links, names, k);
}

volatile uint32_t *col_bench_gate(struct mz_collector *c)
{
    if (!c || !c->skel->rodata->bench_gate || !c->skel->bss)
        return NULL;
    return (volatile uint32_t *)&c->skel->bss->bench_paused;
}

static void *link_destroy_thread(void *link)
{
    bpf_link__destroy(link);
    return NULL;
}

void col_links_destroy(struct bpf_link **links, int n)
{
    pthread_t t[COL_SYSCALLS];
    bool started[COL_SYSCALLS] = {false};
    if (n > COL_SYSCALLS)
        n = COL_SYSCALLS;
    for (int i = 0; i < n; i++) {
        started[i] = pthread_create(&t[i], NULL, link_destroy_thread, links[i]) == 0;
        if (!started[i])
            bpf_link__destroy(links[i]);
    }
    for (int i = 0; i < n; i++)
        if (started[i])
            pthread_join(t[i], NULL);
}

int col_syscalls_set(struct mz_collector *c, bool on)
{
    if (!c)
        return -EINVAL;
    if (col_pin_enabled(c->pin))
        return -EBUSY;
    col_links_destroy(c->sys_links, c->n_sys_links);
    c->n_sys_links = 0;
    if (!on)
        return 0;
    struct mizan *s = c->skel;
    c->n_sys_links =
        col_attach_syscalls(c->direct_reads ? s->progs.mz_open_exit : s->progs.mz_open_exit_compat,
                            s->progs.mz_other_exit, c->sys_links, c->sys_names);
    return c->n_sys_links;
}

/* CONFIG_HZ from the kernel's config (/boot/config-RELEASE or
 * /proc/config.gz), or 0 when neither says. */
static uint32_t kernel_hz(void)
{
    struct utsname u;
    char path[512], line[256];
    uint32_t hz = 0;
    if (uname(&u) < 0)
        return 0;
    snprintf(path, sizeof(path), "/boot/config-%s", u.release);
    gzFile f = gzopen(path, "rb"); /* reads plain files too */
    if (!f)
        f = gzopen("/proc/config.gz", "rb");
    if (!f)
        return 0;
    while (gzgets(f, line, sizeof(line))) {
        int64_t v;
        if (strncmp(line, "CONFIG_HZ=", 10) == 0) {
            line[strcspn(line, "\n")] = 0;
            if (mz_parse_i64(line + 10, 10, 10000, &v) == 0)
                hz = (uint32_t)v;
            break;
        }
    }
    gzclose(f);
    return hz;
}

/* The DNS answer parser goes on the root of the cgroup v2 hierarchy, which
 * every socket belongs to. Without one, flows just have no domain. */
static void attach_dns(struct mz_collector *c)
{
    char line[1024], dir[512] = "";
    FILE *f = fopen("/proc/self/mounts", "r");
    if (f) {
        while (fgets(line, sizeof(line), f)) {
            char src[256], mnt[512], type[64];
            if (sscanf(line, "%255s %511s %63s", src, mnt, type) == 3 &&
                strcmp(type, "cgroup2") == 0) {
                (void)mz_strlcpy(dir, mnt, sizeof(dir));
                break;
            }
        }
        fclose(f);
    }
    if (!dir[0]) {
        log_warn("collector: no cgroup v2 hierarchy mounted: flows will have no domain");
        return;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        log_warn("collector: %s: %s: flows will have no domain", dir, strerror(errno));
        return;
    }
    c->dns_link = bpf_program__attach_cgroup(c->skel->progs.mz_dns_ingress, fd);
    if (!c->dns_link) {
        log_warn("collector: DNS answers parser not attached to %s: %s", dir, strerror(errno));
    }
    close(fd);
}

static uint32_t clamp_entries(uint64_t v, uint32_t lo)
{
    return v < lo ? lo : (uint32_t)v;
}

static int setup_map(struct mz_collector *c, int acc, int kind, const char *name, struct bpf_map *m,
                     size_t off_gen, size_t off_cgen, size_t off_first)
{
    struct col_map *cm = &c->maps[acc];
    cm->name = name;
    cm->kind = kind;
    cm->fd = bpf_map__fd(m);
    cm->key_size = bpf_map__key_size(m);
    cm->val_size = bpf_map__value_size(m);
    cm->max_entries = bpf_map__max_entries(m);
    cm->acc = acc;
    cm->off_gen = off_gen;
    cm->off_cgen = off_cgen;
    cm->off_first = off_first;
    if (cm->key_size > (kind == COL_DOMAINS ? 32u : 16u) ||
        (kind <= COL_TASKS && cm->val_size > VAL_MAX) || cm->val_size > sizeof(struct mz_args_val))
        return -EINVAL;
    return 0;
}

/* The ring's size: a power of two of at least a page. */
static uint32_t ring_size(uint64_t want)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), n = page > 4096 ? page : 4096;
    while (n < want && n < (1ull << 30))
        n <<= 1;
    return (uint32_t)n;
}

static int ring_record(void *ctx, void *data, size_t len);

/* Every map of the object is in the own-maps table: no silent cap. */
_Static_assert(sizeof(((struct mizan *)0)->maps) / sizeof(struct bpf_map *) <= MZ_OWN_MAPS_MAX,
               "the object has more maps than MZ_OWN_MAPS_MAX (bpf/mizan_maps.h) holds");

/* Puts the ids of every map of the object in the kernel's own-maps table
 * (with the id of the generation's map) and freezes it: from then on no
 * process can change it. Returns 0 or -errno. */
static int own_maps(struct mz_collector *c)
{
    struct mizan__data_ids ids;
    memset(&ids, 0, sizeof(ids));
    struct bpf_map *m;
    bpf_object__for_each_map(m, c->skel->obj)
    {
        struct bpf_map_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (c->n_own >= MZ_OWN_MAPS_MAX) /* cannot happen: see the assert above */
            return -E2BIG;
        if (bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len) < 0)
            return -errno;
        c->own_ids[c->n_own] = info.id;
        (void)mz_strlcpy(c->own_names[c->n_own], bpf_map__name(m), sizeof(c->own_names[0]));
        ids.own_map_ids[c->n_own] = info.id;
        if (m == c->skel->maps.data_gen)
            ids.gen_map_id = info.id;
        for (int i = 0; i < MZ_MAP_COUNT; i++)
            if (c->maps[i].name && strcmp(c->maps[i].name, bpf_map__name(m)) == 0)
                c->maps[i].id = info.id;
        c->n_own++;
    }
    int fd = bpf_map__fd(c->skel->maps.data_ids), zero = 0;
    if (bpf_map_update_elem(fd, &zero, &ids, BPF_ANY) < 0 || bpf_map_freeze(fd) < 0)
        return -errno;
    return 0;
}

/* The scan generation, set by mz_set_gen (an aligned store in the kernel;
 * its map cannot be mmapped, and a write by anyone else is tamper). */
static int set_gen(struct mz_collector *c, uint32_t gen)
{
    uint64_t args[1] = {gen};
    LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = sizeof(args));
    if (bpf_prog_test_run_opts(bpf_program__fd(c->skel->progs.mz_set_gen), &o) < 0)
        return -errno;
    return o.retval == 0 ? 0 : -EPERM;
}

static void adopt_accounting(struct mz_collector *c);
static uint64_t fingerprint(const uint8_t *val, size_t len, size_t off_gen);

/* One debug line: the instructions the verifier processed per loaded
 * program (what a change to bpf/ costs at load), and their sum. */
static void log_verified(const struct mz_collector *c)
{
    char line[1024] = "";
    size_t n = 0;
    uint64_t total = 0;
    struct bpf_program *p;
    bpf_object__for_each_program(p, c->skel->obj)
    {
        int fd = bpf_program__fd(p);
        if (fd < 0)
            continue;
        struct bpf_prog_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
            continue;
        total += info.verified_insns;
        int w = snprintf(line + n, sizeof(line) - n, " %s %u", bpf_program__name(p),
                         info.verified_insns);
        if (w < 0 || (size_t)w >= sizeof(line) - n)
            break;
        n += (size_t)w;
    }
    log_debug("collector: verified instructions:%s; total %llu", line[0] ? line : " none",
              (unsigned long long)total);
}

struct mz_collector *col_new(const struct mz_config *cfg)
{
    struct mz_collector *c = NULL;
    int err;

    if (geteuid() != 0) {
        log_error("collector: needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)");
        return NULL;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        log_error("collector: this kernel has no BTF (/sys/kernel/btf/vmlinux)");
        return NULL;
    }
    libbpf_set_print(libbpf_log);
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    (void)setrlimit(RLIMIT_MEMLOCK, &rl);
    ensure_tracefs();

    c = mz_calloc(1, sizeof(*c));
    atomic_init(&c->ack_gen, UINT32_MAX); /* no cursor: delivered is enough */
    pthread_mutex_init(&c->snap_lock, NULL);
    c->ncpus = libbpf_num_possible_cpus();
    if (c->ncpus <= 0) {
        log_error("collector: cannot count CPUs: %s", strerror(-c->ncpus));
        goto fail;
    }
    c->mntns = col_mntns_new();
    c->skel = mizan__open();
    if (!c->skel) {
        log_error("collector: cannot open the BPF object: %s", strerror(errno));
        goto fail;
    }
    uint64_t key[2];
    if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
        log_error("collector: getrandom: %s", strerror(errno));
        goto fail;
    }
    c->skel->rodata->sip_k0 = key[0];
    c->skel->rodata->sip_k1 = key[1];
    c->skel->rodata->mizan_tgid = (uint32_t)getpid();
    if (col_self_start(&c->self_lo, &c->self_hi) == 0) {
        c->skel->rodata->mizan_start_lo = c->self_lo;
        c->skel->rodata->mizan_start_hi = c->self_hi;
    } else {
        log_warn("collector: own start time unknown: mizan's own actions will be recorded");
    }
    uint32_t hz = kernel_hz();
    c->jiffy_ns = hz ? 1000000000u / hz : 0;
    c->skel->rodata->jiffy_ns = c->jiffy_ns;
    if (!hz)
        log_info("collector: kernel HZ unknown: access times read the precise clock");

    const struct mz_config *k = cfg;
    uint32_t tasks = clamp_entries(k->cache.tasks, 64);
    uint32_t files = clamp_entries(k->cache.files, 64);
    uint32_t args = clamp_entries(k->cache.args, 64);
    uint32_t links = clamp_entries(k->cache.file_links, 64);
    uint32_t flows = clamp_entries(k->cache.flows, 64);
    bpf_map__set_max_entries(c->skel->maps.tasks, tasks);
    /* execs leave at the scan after their delivery: a quarter is room */
    bpf_map__set_max_entries(c->skel->maps.execs, clamp_entries(tasks / 4, 64));
    bpf_map__set_max_entries(c->skel->maps.files, files);
    bpf_map__set_max_entries(c->skel->maps.files_long, clamp_entries(files / 8, 64));
    bpf_map__set_max_entries(c->skel->maps.args, args);
    bpf_map__set_max_entries(c->skel->maps.args_long, clamp_entries(args / 16, 64));
    bpf_map__set_max_entries(c->skel->maps.links, links);
    bpf_map__set_max_entries(c->skel->maps.flows, flows);
    bpf_map__set_max_entries(c->skel->maps.socks, flows);
    bpf_map__set_max_entries(c->skel->maps.dns_clients, flows);
    bpf_map__set_max_entries(c->skel->maps.events, clamp_entries(flows / 8, 1024));
    bpf_map__set_max_entries(c->skel->maps.domains, clamp_entries(k->cache.domains, 64));
    /* an address has a few names, a name often many addresses (CDNs) */
    bpf_map__set_max_entries(c->skel->maps.dns_names, clamp_entries(k->cache.domains / 4, 64));
    bpf_map__set_max_entries(c->skel->maps.overflow, ring_size(k->cache.overflow));
    disable_missing(c->skel);
    /* Not mmappable: the generation and the own-maps table change only
     * through bpf(2) (watched), the table not at all once frozen. */
    bpf_map__set_map_flags(c->skel->maps.data_gen,
                           bpf_map__map_flags(c->skel->maps.data_gen) & ~BPF_F_MMAPABLE);
    bpf_map__set_map_flags(c->skel->maps.data_ids,
                           bpf_map__map_flags(c->skel->maps.data_ids) & ~BPF_F_MMAPABLE);
    bpf_program__set_autoattach(c->skel->progs.mz_set_gen, false);
    c->direct_reads = choose_open_path(c->skel, cfg->collector.direct_reads);
    c->skel->rodata->direct_loads = c->direct_reads;
    c->skel->rodata->bench_gate = cfg->collector.bench_gate;
    c->skel->rodata->init_mnt_ns = col_mntns_initial(c->mntns);

    size_t elf_len = 0;
    const void *elf = mizan__elf_bytes(&elf_len);
    c->pin = col_pin_prepare(c->skel->obj, elf, elf_len, cfg->collector.pin_dir,
                             cfg->collector.pin_fresh, key);
    if (!c->pin)
        goto fail;
    c->skel->rodata->sip_k0 = key[0]; /* the pinned key when adopted */
    c->skel->rodata->sip_k1 = key[1];

    uint64_t t_load = mz_monotonic_ns();
    err = mizan__load(c->skel);
    if (err) {
        log_error("collector: loading the BPF programs failed: %s", strerror(-err));
        goto fail;
    }
    double load_ms = (double)(mz_monotonic_ns() - t_load) / 1e6;

    if (col_pin_loaded(c->pin, bpf_map__fd(c->skel->maps.pin_meta), key) < 0)
        goto fail;
    /* adopted maps: the generation goes on from the last daemon's */
    {
        int zero = 0;
        struct mizan__data_gen g;
        memset(&g, 0, sizeof(g));
        if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.data_gen), &zero, &g) == 0)
            c->gen = g.cur_gen;
    }

    struct mizan *s = c->skel;
    if (setup_map(c, MZ_MAP_TASKS, COL_TASKS, "tasks", s->maps.tasks,
                  offsetof(struct mz_task_val, gen), offsetof(struct mz_task_val, created_gen),
                  offsetof(struct mz_task_val, start_ns)) < 0 ||
        setup_map(c, MZ_MAP_EXECS, COL_RECORDS, "execs", s->maps.execs,
                  offsetof(struct mz_exec_val, gen), offsetof(struct mz_exec_val, created_gen),
                  offsetof(struct mz_exec_val, start_ns)) < 0 ||
        setup_map(c, MZ_MAP_LINKS, COL_RECORDS, "links", s->maps.links,
                  offsetof(struct mz_link_val, gen), offsetof(struct mz_link_val, created_gen),
                  offsetof(struct mz_link_val, first_ns)) < 0 ||
        setup_map(c, MZ_MAP_FLOWS, COL_RECORDS, "flows", s->maps.flows,
                  offsetof(struct mz_flow_val, gen), offsetof(struct mz_flow_val, created_gen),
                  offsetof(struct mz_flow_val, first_ns)) < 0 ||
        setup_map(c, MZ_MAP_EVENTS, COL_RECORDS, "events", s->maps.events,
                  offsetof(struct mz_event_val, gen), offsetof(struct mz_event_val, created_gen),
                  offsetof(struct mz_event_val, first_ns)) < 0 ||
        setup_map(c, MZ_MAP_TAMPER, COL_RECORDS, "tamper", s->maps.tamper,
                  offsetof(struct mz_event_val, gen), offsetof(struct mz_event_val, created_gen),
                  offsetof(struct mz_event_val, first_ns)) < 0 ||
        setup_map(c, MZ_MAP_FILES, COL_STRINGS, "files", s->maps.files,
                  offsetof(struct mz_file_small, gen), 0, 0) < 0 ||
        setup_map(c, MZ_MAP_FILES_LONG, COL_STRINGS, "files_long", s->maps.files_long,
                  offsetof(struct mz_file_val, gen), 0, 0) < 0 ||
        setup_map(c, MZ_MAP_ARGS, COL_STRINGS, "args", s->maps.args,
                  offsetof(struct mz_args_small, gen), 0, 0) < 0 ||
        setup_map(c, MZ_MAP_ARGS_LONG, COL_STRINGS, "args_long", s->maps.args_long,
                  offsetof(struct mz_args_val, gen), 0, 0) < 0 ||
        setup_map(c, MZ_MAP_DOMAINS, COL_DOMAINS, "domains", s->maps.domains, 0, 0,
                  offsetof(struct mz_dns_val, seen_ns)) < 0) {
        log_error("collector: map layout does not match mizan_maps.h");
        goto fail;
    }
    c->fd_counters = bpf_map__fd(s->maps.counters);
    c->fd_dns_names = bpf_map__fd(s->maps.dns_names);
    c->ring = ring_buffer__new(bpf_map__fd(s->maps.overflow), ring_record, c, NULL);
    if (!c->ring) {
        log_error("collector: cannot read the overflow ring: %s", strerror(errno));
        goto fail;
    }
    err = own_maps(c);
    if (err) {
        log_error("collector: cannot set the table of mizan's own maps: %s", strerror(-err));
        goto fail;
    }

    err = mizan__attach(c->skel);
    if (err) {
        log_error("collector: attaching the BPF programs failed: %s", strerror(-err));
        goto fail;
    }
    c->n_sys_links =
        col_attach_syscalls(c->direct_reads ? s->progs.mz_open_exit : s->progs.mz_open_exit_compat,
                            s->progs.mz_other_exit, c->sys_links, c->sys_names);
    if (c->n_sys_links == 0) {
        log_error("collector: no syscall tracepoint could be attached");
        goto fail;
    }
    attach_dns(c);
    /* the syscall links are pinned as sys_exit_NAME, the DNS parser's by
     * its program's name */
    struct bpf_link *extra[COL_SYSCALLS + 1];
    char extra_names[COL_SYSCALLS + 1][80];
    const char *extra_ptr[COL_SYSCALLS + 1];
    size_t n_extra = 0;
    for (int i = 0; i < c->n_sys_links; i++) {
        extra[n_extra] = c->sys_links[i];
        snprintf(extra_names[n_extra], sizeof(extra_names[0]), "sys_exit_%s", c->sys_names[i]);
        extra_ptr[n_extra] = extra_names[n_extra];
        n_extra++;
    }
    if (c->dns_link) {
        extra[n_extra] = c->dns_link;
        extra_ptr[n_extra++] = "mz_dns_ingress";
    }
    if (col_pin_links(c->pin, c->skel->skeleton, extra, extra_ptr, n_extra) < 0)
        goto fail;

    size_t tcap = 1024;
    while (tcap < (size_t)tasks * 2)
        tcap <<= 1;
    c->tasks.cap = tcap;
    c->tasks.s = mz_calloc(tcap, sizeof(*c->tasks.s));
    c->ring_tasks.cap = tcap;
    c->ring_tasks.s = mz_calloc(tcap, sizeof(*c->ring_tasks.s));
    str_cache_init(&c->paths, files / 4 < 1024 ? 1024 : files / 4);
    str_cache_init(&c->exes, 4096);
    str_cache_init(&c->argv, args / 4 < 1024 ? 1024 : args / 4);
    c->enrich = col_enrich_new(cfg);
    c->interest = col_interest_new(bpf_map__fd(c->skel->maps.interest),
                                   bpf_map__fd(c->skel->maps.interest_cfg),
                                   bpf_map__fd(c->skel->maps.aggregates));
    c->keys = mz_calloc(BATCH, 16);
    c->vals = mz_calloc(BATCH, VAL_MAX);
    c->gc_keys = mz_calloc(GC_BATCH, sizeof(struct mz_ip_key));
    c->gc_vals = mz_calloc(GC_BATCH, sizeof(struct mz_args_val));
    c->ctr = mz_calloc((size_t)c->ncpus, sizeof(struct mz_counters));
    if (col_pin_adopted(c->pin))
        adopt_accounting(c);
    /* Records drained from the ring live in memory only: with pinned maps
     * (a successor adopts them) they are journaled beside the cursor. */
    char sdir[PATH_MAX];
    if (col_pin_enabled(c->pin) && mz_config_state_dir(cfg, sdir, sizeof(sdir)) == 0) {
        c->journal = col_journal_open(sdir, col_pin_adopted(c->pin));
        c->journal_replay = c->journal && col_pin_adopted(c->pin);
        /* the delivery cursor (daemon/cursor.h) lives beside it: nothing is
         * printed until its first col_ack, so the journal keeps everything
         * until then (and delivered records stay in their maps) */
        if (c->journal)
            atomic_store(&c->ack_gen, 0);
    }
    log_info("collector: attached, verified and loaded in %.0f ms (maps: tasks %u, links %u, flows "
             "%u, files %u, args %u; overflow ring %u KiB; open path: %s reads; %d syscall "
             "tracepoints)",
             load_ms, tasks, links, flows, files, args,
             bpf_map__max_entries(s->maps.overflow) >> 10, c->direct_reads ? "direct" : "probe",
             c->n_sys_links);
    log_verified(c);
    return c;
fail:
    col_free(c);
    return NULL;
}

void col_free(struct mz_collector *c)
{
    if (!c)
        return;
    ring_buffer__free(c->ring);
    bpf_link__destroy(c->dns_link);
    col_links_destroy(c->sys_links, c->n_sys_links);
    mizan__destroy(c->skel);
    col_pin_free(c->pin);
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        free(c->maps[i].prev.e);
        free(c->maps[i].cur.e);
        free(c->maps[i].retire);
    }
    free(c->tasks.s);
    free(c->ring_tasks.s);
    strtab_clear(&c->ring_paths);
    strtab_clear(&c->ring_argv);
    free(c->ring_paths.e);
    free(c->ring_argv.e);
    free(c->ref_tasks.k);
    free(c->ref_files.k);
    free(c->ref_args.k);
    free(c->gc_keys);
    free(c->gc_vals);
    str_cache_free(&c->paths);
    str_cache_free(&c->exes);
    str_cache_free(&c->argv);
    col_enrich_free(c->enrich);
    col_mntns_free(c->mntns);
    col_interest_free(c->interest);
    col_journal_free(c->journal);
    free(c->held);
    free(c->keys);
    free(c->vals);
    free(c->ctr);
    free(c->pend);
    pthread_mutex_destroy(&c->snap_lock);
    free(c);
}

uint32_t col_map_id(const struct mz_collector *c, const char *name)
{
    for (size_t i = 0; i < c->n_own; i++)
        if (strcmp(c->own_names[i], name) == 0)
            return c->own_ids[i];
    return 0;
}

/* ---- joins ---------------------------------------------------------------------- */

static uint64_t wall(const struct mz_collector *c, uint64_t boot_ns)
{
    return boot_ns ? boot_ns + c->boot_to_wall : 0;
}

/* A file record's path as text ("..." appended when the kernel cut it). */
static char *path_text(const struct mz_file_val *v, size_t cap)
{
    size_t len = v->len < cap - 1 ? v->len : cap - 1;
    char *s = mz_calloc(1, len + 4);
    memcpy(s, v->path, len);
    if (v->flags & MZ_REC_TRUNCATED)
        memcpy(s + len, "...", 3); /* the kernel cut it: say so */
    return s;
}

/* The path of a file key, or NULL (a join miss, counted); *ns (when not
 * NULL) gets the mount namespace it is relative to, 0: the initial one. */
static char *file_path(struct mz_collector *c, uint64_t key, uint32_t *ns)
{
    uint32_t dummy;
    if (!ns)
        ns = &dummy;
    *ns = 0;
    if (!key)
        return NULL;
    struct str_entry *e = str_cache_get(&c->paths, key);
    if (e) {
        *ns = e->ns;
        return mz_strdup(e->s);
    }
    const struct strtab_entry *r = strtab_find(&c->ring_paths, key);
    if (r) {
        *ns = r->ns;
        return mz_strdup(r->s);
    }
    struct mz_file_val v;
    memset(&v, 0, sizeof(v));
    if (bpf_map_lookup_elem(c->maps[MZ_MAP_FILES].fd, &key, &v) < 0 &&
        bpf_map_lookup_elem(c->maps[MZ_MAP_FILES_LONG].fd, &key, &v) < 0) {
        c->miss_file++;
        c->maps[MZ_MAP_FILES].lost_join++;
        return NULL;
    }
    char *s = path_text(&v, MZ_BPF_PATH_MAX);
    str_cache_put(&c->paths, key, s, v.flags, v.mnt_ns);
    *ns = v.mnt_ns;
    return mz_strdup(s);
}

/* The initial mount namespace's path of path, relative to mount namespace
 * ns (not 0), pid the process observed; NULL when no mount there shows the
 * file, or for a path the kernel cut. */
static char *host_path(struct mz_collector *c, uint32_t ns, int pid, const char *path)
{
    char *out = NULL;
    size_t n = path ? strlen(path) : 0;
    if (!ns || !n || (n >= 3 && memcmp(path + n - 3, "...", 3) == 0))
        return NULL;
    int r = col_mntns_host_path(c->mntns, ns, pid, path, &out);
    if (r < 0) {
        c->mntns_unmapped++;
        log_trace("collector: %s in mount namespace %u: no path in the initial one: %s", path, ns,
                  strerror(-r));
        return NULL;
    }
    return out;
}

/* The path of an exe key: file_path through a cache of its own, which a
 * flood of distinct file paths does not thrash: a task's exe is joined into
 * each of its observations and its descendants' ancestry, long after its
 * string record may have left the kernel. */
static char *exe_path(struct mz_collector *c, uint64_t key, uint32_t *ns)
{
    uint32_t dummy;
    if (!ns)
        ns = &dummy;
    *ns = 0;
    if (!key)
        return NULL;
    struct str_entry *e = str_cache_get(&c->exes, key);
    if (e) {
        *ns = e->ns;
        return mz_strdup(e->s);
    }
    char *s = file_path(c, key, ns);
    if (s)
        str_cache_put(&c->exes, key, mz_strdup(s), 0, *ns);
    return s;
}

static char *args_string(struct mz_collector *c, uint64_t key)
{
    if (!key)
        return NULL;
    struct str_entry *e = str_cache_get(&c->argv, key);
    if (e)
        return mz_strdup(e->s);
    const char *r = strtab_get(&c->ring_argv, key);
    if (r)
        return mz_strdup(r);
    struct mz_args_val *v = mz_calloc(1, sizeof(*v));
    char *s = NULL;
    if (bpf_map_lookup_elem(c->maps[MZ_MAP_ARGS].fd, &key, v) < 0 &&
        bpf_map_lookup_elem(c->maps[MZ_MAP_ARGS_LONG].fd, &key, v) < 0) {
        c->miss_args++;
        c->maps[MZ_MAP_ARGS].lost_join++;
        goto out;
    }
    size_t len = v->len < MZ_BPF_ARGS_MAX ? v->len : MZ_BPF_ARGS_MAX;
    s = col_join_args(v->data, len, v->flags & MZ_REC_TRUNCATED);
    str_cache_put(&c->argv, key, s, v->flags, 0);
    s = mz_strdup(s);
out:
    free(v);
    return s;
}

static const struct mz_task_val *task_get(struct mz_collector *c, uint64_t key);

/* Exes of the parent, grandparent, ...: task records first, /proc after. */
static void ancestry(struct mz_collector *c, uint64_t parent_key, int ppid, struct mz_process *p)
{
    char *list[MZ_ANCESTRY_MAX];
    size_t n = 0;
    uint64_t key = parent_key;
    int pid = ppid;
    while (n < MZ_ANCESTRY_MAX && pid > 0) {
        const struct mz_task_val *t = task_get(c, key);
        char *exe = NULL;
        int next = 0;
        if (t && (int)t->tgid == pid) {
            exe = exe_path(c, t->exe_key, NULL);
            if (!exe && col_proc_is(pid, t->start_ns)) {
                int pp;
                if (col_enrich_parent(c->enrich, pid, &pp, &exe) < 0)
                    exe = NULL;
            }
            next = (int)t->ppid;
            key = t->parent_key;
        } else {
            if (col_enrich_parent(c->enrich, pid, &next, &exe) < 0)
                break;
            key = 0;
        }
        list[n++] = exe ? exe : mz_strdup("");
        if (pid == 1)
            break;
        pid = next;
    }
    if (n) {
        p->ancestry = mz_calloc(n, sizeof(char *));
        memcpy(p->ancestry, list, n * sizeof(char *));
        p->n_ancestry = n;
    }
}

/* The task record of key: from this scan's table, else from the kernel map
 * (a task created after the table was read, during the scan). */
static const struct mz_task_val *task_get(struct mz_collector *c, uint64_t key)
{
    const struct mz_task_val *t = task_find(&c->tasks, key);
    if (t || !key)
        return t;
    struct mz_task_val v;
    if (bpf_map_lookup_elem(c->maps[MZ_MAP_TASKS].fd, &key, &v) < 0)
        return task_find(&c->ring_tasks, key);
    task_put(&c->tasks, key, &v);
    return task_find(&c->tasks, key);
}

/* The kernel's device number (major << 20 | minor) as a userland dev_t. */
static uint64_t kdev(uint32_t dev)
{
    return makedev(dev >> 20, dev & 0xfffff);
}

/* p's exe from a task or exec record: the path walked from the file
 * (exe_key), the name it was run by when another (seen_key) and the
 * identity the kernel recorded at exec, which enrichment checks. */
static void exe_of(struct mz_collector *c, uint64_t exe_key, uint64_t seen_key, uint32_t dev,
                   uint64_t ino, struct mz_process *p)
{
    uint32_t ns;
    p->exe = exe_path(c, exe_key, &ns);
    p->exe_seen_as = seen_key ? exe_path(c, seen_key, NULL) : NULL;
    if (ns && p->exe) {
        p->exe_mnt_ns = ns;
        p->exe_host_path = host_path(c, ns, p->pid, p->exe);
    }
    if (ino && p->exe) {
        p->exe_ino = ino;
        p->exe_dev = kdev(dev);
    }
}

/* Fills p from the task record of key (pid hint tgid when it is gone). */
static void process_of_task(struct mz_collector *c, uint64_t key, uint32_t tgid,
                            struct mz_process *p)
{
    const struct mz_task_val *t = task_get(c, key);
    if (t) {
        p->pid = (int32_t)t->tgid;
        p->ppid = (int32_t)t->ppid;
        p->uid = t->uid;
        p->gid = t->gid;
        p->euid = t->euid;
        p->start_ns = t->start_ns;
        p->cgroup_id = t->cgroup_id;
        memcpy(p->comm, t->comm, sizeof(p->comm));
        p->comm[sizeof(p->comm) - 1] = 0;
        exe_of(c, t->exe_key, t->exe_seen_key, t->exe_dev, t->exe_ino, p);
        p->args = args_string(c, t->args_key);
        ancestry(c, t->parent_key, p->ppid, p);
    } else {
        c->miss_task++;
        c->maps[MZ_MAP_TASKS].lost_join++;
        p->pid = (int32_t)tgid;
        int ppid = 0;
        char *exe = NULL;
        if (col_enrich_parent(c->enrich, p->pid, &ppid, &exe) == 0) {
            p->ppid = ppid;
            free(exe);
            ancestry(c, 0, ppid, p);
        }
    }
    col_enrich_process(c->enrich, p);
}

static struct mz_observation *obs_exec(struct mz_collector *c, const struct pending *r)
{
    struct mz_exec_key k;
    struct mz_exec_val v;
    memcpy(&k, r->key, sizeof(k));
    memcpy(&v, r->val, sizeof(v));
    struct mz_observation *o = mz_observation_new(MZ_OBS_EXEC);
    struct mz_process *p = &o->proc;
    p->pid = (int32_t)v.tgid;
    p->ppid = (int32_t)v.ppid;
    p->uid = v.uid;
    p->gid = v.gid;
    p->euid = v.euid;
    p->start_ns = v.start_ns;
    p->cgroup_id = v.cgroup_id;
    memcpy(p->comm, v.comm, sizeof(p->comm));
    p->comm[sizeof(p->comm) - 1] = 0;
    exe_of(c, v.exe_key, v.exe_seen_key, v.exe_dev, v.exe_ino, p);
    p->args = args_string(c, v.args_key);
    p->cwd = file_path(c, v.cwd_key, NULL);
    ancestry(c, v.parent_key, p->ppid, p);
    col_enrich_process(c->enrich, p);
    o->first_ns = o->last_ns = wall(c, k.exec_ns);
    o->count = 1;
    o->file.path = mz_strdup(p->exe);
    o->file.mnt_ns = p->exe_mnt_ns;
    o->file.host_path = mz_strdup(p->exe_host_path);
    o->file.actions = MZ_FA_EXECVE;
    o->file.ino = p->exe_ino;
    o->file.dev = p->exe_dev;
    return o;
}

static struct mz_observation *obs_link(struct mz_collector *c, const struct pending *r)
{
    struct mz_link_key k;
    struct mz_link_val v;
    memcpy(&k, r->key, sizeof(k));
    memcpy(&v, r->val, sizeof(v));
    struct mz_observation *o = mz_observation_new(MZ_OBS_FILE);
    process_of_task(c, k.task_key, v.tgid, &o->proc);
    o->first_ns = wall(c, v.first_ns);
    uint64_t last = v.last_ns;
    if (c->jiffy_ns && v.last_jiffies > v.first_jiffies) {
        uint64_t est = v.first_ns + (v.last_jiffies - v.first_jiffies) * c->jiffy_ns;
        if (est > last)
            last = est;
    }
    o->last_ns = wall(c, last);
    o->count = v.count;
    uint32_t ns;
    o->file.path = file_path(c, v.file_key, &ns);
    o->file.path2 = file_path(c, v.path2_key, NULL);
    if (ns && o->file.path) {
        o->file.mnt_ns = ns;
        o->file.host_path = host_path(c, ns, o->proc.pid, o->file.path);
    }
    o->file.actions = (uint32_t)v.actions;
    if (v.ino) {
        /* the kernel's device number is major << 20 | minor */
        o->file.ino = v.ino;
        o->file.dev = kdev(v.dev);
    }
    return o;
}

static void addr_text(uint8_t family, const uint8_t *a, char out[46])
{
    if (!inet_ntop(family == 10 ? AF_INET6 : AF_INET, a, out, 46))
        out[0] = 0;
}

/* The domains entry of client for addr (client 0: the host-wide entry)
 * into *v. Returns 0, or -ENOENT. */
static int dns_entry(struct mz_collector *c, uint64_t client, uint8_t family,
                     const uint8_t addr[16], struct mz_dns_val *v)
{
    struct mz_ip_key k;
    memset(&k, 0, sizeof(k));
    k.client = client;
    memcpy(k.addr, addr, 16);
    k.family = family;
    if (bpf_map_lookup_elem(c->maps[MZ_MAP_DOMAINS].fd, &k, v) < 0)
        return -ENOENT;
    return 0;
}

/* A wire-format name of at most len bytes as dotted text, or NULL: a cut or
 * malformed name gives no name rather than a wrong one. */
static char *dns_text(const uint8_t *wire, uint32_t len)
{
    char name[MZ_BPF_DOMAIN_MAX + 1];
    if (col_dns_name(wire, len < MZ_BPF_DOMAIN_MAX ? len : MZ_BPF_DOMAIN_MAX, name, sizeof(name)) <
        0)
        return NULL;
    return mz_strdup(name);
}

/* The names of entry v (its names[] resolved through dns_names) into fl,
 * most recent first; a key whose name has gone, or is already there, is
 * skipped. */
static void dns_names_of(struct mz_collector *c, const struct mz_dns_val *v, struct mz_flow *fl)
{
    for (unsigned i = 0; i < v->n_names && i < MZ_DNS_NAMES; i++) {
        struct mz_dns_name n;
        if (c->fd_dns_names < 0 || bpf_map_lookup_elem(c->fd_dns_names, &v->names[i], &n) < 0)
            continue;
        char *t = dns_text(n.name, n.len);
        bool dup = !t;
        for (size_t j = 0; t && j < fl->n_domain_names; j++)
            dup |= strcmp(fl->domain_names[j], t) == 0;
        if (dup || fl->n_domain_names >= MZ_DOMAIN_NAMES_MAX) {
            free(t);
            continue;
        }
        fl->domain_names[fl->n_domain_names++] = t;
    }
}

/* Whether name is among the names listed in fl->domain_names. */
static bool dns_has_name(const struct mz_flow *list, const char *name)
{
    for (size_t i = 0; name && i < list->n_domain_names; i++)
        if (strcmp(list->domain_names[i], name) == 0)
            return true;
    return false;
}

/* The flow's domain: what this process image resolved for the address;
 * else the last name any process got, with every name the entry lists and
 * the answer's query id and namespace. Marked when processes got
 * different names for it: the host-wide name is none of this process's
 * names, or the kernel saw clients disagree. */
static void domain_of(struct mz_collector *c, uint64_t task_key, uint8_t family,
                      const uint8_t addr[16], struct mz_flow *fl)
{
    struct mz_dns_val own, host;
    bool has_own = task_key && dns_entry(c, task_key, family, addr, &own) == 0;
    bool has_host = dns_entry(c, 0, family, addr, &host) == 0;
    char *own_name = has_own ? dns_text(own.qname, own.len) : NULL;
    char *host_name = has_host ? dns_text(host.qname, host.len) : NULL;
    const struct mz_dns_val *e = own_name ? &own : host_name ? &host : NULL;
    if (!e) {
        free(own_name);
        free(host_name);
        return;
    }
    dns_names_of(c, e, fl);
    fl->has_resolution = true;
    fl->resolution_own = e == &own;
    fl->resolution_qid = e->qid;
    fl->resolution_netns = e->netns;
    bool differ =
        own_name && host_name && strcmp(own_name, host_name) != 0 && !dns_has_name(fl, host_name);
    fl->domain_conflict = differ || (has_host && (host.flags & MZ_DNS_CONFLICT));
    if (own_name) {
        fl->domain = own_name;
        fl->domain_other = differ ? host_name : NULL;
        if (!differ)
            free(host_name);
    } else {
        fl->domain = host_name;
    }
}

static struct mz_observation *obs_flow(struct mz_collector *c, const struct pending *r)
{
    struct mz_link_key k;
    struct mz_flow_val v;
    memcpy(&k, r->key, sizeof(k));
    memcpy(&v, r->val, sizeof(v));
    struct mz_observation *o = mz_observation_new(MZ_OBS_FLOW);
    process_of_task(c, k.task_key, v.tgid, &o->proc);
    o->first_ns = wall(c, v.first_ns);
    o->last_ns = wall(c, v.last_ns);
    o->count = v.count;
    o->flow.proto = v.proto;
    o->flow.family = v.family == 10 ? AF_INET6 : AF_INET;
    o->flow.direction = v.direction;
    o->flow.local_port = v.local_port;
    o->flow.remote_port = v.remote_port;
    addr_text(v.family, v.local_addr, o->flow.local_addr);
    addr_text(v.family, v.remote_addr, o->flow.remote_addr);
    o->flow.actions = (uint32_t)v.actions;
    domain_of(c, k.task_key, v.family, v.remote_addr, &o->flow);
    return o;
}

static struct mz_observation *obs_event(struct mz_collector *c, const struct pending *r)
{
    struct mz_link_key k;
    struct mz_event_val v;
    memcpy(&k, r->key, sizeof(k));
    memcpy(&v, r->val, sizeof(v));
    struct mz_observation *o =
        mz_observation_new(v.kind == MZ_EV_TAMPER ? MZ_OBS_TAMPER : MZ_OBS_PRIV);
    process_of_task(c, k.task_key, v.tgid, &o->proc);
    o->first_ns = wall(c, v.first_ns);
    o->last_ns = wall(c, v.last_ns);
    o->count = v.count;
    if (v.kind == MZ_EV_TAMPER) {
        char buf[160];
        o->tamper.kind = v.actions;
        v.detail[sizeof(v.detail) - 1] = 0;
        if (v.actions == MZ_TAMPER_MAP_WRITE || v.actions == MZ_TAMPER_MAP_OPEN) {
            const char *name = "?";
            for (size_t i = 0; i < c->n_own; i++)
                if ((int64_t)c->own_ids[i] == v.target)
                    name = c->own_names[i];
            snprintf(buf, sizeof(buf), "map %s (id %lld)", name, (long long)v.target);
        } else if (v.actions == MZ_TAMPER_PROG_LOAD) {
            snprintf(buf, sizeof(buf), "program %s (type %lld)", v.detail[0] ? v.detail : "?",
                     (long long)v.target);
        } else if (v.actions == MZ_TAMPER_RECORD_FLOOD) {
            /* o->count: how many of its records were aggregated */
            snprintf(buf, sizeof(buf),
                     "records a recipe could alert on aggregated under a flood, "
                     "the first: %s",
                     v.detail[0] ? v.detail : "?");
        } else {
            snprintf(buf, sizeof(buf), "module load");
        }
        o->tamper.detail = mz_strdup(buf);
    } else {
        o->priv.actions = v.actions;
        o->priv.target = v.target;
    }
    return o;
}

static struct mz_observation *build(struct mz_collector *c, const struct pending *r)
{
    switch (r->acc) {
    case MZ_MAP_EXECS:
        return obs_exec(c, r);
    case MZ_MAP_LINKS:
        return obs_link(c, r);
    case MZ_MAP_FLOWS:
        return obs_flow(c, r);
    case MZ_MAP_EVENTS:
    case MZ_MAP_TAMPER:
        return obs_event(c, r);
    default:
        return NULL;
    }
}

/* ---- pending records ------------------------------------------------------------ */

/* The keys a record delivered from the ring joins through (task, parent,
 * paths, command line), held until its scan is printed. */
struct held_ref {
    uint32_t gen;
    uint32_t pad;
    uint64_t task[2], file[3], args;
};

static void held_push(struct mz_collector *c, const struct pending *r)
{
    struct held_ref h;
    memset(&h, 0, sizeof(h));
    h.gen = c->gen;
    memcpy(&h.task[0], r->key, 8);
    if (r->acc == MZ_MAP_LINKS) {
        const struct mz_link_val *l = (const void *)r->val;
        h.file[0] = l->file_key;
        h.file[1] = l->path2_key;
    } else if (r->acc == MZ_MAP_EXECS) {
        const struct mz_exec_val *e = (const void *)r->val;
        h.task[1] = e->parent_key;
        h.file[0] = e->exe_key;
        h.file[1] = e->cwd_key;
        h.args = e->args_key;
    }
    if (c->held_head + c->held_n == c->held_cap) {
        if (c->held_head) {
            memmove(c->held, c->held + c->held_head, c->held_n * sizeof(*c->held));
            c->held_head = 0;
        } else {
            c->held_cap = c->held_cap ? c->held_cap * 2 : 1024;
            c->held = mz_realloc(c->held, c->held_cap * sizeof(*c->held));
        }
    }
    c->held[c->held_head + c->held_n++] = h;
}

/* Before a sweep: what is printed (scan < ack) lets go; the rest are refs. */
static void held_refs(struct mz_collector *c)
{
    uint32_t ack = atomic_load(&c->ack_gen);
    while (c->held_n && c->held[c->held_head].gen < ack) {
        c->held_head++;
        c->held_n--;
    }
    if (!c->held_n)
        c->held_head = 0;
    for (size_t i = 0; i < c->held_n; i++) {
        const struct held_ref *h = &c->held[c->held_head + i];
        keyset_add(&c->ref_tasks, h->task[0]);
        keyset_add(&c->ref_tasks, h->task[1]);
        keyset_add(&c->ref_files, h->file[0]);
        keyset_add(&c->ref_files, h->file[1]);
        keyset_add(&c->ref_args, h->args);
    }
}

/* Strings drained from the ring, past RING_STR_MAX: each goes back into its
 * map when there is room again (the sweeps then keep it as long as a record
 * refers to it, and delete it after), and only those that still find no
 * room stay here. A task whose exe went to the ring at exec keeps its exe
 * path this way through a long flood. Past 4 x RING_STR_MAX of those, the
 * table is cleared: later joins that need them are counted join misses. */
static void ring_strings_settle(struct mz_collector *c, struct strtab *t, bool paths)
{
    struct strtab keep = {0};
    size_t back = 0;
    for (size_t i = 0; i < t->cap; i++) {
        struct strtab_entry *e = &t->e[i];
        if (!e->key)
            continue;
        size_t len = strlen(e->s);
        int map, err = -1;
        if (paths) {
            struct mz_file_val v;
            memset(&v, 0, sizeof(v));
            v.len = (uint32_t)(len < MZ_BPF_PATH_MAX - 1 ? len : MZ_BPF_PATH_MAX - 1);
            memcpy(v.path, e->s, v.len);
            v.gen = c->gen;
            v.mnt_ns = e->ns;
            map = v.len < MZ_BPF_PATH_SMALL ? MZ_MAP_FILES : MZ_MAP_FILES_LONG;
            err = bpf_map_update_elem(c->maps[map].fd, &e->key, &v, BPF_NOEXIST);
        } else {
            struct mz_args_val v;
            memset(&v, 0, sizeof(v));
            v.len = (uint32_t)(len < MZ_BPF_ARGS_MAX ? len : MZ_BPF_ARGS_MAX);
            memcpy(v.data, e->s, v.len);
            v.gen = c->gen;
            map = v.len <= MZ_BPF_ARGS_SMALL ? MZ_MAP_ARGS : MZ_MAP_ARGS_LONG;
            err = bpf_map_update_elem(c->maps[map].fd, &e->key, &v, BPF_NOEXIST);
        }
        if (err == 0 || errno == EEXIST) {
            if (err == 0)
                c->maps[map].restored++;
            back++;
            free(e->s);
        } else {
            strtab_put(&keep, e->key, e->s, e->ns);
        }
        e->s = NULL;
        e->key = 0;
    }
    t->n = 0;
    strtab_clear(t);
    free(t->e);
    *t = keep;
    log_debug("collector: %zu strings from the overflow ring back in their maps, %zu kept", back,
              t->n);
    if (t->n > 4 * RING_STR_MAX) {
        log_warn("collector: %zu strings from the overflow ring found no room in their maps: "
                 "dropped (records that need them will count join misses)",
                 t->n);
        strtab_clear(t);
    }
}

/* What a record refers to (its task, paths, command line) is kept in the
 * kernel until the record is delivered: the sweep's references. */
static void refs_add(struct mz_collector *c, int acc, const uint8_t *key, const uint8_t *val)
{
    uint64_t tk;
    memcpy(&tk, key, 8);
    switch (acc) {
    case MZ_MAP_EXECS: {
        const struct mz_exec_val *e = (const void *)val;
        keyset_add(&c->ref_tasks, tk);
        keyset_add(&c->ref_tasks, e->parent_key);
        keyset_add(&c->ref_files, e->exe_key);
        keyset_add(&c->ref_files, e->exe_seen_key);
        keyset_add(&c->ref_files, e->cwd_key);
        keyset_add(&c->ref_args, e->args_key);
        break;
    }
    case MZ_MAP_LINKS: {
        const struct mz_link_val *l = (const void *)val;
        keyset_add(&c->ref_tasks, tk);
        keyset_add(&c->ref_files, l->file_key);
        keyset_add(&c->ref_files, l->path2_key);
        break;
    }
    case MZ_MAP_FLOWS:
    case MZ_MAP_EVENTS:
        keyset_add(&c->ref_tasks, tk);
        break;
    default:
        break;
    }
}

static void pend_push(struct mz_collector *c, int acc, const void *key, size_t klen,
                      const void *val, size_t vlen, bool ring)
{
    if (c->pend_head + c->pend_n == c->pend_cap) {
        if (c->pend_head) {
            memmove(c->pend, c->pend + c->pend_head, c->pend_n * sizeof(*c->pend));
            c->pend_head = 0;
        } else {
            c->pend_cap = c->pend_cap ? c->pend_cap * 2 : 1024;
            c->pend = mz_realloc(c->pend, c->pend_cap * sizeof(*c->pend));
        }
    }
    struct pending *r = &c->pend[c->pend_head + c->pend_n++];
    memset(r, 0, sizeof(*r));
    r->acc = (uint8_t)acc;
    r->ring = ring;
    memcpy(r->key, key, klen);
    memcpy(r->val, val, vlen);
    refs_add(c, acc, r->key, r->val);
}

/* The one place that says a delivery is acknowledged, so that the records
 * delivered may leave the kernel: when the consumer has accepted every
 * observation of the scans up to now (pend_flush drained the pending list)
 * and, with a delivery cursor (daemon/cursor.h, col_ack), when the printers
 * have written them: a record read but not yet printed is still in its map
 * after a crash. */
static void delivery_ack(struct mz_collector *c)
{
    c->acked_scan = c->gen;
}

/* Whether a record whose last change is of generation g was delivered and
 * that delivery acknowledged: scan g or g+1 delivered it. */
static bool delivery_acked(const struct mz_collector *c, uint32_t g)
{
    /* and printed: the daemon's delivery cursor (col_ack), when it has one */
    return g + 1 <= c->acked_scan && g + 1 <= atomic_load(&c->ack_gen);
}

/* Delivers pending records in order. Returns the number emitted, and sets
 * *blocked when the consumer said -EAGAIN. */
static int pend_flush(struct mz_collector *c, col_emit_fn emit, void *ctx, bool *blocked)
{
    int n = 0;
    *blocked = false;
    while (c->pend_n) {
        struct pending *r = &c->pend[c->pend_head];
        struct mz_observation *o = build(c, r);
        if (o) {
            /* its source: the alert id and the delivery cursor use it */
            const struct col_map *m = &c->maps[r->acc];
            o->src.map = (uint8_t)(r->acc + 1);
            o->src.scan = c->gen;
            o->src.fp = fingerprint(r->val, m->val_size, m->off_gen);
            memcpy(o->src.key, r->key, sizeof(o->src.key));
            int err = emit(o, ctx);
            if (err == -EAGAIN) {
                mz_observation_free(o);
                *blocked = true;
                break;
            }
            if (err < 0) {
                /* The consumer refused it for good: counted, not retried. */
                mz_observation_free(o);
                log_warn("collector: observation refused: %s", strerror(-err));
            } else {
                n++;
            }
        }
        if (r->ring) {
            c->maps[r->acc].from_ring++;
            if (c->journal && (r->acc == MZ_MAP_LINKS || r->acc == MZ_MAP_EXECS ||
                               r->acc == MZ_MAP_FLOWS || r->acc == MZ_MAP_EVENTS))
                held_push(c, r);
        }
        c->pend_head++;
        c->pend_n--;
    }
    if (!c->pend_n) {
        c->pend_head = 0;
        delivery_ack(c);
        /* Strings drained from the ring that their map had no room for:
         * records in the maps may refer to them (a task's exe at exec), so
         * they stay, up to a bound (past it, later joins may miss them,
         * counted as join misses). */
        if (c->ring_paths.n > RING_STR_MAX && !c->ring_partial)
            ring_strings_settle(c, &c->ring_paths, true);
        if (c->ring_argv.n > RING_STR_MAX && !c->ring_partial)
            ring_strings_settle(c, &c->ring_argv, false);
    }
    /* Do not keep a large buffer once drained. */
    if (!c->pend_n && c->pend_cap > 65536) {
        free(c->pend);
        c->pend = NULL;
        c->pend_cap = 0;
    }
    c->emitted += (uint64_t)n;
    return n;
}

/* ---- the overflow ring ------------------------------------------------------------ */

/* One record the kernel handed to the ring: delivered like a record read
 * from its map (records), or kept for the joins (tasks, strings). */
static int ring_record(void *ctx, void *data, size_t len)
{
    struct mz_collector *c = ctx;
    const struct mz_overflow_hdr *h = data;
    if (len < sizeof(*h) || h->map >= MZ_MAP_COUNT)
        return 0;
    const uint8_t *val = (const uint8_t *)data + sizeof(*h);
    size_t vlen = len - sizeof(*h);
    if (h->val_size < vlen)
        vlen = h->val_size;
    struct col_map *m = &c->maps[h->map];
    uint64_t key;
    memcpy(&key, h->key, 8);
    if (!m->name || vlen < m->val_size) {
        m->lost_join++; /* cannot happen: a layout mismatch */
        return 0;
    }
    switch (m->kind) {
    case COL_RECORDS:
        pend_push(c, m->acc, h->key, m->key_size, val, m->val_size, true);
        break;
    case COL_TASKS:
    case COL_STRINGS:
        /* Back into the map when it has room again: records already in the
         * maps (a task updated in place at exec) may refer to it, and the
         * sweeps keep it as long as one does. */
        if (bpf_map_update_elem(m->fd, h->key, val, BPF_NOEXIST) == 0) {
            m->restored++;
            break;
        }
        if (m->kind == COL_STRINGS)
            goto strings;
        if ((c->ring_tasks.n + 1) * 4 > c->ring_tasks.cap * 3) {
            memset(c->ring_tasks.s, 0, c->ring_tasks.cap * sizeof(*c->ring_tasks.s));
            c->ring_tasks.n = 0;
        }
        task_put(&c->ring_tasks, key, (const struct mz_task_val *)(const void *)val);
        m->from_ring++;
        break;
    strings:
        if (m->acc == MZ_MAP_FILES || m->acc == MZ_MAP_FILES_LONG) {
            struct mz_file_val v;
            memset(&v, 0, sizeof(v));
            memcpy(&v, val, vlen < sizeof(v) ? vlen : sizeof(v));
            strtab_put(&c->ring_paths, key,
                       path_text(&v, vlen - offsetof(struct mz_file_val, path)), v.mnt_ns);
        } else {
            const struct mz_args_val *a = (const void *)val;
            size_t cap = vlen - offsetof(struct mz_args_val, data);
            size_t n = a->len < cap ? a->len : cap;
            strtab_put(&c->ring_argv, key, col_join_args(a->data, n, a->flags & MZ_REC_TRUNCATED),
                       0);
        }
        m->from_ring++;
        break;
    default:
        break;
    }
    /* in the daemon's memory only, or back in a map whose sweeps may take it
     * once the record that needs it is delivered (not printed): journaled */
    col_journal_add(c->journal, c->gen, data, len);
    if (c->replaying)
        return 0;
    /* A flooder writes as fast as this reads: a drain takes a bounded
     * number of records, so that it returns. */
    if (c->pend_n >= RING_PEND_MAX || --c->ring_budget == 0) {
        c->ring_partial = true;
        return -ENOSPC; /* this record is taken; the rest waits in the ring */
    }
    return 0;
}

/* Drains the overflow ring into the pending list (up to RING_PEND_MAX). */
static void ring_drain(struct mz_collector *c)
{
    if (c->pend_n >= RING_PEND_MAX) {
        c->ring_partial = true;
        return;
    }
    c->ring_partial = false;
    c->ring_budget = RING_DRAIN_MAX;
    int n = ring_buffer__consume(c->ring);
    if (n < 0 && n != -ENOSPC)
        log_debug("collector: overflow ring: %s", strerror(-n));
    /* on disk before any of them is delivered */
    (void)col_journal_flush(c->journal);
}

static int journal_record(void *ctx, void *rec, size_t len)
{
    return ring_record(ctx, rec, len);
}

/* The first scan of a daemon that adopted pinned maps: the records the last
 * one drained from the ring and may not have printed, delivered again (the
 * printers skip alert ids already in the logs). */
static void journal_replay(struct mz_collector *c)
{
    if (!c->journal_replay)
        return;
    c->journal_replay = false;
    uint64_t torn = 0;
    c->replaying = true;
    (void)col_journal_replay(c->journal, c->resume ? c->resume_gen : 0, journal_record, c, &torn);
    c->replaying = false;
    (void)col_journal_flush(c->journal);
}

/* ---- walks ----------------------------------------------------------------------- */

static uint64_t fingerprint(const uint8_t *val, size_t len, size_t off_gen)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        if (i >= off_gen && i < off_gen + 4)
            continue;
        h = (h ^ val[i]) * 0x100000001b3ull;
    }
    return h;
}

/* Whether a record delivered in an earlier scan, and unchanged since, may
 * leave its map: execs (immutable) always; links, flows and events once
 * their process has exited (a new record would have another task key), or
 * when their map is past three quarters full (a later action makes a new
 * record, delivered in turn: its count starts again). */
static bool retirable(struct mz_collector *c, const struct col_map *m, const uint8_t *key)
{
    if (m->acc == MZ_MAP_EXECS)
        return true;
    if (m->kind != COL_RECORDS)
        return false;
    if (m->crowded)
        return true;
    uint64_t tk;
    memcpy(&tk, key, 8);
    const struct mz_task_val *t = task_find(&c->tasks, tk);
    return t && t->exit_ns;
}

static void retire_push(struct col_map *m, const uint8_t *key)
{
    if (m->n_retire == m->cap_retire) {
        m->cap_retire = m->cap_retire ? m->cap_retire * 2 : 1024;
        m->retire = mz_realloc(m->retire, m->cap_retire * m->key_size);
    }
    memcpy(m->retire + m->n_retire * m->key_size, key, m->key_size);
    m->n_retire++;
}

/* Takes the retired records out of the map, each with the value it had
 * when it went: one that changed after the walk read it (gen >= s) is
 * delivered now, as its last version, rather than lost. */
static void retire_flush(struct mz_collector *c, struct col_map *m)
{
    uint8_t val[VAL_MAX];
    for (size_t i = 0; i < m->n_retire; i++) {
        const uint8_t *key = m->retire + i * m->key_size;
        if (bpf_map_lookup_and_delete_elem(m->fd, key, val) < 0)
            continue; /* gone already */
        m->deleted++;
        uint32_t g;
        memcpy(&g, val + m->off_gen, 4);
        if (g >= c->gen && m->kind == COL_RECORDS)
            pend_push(c, m->acc, key, m->key_size, val, m->val_size, false);
    }
    m->n_retire = 0;
    if (m->cap_retire > 65536) {
        free(m->retire);
        m->retire = NULL;
        m->cap_retire = 0;
    }
}

static void visit(struct mz_collector *c, struct col_map *m, const uint8_t *key, const uint8_t *val)
{
    uint32_t s = c->gen;
    uint32_t g, cg;
    uint64_t first;
    uint8_t k16[16] = {0};
    memcpy(&g, val + m->off_gen, 4);
    memcpy(&cg, val + m->off_cgen, 4);
    memcpy(&first, val + m->off_first, 8);
    memcpy(k16, key, m->key_size);
    m->entries++;

    if (m->acc == MZ_MAP_TASKS) {
        uint64_t tk;
        memcpy(&tk, key, 8);
        task_put(&c->tasks, tk, (const struct mz_task_val *)(const void *)val);
    }

    /* Seen: creations of this generation now, of the last one unless that
     * scan already counted this very record. */
    bool counted_now = false;
    if (cg == s) {
        m->seen_slot[s % MZ_GEN_SLOTS]++;
        counted_now = true;
    } else if (cg == s - 1) {
        struct ahead_entry *e = ahead_find(&m->prev, k16);
        if (!(e && e->first == first && e->counted))
            m->seen_slot[(s - 1) % MZ_GEN_SLOTS]++;
    }
    if (m->acc == MZ_MAP_TASKS)
        return; /* joined, not delivered; swept by sweep_tasks */

    bool deliver = false;
    uint64_t fp = 0;
    if (g == s) {
        fp = fingerprint(val, m->val_size, m->off_gen);
        ahead_put(&m->cur, k16, first, fp, counted_now);
        deliver = true;
    } else if (g == s - 1) {
        fp = fingerprint(val, m->val_size, m->off_gen);
        struct ahead_entry *e = ahead_find(&m->prev, k16);
        deliver = !(e && e->first == first && e->fp == fp);
    } else if (c->resume && g >= c->resume_gen) {
        deliver = true; /* first scan after a restart: maybe not yet printed */
    }
    if (deliver) {
        pend_push(c, m->acc, key, m->key_size, val, m->val_size, false);
    } else if (delivery_acked(c, g) && retirable(c, m, key)) {
        retire_push(m, key);
    } else {
        refs_add(c, m->acc, k16, val); /* stays: what it refers to stays too */
    }
}

static int walk(struct mz_collector *c, struct col_map *m)
{
    uint64_t in_batch = 0, out_batch = 0;
    bool first = true;
    m->entries = 0;
    ahead_clear(&m->cur);
    for (;;) {
        uint32_t n = BATCH;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_batch(m->fd, first ? NULL : &in_batch, &out_batch, c->keys,
                                       c->vals, &n, &opts);
        if (err < 0)
            err = -errno;
        first = false;
        if (err < 0 && err != -ENOENT) {
            log_error("collector: reading map %s: %s", m->name, strerror(-err));
            return err;
        }
        for (uint32_t i = 0; i < n; i++)
            visit(c, m, (const uint8_t *)c->keys + (size_t)i * m->key_size,
                  (const uint8_t *)c->vals + (size_t)i * m->val_size);
        if (err == -ENOENT)
            break;
        in_batch = out_batch;
    }
    retire_flush(c, m);
    /* cur becomes prev for the next scan. */
    struct ahead tmp = m->prev;
    m->prev = m->cur;
    m->cur = tmp;
    return 0;
}

/* ---- sweeps --------------------------------------------------------------------- */

/* Tasks: one that exited a scan ago or more goes once no record held or
 * pending refers to it, and it is no kept task's ancestor (ancestry joins
 * through parents). Runs after the record walks, which filled ref_tasks. */
static void sweep_tasks(struct mz_collector *c)
{
    struct col_map *m = &c->maps[MZ_MAP_TASKS];
    struct task_table *t = &c->tasks;
    /* Kept: alive, recently changed, or referred to; then their ancestors. */
    for (size_t i = 0; i < t->cap; i++) {
        const struct task_slot *e = &t->s[i];
        if (e->key && (!e->v.exit_ns || !delivery_acked(c, e->v.gen)))
            keyset_add(&c->ref_tasks, e->key);
    }
    for (size_t i = 0; i < t->cap; i++) {
        const struct task_slot *e = &t->s[i];
        if (!e->key || !keyset_has(&c->ref_tasks, e->key))
            continue;
        uint64_t pk = e->v.parent_key;
        for (int d = 0; d < MZ_ANCESTRY_MAX && pk; d++) {
            const struct mz_task_val *p = task_find(t, pk);
            keyset_add(&c->ref_tasks, pk);
            pk = p ? p->parent_key : 0;
        }
    }
    /* tasks from the ring (their map was full) keep their strings too */
    for (size_t i = 0; i < c->ring_tasks.cap; i++) {
        const struct task_slot *e = &c->ring_tasks.s[i];
        if (e->key) {
            keyset_add(&c->ref_files, e->v.exe_key);
            keyset_add(&c->ref_files, e->v.exe_seen_key);
            keyset_add(&c->ref_args, e->v.args_key);
        }
    }
    for (size_t i = 0; i < t->cap; i++) {
        const struct task_slot *e = &t->s[i];
        if (!e->key)
            continue;
        if (keyset_has(&c->ref_tasks, e->key)) {
            keyset_add(&c->ref_files, e->v.exe_key);
            keyset_add(&c->ref_files, e->v.exe_seen_key);
            keyset_add(&c->ref_args, e->v.args_key);
            continue;
        }
        uint64_t key = e->key;
        struct mz_task_val v;
        if (bpf_map_lookup_and_delete_elem(m->fd, &key, &v) < 0)
            continue;
        m->deleted++;
    }
}

/* Paths and command lines: a record goes when nothing kept or pending
 * refers to it and no record made since the scan before last found it
 * (gen, stamped by the kernel whenever a new record refers to it). One a
 * new record found between the walk and the delete is put back. */
static void sweep_strings(struct mz_collector *c, struct col_map *m, const struct keyset *refs)
{
    uint64_t in_batch = 0, out_batch = 0;
    bool first = true;
    uint32_t s = c->gen;
    uint8_t *val = mz_calloc(1, m->val_size);
    m->entries = 0;
    for (;;) {
        uint32_t n = GC_BATCH;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_batch(m->fd, first ? NULL : &in_batch, &out_batch, c->gc_keys,
                                       c->gc_vals, &n, &opts);
        if (err < 0)
            err = -errno;
        first = false;
        if (err < 0 && err != -ENOENT) {
            log_error("collector: reading map %s: %s", m->name, strerror(-err));
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            uint64_t key;
            uint32_t g;
            memcpy(&key, (const uint8_t *)c->gc_keys + (size_t)i * 8, 8);
            memcpy(&g, (const uint8_t *)c->gc_vals + (size_t)i * m->val_size + m->off_gen, 4);
            m->entries++;
            if (keyset_has(refs, key) || g + 2 > s)
                continue;
            if (bpf_map_lookup_and_delete_elem(m->fd, &key, val) < 0)
                continue;
            memcpy(&g, val + m->off_gen, 4);
            if (g + 2 > s && bpf_map_update_elem(m->fd, &key, val, BPF_NOEXIST) == 0)
                continue; /* found again meanwhile: back */
            m->deleted++;
            m->entries--;
        }
        if (err == -ENOENT)
            break;
        in_batch = out_batch;
    }
    free(val);
}

/* The one age sweep of sweep_domains and sweep_dns_names: every entry of
 * map fd (keys of key_size, values of val_size whose boot-ns "seen" time is
 * at off_seen) not seen for DOMAIN_TTL_NS is deleted. *entries gets how many
 * are left and *deleted grows by how many went (either may be NULL). */
static void sweep_aged(struct mz_collector *c, int fd, size_t key_size, size_t val_size,
                       size_t off_seen, uint64_t *entries, uint64_t *deleted)
{
    uint64_t in_batch = 0, out_batch = 0, left = 0, gone = 0;
    bool first = true;
    uint64_t now = mz_boottime_ns();
    for (;;) {
        uint32_t n = GC_BATCH;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, c->gc_keys,
                                       c->gc_vals, &n, &opts);
        if (err < 0)
            err = -errno;
        first = false;
        if (err < 0 && err != -ENOENT)
            break;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t seen;
            memcpy(&seen, (const uint8_t *)c->gc_vals + (size_t)i * val_size + off_seen, 8);
            left++;
            if (seen + DOMAIN_TTL_NS > now)
                continue;
            if (bpf_map_delete_elem(fd, (const uint8_t *)c->gc_keys + (size_t)i * key_size) == 0) {
                gone++;
                left--;
            }
        }
        if (err == -ENOENT)
            break;
        in_batch = out_batch;
    }
    if (entries)
        *entries = left;
    if (deleted)
        *deleted += gone;
}

/* ip -> domain: answers older than DOMAIN_TTL_NS go when the map is past
 * half full (a flow joins its domain within a scan or two of the answer). */
static void sweep_domains(struct mz_collector *c, struct col_map *m)
{
    sweep_aged(c, m->fd, m->key_size, m->val_size, offsetof(struct mz_dns_val, seen_ns),
               &m->entries, &m->deleted);
}

/* dns_names: names no answer gave for DOMAIN_TTL_NS go (an LRU: a flood
 * of names evicts the least recent ones anyway; this keeps the recent ones
 * from being evicted for stale ones). A domains entry listing a name that
 * went shows the names that are left. */
static void sweep_dns_names(struct mz_collector *c)
{
    sweep_aged(c, c->fd_dns_names, sizeof(uint64_t), sizeof(struct mz_dns_name),
               offsetof(struct mz_dns_name, seen_ns), NULL, NULL);
}

/* Records in map m by the kernel's counts: made there, minus taken out. */
static uint64_t map_fill(const struct col_map *m)
{
    uint64_t in = m->in_map + m->restored;
    return in > m->deleted ? in - m->deleted : 0;
}

static bool past_half(const struct col_map *m)
{
    return m->max_entries && map_fill(m) * 2 > m->max_entries;
}

static void sweep(struct mz_collector *c)
{
    /* Records still in the ring may refer to tasks and strings in the maps
     * that nothing else refers to: no sweep until it has been drained (what
     * enters it after this scan's drain refers to records stamped with this
     * generation, which the sweeps keep). */
    if (c->ring_partial)
        return;
    held_refs(c);
    sweep_tasks(c);
    for (int i = MZ_MAP_FILES; i <= MZ_MAP_ARGS_LONG; i++) {
        struct col_map *m = &c->maps[i];
        bool due = map_fill(m) * 4 > m->max_entries || c->gen % STR_GC_EVERY == 0;
        if (!due)
            continue;
        bool files = i == MZ_MAP_FILES || i == MZ_MAP_FILES_LONG;
        sweep_strings(c, m, files ? &c->ref_files : &c->ref_args);
    }
    bool domains_due = past_half(&c->maps[MZ_MAP_DOMAINS]);
    if (domains_due)
        sweep_domains(c, &c->maps[MZ_MAP_DOMAINS]);
    if (domains_due || c->gen % NAMES_GC_EVERY == 0)
        sweep_dns_names(c);
}

static int read_counters(struct mz_collector *c, struct mz_counters *sum)
{
    uint32_t zero = 0;
    memset(sum, 0, sizeof(*sum));
    if (bpf_map_lookup_elem(c->fd_counters, &zero, c->ctr) < 0)
        return -errno;
    for (int cpu = 0; cpu < c->ncpus; cpu++) {
        const struct mz_counters *p = &c->ctr[cpu];
        for (int m = 0; m < MZ_MAP_COUNT; m++) {
            for (int g = 0; g < MZ_GEN_SLOTS; g++)
                sum->created[m][g] += p->created[m][g];
            sum->overflowed[m] += p->overflowed[m];
            sum->lost_full[m] += p->lost_full[m];
            sum->lost_read[m] += p->lost_read[m];
            sum->updated[m] += p->updated[m];
            sum->aggregated[m] += p->aggregated[m];
        }
        sum->truncated += p->truncated;
        sum->read_errors += p->read_errors;
        sum->hits += p->hits;
    }
    return 0;
}

/* The kernel's counts into the maps' figures. */
static void take_counts(struct mz_collector *c, const struct mz_counters *sum)
{
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        struct col_map *m = &c->maps[i];
        uint64_t in_map = 0;
        for (int g = 0; g < MZ_GEN_SLOTS; g++)
            in_map += sum->created[i][g];
        m->in_map = in_map;
        m->overflowed = sum->overflowed[i];
        m->lost_full = sum->lost_full[i];
        m->lost_read = sum->lost_read[i];
        m->updated = sum->updated[i];
        m->aggregated = sum->aggregated[i];
    }
    c->truncated = sum->truncated;
    c->read_errors = sum->read_errors;
}

/* Records made, or attempted and lost for want of room or of something to
 * read. */
static uint64_t map_created(const struct col_map *m)
{
    return m->in_map + m->overflowed + m->lost_full + m->lost_read;
}

static uint64_t map_lost(const struct col_map *m)
{
    return m->lost_full + m->lost_read + m->lost_join;
}

/* Records delivered: records maps, the creations first seen in a walk and
 * those delivered from the ring; the others, the records taken out of the
 * map or drained from the ring (tasks, strings and domains are joined into
 * observations, not delivered on their own). */
static uint64_t map_delivered(const struct col_map *m)
{
    if (m->kind == COL_RECORDS)
        return m->seen + m->from_ring;
    return m->deleted + m->from_ring;
}

/* The cache.* key that sizes map m. */
static const char *cache_key(const struct col_map *m)
{
    switch (m->acc) {
    case MZ_MAP_TASKS:
    case MZ_MAP_EXECS:
        return "tasks";
    case MZ_MAP_LINKS:
        return "file_links";
    case MZ_MAP_FLOWS:
    case MZ_MAP_EVENTS:
        return "flows";
    case MZ_MAP_FILES:
    case MZ_MAP_FILES_LONG:
        return "files";
    case MZ_MAP_ARGS:
    case MZ_MAP_ARGS_LONG:
        return "args";
    default:
        return "domains";
    }
}

/* Compares the creations of generation s-1 with what was seen of them, and
 * warns about new losses, naming the map. */
static void resolve(struct mz_collector *c, const struct mz_counters *sum)
{
    uint32_t g = c->gen - 1;
    int slot = (int)(g % MZ_GEN_SLOTS);
    take_counts(c, sum);
    uint64_t now = mz_monotonic_ns();
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        struct col_map *m = &c->maps[i];
        if (m->kind <= COL_TASKS) {
            uint64_t made = sum->created[i][slot];
            uint64_t created = made - m->created_last[slot];
            uint64_t seen = m->seen_slot[slot];
            m->created_last[slot] = made;
            m->seen_slot[slot] = 0;
            /* a record inserted just as the scan began is restamped into the
             * new generation and may be seen under both: count it once */
            m->seen += seen < created ? seen : created;
            if (created > seen) {
                m->unaccounted += created - seen;
                log_warn("collector: map %s: %llu records of generation %u left unseen (%llu "
                         "created, %llu seen)",
                         m->name, (unsigned long long)(created - seen), g,
                         (unsigned long long)created, (unsigned long long)seen);
            }
        }
        uint64_t lost = map_lost(m);
        if (lost > m->lost_logged && now - m->logged_ns >= LOSS_LOG_NS) {
            log_warn("collector: map %s: %llu records lost (%llu map and overflow ring full, "
                     "%llu unreadable, %llu join misses); consider a larger cache.%s or "
                     "cache.overflow",
                     m->name, (unsigned long long)(lost - m->lost_logged),
                     (unsigned long long)m->lost_full, (unsigned long long)m->lost_read,
                     (unsigned long long)m->lost_join, cache_key(m));
            m->lost_logged = lost;
            m->logged_ns = now;
        }
    }
}

/* Adopted maps: the pinned counters hold every creation since the pins were
 * made. The creations of the generations the last daemon did not resolve
 * cannot be told from those it did, so the accounting starts again from the
 * counters as they are now (bpf/README.md, "Pinning and restarts"). */
static void adopt_accounting(struct mz_collector *c)
{
    struct mz_counters sum;
    if (read_counters(c, &sum) < 0)
        return;
    for (int i = 0; i < MZ_MAP_COUNT; i++)
        for (int g = 0; g < MZ_GEN_SLOTS; g++)
            c->maps[i].created_last[g] = sum.created[i][g];
}

static void publish(struct mz_collector *c)
{
    struct col_snapshot s;
    memset(&s, 0, sizeof(s));
    s.scans = c->scans;
    s.early_scans = c->early_scans;
    s.emitted = c->emitted;
    s.paused = c->paused;
    s.pending = c->pend_n;
    s.last_scan_us = c->last_scan_us;
    s.truncated = c->truncated;
    s.read_errors = c->read_errors;
    s.miss_task = c->miss_task;
    s.miss_file = c->miss_file;
    s.miss_args = c->miss_args;
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        const struct col_map *m = &c->maps[i];
        if (!m->name)
            continue;
        struct map_stats *ms = &s.maps[s.n_maps++];
        (void)mz_strlcpy(ms->name, m->name, sizeof(ms->name));
        ms->kind = m->kind;
        ms->created = map_created(m);
        ms->updated = m->updated;
        ms->delivered = map_delivered(m);
        ms->lost_full = m->lost_full;
        ms->lost_read = m->lost_read;
        ms->lost_join = m->lost_join;
        ms->overflowed = m->overflowed;
        ms->unaccounted = m->unaccounted;
        ms->deleted = m->deleted;
        ms->entries = map_fill(m);
        ms->max_entries = m->max_entries;
        ms->aggregated = m->aggregated;
        s.aggregated += m->aggregated;
        s.unaccounted += m->unaccounted;
        s.lost += map_lost(m);
    }
    memcpy(s.aggr, c->aggr, sizeof(s.aggr));
    s.interest_gen = col_interest_generation(c->interest);
    col_journal_counts(c->journal, &s.journal_written, &s.journal_replayed);
    col_enrich_stats(c->enrich, &s.enrich);
    pthread_mutex_lock(&c->snap_lock);
    c->snap = s;
    pthread_mutex_unlock(&c->snap_lock);
}

bool col_due(struct mz_collector *c)
{
    ring_drain(c);
    if (c->pend_n >= RING_DUE)
        return true;
    struct mz_counters sum;
    if (read_counters(c, &sum) < 0)
        return false;
    take_counts(c, &sum);
    for (int i = 0; i < MZ_MAP_COUNT; i++)
        if (c->maps[i].kind != COL_DOMAINS && past_half(&c->maps[i]))
            return true;
    return false;
}

void col_note_early(struct mz_collector *c)
{
    c->early_scans++;
}

/* One task's aggregate (col_interest_drain) into the top list. */
static void aggr_take(uint64_t task_key, const struct mz_aggr_val *v, void *arg)
{
    struct mz_collector *c = arg;
    struct aggr_task *slot = NULL;
    for (int i = 0; i < AGGR_TOP && !slot; i++)
        if (c->aggr[i].count && c->aggr[i].task_key == task_key)
            slot = &c->aggr[i];
    if (!slot) {
        /* a new task takes the smallest slot when it has more */
        struct aggr_task *min = &c->aggr[0];
        for (int i = 1; i < AGGR_TOP; i++)
            if (c->aggr[i].count < min->count)
                min = &c->aggr[i];
        if (min->count >= v->count)
            return;
        memset(min, 0, sizeof(*min));
        min->task_key = task_key;
        min->pid = v->tgid;
        const struct mz_task_val *t = task_get(c, task_key);
        if (t)
            memcpy(min->comm, t->comm,
                   sizeof(min->comm) - 1); /* NUL-padded, the last byte stays 0 */
        slot = min;
    }
    slot->count += v->count;
    slot->actions |= v->actions;
    slot->last_ns = v->last_ns;
    uint64_t now = mz_monotonic_ns();
    if (now - c->aggr_logged_ns >= LOSS_LOG_NS) {
        log_info("collector: under pressure: %llu file records of pid %u (%s) aggregated, %llu so "
                 "far in all (no loaded recipe could alert on them; mizan status: "
                 "aggregated_tasks)",
                 (unsigned long long)v->count, v->tgid, slot->comm[0] ? slot->comm : "?",
                 (unsigned long long)c->maps[MZ_MAP_LINKS].aggregated);
        c->aggr_logged_ns = now;
    }
}

int col_set_interest(struct mz_collector *c, const struct det_interest *ii, uint64_t generation)
{
    if (!c || !c->interest)
        return -EINVAL;
    return col_interest_load(c->interest, ii, generation);
}

uint64_t col_interest_gen(const struct mz_collector *c)
{
    return c ? col_interest_generation(c->interest) : 0;
}

int col_scan(struct mz_collector *c, col_emit_fn emit, void *ctx)
{
    journal_replay(c);
    col_journal_ack(c->journal, atomic_load(&c->ack_gen));
    bool blocked;
    int total = pend_flush(c, emit, ctx, &blocked);
    if (blocked) {
        c->paused++;
        publish(c);
        return -EAGAIN;
    }

    uint64_t t0 = mz_monotonic_ns();
    c->boot_to_wall = mz_now_ns() - mz_boottime_ns();
    col_enrich_begin_scan(c->enrich);
    struct mz_counters sum;
    if (read_counters(c, &sum) == 0)
        take_counts(c, &sum);
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        const struct col_map *m = &c->maps[i];
        c->maps[i].crowded = m->max_entries && map_fill(m) * 4 > (uint64_t)m->max_entries * 3;
    }
    c->gen++;
    int gerr = set_gen(c, c->gen);
    if (gerr < 0) {
        c->gen--;
        log_error("collector: cannot set the scan generation: %s", strerror(-gerr));
        return gerr;
    }
    keyset_clear(&c->ref_tasks);
    keyset_clear(&c->ref_files);
    keyset_clear(&c->ref_args);
    ring_drain(c);
    /* mount tables read before a mount change are read again */
    col_mntns_epoch(c->mntns,
                    c->skel->bss ? *(volatile uint32_t *)&c->skel->bss->path_epoch : c->gen);

    /* Tasks first: the other records join through them. */
    memset(c->tasks.s, 0, c->tasks.cap * sizeof(*c->tasks.s));
    c->tasks.n = 0;
    static const int order[] = {MZ_MAP_TASKS, MZ_MAP_EXECS,  MZ_MAP_LINKS,
                                MZ_MAP_FLOWS, MZ_MAP_EVENTS, MZ_MAP_TAMPER};
    for (size_t i = 0; i < MZ_ARRAY_SIZE(order); i++) {
        int err = walk(c, &c->maps[order[i]]);
        if (err < 0)
            return err;
    }
    sweep(c);
    (void)col_interest_drain(c->interest, aggr_take, c);
    c->resume = false;
    int err = read_counters(c, &sum);
    if (err < 0) {
        log_error("collector: reading counters: %s", strerror(-err));
        return err;
    }
    resolve(c, &sum);
    c->scans++;

    int n = pend_flush(c, emit, ctx, &blocked);
    total += n;
    c->last_scan_us = (mz_monotonic_ns() - t0) / 1000;
    if (blocked)
        c->paused++;
    publish(c);
    return blocked ? -EAGAIN : total;
}

void col_prog_stats(const struct mz_collector *c, uint64_t *run_ns, uint64_t *runs)
{
    *run_ns = *runs = 0;
    struct bpf_program *p;
    bpf_object__for_each_program(p, c->skel->obj)
    {
        int fd = bpf_program__fd(p);
        if (fd < 0)
            continue; /* not loaded here */
        struct bpf_prog_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
            *run_ns += info.run_time_ns;
            *runs += info.run_cnt;
        }
    }
}

bool col_direct_reads(const struct mz_collector *c)
{
    return c->direct_reads;
}

uint64_t col_evicted_unseen(const struct mz_collector *c)
{
    uint64_t n = 0;
    for (int i = 0; i < MZ_MAP_COUNT; i++)
        n += c->maps[i].unaccounted;
    return n;
}

uint64_t col_lost(const struct mz_collector *c)
{
    uint64_t n = 0;
    for (int i = 0; i < MZ_MAP_COUNT; i++)
        n += map_lost(&c->maps[i]);
    return n;
}

int col_map_counts(const struct mz_collector *c, const char *name, struct col_map_counts *out)
{
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        const struct col_map *m = &c->maps[i];
        if (!m->name || strcmp(m->name, name) != 0)
            continue;
        out->created = map_created(m);
        out->updated = m->updated;
        out->delivered = map_delivered(m);
        out->lost_full = m->lost_full;
        out->lost_read = m->lost_read;
        out->lost_join = m->lost_join;
        out->overflowed = m->overflowed;
        out->entries = map_fill(m);
        out->aggregated = m->aggregated;
        return 0;
    }
    return -ENOENT;
}

cJSON *col_stats_json(const struct mz_collector *c)
{
    struct col_snapshot s;
    pthread_mutex_lock((pthread_mutex_t *)&c->snap_lock);
    s = c->snap;
    pthread_mutex_unlock((pthread_mutex_t *)&c->snap_lock);

    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "scans", (double)s.scans);
    /* scans started before the cadence: a map past half full, or records
     * waiting in the overflow ring */
    cJSON_AddNumberToObject(o, "early_scans", (double)s.early_scans);
    cJSON_AddNumberToObject(o, "emitted", (double)s.emitted);
    cJSON_AddNumberToObject(o, "pending", (double)s.pending);
    /* scans cut short because the detect queue was full */
    cJSON_AddNumberToObject(o, "paused", (double)s.paused);
    cJSON_AddNumberToObject(o, "last_scan_us", (double)s.last_scan_us);
    /* records lost, every map and reason (per map below) */
    cJSON_AddNumberToObject(o, "lost", (double)s.lost);
    /* records that left a map unseen: 0 by construction (no eviction) */
    cJSON_AddNumberToObject(o, "evicted_unseen", (double)s.unaccounted);
    cJSON_AddNumberToObject(o, "truncated", (double)s.truncated);
    cJSON_AddNumberToObject(o, "read_errors", (double)s.read_errors);
    /* records whose task, path or command line was gone when joined */
    cJSON *jm = cJSON_AddObjectToObject(o, "join_misses");
    if (jm) {
        cJSON_AddNumberToObject(jm, "task", (double)s.miss_task);
        cJSON_AddNumberToObject(jm, "file", (double)s.miss_file);
        cJSON_AddNumberToObject(jm, "args", (double)s.miss_args);
    }
    /* records no loaded recipe could alert on, aggregated per task under
     * pressure instead of made (bpf/helpers/interest.h) */
    cJSON_AddNumberToObject(o, "aggregated", (double)s.aggregated);
    cJSON_AddNumberToObject(o, "interest_generation", (double)s.interest_gen);
    /* records drained from the overflow ring, journaled for a restart; and
     * those a restart delivered again from the last daemon's journal */
    cJSON *rj = cJSON_AddObjectToObject(o, "ring_journal");
    if (rj) {
        cJSON_AddNumberToObject(rj, "written", (double)s.journal_written);
        cJSON_AddNumberToObject(rj, "replayed", (double)s.journal_replayed);
    }
    cJSON *at = cJSON_AddArrayToObject(o, "aggregated_tasks");
    for (size_t i = 0; at && i < AGGR_TOP && s.aggr[i].count; i++) {
        cJSON *t = cJSON_CreateObject();
        if (!t)
            break;
        cJSON_AddNumberToObject(t, "pid", s.aggr[i].pid);
        cJSON_AddStringToObject(t, "comm", s.aggr[i].comm);
        cJSON_AddNumberToObject(t, "count", (double)s.aggr[i].count);
        cJSON *acts = cJSON_AddArrayToObject(t, "actions");
        for (uint32_t b = 0; acts && b < MZ_FA_COUNT; b++) {
            const char *an = (s.aggr[i].actions >> b) & 1 ? mz_file_action_name(1u << b) : NULL;
            if (an)
                cJSON_AddItemToArray(acts, cJSON_CreateString(an));
        }
        cJSON_AddItemToArray(at, t);
    }
    cJSON *maps = cJSON_AddObjectToObject(o, "maps");
    for (size_t i = 0; maps && i < s.n_maps; i++) {
        const struct map_stats *m = &s.maps[i];
        cJSON *j = cJSON_AddObjectToObject(maps, m->name);
        if (!j)
            break;
        cJSON_AddNumberToObject(j, "created", (double)m->created);
        /* changes to a record after the scan that last read it */
        cJSON_AddNumberToObject(j, "updated", (double)m->updated);
        cJSON_AddNumberToObject(j, "delivered", (double)m->delivered);
        cJSON *l = cJSON_AddObjectToObject(j, "lost");
        if (l) {
            cJSON_AddNumberToObject(l, "full", (double)m->lost_full);
            cJSON_AddNumberToObject(l, "read_error", (double)m->lost_read);
            cJSON_AddNumberToObject(l, "join_miss", (double)m->lost_join);
        }
        /* taken by the overflow ring when the map was full */
        cJSON_AddNumberToObject(j, "overflowed", (double)m->overflowed);
        /* not made: map full, no loaded recipe could alert on them (not a loss) */
        cJSON_AddNumberToObject(j, "aggregated", (double)m->aggregated);
        cJSON_AddNumberToObject(j, "deleted", (double)m->deleted);
        cJSON_AddNumberToObject(j, "entries", (double)m->entries);
        cJSON_AddNumberToObject(j, "max_entries", (double)m->max_entries);
        double fill = m->max_entries ? (double)m->entries / (double)m->max_entries : 0;
        cJSON_AddNumberToObject(j, "fill", fill > 1 ? 1 : fill);
    }
    cJSON *e = cJSON_AddObjectToObject(o, "exe_hashes");
    if (e) {
        cJSON_AddNumberToObject(e, "hits", (double)s.enrich.sha_hits);
        cJSON_AddNumberToObject(e, "misses", (double)s.enrich.sha_misses);
        cJSON_AddNumberToObject(e, "errors", (double)s.enrich.sha_errors);
        cJSON_AddNumberToObject(e, "deferred", (double)s.enrich.sha_deferred);
    }
    return o;
}

/* ---- pinning and restarts ------------------------------------------------------ */

void col_resume(struct mz_collector *c, uint32_t from_gen)
{
    c->resume = true;
    c->resume_gen = from_gen;
    atomic_store(&c->ack_gen, from_gen);
}

void col_ack(struct mz_collector *c, uint32_t gen)
{
    /* Unpinned maps die with the daemon: nothing is kept for a successor,
     * so waiting for the printers before deleting would only fill them. */
    if (!col_pin_enabled(c->pin))
        return;
    atomic_store(&c->ack_gen, gen);
}

bool col_adopted(const struct mz_collector *c)
{
    return col_pin_adopted(c->pin);
}

const uint8_t *col_instance(const struct mz_collector *c)
{
    return col_pin_instance(c->pin);
}

uint32_t col_gen(const struct mz_collector *c)
{
    return c->gen;
}

bool col_is_self(const struct mz_collector *c, const struct mz_process *p)
{
    return p->pid == (int32_t)getpid() && p->start_ns >= c->self_lo && p->start_ns < c->self_hi;
}
