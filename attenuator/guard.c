// SPDX-License-Identifier: Apache-2.0
/*
 * guard.c - injection detection and the block-mode decision.
 *
 * A string is scanned three ways: its raw bytes for control characters and
 * for invisible or direction-changing code points (zero-width, bidi
 * embeddings and isolates, word joiners, the BOM, Unicode tag characters
 * that smuggle ASCII); a lowercased copy for role markers and answer-JSON
 * imitations ("<|im_start|>", "[INST]", "system:", "\"verdict\""); and a copy
 * folded to lowercase words separated by single spaces (with invisible
 * characters dropped, so "ig<ZWSP>nore previous" still matches) for phrases
 * ("ignore previous", "you are", "false positive"). The lists err on the
 * side of marking: a marked alert loses nothing but the right to be
 * withheld.
 */
#include "attenuator/guard.h"

#include <assert.h>
#include <ctype.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX 16384 /* longer fields are marked without a look */

static const char *const phrases[] = {
    "ignore previous",
    "ignore all previous",
    "ignore the previous",
    "ignore prior",
    "ignore all prior",
    "ignore the above",
    "ignore above",
    "ignore all instructions",
    "ignore your",
    "ignore any",
    "ignore these",
    "ignore this alert",
    "disregard",
    "forget previous",
    "forget all",
    "forget your",
    "forget the above",
    "forget everything",
    "you are",
    "you re",
    "youre",
    "you must",
    "you should",
    "you will",
    "act as",
    "pretend",
    "roleplay",
    "role play",
    "new instructions",
    "instructions",
    "system prompt",
    "as an ai",
    "language model",
    "jailbreak",
    "developer mode",
    "do anything now",
    "false positive",
    "true positive",
    "falsepositive",
    "verdict",
    "confidence",
    "benign",
    "not malicious",
    "harmless",
    "safe to ignore",
    "nothing to see",
    "do not alert",
    "don t alert",
    "dont alert",
    "do not report",
    "don t report",
    "whitelisted",
    "allowlisted",
    "authorized activity",
    "authorised activity",
    "classify this",
    "classify as",
    "classify it",
    "respond with",
    "reply with",
    "answer with",
    "output only",
    "print only",
    "assistant",
    "chatgpt",
};

static const char *const markers[] = {
    "<|",          "|>",       "[inst]",     "[/inst]",        "<<sys>>",          "<</sys>>",
    "<s>",         "</s>",     "###",        "<system",        "</system",         "<assistant",
    "</assistant", "<user>",   "</user>",    "<instruction",   "<im_start",        "<im_end",
    "\"verdict",   "'verdict", "verdict\":", "\"confidence",   "\"severity",       "\"reason\"",
    "\"role\"",    "role\":",  "```",        "alert_data_end", "alert_data_begin",
};

/* Role markers "system:" etc. must start a word. */
static const char *const roles[] = {
    "system:", "assistant:", "user:", "human:", "ai:", "developer:", "instructions:", "note to ai"};

static bool invisible_cp(uint32_t c)
{
    return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF ||
           c == 0x180E || c == 0x00AD || c == 0x034F || c == 0x061C || c == 0x115F || c == 0x1160 ||
           c == 0x3164 || c == 0xFFA0 || (c >= 0xFFF9 && c <= 0xFFFB) ||
           (c >= 0xE0000 && c <= 0xE007F);
}

/* Code points that render like an ASCII letter or digit, folded to it
 * (lowercase), so that "ignоre" with a Cyrillic о, fullwidth "ｉｇｎｏｒｅ" or
 * mathematical bold letters still match. 0 for anything else. */
static char confusable(uint32_t c)
{
    static const struct {
        uint16_t cp;
        char ascii;
    } table[] = {
        /* Greek */
        {0x0391, 'a'},
        {0x0392, 'b'},
        {0x0395, 'e'},
        {0x0396, 'z'},
        {0x0397, 'h'},
        {0x0399, 'i'},
        {0x039A, 'k'},
        {0x039C, 'm'},
        {0x039D, 'n'},
        {0x039F, 'o'},
        {0x03A1, 'p'},
        {0x03A4, 't'},
        {0x03A5, 'y'},
        {0x03A7, 'x'},
        {0x03B1, 'a'},
        {0x03B5, 'e'},
        {0x03B9, 'i'},
        {0x03BA, 'k'},
        {0x03BD, 'v'},
        {0x03BF, 'o'},
        {0x03C1, 'p'},
        {0x03C4, 't'},
        {0x03C5, 'u'},
        {0x03C7, 'x'},
        /* Cyrillic */
        {0x0405, 's'},
        {0x0406, 'i'},
        {0x0408, 'j'},
        {0x0410, 'a'},
        {0x0412, 'b'},
        {0x0415, 'e'},
        {0x041A, 'k'},
        {0x041C, 'm'},
        {0x041D, 'h'},
        {0x041E, 'o'},
        {0x0420, 'p'},
        {0x0421, 'c'},
        {0x0422, 't'},
        {0x0423, 'y'},
        {0x0425, 'x'},
        {0x0430, 'a'},
        {0x0435, 'e'},
        {0x043E, 'o'},
        {0x0440, 'p'},
        {0x0441, 'c'},
        {0x0443, 'y'},
        {0x0445, 'x'},
        {0x0455, 's'},
        {0x0456, 'i'},
        {0x0458, 'j'},
        {0x04BB, 'h'},
        {0x04CF, 'l'},
        {0x0501, 'd'},
        {0x051B, 'q'},
        {0x051D, 'w'},
        /* Latin look-alikes */
        {0x0131, 'i'},
        {0x0261, 'g'},
        {0x026A, 'i'},
        {0x1D00, 'a'},
        {0x1D07, 'e'},
        {0x1D0F, 'o'},
        {0x1D1C, 'u'},
        {0x0280, 'r'},
        {0x0274, 'n'},
    };
    if (c >= 0xFF10 && c <= 0xFF19) /* fullwidth digits */
        return (char)('0' + (c - 0xFF10));
    if (c >= 0xFF21 && c <= 0xFF3A) /* fullwidth letters */
        return (char)('a' + (c - 0xFF21));
    if (c >= 0xFF41 && c <= 0xFF5A)
        return (char)('a' + (c - 0xFF41));
    if (c >= 0x24B6 && c <= 0x24CF) /* circled letters */
        return (char)('a' + (c - 0x24B6));
    if (c >= 0x24D0 && c <= 0x24E9)
        return (char)('a' + (c - 0x24D0));
    if (c >= 0x1D400 && c < 0x1D400 + 13 * 52) /* mathematical alphanumerics */
        return (char)('a' + ((c - 0x1D400) % 52) % 26);
    if (c >= 0x1D7CE && c <= 0x1D7FF)
        return (char)('0' + (c - 0x1D7CE) % 10);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(table); i++)
        if (table[i].cp == c)
            return table[i].ascii;
    return 0;
}

/* Patterns bucketed by their first byte, so that a scan looks at each
 * position once and compares only the few patterns that can start there. */
#define BUCKET_MAX 24
struct pat_index {
    const char *const *pats;
    size_t n;
    uint8_t len[128];
    uint8_t cnt[256];
    uint8_t idx[256][BUCKET_MAX];
};
static struct pat_index ix_markers, ix_roles, ix_phrases;
static pthread_once_t ix_once = PTHREAD_ONCE_INIT;

static void index_build(struct pat_index *ix, const char *const *pats, size_t n)
{
    ix->pats = pats;
    ix->n = n;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)pats[k][0];
        assert(k < 128 && strlen(pats[k]) < 256 && ix->cnt[c] < BUCKET_MAX);
        ix->len[k] = (uint8_t)strlen(pats[k]);
        ix->idx[c][ix->cnt[c]++] = (uint8_t)k;
    }
}

static void indexes_init(void)
{
    index_build(&ix_markers, markers, MZ_ARRAY_SIZE(markers));
    index_build(&ix_roles, roles, MZ_ARRAY_SIZE(roles));
    index_build(&ix_phrases, phrases, MZ_ARRAY_SIZE(phrases));
}

/* Index of the pattern matching text at i, or -1. */
static int match_at(const struct pat_index *ix, const char *text, size_t n, size_t i)
{
    unsigned char c = (unsigned char)text[i];
    for (unsigned b = 0; b < ix->cnt[c]; b++) {
        unsigned k = ix->idx[c][b];
        if (i + ix->len[k] <= n && memcmp(text + i, ix->pats[k], ix->len[k]) == 0)
            return (int)k;
    }
    return -1;
}

bool att_guard_scan(const char *str, size_t len, char *why, size_t whylen)
{
    const unsigned char *s = (const unsigned char *)str;
    char lower[SCAN_MAX + 1];
    char words[SCAN_MAX + 3];
    size_t nl = 0, nw = 0;

    pthread_once(&ix_once, indexes_init);
    if (len > SCAN_MAX) {
        /* nothing we send is this long (args and paths are capped below it);
         * refusing to look is safer than looking at a part */
        snprintf(why, whylen, "field longer than %d bytes", SCAN_MAX);
        return true;
    }
    words[nw++] = ' ';
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l;
        unsigned char ch0 = s[i];
        if (ch0 >= 0x20 && ch0 < 0x7F) { /* printable ASCII: the common case */
            char ch = (char)(ch0 >= 'A' && ch0 <= 'Z' ? ch0 + 32 : ch0);
            bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
            lower[nl++] = ch;
            if (alnum)
                words[nw++] = ch;
            else if (ch != '\'' && words[nw - 1] != ' ')
                words[nw++] = ' ';
            i++;
            continue;
        }
        l = mz_utf8_decode(s + i, len - i, &cp);
        if (!l) { /* invalid byte: not an instruction by itself */
            lower[nl++] = '?';
            i++;
            continue;
        }
        if (l == 1 && ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F)) {
            snprintf(why, whylen, "control character 0x%02x", (unsigned)cp);
            return true;
        }
        if (invisible_cp(cp)) {
            snprintf(why, whylen, "invisible or bidi character U+%04X", (unsigned)cp);
            return true;
        }
        char ch;
        if (l == 1) {
            ch = (char)tolower((int)cp);
            lower[nl++] = ch;
            if (isalnum((unsigned char)ch)) {
                words[nw++] = ch;
            } else if (ch != '\'' && words[nw - 1] != ' ') {
                words[nw++] = ' '; /* "you're" folds to "youre" */
            }
        } else if ((ch = confusable(cp)) != 0) {
            /* a look-alike of an ASCII letter or digit reads as that letter */
            lower[nl++] = ch;
            words[nw++] = ch;
        } else {
            /* other non-ASCII: keep it out of both copies, as a separator */
            lower[nl++] = ' ';
            if (words[nw - 1] != ' ')
                words[nw++] = ' ';
        }
        i += l;
    }
    lower[nl] = '\0';
    if (words[nw - 1] != ' ')
        words[nw++] = ' ';
    words[nw] = '\0';

    for (size_t i = 0; i < nl; i++) {
        int k = match_at(&ix_markers, lower, nl, i);
        if (k >= 0) {
            snprintf(why, whylen, "marker \"%s\"", markers[k]);
            return true;
        }
        if (i > 0 && isalnum((unsigned char)lower[i - 1]))
            continue;
        k = match_at(&ix_roles, lower, nl, i);
        if (k >= 0) {
            /* "user:pass" in a URL or a -u flag is not a role marker */
            char next = lower[i + ix_roles.len[k]];
            if (strcmp(roles[k], "user:") == 0 && next && next != ' ' && next != '\n' &&
                next != '\t')
                continue;
            snprintf(why, whylen, "role marker \"%s\"", roles[k]);
            return true;
        }
    }
    /* phrases: whole words, at word starts in the folded copy */
    for (size_t i = 1; i < nw; i++) {
        if (words[i - 1] != ' ' || words[i] == ' ')
            continue;
        unsigned char c = (unsigned char)words[i];
        for (unsigned b = 0; b < ix_phrases.cnt[c]; b++) {
            unsigned k = ix_phrases.idx[c][b];
            size_t pl = ix_phrases.len[k];
            if (i + pl < nw && words[i + pl] == ' ' && memcmp(words + i, phrases[k], pl) == 0) {
                snprintf(why, whylen, "phrase \"%s\"", phrases[k]);
                return true;
            }
        }
    }
    return false;
}

static bool scan_field(const char *name, const char *v, char *why, size_t whylen)
{
    char inner[160];
    if (!v || !v[0])
        return false;
    if (!att_guard_scan(v, strlen(v), inner, sizeof(inner)))
        return false;
    snprintf(why, whylen, "%s: %s", name, inner);
    return true;
}

bool att_guard_scan_detection(const struct mz_detection *det, char *why, size_t whylen)
{
    const struct mz_observation *o = &det->obs;
    const struct mz_process *p = &o->proc;
    char comm[sizeof(p->comm) + 1];

    memcpy(comm, p->comm, sizeof(p->comm));
    comm[sizeof(p->comm)] = '\0';
    if (scan_field("args", p->args, why, whylen) || scan_field("exe", p->exe, why, whylen) ||
        scan_field("comm", comm, why, whylen) || scan_field("user", p->user, why, whylen) ||
        scan_field("cwd", p->cwd, why, whylen))
        return true;
    for (size_t i = 0; i < p->n_ancestry; i++)
        if (scan_field("ancestry", p->ancestry[i], why, whylen))
            return true;
    switch (o->kind) {
    case MZ_OBS_EXEC:
    case MZ_OBS_FILE:
        return scan_field("path", o->file.path, why, whylen) ||
               scan_field("path2", o->file.path2, why, whylen);
    case MZ_OBS_FLOW:
        return scan_field("domain", o->flow.domain, why, whylen);
    case MZ_OBS_TAMPER:
        return scan_field("detail", o->tamper.detail, why, whylen);
    default:
        return false;
    }
}

const char *att_veto_name(enum att_veto v)
{
    static const char *const names[ATT_VETO__COUNT] = {
        [ATT_WITHHOLD] = "withhold",          [ATT_VETO_NOT_BLOCK] = "not_block",
        [ATT_VETO_NO_VERDICT] = "no_verdict", [ATT_VETO_VERDICT] = "verdict",
        [ATT_VETO_CONFIDENCE] = "confidence", [ATT_VETO_IMPORTANCE] = "importance",
        [ATT_VETO_PROTECTED] = "protected",   [ATT_VETO_INJECTION] = "injection",
        [ATT_VETO_SHAPE] = "shape",
    };
    return (unsigned)v < ATT_VETO__COUNT ? names[v] : "?";
}

enum att_veto att_guard_decide(const struct mz_config *cfg, const struct mz_alert *alert)
{
    const struct mz_attenuation *a = &alert->att;
    const char *id = alert->det.recipe.id ? alert->det.recipe.id : "";

    if (cfg->attenuator.mode != MZ_MODE_BLOCK)
        return ATT_VETO_NOT_BLOCK;
    if (a->status == MZ_ATT_SUPPRESSED) {
        /* the operator's own rule stands in for the verdict; the ceilings
         * below still hold */
    } else if (a->status != MZ_ATT_VERDICT && a->status != MZ_ATT_CACHED) {
        return ATT_VETO_NO_VERDICT;
    } else if (a->verdict != MZ_VERDICT_FALSE_POSITIVE) {
        return ATT_VETO_VERDICT;
    } else if (!(a->confidence >= cfg->attenuator.block.min_confidence)) {
        return ATT_VETO_CONFIDENCE; /* written so that NaN never passes */
    }
    if ((int)alert->det.recipe.importance > cfg->attenuator.block.max_importance)
        return ATT_VETO_IMPORTANCE;
    for (size_t i = 0; i < cfg->attenuator.block.protected_recipes.n; i++) {
        const char *pat = cfg->attenuator.block.protected_recipes.items[i];
        if (pat && fnmatch(pat, id, 0) == 0)
            return ATT_VETO_PROTECTED;
    }
    if (a->injection_suspected)
        return ATT_VETO_INJECTION;
    /* the verdict that decides is the one the attacker's text could not
     * reach; the full-context verdict above only has to agree */
    if (a->status != MZ_ATT_SUPPRESSED &&
        (a->shape_verdict != MZ_VERDICT_FALSE_POSITIVE ||
         !(a->shape_confidence >= cfg->attenuator.block.min_confidence)))
        return ATT_VETO_SHAPE;
    return ATT_WITHHOLD;
}
