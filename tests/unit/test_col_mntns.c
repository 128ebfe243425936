// SPDX-License-Identifier: Apache-2.0
/*
 * test_col_mntns.c - the mountinfo parser and the mapping of a path of
 * another mount namespace to the initial one's (collector/col_mntns.c),
 * on mount tables written here: a container whose root is a bind mount of
 * a host directory, a bind mount inside it, stacked mounts, a tmpfs only
 * the container has, escaped names, malformed and oversized input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "collector/col_mntns.h"
#include "core/event.h"

static const char HOST[] = "27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
                           "22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw\n"
                           "30 27 0:30 / /tmp rw shared:7 - tmpfs tmpfs rw\n"
                           "31 27 8:1 /srv/images /images rw shared:1 - ext4 /dev/vda rw\n";

static const char CONTAINER[] =
    "40 38 8:1 /var/lib/c1/root / rw,relatime - ext4 /dev/vda rw\n"
    "41 40 0:30 /shared /mnt rw - tmpfs tmpfs rw\n"
    "42 40 0:50 / /scratch rw - tmpfs none rw\n"
    "43 40 8:1 /srv/images/a\\040b /data\\040dir ro - ext4 /dev/vda rw\n"
    "44 40 0:30 /under /mnt rw - tmpfs tmpfs rw\n";

static void parse(const char *text, struct col_mounts *ms)
{
    memset(ms, 0, sizeof(*ms));
    assert_int_equal(col_mountinfo_parse(text, strlen(text), ms), 0);
}

static void want(const struct col_mounts *ns, const struct col_mounts *host, const char *path,
                 int r, const char *host_path)
{
    char *out = (char *)1;
    assert_int_equal(col_mntns_map(ns, host, path, &out), r);
    if (host_path)
        assert_string_equal(out, host_path);
    else
        assert_null(out);
    free(out);
}

static void test_parse(void **state)
{
    (void)state;
    struct col_mounts ms;
    parse(CONTAINER, &ms);
    assert_int_equal(ms.n, 5);
    assert_int_equal(ms.m[0].dev, makedev(8, 1));
    assert_string_equal(ms.m[0].root, "/var/lib/c1/root");
    assert_string_equal(ms.m[0].point, "/");
    assert_string_equal(ms.m[3].root, "/srv/images/a b");
    assert_string_equal(ms.m[3].point, "/data dir");
    col_mounts_clear(&ms);
    col_mounts_clear(&ms); /* twice: NULL-safe and idempotent */
    col_mounts_clear(NULL);
}

static void test_map(void **state)
{
    (void)state;
    struct col_mounts ns, host;
    parse(CONTAINER, &ns);
    parse(HOST, &host);
    /* the root: the host's / mounts the same filesystem at its root */
    want(&ns, &host, "/data/secret", 0, "/var/lib/c1/root/data/secret");
    want(&ns, &host, "/", 0, "/var/lib/c1/root");
    /* a bind mount in the container, of a directory the host mounts at /tmp;
     * two at /mnt: the one listed last is on top */
    want(&ns, &host, "/mnt/x/y", 0, "/tmp/under/x/y");
    want(&ns, &host, "/mnt", 0, "/tmp/under");
    /* /mntx is not under /mnt */
    want(&ns, &host, "/mntx", 0, "/var/lib/c1/root/mntx");
    /* a mount only the container has */
    want(&ns, &host, "/scratch/f", -ENOENT, NULL);
    /* the host's longest root that prefixes the place: /images */
    want(&ns, &host, "/data dir/f", 0, "/images/a b/f");
    want(&ns, &host, "relative", -EINVAL, NULL);
    col_mounts_clear(&ns);
    col_mounts_clear(&host);
}

static void test_no_host_mount(void **state)
{
    (void)state;
    /* the host mounts only a subdirectory of the container's filesystem */
    static const char host_text[] = "1 0 0:30 /sub /x rw - tmpfs t rw\n";
    static const char ns_text[] = "1 0 0:30 / / rw - tmpfs t rw\n";
    struct col_mounts ns, host;
    parse(ns_text, &ns);
    parse(host_text, &host);
    want(&ns, &host, "/sub/f", 0, "/x/f");
    want(&ns, &host, "/subway", -ENOENT, NULL);
    want(&ns, &host, "/other/f", -ENOENT, NULL);
    col_mounts_clear(&ns);
    col_mounts_clear(&host);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char text[] = "garbage\n"
                               "1 0 8:1 / / \n" /* no options: skipped */
                               "1 0 8 / /x rw - a b c\n"
                               "1 0 99999:1 / /x rw - a b c\n"
                               "1 0 8:1 rel /x rw - a b c\n"
                               "1 0 8:1 / /nul\\000x rw - a b c\n"
                               "1 0 8:1 / /esc\\9 rw - a b c\n"
                               "1 0 8:1 / /ok rw"; /* no newline at the end */
    struct col_mounts ms;
    parse(text, &ms);
    assert_int_equal(ms.n, 2);
    assert_string_equal(ms.m[0].point, "/esc\\9"); /* not an escape: kept */
    assert_string_equal(ms.m[1].point, "/ok");
    col_mounts_clear(&ms);
    /* a path past MZ_PATH_MAX - 1 bytes is skipped */
    size_t n = MZ_PATH_MAX + 64;
    char *big = calloc(1, n + 64);
    assert_non_null(big);
    int off = snprintf(big, n, "1 0 8:1 / /");
    memset(big + off, 'a', MZ_PATH_MAX);
    memcpy(big + off + MZ_PATH_MAX, " rw\n", 4);
    parse(big, &ms);
    assert_int_equal(ms.n, 0);
    free(big);
}

static void test_too_many(void **state)
{
    (void)state;
    size_t line = 32, n = COL_MOUNTS_MAX + 1;
    char *text = calloc(n, line);
    assert_non_null(text);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, line, "%zu 0 8:1 / /m%zu rw\n", i, i);
    struct col_mounts ms = {0};
    assert_int_equal(col_mountinfo_parse(text, len, &ms), -E2BIG);
    assert_int_equal(ms.n, 0);
    assert_null(ms.m);
    free(text);
}

static void test_long_result(void **state)
{
    (void)state;
    /* host mount point + place past the cap */
    char *host_text = calloc(1, MZ_PATH_MAX + 64);
    assert_non_null(host_text);
    int off = snprintf(host_text, 64, "1 0 8:1 / /");
    memset(host_text + off, 'h', MZ_PATH_MAX - 100);
    memcpy(host_text + off + MZ_PATH_MAX - 100, " rw\n", 4);
    struct col_mounts ns, host;
    parse("1 0 8:1 / / rw\n", &ns);
    parse(host_text, &host);
    assert_int_equal(host.n, 1);
    char path[200];
    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = 0;
    want(&ns, &host, path, -ENAMETOOLONG, NULL);
    col_mounts_clear(&ns);
    col_mounts_clear(&host);
    free(host_text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),         cmocka_unit_test(test_map),
        cmocka_unit_test(test_no_host_mount), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_too_many),      cmocka_unit_test(test_long_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
