// SPDX-License-Identifier: Apache-2.0
/* test_prn_syslog_rsyslog.c - the syslog output against Debian's rsyslogd,
 * started here on 127.0.0.1 with its own config (imudp and imtcp on free
 * ports, omfile into a temp dir; the system's rsyslog is not touched). rsyslog
 * parses each message as RFC 5424 and writes the fields it found, so the
 * test reads back facility, severity, timestamp, host, app, procid, msgid,
 * structured data and the JSON, for UDP and for TCP (octet counting); over
 * TCP rsyslogd is also stopped and started again while alerts arrive, and
 * none is missing. SKIP (77) when rsyslogd is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "printers/printer.h"
#include "printers/prn_net.h"

#define RSYSLOGD "/usr/sbin/rsyslogd"

static char g_dir[64];
static uint16_t g_udp, g_tcp;
static pid_t g_rs = -1;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        for (int _i = 0; _i < 3000 && !(cond); _i++)                                               \
            sleep_ms(10);                                                                          \
        if (!(cond))                                                                               \
            fail_msg("timed out waiting for " #cond);                                              \
    } while (0)

static uint16_t free_port(int type)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, type, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool tcp_listening(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void rsyslog_start(void)
{
    char conf[128], pidf[128];
    snprintf(conf, sizeof(conf), "%s/rsyslog.conf", g_dir);
    snprintf(pidf, sizeof(pidf), "%s/rsyslog.pid", g_dir);
    g_rs = fork();
    assert_true(g_rs >= 0);
    if (g_rs == 0) {
        /* a test that dies (an assertion, a sanitizer) takes rsyslogd along */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(127);
        execl(RSYSLOGD, RSYSLOGD, "-n", "-f", conf, "-i", pidf, (char *)NULL);
        _exit(127);
    }
    WAIT_FOR(tcp_listening(g_tcp));
}

static void rsyslog_stop(void)
{
    int st;
    if (g_rs <= 0)
        return;
    kill(g_rs, SIGTERM);
    waitpid(g_rs, &st, 0);
    g_rs = -1;
}

static int setup_all(void **state)
{
    (void)state;
    char path[128];
    FILE *f;
    if (access(RSYSLOGD, X_OK) != 0) {
        printf("SKIP: %s is not installed (scripts/deps.sh installs rsyslog)\n", RSYSLOGD);
        exit(77);
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/mizan-syslog-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    g_udp = free_port(SOCK_DGRAM);
    g_tcp = free_port(SOCK_STREAM);
    snprintf(path, sizeof(path), "%s/rsyslog.conf", g_dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "global(workDirectory=\"%s\" maxMessageSize=\"64k\")\n"
            "module(load=\"imudp\")\nmodule(load=\"imtcp\")\n"
            "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%u\")\n"
            "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%u\")\n"
            "template(name=\"f\" type=\"string\" string=\"%%inputname%%|%%syslogfacility%%|"
            "%%syslogseverity%%|%%timereported:::date-rfc3339%%|%%hostname%%|%%app-name%%|"
            "%%procid%%|%%msgid%%|%%structured-data%%|%%msg%%\\n\")\n"
            "*.* action(type=\"omfile\" file=\"%s/out.log\" template=\"f\")\n",
            g_dir, g_udp, g_tcp, g_dir);
    fclose(f);
    rsyslog_start();
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    char cmd[128];
    rsyslog_stop();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static long num(const char *s)
{
    char *e;
    long v = strtol(s, &e, 10);
    if (e == s || *e)
        fail_msg("not a number: \"%s\"", s);
    return v;
}

/* Lines of out.log from input (imudp/imtcp) whose SD holds id="<prefix>NNNN",
 * in file order; ids[i] = NNNN. Checks every field of each. */
static size_t read_back(const char *input, const char *prefix, int *ids, size_t max)
{
    char path[128], *line = NULL;
    size_t cap = 0, n = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/out.log", g_dir);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (getline(&line, &cap, f) > 0 && n < max) {
        char *fields[10];
        char *p = line;
        size_t k = 0;
        line[strcspn(line, "\n")] = '\0';
        for (; k < 9; k++) { /* the JSON (last) may hold '|' */
            fields[k] = p;
            p = strchr(p, '|');
            if (!p)
                break;
            *p++ = '\0';
        }
        if (k < 9 || strcmp(fields[0], input) != 0)
            continue;
        fields[9] = p;
        char want_sd[64];
        char *at = strstr(fields[8], "id=\"");
        if (!at || strncmp(at + 4, prefix, strlen(prefix)) != 0)
            continue;
        int id = (int)strtol(at + 4 + strlen(prefix), NULL, 10);
        snprintf(want_sd, sizeof(want_sd), "[mizan@32473 id=\"%s%04d\" recipe=\"recipe_%d\"",
                 prefix, id, id % 4);
        assert_string_equal(fields[1], "13");         /* facility: log audit */
        assert_int_equal(num(fields[2]), 2 + id % 4); /* severity by importance */
        assert_string_equal(fields[3], "2026-12-01T12:00:00.654321Z");
        assert_string_equal(fields[4], "node-9");
        assert_string_equal(fields[5], "mizan");
        assert_int_equal(num(fields[6]), getpid());
        char msgid[32];
        snprintf(msgid, sizeof(msgid), "recipe_%d", id % 4);
        assert_string_equal(fields[7], msgid);
        assert_true(strncmp(fields[8], want_sd, strlen(want_sd)) == 0);
        assert_true(fields[9][0] == '{' && strstr(fields[9], "\"pad\":\"|x|\""));
        ids[n++] = id;
    }
    free(line);
    fclose(f);
    return n;
}

static const char *const importance[] = {"critical", "high", "medium", "low"};

static void write_alert(struct prn_printer *p, const char *prefix, int i)
{
    char line[512];
    int n = snprintf(line, sizeof(line),
                     "{\"id\":\"%s%04d\",\"time\":\"2026-12-01T12:00:00.654321987Z\","
                     "\"host\":\"node-9\",\"recipe\":{\"id\":\"recipe_%d\",\"importance\":\"%s\"},"
                     "\"pad\":\"|x|\"}",
                     prefix, i, i % 4, importance[i % 4]);
    assert_int_equal(p->write(p, line, (size_t)n), 0);
}

static struct prn_net_stats stats(struct prn_printer *p)
{
    struct prn_net_stats s;
    assert_int_equal(prn_net_stats(p, &s), 0);
    return s;
}

static struct prn_printer *make(struct mz_config *c, enum mz_syslog_transport t, const char *tag)
{
    char spool[128];
    mz_config_defaults(c);
    snprintf(spool, sizeof(spool), "%s/spool-%s", g_dir, tag);
    free(c->outputs.syslog.c.spool_dir);
    c->outputs.syslog.c.spool_dir = mz_strdup(spool);
    c->outputs.syslog.c.enabled = true;
    c->outputs.syslog.transport = t;
    c->outputs.syslog.port = t == MZ_SYSLOG_TCP ? g_tcp : g_udp;
    c->outputs.syslog.c.batch = 10;
    c->outputs.syslog.c.batch_wait_ms = 5;
    c->outputs.syslog.c.retry_min_ms = 20;
    c->outputs.syslog.c.retry_max_ms = 200;
    c->outputs.syslog.c.timeout_ms = 2000;
    c->outputs.syslog.c.spool_fsync = MZ_FSYNC_NEVER;
    struct prn_printer *p = prn_syslog_new(c);
    assert_non_null(p);
    return p;
}

static void test_udp_fields(void **state)
{
    (void)state;
    struct mz_config c;
    int ids[64];
    struct prn_printer *p = make(&c, MZ_SYSLOG_UDP, "udp");
    for (int i = 0; i < 40; i++)
        write_alert(p, "u", i);
    WAIT_FOR(stats(p).sent >= 40);
    WAIT_FOR(read_back("imudp", "u", ids, 64) == 40);
    /* each exactly once */
    bool seen[40] = {false};
    for (int i = 0; i < 40; i++) {
        assert_true(ids[i] >= 0 && ids[i] < 40 && !seen[ids[i]]);
        seen[ids[i]] = true;
    }
    p->flush(p, true);
    p->destroy(p);
    mz_config_free(&c);
}

static void test_tcp_fields_order_and_restart(void **state)
{
    (void)state;
    struct mz_config c;
    int ids[256];
    struct prn_printer *p = make(&c, MZ_SYSLOG_TCP, "tcp");
    for (int i = 0; i < 50; i++)
        write_alert(p, "t", i);
    WAIT_FOR(read_back("imtcp", "t", ids, 256) == 50);

    /* the receiver goes away while alerts keep coming, then comes back */
    rsyslog_stop();
    for (int i = 50; i < 120; i++)
        write_alert(p, "t", i);
    WAIT_FOR(stats(p).failed >= 1);
    assert_true(stats(p).spooled > 0);
    rsyslog_start();
    WAIT_FOR(stats(p).spool_records == 0 && stats(p).queued == 0);
    size_t n = 0;
    WAIT_FOR((n = read_back("imtcp", "t", ids, 256)) >= 120);
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == next)
            next++;
        else if (ids[i] > next)
            fail_msg("t%04d arrived before t%04d", ids[i], next);
    }
    assert_int_equal(next, 120);
    assert_true(stats(p).retried > 0);
    p->flush(p, true);
    p->destroy(p);
    mz_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_fields),
        cmocka_unit_test(test_tcp_fields_order_and_restart),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
