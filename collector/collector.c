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
 * Loss: a record created in generation g is seen for the first time at scan g
 * (if created during that walk) or at scan g+1. The kernel counts creations
 * per generation slot; after scan s the collector compares the creations of
 * generation s-1 with what it counted of them: the difference is the number
 * of records evicted before anyone read them. Reading the counters after the
 * walk keeps slow writers of generation s-1 (nanoseconds after the bump)
 * inside the figure.
 *
 * Records delivered in an earlier scan that can never change again (execs;
 * links, flows and events of exited processes) are deleted after the walk,
 * so that the LRU's room goes to records not yet seen.
 *
 * Workload assumed: up to the configured map sizes per scan; memory is the
 * task table (rebuilt each scan), bounded caches, and the pending records of
 * a scan the downstream queue could not take yet.
 */
#include "collector/collector.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/definitions/syscall_list.h"
#include "bpf/mizan_maps.h"
#include "collector/col_enrich.h"
#include "core/log.h"
#include "core/util.h"
#include "mizan.skel.h"

#define BATCH    2048
#define VAL_MAX  128 /* the largest counted record value */
#define STR_WAYS 4

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

static void str_cache_put(struct str_cache *c, uint64_t key, char *s, uint32_t flags)
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
    victim->age = ++c->clock;
}

/* ---- maps ---------------------------------------------------------------------- */

struct col_map {
    const char *name;
    int fd;
    uint32_t id;
    uint32_t key_size, val_size, max_entries;
    int acc; /* MZ_MAP_* */
    size_t off_gen, off_cgen, off_first;
    /* accounting */
    uint64_t created_last[MZ_GEN_SLOTS];
    uint64_t seen_slot[MZ_GEN_SLOTS];
    uint64_t created, seen, evicted_unseen, failed, entries, retired;
    struct ahead prev, cur;
    /* keys of records to retire after this walk */
    uint8_t *retire;
    size_t n_retire, cap_retire;
};

/* A record waiting to be turned into an observation and delivered. */
struct pending {
    uint8_t acc;
    uint8_t pad[7];
    uint8_t key[16];
    uint8_t val[VAL_MAX];
};

struct map_stats {
    char name[16];
    uint64_t created, seen, evicted_unseen, failed, entries, max_entries, retired;
};

struct col_snapshot {
    uint64_t scans, emitted, paused, pending, last_scan_us, evicted_unseen;
    uint64_t truncated, read_errors, miss_task, miss_file, miss_args;
    uint64_t files_created, files_failed, args_created, args_failed;
    struct map_stats maps[MZ_MAP_COUNT];
    size_t n_maps;
    struct col_enrich_stats enrich;
};

struct mz_collector {
    struct mizan *skel;
    struct bpf_link *dns_link;                /* cgroup_skb on the cgroup v2 root, or NULL */
    struct bpf_link *sys_links[COL_SYSCALLS]; /* the syscall exit tracepoints */
    int n_sys_links;
    int fd_domains;
    struct col_map maps[MZ_MAP_COUNT]; /* indexed by MZ_MAP_* (counted ones) */
    int fd_files, fd_files_long, fd_args, fd_args_long, fd_counters;
    uint32_t own_ids[MZ_OWN_MAPS_MAX];
    char own_names[MZ_OWN_MAPS_MAX][16];
    size_t n_own;
    int ncpus;
    uint32_t jiffy_ns; /* 0: the kernel's tick length is unknown */
    bool direct_reads; /* the open path loaded is mz_open_exit (not _compat) */
    uint32_t gen;
    uint64_t boot_to_wall;

    struct task_table tasks;
    struct str_cache paths, argv;
    struct col_enrich *enrich;

    void *keys, *vals;       /* batch buffers */
    struct mz_counters *ctr; /* per-CPU counters read buffer */

    struct pending *pend;
    size_t pend_head, pend_n, pend_cap;

    uint64_t scans, emitted, paused, miss_task, miss_file, miss_args, truncated, read_errors;
    uint64_t files_created, files_failed, args_created, args_failed;
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
                               struct bpf_link **links, int k)
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
        links[k++] = l;
    }
    return k;
}

int col_attach_syscalls(struct bpf_program *open, struct bpf_program *other,
                        struct bpf_link *links[COL_SYSCALLS])
{
    int k = attach_syscall_list(open, open_syscalls,
                                sizeof(open_syscalls) / sizeof(open_syscalls[0]), links, 0);
    return attach_syscall_list(other, other_syscalls,
                               sizeof(other_syscalls) / sizeof(other_syscalls[0]), links, k);
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

static int setup_map(struct mz_collector *c, int acc, const char *name, struct bpf_map *m,
                     size_t off_gen, size_t off_cgen, size_t off_first)
{
    struct col_map *cm = &c->maps[acc];
    cm->name = name;
    cm->fd = bpf_map__fd(m);
    cm->key_size = bpf_map__key_size(m);
    cm->val_size = bpf_map__value_size(m);
    cm->max_entries = bpf_map__max_entries(m);
    cm->acc = acc;
    cm->off_gen = off_gen;
    cm->off_cgen = off_cgen;
    cm->off_first = off_first;
    if (cm->key_size > 16 || cm->val_size > VAL_MAX)
        return -EINVAL;
    return 0;
}

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
    pthread_mutex_init(&c->snap_lock, NULL);
    c->ncpus = libbpf_num_possible_cpus();
    if (c->ncpus <= 0) {
        log_error("collector: cannot count CPUs: %s", strerror(-c->ncpus));
        goto fail;
    }
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
    bpf_map__set_max_entries(c->skel->maps.execs, tasks);
    bpf_map__set_max_entries(c->skel->maps.files, files);
    bpf_map__set_max_entries(c->skel->maps.files_long, clamp_entries(files / 8, 64));
    bpf_map__set_max_entries(c->skel->maps.args, args);
    bpf_map__set_max_entries(c->skel->maps.args_long, clamp_entries(args / 16, 64));
    bpf_map__set_max_entries(c->skel->maps.links, links);
    bpf_map__set_max_entries(c->skel->maps.flows, flows);
    bpf_map__set_max_entries(c->skel->maps.socks, flows);
    bpf_map__set_max_entries(c->skel->maps.events, clamp_entries(flows / 8, 1024));
    bpf_map__set_max_entries(c->skel->maps.domains, clamp_entries(k->cache.domains, 64));
    disable_missing(c->skel);
    /* Not mmappable: the generation and the own-maps table change only
     * through bpf(2) (watched), the table not at all once frozen. */
    bpf_map__set_map_flags(c->skel->maps.data_gen,
                           bpf_map__map_flags(c->skel->maps.data_gen) & ~BPF_F_MMAPABLE);
    bpf_map__set_map_flags(c->skel->maps.data_ids,
                           bpf_map__map_flags(c->skel->maps.data_ids) & ~BPF_F_MMAPABLE);
    bpf_program__set_autoattach(c->skel->progs.mz_set_gen, false);
    c->direct_reads = choose_open_path(c->skel, cfg->collector.direct_reads);

    err = mizan__load(c->skel);
    if (err) {
        log_error("collector: loading the BPF programs failed: %s", strerror(-err));
        goto fail;
    }

    struct mizan *s = c->skel;
    if (setup_map(c, MZ_MAP_TASKS, "tasks", s->maps.tasks, offsetof(struct mz_task_val, gen),
                  offsetof(struct mz_task_val, created_gen),
                  offsetof(struct mz_task_val, start_ns)) < 0 ||
        setup_map(c, MZ_MAP_EXECS, "execs", s->maps.execs, offsetof(struct mz_exec_val, gen),
                  offsetof(struct mz_exec_val, created_gen),
                  offsetof(struct mz_exec_val, start_ns)) < 0 ||
        setup_map(c, MZ_MAP_LINKS, "links", s->maps.links, offsetof(struct mz_link_val, gen),
                  offsetof(struct mz_link_val, created_gen),
                  offsetof(struct mz_link_val, first_ns)) < 0 ||
        setup_map(c, MZ_MAP_FLOWS, "flows", s->maps.flows, offsetof(struct mz_flow_val, gen),
                  offsetof(struct mz_flow_val, created_gen),
                  offsetof(struct mz_flow_val, first_ns)) < 0 ||
        setup_map(c, MZ_MAP_EVENTS, "events", s->maps.events, offsetof(struct mz_event_val, gen),
                  offsetof(struct mz_event_val, created_gen),
                  offsetof(struct mz_event_val, first_ns)) < 0 ||
        setup_map(c, MZ_MAP_TAMPER, "tamper", s->maps.tamper, offsetof(struct mz_event_val, gen),
                  offsetof(struct mz_event_val, created_gen),
                  offsetof(struct mz_event_val, first_ns)) < 0) {
        log_error("collector: map layout does not match mizan_maps.h");
        goto fail;
    }
    c->fd_files = bpf_map__fd(s->maps.files);
    c->fd_files_long = bpf_map__fd(s->maps.files_long);
    c->fd_args = bpf_map__fd(s->maps.args);
    c->fd_args_long = bpf_map__fd(s->maps.args_long);
    c->fd_counters = bpf_map__fd(s->maps.counters);
    c->fd_domains = bpf_map__fd(s->maps.domains);
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
                            s->progs.mz_other_exit, c->sys_links);
    if (c->n_sys_links == 0) {
        log_error("collector: no syscall tracepoint could be attached");
        goto fail;
    }
    attach_dns(c);

    size_t tcap = 1024;
    while (tcap < (size_t)tasks * 2)
        tcap <<= 1;
    c->tasks.cap = tcap;
    c->tasks.s = mz_calloc(tcap, sizeof(*c->tasks.s));
    str_cache_init(&c->paths, files / 4 < 1024 ? 1024 : files / 4);
    str_cache_init(&c->argv, args / 4 < 1024 ? 1024 : args / 4);
    c->enrich = col_enrich_new(cfg);
    c->keys = mz_calloc(BATCH, 16);
    c->vals = mz_calloc(BATCH, VAL_MAX);
    c->ctr = mz_calloc((size_t)c->ncpus, sizeof(struct mz_counters));
    log_info("collector: attached (maps: tasks %u, links %u, flows %u, files %u, args %u; "
             "open path: %s reads; %d syscall tracepoints)",
             tasks, links, flows, files, args, c->direct_reads ? "direct" : "probe",
             c->n_sys_links);
    return c;
fail:
    col_free(c);
    return NULL;
}

void col_free(struct mz_collector *c)
{
    if (!c)
        return;
    bpf_link__destroy(c->dns_link);
    for (int i = 0; i < c->n_sys_links; i++)
        bpf_link__destroy(c->sys_links[i]);
    mizan__destroy(c->skel);
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        free(c->maps[i].prev.e);
        free(c->maps[i].cur.e);
        free(c->maps[i].retire);
    }
    free(c->tasks.s);
    str_cache_free(&c->paths);
    str_cache_free(&c->argv);
    col_enrich_free(c->enrich);
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

/* The path of a file key, or NULL. */
static char *file_path(struct mz_collector *c, uint64_t key)
{
    if (!key)
        return NULL;
    struct str_entry *e = str_cache_get(&c->paths, key);
    if (e)
        return mz_strdup(e->s);
    struct mz_file_val v;
    memset(&v, 0, sizeof(v));
    if (bpf_map_lookup_elem(c->fd_files, &key, &v) < 0 &&
        bpf_map_lookup_elem(c->fd_files_long, &key, &v) < 0) {
        c->miss_file++;
        return NULL;
    }
    size_t len = v.len < MZ_BPF_PATH_MAX - 1 ? v.len : MZ_BPF_PATH_MAX - 1;
    char *s = mz_calloc(1, len + 4);
    memcpy(s, v.path, len);
    if (v.flags & MZ_REC_TRUNCATED)
        memcpy(s + len, "...", 3); /* the kernel cut it: say so */
    str_cache_put(&c->paths, key, s, v.flags);
    return mz_strdup(s);
}

static char *args_string(struct mz_collector *c, uint64_t key)
{
    if (!key)
        return NULL;
    struct str_entry *e = str_cache_get(&c->argv, key);
    if (e)
        return mz_strdup(e->s);
    struct mz_args_val *v = mz_calloc(1, sizeof(*v));
    char *s = NULL;
    if (bpf_map_lookup_elem(c->fd_args, &key, v) < 0 &&
        bpf_map_lookup_elem(c->fd_args_long, &key, v) < 0) {
        c->miss_args++;
        goto out;
    }
    size_t len = v->len < MZ_BPF_ARGS_MAX ? v->len : MZ_BPF_ARGS_MAX;
    s = col_join_args(v->data, len, v->flags & MZ_REC_TRUNCATED);
    str_cache_put(&c->argv, key, s, v->flags);
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
            exe = file_path(c, t->exe_key);
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
        return NULL;
    task_put(&c->tasks, key, &v);
    return task_find(&c->tasks, key);
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
        p->exe = file_path(c, t->exe_key);
        p->args = args_string(c, t->args_key);
        ancestry(c, t->parent_key, p->ppid, p);
    } else {
        c->miss_task++;
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
    p->exe = file_path(c, v.exe_key);
    p->args = args_string(c, v.args_key);
    p->cwd = file_path(c, v.cwd_key);
    ancestry(c, v.parent_key, p->ppid, p);
    col_enrich_process(c->enrich, p);
    o->first_ns = o->last_ns = wall(c, k.exec_ns);
    o->count = 1;
    o->file.path = mz_strdup(p->exe);
    o->file.actions = MZ_FA_EXECVE;
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
    o->file.path = file_path(c, v.file_key);
    o->file.path2 = file_path(c, v.path2_key);
    o->file.actions = (uint32_t)v.actions;
    return o;
}

static void addr_text(uint8_t family, const uint8_t *a, char out[46])
{
    if (!inet_ntop(family == 10 ? AF_INET6 : AF_INET, a, out, 46))
        out[0] = 0;
}

/* The name a DNS answer gave for addr, as dotted text, or NULL. */
static char *domain_of(struct mz_collector *c, uint8_t family, const uint8_t addr[16])
{
    struct mz_ip_key k;
    struct mz_dns_val v;
    memset(&k, 0, sizeof(k));
    memcpy(k.addr, addr, 16);
    k.family = family;
    if (bpf_map_lookup_elem(c->fd_domains, &k, &v) < 0)
        return NULL;
    char name[MZ_BPF_DOMAIN_MAX + 1];
    size_t len = v.len < MZ_BPF_DOMAIN_MAX ? v.len : MZ_BPF_DOMAIN_MAX;
    /* A cut or malformed name gives no name rather than a wrong one. */
    if (col_dns_name(v.qname, len, name, sizeof(name)) < 0)
        return NULL;
    return mz_strdup(name);
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
    o->flow.domain = domain_of(c, v.family, v.remote_addr);
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
        char buf[128];
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

static void pend_push(struct mz_collector *c, int acc, const void *key, size_t klen,
                      const void *val, size_t vlen)
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
    memcpy(r->key, key, klen);
    memcpy(r->val, val, vlen);
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
        c->pend_head++;
        c->pend_n--;
    }
    if (!c->pend_n)
        c->pend_head = 0;
    /* Do not keep a large buffer once drained. */
    if (!c->pend_n && c->pend_cap > 65536) {
        free(c->pend);
        c->pend = NULL;
        c->pend_cap = 0;
    }
    c->emitted += (uint64_t)n;
    return n;
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

/* A record delivered in an earlier scan (gen <= s-2) that can never change
 * again may leave the kernel map, so that the LRU's room goes to records not
 * yet seen: execs (immutable) always; links, flows and events once their
 * process has exited (a new record would have another task key). */
static bool retirable(struct mz_collector *c, const struct col_map *m, const uint8_t *key,
                      const uint8_t *val)
{
    (void)val;
    if (m->acc == MZ_MAP_EXECS)
        return true;
    if (m->acc != MZ_MAP_LINKS && m->acc != MZ_MAP_FLOWS && m->acc != MZ_MAP_EVENTS &&
        m->acc != MZ_MAP_TAMPER)
        return false;
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

/* Deletes the retired keys; a key the LRU evicted meanwhile is skipped. */
static void retire_flush(struct col_map *m)
{
    size_t done = 0;
    while (done < m->n_retire) {
        uint32_t n = (uint32_t)(m->n_retire - done);
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int err = bpf_map_delete_batch(m->fd, m->retire + done * m->key_size, &n, &opts);
        done += n;
        m->retired += n;
        if (err < 0)
            done++; /* that key was gone: skip it */
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
    }
    if (deliver && m->acc != MZ_MAP_TASKS)
        pend_push(c, m->acc, key, m->key_size, val, m->val_size);
    else if (!deliver && g + 1 < s && retirable(c, m, key, val))
        retire_push(m, key);
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
    retire_flush(m);
    /* cur becomes prev for the next scan. */
    struct ahead tmp = m->prev;
    m->prev = m->cur;
    m->cur = tmp;
    return 0;
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
            sum->failed[m] += p->failed[m];
        }
        sum->truncated += p->truncated;
        sum->read_errors += p->read_errors;
        sum->hits += p->hits;
    }
    return 0;
}

/* Compares the creations of generation s-1 with what was seen of them. */
static void resolve(struct mz_collector *c, const struct mz_counters *sum)
{
    uint32_t g = c->gen - 1;
    int slot = (int)(g % MZ_GEN_SLOTS);
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        struct col_map *m = &c->maps[i];
        if (!m->name)
            continue;
        uint64_t now = sum->created[i][slot];
        uint64_t created = now - m->created_last[slot];
        uint64_t seen = m->seen_slot[slot];
        m->created_last[slot] = now;
        m->seen_slot[slot] = 0;
        m->created += created;
        m->seen += seen;
        m->failed = sum->failed[i];
        if (created > seen) {
            m->evicted_unseen += created - seen;
            log_warn("collector: map %s: %llu records of generation %u evicted unseen "
                     "(%llu created, %llu seen); consider a larger cache",
                     m->name, (unsigned long long)(created - seen), g, (unsigned long long)created,
                     (unsigned long long)seen);
        } else if (seen > created) {
            log_debug("collector: map %s: generation %u seen %llu > created %llu", m->name, g,
                      (unsigned long long)seen, (unsigned long long)created);
        }
    }
    c->files_created = sum->created[MZ_MAP_FILES][0] + sum->created[MZ_MAP_FILES][1] +
                       sum->created[MZ_MAP_FILES][2] + sum->created[MZ_MAP_FILES][3];
    c->args_created = sum->created[MZ_MAP_ARGS][0] + sum->created[MZ_MAP_ARGS][1] +
                      sum->created[MZ_MAP_ARGS][2] + sum->created[MZ_MAP_ARGS][3];
    c->files_failed = sum->failed[MZ_MAP_FILES];
    c->args_failed = sum->failed[MZ_MAP_ARGS];
    c->truncated = sum->truncated;
    c->read_errors = sum->read_errors;
}

static void publish(struct mz_collector *c)
{
    struct col_snapshot s;
    memset(&s, 0, sizeof(s));
    s.scans = c->scans;
    s.emitted = c->emitted;
    s.paused = c->paused;
    s.pending = c->pend_n;
    s.last_scan_us = c->last_scan_us;
    s.truncated = c->truncated;
    s.read_errors = c->read_errors;
    s.miss_task = c->miss_task;
    s.miss_file = c->miss_file;
    s.miss_args = c->miss_args;
    s.files_created = c->files_created;
    s.files_failed = c->files_failed;
    s.args_created = c->args_created;
    s.args_failed = c->args_failed;
    for (int i = 0; i < MZ_MAP_COUNT; i++) {
        const struct col_map *m = &c->maps[i];
        if (!m->name)
            continue;
        struct map_stats *ms = &s.maps[s.n_maps++];
        (void)mz_strlcpy(ms->name, m->name, sizeof(ms->name));
        ms->created = m->created;
        ms->seen = m->seen;
        ms->evicted_unseen = m->evicted_unseen;
        ms->failed = m->failed;
        ms->entries = m->entries;
        ms->max_entries = m->max_entries;
        ms->retired = m->retired;
        s.evicted_unseen += m->evicted_unseen;
    }
    col_enrich_stats(c->enrich, &s.enrich);
    pthread_mutex_lock(&c->snap_lock);
    c->snap = s;
    pthread_mutex_unlock(&c->snap_lock);
}

int col_scan(struct mz_collector *c, col_emit_fn emit, void *ctx)
{
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
    c->gen++;
    int gerr = set_gen(c, c->gen);
    if (gerr < 0) {
        c->gen--;
        log_error("collector: cannot set the scan generation: %s", strerror(-gerr));
        return gerr;
    }

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
    struct mz_counters sum;
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
        n += c->maps[i].evicted_unseen;
    return n;
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
    cJSON_AddNumberToObject(o, "emitted", (double)s.emitted);
    cJSON_AddNumberToObject(o, "pending", (double)s.pending);
    /* scans cut short because the detect queue was full */
    cJSON_AddNumberToObject(o, "paused", (double)s.paused);
    cJSON_AddNumberToObject(o, "last_scan_us", (double)s.last_scan_us);
    cJSON_AddNumberToObject(o, "evicted_unseen", (double)s.evicted_unseen);
    cJSON_AddNumberToObject(o, "truncated", (double)s.truncated);
    cJSON_AddNumberToObject(o, "read_errors", (double)s.read_errors);
    /* records whose task, path or command line was gone when joined */
    cJSON *jm = cJSON_AddObjectToObject(o, "join_misses");
    if (jm) {
        cJSON_AddNumberToObject(jm, "task", (double)s.miss_task);
        cJSON_AddNumberToObject(jm, "file", (double)s.miss_file);
        cJSON_AddNumberToObject(jm, "args", (double)s.miss_args);
    }
    cJSON *maps = cJSON_AddObjectToObject(o, "maps");
    for (size_t i = 0; maps && i < s.n_maps; i++) {
        const struct map_stats *m = &s.maps[i];
        cJSON *j = cJSON_AddObjectToObject(maps, m->name);
        if (!j)
            break;
        cJSON_AddNumberToObject(j, "created", (double)m->created);
        cJSON_AddNumberToObject(j, "seen", (double)m->seen);
        cJSON_AddNumberToObject(j, "evicted_unseen", (double)m->evicted_unseen);
        cJSON_AddNumberToObject(j, "failed", (double)m->failed);
        cJSON_AddNumberToObject(j, "entries", (double)m->entries);
        cJSON_AddNumberToObject(j, "max_entries", (double)m->max_entries);
        /* delivered, final records deleted to leave room for unseen ones */
        cJSON_AddNumberToObject(j, "retired", (double)m->retired);
        cJSON_AddNumberToObject(j, "fill",
                                m->max_entries ? (double)m->entries / (double)m->max_entries : 0);
    }
    cJSON *f = maps ? cJSON_AddObjectToObject(maps, "files") : NULL;
    if (f) {
        cJSON_AddNumberToObject(f, "created", (double)s.files_created);
        cJSON_AddNumberToObject(f, "failed", (double)s.files_failed);
    }
    cJSON *a = maps ? cJSON_AddObjectToObject(maps, "args") : NULL;
    if (a) {
        cJSON_AddNumberToObject(a, "created", (double)s.args_created);
        cJSON_AddNumberToObject(a, "failed", (double)s.args_failed);
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
