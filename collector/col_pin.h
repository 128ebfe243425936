/* SPDX-License-Identifier: Apache-2.0 */
/*
 * col_pin.h - the kernel side outlives the daemon: the collector's maps are
 * pinned under collector.pin_dir (maps/NAME) and its programs stay attached
 * through pinned links (links/PROG). A restarted daemon adopts the maps of
 * its own build (same BPF object, same sizes) with the SipHash key kept in
 * the pinned "pin_meta" record, loads fresh programs on them, attaches them,
 * and only then replaces the old links, so that no action goes unrecorded
 * while it restarts. Anything else (another build, other sizes) is replaced,
 * and the log says so. See bpf/README.md, "Pinning and restarts".
 *
 * The pin directory is locked (flock) for the collector's lifetime: two
 * daemons never share one set of maps.
 *
 * Threads: the collector's thread only. Return convention: 0 or a negative
 * errno; constructors return NULL.
 */
#ifndef MIZAN_COLLECTOR_COL_PIN_H
#define MIZAN_COLLECTOR_COL_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

struct bpf_object;
struct bpf_object_skeleton;
struct bpf_link;
struct col_pin;

/* Before load. pin_dir NULL or "": nothing is pinned (returns a state with
 * col_pin_enabled false). fresh: every existing pin is removed first.
 * Decides between adopting the pins (this build's, compatible sizes: key is
 * set to the pinned SipHash key) and a fresh start (key untouched: the
 * caller draws one), and sets the pin path of every map of obj but the
 * read-only ones, so that libbpf reuses or creates and pins them at load.
 * elf/elf_len: the BPF object's bytes (its SHA-256 is the build id). NULL
 * when the pin directory is unusable or another daemon holds it (logged). */
struct col_pin *col_pin_prepare(struct bpf_object *obj, const void *elf, size_t elf_len,
                                const char *pin_dir, bool fresh, uint64_t key[2]);

bool col_pin_enabled(const struct col_pin *p);
/* Whether the maps were adopted from an earlier daemon. */
bool col_pin_adopted(const struct col_pin *p);
/* 16 random bytes naming this set of pins (new at each fresh start), for the
 * delivery cursor; all zero when nothing is pinned. */
const uint8_t *col_pin_instance(const struct col_pin *p);

/* After load: on a fresh start, writes the pin_meta record (build id, key,
 * instance) through meta_fd. */
int col_pin_loaded(struct col_pin *p, int meta_fd, const uint64_t key[2]) MZ_MUST_CHECK;

/* After attach: pins the link of every attached program of skel (and the
 * n_extra links of extra, named by extra_names) at links/NAME, replacing the pin of the
 * same program (the old program detaches then), and removes pinned links of
 * programs that are not attached now. Pinned links are disconnected: freeing
 * them no longer detaches the programs. */
int col_pin_links(struct col_pin *p, const struct bpf_object_skeleton *skel,
                  struct bpf_link *const *extra, const char *const *extra_names,
                  size_t n_extra) MZ_MUST_CHECK;

/* Releases the lock and the state; the pins stay. Accepts NULL. */
void col_pin_free(struct col_pin *p);

/* Removes every pin under pin_dir: links first (their programs detach once
 * no daemon holds them), then maps, then the directories. Returns the number
 * of pins removed, or -errno (-EBUSY: a running daemon holds pin_dir). */
int col_pin_remove(const char *pin_dir);

/* This process's start time as the kernel keeps it (start_boottime, ns):
 * the clock-tick-wide interval [*lo, *hi) of /proc/self/stat. */
int col_self_start(uint64_t *lo, uint64_t *hi) MZ_MUST_CHECK;

#endif
