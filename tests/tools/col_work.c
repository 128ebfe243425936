// SPDX-License-Identifier: Apache-2.0
/*
 * col_work.c - workloads for the collector's live tests and benchmark. Each
 * subcommand performs one family of actions the collector must observe:
 *
 *   col_work open PATH             open PATH read-only, close it
 *   col_work loop DIR NFILES ROUNDS   open/close DIR/f0000.. ROUNDS times each
 *   col_work execloop N PROG       N times: vfork, exec PROG, wait
 *   col_work files DIR             create, chmod, chown, truncate, link,
 *                                  symlink, rename, unlink, mmap exec, memfd
 *   col_work net                   TCP listen/connect/accept and a UDP sendto
 *                                  on 127.0.0.1; prints the ports
 *   col_work priv                  setuid, setgid, capset, ptrace attach
 *   col_work tamper MAPID [FLOOD]  opens a map by id and deletes a key in it;
 *                                  then FLOOD setfsuid calls to distinct uids
 *                                  (as many privilege events), back to 0
 *   col_work rewrite MAPID         opens an array map by id and writes its
 *                                  element 0 back as it was (a write that
 *                                  changes nothing, but a write)
 *   col_work dns NAME IPV4          in a new network namespace: a DNS answer
 *                                  NAME -> IPV4 from 127.0.0.1:53, then a UDP
 *                                  connect to IPV4:9 (nothing leaves the netns)
 *   col_work relative DIR          in DIR: creates and unlinks "r" by relative
 *                                  paths, opens /etc/shadow as "shadow" from
 *                                  /etc and /etc/hostname through a dirfd
 *   col_work symlink DIR           creates DIR/target and DIR/ln -> target,
 *                                  opens DIR/ln
 *   col_work moved DIR             creates DIR/a/f and opens it twice more;
 *                                  renames DIR/a to DIR/b, opens DIR/b/f 3
 *                                  times; renames it to DIR/b/g, opens that
 *                                  once
 *   col_work flood KIND N [DIR|PROG]  reads /etc/shadow, then as fast as it
 *                                  can: KIND open, N distinct files created
 *                                  in DIR (DIR/d.../f...); exec, N vfork+exec
 *                                  of PROG; connect, N TCP connect attempts
 *                                  on 127.0.0.1 (ports 1..60000, each a new
 *                                  socket: refused unless something listens)
 *   col_work floodthen N DIR PATH  N distinct files created in DIR as in
 *                                  flood open, then opens PATH
 *   col_work mountmove DIR         in a new mount namespace: a tmpfs on
 *                                  DIR/m, creates DIR/m/f and opens it once
 *                                  more, moves the mount to DIR/n, opens
 *                                  DIR/n/f
 *
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

static int die(const char *what)
{
    fprintf(stderr, "col_work: %s: %s\n", what, strerror(errno));
    return 1;
}

static long num(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end != 0) {
        fprintf(stderr, "col_work: not a number: %s\n", s);
        exit(1);
    }
    return v;
}

static int do_open(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return die(path);
    close(fd);
    return 0;
}

static int do_loop(const char *dir, long nfiles, long rounds)
{
    char path[4096];
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < nfiles; i++) {
            snprintf(path, sizeof(path), "%s/f%04ld", dir, i);
            int fd = open(path, O_RDONLY);
            if (fd < 0)
                return die(path);
            close(fd);
        }
    }
    return 0;
}

/* One vfork+exec; separate so that no loop variable lives across vfork. */
static pid_t spawn_one(const char *prog)
{
    pid_t pid = vfork();
    if (pid == 0) {
        execl(prog, prog, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int do_execloop(long n, const char *prog)
{
    for (long i = 0; i < n; i++) {
        pid_t pid = spawn_one(prog);
        if (pid < 0)
            return die("vfork");
        int st;
        if (waitpid(pid, &st, 0) < 0)
            return die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "col_work: %s failed\n", prog);
            return 1;
        }
    }
    return 0;
}

static int do_files(const char *dir)
{
    char a[4096], b[4096], c[4096], d[4096];
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    snprintf(c, sizeof(c), "%s/c", dir);
    snprintf(d, sizeof(d), "%s/d", dir);
    int fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0)
        return die("create");
    if (write(fd, "hello\n", 6) != 6)
        return die("write");
    close(fd);
    if (chmod(a, 0640) < 0)
        return die("chmod");
    if (chown(a, getuid(), getgid()) < 0)
        return die("chown");
    if (truncate(a, 4096) < 0)
        return die("truncate");
    if (link(a, b) < 0)
        return die("link");
    if (symlink(a, c) < 0)
        return die("symlink");
    if (rename(b, d) < 0)
        return die("rename");
    if (unlink(d) < 0)
        return die("unlink");
    fd = open(a, O_RDONLY);
    if (fd < 0)
        return die("open for mmap");
    void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return die("mmap exec");
    munmap(m, 4096);
    close(fd);
    int mfd = (int)syscall(SYS_memfd_create, "col_memfd", 0);
    if (mfd < 0)
        return die("memfd_create");
    close(mfd);
    return 0;
}

static int do_net(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0)
        return die("listen");
    if (getsockname(ls, (struct sockaddr *)&sa, &len) < 0)
        return die("getsockname");
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    if (cs < 0 || connect(cs, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return die("connect");
    int as = accept(ls, NULL, NULL);
    if (as < 0)
        return die("accept");
    int us = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_port = htons(9)};
    ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (us < 0 || sendto(us, "x", 1, 0, (struct sockaddr *)&ua, sizeof(ua)) < 0)
        return die("sendto");
    /* IPv6 on ::1, when the loopback has it */
    unsigned port6 = 0;
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t len6 = sizeof(s6);
    int ls6 = socket(AF_INET6, SOCK_STREAM, 0);
    if (ls6 >= 0 && bind(ls6, (struct sockaddr *)&s6, sizeof(s6)) == 0 && listen(ls6, 4) == 0 &&
        getsockname(ls6, (struct sockaddr *)&s6, &len6) == 0) {
        int cs6 = socket(AF_INET6, SOCK_STREAM, 0);
        if (cs6 < 0 || connect(cs6, (struct sockaddr *)&s6, sizeof(s6)) < 0)
            return die("connect ::1");
        port6 = ntohs(s6.sin6_port);
        close(cs6);
    }
    if (ls6 >= 0)
        close(ls6);
    printf("%u %u\n", ntohs(sa.sin_port), port6);
    fflush(stdout);
    close(as);
    close(cs);
    close(ls);
    close(us);
    return 0;
}

static int do_priv(void)
{
    if (setgid(getgid()) < 0)
        return die("setgid");
    if (setuid(getuid()) < 0)
        return die("setuid");
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0 || syscall(SYS_capset, &h, d) < 0)
        return die("capset");
    pid_t child = fork();
    if (child < 0)
        return die("fork");
    if (child == 0) {
        pause();
        _exit(0);
    }
    int rc = 0;
    if (ptrace(PTRACE_ATTACH, child, NULL, NULL) < 0) {
        rc = die("ptrace");
    } else {
        waitpid(child, NULL, 0);
        ptrace(PTRACE_DETACH, child, NULL, NULL);
    }
    printf("%d\n", (int)child);
    fflush(stdout);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return rc;
}

static int do_tamper(long id)
{
    int fd = bpf_map_get_fd_by_id((unsigned int)id);
    if (fd < 0)
        return die("bpf_map_get_fd_by_id");
    unsigned char key[64] = {0};
    (void)bpf_map_delete_elem(fd, key); /* the attempt is what counts */
    close(fd);
    return 0;
}

static int do_fsuid_flood(long n)
{
    for (long i = 0; i < n; i++)
        (void)syscall(SYS_setfsuid, (unsigned int)(100000 + i));
    (void)syscall(SYS_setfsuid, 0);
    return 0;
}

static int do_rewrite(long id)
{
    int fd = bpf_map_get_fd_by_id((unsigned int)id);
    if (fd < 0)
        return die("bpf_map_get_fd_by_id");
    unsigned char val[4096];
    unsigned int key = 0;
    if (bpf_map_lookup_elem(fd, &key, val) < 0)
        return die("bpf_map_lookup_elem");
    if (bpf_map_update_elem(fd, &key, val, BPF_ANY) < 0)
        return die("bpf_map_update_elem");
    close(fd);
    return 0;
}

static int do_dns(const char *name, const char *ip)
{
    if (unshare(CLONE_NEWNET) < 0)
        return die("unshare(CLONE_NEWNET)");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return die("SIOCGIFFLAGS lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return die("SIOCSIFFLAGS lo");
    close(s);

    struct sockaddr_in dns = {.sin_family = AF_INET, .sin_port = htons(53)};
    dns.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int srv = socket(AF_INET, SOCK_DGRAM, 0);
    int cli = socket(AF_INET, SOCK_DGRAM, 0);
    if (srv < 0 || cli < 0 || bind(srv, (struct sockaddr *)&dns, sizeof(dns)) < 0)
        return die("bind 127.0.0.1:53");
    if (connect(cli, (struct sockaddr *)&dns, sizeof(dns)) < 0 || send(cli, "q", 1, 0) != 1)
        return die("query");
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    char q[16];
    if (recvfrom(srv, q, sizeof(q), 0, (struct sockaddr *)&from, &flen) < 0)
        return die("recvfrom");

    /* header, question (NAME A IN), one answer (pointer to the name) */
    unsigned char m[512];
    size_t n = 0;
    static const unsigned char hdr[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
    memcpy(m, hdr, sizeof(hdr));
    n = sizeof(hdr);
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || n + l + 1 > 300)
            return die("name");
        m[n++] = (unsigned char)l;
        memcpy(m + n, p, l);
        n += l;
        p += l + (dot ? 1 : 0);
    }
    m[n++] = 0;
    static const unsigned char qt[] = {0, 1, 0, 1};
    memcpy(m + n, qt, 4);
    n += 4;
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return die("ip");
    static const unsigned char an[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
    memcpy(m + n, an, sizeof(an));
    n += sizeof(an);
    memcpy(m + n, &a, 4);
    n += 4;
    if (sendto(srv, m, n, 0, (struct sockaddr *)&from, flen) != (ssize_t)n)
        return die("answer");
    if (recv(cli, m, sizeof(m), 0) < 0)
        return die("recv answer");

    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr = a};
    int c2 = socket(AF_INET, SOCK_DGRAM, 0);
    if (c2 < 0 || connect(c2, (struct sockaddr *)&peer, sizeof(peer)) < 0)
        return die("connect");
    close(c2);
    close(cli);
    close(srv);
    return 0;
}

static int do_relative(const char *dir)
{
    if (chdir(dir) < 0)
        return die("chdir");
    int fd = open("r", O_CREAT | O_WRONLY, 0600);
    if (fd < 0)
        return die("create r");
    close(fd);
    if (unlink("r") < 0)
        return die("unlink r");
    int dfd = open("/etc", O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return die("open /etc");
    fd = openat(dfd, "hostname", O_RDONLY);
    if (fd < 0)
        return die("openat hostname");
    close(fd);
    close(dfd);
    if (chdir("/etc") < 0)
        return die("chdir /etc");
    return do_open("shadow");
}

static int do_symlink(const char *dir)
{
    char target[4096], ln[4096];
    snprintf(target, sizeof(target), "%s/target", dir);
    snprintf(ln, sizeof(ln), "%s/ln", dir);
    int fd = open(target, O_CREAT | O_WRONLY, 0600);
    if (fd < 0)
        return die(target);
    close(fd);
    if (symlink("target", ln) < 0)
        return die(ln);
    return do_open(ln);
}

static int open_n(const char *path, int n)
{
    for (int i = 0; i < n; i++)
        if (do_open(path))
            return 1;
    return 0;
}

/* A directory renamed above a file this process keeps opening: the opens
 * after the rename must be charged to the new path, those before to the
 * old one. */
static int do_moved(const char *dir)
{
    char a[4096], b[4096], af[4096], bf[4096], bg[4096];
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    snprintf(af, sizeof(af), "%s/a/f", dir);
    snprintf(bf, sizeof(bf), "%s/b/f", dir);
    snprintf(bg, sizeof(bg), "%s/b/g", dir);
    if (mkdir(a, 0700) < 0)
        return die(a);
    int fd = open(af, O_CREAT | O_WRONLY, 0600);
    if (fd < 0)
        return die(af);
    close(fd);
    if (open_n(af, 2))
        return 1;
    if (rename(a, b) < 0)
        return die("rename dir");
    if (open_n(bf, 3))
        return 1;
    if (rename(bf, bg) < 0)
        return die("rename file");
    return open_n(bg, 1);
}

/* A mount moved above a file this process keeps opening (the path changes,
 * the dentry does not). */
static int do_mountmove(const char *dir)
{
    char m[4096], n[4096], mf[4096], nf[4096];
    snprintf(m, sizeof(m), "%s/m", dir);
    snprintf(n, sizeof(n), "%s/n", dir);
    snprintf(mf, sizeof(mf), "%s/m/f", dir);
    snprintf(nf, sizeof(nf), "%s/n/f", dir);
    if (unshare(CLONE_NEWNS) < 0)
        return die("unshare");
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return die("make / private");
    if (mkdir(m, 0700) < 0 || mkdir(n, 0700) < 0)
        return die("mkdir");
    if (mount("col_work", m, "tmpfs", 0, "size=64k") < 0)
        return die("mount tmpfs");
    int fd = open(mf, O_CREAT | O_WRONLY, 0600);
    if (fd < 0)
        return die(mf);
    close(fd);
    if (do_open(mf))
        return 1;
    if (mount(m, n, NULL, MS_MOVE, NULL) < 0)
        return die("move mount");
    return do_open(nf);
}

static int flood_open(long n, const char *dir)
{
    char path[4096];
    for (long i = 0; i < n; i++) {
        if (i % 10000 == 0) {
            snprintf(path, sizeof(path), "%s/d%03ld", dir, i / 10000);
            if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return die(path);
        }
        snprintf(path, sizeof(path), "%s/d%03ld/f%04ld", dir, i / 10000, i % 10000);
        int fd = open(path, O_CREAT | O_RDONLY, 0600);
        if (fd < 0)
            return die(path);
        close(fd);
    }
    return 0;
}

/* N distinct files created in DIR, then PATH opened: the record that matters
 * comes after the flood (the interest test, tests/live/test_collector.c). */
static int flood_then(long n, const char *dir, const char *path)
{
    if (flood_open(n, dir))
        return 1;
    return do_open(path);
}

static int flood_connect(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return die("socket");
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)(1 + i % 60000)),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        (void)connect(fd, (struct sockaddr *)&a, sizeof(a)); /* refused: an attempt */
        close(fd);
    }
    return 0;
}

static int do_flood(const char *kind, long n, const char *arg)
{
    char buf[4096];
    int fd = open("/etc/shadow", O_RDONLY);
    if (fd < 0)
        return die("/etc/shadow");
    if (read(fd, buf, sizeof(buf)) < 0)
        return die("read /etc/shadow");
    close(fd);
    if (strcmp(kind, "open") == 0 && arg)
        return flood_open(n, arg);
    if (strcmp(kind, "exec") == 0 && arg)
        return do_execloop(n, arg);
    if (strcmp(kind, "connect") == 0)
        return flood_connect(n);
    fprintf(stderr, "col_work: flood open N DIR | exec N PROG | connect N\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "open") == 0)
        return do_open(argv[2]);
    if (argc >= 5 && strcmp(argv[1], "loop") == 0)
        return do_loop(argv[2], num(argv[3]), num(argv[4]));
    if (argc >= 5 && strcmp(argv[1], "floodthen") == 0)
        return flood_then(num(argv[2]), argv[3], argv[4]);
    if (argc >= 4 && strcmp(argv[1], "execloop") == 0)
        return do_execloop(num(argv[2]), argv[3]);
    if (argc >= 3 && strcmp(argv[1], "files") == 0)
        return do_files(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "net") == 0)
        return do_net();
    if (argc >= 2 && strcmp(argv[1], "priv") == 0)
        return do_priv();
    if (argc >= 3 && strcmp(argv[1], "tamper") == 0)
        return do_tamper(num(argv[2])) || (argc >= 4 && do_fsuid_flood(num(argv[3])));
    if (argc >= 3 && strcmp(argv[1], "rewrite") == 0)
        return do_rewrite(num(argv[2]));
    if (argc >= 4 && strcmp(argv[1], "dns") == 0)
        return do_dns(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "relative") == 0)
        return do_relative(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "symlink") == 0)
        return do_symlink(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "moved") == 0)
        return do_moved(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "flood") == 0)
        return do_flood(argv[2], num(argv[3]), argc >= 5 ? argv[4] : NULL);
    if (argc >= 3 && strcmp(argv[1], "mountmove") == 0)
        return do_mountmove(argv[2]);
    fprintf(stderr,
            "usage: col_work "
            "open|loop|execloop|files|net|priv|tamper|relative|dns|symlink|moved|mountmove|flood "
            "...\n");
    return 2;
}
