// SPDX-License-Identifier: Apache-2.0
/*
 * demo.c - `mizan demo` (demo.h). One temp directory holds everything the
 * daemon it starts writes: its config, the verdict cache, the status file,
 * alerts.log and audit.log, the daemon's stdout (JSON alerts) and stderr.
 * The demo reads them back to tell the story of its own three actions, and
 * only of those (the daemon watches the whole machine: alerts of other
 * processes are counted, not shown). Every wait is bounded; a signal
 * (Ctrl-C) ends the wait at once and goes to the same cleanup.
 *
 * The daemon is this binary, started with posix_spawn (the fixture server's
 * threads already run: no fork without exec).
 */
#include "demo/demo.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "core/util.h"
#include "demo/fixture_server.h"

extern char **environ;

/* The HTTP endpoint's section (http/, merged separately): when this build's
 * config does not know it, the demo runs without it and reads the counter
 * from the status file instead. */
#define DEMO_HTTP_YAML "http:\n  enabled: true\n  listen: 127.0.0.1:%u\n"
/* The /metrics sample that counts the withheld alert (http/http_metrics.c). */
#define DEMO_METRIC "mizan_attenuator_withheld_total"
/* The same counter in the status file (`mizan status`). */
static const char *const status_counter[] = {"pipeline", "attenuator", "guard", "withhold"};

#define WAIT_START_S 30
#define WAIT_ALERT_S 20
#define WAIT_STOP_S  20
#define FILE_CAP     (64u << 20)

/* The recipe the fixture model calls a false positive, and its action. */
#define FP_RECIPE "security_software_discovery"

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
    stop_sig = sig;
}

struct demo {
    char dir[32]; /* /tmp/mizan-demo.XXXXXX */
    char cfg[64], out[64], err[64], status[64], audit[64], alerts[64];
    struct fixture_server *fx;
    pid_t daemon;
    unsigned metrics_port; /* 0: no HTTP endpoint in this build */
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short: the callers check stop_sig */
}

static bool daemon_alive(struct demo *d)
{
    int st;
    if (d->daemon <= 0)
        return false;
    if (waitpid(d->daemon, &st, WNOHANG) == d->daemon) {
        d->daemon = 0;
        return false;
    }
    return true;
}

/* A free port on 127.0.0.1 (closed again: the daemon binds it). */
static unsigned free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unsigned port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The daemon's config; with http set, the metrics endpoint too. 0 or -errno. */
static int write_config(struct demo *d, bool http, char *err, size_t errlen)
{
    struct mz_buf b;
    struct mz_config probe;
    int r = 0;
    mz_buf_init(&b, 1 << 16);
    r |= mz_buf_appendf(&b,
                        "# written by `mizan demo`: everything lives in %s\n"
                        "log_level: info\n"
                        "status_file: %s\n"
                        "collector:\n  enabled: true\n  cadence: 200ms\n"
                        "  pin_dir:  # empty: no pins, nothing stays attached after the demo\n"
                        "detect:\n  reload: false\n"
                        "attenuator:\n  enabled: true\n  mode: block\n  url: %s\n"
                        "  model: mizan-demo-fixture\n  timeout: 5s\n"
                        "  cache:\n    path: %s/verdicts.db\n"
                        "printers:\n  stdout:\n    format: json\n"
                        "  varlog:\n    path: %s\n    fsync: never\n",
                        d->dir, d->status, fixture_server_url(d->fx), d->dir, d->alerts);
    if (http)
        r |= mz_buf_appendf(&b, DEMO_HTTP_YAML, d->metrics_port);
    if (r) {
        mz_buf_free(&b);
        snprintf(err, errlen, "config: out of memory");
        return -ENOMEM;
    }
    r = mz_config_load_string(d->cfg, b.data, b.len, &probe, err, errlen);
    mz_config_free(&probe);
    if (r == 0) {
        FILE *f = fopen(d->cfg, "we");
        if (!f || fwrite(b.data, 1, b.len, f) != b.len)
            r = errno ? -errno : -EIO;
        if (f && fclose(f) != 0 && r == 0)
            r = -errno;
        if (r)
            snprintf(err, errlen, "%s: %s", d->cfg, strerror(-r));
    }
    mz_buf_free(&b);
    return r;
}

/* Runs argv (PATH lookup) with stdout to out (NULL: /dev/null) and stderr to
 * err (NULL: /dev/null). Returns the pid, or -errno. */
static pid_t spawn(const char *const argv[], const char *out, const char *err)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out ? out : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err ? err : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return r ? -r : pid;
}

/* Runs one action to its end; its pid or -errno. */
static pid_t act(const char *const argv[])
{
    pid_t pid = spawn(argv, NULL, NULL);
    int st;
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    return pid;
}

static cJSON *read_json_file(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (mz_read_file(path, FILE_CAP, &data, &len))
        return NULL;
    cJSON *j = cJSON_ParseWithLength(data, len);
    free(data);
    return j;
}

static double num_at(const cJSON *j, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n && j; i++)
        j = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
    return cJSON_IsNumber(j) ? j->valuedouble : -1;
}

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
    j = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        j = cJSON_GetObjectItemCaseSensitive(j, b);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* The first alert in the JSON-lines file path of process pid for recipe;
 * its line number in *line. NULL when there is none (yet). others, when
 * not NULL, gets the number of alerts of processes not in ours[0..n). */
static cJSON *find_alert(const char *path, pid_t pid, const char *recipe, size_t *line,
                         const pid_t *ours, size_t n, size_t *others)
{
    char *data = NULL;
    size_t len = 0;
    cJSON *found = NULL;
    if (others)
        *others = 0;
    if (mz_read_file(path, FILE_CAP, &data, &len))
        return NULL;
    size_t no = 0;
    for (char *p = data; p < data + len;) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        if (!nl)
            break; /* a line still being written */
        no++;
        cJSON *a = cJSON_ParseWithLength(p, (size_t)(nl - p));
        double apid = num_at(a, (const char *const[]){"process", "pid"}, 2);
        const char *rid = str_at(a, "recipe", "id");
        bool mine = false;
        for (size_t i = 0; i < n; i++)
            mine |= apid == ours[i];
        if (others && a && !mine)
            (*others)++;
        if (!found && apid == pid && rid && strcmp(rid, recipe) == 0) {
            found = a;
            *line = no;
        } else {
            cJSON_Delete(a);
        }
        p = nl + 1;
    }
    free(data);
    return found;
}

/* Waits up to secs for the alert; NULL when it did not come (or a signal). */
static cJSON *wait_alert(struct demo *d, const char *path, pid_t pid, const char *recipe,
                         size_t *line)
{
    uint64_t until = mz_monotonic_ns() + WAIT_ALERT_S * 1000000000ull;
    while (!stop_sig && mz_monotonic_ns() < until) {
        cJSON *a = find_alert(path, pid, recipe, line, NULL, 0, NULL);
        if (a)
            return a;
        if (!daemon_alive(d))
            return NULL;
        sleep_ms(100);
    }
    return NULL;
}

static void print_verdict(const cJSON *a)
{
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(a, "attenuation");
    const char *verdict = str_at(a, "attenuation", "verdict");
    const char *sev = str_at(a, "attenuation", "severity");
    double conf = num_at(att, (const char *const[]){"confidence"}, 1);
    double ms = num_at(att, (const char *const[]){"latency_ms"}, 1);
    bool hit = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(att, "cache_hit"));
    printf("      verdict   %s, confidence %.2f, severity %s\n", verdict ? verdict : "none", conf,
           sev ? sev : "-");
    if (hit)
        printf("      from      the verdict cache (no model call), %.2f ms\n", ms);
    else
        printf("      from      the model, %.2f ms\n", ms);
}

/* The fields of an audit.log line that say why it is there. */
static void print_audit_excerpt(const cJSON *a)
{
    static const char *const keep_att[] = {"status", "verdict", "confidence", "withheld", "reason"};
    cJSON *x = cJSON_CreateObject();
    cJSON *att = cJSON_CreateObject();
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(a, "attenuation");
    const char *id = str_at(a, "id", NULL);
    cJSON_AddStringToObject(x, "id", id ? id : "");
    cJSON_AddItemToObject(x, "recipe",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, "recipe"), 1));
    cJSON_AddItemToObject(x, "attenuation", att);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(keep_att); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, keep_att[i]);
        if (v)
            cJSON_AddItemToObject(att, keep_att[i], cJSON_Duplicate(v, 1));
    }
    cJSON *r = cJSON_GetObjectItemCaseSensitive(x, "recipe");
    cJSON_DeleteItemFromObjectCaseSensitive(r, "description");
    cJSON_DeleteItemFromObjectCaseSensitive(r, "name");
    cJSON_DeleteItemFromObjectCaseSensitive(r, "mechanism");
    char *s = cJSON_PrintUnformatted(x);
    printf("      %s   (excerpt)\n", s ? s : "");
    free(s);
    cJSON_Delete(x);
}

static void print_alert(const char *tag, const cJSON *a)
{
    printf("  -> %s %s (importance %s) pid %.0f %s\n", tag, str_at(a, "recipe", "id"),
           str_at(a, "recipe", "importance"), num_at(a, (const char *const[]){"process", "pid"}, 2),
           str_at(a, "process", "exe") ? str_at(a, "process", "exe") : "");
}

static size_t body_cb(char *p, size_t sz, size_t n, void *ctx)
{
    struct mz_buf *b = ctx;
    return mz_buf_append(b, p, sz * n) == 0 ? sz * n : 0;
}

/* The /metrics line counting withheld alerts, into line. 0, or -errno when
 * the endpoint does not answer or has no such line. */
static int metrics_line(unsigned port, char *line, size_t len)
{
    char url[64];
    struct mz_buf b;
    int r = -ENOENT;
    CURL *c = curl_easy_init();
    if (!c || !port) {
        curl_easy_cleanup(c);
        return -ENOTCONN;
    }
    mz_buf_init(&b, 4u << 20);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long code = 0;
    if (curl_easy_perform(c) != CURLE_OK ||
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
        r = -ENOTCONN;
    } else if (mz_buf_append(&b, "", 1) == 0) {
        for (char *p = b.data; p && *p;) {
            char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            size_t m = strlen(DEMO_METRIC);
            if (n > m && strncmp(p, DEMO_METRIC, m) == 0 && (p[m] == ' ' || p[m] == '{')) {
                snprintf(line, len, "%.*s", (int)n, p);
                r = 0;
                break;
            }
            p = nl ? nl + 1 : NULL;
        }
    }
    mz_buf_free(&b);
    curl_easy_cleanup(c);
    return r;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void stop_daemon(struct demo *d)
{
    int st;
    if (d->daemon <= 0)
        return;
    kill(d->daemon, SIGTERM);
    uint64_t until = mz_monotonic_ns() + WAIT_STOP_S * 1000000000ull;
    while (mz_monotonic_ns() < until) {
        pid_t w = waitpid(d->daemon, &st, WNOHANG);
        if (w == d->daemon || (w < 0 && errno == ECHILD)) {
            d->daemon = 0;
            return;
        }
        sleep_ms(50);
    }
    kill(d->daemon, SIGKILL);
    waitpid(d->daemon, &st, 0);
    d->daemon = 0;
}

static void section(const char *what)
{
    printf("\n%s\n", what);
}

/* The story; 0 when every step was seen, 1 when one was not. */
static int run_steps(struct demo *d)
{
    static const char *const shadow[] = {"cat", "/etc/shadow", NULL};
    static const char *const pgrep[] = {"pgrep", "-x", "falco", NULL};
    pid_t pids[3] = {0, 0, 0};
    size_t line = 0, others = 0;
    int missing = 0;
    cJSON *a;

    section("[1] cat /etc/shadow    (reads the password hashes)");
    pids[0] = act(shadow);
    a = pids[0] > 0 ? wait_alert(d, d->out, pids[0], "credentials_files_access", &line) : NULL;
    if (stop_sig) {
        cJSON_Delete(a);
        return 1;
    }
    if (a) {
        print_alert("ALERT", a);
        print_verdict(a);
    } else {
        printf("  -> no alert within %d s\n", WAIT_ALERT_S);
        missing++;
    }
    cJSON_Delete(a);
    if (stop_sig)
        return 1;

    section("[2] cat /etc/shadow    (the same thing again)");
    pids[1] = act(shadow);
    a = pids[1] > 0 ? wait_alert(d, d->out, pids[1], "credentials_files_access", &line) : NULL;
    if (stop_sig) {
        cJSON_Delete(a);
        return 1;
    }
    if (a) {
        print_alert("ALERT", a);
        print_verdict(a);
    } else {
        printf("  -> no alert within %d s\n", WAIT_ALERT_S);
        missing++;
    }
    cJSON_Delete(a);
    if (stop_sig)
        return 1;

    section("[3] pgrep -x falco     (looks for a security agent; the model calls it a false "
            "positive)");
    pids[2] = act(pgrep);
    a = pids[2] > 0 ? wait_alert(d, d->audit, pids[2], FP_RECIPE, &line) : NULL;
    if (stop_sig) {
        cJSON_Delete(a);
        return 1;
    }
    if (a) {
        print_alert("WITHHELD", a);
        print_verdict(a);
        printf("      not printed: low importance, and the model is confident on the\n"
               "      shape-only context too. Kept with its verdict and reason in\n"
               "      %s, line %zu:\n",
               d->audit, line);
        print_audit_excerpt(a);
    } else {
        printf("  -> not in %s within %d s\n", d->audit, WAIT_ALERT_S);
        missing++;
    }
    cJSON_Delete(a);
    if (stop_sig)
        return 1;

    section("The counter that counted it");
    char mline[512];
    sleep_ms(1200); /* the status file is written every second */
    if (metrics_line(d->metrics_port, mline, sizeof(mline)) == 0) {
        printf("  GET http://127.0.0.1:%u/metrics\n  %s\n", d->metrics_port, mline);
    } else {
        cJSON *s = read_json_file(d->status);
        double v = num_at(s, status_counter, MZ_ARRAY_SIZE(status_counter));
        const char *kept = str_at(s, "security", "kept");
        printf("  /metrics did not answer (%s); the same counter in\n"
               "  `mizan status -c %s`:\n  %s.%s.%s.%s = %.0f\n",
               d->metrics_port ? "no HTTP endpoint on its port" : "this build has no HTTP endpoint",
               d->cfg, status_counter[0], status_counter[1], status_counter[2], status_counter[3],
               v);
        if (kept)
            printf("  (the daemon runs with only %s: `security` in the status)\n", kept);
        cJSON_Delete(s);
    }

    /* pid 0 matches no alert: only the count of the others */
    cJSON_Delete(find_alert(d->alerts, 0, "", &line, pids, 3, &others));
    printf("\n%zu alerts of other processes on this machine went to %s meanwhile.\n", others,
           d->alerts);
    return missing ? 1 : 0;
}

int mz_demo(const char *self, bool keep)
{
    struct demo d;
    char err[1024];
    int status = 3;

    memset(&d, 0, sizeof(d));
    if (geteuid() != 0) {
        fprintf(stderr, "mizan demo: needs root (it loads eBPF programs)\n");
        return 3;
    }
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
        fprintf(stderr, "mizan demo: this kernel has no BTF (/sys/kernel/btf/vmlinux)\n");
        return 3;
    }
    mz_log_set_level(MZ_LOG_WARN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it happens, also into a pipe */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: a wait ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    (void)mz_strlcpy(d.dir, "/tmp/mizan-demo.XXXXXX", sizeof(d.dir));
    if (!mkdtemp(d.dir)) {
        fprintf(stderr, "mizan demo: mkdtemp: %s\n", strerror(errno));
        return 3;
    }
    snprintf(d.cfg, sizeof(d.cfg), "%s/mizan.yaml", d.dir);
    snprintf(d.out, sizeof(d.out), "%s/stdout.jsonl", d.dir);
    snprintf(d.err, sizeof(d.err), "%s/daemon.log", d.dir);
    snprintf(d.status, sizeof(d.status), "%s/status.json", d.dir);
    snprintf(d.alerts, sizeof(d.alerts), "%s/log/alerts.log", d.dir);
    snprintf(d.audit, sizeof(d.audit), "%s/log/audit.log", d.dir);

    struct fixture_options o;
    fixture_options_default(&o);
    o.verdict = MZ_VERDICT_TRUE_POSITIVE;
    o.confidence = 0.9;
    o.severity = "high";
    o.reason = "mizan demo fixture: a fixed answer per recipe, no model";
    d.fx = fixture_server_start_opts(&o);
    if (!d.fx ||
        fixture_server_answer_when(d.fx, FP_RECIPE, MZ_VERDICT_FALSE_POSITIVE, 0.97, "low")) {
        fprintf(stderr, "mizan demo: the built-in fixture model did not start\n");
        goto out;
    }
    d.metrics_port = free_port();
    if (write_config(&d, d.metrics_port != 0, err, sizeof(err)) < 0) {
        d.metrics_port = 0; /* this build has no HTTP endpoint */
        if (write_config(&d, false, err, sizeof(err)) < 0) {
            fprintf(stderr, "mizan demo: %s\n", err);
            goto out;
        }
    }

    printf("mizan demo: a daemon with the built-in fixture model (%s, block mode);\n"
           "everything it writes is in %s (removed at the end).\n",
           fixture_server_url(d.fx), d.dir);
    const char *const run_argv[] = {self, "run", "-c", d.cfg, NULL};
    pid_t pid = spawn(run_argv, d.out, d.err);
    if (pid < 0) {
        fprintf(stderr, "mizan demo: cannot start %s: %s\n", self, strerror((int)-pid));
        goto out;
    }
    d.daemon = pid;
    printf("daemon pid %d: loading the eBPF programs ...\n", (int)pid);
    fflush(stdout);
    uint64_t until = mz_monotonic_ns() + WAIT_START_S * 1000000000ull;
    bool ready = false;
    while (!stop_sig && !ready && mz_monotonic_ns() < until && daemon_alive(&d)) {
        cJSON *s = read_json_file(d.status);
        ready = num_at(s, (const char *const[]){"scans"}, 1) >= 1;
        cJSON_Delete(s);
        if (!ready)
            sleep_ms(100);
    }
    if (!ready) {
        if (!stop_sig) {
            char *log = NULL;
            size_t len = 0;
            fprintf(stderr, "mizan demo: the daemon did not start scanning; its log:\n");
            if (mz_read_file(d.err, 1 << 20, &log, &len) == 0)
                fwrite(log, 1, len, stderr);
            free(log);
        }
        goto out;
    }
    printf("attached and scanning.\n");
    status = run_steps(&d);
out:
    if (stop_sig)
        printf("\ninterrupted: cleaning up\n");
    fflush(stdout);
    stop_daemon(&d);
    fixture_server_stop(d.fx);
    if (keep) {
        printf("\nkept %s (remove it yourself)\n", d.dir);
    } else if (nftw(d.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
        fprintf(stderr, "mizan demo: removing %s: %s\n", d.dir, strerror(errno));
        status = status ? status : 1;
    } else if (status != 3 || stop_sig) {
        printf("\ndaemon stopped, %s removed.\n", d.dir);
    }
    if (stop_sig)
        return 130;
    return status;
}
