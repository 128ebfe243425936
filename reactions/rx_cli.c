// SPDX-License-Identifier: Apache-2.0
/*
 * rx_cli.c - `mizan react OP [ARG...]`, the helpers of shell reactions:
 * one request on the daemon's reaction socket (rx.h, rx_proto.h).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/util.h"
#include "reactions/rx.h"
#include "reactions/rx_proto.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: mizan react OP [ARG...]   (inside a shell reaction)\nOPs:");
    for (int i = RX_OP_NONE + 1; i < RX_OP_COUNT; i++)
        fprintf(out, " %s", rx_op_info((enum rx_op)i)->name);
    fputc('\n', out);
}

static void print_value(const cJSON *v)
{
    if (cJSON_IsString(v))
        fputs(v->valuestring, stdout);
    else if (cJSON_IsNumber(v))
        printf("%.0f", v->valuedouble);
    else if (cJSON_IsBool(v))
        fputs(cJSON_IsTrue(v) ? "true" : "false", stdout);
    else if (v && !cJSON_IsNull(v)) {
        char *s = cJSON_PrintUnformatted(v);
        if (s)
            fputs(s, stdout);
        free(s);
    } else {
        return;
    }
    fputc('\n', stdout);
}

int rx_cli_main(int argc, char **argv, const struct mz_config *cfg)
{
    int a = 1;
    if (a < argc && (strcmp(argv[a], "-c") == 0 || strcmp(argv[a], "--config") == 0))
        a += 2;
    if (a >= argc || strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
        usage(a >= argc ? stderr : stdout);
        return a >= argc ? 2 : 0;
    }
    enum rx_op op = rx_op_parse(argv[a]);
    const struct rx_op_info *info = rx_op_info(op);
    if (!info) {
        fprintf(stderr, "mizan react: unknown helper '%s'\n", argv[a]);
        usage(stderr);
        return 2;
    }
    int n = argc - a - 1;
    if (n < (int)info->min || n > (int)info->max) {
        fprintf(stderr, "mizan react %s: expected %u to %u arguments, got %d\n", info->name,
                info->min, info->max, n);
        return 2;
    }
    const char *token = getenv("MIZAN_REACTION_TOKEN");
    const char *path = getenv("MIZAN_REACTION_SOCKET");
    if (!path || !*path)
        path = cfg->reactions.socket;
    if (!token || !*token) {
        fprintf(stderr, "mizan react: MIZAN_REACTION_TOKEN is not set: run inside a shell "
                        "reaction\n");
        return 2;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "token", token);
    cJSON_AddStringToObject(req, "op", info->name);
    cJSON *args = cJSON_AddArrayToObject(req, "args");
    for (int i = 0; i < n; i++) {
        const char *s = argv[a + 1 + i];
        if (info->types[i] == 'n') {
            int64_t v;
            if (mz_parse_i64(s, -(1ll << 50), 1ll << 50, &v)) {
                fprintf(stderr, "mizan react %s: argument %d: expected an integer, got '%s'\n",
                        info->name, i + 1, s);
                cJSON_Delete(req);
                return 2;
            }
            cJSON_AddItemToArray(args, cJSON_CreateNumber((double)v));
        } else {
            cJSON_AddItemToArray(args, cJSON_CreateString(s));
        }
    }
    char *line = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!line)
        return 3;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (strlen(path) >= sizeof(sa.sun_path) || fd < 0) {
        fprintf(stderr, "mizan react: %s: bad socket path\n", path);
        free(line);
        if (fd >= 0)
            close(fd);
        return 3;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        fprintf(stderr, "mizan react: %s: %s\n", path, strerror(errno));
        free(line);
        close(fd);
        return 3;
    }
    size_t len = strlen(line);
    bool ok = write(fd, line, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    free(line);
    struct mz_buf b;
    mz_buf_init(&b, RX_LINE_MAX * 2);
    char chunk[8192];
    ssize_t r;
    while (ok && (r = read(fd, chunk, sizeof(chunk))) > 0)
        if (mz_buf_append(&b, chunk, (size_t)r))
            break;
    close(fd);
    cJSON *ans = b.data ? cJSON_Parse(b.data) : NULL;
    mz_buf_free(&b);
    if (!cJSON_IsObject(ans)) {
        fprintf(stderr, "mizan react: no answer from the daemon\n");
        cJSON_Delete(ans);
        return 3;
    }
    print_value(cJSON_GetObjectItemCaseSensitive(ans, "v"));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "errno");
    int status = 0;
    if (cJSON_IsString(e) && e->valuestring[0]) {
        fprintf(stderr, "%s\n", e->valuestring);
        status = 1;
    }
    cJSON_Delete(ans);
    return status;
}
