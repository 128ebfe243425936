/* SPDX-License-Identifier: Apache-2.0 */
/*
 * det_ident.h - the identities of the files recipes name exactly, so that
 * any other name for the same file matches too.
 *
 * A recipe that names a file (a `bases` entry with both dir and base and
 * no regex, e.g. /etc/shadow) is about that file, not about the string: a
 * hard link to it, a bind mount of its directory, a chroot or a container
 * root whose tree holds it reach the same inode under another path. The
 * table maps each such file's (device, inode), found with stat(2), to the
 * recipe's path; an observation of that identity under another path is
 * matched as the recipe's path, with the path the process used kept as
 * file.seen_as.
 *
 * The table is rebuilt when recipes load and re-stats its paths at most
 * once per refresh interval, so a file replaced by a rename (passwd writes
 * a new /etc/shadow and renames it over) is found again under its new inode.
 *
 * Threads: one (the detect stage). Return convention: 0 or a negative errno;
 * constructors return NULL.
 */
#ifndef MIZAN_DETECT_DET_IDENT_H
#define MIZAN_DETECT_DET_IDENT_H

#include <stddef.h>
#include <stdint.h>

struct det_set;
struct det_ident;

/* The table of the exact files named by the enabled recipes of set (which
 * is not kept). Paths that do not exist now are kept and looked up again at
 * each refresh. Never NULL (an empty table when nothing is named). */
struct det_ident *det_ident_new(const struct det_set *set, uint64_t refresh_ns);

/* Re-stats the paths when the last refresh is older than the interval. */
void det_ident_refresh(struct det_ident *t, uint64_t now_ns);

/* The recipe path of the file (dev: userland dev_t, ino), or NULL. The
 * string is owned by the table and valid until its next refresh or free. */
const char *det_ident_lookup(const struct det_ident *t, uint64_t dev, uint64_t ino);

/* Number of paths in the table (named files), for stats and tests. */
size_t det_ident_count(const struct det_ident *t);

/* Accepts NULL. */
void det_ident_free(struct det_ident *t);

#endif
