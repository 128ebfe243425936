/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prn_syslog.h - RFC 5424 formatting of one alert, for the syslog output
 * (prn_syslog.c) and its tests.
 *
 * Return convention: 0 or a negative errno.
 */
#ifndef MIZAN_PRINTERS_PRN_SYSLOG_H
#define MIZAN_PRINTERS_PRN_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define PRN_SYSLOG_SD_ID "mizan@32473" /* 32473: the enterprise number RFC 5612 sets aside */

/* Formats the alert JSON line as one RFC 5424 message (no framing):
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [mizan@32473 id=".."
 *   recipe=".." importance=".."] JSON
 * PRI = facility * 8 + severity from the recipe's importance (critical 2,
 * high 3, medium 4, low 5, else 6). TIMESTAMP is the alert's time with
 * microseconds (RFC 5424 allows six digits); HOSTNAME, MSGID (the recipe
 * id) and APP-NAME are cut to their RFC lengths, with anything outside
 * printable ASCII replaced by '_'; "-" when absent. The JSON line is the
 * MSG, whole. Appends to out: 0, -EINVAL (not an alert object), -E2BIG. */
int prn_syslog_format(const char *json, size_t len, uint32_t facility, const char *app_name,
                      long pid, struct mz_buf *out) MZ_MUST_CHECK;

#endif
