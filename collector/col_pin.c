// SPDX-License-Identifier: Apache-2.0
/*
 * col_pin.c - pins the collector's maps and links under collector.pin_dir,
 * adopts them at the next start when they are this build's, replaces them
 * otherwise, and removes them (`mizan uninstall`, `run --fresh`).
 *
 * Layout: PIN_DIR/maps/NAME for every map of the object but the read-only
 * ones (.rodata carries the new daemon's tgid, so it is always fresh) and
 * the frozen own-maps table (.data.ids, written anew by each daemon), and
 * PIN_DIR/links/PROG for every attached program. The "pin_meta" map holds
 * the build id (SHA-256 of the BPF object), the SipHash key the records are
 * keyed with and a random instance id (mizan_maps.h, struct mz_pin_meta).
 *
 * Workload assumed: one call of each per daemon start; a few dozen pins.
 */
#include "collector/col_pin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <openssl/evp.h>

#include "bpf/mizan_maps.h"
#include "core/log.h"

#define META_MAP "pin_meta"

struct col_pin {
    bool enabled;
    bool adopted;
    int lock_fd; /* PIN_DIR itself, flock'd; -1 when disabled */
    char dir[PATH_MAX];
    uint8_t build[32];
    uint8_t instance[16];
};

/* The pin file name of a map: libbpf's name with '.' made '_' (bpffs
 * refuses dots in names: "mizan.bss" is pinned as "mizan_bss"). */
static const char *pin_name(const struct bpf_map *m, char out[64])
{
    (void)mz_strlcpy(out, bpf_map__name(m), 64);
    for (char *p = out; *p; p++)
        if (*p == '.')
            *p = '_';
    return out;
}

/* Not the read-only maps, and not the own-maps table (.data.ids): it is
 * frozen once written, and a restarted daemon writes its own (the ids of
 * the maps it made fresh differ). */
static bool pinnable(const struct bpf_map *m)
{
    return !(bpf_map__map_flags(m) & BPF_F_RDONLY_PROG) &&
           strcmp(bpf_map__name(m), ".data.ids") != 0;
}

/* Unlinks every entry of dir/sub, then dir/sub itself. Returns how many
 * entries went. */
static int clear_sub(int dirfd, const char *sub)
{
    int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0)
            n++;
        else
            log_warn("pin: cannot remove %s/%s: %s", sub, e->d_name, strerror(errno));
    }
    closedir(d);
    (void)unlinkat(dirfd, sub, AT_REMOVEDIR);
    return n;
}

/* Links first: once their pins are gone the programs detach (or do when the
 * last daemon holding them exits). */
static int clear_all(int dirfd)
{
    return clear_sub(dirfd, "links") + clear_sub(dirfd, "maps");
}

/* /sys/fs/bpf is a bpffs mount on systemd machines; mount it otherwise. */
static void ensure_bpffs(const char *dir)
{
    struct statfs st;
    if (strncmp(dir, "/sys/fs/bpf/", 12) != 0)
        return;
    if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
        return;
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
        log_warn("pin: cannot mount bpffs on /sys/fs/bpf: %s", strerror(errno));
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (mz_strlcpy(buf, path, sizeof(buf)) < 0)
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Opens and locks dir (created when missing). -EBUSY when another daemon
 * holds it. */
static int lock_dir(const char *dir, bool create)
{
    if (create) {
        ensure_bpffs(dir);
        int err = mkdir_p(dir, 0700);
        if (err < 0)
            return err;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Whether the pinned map at path has the shape obj would create. */
static bool map_matches(const struct bpf_map *m, int fd, char *why, size_t whylen)
{
    struct bpf_map_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
        snprintf(why, whylen, "cannot read it: %s", strerror(errno));
        return false;
    }
    if (info.type != (uint32_t)bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
        info.value_size != bpf_map__value_size(m) || info.map_flags != bpf_map__map_flags(m)) {
        snprintf(why, whylen, "another layout");
        return false;
    }
    if (info.max_entries != bpf_map__max_entries(m)) {
        snprintf(why, whylen, "%u entries, this configuration wants %u", info.max_entries,
                 bpf_map__max_entries(m));
        return false;
    }
    return true;
}

/* Checks every pin against obj. Fills meta on success. */
static bool pins_match(struct col_pin *p, struct bpf_object *obj, struct mz_pin_meta *meta,
                       char *why, size_t whylen)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/maps/" META_MAP, p->dir);
    int fd = bpf_obj_get(path);
    if (fd < 0) {
        snprintf(why, whylen, "no %s record", META_MAP);
        return false;
    }
    uint32_t zero = 0;
    memset(meta, 0, sizeof(*meta));
    int err = bpf_map_lookup_elem(fd, &zero, meta);
    close(fd);
    if (err < 0 || meta->magic != MZ_PIN_MAGIC) {
        snprintf(why, whylen, "no valid %s record (a start cut short?)", META_MAP);
        return false;
    }
    if (memcmp(meta->build, p->build, sizeof(p->build)) != 0) {
        snprintf(why, whylen, "pinned by another build of mizan");
        return false;
    }
    struct bpf_map *m;
    char nb[64];
    bpf_object__for_each_map(m, obj)
    {
        if (!pinnable(m))
            continue;
        snprintf(path, sizeof(path), "%s/maps/%s", p->dir, pin_name(m, nb));
        fd = bpf_obj_get(path);
        if (fd < 0) {
            snprintf(why, whylen, "map %s is not pinned", pin_name(m, nb));
            return false;
        }
        char what[128];
        bool ok = map_matches(m, fd, what, sizeof(what));
        close(fd);
        if (!ok) {
            snprintf(why, whylen, "pinned map %s: %s", pin_name(m, nb), what);
            return false;
        }
    }
    return true;
}

struct col_pin *col_pin_prepare(struct bpf_object *obj, const void *elf, size_t elf_len,
                                const char *pin_dir, bool fresh, uint64_t key[2])
{
    struct col_pin *p = mz_calloc(1, sizeof(*p));
    p->lock_fd = -1;
    if (!pin_dir || !*pin_dir)
        return p;
    if (pin_dir[0] != '/' || strlen(pin_dir) >= sizeof(p->dir) - 64) {
        log_error("pin: collector.pin_dir must be an absolute path of at most %d bytes: %s",
                  PATH_MAX - 64, pin_dir);
        goto fail;
    }
    (void)mz_strlcpy(p->dir, pin_dir, sizeof(p->dir));
    int fd = lock_dir(p->dir, true);
    if (fd == -EBUSY) {
        log_error("pin: another mizan is running on %s (collector.pin_dir)", p->dir);
        goto fail;
    }
    if (fd < 0) {
        log_warn("pin: %s: %s: the programs will not outlive this daemon", p->dir, strerror(-fd));
        return p; /* degraded: not pinned */
    }
    struct statfs st;
    if (fstatfs(fd, &st) < 0 || st.f_type != BPF_FS_MAGIC) {
        log_warn("pin: %s is not on a bpf filesystem: the programs will not outlive this daemon",
                 p->dir);
        close(fd);
        return p;
    }
    p->lock_fd = fd;
    p->enabled = true;
    unsigned int mdlen = 0;
    if (EVP_Digest(elf, elf_len, p->build, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        log_error("pin: cannot hash the BPF object");
        goto fail;
    }

    struct mz_pin_meta meta;
    char why[256] = "";
    if (fresh) {
        int n = clear_all(fd);
        if (n)
            log_info("pin: --fresh: removed %d pins from %s", n, p->dir);
    } else if (pins_match(p, obj, &meta, why, sizeof(why))) {
        p->adopted = true;
        key[0] = meta.sip_k0;
        key[1] = meta.sip_k1;
        memcpy(p->instance, meta.instance, sizeof(p->instance));
    } else {
        int n = clear_all(fd);
        if (n)
            log_warn("pin: %s: %s: replaced the %d pins there (what they recorded while mizan "
                     "was down is not delivered)",
                     p->dir, why, n);
    }
    if (!p->adopted && getrandom(p->instance, sizeof(p->instance), 0) != sizeof(p->instance)) {
        log_error("pin: getrandom: %s", strerror(errno));
        goto fail;
    }
    if (mkdirat(fd, "maps", 0700) < 0 && errno != EEXIST) {
        log_error("pin: %s/maps: %s", p->dir, strerror(errno));
        goto fail;
    }
    if (mkdirat(fd, "links", 0700) < 0 && errno != EEXIST) {
        log_error("pin: %s/links: %s", p->dir, strerror(errno));
        goto fail;
    }
    struct bpf_map *m;
    char nb[64];
    bpf_object__for_each_map(m, obj)
    {
        if (!pinnable(m))
            continue;
        char path[PATH_MAX + 128];
        snprintf(path, sizeof(path), "%s/maps/%s", p->dir, pin_name(m, nb));
        int err = bpf_map__set_pin_path(m, path);
        if (err) {
            log_error("pin: %s: %s", path, strerror(-err));
            goto fail;
        }
    }
    if (p->adopted)
        log_info("pin: adopted the maps pinned in %s", p->dir);
    return p;
fail:
    col_pin_free(p);
    return NULL;
}

bool col_pin_enabled(const struct col_pin *p)
{
    return p && p->enabled;
}

bool col_pin_adopted(const struct col_pin *p)
{
    return p && p->adopted;
}

const uint8_t *col_pin_instance(const struct col_pin *p)
{
    return p->instance;
}

int col_pin_loaded(struct col_pin *p, int meta_fd, const uint64_t key[2])
{
    if (!p->enabled || p->adopted)
        return 0;
    struct mz_pin_meta meta;
    memset(&meta, 0, sizeof(meta));
    meta.magic = MZ_PIN_MAGIC;
    memcpy(meta.build, p->build, sizeof(meta.build));
    meta.sip_k0 = key[0];
    meta.sip_k1 = key[1];
    memcpy(meta.instance, p->instance, sizeof(meta.instance));
    meta.created_ns = mz_now_ns();
    uint32_t zero = 0;
    if (bpf_map_update_elem(meta_fd, &zero, &meta, BPF_ANY) < 0) {
        int err = -errno;
        log_error("pin: writing the %s record: %s", META_MAP, strerror(-err));
        return err;
    }
    return 0;
}

/* Pins one link at links/name: under a temporary name, then renamed over
 * the old pin, so that the old program stays attached until the new one
 * is. */
static int pin_link(struct col_pin *p, struct bpf_link *l, const char *name)
{
    char tmp[PATH_MAX + 160], path[PATH_MAX + 160];
    snprintf(path, sizeof(path), "%s/links/%s", p->dir, name);
    snprintf(tmp, sizeof(tmp), "%s/links/%s-new", p->dir, name); /* no C name has '-' */
    (void)unlink(tmp);
    if (bpf_obj_pin(bpf_link__fd(l), tmp) < 0) {
        int err = -errno;
        log_error("pin: cannot pin the link of %s: %s", name, strerror(-err));
        return err;
    }
    if (rename(tmp, path) < 0) {
        int err = -errno;
        log_error("pin: %s: %s", path, strerror(-err));
        (void)unlink(tmp);
        return err;
    }
    /* The pin keeps it attached: freeing the bpf_link must not detach it
     * (for a perf-event link libbpf would disable the event). */
    bpf_link__disconnect(l);
    return 0;
}

int col_pin_links(struct col_pin *p, const struct bpf_object_skeleton *skel,
                  struct bpf_link *const *extra, const char *const *extra_names, size_t n_extra)
{
    if (!p->enabled)
        return 0;
    const char *names[160];
    size_t n = 0;
    for (int i = 0; i < skel->prog_cnt && n < MZ_ARRAY_SIZE(names) - 1; i++) {
        const struct bpf_prog_skeleton *ps =
            (const void *)((const char *)skel->progs + (size_t)i * (size_t)skel->prog_skel_sz);
        struct bpf_link *l = *ps->link;
        if (!l)
            continue;
        int err = pin_link(p, l, ps->name);
        if (err < 0)
            return err;
        names[n++] = ps->name;
    }
    for (size_t i = 0; i < n_extra && n < MZ_ARRAY_SIZE(names); i++) {
        int err = pin_link(p, extra[i], extra_names[i]);
        if (err < 0)
            return err;
        names[n++] = extra_names[i];
    }
    /* Links of programs this daemon did not attach (another open path, a
     * hook this kernel lacks now): their programs would run beside ours. */
    int fd = openat(p->lock_fd, "links", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        bool keep = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        for (size_t i = 0; i < n && !keep; i++)
            keep = strcmp(e->d_name, names[i]) == 0;
        if (!keep && unlinkat(fd, e->d_name, 0) == 0)
            log_info("pin: removed the link of %s (not attached by this daemon)", e->d_name);
    }
    closedir(d);
    return 0;
}

void col_pin_free(struct col_pin *p)
{
    if (!p)
        return;
    if (p->lock_fd >= 0)
        close(p->lock_fd);
    free(p);
}

int col_pin_remove(const char *pin_dir)
{
    if (!pin_dir || !*pin_dir)
        return 0;
    int fd = lock_dir(pin_dir, false);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    int n = clear_all(fd);
    close(fd);
    if (rmdir(pin_dir) < 0 && errno != ENOENT)
        log_warn("pin: cannot remove %s: %s", pin_dir, strerror(errno));
    return n;
}

int col_self_start(uint64_t *lo, uint64_t *hi)
{
    char *data = NULL;
    size_t len = 0;
    int err = mz_read_file("/proc/self/stat", 4096, &data, &len);
    if (err)
        return err;
    /* field 22, counted after the command name's closing parenthesis */
    char *p = strrchr(data, ')');
    long tck = sysconf(_SC_CLK_TCK);
    err = -EINVAL;
    for (int field = 2; p && *p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p && tck > 0) {
        char *end;
        errno = 0;
        unsigned long long ticks = strtoull(p + 1, &end, 10);
        if (!errno && end != p + 1) {
            uint64_t unit = 1000000000ull / (uint64_t)tck;
            *lo = ticks * unit;
            *hi = *lo + unit;
            err = 0;
        }
    }
    free(data);
    return err;
}
