/* SPDX-License-Identifier: GPL-2.0 */
/*
 * knobs.h - what userland sets: rodata before load (the per-boot SipHash key,
 * mizan's own tgid, the tick length), after load the ids of mizan's own maps
 * (then frozen) and the scan generation (through mz_set_gen), and the path
 * epoch the programs bump.
 */
#ifndef MIZAN_BPF_KNOBS_H
#define MIZAN_BPF_KNOBS_H

/* Set by userland before load. */
const volatile __u64 sip_k0 = 0;
const volatile __u64 sip_k1 = 0;
const volatile __u32 mizan_tgid = 0;
/* mizan's start time (start_boottime) lies in [lo, hi): with the tgid, the
 * daemon itself; a process that reuses a crashed daemon's pid is recorded. */
const volatile __u64 mizan_start_lo = 0;
const volatile __u64 mizan_start_hi = 0;
/* Length of a jiffy in ns (from CONFIG_HZ); 0: unknown, the hot path then
 * reads the precise clock. */
const volatile __u32 jiffy_ns = 0;
/* Outside the open path too, kernel structures are read with direct loads
 * (through bpf_rdonly_cast) rather than probe reads: the path walks, the
 * mmap test of mz_other_exit. Set with the open path's choice
 * (collector.direct_reads), so that the probe reads are what kernels without
 * the kfunc, and the tests of that path, run. */
const volatile __u32 direct_loads = 0;
/* The inode of the initial mount namespace (the loader's stat of
 * /proc/1/ns/mnt). A path walked to the root mount of another namespace
 * carries that namespace (mz_file_val.mnt_ns); 0: unknown, every path is
 * taken as the initial namespace's. */
const volatile __u32 init_mnt_ns = 0;

/* bench/collector only: with bench_gate set at load, the syscall programs
 * return at their first instruction while bench_paused is non-zero, so
 * that runs with mizan working and with mizan doing nothing on the same
 * tracepoints (its floor) can alternate every millisecond. The daemon
 * loads bench_gate 0 (frozen rodata: no process can set it after load), and
 * the verifier drops the test (one load of the word is left). */
const volatile __u32 bench_gate = 0;
__u32 bench_paused = 0;

/* The scan generation. In a map of its own that cannot be mmapped: only
 * mz_set_gen (tamper.h) writes it, run by the collector at each scan; a write
 * by anyone else, through bpf(2) or by running mz_set_gen, is tamper
 * evidence (the map's id is in own_map_ids). */
__u32 cur_gen SEC(".data.gen") = 0;

/* The ids of every map of this object, for tamper evidence: written once by
 * the collector after load, then frozen (BPF_MAP_FREEZE: no process can
 * change them afterwards); the map cannot be mmapped either. */
__u32 own_map_ids[MZ_OWN_MAPS_MAX] SEC(".data.ids") = {};
__u32 gen_map_id SEC(".data.ids") = 0; /* the id of cur_gen's map */

/* Bumped by every rename and every mount change that succeeds: either may
 * change the path of files whose identity (dentry) stays the same, so open
 * links made in an older epoch check their path again (mz_open_slow). */
__u32 path_epoch = 0;

/* Kernel 6.2+: makes a typed pointer of an address, for direct loads
 * instead of probe-read helper calls. The collector loads mz_open_exit when
 * the kernel has it, mz_open_exit_compat otherwise. */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym __weak;
#ifndef bpf_ksym_exists /* libbpf before 1.2 */
#define bpf_ksym_exists(sym) (!!(sym))
#endif

#endif
