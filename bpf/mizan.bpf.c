// SPDX-License-Identifier: GPL-2.0
/*
 * mizan.bpf.c - the collector's kernel side, one CO-RE object. Tracepoints
 * and raw tracepoints (no kprobes, no fentry) record what processes do into
 * the relational maps described in mizan_maps.h; userland reads them at a
 * cadence (collector/collector.c). The code lives in the headers below, in
 * layer order: each uses only the ones above it (see bpf/README.md).
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mizan_abi.h"
#include "mizan_maps.h"

#include "definitions/knobs.h"
#include "definitions/syscall_nr.h"

#include "maps/maps.h"

#include "helpers/base.h"
#include "helpers/siphash.h"
#include "helpers/regs.h"
#include "helpers/path.h"
#include "helpers/task.h"
#include "helpers/interest.h"
#include "helpers/records.h"

#include "programs/lifecycle.h"
#include "programs/files.h"
#include "programs/network.h"
#include "programs/privilege.h"
#include "programs/tamper.h"
#include "programs/module.h"
#include "programs/dns.h"
#include "programs/syscalls.h"

char LICENSE[] SEC("license") = "GPL";
