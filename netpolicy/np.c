// SPDX-License-Identifier: Apache-2.0
/*
 * np.c - the network policy's userland: the BPF object's loader, the
 * double-buffered map writer (fill the slot the programs do not read, then
 * flip np_active), the reload watch, and the event reader that makes
 * observations of what the kernel refused or alerted on.
 *
 * Workload: a policy has at most a few thousand rules and changes rarely;
 * events are aggregated in the kernel per (process, peer, rule), so a
 * scan reads at most NP_EVENTS_MAX records however hard a process
 * hammers a denied peer.
 */
#include "netpolicy/np.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/mizan_maps.h"
#include "bpf/netpolicy_abi.h"
#include "collector/col_enrich.h"
#include "core/log.h"
#include "netpolicy.skel.h"

#define NP_SCAN_MAX     4096 /* event records read per pass (the rest wait) */
#define NP_EXPIRE_EVERY (10ull * 1000000000ull)

struct np {
    const struct mz_config *cfg;
    struct netpolicy *skel;
    struct bpf_link *links[6];
    struct col_enrich *enrich;
    /* prev: rule ids of events recorded before a reload. Both change on
     * the watch thread only, under lock, which readers take. */
    struct np_policy *cur, *prev;
    pthread_mutex_t lock;
    uint32_t gen, prev_gen;
    int inotify_fd;
    int wake_fd;    /* eventfd: SIGHUP's reload and np_free's stop */
    int domains_fd; /* under lock */
    pthread_t watch;
    bool watching;
    _Atomic bool stop;
    char dir[PATH_MAX], base[NAME_MAX + 1];
    struct mz_observation *held; /* refused by a full q1: offered first next time */
    uint64_t next_expire_ns;
    _Atomic bool reload;
    _Atomic uint64_t reloads, reload_failures, observations, seeded;
    char cgroup_root[PATH_MAX];
    /* Domains reactions blocked (np_block_domain): written into every
     * slot apply fills. rx_lock is held across apply's flip, so a block
     * lands in the slot that becomes active. */
    pthread_mutex_t rx_lock;
    char **rx_domains;
    size_t n_rx_domains;
};

/* ---- kernel maps ---------------------------------------------------------- */

static void map_clear(int fd, size_t key_size)
{
    uint8_t key[64], next[64];
    if (key_size > sizeof(key))
        return;
    /* delete the first key until there is none (deleting invalidates a walk) */
    while (bpf_map_get_next_key(fd, NULL, next) == 0) {
        memcpy(key, next, key_size);
        if (bpf_map_delete_elem(fd, key))
            break;
    }
}

static void dom_key_of(const char *domain, struct np_dom_val *val, struct np_dom_key *key)
{
    int len = np_name_to_wire(domain, val->name, sizeof(val->name));
    memset(key, 0, sizeof(*key));
    if (len > 0) {
        key->hash = np_name_hash(val->name, (size_t)len);
        key->len = (uint32_t)len;
    }
}

/* Writes p into the slot the programs do not read, then makes it the one
 * they read. Returns 0 or -errno (the active slot is then unchanged). */
static int apply(struct np *np, const struct np_policy *p, uint32_t gen)
{
    struct netpolicy *s = np->skel;
    uint32_t slot = !(__atomic_load_n(&s->bss->np_active, __ATOMIC_ACQUIRE) & 1);
    int c4 = bpf_map__fd(slot ? s->maps.np_cidr4_1 : s->maps.np_cidr4_0);
    int c6 = bpf_map__fd(slot ? s->maps.np_cidr6_1 : s->maps.np_cidr6_0);
    int dm = bpf_map__fd(slot ? s->maps.np_dom_1 : s->maps.np_dom_0);
    map_clear(c4, sizeof(struct np_lpm4_key));
    map_clear(c6, sizeof(struct np_lpm6_key));
    map_clear(dm, sizeof(struct np_dom_key));
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct np_rule *r = &p->rules[i];
        struct np_rule_val v = {.rule_id = gen << 16 | (uint32_t)(i + 1),
                                .policy = r->policy == NP_POLICY_DENY ? NP_DENY : NP_ALLOW};
        int rc;
        if (r->type == NP_RULE_CIDR && r->family == AF_INET) {
            struct np_lpm4_key k = {.prefixlen = r->prefix};
            memcpy(k.addr, r->addr, 4);
            rc = bpf_map_update_elem(c4, &k, &v, BPF_ANY);
        } else if (r->type == NP_RULE_CIDR) {
            struct np_lpm6_key k = {.prefixlen = r->prefix};
            memcpy(k.addr, r->addr, 16);
            rc = bpf_map_update_elem(c6, &k, &v, BPF_ANY);
        } else {
            struct np_dom_val dv = {.rule = v};
            struct np_dom_key dk;
            dom_key_of(r->domain, &dv, &dk);
            rc = dk.len ? bpf_map_update_elem(dm, &dk, &dv, BPF_ANY) : -EINVAL;
        }
        if (rc) {
            log_error("netpolicy: %s:%u:%u: %s: cannot be loaded in the kernel: %s", p->source,
                      r->line, r->col, r->text, strerror(-rc));
            return rc;
        }
    }
    pthread_mutex_lock(&np->rx_lock);
    for (size_t i = 0; i < np->n_rx_domains; i++) {
        struct np_dom_val dv = {
            .rule = {.rule_id = gen << 16 | NP_RULE_REACTION_INDEX, .policy = NP_DENY}};
        struct np_dom_key dk;
        dom_key_of(np->rx_domains[i], &dv, &dk);
        if (dk.len)
            (void)bpf_map_update_elem(dm, &dk, &dv, BPF_ANY);
    }
    struct np_config c = {
        .cidr_mode = (uint8_t)p->cidr_mode,
        .cidr_policy = p->cidr_policy == NP_POLICY_DENY ? NP_DENY : NP_ALLOW,
        .resolve_mode = (uint8_t)p->resolve_mode,
        .resolve_policy = p->resolve_policy == NP_POLICY_DENY ? NP_DENY : NP_ALLOW,
        .gen = gen,
        .learn_ttl_min = NP_LEARN_TTL_MIN,
        .learn_ttl_max = NP_LEARN_TTL_MAX,
        .dom_deny = (uint32_t)(p->n_domain_deny + np->n_rx_domains),
    };
    int rc = 0;
    if (bpf_map_update_elem(bpf_map__fd(s->maps.np_config), &slot, &c, BPF_ANY))
        rc = -errno;
    else
        __atomic_store_n(&s->bss->np_active, slot, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&np->rx_lock);
    return rc;
}

/* ---- reactions' blocks ---------------------------------------------------- */

static int addr_parse(const char *ip, struct np_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (ip && inet_pton(AF_INET, ip, a->addr) == 1)
        a->family = AF_INET;
    else if (ip && inet_pton(AF_INET6, ip, a->addr) == 1)
        a->family = AF_INET6;
    else
        return -EINVAL;
    return 0;
}

int np_block_ip(struct np *np, const char *ip, uint32_t ttl_s)
{
    struct np_addr a;
    if (!np || !np->skel)
        return -ENOTSUP;
    if (addr_parse(ip, &a))
        return -EINVAL;
    int fd = bpf_map__fd(np->skel->maps.np_learned);
    uint64_t now = mz_boottime_ns();
    struct np_learned_val v = {.expires_ns = ttl_s ? now + ttl_s * 1000000000ull : UINT64_MAX};
    struct np_learned_val old;
    bool had = bpf_map_lookup_elem(fd, &a, &old) == 0 && old.dom.len == 0 && old.expires_ns > now;
    if (had && old.expires_ns >= v.expires_ns)
        return 1;
    if (bpf_map_update_elem(fd, &a, &v, BPF_ANY))
        return -errno;
    return had ? 1 : 0;
}

int np_unblock_ip(struct np *np, const char *ip)
{
    struct np_addr a;
    if (!np || !np->skel)
        return -ENOTSUP;
    if (addr_parse(ip, &a))
        return -EINVAL;
    int fd = bpf_map__fd(np->skel->maps.np_learned);
    struct np_learned_val old;
    if (bpf_map_lookup_elem(fd, &a, &old) || old.dom.len != 0 || old.expires_ns <= mz_boottime_ns())
        return 1;
    return bpf_map_delete_elem(fd, &a) ? -errno : 0;
}

int np_block_domain(struct np *np, const char *domain)
{
    struct np_dom_val dv = {.rule = {.policy = NP_DENY}};
    struct np_dom_key dk;
    if (!np || !np->skel)
        return -ENOTSUP;
    dom_key_of(domain ? domain : "", &dv, &dk);
    if (!dk.len)
        return -EINVAL;
    int r = 0;
    pthread_mutex_lock(&np->rx_lock);
    for (size_t i = 0; i < np->n_rx_domains; i++)
        if (strcasecmp(np->rx_domains[i], domain) == 0) {
            r = 1;
            goto out;
        }
    if (np->n_rx_domains >= NP_RX_DOMAINS_MAX) {
        r = -ENOSPC;
        goto out;
    }
    struct netpolicy *s = np->skel;
    uint32_t slot = __atomic_load_n(&s->bss->np_active, __ATOMIC_ACQUIRE) & 1;
    struct np_config c;
    int cfd = bpf_map__fd(s->maps.np_config);
    if (bpf_map_lookup_elem(cfd, &slot, &c)) {
        r = -errno;
        goto out;
    }
    dv.rule.rule_id = c.gen << 16 | NP_RULE_REACTION_INDEX;
    if (bpf_map_update_elem(bpf_map__fd(slot ? s->maps.np_dom_1 : s->maps.np_dom_0), &dk, &dv,
                            BPF_ANY)) {
        r = -errno;
        goto out;
    }
    c.dom_deny++;
    (void)bpf_map_update_elem(cfd, &slot, &c, BPF_ANY);
    np->rx_domains = mz_realloc(np->rx_domains, (np->n_rx_domains + 1) * sizeof(char *));
    np->rx_domains[np->n_rx_domains++] = mz_strdup(domain);
out:
    pthread_mutex_unlock(&np->rx_lock);
    return r;
}

/* The addresses the collector saw resolved for a domain p denies go into
 * np_learned (for NP_LEARN_TTL_MIN from now: the capture has no TTL). */
static void seed_learned(struct np *np, const struct np_policy *p)
{
    struct mz_ip_key key, next;
    struct mz_dns_val val;
    uint64_t now = mz_boottime_ns(), n = 0;
    int lfd = bpf_map__fd(np->skel->maps.np_learned);
    bool first = true;
    if (np->domains_fd < 0 || !p->n_domain_deny)
        return;
    for (int i = 0; i < 1 << 20; i++) {
        if (bpf_map_get_next_key(np->domains_fd, first ? NULL : &key, &next))
            break;
        first = false;
        key = next;
        char name[NP_DOMAIN_MAX + 2];
        if (bpf_map_lookup_elem(np->domains_fd, &key, &val) ||
            col_dns_name(val.qname, val.len < sizeof(val.qname) ? val.len : sizeof(val.qname), name,
                         sizeof(name)))
            continue;
        const struct np_rule *r = np_policy_domain_rule(p, name);
        if (!r || r->policy != NP_POLICY_DENY)
            continue;
        struct np_addr a = {.family = key.family};
        memcpy(a.addr, key.addr, sizeof(a.addr));
        struct np_learned_val lv = {.expires_ns = now + NP_LEARN_TTL_MIN * 1000000000ull};
        struct np_dom_val dv;
        dom_key_of(r->domain, &dv, &lv.dom);
        struct np_learned_val old;
        if (bpf_map_lookup_elem(lfd, &a, &old) == 0 && old.expires_ns > lv.expires_ns &&
            memcmp(&old.dom, &lv.dom, sizeof(lv.dom)) == 0)
            continue;
        if (bpf_map_update_elem(lfd, &a, &lv, BPF_ANY) == 0)
            n++;
    }
    if (n)
        log_info("netpolicy: %llu address(es) already resolved for denied domains are denied",
                 (unsigned long long)n);
    atomic_fetch_add(&np->seeded, n);
}

static void expire_learned(struct np *np)
{
    int fd = bpf_map__fd(np->skel->maps.np_learned);
    struct np_addr key, next;
    struct np_learned_val v;
    uint64_t now = mz_boottime_ns();
    bool first = true;
    for (int i = 0; i < NP_LEARNED_MAX + 1; i++) {
        if (bpf_map_get_next_key(fd, first ? NULL : &key, &next))
            break;
        first = false;
        if (bpf_map_lookup_elem(fd, &next, &v) == 0 && v.expires_ns <= now) {
            bpf_map_delete_elem(fd, &next);
            first = true; /* the walk is invalid after a delete: start again */
            continue;
        }
        key = next;
    }
}

/* ---- policy file ---------------------------------------------------------- */

static void watch_file(struct np *np)
{
    const char *path = np->cfg->netpolicy.file;
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t dl = (size_t)(slash - path);
        if (dl >= sizeof(np->dir))
            return;
        memcpy(np->dir, path, dl ? dl : 1);
        np->dir[dl ? dl : 1] = '\0';
        (void)mz_strlcpy(np->base, slash + 1, sizeof(np->base));
    } else {
        (void)mz_strlcpy(np->dir, ".", sizeof(np->dir));
        (void)mz_strlcpy(np->base, path, sizeof(np->base));
    }
    np->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    /* the directory, not the file: editors and config managers replace it */
    if (np->inotify_fd >= 0 &&
        inotify_add_watch(np->inotify_fd, np->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB) < 0) {
        log_warn("netpolicy: cannot watch %s (%s): changes apply on SIGHUP only", np->dir,
                 strerror(errno));
        close(np->inotify_fd);
        np->inotify_fd = -1;
    }
}

static bool file_changed(struct np *np)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool changed = false;
    if (np->inotify_fd < 0)
        return false;
    for (;;) {
        ssize_t n = read(np->inotify_fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len && strcmp(ev->name, np->base) == 0)
                changed = true;
            p += sizeof(*ev) + ev->len;
        }
    }
    return changed;
}

/* The policy decides what every process may reach: one that others than
 * root can rewrite is worth a word in the log. */
static void warn_if_writable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && ((st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_uid != 0))
        log_warn("netpolicy: %s is writable by others than root (owner %u, mode %03o)", path,
                 (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
}

static void reload(struct np *np)
{
    warn_if_writable(np->cfg->netpolicy.file);
    char err[512];
    struct np_policy *p = np_policy_load(np->cfg->netpolicy.file, err, sizeof(err));
    if (!p) {
        atomic_fetch_add(&np->reload_failures, 1);
        log_error("netpolicy: %s; keeping the running policy", err);
        return;
    }
    uint32_t gen = (np->gen + 1) & 0xffff;
    if (!gen)
        gen = 1;
    int r = apply(np, p, gen);
    if (r) {
        atomic_fetch_add(&np->reload_failures, 1);
        log_error("netpolicy: %s not applied (%s); keeping the running policy", p->source,
                  strerror(-r));
        np_policy_free(p);
        return;
    }
    pthread_mutex_lock(&np->lock);
    np_policy_free(np->prev);
    np->prev = np->cur;
    np->prev_gen = np->gen;
    np->cur = p;
    np->gen = gen;
    seed_learned(np, p);
    pthread_mutex_unlock(&np->lock);
    atomic_fetch_add(&np->reloads, 1);
    log_info("netpolicy: %s applied (%zu rules; cidr_mode %s, resolve_mode %s)", p->source,
             p->n_rules, np_mode_name(p->cidr_mode), np_mode_name(p->resolve_mode));
}

/* The watch thread: a change of the file or a SIGHUP is applied at once,
 * not at the collector's next pass (which a loaded machine can delay past
 * a second). */
static void *watch_main(void *arg)
{
    struct np *np = arg;
    while (!atomic_load(&np->stop)) {
        struct pollfd pfd[2] = {{.fd = np->wake_fd, .events = POLLIN},
                                {.fd = np->inotify_fd, .events = POLLIN}};
        int n = poll(pfd, np->inotify_fd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0 || atomic_load(&np->stop))
            continue;
        bool want = false;
        if (pfd[0].revents & POLLIN) {
            uint64_t v;
            if (read(np->wake_fd, &v, sizeof(v)) == sizeof(v))
                want = atomic_exchange(&np->reload, false);
        }
        if (np->inotify_fd >= 0 && (pfd[1].revents & POLLIN)) {
            /* a burst of events (write, close, rename) makes one reload */
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
            want |= file_changed(np);
        }
        if (want)
            reload(np);
    }
    return NULL;
}

/* ---- setup ---------------------------------------------------------------- */

/* Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on hybrid systems). */
static int cgroup2_root(char *out, size_t outlen)
{
    char line[1024];
    int r = -ENOENT;
    FILE *f = fopen("/proc/self/mounts", "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char src[256], mnt[512], type[64];
        if (sscanf(line, "%255s %511s %63s", src, mnt, type) == 3 && strcmp(type, "cgroup2") == 0) {
            r = mz_strlcpy(out, mnt, outlen) < 0 ? -ENAMETOOLONG : 0;
            break;
        }
    }
    fclose(f);
    return r;
}

struct np *np_new(const struct mz_config *cfg, char *err, size_t errlen)
{
    struct np *np = mz_calloc(1, sizeof(*np));
    np->cfg = cfg;
    pthread_mutex_init(&np->lock, NULL);
    pthread_mutex_init(&np->rx_lock, NULL);
    np->inotify_fd = -1;
    np->wake_fd = -1;
    np->domains_fd = -1;
    warn_if_writable(cfg->netpolicy.file);
    np->cur = np_policy_load(cfg->netpolicy.file, err, errlen);
    if (!np->cur)
        goto fail;
    np->gen = 1;

    np->skel = netpolicy__open_and_load();
    if (!np->skel) {
        snprintf(err, errlen, "netpolicy: cannot load bpf/netpolicy.bpf.c: %s", strerror(errno));
        goto fail;
    }
    int r = apply(np, np->cur, np->gen);
    if (r) {
        snprintf(err, errlen, "netpolicy: %s: cannot fill the kernel maps: %s", np->cur->source,
                 strerror(-r));
        goto fail;
    }
    if ((r = cgroup2_root(np->cgroup_root, sizeof(np->cgroup_root)))) {
        snprintf(err, errlen, "netpolicy: no cgroup v2 hierarchy mounted: nothing to attach to");
        goto fail;
    }
    int cg = open(np->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) {
        snprintf(err, errlen, "netpolicy: %s: %s", np->cgroup_root, strerror(errno));
        goto fail;
    }
    struct bpf_program *progs[] = {np->skel->progs.np_connect4, np->skel->progs.np_connect6,
                                   np->skel->progs.np_sendmsg4, np->skel->progs.np_sendmsg6,
                                   np->skel->progs.np_egress,   np->skel->progs.np_ingress};
    for (size_t i = 0; i < MZ_ARRAY_SIZE(progs); i++) {
        np->links[i] = bpf_program__attach_cgroup(progs[i], cg);
        if (!np->links[i]) {
            snprintf(err, errlen, "netpolicy: cannot attach %s to %s: %s",
                     bpf_program__name(progs[i]), np->cgroup_root, strerror(errno));
            close(cg);
            goto fail;
        }
    }
    close(cg);
    np->enrich = col_enrich_new(cfg);
    watch_file(np);
    np->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (np->wake_fd < 0 || pthread_create(&np->watch, NULL, watch_main, np)) {
        snprintf(err, errlen, "netpolicy: cannot start the policy watch: %s", strerror(errno));
        goto fail;
    }
    np->watching = true;
    log_info("netpolicy: %s applied at %s (%zu rules; cidr_mode %s, resolve_mode %s)",
             np->cur->source, np->cgroup_root, np->cur->n_rules, np_mode_name(np->cur->cidr_mode),
             np_mode_name(np->cur->resolve_mode));
    return np;
fail:
    np_free(np);
    return NULL;
}

void np_set_domains_map(struct np *np, int fd)
{
    if (!np || fd < 0)
        return;
    pthread_mutex_lock(&np->lock);
    if (np->domains_fd >= 0)
        close(np->domains_fd);
    np->domains_fd = fd;
    seed_learned(np, np->cur);
    pthread_mutex_unlock(&np->lock);
}

static void wake(struct np *np)
{
    uint64_t one = 1;
    if (np->wake_fd >= 0 && write(np->wake_fd, &one, sizeof(one)) < 0)
        log_debug("netpolicy: wake: %s", strerror(errno));
}

void np_request_reload(struct np *np)
{
    if (!np)
        return;
    atomic_store(&np->reload, true);
    wake(np);
}

/* ---- events --------------------------------------------------------------- */

static const char *rule_text(const struct np *np, uint32_t id, uint8_t kind, const char **domain)
{
    uint32_t gen = NP_RULE_GEN(id), idx = NP_RULE_INDEX(id);
    const struct np_policy *p = gen == np->gen ? np->cur : gen == np->prev_gen ? np->prev : NULL;
    *domain = NULL;
    if (id == NP_RULE_REACTION || idx == NP_RULE_REACTION_INDEX)
        return "reaction block";
    if (!p)
        return "a rule of an older policy";
    if (idx == 0)
        return kind == NP_EV_DROPDOMAIN ? "resolve_policy deny" : "cidr_policy deny";
    if (idx > p->n_rules)
        return "?";
    if (p->rules[idx - 1].type == NP_RULE_DOMAIN)
        *domain = p->rules[idx - 1].domain;
    return p->rules[idx - 1].text;
}

static struct mz_observation *observation(struct np *np, const struct np_event_key *k,
                                          const struct np_event_val *v, uint64_t boot_to_wall)
{
    struct mz_observation *o = mz_observation_new(MZ_OBS_FLOW);
    const char *rule_domain;
    o->first_ns = v->first_ns + boot_to_wall;
    o->last_ns = v->last_ns + boot_to_wall;
    o->count = v->count;
    o->proc.pid = (int32_t)k->tgid;
    o->proc.ppid = (int32_t)v->ppid;
    o->proc.uid = v->uid;
    o->proc.euid = v->uid;
    o->proc.gid = v->gid;
    o->proc.start_ns = k->start_ns;
    o->proc.cgroup_id = v->cgroup_id;
    memcpy(o->proc.comm, v->comm, sizeof(o->proc.comm));
    o->proc.comm[sizeof(o->proc.comm) - 1] = '\0';
    if (np->enrich)
        col_enrich_process(np->enrich, &o->proc);

    struct mz_flow *f = &o->flow;
    f->proto = k->proto;
    f->family = k->peer.family == AF_INET6 ? AF_INET6 : AF_INET;
    f->direction = MZ_DIR_EGRESS;
    f->remote_port = k->port;
    inet_ntop(f->family, k->peer.addr, f->remote_addr, sizeof(f->remote_addr));
    f->actions = (k->source == NP_SRC_CONNECT ? MZ_FL_CONNECT : MZ_FL_SEND) |
                 (k->kind == NP_EV_DROPDOMAIN ? MZ_FL_DROPDOMAIN : MZ_FL_DROPIP) |
                 (k->blocked ? MZ_FL_BLOCKED : 0);
    f->rule = mz_strdup(rule_text(np, k->rule_id, k->kind, &rule_domain));
    if (k->kind == NP_EV_DROPDOMAIN) {
        char name[NP_DOMAIN_MAX + 2];
        size_t len = v->qlen < sizeof(v->qname) ? v->qlen : sizeof(v->qname);
        if (col_dns_name(v->qname, len, name, sizeof(name)) == 0)
            f->domain = mz_strdup(name);
    } else if (rule_domain) {
        f->domain = mz_strdup(rule_domain);
    }
    return o;
}

static int offer(struct np *np, struct mz_observation *o, np_emit_fn emit, void *ctx)
{
    int r = emit(o, ctx);
    if (r == -EAGAIN) {
        np->held = o;
        return r;
    }
    if (r)
        mz_observation_free(o); /* emit refused it for good: counted by the caller */
    else
        atomic_fetch_add(&np->observations, 1);
    return r;
}

int np_tick(struct np *np, np_emit_fn emit, void *ctx)
{
    int n = 0;
    if (np->held) {
        struct mz_observation *o = np->held;
        np->held = NULL;
        if (offer(np, o, emit, ctx) == -EAGAIN)
            return -EAGAIN;
        n++;
    }
    int fd = bpf_map__fd(np->skel->maps.np_events);
    uint64_t boot_to_wall = mz_now_ns() - mz_boottime_ns();
    for (int i = 0; i < NP_SCAN_MAX; i++) {
        struct np_event_key k;
        struct np_event_val v;
        if (bpf_map_get_next_key(fd, NULL, &k))
            break;
        if (bpf_map_lookup_and_delete_elem(fd, &k, &v)) {
            bpf_map_delete_elem(fd, &k);
            continue;
        }
        pthread_mutex_lock(&np->lock);
        struct mz_observation *o = observation(np, &k, &v, boot_to_wall);
        pthread_mutex_unlock(&np->lock);
        int r = offer(np, o, emit, ctx);
        if (r == -EAGAIN)
            return -EAGAIN;
        n += r == 0;
    }
    uint64_t now = mz_boottime_ns();
    if (now >= np->next_expire_ns) {
        expire_learned(np);
        np->next_expire_ns = now + NP_EXPIRE_EVERY;
    }
    return n;
}

struct cJSON *np_stats_json(struct np *np)
{
    cJSON *j = cJSON_CreateObject();
    struct np_counters sum = {0};
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu > 0 && ncpu < 4096) {
        struct np_counters *per = mz_calloc((size_t)ncpu, sizeof(*per));
        uint32_t zero = 0;
        if (bpf_map_lookup_elem(bpf_map__fd(np->skel->maps.np_counters), &zero, per) == 0) {
            for (int c = 0; c < ncpu; c++) {
                uint64_t *d = (uint64_t *)&sum;
                const uint64_t *s = (const uint64_t *)&per[c];
                for (size_t f = 0; f < sizeof(sum) / sizeof(uint64_t); f++)
                    d[f] += s[f];
            }
        }
        free(per);
    }
    pthread_mutex_lock(&np->lock);
    cJSON_AddStringToObject(j, "file", np->cur->source);
    cJSON_AddStringToObject(j, "cidr_mode", np_mode_name(np->cur->cidr_mode));
    cJSON_AddStringToObject(j, "resolve_mode", np_mode_name(np->cur->resolve_mode));
    cJSON_AddNumberToObject(j, "rules", (double)np->cur->n_rules);
    pthread_mutex_unlock(&np->lock);
    cJSON_AddNumberToObject(j, "reloads", (double)atomic_load(&np->reloads));
    cJSON_AddNumberToObject(j, "reload_failures", (double)atomic_load(&np->reload_failures));
    cJSON_AddNumberToObject(j, "observations", (double)atomic_load(&np->observations));
    cJSON_AddNumberToObject(j, "seeded_from_captures", (double)atomic_load(&np->seeded));
    cJSON_AddNumberToObject(j, "checked", (double)sum.checked);
    cJSON_AddNumberToObject(j, "denied", (double)sum.denied);
    cJSON_AddNumberToObject(j, "blocked", (double)sum.blocked);
    cJSON_AddNumberToObject(j, "dns_queries", (double)sum.dns_queries);
    cJSON_AddNumberToObject(j, "dns_denied", (double)sum.dns_denied);
    cJSON_AddNumberToObject(j, "learned", (double)sum.learned);
    cJSON_AddNumberToObject(j, "learn_failed", (double)sum.learn_failed);
    cJSON_AddNumberToObject(j, "events_lost", (double)sum.events_lost);
    cJSON_AddNumberToObject(j, "dns_malformed", (double)sum.dns_malformed);
    cJSON_AddNumberToObject(j, "dns_unmatched", (double)sum.dns_unmatched);
    return j;
}

void np_free(struct np *np)
{
    if (!np)
        return;
    if (np->watching) {
        atomic_store(&np->stop, true);
        wake(np);
        pthread_join(np->watch, NULL);
    }
    if (np->wake_fd >= 0)
        close(np->wake_fd);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(np->links); i++)
        bpf_link__destroy(np->links[i]);
    netpolicy__destroy(np->skel);
    col_enrich_free(np->enrich);
    mz_observation_free(np->held);
    if (np->inotify_fd >= 0)
        close(np->inotify_fd);
    if (np->domains_fd >= 0)
        close(np->domains_fd);
    np_policy_free(np->cur);
    np_policy_free(np->prev);
    pthread_mutex_destroy(&np->lock);
    pthread_mutex_destroy(&np->rx_lock);
    for (size_t i = 0; i < np->n_rx_domains; i++)
        free(np->rx_domains[i]);
    free(np->rx_domains);
    free(np);
}
