// SPDX-License-Identifier: Apache-2.0
/*
 * test_det_builtin.c - the built-in library: it loads without errors or
 * warnings, holds every recipe the issue names with MITRE classification and
 * our documentation, and each recipe fires on its positive fixtures
 * (tests/fixtures/recipes/ID.pos.jsonl) and not on its near-miss negatives
 * (ID.neg.jsonl). The index gives exactly what the naive loop gives.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/embedded.h"
#include "core/log.h"
#include "core/event.h"
#include "detect/det_int.h"
#include "detect/detect.h"

static const char *const expected[] = {
    /* file access */
    "capabilities_modification", "code_modification_through_procfs", "core_pattern_access",
    "cpu_fingerprint", "filesystem_fingerprint", "machine_fingerprint", "os_fingerprint",
    "os_network_fingerprint", "os_status_fingerprint", "credentials_files_access",
    "java_debug_lib_load", "java_instrument_lib_load", "package_repo_config_modification",
    "pam_config_modification", "shell_config_modification", "ssl_certificate_access",
    "sudoers_modification", "reading_of_ssh_keys", "ssh_auth_keys_modification",
    "binary_self_deletion", "global_shlib_modification", "sched_debug_access", "sysrq_access",
    "unprivileged_bpf_config_access", "environ_read_from_procfs", "auth_logs_tamper",
    "crypto_miner_files",
    /* execution */
    "binary_executed_by_loader", "code_on_the_fly", "credentials_text_lookup", "data_encoder_exec",
    "denial_of_service_tools", "exec_from_unusual_dir", "file_attribute_change", "hidden_elf_exec",
    "interpreter_shell_spawn", "net_filecopy_tool_exec", "net_mitm_tool_exec", "net_scan_tool_exec",
    "net_sniff_tool_exec", "net_suspicious_tool_exec", "passwd_usage", "password_brute_force",
    "runc_suspicious_exec", "webserver_exec", "webserver_shell_exec", "crypto_miner_execution",
    /* network peers */
    "cloud_metadata_access", "plaintext_communication", "algorithmic_domains", "new_domains",
    "adult_domain_access", "badware_domain_access", "dyndns_domain_access", "fake_domain_access",
    "gambling_domain_access", "phishing_domain_access", "piracy_domain_access",
    "threat_domain_access", "tracking_domain_access", "vpnlike_domain_access",
    /* tamper and privilege (mizan) */
    "environment_tainted", "record_flood", "bpf_program_load", "kernel_module_load",
    "ptrace_attach",
    /* added for the attack corpus (tests/attacks/) */
    "proc_mem_access", "credentials_file_search", "cloud_credentials_read", "cron_modification",
    "systemd_unit_modification", "transient_systemd_unit", "init_script_modification",
    "account_files_modification", "python_startup_hook", "shlib_load_from_unusual_dir",
    "shell_history_tamper", "log_files_tamper", "file_capabilities_set", "timestomp",
    "system_daemon_name_outside_system_dirs", "masquerading_extension", "exec_from_hidden_dir",
    "kernel_hardening_change", "ca_store_modification", "proc_hide_bind_mount", "awk_shell_spawn",
    "download_piped_to_shell", "busybox_applet_shell", "shell_network_connection",
    "vm_sandbox_detection", "vm_sandbox_detection_exec", "suid_binary_search",
    "security_software_discovery", "cgroup_release_agent_write", "namespace_escape_tool",
    "raw_disk_access_tool", "host_filesystem_mount"};

static char lists_dir[4096], fixtures_dir[4096];

static void config_for_tests(struct mz_config *cfg)
{
    mz_config_defaults(cfg);
    free(cfg->detect.lists_dir);
    cfg->detect.lists_dir = mz_strdup(lists_dir);
    cfg->detect.reload = false;
    cfg->detect.global_max_per_minute = 0;
}

static void test_library_is_clean(void **state)
{
    (void)state;
    size_t files = 0;
    for (const struct mz_embedded *e = mz_embedded_files; e->path; e++) {
        if (strncmp(e->path, "detect/recipes/", 15) != 0)
            continue;
        struct det_diag diag = {0};
        struct det_recipe **rs = NULL;
        size_t n = 0;
        struct det_load_opts o = {.lists_dir = lists_dir, .builtin = true};
        int rc = det_load_text(e->path, e->data, e->size, &o, &rs, &n, &diag);
        for (size_t i = 0; i < diag.n; i++)
            print_message("%s\n", diag.msgs[i]);
        assert_int_equal(rc, 0);
        assert_int_equal(diag.n, 0);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++)
            det_recipe_free(rs[i]);
        free(rs);
        det_diag_free(&diag);
        files++;
    }
    assert_true(files >= 4);
}

static void test_library_has_every_recipe(void **state)
{
    (void)state;
    struct mz_config cfg;
    char err[512] = "";
    config_for_tests(&cfg);
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    assert_non_null(e);
    struct det_set *s = det_engine_set(e);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(expected); i++) {
        const struct det_recipe *found = NULL;
        for (size_t j = 0; j < det_set_count(s); j++)
            if (strcmp(det_set_recipe(s, j)->id, expected[i]) == 0)
                found = det_set_recipe(s, j);
        if (!found)
            print_message("missing built-in recipe %s\n", expected[i]);
        assert_non_null(found);
    }
    for (size_t j = 0; j < det_set_count(s); j++) {
        const struct det_recipe *r = det_set_recipe(s, j);
        assert_true(r->enabled);
        assert_true(r->builtin);
        assert_non_null(r->tactic);
        assert_non_null(r->technique);
        assert_non_null(r->description);
        assert_true(r->importance >= MZ_IMP_LOW);
        assert_non_null(r->documentation);
        assert_true(strlen(r->documentation) > 80);
        assert_null(strstr(r->documentation, "https://")); /* our own text, not a link */
        assert_true(r->n_times > 0);
    }
    det_engine_free(e);
    mz_config_free(&cfg);
}

struct hits {
    char ids[64][128];
    size_t n;
};

static int collect(struct mz_detection *det, void *ctx)
{
    struct hits *h = ctx;
    if (h->n < 64)
        snprintf(h->ids[h->n++], sizeof(h->ids[0]), "%s", det->recipe.id);
    mz_detection_free(det);
    return 0;
}

static bool hit(const struct hits *h, const char *id)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->ids[i], id) == 0)
            return true;
    return false;
}

/* Runs each line of a fixture file through a fresh engine; checks that id
 * fires (want) or not, and that the index agrees with the naive loop.
 * Returns the number of lines. */
static size_t run_fixture(const struct mz_config *cfg, const char *id, const char *suffix,
                          bool want)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.%s.jsonl", fixtures_dir, id, suffix);
    FILE *f = fopen(path, "r");
    if (!f)
        print_message("missing fixture %s\n", path);
    assert_non_null(f);
    char line[16384];
    size_t lines = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '\n' || line[0] == '#')
            continue;
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        struct mz_observation o;
        char err[256];
        int rc = mz_observation_from_json(j, &o, err, sizeof(err));
        if (rc)
            print_message("%s:%zu: %s\n", path, lines + 1, err);
        assert_int_equal(rc, 0);
        cJSON_Delete(j);

        char eerr[512];
        struct det_engine *e = det_engine_new(cfg, eerr, sizeof(eerr));
        assert_non_null(e);
        /* index vs naive on the same observation (first sighting of a domain) */
        struct det_set *s = det_engine_set(e);
        struct det_recipe *a[128], *b[128];
        size_t na = det_set_match(s, &o, false, true, a, 128);
        size_t nb = det_set_match(s, &o, true, true, b, 128);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++)
            assert_ptr_equal(a[i], b[i]);

        struct hits h = {0};
        rc = det_match(e, &o, collect, &h);
        assert_true(rc >= 0);
        if (hit(&h, id) != want) {
            print_message("%s:%zu: %s %s; fired:", path, lines + 1, id,
                          want ? "did not fire" : "fired");
            for (size_t i = 0; i < h.n; i++)
                print_message(" %s", h.ids[i]);
            print_message("\n");
        }
        assert_true(hit(&h, id) == want);
        det_engine_free(e);
        mz_observation_clear(&o);
        lines++;
    }
    fclose(f);
    return lines;
}

static void test_fixtures(void **state)
{
    (void)state;
    struct mz_config cfg;
    char err[512] = "";
    config_for_tests(&cfg);
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    assert_non_null(e);
    struct det_set *s = det_engine_set(e);
    size_t n_pos = 0, n_neg = 0;
    for (size_t j = 0; j < det_set_count(s); j++) {
        const char *id = det_set_recipe(s, j)->id;
        size_t p = run_fixture(&cfg, id, "pos", true);
        size_t n = run_fixture(&cfg, id, "neg", false);
        assert_true(p >= 1);
        assert_true(n >= 1);
        n_pos += p;
        n_neg += n;
    }
    print_message("%zu recipes, %zu positive and %zu negative fixtures\n", det_set_count(s), n_pos,
                  n_neg);
    det_engine_free(e);
    mz_config_free(&cfg);
}

/* Random observations built from the pieces recipes look at: the index must
 * always agree with the naive loop. */
static void test_index_equals_naive_random(void **state)
{
    (void)state;
    static const char *const dirs[] = {"/etc",
                                       "/etc/sudoers.d",
                                       "/proc/1234",
                                       "/proc/self",
                                       "/proc",
                                       "/proc/sys/kernel",
                                       "/home/ana/.ssh",
                                       "/root",
                                       "/root/.ssh",
                                       "/dev/shm",
                                       "/tmp",
                                       "/usr/bin",
                                       "/usr/lib",
                                       "/var/log",
                                       "/sys/class/net/eth0",
                                       "/etc/ssh",
                                       "/",
                                       "/etc/pam.d",
                                       "/lib64",
                                       "/run"};
    static const char *const bases[] = {"shadow",
                                        "mem",
                                        "environ",
                                        "id_rsa",
                                        "authorized_keys",
                                        ".bashrc",
                                        "auth.log",
                                        "xmrig",
                                        "nmap",
                                        "sh",
                                        "bash",
                                        "python3.11",
                                        "ld-linux-x86-64.so.2",
                                        "base64",
                                        ".x",
                                        "cpuinfo",
                                        "address",
                                        "sshd",
                                        "core_pattern",
                                        "runc"};
    static const char *const args[] = {
        "x -d", "x -c id", "x", "x -i", "x stratum+tcp://p", "x password", "x /tmp/script.sh"};
    static char *anc_py[] = {"/usr/bin/python3.11", "/usr/bin/bash"};
    static char *anc_web[] = {"/usr/sbin/nginx"};
    static const char *const domains[] = {"xjw3kq9zp2lm.com", "github.com", "a.duckdns.org", NULL};
    struct mz_config cfg;
    char err[512] = "";
    config_for_tests(&cfg);
    struct det_engine *e = det_engine_new(&cfg, err, sizeof(err));
    assert_non_null(e);
    struct det_set *s = det_engine_set(e);
    uint64_t x = 88172645463325252ull;
    size_t total = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char path[256], exe[256];
        snprintf(path, sizeof(path), "%s/%s", dirs[x % MZ_ARRAY_SIZE(dirs)],
                 bases[(x >> 8) % MZ_ARRAY_SIZE(bases)]);
        snprintf(exe, sizeof(exe), "%s/%s", dirs[(x >> 16) % MZ_ARRAY_SIZE(dirs)],
                 bases[(x >> 24) % MZ_ARRAY_SIZE(bases)]);
        struct mz_observation o = {0};
        o.kind =
            (x >> 32) % 3 == 0 ? MZ_OBS_EXEC : ((x >> 32) % 3 == 1 ? MZ_OBS_FILE : MZ_OBS_FLOW);
        o.proc.exe = exe;
        o.proc.args = (char *)args[(x >> 36) % MZ_ARRAY_SIZE(args)];
        o.proc.uid = (x >> 40) % 2 ? 0 : 1000;
        o.proc.ancestry = (x >> 41) % 2 ? anc_py : anc_web;
        o.proc.n_ancestry = (x >> 41) % 2 ? 2 : 1;
        o.file.path = path;
        o.file.actions = (uint32_t)((x >> 44) & ((1u << MZ_FA_COUNT) - 1));
        o.flow.proto = (x >> 50) % 2 ? 6 : 17;
        o.flow.direction = (x >> 51) % 2 ? MZ_DIR_EGRESS : MZ_DIR_INGRESS;
        o.flow.remote_port = (x >> 52) % 2 ? 23 : 443;
        o.flow.actions = MZ_FL_CONNECT;
        snprintf(o.flow.remote_addr, sizeof(o.flow.remote_addr), "%s",
                 (x >> 53) % 2 ? "169.254.169.254" : "10.1.2.3");
        o.flow.domain = (char *)domains[(x >> 54) % MZ_ARRAY_SIZE(domains)];
        struct det_recipe *a[128], *b[128];
        size_t na = det_set_match(s, &o, false, true, a, 128);
        size_t nb = det_set_match(s, &o, true, true, b, 128);
        if (na != nb)
            print_message("%s %s %s: %zu vs %zu\n", mz_obs_kind_name(o.kind), path, exe, na, nb);
        assert_int_equal(na, nb);
        for (size_t k = 0; k < na; k++)
            assert_ptr_equal(a[k], b[k]);
        total += na;
    }
    print_message("20000 random observations, %zu matches, index = naive\n", total);
    assert_true(total > 1000); /* the pieces do hit recipes */
    det_engine_free(e);
    mz_config_free(&cfg);
}

int main(void)
{
    mz_log_set_level(MZ_LOG_WARN);
    const char *src = getenv("MIZAN_SOURCE_DIR");
    if (!src)
        src = ".";
    snprintf(lists_dir, sizeof(lists_dir), "%s/detect/lists", src);
    snprintf(fixtures_dir, sizeof(fixtures_dir), "%s/tests/fixtures/recipes", src);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_is_clean),
        cmocka_unit_test(test_library_has_every_recipe),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_index_equals_naive_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
