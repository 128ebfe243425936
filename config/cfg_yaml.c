// SPDX-License-Identifier: Apache-2.0
/*
 * cfg_yaml.c - error messages and scalar access for libyaml document walks
 * (see cfg_yaml.h).
 */
#include "config/cfg_yaml.h"

#include <errno.h>
#include <stdio.h>

int cfg_yaml_fail(char *err, size_t errlen, const char *file, const yaml_node_t *n,
                  const char *path, const char *fmt, va_list ap)
{
    char why[512];
    vsnprintf(why, sizeof(why), fmt, ap);
    snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", file, n ? n->start_mark.line + 1 : 0,
             n ? n->start_mark.column + 1 : 0, path, *path ? ": " : "", why);
    return -EINVAL;
}

const char *cfg_yaml_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}
