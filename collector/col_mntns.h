/* SPDX-License-Identifier: Apache-2.0 */
/*
 * col_mntns.h - paths of other mount namespaces, as the initial namespace
 * names them. The kernel walks a file's path up to the root mount of the
 * namespace its mount is in (bpf/helpers/path.h); for a container that did
 * pivot_root that is the container's /, and the record carries the
 * namespace's inode (mz_file_val.mnt_ns). This module maps (namespace,
 * path) to the path of the same file in the initial mount namespace, from
 * the mount tables (/proc/PID/mountinfo) of a process in that namespace and
 * of PID 1.
 *
 * Threads: one (the collector's).
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_COLLECTOR_COL_MNTNS_H
#define MIZAN_COLLECTOR_COL_MNTNS_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define COL_MOUNTS_MAX    8192       /* mounts kept from one mountinfo */
#define COL_MOUNTINFO_MAX (8u << 20) /* bytes read of one mountinfo */

/* One line of a mountinfo: the filesystem's device (userland dev_t), the
 * directory of that filesystem mounted (root) and where (point), both
 * unescaped, absolute and at most MZ_PATH_MAX - 1 bytes. */
struct col_mount {
    uint64_t dev;
    char *root;
    char *point;
};

struct col_mounts {
    struct col_mount *m;
    size_t n;
};

/* Parses mountinfo text (len bytes, need not be NUL-terminated) into *out
 * (which it clears first), in the order of the lines. A line that is
 * malformed, or whose root or mount point is not absolute or too long, is
 * skipped; more than COL_MOUNTS_MAX lines is -E2BIG (out is then empty). */
int col_mountinfo_parse(const char *text, size_t len, struct col_mounts *out) MZ_MUST_CHECK;
void col_mounts_clear(struct col_mounts *ms);

/* The path in the namespace whose mounts are host of the file at path in
 * the namespace whose mounts are ns: the mount of ns that holds path (the
 * longest mount point that prefixes it, the last one listed among equals:
 * the one on top) gives the file's place in its filesystem (the mount's
 * root + the rest of path); a mount of host of the same device whose root
 * prefixes that place (the longest) gives its path there. 0 with *out
 * malloc'd, -ENOENT when no mount of host shows the file (a filesystem
 * mounted only in ns, or a directory of it host does not mount),
 * -ENAMETOOLONG past MZ_PATH_MAX - 1 bytes, -EINVAL when path is not
 * absolute. */
int col_mntns_map(const struct col_mounts *ns, const struct col_mounts *host, const char *path,
                  char **out) MZ_MUST_CHECK;

struct col_mntns;

/* Reads the initial namespace's inode from /proc/1/ns/mnt (the daemon may
 * run in a container that shares the host's PIDs); when that cannot be read
 * (a process with fewer capabilities than PID 1), from /proc/self/ns/mnt,
 * which is the same namespace when /proc/1/mountinfo and
 * /proc/self/mountinfo list the same mounts (else 0: unknown, logged). */
struct col_mntns *col_mntns_new(void);
void col_mntns_free(struct col_mntns *m);
uint32_t col_mntns_initial(const struct col_mntns *m);

/* Drops the mount tables read before a mount change (epoch: the kernel's
 * path_epoch, bumped by every mount, umount, move_mount, pivot_root). */
void col_mntns_epoch(struct col_mntns *m, uint32_t epoch);

/* The initial namespace's path of path in mount namespace ns. pid: a
 * process that may be in ns (the one observed), whose mountinfo is read
 * when its namespace is ns; otherwise /proc is searched for one (bounded).
 * Mount tables are cached per namespace (bounded) until the next mount
 * change; a namespace with no process left keeps the table last read.
 * 0 with *out malloc'd; -ESRCH: no process of ns found and no table known;
 * the errors of col_mntns_map. */
int col_mntns_host_path(struct col_mntns *m, uint32_t ns, int pid, const char *path,
                        char **out) MZ_MUST_CHECK;

#endif
