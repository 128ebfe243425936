// SPDX-License-Identifier: Apache-2.0
/*
 * shape.c - the shape-only context and the free-text check (shape.h).
 *
 * Each attacker-controlled string is redacted (context.h), then cut into
 * tokens that are replaced by their classes; the same pass counts words and
 * looks for what a field's shape does not allow (shape.h lists it). The
 * check is deliberately coarse: it does not try to recognise an instruction
 * in any language, which no list can do; it asks whether the field holds
 * free text at all. A field that does loses its alert the right to be
 * withheld, nothing else. Results are memoized per thread, keyed by field
 * kind and text (the same executables and command lines come back alert
 * after alert); inputs longer than MEMO_MAX are computed each time.
 */
#include "attenuator/shape.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attenuator/context.h"
#include "attenuator/guard.h"

enum kind { K_ARGS, K_PATH, K_EXE, K_COMM, K_DOMAIN, K_USER, K_DETAIL, K__COUNT };

#define WORDS_MAX 12 /* more words than this in one field is free text */
#define RUN_PROSE 4  /* this many words in a row is prose */
#define B64_MIN   20 /* a base64-like blob this long is a blob */
#define HEX_MIN   65 /* longer than a SHA-256 */
#define SHAPE_CAP 8192
#define WHY_LEN   96

static inline bool c_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}
static inline bool c_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool c_alnum(unsigned char c)
{
    return c_digit(c) || c_alpha(c);
}
static inline bool c_hex(unsigned char c)
{
    return c_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline bool c_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Short words that make a run of words read as a sentence, in the
 * languages an ASCII-only text can be written in, and the words an appeal
 * to a reviewer uses. A hint for prose, not a gate: a run of RUN_PROSE
 * words is prose without any of them. */
static const char *const stopwords[] = {
    /* en */
    "the",
    "a",
    "an",
    "to",
    "is",
    "are",
    "be",
    "this",
    "that",
    "it",
    "as",
    "and",
    "or",
    "of",
    "for",
    "please",
    "all",
    "any",
    "your",
    "you",
    "not",
    "do",
    "dont",
    "should",
    "must",
    "now",
    "with",
    "from",
    "by",
    "on",
    "in",
    "we",
    "our",
    "its",
    "was",
    "has",
    "have",
    "will",
    "can",
    "just",
    "mark",
    "ignore",
    "treat",
    "classify",
    "reviewer",
    "routine",
    "benign",
    "safe",
    "approved",
    "authorized",
    "legit",
    "legitimate",
    "expected",
    "previous",
    "instructions",
    "ai",
    "reply",
    "answer",
    "false",
    "positive",
    "harmless",
    "ok",
    "okay",
    "fine",
    /* es, pt, it */
    "el",
    "la",
    "los",
    "las",
    "de",
    "del",
    "que",
    "y",
    "en",
    "como",
    "por",
    "para",
    "es",
    "un",
    "una",
    "esta",
    "este",
    "no",
    "o",
    "os",
    "do",
    "da",
    "dos",
    "das",
    "um",
    "uma",
    "com",
    "e",
    "isto",
    "il",
    "lo",
    "di",
    "che",
    "per",
    "questo",
    "rutina",
    "rotina",
    "benigno",
    "seguro",
    "ignora",
    "ignorar",
    "marcar",
    "marca",
    "falso",
    "positivo",
    "normale",
    "sicuro",
    /* de, fr, nl */
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "als",
    "zu",
    "ein",
    "eine",
    "bitte",
    "diese",
    "dieser",
    "harmlos",
    "sicher",
    "markieren",
    "le",
    "les",
    "des",
    "et",
    "est",
    "pour",
    "une",
    "ce",
    "cette",
    "pas",
    "ignorez",
    "marquer",
    "sans",
    "danger",
    "het",
    "een",
    "niet",
};

static bool is_stopword(const char *w, size_t n)
{
    char low[24];
    size_t o = 0;
    if (n == 0 || n >= sizeof(low))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c == '\'')
            continue;
        low[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    low[o] = '\0';
    for (size_t i = 0; i < MZ_ARRAY_SIZE(stopwords); i++)
        if (strcmp(low, stopwords[i]) == 0)
            return true;
    return false;
}

/* A word: letters and digits (and ' -), one letter alone or at least two
 * and no more than twice as many digits (so leetspeak "1n57ruc710n5" is a
 * word and "x86" is not). */
static bool is_word(const char *w, size_t n)
{
    size_t letters = 0, digits = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c_alpha(c))
            letters++;
        else if (c_digit(c))
            digits++;
        else if (c != '\'' && c != '-')
            return false;
    }
    return letters >= 2 ? 2 * letters >= digits : letters == 1 && n == 1;
}

/* ------------------------------------------------------------------------ */
/* findings                                                                  */

struct finding {
    char why[WHY_LEN];
};

static void found(struct finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void found(struct finding *f, const char *fmt, ...)
{
    va_list ap;
    if (f->why[0])
        return; /* the first finding names the field */
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof(f->why), fmt, ap);
    va_end(ap);
}

/* Checks on the raw bytes of any field. */
static void raw_checks(const char *s, size_t n, struct finding *f)
{
    size_t pct = 0, esc = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            found(f, "non-ASCII characters");
            return;
        }
        if (c < 0x20 || c == 0x7f) {
            found(f, "control characters");
            return;
        }
        if (c == '%' && i + 2 < n + 0 && c_hex((unsigned char)s[i + 1]) &&
            c_hex((unsigned char)s[i + 2]))
            pct++;
        if (c == '\\' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'u' || s[i + 1] == 'U'))
            esc++;
        if (c == '&' && i + 1 < n && s[i + 1] == '#')
            esc++;
    }
    if (pct)
        found(f, "percent-encoding");
    else if (esc >= 2)
        found(f, "escape sequences");
}

/* Template and role markers: <|...|>, <tag>, [UPPER], ###, ``` */
static bool template_marker(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '<') {
            if (i + 1 < n && t[i + 1] == '|')
                return true;
            size_t j = i + 1;
            if (j < n && t[j] == '/')
                j++;
            size_t k = j;
            while (k < n && (c_alpha((unsigned char)t[k]) || t[k] == '_'))
                k++;
            if (k > j && k < n && t[k] == '>')
                return true;
        } else if (t[i] == '|' && i + 1 < n && t[i + 1] == '>') {
            return true;
        } else if (t[i] == '[') {
            size_t j = i + 1;
            if (j < n && t[j] == '/')
                j++;
            size_t k = j;
            while (k < n && ((t[k] >= 'A' && t[k] <= 'Z') || t[k] == '_'))
                k++;
            if (k - j >= 3 && k < n && t[k] == ']')
                return true;
        }
    }
    return (n >= 3 && (strncmp(t, "###", 3) == 0 || strncmp(t, "```", 3) == 0));
}

/* A run of words: counted, with stopwords and sentence punctuation. */
struct runs {
    size_t run, stops, punct, words, maxrun;
    bool prose;
};

static void run_end(struct runs *r, size_t threshold)
{
    if (r->run >= threshold || (r->run >= 2 && r->stops >= 2) ||
        (r->run >= 3 && (r->stops >= 1 || r->punct)))
        r->prose = true;
    if (r->run > r->maxrun)
        r->maxrun = r->run;
    r->run = r->stops = r->punct = 0;
}

static void run_word(struct runs *r, const char *w, size_t n, bool punct)
{
    r->run++;
    r->words++;
    r->stops += is_stopword(w, n);
    r->punct += punct;
}

/* Words inside one path component, domain label or name: split on - _ . and
 * spaces. */
static void name_words(const char *s, size_t n, struct runs *r)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && !c_alnum((unsigned char)s[i]) && s[i] != '\'')
            i++;
        size_t j = i;
        while (j < n && (c_alnum((unsigned char)s[j]) || s[j] == '\''))
            j++;
        if (j > i) {
            if (is_word(s + i, j - i))
                run_word(r, s + i, j - i, false);
            else
                run_end(r, RUN_PROSE + 1);
        }
        i = j;
    }
    run_end(r, RUN_PROSE + 1); /* multi-user.target.wants: four words, no prose */
}

/* ------------------------------------------------------------------------ */
/* paths                                                                     */

static const char *const sys_bin_dirs[] = {
    "/usr/bin/",        "/usr/sbin/",    "/bin/", "/sbin/",     "/usr/lib/",
    "/usr/lib64/",      "/usr/libexec/", "/lib/", "/lib64/",    "/usr/local/bin/",
    "/usr/local/sbin/", "/usr/share/",   "/opt/", "/snap/bin/",
};

static const char *const named_dirs[] = {
    "/usr/bin/",
    "/usr/sbin/",
    "/bin/",
    "/sbin/",
    "/usr/lib/",
    "/usr/lib64/",
    "/usr/libexec/",
    "/lib/",
    "/lib64/",
    "/usr/local/bin/",
    "/usr/local/sbin/",
    "/usr/local/",
    "/usr/share/",
    "/usr/include/",
    "/usr/",
    "/etc/",
    "/var/log/",
    "/var/lib/",
    "/var/spool/",
    "/var/cache/",
    "/var/run/",
    "/var/www/",
    "/var/",
    "/run/",
    "/proc/",
    "/sys/",
    "/dev/",
    "/boot/",
    "/opt/",
    "/srv/",
    "/snap/",
    "/mnt/",
    "/media/",
};

static const char *const tmp_dirs[] = {"/tmp/", "/var/tmp/", "/dev/shm/", "/run/user/"};

/* Base names the built-in recipes look for: kept, because which file was
 * touched is the detection. */
static const char *const known_names[] = {
    "shadow",
    "shadow-",
    "gshadow",
    "passwd",
    "passwd-",
    "group",
    "sudoers",
    "authorized_keys",
    "authorized_keys2",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "known_hosts",
    ".bash_history",
    ".zsh_history",
    ".history",
    ".bashrc",
    ".profile",
    ".bash_profile",
    ".zshrc",
    ".netrc",
    ".pgpass",
    ".my.cnf",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    "credentials",
    "crontab",
    "ld.so.preload",
    "ld.so.conf",
    "hosts",
    "resolv.conf",
    "sshd_config",
    "ssh_config",
    "environ",
    "cmdline",
    "maps",
    "mem",
    "kallsyms",
    "modules",
    "core_pattern",
    "debian.cnf",
    "kubeconfig",
    "config.json",
    "docker.sock",
    "containerd.sock",
    "master.key",
    "rc.local",
    "profile",
    "bash.bashrc",
    "pam.conf",
    "login.defs",
    "shells",
    "sshd",
    "cron.allow",
    "at.allow",
    "kcore",
    "ptrace_scope",
    "modprobe",
    "kptr_restrict",
    "machine-id",
};

static const char *const known_exts[] = {
    ".sh",  ".py",      ".pl",    ".rb",  ".so",  ".ko",   ".conf", ".key", ".pem",
    ".crt", ".service", ".timer", ".log", ".db",  ".json", ".yaml", ".yml", ".txt",
    ".php", ".jsp",     ".elf",   ".bin", ".tar", ".gz",   ".zip",  ".js"};

static bool in_list(const char *s, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(s, list[i], n) == 0)
            return true;
    return false;
}

static size_t prefix_in(const char *p, size_t n, const char *const *list, size_t count)
{
    size_t best = 0;
    for (size_t i = 0; i < count; i++) {
        size_t l = strlen(list[i]);
        if (l <= n && l > best && memcmp(p, list[i], l) == 0)
            best = l;
    }
    return best;
}

static bool safe_name_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!c_alnum(c) && !strchr("._+-/@:", c))
            return false;
    }
    return n > 0;
}

static int base_shape(const char *b, size_t n, struct mz_buf *out)
{
    if (in_list(b, n, known_names, MZ_ARRAY_SIZE(known_names)))
        return mz_buf_append(out, b, n);
    const char *dot = NULL;
    for (size_t i = 1; i < n; i++)
        if (b[i] == '.')
            dot = b + i;
    if (dot && in_list(dot, (size_t)(b + n - dot), known_exts, MZ_ARRAY_SIZE(known_exts)))
        return mz_buf_appendf(out, "name(%zu)%.*s", n, (int)(b + n - dot), dot);
    return mz_buf_appendf(out, "name(%zu)", n);
}

/* Appends the class of an absolute path and checks its components. exe:
 * an executable or ancestry entry, kept whole under the system binary
 * directories (only root writes there, and the exec succeeded). */
static int path_shape(const char *p, size_t n, bool exe, struct mz_buf *out, struct finding *f)
{
    struct runs r = {0};
    size_t pre, depth = 0, last = 0;
    int rc = 0;

    if (n == 0 || p[0] != '/')
        return mz_buf_appendf(out, "relpath(%zu)", n);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(named_dirs); i++)
        if (strlen(named_dirs[i]) == n + 1 && memcmp(named_dirs[i], p, n) == 0)
            return mz_buf_append(out, p, n); /* "/etc" itself */
    if (exe && n <= 128 && safe_name_chars(p, n) && !memmem(p, n, "..", 2) &&
        prefix_in(p, n, sys_bin_dirs, MZ_ARRAY_SIZE(sys_bin_dirs)))
        return mz_buf_append(out, p, n);
    /* the words of every component */
    for (size_t i = 1; i <= n; i++) {
        if (i == n || p[i] == '/') {
            if (i > last + 1) {
                name_words(p + last + 1, i - last - 1, &r);
                depth++;
            }
            last = i;
        }
    }
    if (r.prose)
        found(f, "prose-like name");
    if (r.words > WORDS_MAX)
        found(f, "more than %zu words", (size_t)WORDS_MAX);

    if ((pre = prefix_in(p, n, tmp_dirs, MZ_ARRAY_SIZE(tmp_dirs)))) {
        rc = mz_buf_appendf(out, "tmp:%.*s", (int)pre, p);
    } else if (n > 6 && memcmp(p, "/home/", 6) == 0) {
        const char *slash = memchr(p + 6, '/', n - 6);
        pre = slash ? (size_t)(slash - p) + 1 : n;
        rc = mz_buf_append(out, "~/", 2);
    } else if (n >= 6 && memcmp(p, "/root/", 6) == 0) {
        pre = 6;
        rc = mz_buf_append(out, "~root/", 6);
    } else if ((pre = prefix_in(p, n, named_dirs, MZ_ARRAY_SIZE(named_dirs)))) {
        rc = mz_buf_append(out, p, pre);
    } else {
        pre = 1;
        rc = mz_buf_append(out, "/", 1);
    }
    if (rc || pre >= n)
        return rc;
    /* below the named directory: how deep, and the base name's class */
    const char *rest = p + pre;
    size_t rn = n - pre, dirs = 0, b = 0;
    for (size_t i = 0; i < rn; i++)
        if (rest[i] == '/') {
            if (i + 1 < rn)
                dirs++;
            b = i + 1;
        }
    if (dirs)
        rc = mz_buf_appendf(out, "[%zu dirs]/", dirs);
    if (!rc && b < rn)
        rc = base_shape(rest + b, rn - b, out);
    (void)depth;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* other single values                                                        */

static bool is_ipv4(const char *s, size_t n)
{
    unsigned dots = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (!digits)
                return false;
            dots++;
            digits = 0;
        } else if (c_digit((unsigned char)s[i]) && digits < 3) {
            digits++;
        } else {
            return false;
        }
    }
    return dots == 3 && digits;
}

static bool is_ipv6(const char *s, size_t n)
{
    unsigned colons = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ':')
            colons++;
        else if (!c_hex((unsigned char)s[i]) && s[i] != '.')
            return false;
    }
    return colons >= 2;
}

static const char *const known_tlds[] = {
    "com", "net",  "org",         "io",   "dev",     "local",   "internal", "arpa",
    "lan", "home", "localdomain", "test", "example", "invalid", "localhost"};

static int host_shape(const char *h, size_t n, struct mz_buf *out, struct finding *f)
{
    size_t labels = 1, lstart = 0;
    struct runs r = {0};
    if (is_ipv4(h, n) || is_ipv6(h, n))
        return mz_buf_append(out, "ip", 2);
    for (size_t i = 0; i <= n; i++) {
        if (i == n || h[i] == '.') {
            name_words(h + lstart, i - lstart, &r);
            lstart = i + 1;
            labels += i < n;
        }
    }
    if (r.prose)
        found(f, "prose-like name");
    const char *dot = NULL;
    for (size_t i = 0; i < n; i++)
        if (h[i] == '.')
            dot = h + i;
    if (dot && in_list(dot + 1, (size_t)(h + n - dot - 1), known_tlds, MZ_ARRAY_SIZE(known_tlds)))
        return mz_buf_appendf(out, "host(%zu labels, %zu chars, .%.*s)", labels, n,
                              (int)(h + n - dot - 1), dot + 1);
    return mz_buf_appendf(out, "host(%zu labels, %zu chars)", labels, n);
}

/* ------------------------------------------------------------------------ */
/* command lines                                                             */

static bool blob_b64(const char *t, size_t n)
{
    bool up = false, lo = false, other = false;
    if (n < B64_MIN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c >= 'A' && c <= 'Z')
            up = true;
        else if (c >= 'a' && c <= 'z')
            lo = true;
        else if (c_digit(c) || c == '+' || c == '/' || c == '=')
            other = true;
        else if (c != '-' && c != '_')
            return false;
    }
    return up && lo && other;
}

static bool blob_hex(const char *t, size_t n)
{
    if (n < HEX_MIN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!c_hex((unsigned char)t[i]))
            return false;
    return true;
}

static bool all_of(const char *t, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, t[i]))
            return false;
    return n > 0;
}

/* Exactly our redaction marker "[REDACTED:secret N chars]" (an attacker's
 * look-alike is a token like any other). */
static bool is_marker(const char *t, size_t n)
{
    static const char head[] = ATT_REDACTED_PREFIX ":secret ", tail[] = " chars]";
    size_t h = sizeof(head) - 1, d = h;
    if (n < h + 1 + sizeof(tail) - 1 || memcmp(t, head, h) != 0)
        return false;
    while (d < n && c_digit((unsigned char)t[d]))
        d++;
    return d > h && n - d == sizeof(tail) - 1 && memcmp(t + d, tail, n - d) == 0;
}

static bool strpbrk_n(const char *t, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(set, t[i]))
            return true;
    return false;
}

/* Class of one token (no spaces inside except in a quoted string or a
 * redaction marker). */
static int token_class(const char *t, size_t n, struct mz_buf *out, struct finding *f, int depth)
{
    if (is_marker(t, n))
        return mz_buf_append(out, t, n); /* "[REDACTED:secret 40 chars]" is a shape */
    if (t[0] == '"' || t[0] == '\'')
        return mz_buf_appendf(out, "quoted(%zu chars)", n >= 2 ? n - 2 : n);
    if (all_of(t, n, "|&;<>()!012") && strpbrk_n(t, n, "|&;<>"))
        return mz_buf_append(out, t, n); /* shell operators are structure */
    if (memmem(t, n, "$(", 2) || memchr(t, '`', n))
        return mz_buf_appendf(out, "subst(%zu)", n);
    if (t[0] == '-' && n <= 3 && safe_name_chars(t, n) && !memchr(t, '/', n))
        return mz_buf_append(out, t, n);
    if (t[0] == '-') {
        const char *eq = memchr(t, '=', n);
        if (eq && depth < 2) {
            int rc = mz_buf_appendf(out, "flag(%zu)=", (size_t)(eq - t));
            size_t vn = (size_t)(t + n - eq - 1);
            return rc ? rc : vn ? token_class(eq + 1, vn, out, f, depth + 1) : 0;
        }
        return mz_buf_appendf(out, "flag(%zu)", n);
    }
    if (t[0] == '/')
        return path_shape(t, n, false, out, f);
    const char *sch = memmem(t, n, "://", 3);
    if (sch) {
        const char *h = sch + 3, *end = t + n;
        const char *at = memchr(h, '@', (size_t)(end - h));
        if (at)
            h = at + 1;
        const char *he = h;
        while (he < end && *he != '/' && *he != ':' && *he != '?' && *he != '#')
            he++;
        size_t sl = (size_t)(sch - t);
        bool plain = sl > 0 && sl <= 8;
        for (size_t k = 0; k < sl && plain; k++)
            plain = (t[k] >= 'a' && t[k] <= 'z') || c_digit((unsigned char)t[k]) || t[k] == '+';
        int rc = plain ? mz_buf_appendf(out, "url(%.*s, ", (int)sl, t)
                       : mz_buf_appendf(out, "url(scheme(%zu), ", sl);
        if (!rc)
            rc = host_shape(h, (size_t)(he - h), out, f);
        if (!rc)
            rc = mz_buf_appendf(out, ", %zu chars)", n);
        return rc;
    }
    const char *at = memchr(t, '@', n);
    if (at && at > t && at + 1 < t + n && safe_name_chars(t, n) && !memchr(t, '/', n)) {
        /* user@host */
        int rc = mz_buf_appendf(out, "login(%zu)@", (size_t)(at - t));
        return rc ? rc : host_shape(at + 1, (size_t)(t + n - at - 1), out, f);
    }
    if (all_of(t, n, "0123456789.:,-+x"))
        return is_ipv4(t, n) ? mz_buf_append(out, "ip", 2) : mz_buf_append(out, "num", 3);
    if (is_ipv6(t, n))
        return mz_buf_append(out, "ip", 2);
    if (blob_hex(t, n)) {
        found(f, "hex blob (%zu chars)", (size_t)n);
        return mz_buf_appendf(out, "hex(%zu)", n);
    }
    if (n >= 8 && all_of(t, n, "0123456789abcdefABCDEF"))
        return mz_buf_appendf(out, "hex(%zu)", n);
    if (blob_b64(t, n)) {
        found(f, "base64 blob (%zu chars)", (size_t)n);
        return mz_buf_appendf(out, "b64(%zu)", n);
    }
    const char *eq = memchr(t, '=', n);
    if (eq && eq > t && depth < 2) {
        int rc = mz_buf_appendf(out, "assign(%zu)=", (size_t)(eq - t));
        size_t vn = (size_t)(t + n - eq - 1);
        return rc ? rc : vn ? token_class(eq + 1, vn, out, f, depth + 1) : 0;
    }
    if (memchr(t, '/', n))
        return mz_buf_appendf(out, "relpath(%zu)", n);
    if (memchr(t, '.', n) && safe_name_chars(t, n))
        return host_shape(t, n, out, f); /* a file or host name */
    return mz_buf_appendf(out, "text(%zu)", n);
}

/* Strips decoration around a word (** _ # quotes brackets) and trailing
 * punctuation; *punct says whether sentence punctuation followed. */
static void word_core(const char *t, size_t n, const char **w, size_t *wn, bool *punct)
{
    size_t a = 0, b = n;
    *punct = false;
    while (a < b && strchr("*_#\"'([<{", t[a]))
        a++;
    while (b > a && strchr("*_#\"')]>}.,!?;:", t[b - 1])) {
        if (strchr(".,!?;:", t[b - 1]))
            *punct = true;
        b--;
    }
    *w = t + a;
    *wn = b - a;
}

/* A base64 run inside a token (exec(b64decode('...')), x=$(echo ...|base64
 * -d)): at least 24 characters of the alphabet without '/', with upper and
 * lower case letters and a digit. */
static void inner_blobs(const char *s, size_t n, struct finding *f)
{
    for (size_t i = 0; i < n;) {
        size_t j = i, up = 0, lo = 0, dig = 0;
        while (j < n && (c_alnum((unsigned char)s[j]) || s[j] == '+' || s[j] == '=')) {
            unsigned char c = (unsigned char)s[j];
            up += c >= 'A' && c <= 'Z';
            lo += c >= 'a' && c <= 'z';
            dig += c_digit(c);
            j++;
        }
        if (j - i >= 24 && up >= 3 && lo >= 3 && dig >= 1) {
            found(f, "base64 blob (%zu chars)", j - i);
            return;
        }
        i = j + 1;
    }
}

static int args_shape(const char *s, size_t n, struct mz_buf *out, struct finding *f)
{
    struct runs r = {0};
    size_t i = 0, ntok = 0;
    int rc = 0;
    bool pending_words = false;

    inner_blobs(s, n, f);
    while (i < n && !rc) {
        while (i < n && c_space((unsigned char)s[i]))
            i++;
        if (i >= n)
            break;
        size_t j = i;
        if (s[i] == '"' || s[i] == '\'') {
            const char *q = memchr(s + i + 1, s[i], n - i - 1);
            j = q ? (size_t)(q - s) + 1 : n;
        } else if (n - i >= sizeof(ATT_REDACTED_PREFIX) - 1 &&
                   memcmp(s + i, ATT_REDACTED_PREFIX, sizeof(ATT_REDACTED_PREFIX) - 1) == 0) {
            const char *q = memchr(s + i, ']', n - i);
            j = q ? (size_t)(q - s) + 1 : n;
        } else {
            while (j < n && !c_space((unsigned char)s[j])) {
                if (s[j] == '[' && n - j >= sizeof(ATT_REDACTED_PREFIX) - 1 &&
                    memcmp(s + j, ATT_REDACTED_PREFIX, sizeof(ATT_REDACTED_PREFIX) - 1) == 0) {
                    const char *q = memchr(s + j, ']', n - j);
                    j = q ? (size_t)(q - s) + 1 : n;
                    continue;
                }
                j++;
            }
        }
        const char *t = s + i;
        size_t tn = j - i;
        i = j;
        if (template_marker(t, tn))
            found(f, "chat template marker");
        if (t[0] == '"' || t[0] == '\'') {
            /* the words of a quoted string count as words */
            struct runs q = {0};
            size_t k = 1;
            while (k < tn) {
                while (k < tn && c_space((unsigned char)t[k]))
                    k++;
                size_t e = k;
                while (e < tn && !c_space((unsigned char)t[e]) && t[e] != t[0])
                    e++;
                const char *w;
                size_t wn;
                bool punct;
                word_core(t + k, e - k, &w, &wn, &punct);
                if (wn && is_word(w, wn))
                    run_word(&q, w, wn, punct);
                else if (e > k)
                    run_end(&q, RUN_PROSE);
                k = e + (e < tn && t[e] == t[0]);
            }
            run_end(&q, RUN_PROSE);
            r.words += q.words;
            r.prose |= q.prose;
        }
        const char *w;
        size_t wn;
        bool punct;
        word_core(t, tn, &w, &wn, &punct);
        bool sep = all_of(t, tn, ":.,!?;") && pending_words;
        if (sep) {
            r.punct++; /* "system :" */
            continue;
        }
        if (t[0] != '-' && t[0] != '"' && t[0] != '\'' && wn && is_word(w, wn) && ntok > 0) {
            run_word(&r, w, wn, punct);
            pending_words = true;
            continue;
        }
        if (pending_words) {
            size_t cur = r.run;
            run_end(&r, RUN_PROSE);
            rc = mz_buf_appendf(out, "%swords(%zu)", out->len ? " " : "", cur);
        }
        pending_words = false;
        if (!rc && out->len)
            rc = mz_buf_append(out, " ", 1);
        if (!rc) {
            if (ntok == 0 && !memchr(t, '/', tn) && tn <= 32 && safe_name_chars(t, tn))
                rc = mz_buf_appendf(out, "cmd(%zu)", tn);
            else if (ntok == 0 && t[0] == '/')
                rc = path_shape(t, tn, true, out, f);
            else
                rc = token_class(t, tn, out, f, 0);
        }
        ntok++;
    }
    if (!rc && pending_words) {
        size_t cur = r.run;
        run_end(&r, RUN_PROSE);
        rc = mz_buf_appendf(out, "%swords(%zu)", out->len ? " " : "", cur);
    }
    if (r.prose)
        found(f, "prose (%zu words)", r.words);
    if (r.words > WORDS_MAX)
        found(f, "more than %zu words", (size_t)WORDS_MAX);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* one field, memoized                                                       */

static int user_shape(const char *s, size_t n, struct mz_buf *out, struct finding *f)
{
    bool plain = n > 0 && n <= 32 && (c_alpha((unsigned char)s[0]) || s[0] == '_');
    for (size_t i = 0; i < n && plain; i++) {
        unsigned char c = (unsigned char)s[i];
        plain = (c >= 'a' && c <= 'z') || c_digit(c) || c == '_' || c == '-' || c == '.' ||
                (c == '$' && i == n - 1);
    }
    if (plain)
        return mz_buf_append(out, s, n); /* useradd's names are not free text */
    struct runs r = {0};
    name_words(s, n, &r);
    if (r.prose)
        found(f, "prose-like name");
    return mz_buf_appendf(out, "name(%zu)", n);
}

/* Computes the shape of s as kind into out, and why (possibly ""), and
 * whether the phrase guard matched. */
static int field_compute(enum kind k, const char *s, size_t n, struct mz_buf *out,
                         struct finding *f, bool *guard)
{
    unsigned flags = 0;
    char *red;
    int rc;

    f->why[0] = '\0';
    *guard = false;
    {
        char g[WHY_LEN];
        if (att_guard_scan(s, n, g, sizeof(g))) {
            *guard = true;
            memcpy(f->why, g, sizeof(g));
        }
    }
    raw_checks(s, n, f);
    red = att_redact_dup_ex(s, &flags);
    if (flags & ATT_RED_CODE)
        found(f, "a secret-like key holds code");
    else if (flags & ATT_RED_NONTOKEN)
        found(f, "redaction removed more than a plain token");
    size_t rn = strlen(red);
    switch (k) {
    case K_ARGS:
    case K_DETAIL:
        rc = args_shape(red, rn, out, f);
        break;
    case K_PATH:
        rc = path_shape(red, rn, false, out, f);
        break;
    case K_EXE:
        rc = path_shape(red, rn, true, out, f);
        break;
    case K_DOMAIN:
        rc = host_shape(red, rn, out, f);
        break;
    case K_USER:
        rc = user_shape(red, rn, out, f);
        break;
    case K_COMM:
    default: {
        struct runs r = {0};
        name_words(red, rn, &r);
        if (r.prose)
            found(f, "prose-like name");
        rc = mz_buf_appendf(out, "name(%zu)", rn);
        break;
    }
    }
    free(red);
    return rc;
}

#define MEMO_SLOTS 2048
#define MEMO_MAX   1024
struct memo_slot {
    enum kind kind;
    size_t n;
    char *in;
    char *shape;
    struct finding f;
    bool guard;
};
static pthread_key_t memo_key;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;

static void memo_free(void *p)
{
    struct memo_slot *m = p;
    for (size_t i = 0; i < MEMO_SLOTS + 1; i++) {
        free(m[i].in);
        free(m[i].shape);
    }
    free(m);
}

static void memo_init(void)
{
    if (pthread_key_create(&memo_key, memo_free) != 0)
        abort();
}

/* The memo slot holding kind k of s (computed when absent). The slot stays
 * valid until the next call on this thread. NULL when out of memory for the
 * thread's memo. Slot MEMO_SLOTS is a scratch slot for long inputs. */
static const struct memo_slot *field_get(enum kind k, const char *s)
{
    size_t n = strlen(s);
    pthread_once(&memo_once, memo_init);
    struct memo_slot *m = pthread_getspecific(memo_key);
    if (!m) {
        m = mz_calloc(MEMO_SLOTS + 1, sizeof(*m));
        if (pthread_setspecific(memo_key, m) != 0) {
            free(m);
            return NULL;
        }
    }
    struct memo_slot *e;
    if (n > MEMO_MAX) {
        e = &m[MEMO_SLOTS];
    } else {
        uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)k; /* FNV-1a: picks the slot only */
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
        e = &m[(h ^ (h >> 29)) % MEMO_SLOTS];
        if (e->in && e->kind == k && e->n == n && memcmp(e->in, s, n) == 0)
            return e;
    }
    struct mz_buf b;
    mz_buf_init(&b, SHAPE_CAP);
    if (field_compute(k, s, n, &b, &e->f, &e->guard) < 0) {
        /* a shape longer than SHAPE_CAP: that much structure is free text */
        mz_buf_reset(&b);
        if (mz_buf_appendf(&b, "text(%zu)", n) < 0)
            abort();
        snprintf(e->f.why, sizeof(e->f.why), "too long a shape");
    }
    free(e->in);
    free(e->shape);
    e->kind = k;
    e->n = n;
    e->in = mz_strdup(s);
    e->shape = b.data ? mz_buf_take(&b) : mz_strdup("");
    return e;
}

static const char *const kind_names[K__COUNT] = {"args",   "path", "exe",   "comm",
                                                 "domain", "user", "detail"};

int att_shape_string(const char *kind, const char *s, struct mz_buf *out, char *why, size_t whylen)
{
    enum kind k = K__COUNT;
    for (int i = 0; i < K__COUNT; i++)
        if (strcmp(kind, kind_names[i]) == 0)
            k = (enum kind)i;
    if (k == K__COUNT || !s)
        return -EINVAL;
    const struct memo_slot *e = field_get(k, s);
    if (!e)
        return -ENOMEM;
    if (why && whylen)
        snprintf(why, whylen, "%s", e->f.why);
    return mz_buf_append(out, e->shape, strlen(e->shape));
}

/* ------------------------------------------------------------------------ */
/* what the recipe matched (detect's record, event.h mz_matched)             */

/* The text of the field a part names, or NULL. */
static const char *part_field(const struct mz_detection *det, const struct mz_match_part *p)
{
    const struct mz_observation *o = &det->obs;
    const struct mz_process *pr = &o->proc;
    switch (p->field) {
    case MZ_MF_PATH:
        return o->file.path;
    case MZ_MF_PATH2:
        return o->file.path2;
    case MZ_MF_EXE:
        return pr->exe;
    case MZ_MF_ARGS:
        return pr->args;
    case MZ_MF_CWD:
        return pr->cwd;
    case MZ_MF_USER:
        return pr->user;
    case MZ_MF_ANCESTRY:
        return p->index < pr->n_ancestry ? pr->ancestry[p->index] : NULL;
    case MZ_MF_DOMAIN:
        return o->kind == MZ_OBS_FLOW ? o->flow.domain : NULL;
    case MZ_MF_DOMAIN_NAMES:
        return o->kind == MZ_OBS_FLOW && p->index < o->flow.n_domain_names
                   ? o->flow.domain_names[p->index]
                   : NULL;
    case MZ_MF_DETAIL:
        return o->kind == MZ_OBS_TAMPER ? o->tamper.detail : NULL;
    default:
        return NULL;
    }
}

/* Units (tokens, components, labels) of s before byte at, split on sep. */
static size_t units_before(const char *s, size_t at, char sep)
{
    size_t u = 0;
    bool in = false;
    for (size_t i = 0; i < at && s[i]; i++) {
        bool is_sep = sep == ' ' ? c_space((unsigned char)s[i]) : s[i] == sep;
        if (!is_sep && !in)
            u++;
        in = !is_sep;
    }
    return u;
}

/* Where in its field a part lies, by position only ("tokens 2-3 of 5",
 * "base name", "whole field"): never the field's text. */
static void part_where(const struct mz_detection *det, const struct mz_match_part *p, char *buf,
                       size_t n)
{
    const char *v = part_field(det, p);
    snprintf(buf, n, "%s", "");
    if (!v || !p->len)
        return;
    size_t len = strlen(v), off = p->off, end = (size_t)p->off + p->len;
    if (off >= len || end > len) {
        snprintf(buf, n, "span beyond the field");
        return;
    }
    if (off == 0 && end == len) {
        snprintf(buf, n, "whole field");
        return;
    }
    char sep = p->field == MZ_MF_ARGS || p->field == MZ_MF_DETAIL           ? ' '
               : p->field == MZ_MF_DOMAIN || p->field == MZ_MF_DOMAIN_NAMES ? '.'
                                                                            : '/';
    const char *unit = sep == ' ' ? "tokens" : sep == '.' ? "labels" : "components";
    const char *b = strrchr(v, '/');
    if (sep == '/' && b && (size_t)(b + 1 - v) == off && end == len) {
        snprintf(buf, n, "base name");
        return;
    }
    size_t first = units_before(v, off + 1, sep), last = units_before(v, end, sep),
           total = units_before(v, len, sep);
    if (first == 0)
        first = 1;
    if (last < first)
        last = first;
    snprintf(buf, n, "%s %zu-%zu of %zu", unit, first, last, total);
}

/* One part as the shape context shows it: "args: regex PATTERN (tokens
 * 1-2 of 4)". The pattern is the recipe's, never the field's text. */
static void part_text(const struct mz_detection *det, const struct mz_match_part *p, char *buf,
                      size_t n)
{
    char where[64], field[24];
    part_where(det, p, where, sizeof(where));
    if (p->field == MZ_MF_ANCESTRY)
        snprintf(field, sizeof(field), "ancestry[%u]", p->index);
    else if (p->field == MZ_MF_DOMAIN_NAMES)
        snprintf(field, sizeof(field), "domain_names[%u]", p->index);
    else
        snprintf(field, sizeof(field), "%s", mz_match_field_name(p->field));
    char pat[MZ_MATCHED_PAT];
    memcpy(pat, p->pattern, sizeof(pat));
    pat[sizeof(pat) - 1] = '\0';
    snprintf(buf, n, "%s: %s %s%s%s%s", field, mz_match_how_name(p->how), pat, where[0] ? " (" : "",
             where, where[0] ? ")" : "");
}

/* ------------------------------------------------------------------------ */
/* one detection                                                             */

struct walker {
    struct att_shape_scan *out;
    struct mz_buf *dig; /* NULL: no digest */
    int rc;
};

static void dig_field(struct walker *w, const char *tag, const char *v)
{
    if (!w->dig || w->rc)
        return;
    uint32_t tn = (uint32_t)strlen(tag), vn = v ? (uint32_t)strlen(v) : 0;
    w->rc = mz_buf_append(w->dig, &tn, sizeof(tn));
    if (!w->rc)
        w->rc = mz_buf_append(w->dig, tag, tn);
    if (!w->rc)
        w->rc = mz_buf_append(w->dig, &vn, sizeof(vn));
    if (!w->rc && vn)
        w->rc = mz_buf_append(w->dig, v, vn);
}

static void walk_field(struct walker *w, const char *name, enum kind k, const char *v)
{
    if (!v || !v[0])
        return;
    const struct memo_slot *e = field_get(k, v);
    if (!e) {
        w->rc = -ENOMEM;
        return;
    }
    if (e->f.why[0] && !w->out->untrusted) {
        w->out->untrusted = true;
        snprintf(w->out->why, sizeof(w->out->why), "%s: %s", name, e->f.why);
    }
    w->out->guard |= e->guard;
    dig_field(w, name, e->shape);
}

/* The peer's address when it is one (an address is not free text; anything
 * else in the field is dropped), else "". */
static const char *peer_ip(const struct mz_flow *f)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, f->remote_addr, a) == 1 || inet_pton(AF_INET6, f->remote_addr, a) == 1)
        return f->remote_addr;
    return "";
}

/* comm: the kernel's copy of the program name, "=exe" when it is the start
 * of the executable's base name. */
static void comm_of(const struct mz_process *p, char comm[17], bool *is_exe)
{
    memcpy(comm, p->comm, 16);
    comm[16] = '\0';
    *is_exe = false;
    if (comm[0] && p->exe) {
        const char *b = strrchr(p->exe, '/');
        b = b ? b + 1 : p->exe;
        *is_exe = strncmp(b, comm, strlen(comm)) == 0;
    }
}

int att_shape_scan(const struct mz_detection *det, bool want_digest, struct att_shape_scan *out)
{
    const struct mz_observation *o = &det->obs;
    const struct mz_process *p = &o->proc;
    struct mz_buf dig;
    struct walker w = {.out = out, .dig = want_digest ? &dig : NULL};
    char comm[17], num[96];
    bool comm_exe;

    memset(out, 0, sizeof(*out));
    if (want_digest)
        mz_buf_init(&dig, 64 * 1024);
    dig_field(&w, "recipe", det->recipe.id);
    dig_field(&w, "importance", mz_importance_name(det->recipe.importance));
    dig_field(&w, "kind", mz_obs_kind_name(o->kind));
    walk_field(&w, "exe", K_EXE, p->exe);
    walk_field(&w, "args", K_ARGS, p->args);
    comm_of(p, comm, &comm_exe);
    if (comm_exe)
        dig_field(&w, "comm", "=exe");
    else
        walk_field(&w, "comm", K_COMM, comm);
    walk_field(&w, "cwd", K_PATH, p->cwd);
    walk_field(&w, "user", K_USER, p->user);
    dig_field(&w, "container", p->container ? "yes" : "no");
    for (size_t i = 0; i < p->n_ancestry && i < MZ_ANCESTRY_MAX; i++)
        walk_field(&w, "ancestry", K_EXE, p->ancestry[i]);
    switch (o->kind) {
    case MZ_OBS_EXEC:
    case MZ_OBS_FILE:
        walk_field(&w, "path", K_PATH, o->file.path);
        walk_field(&w, "path2", K_PATH, o->file.path2);
        snprintf(num, sizeof(num), "%u", o->file.actions);
        dig_field(&w, "actions", num);
        break;
    case MZ_OBS_FLOW:
        walk_field(&w, "domain", K_DOMAIN, o->flow.domain);
        dig_field(&w, "peer", peer_ip(&o->flow));
        snprintf(num, sizeof(num), "%u/%u/%u/%u", o->flow.remote_port, o->flow.proto,
                 o->flow.direction, o->flow.actions);
        dig_field(&w, "port", num);
        break;
    case MZ_OBS_PRIV:
        snprintf(num, sizeof(num), "%u/%lld", o->priv.actions, (long long)o->priv.target);
        dig_field(&w, "priv", num);
        break;
    case MZ_OBS_TAMPER:
        snprintf(num, sizeof(num), "%u", o->tamper.kind);
        dig_field(&w, "tamper", num);
        walk_field(&w, "detail", K_DETAIL, o->tamper.detail);
        break;
    default:
        break;
    }
    for (size_t i = 0; i < det->matched.n && i < MZ_MATCHED_MAX; i++) {
        char t[192];
        part_text(det, &det->matched.part[i], t, sizeof(t));
        dig_field(&w, "matched", t);
    }
    if (out->guard && !out->untrusted)
        out->untrusted = true; /* cannot happen: a guard hit is a finding */
    if (want_digest) {
        if (!w.rc)
            w.rc = att_sha256(dig.data ? dig.data : "", dig.len, out->digest);
        out->have_digest = w.rc == 0;
        mz_buf_free(&dig);
    }
    return w.rc ? (w.rc == -ENOMEM ? -ENOMEM : -E2BIG) : 0;
}

/* ------------------------------------------------------------------------ */
/* the document                                                              */

static void add_shape(cJSON *o, const char *key, enum kind k, const char *v)
{
    if (!v || !v[0])
        return;
    const struct memo_slot *e = field_get(k, v);
    cJSON_AddStringToObject(o, key, e ? e->shape : "?");
}

static cJSON *names_of(uint32_t bits, const char *(*name)(uint32_t))
{
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; i < 32; i++) {
        const char *n = (bits & (1u << i)) ? name(1u << i) : NULL;
        if (n)
            cJSON_AddItemToArray(a, cJSON_CreateString(n));
    }
    return a;
}

cJSON *att_shape_to_json(const struct mz_detection *det)
{
    const struct mz_observation *o = &det->obs;
    const struct mz_process *p = &o->proc;
    cJSON *doc = cJSON_CreateObject(), *rec, *proc, *art;
    char comm[17];
    bool comm_exe;

    cJSON_AddStringToObject(doc, "context", "shape");
    rec = cJSON_AddObjectToObject(doc, "recipe");
    if (det->recipe.id)
        cJSON_AddStringToObject(rec, "id", det->recipe.id);
    if (det->recipe.description)
        cJSON_AddStringToObject(rec, "description", det->recipe.description);
    cJSON_AddStringToObject(rec, "importance", mz_importance_name(det->recipe.importance));
    if (det->recipe.tactic)
        cJSON_AddStringToObject(rec, "tactic", det->recipe.tactic);

    proc = cJSON_AddObjectToObject(doc, "process");
    add_shape(proc, "exe", K_EXE, p->exe);
    add_shape(proc, "args", K_ARGS, p->args);
    comm_of(p, comm, &comm_exe);
    if (comm_exe)
        cJSON_AddStringToObject(proc, "comm", "=exe");
    else
        add_shape(proc, "comm", K_COMM, comm);
    add_shape(proc, "user", K_USER, p->user);
    if (p->n_ancestry) {
        cJSON *anc = cJSON_AddArrayToObject(proc, "ancestry");
        for (size_t i = 0; i < p->n_ancestry && i < MZ_ANCESTRY_MAX; i++) {
            const struct memo_slot *e =
                p->ancestry[i] && p->ancestry[i][0] ? field_get(K_EXE, p->ancestry[i]) : NULL;
            cJSON_AddItemToArray(anc, cJSON_CreateString(e ? e->shape : ""));
        }
    }
    cJSON_AddBoolToObject(proc, "in_container", p->container != NULL);

    art = cJSON_AddObjectToObject(doc, "artifact");
    cJSON_AddStringToObject(art, "kind", mz_obs_kind_name(o->kind));
    switch (o->kind) {
    case MZ_OBS_EXEC:
    case MZ_OBS_FILE:
        add_shape(art, "path", K_PATH, o->file.path);
        add_shape(art, "path2", K_PATH, o->file.path2);
        cJSON_AddItemToObject(art, "actions", names_of(o->file.actions, mz_file_action_name));
        break;
    case MZ_OBS_FLOW:
        if (peer_ip(&o->flow)[0])
            cJSON_AddStringToObject(art, "peer", peer_ip(&o->flow));
        add_shape(art, "domain", K_DOMAIN, o->flow.domain);
        cJSON_AddNumberToObject(art, "port", o->flow.remote_port);
        cJSON_AddStringToObject(art, "proto", mz_proto_name(o->flow.proto));
        cJSON_AddStringToObject(art, "direction",
                                o->flow.direction == MZ_DIR_INGRESS  ? "ingress"
                                : o->flow.direction == MZ_DIR_EGRESS ? "egress"
                                                                     : "unknown");
        cJSON_AddItemToObject(art, "actions", names_of(o->flow.actions, mz_flow_action_name));
        break;
    case MZ_OBS_PRIV:
        cJSON_AddNumberToObject(art, "actions", o->priv.actions);
        cJSON_AddNumberToObject(art, "target", (double)o->priv.target);
        break;
    case MZ_OBS_TAMPER:
        cJSON_AddNumberToObject(art, "tamper_kind", o->tamper.kind);
        add_shape(art, "detail", K_DETAIL, o->tamper.detail);
        break;
    default:
        break;
    }
    if (det->matched.n) {
        cJSON *m = cJSON_AddArrayToObject(doc, "matched");
        for (size_t i = 0; i < det->matched.n && i < MZ_MATCHED_MAX; i++) {
            char t[192];
            part_text(det, &det->matched.part[i], t, sizeof(t));
            cJSON_AddItemToArray(m, cJSON_CreateString(t));
        }
    }
    cJSON_AddNumberToObject(doc, "count", (double)(o->count ? o->count : 1));
    return doc;
}
