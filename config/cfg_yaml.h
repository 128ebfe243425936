/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfg_yaml.h - what every libyaml document walker of mizan shares (the
 * config, the network policy): errors as "file:line:col: key.path: why",
 * and the text of a scalar node.
 */
#ifndef MIZAN_CONFIG_CFG_YAML_H
#define MIZAN_CONFIG_CFG_YAML_H

#include <stdarg.h>
#include <stddef.h>
#include <yaml.h>

/* Writes "file:line:col: path: why" (why from fmt and ap; the position is
 * node n's, 0:0 when n is NULL; path may be empty) into err (errlen bytes,
 * cut to fit). Returns -EINVAL, for `return cfg_yaml_fail(...)`. */
int cfg_yaml_fail(char *err, size_t errlen, const char *file, const yaml_node_t *n,
                  const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* The text of n when it is a scalar, else NULL. */
const char *cfg_yaml_scalar(const yaml_node_t *n);

#endif
