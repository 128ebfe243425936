// SPDX-License-Identifier: Apache-2.0
/*
 * det_cli.c - `mizan recipes check FILE|DIR...` and `mizan recipes list`.
 *
 * check validates files with the daemon's loader and prints every
 * diagnostic as file:line:col: field: why; it exits 0 when all is clean, 1
 * when there are only warnings, 2 on any error. `check --builtin` checks the
 * embedded library. list prints the recipes the daemon would load with the
 * given config: id, importance, mechanism, enabled, origin. interest prints
 * what the kernel keeps in protected room (det_interest.h): per recipe how it
 * reduced, and the entries.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/embedded.h"
#include "core/util.h"
#include "detect/det_int.h"
#include "detect/det_interest.h"
#include "detect/detect.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mizan recipes check [--builtin] [FILE|DIR...]\n"
               "       mizan recipes list [--json]\n"
               "       mizan recipes interest\n");
}

static int load_path(const char *path, const struct det_load_opts *o, struct det_recipe ***rs,
                     size_t *n, struct det_diag *diag, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        det_diag_add(diag, true, path, 1, 1, NULL, "%s", strerror(errno));
        return -errno;
    }
    if (S_ISDIR(st.st_mode)) {
        struct dirent **list = NULL;
        int nn = scandir(path, &list, NULL, alphasort);
        if (nn < 0) {
            det_diag_add(diag, true, path, 1, 1, NULL, "%s", strerror(errno));
            return -EIO;
        }
        for (int i = 0; i < nn; i++) {
            const char *name = list[i]->d_name;
            size_t ln = strlen(name);
            char full[4096];
            size_t pl = strlen(path);
            const char *sep = pl && path[pl - 1] == '/' ? "" : "/";
            if (name[0] != '.' &&
                snprintf(full, sizeof(full), "%s%s%s", path, sep, name) < (int)sizeof(full)) {
                struct stat cst;
                bool yaml = (ln > 5 && strcmp(name + ln - 5, ".yaml") == 0) ||
                            (ln > 4 && strcmp(name + ln - 4, ".yml") == 0);
                if (stat(full, &cst) == 0 && S_ISDIR(cst.st_mode) && depth < 8)
                    load_path(full, o, rs, n, diag, depth + 1);
                else if (yaml)
                    load_path(full, o, rs, n, diag, depth + 1);
            }
            free(list[i]);
        }
        free(list);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = mz_read_file(path, DET_FILE_MAX, &text, &len);
    if (rc != 0) {
        det_diag_add(diag, true, path, 1, 1, NULL, "%s", strerror(-rc));
        return rc;
    }
    rc = det_load_text(path, text, len, o, rs, n, diag);
    free(text);
    return rc;
}

static int cmd_check(int argc, char **argv, const struct mz_config *cfg)
{
    struct det_diag diag = {0};
    struct det_recipe **rs = NULL;
    size_t n = 0;
    int n_paths = 0;
    struct det_load_opts o = {.lists_dir = cfg->detect.lists_dir, .builtin = false};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--builtin") == 0) {
            struct det_load_opts bo = {.lists_dir = cfg->detect.lists_dir, .builtin = true};
            for (const struct mz_embedded *e = mz_embedded_files; e->path; e++)
                if (strncmp(e->path, "detect/recipes/", 15) == 0 &&
                    det_load_text(e->path, e->data, e->size, &bo, &rs, &n, &diag) != 0)
                    continue; /* the errors are in diag */
            n_paths++;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return 2;
        } else {
            (void)load_path(argv[i], &o, &rs, &n, &diag, 0);
            n_paths++;
        }
    }
    if (!n_paths) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < diag.n; i++)
        printf("%s: %s\n", diag.is_error[i] ? "error" : "warning", diag.msgs[i]);
    printf("%zu recipe%s valid, %zu error%s, %zu warning%s\n", n, n == 1 ? "" : "s", diag.n_errors,
           diag.n_errors == 1 ? "" : "s", diag.n_warnings, diag.n_warnings == 1 ? "" : "s");
    int status = diag.n_errors ? 2 : (diag.n_warnings ? 1 : 0);
    for (size_t i = 0; i < n; i++)
        det_recipe_free(rs[i]);
    free(rs);
    det_diag_free(&diag);
    return status;
}

static int cmd_list(int argc, char **argv, const struct mz_config *cfg)
{
    bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
    char err[1024];
    struct mz_config c = *cfg;
    c.detect.reload = false; /* no inotify for a listing */
    struct det_engine *e = det_engine_new(&c, err, sizeof(err));
    if (!e) {
        fprintf(stderr, "mizan: %s\n", err);
        return 2;
    }
    struct det_set *s = det_engine_set(e);
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("%-36s %-9s %-14s %-8s %s\n", "ID", "IMPORTANCE", "MECHANISM", "ENABLED", "ORIGIN");
    for (size_t i = 0; i < det_set_count(s); i++) {
        const struct det_recipe *r = det_set_recipe(s, i);
        const char *origin = r->builtin ? "builtin" : r->origin;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", r->id);
            cJSON_AddStringToObject(o, "importance", mz_importance_name(r->importance));
            cJSON_AddStringToObject(o, "mechanism", det_mech_name(r->mech));
            cJSON_AddBoolToObject(o, "enabled", r->enabled);
            cJSON_AddStringToObject(o, "origin", origin);
            cJSON_AddStringToObject(o, "file", r->origin);
            cJSON_AddStringToObject(o, "tactic", r->tactic ? r->tactic : "");
            cJSON_AddStringToObject(o, "technique", r->technique ? r->technique : "");
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-36s %-10s %-14s %-8s %s\n", r->id, mz_importance_name(r->importance),
                   det_mech_name(r->mech), r->enabled ? "yes" : "no", origin);
        }
    }
    if (json) {
        char *txt = cJSON_PrintUnformatted(arr);
        if (txt)
            printf("%s\n", txt);
        free(txt);
        cJSON_Delete(arr);
    }
    det_engine_free(e);
    return 0;
}

static int cmd_interest(const struct mz_config *cfg)
{
    char err[1024];
    struct mz_config c = *cfg;
    c.detect.reload = false;
    struct det_engine *e = det_engine_new(&c, err, sizeof(err));
    if (!e) {
        fprintf(stderr, "mizan: %s\n", err);
        return 2;
    }
    struct det_interest *ii = det_engine_interest(e, NULL);
    cJSON *j = ii ? det_interest_json(ii) : NULL;
    char *txt = j ? cJSON_Print(j) : NULL;
    int rc = txt ? 0 : 2;
    if (txt)
        printf("%s\n", txt);
    else
        fprintf(stderr, "mizan: out of memory\n");
    free(txt);
    cJSON_Delete(j);
    det_interest_unref(ii);
    det_engine_free(e);
    return rc;
}

int det_cli_recipes(int argc_in, char **argv_in, const struct mz_config *cfg)
{
    /* the config options were read by the caller: drop them here */
    char *argv[64];
    int argc = 0;
    for (int i = 0; i < argc_in && argc < (int)MZ_ARRAY_SIZE(argv) - 1; i++) {
        if ((strcmp(argv_in[i], "-c") == 0 || strcmp(argv_in[i], "--config") == 0) &&
            i + 1 < argc_in) {
            i++;
            continue;
        }
        if (strncmp(argv_in[i], "--config=", 9) == 0)
            continue;
        argv[argc++] = argv_in[i];
    }
    argv[argc] = NULL;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 1, argv + 1, cfg);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(argc - 1, argv + 1, cfg);
    if (strcmp(argv[1], "interest") == 0)
        return cmd_interest(cfg);
    usage(stderr);
    return 2;
}
