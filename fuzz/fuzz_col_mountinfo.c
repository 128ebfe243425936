// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_col_mountinfo.c - the collector's mountinfo parser and the mapping
 * of a path of another mount namespace to the initial one's
 * (collector/col_mntns.c): a container writes its own mount table. The
 * input is split at the first NUL: the part before is the container's
 * table, the part after the host's; every mount point of the first is
 * mapped through both, and each answer must be an absolute path within the
 * cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/col_mntns.h"
#include "core/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, 0, size);
    size_t a = nul ? (size_t)(nul - text) : size;
    struct col_mounts ns = {0}, host = {0};
    if (col_mountinfo_parse(text, a, &ns) < 0)
        return 0;
    if (nul && col_mountinfo_parse(nul + 1, size - a - 1, &host) < 0) {
        col_mounts_clear(&ns);
        return 0;
    }
    for (size_t i = 0; i < ns.n; i++) {
        if (ns.m[i].point[0] != '/' || strlen(ns.m[i].point) >= MZ_PATH_MAX)
            abort();
        char *out = NULL;
        if (col_mntns_map(&ns, nul ? &host : &ns, ns.m[i].point, &out) == 0 &&
            (!out || out[0] != '/' || strlen(out) >= MZ_PATH_MAX))
            abort();
        free(out);
    }
    col_mounts_clear(&ns);
    col_mounts_clear(&host);
    return 0;
}
