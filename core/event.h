/* SPDX-License-Identifier: Apache-2.0 */
/*
 * event.h - the three records that flow through the pipeline:
 *
 *   observation  what a process did (exec, file access, network peer, ...),
 *                made by the collector or by replay;
 *   detection    an observation that matched a recipe, made by detect;
 *   alert        a detection with an id, a time and the attenuator's verdict,
 *                printed by the printers.
 *
 * Ownership moves along the pipeline and is never shared:
 *   - every char * field is heap-owned by the record that holds it;
 *   - mz_detection_new() TAKES the observation's contents (the observation is
 *     left zeroed and may be freed);
 *   - mz_alert_new() TAKES the detection (and frees its shell);
 *   - a record pushed onto a queue belongs to the consumer from then on.
 * Every _free accepts NULL.
 *
 * JSON forms (README "Output"): mz_alert_to_json() writes one alert object;
 * an observation line and a detection line (the replay formats) are parsed
 * back by mz_observation_from_json() and mz_detection_from_json().
 *
 * Return convention: 0 or a negative errno; constructors return NULL.
 */
#ifndef MIZAN_CORE_EVENT_H
#define MIZAN_CORE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/mizan_abi.h"
#include "core/util.h"

struct cJSON;

#define MZ_ARGS_MAX     4096 /* command lines are capped at this many bytes */
#define MZ_PATH_MAX     4096
#define MZ_ANCESTRY_MAX 16

enum mz_obs_kind {
    MZ_OBS_NONE = 0,
    MZ_OBS_EXEC = 1,   /* a process executed a binary (artifact: file = the exe) */
    MZ_OBS_FILE = 2,   /* file access (artifact: file) */
    MZ_OBS_FLOW = 3,   /* network peer (artifact: flow) */
    MZ_OBS_PRIV = 4,   /* setuid/capset/ptrace (artifact: priv) */
    MZ_OBS_TAMPER = 5, /* environment tainted (artifact: tamper) */
};

enum mz_importance {
    MZ_IMP_NONE = 0,
    MZ_IMP_LOW = 1,
    MZ_IMP_MEDIUM = 2,
    MZ_IMP_HIGH = 3,
    MZ_IMP_CRITICAL = 4,
};

struct mz_process {
    int32_t pid;
    int32_t ppid;
    uint32_t uid, gid, euid;
    uint64_t start_ns; /* boot-relative start time: with pid, a stable identity */
    uint64_t cgroup_id;
    char comm[16];
    char *exe; /* absolute path, may be NULL */
    /* The path the process ran it by, when that is another name for the
     * same file: the absolute name given to execve from a chroot or through
     * a symlink (exe is the file's own path, walked from its dentry up to
     * the root of its mount namespace: see exe_mnt_ns), or a hard link or bind mount of a file a
     * recipe names (exe is then the recipe's path). NULL otherwise. */
    char *exe_seen_as;
    /* When the exe's path was walked to the root of another mount
     * namespace than the initial one (a container that did pivot_root):
     * that namespace's inode, and the exe's path in the initial namespace
     * when some mount there shows the file (NULL: none does, e.g. an
     * overlay mounted only in the container). exe stays the path the
     * container sees. 0 and NULL otherwise: exe is the initial
     * namespace's path. */
    uint32_t exe_mnt_ns;
    char *exe_host_path;
    char *args;           /* argv joined by spaces, at most MZ_ARGS_MAX, may be NULL */
    char *cwd;            /* may be NULL */
    char *user;           /* user name of uid, may be NULL */
    char *group;          /* group name of gid, may be NULL */
    char *container;      /* container id from the cgroup path, NULL on the host */
    char *exe_sha256;     /* hex SHA-256 of the executable, NULL when unknown */
    char *exe_sha256_why; /* why exe_sha256 is NULL ("too_large", "pending", ...), or NULL */
    /* The collector's check of the file that ran (fstat of /proc/PID/exe, or
     * of the file it opened at the recorded path once the process is gone):
     * a regular file owned by root, writable by no group or other, whose
     * path is the same file in the daemon's mount namespace, under a system
     * directory (/usr/bin, /usr/sbin, /usr/lib, /usr/libexec, /bin, /sbin,
     * /lib) of which every component is a root-owned directory writable by
     * root alone. Built-in exclusions by program match only trusted exes. */
    bool exe_trusted;
    bool parent_exe_trusted; /* the same check of ancestry[0] */
    /* The executable's identity as the kernel recorded it at exec, in
     * userland st_dev encoding (makedev(MAJOR, MINOR) of the kernel's
     * s_dev); 0 when unknown. When set, the collector checks and hashes
     * only a file with this identity. */
    uint64_t exe_dev, exe_ino;
    char *exe_trust_why; /* why exe_trusted is what it is; NULL when not checked */
    char **ancestry;     /* exes of the parent, grandparent, ... (n_ancestry of them) */
    size_t n_ancestry;
};

struct mz_file {
    char *path;       /* absolute path */
    char *path2;      /* the other path of a rename/link/symlink, or NULL */
    uint32_t actions; /* enum mz_file_action bits */
    /* The file's identity, when the kernel had it (0: unknown): its inode
     * and device (userland dev_t, as stat(2) gives it). */
    uint64_t ino;
    uint64_t dev;
    /* The path the process used when a recipe named the same file (same
     * identity) by another path: path then holds the recipe's path (a hard
     * link, a bind mount, a chroot). NULL otherwise. */
    char *seen_as;
    /* As exe_mnt_ns and exe_host_path of struct mz_process, for path: the
     * mount namespace path is relative to when not the initial one, and the
     * file's path in the initial namespace when known. */
    uint32_t mnt_ns;
    char *host_path;
};

#define MZ_DOMAIN_NAMES_MAX 8 /* names of flow.domain_names (MZ_DNS_NAMES in the kernel) */
struct mz_flow {
    uint8_t proto;     /* IPPROTO_TCP, IPPROTO_UDP, ... */
    uint8_t family;    /* AF_INET or AF_INET6 */
    uint8_t direction; /* enum mz_flow_direction */
    uint8_t pad;
    uint16_t local_port;
    uint16_t remote_port;
    char local_addr[46]; /* textual address */
    char remote_addr[46];
    uint32_t actions; /* enum mz_flow_action bits */
    char *domain;     /* remote name from observed DNS answers, or NULL: the name this
                       * process resolved, else the last name any process got */
    /* Other processes got another name for the remote address than
     * domain (a forged or split-horizon answer): that name when known. */
    bool domain_conflict;
    char *domain_other;
    /* Every name the remote address had recently in the same answers as
     * domain (this process's, else the host-wide ones): the names asked
     * and those of the CNAME chains that led to it, most recent first,
     * without duplicates; domain is among them. */
    char *domain_names[MZ_DOMAIN_NAMES_MAX];
    size_t n_domain_names;
    /* The DNS answer that named it, when known: its message id and the
     * network namespace (inode) of the socket that asked (0: unknown);
     * resolution_own: this process's own answer, else the host-wide
     * entry's last one (another process may have asked). */
    bool has_resolution;
    bool resolution_own;
    uint16_t resolution_qid;
    uint32_t resolution_netns;
    char *rule; /* the network policy rule that matched (dropip, dropdomain), or NULL */
};

struct mz_priv {
    uint32_t actions; /* enum mz_priv_action bits */
    int64_t target;   /* the new uid/gid, or the traced pid */
};

struct mz_tamper {
    uint32_t kind; /* enum mz_tamper_kind */
    char *detail;  /* what was touched, e.g. the map name */
};

/* Where a live observation came from: the collector's map, the kernel
 * record's key, a fingerprint of its value (generation excluded) and the scan
 * that read it. map 0: not from the collector (replay). The alert id is a
 * digest of it and the recipe, so that a record delivered again after a
 * restart makes the same id; the delivery cursor counts by scan. */
struct mz_source {
    uint8_t map; /* MZ_MAP_* + 1, 0: none */
    uint8_t pad[3];
    uint32_t scan;
    uint64_t fp;
    uint8_t key[16];
};

struct mz_observation {
    enum mz_obs_kind kind;
    struct mz_source src;
    uint64_t first_ns; /* wall clock of the first occurrence */
    uint64_t last_ns;  /* wall clock of the latest occurrence */
    uint64_t count;    /* occurrences aggregated into this record */
    struct mz_process proc;
    struct mz_file file;     /* MZ_OBS_EXEC, MZ_OBS_FILE */
    struct mz_flow flow;     /* MZ_OBS_FLOW */
    struct mz_priv priv;     /* MZ_OBS_PRIV */
    struct mz_tamper tamper; /* MZ_OBS_TAMPER */
};

struct mz_recipe_ref {
    char *id;   /* e.g. "credentials_files_access" */
    char *name; /* human title */
    char *description;
    char *tactic;    /* MITRE tactic, e.g. "credential_access" */
    char *technique; /* e.g. "T1003.008" */
    char *mechanism; /* file_access | execution | network_peers | ... */
    enum mz_importance importance;
};

/* What a rate limit held back, folded into one alert ("N more like this").
 * The detection's obs is a sample: the first one held back. */
struct mz_summary {
    uint64_t count;    /* detections held back */
    uint64_t first_ns; /* wall clock: first occurrence among them */
    uint64_t last_ns;  /* wall clock: latest occurrence among them */
    char *limit;       /* "times_per_exe", ..., or "global_max_per_minute" */
    uint32_t max;      /* the limit's max */
    char *keys_json;   /* the limit's key, a JSON object, e.g. {"exe":"/usr/bin/python3"} */
};

/* Which parts of an observation a recipe matched, recorded by detect
 * (det_recipe_explain): the field, how it matched, and the recipe's own
 * pattern or list entry (never the field's text); span is where in the field
 * the match lies, so the shape-only context can name the token. Compact and
 * bounded: at most MZ_MATCHED_MAX parts, patterns cut to MZ_MATCHED_PAT-1
 * bytes. Must-not conditions are not parts. */
enum mz_match_field {
    MZ_MF_NONE = 0,
    MZ_MF_PATH,
    MZ_MF_PATH2,
    MZ_MF_EXE,
    MZ_MF_ARGS,
    MZ_MF_COMM,
    MZ_MF_CWD,
    MZ_MF_USER,
    MZ_MF_CONTAINER,
    MZ_MF_ANCESTRY, /* index: which entry (0: the parent) */
    MZ_MF_DOMAIN,
    MZ_MF_REMOTE_ADDR,
    MZ_MF_LOCAL_ADDR,
    MZ_MF_REMOTE_PORT,
    MZ_MF_LOCAL_PORT,
    MZ_MF_DETAIL,
    MZ_MF_SHA256,
    MZ_MF_ID,           /* uid, gid, euid, pid, ppid, priv target, time: a number */
    MZ_MF_DOMAIN_NAMES, /* index: which entry of flow.domain_names */
    MZ_MF__COUNT
};
enum mz_match_how {
    MZ_MH_EXACT = 0, /* the full path a `bases` entry names (dir + base) */
    MZ_MH_BASE,      /* the base name a `bases` entry names */
    MZ_MH_DIR,       /* under the directory a `bases` entry names */
    MZ_MH_REGEX,     /* a regular expression (bases regex or an arbitrary pattern) */
    MZ_MH_LIST,      /* an entry of a domain list */
    MZ_MH_CIDR,      /* an address range */
    MZ_MH_PORT,      /* a listed port */
    MZ_MH_NUMBER,    /* a number condition */
    MZ_MH_SCORE,     /* the algorithmic-domain score */
    MZ_MH__COUNT
};
#define MZ_MATCHED_MAX 6
#define MZ_MATCHED_PAT 48
struct mz_match_part {
    uint8_t field; /* enum mz_match_field */
    uint8_t how;   /* enum mz_match_how */
    uint8_t index; /* ancestry entry */
    uint8_t pad;
    uint16_t off, len;            /* the matched span in the field, bytes (len 0: whole) */
    char pattern[MZ_MATCHED_PAT]; /* the recipe's pattern or entry, NUL-terminated */
};
struct mz_matched {
    uint8_t n;
    bool more; /* more parts matched than fit */
    struct mz_match_part part[MZ_MATCHED_MAX];
};

struct mz_detection {
    uint64_t time_ns; /* when detect matched it */
    struct mz_recipe_ref recipe;
    struct mz_observation obs;
    struct mz_summary *summary; /* NULL, or: this detection summarizes what a limit held back */
    struct mz_matched matched;  /* what the recipe matched (n 0: not recorded, e.g. replay) */
};

enum mz_att_status {
    MZ_ATT_NONE = 0,       /* attenuator disabled */
    MZ_ATT_VERDICT = 1,    /* fresh model verdict */
    MZ_ATT_CACHED = 2,     /* verdict from the cache */
    MZ_ATT_BYPASSED = 3,   /* model not asked; see why */
    MZ_ATT_SUPPRESSED = 4, /* a deterministic suppression rule matched */
};

enum mz_verdict {
    MZ_VERDICT_NONE = 0,
    MZ_VERDICT_TRUE_POSITIVE = 1,
    MZ_VERDICT_FALSE_POSITIVE = 2,
    MZ_VERDICT_UNCERTAIN = 3,
};

struct mz_attenuation {
    enum mz_att_status status;
    enum mz_verdict verdict;
    double confidence; /* 0..1, valid with a verdict */
    char severity[16]; /* model's severity enum, or "" */
    char *reason;      /* only in reason mode, or NULL */
    char *why;         /* bypass / suppression reason, or NULL */
    char *model;       /* model name, or NULL */
    bool cache_hit;
    bool injection_suspected; /* an attacker-controlled field looks like an instruction */
    bool withheld;            /* block mode withheld it: goes to the audit log only */
    double latency_ms;        /* time the attenuator added */
    char *untrusted_text;     /* "field: why" when a field holds text beyond its shape, or NULL */
    enum mz_verdict shape_verdict; /* verdict on the shape-only context (block mode), or NONE */
    double shape_confidence;
    char shape_digest[65]; /* hex SHA-256 of the shape-only context, or "" */
};

struct mz_alert {
    char id[33];
    uint64_t time_ns;
    char *host;
    struct mz_detection det;
    struct mz_attenuation att;
};

/* --- lifecycle ------------------------------------------------------------- */
struct mz_observation *mz_observation_new(enum mz_obs_kind kind);
/* Frees what the fields own and zeroes them (the struct itself stays). */
void mz_observation_clear(struct mz_observation *obs);
void mz_observation_free(struct mz_observation *obs);
void mz_process_clear(struct mz_process *p);
/* Deep copy of src into dst (dst is overwritten, not cleared first). */
void mz_process_copy(struct mz_process *dst, const struct mz_process *src);
void mz_observation_copy(struct mz_observation *dst, const struct mz_observation *src);

/* Takes obs's contents (obs is left zeroed) and copies recipe. */
struct mz_detection *mz_detection_new(struct mz_observation *obs,
                                      const struct mz_recipe_ref *recipe);
void mz_detection_free(struct mz_detection *det);
void mz_summary_free(struct mz_summary *s);
void mz_recipe_ref_clear(struct mz_recipe_ref *r);
void mz_recipe_ref_copy(struct mz_recipe_ref *dst, const struct mz_recipe_ref *src);

/* Takes det (frees its shell); sets the id (a digest of det->obs.src and the
 * recipe id when src.map is set, else 128 random bits), the current time
 * and host. */
struct mz_alert *mz_alert_new(struct mz_detection *det, const char *host);
void mz_alert_free(struct mz_alert *alert);
void mz_attenuation_clear(struct mz_attenuation *att);

/* --- names ------------------------------------------------------------------ */
const char *mz_obs_kind_name(enum mz_obs_kind kind);
int mz_obs_kind_parse(const char *s, enum mz_obs_kind *out);
const char *mz_importance_name(enum mz_importance imp);
int mz_importance_parse(const char *s, enum mz_importance *out);
const char *mz_att_status_name(enum mz_att_status st);
const char *mz_verdict_name(enum mz_verdict v);
int mz_verdict_parse(const char *s, enum mz_verdict *out);
/* Name of one action bit, or NULL. */
const char *mz_file_action_name(uint32_t bit);
int mz_file_action_parse(const char *s, uint32_t *bit);
const char *mz_flow_action_name(uint32_t bit);
int mz_flow_action_parse(const char *s, uint32_t *bit);
const char *mz_proto_name(uint8_t proto);
const char *mz_match_field_name(unsigned field); /* "path", ...; "?" when unknown */
const char *mz_match_how_name(unsigned how);     /* "exact", ...; "?" when unknown */
int mz_match_field_parse(const char *s, unsigned *out);
int mz_match_how_parse(const char *s, unsigned *out);
/* Sets p->pattern to s, cut to MZ_MATCHED_PAT - 1 bytes at a character
 * boundary; bytes that are not valid UTF-8 become '?'. */
void mz_match_part_set_pattern(struct mz_match_part *p, const char *s);

/* --- JSON ------------------------------------------------------------------- */
/* Appends the JSON form (one object, no newline) to out. 0, or -E2BIG when
 * out's cap is reached (MZ_JSON_MAX holds any alert). */
#define MZ_JSON_MAX (8u << 20)
int mz_observation_json(const struct mz_observation *obs, struct mz_buf *out) MZ_MUST_CHECK;
int mz_detection_json(const struct mz_detection *det, struct mz_buf *out) MZ_MUST_CHECK;
int mz_alert_json(const struct mz_alert *alert, struct mz_buf *out) MZ_MUST_CHECK;
/* The same, as new cJSON objects owned by the caller. */
struct cJSON *mz_observation_to_json(const struct mz_observation *obs);
struct cJSON *mz_detection_to_json(const struct mz_detection *det);
struct cJSON *mz_alert_to_json(const struct mz_alert *alert);
/* Fills *out from an observation object (README "Replay formats"). On error
 * returns -EINVAL with a message naming the field in err; out is cleared. */
int mz_observation_from_json(const struct cJSON *j, struct mz_observation *out, char *err,
                             size_t errlen) MZ_MUST_CHECK;
/* A detection line: an observation plus "recipe" {id, ...} and optional "time". */
int mz_detection_from_json(const struct cJSON *j, struct mz_detection *out, char *err,
                           size_t errlen) MZ_MUST_CHECK;
/* One readable line for terminals (no trailing newline), into buf. */
int mz_alert_format_text(const struct mz_alert *alert, struct mz_buf *buf) MZ_MUST_CHECK;

#endif
