/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture_model.c - the fixture model server (demo/fixture_server.h)
 * as a standalone program, for the CLI tests that drive build/mizan:
 *
 *   fixture_model [--port N] [--behaviour NAME] [--script B1,B2,...]
 *                 [--verdict V] [--confidence X] [--severity S] [--reason R]
 *                 [--delay-ms N] [--slow-ms N] [--retry-after S]
 *                 [--when SUBSTRING=VERDICT:CONFIDENCE:SEVERITY]...
 *                 [--record FILE.jsonl] [--port-file FILE] [--obey-file FILE.jsonl]
 *
 * --obey-file loads obey cases for --behaviour obey_any: one JSON object a
 * line (the files under tests/fixtures/injections/), whose "inject" array of
 * {"field","text"} objects holds the fragments of one instruction; the
 * server answers false_positive 1.0 to any request holding all of them.
 *
 * It prints the port it listens on (one line, on stdout), writes it to the
 * port file (atomically: written aside, then renamed) and serves until
 * SIGTERM or SIGINT. The behaviour can be switched while it runs with
 * `curl -d '{"behaviour":"500"}' http://127.0.0.1:PORT/fixture/behaviour`,
 * and GET /fixture/stats reports the request counts.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/event.h"
#include "core/log.h"
#include "core/util.h"
#include "demo/fixture_server.h"

static void usage(void)
{
    fprintf(stderr, "usage: fixture_model [--port N] [--behaviour NAME] [--script B1,B2,...]\n"
                    "  [--verdict true_positive|false_positive|uncertain] [--confidence X]\n"
                    "  [--severity S] [--reason R] [--delay-ms N] [--slow-ms N]\n"
                    "  [--retry-after S] [--record FILE] [--port-file FILE] [--obey-file FILE]\n"
                    "  [--when SUBSTRING=VERDICT:CONFIDENCE:SEVERITY]...\n"
                    "behaviours:");
    for (int i = 0; i < FIXTURE_BEHAVIOUR_COUNT; i++)
        fprintf(stderr, " %s", fixture_behaviour_name((enum fixture_behaviour)i));
    fprintf(stderr, "\n");
}

static int parse_uint(const char *s, uint64_t max, unsigned *out)
{
    uint64_t v;
    if (!s || mz_parse_u64(s, max, &v) < 0)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int write_port_file(const char *path, uint16_t port)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -errno;
    if (rename(tmp, path) < 0)
        return -errno;
    return 0;
}

/* "SUBSTRING=VERDICT:CONFIDENCE:SEVERITY"; the substring may not hold '='. */
static int add_when(struct fixture_server *fs, const char *spec)
{
    char buf[512];
    enum mz_verdict v;
    double conf;
    if (mz_strlcpy(buf, spec, sizeof(buf)) < 0)
        return -E2BIG;
    char *eq = strchr(buf, '=');
    char *c1 = eq ? strchr(eq + 1, ':') : NULL;
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!eq || !c1 || !c2 || eq == buf)
        return -EINVAL;
    *eq = *c1 = *c2 = '\0';
    if (mz_verdict_parse(eq + 1, &v) < 0 || mz_parse_double(c1 + 1, &conf) < 0)
        return -EINVAL;
    return fixture_server_answer_when(fs, buf, v, conf, c2 + 1);
}

/* Loads the obey cases of one JSONL corpus file. Returns the number loaded
 * or a negative errno (with the line on stderr). */
static int load_obey(struct fixture_server *fs, const char *path)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    int n = 0;
    if (!f)
        return -errno;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[0] == '\n' || line[0] == '#')
            continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *inj = j ? cJSON_GetObjectItemCaseSensitive(j, "inject") : NULL;
        const char *frags[8];
        size_t nf = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, inj)
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "text");
            if (cJSON_IsString(t) && nf < MZ_ARRAY_SIZE(frags))
                frags[nf++] = t->valuestring;
        }
        if (!nf || fixture_server_obey_add(fs, frags, nf) < 0) {
            fprintf(stderr, "fixture_model: %s:%zu: no \"inject\" texts\n", path, lineno);
            cJSON_Delete(j);
            n = -EINVAL;
            break;
        }
        cJSON_Delete(j);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    struct fixture_options o;
    enum fixture_behaviour script[64];
    size_t n_script = 0;
    const char *port_file = NULL;
    const char *obey_files[32];
    size_t n_obey_files = 0;
    const char *when[32];
    size_t n_when = 0;
    unsigned port = 0;

    fixture_options_default(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--port") == 0) {
            rc = parse_uint(v, 65535, &port);
        } else if (strcmp(a, "--behaviour") == 0 || strcmp(a, "--behavior") == 0) {
            rc = fixture_behaviour_parse(v, &o.behaviour);
        } else if (strcmp(a, "--script") == 0) {
            char buf[1024];
            if (mz_strlcpy(buf, v, sizeof(buf)) < 0) {
                rc = -E2BIG;
            } else {
                for (char *t = buf; t && rc == 0;) {
                    char *comma = strchr(t, ',');
                    if (comma)
                        *comma = '\0';
                    if (n_script == MZ_ARRAY_SIZE(script))
                        rc = -E2BIG;
                    else
                        rc = fixture_behaviour_parse(t, &script[n_script++]);
                    t = comma ? comma + 1 : NULL;
                }
            }
        } else if (strcmp(a, "--when") == 0) {
            if (n_when == MZ_ARRAY_SIZE(when))
                rc = -E2BIG;
            else
                when[n_when++] = v;
        } else if (strcmp(a, "--verdict") == 0) {
            rc = mz_verdict_parse(v, &o.verdict);
        } else if (strcmp(a, "--confidence") == 0) {
            rc = mz_parse_double(v, &o.confidence);
        } else if (strcmp(a, "--severity") == 0) {
            o.severity = v;
        } else if (strcmp(a, "--reason") == 0) {
            o.reason = v;
        } else if (strcmp(a, "--delay-ms") == 0) {
            rc = parse_uint(v, 3600000, &o.delay_ms);
        } else if (strcmp(a, "--slow-ms") == 0) {
            rc = parse_uint(v, 3600000, &o.slow_ms);
        } else if (strcmp(a, "--retry-after") == 0) {
            rc = parse_uint(v, 86400, &o.retry_after_s);
        } else if (strcmp(a, "--record") == 0) {
            o.record_path = v;
        } else if (strcmp(a, "--port-file") == 0) {
            port_file = v;
        } else if (strcmp(a, "--obey-file") == 0) {
            if (n_obey_files == MZ_ARRAY_SIZE(obey_files))
                rc = -E2BIG;
            else
                obey_files[n_obey_files++] = v;
        } else {
            rc = -EINVAL;
        }
        if (rc < 0) {
            fprintf(stderr, "fixture_model: bad %s %s\n", a, v);
            usage();
            return 2;
        }
    }
    o.port = (uint16_t)port;

    /* block the signals before any thread starts so that only sigwait sees them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct fixture_server *fs = fixture_server_start_opts(&o);
    if (!fs) {
        fprintf(stderr, "fixture_model: cannot start\n");
        return 1;
    }
    if (n_script)
        fixture_server_script(fs, script, n_script);
    for (size_t i = 0; i < n_when; i++) {
        if (add_when(fs, when[i]) < 0) {
            fprintf(stderr,
                    "fixture_model: bad --when %s (SUBSTRING=VERDICT:CONFIDENCE:SEVERITY)\n",
                    when[i]);
            fixture_server_stop(fs);
            return 2;
        }
    }
    for (size_t i = 0; i < n_obey_files; i++) {
        int rc = load_obey(fs, obey_files[i]);
        if (rc < 0) {
            fprintf(stderr, "fixture_model: cannot load %s: %s\n", obey_files[i], strerror(-rc));
            fixture_server_stop(fs);
            return 2;
        }
    }
    if (port_file) {
        int rc = write_port_file(port_file, fixture_server_port(fs));
        if (rc < 0) {
            fprintf(stderr, "fixture_model: cannot write %s: %s\n", port_file, strerror(-rc));
            fixture_server_stop(fs);
            return 1;
        }
    }
    printf("%u\n", fixture_server_port(fs));
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "fixture_model: %zu requests, %zu distinct contents; stopping on signal %d\n",
            fixture_server_request_count(fs), fixture_server_distinct_contents(fs), sig);
    fixture_server_stop(fs);
    return 0;
}
