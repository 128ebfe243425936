// SPDX-License-Identifier: Apache-2.0
/*
 * cli.c - the mizan command line: run (default), check-config, replay,
 * status, recipes, version, and --help for each. Exit statuses: 0 ok, 1
 * completed with warnings or problems, 2 usage or configuration error, 3
 * runtime failure.
 */
#include "daemon/cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "demo/demo.h"
#include "detect/detect.h"
#include "netpolicy/np_policy.h"
#include "reactions/rx.h"

#define DEFAULT_CONFIG "/etc/mizan/mizan.yaml"

#ifndef MIZAN_VERSION
#define MIZAN_VERSION "0.1.0"
#endif

struct command {
    const char *name;
    const char *usage;
    const char *help;
};

static const struct command commands[] = {
    {"run", "mizan run [-c FILE] [--observations] [--format json|text] [--fresh]",
     "Load the eBPF collector and run the daemon in the foreground until SIGTERM or SIGINT,\n"
     "which drain every queue and flush every printer. SIGHUP reloads the recipes and the\n"
     "log level. The default command. The programs stay attached through pins in\n"
     "collector.pin_dir after mizan exits (also on SIGTERM), and the next start adopts\n"
     "them and delivers what they recorded meanwhile; `mizan uninstall` detaches them.\n"
     "  -c, --config FILE   configuration (default " DEFAULT_CONFIG
     " if present, else built-in defaults)\n"
     "  --observations      print observations as JSON lines instead of detecting\n"
     "  --format FMT        stdout format: json or text (overrides printers.stdout.format)\n"
     "  --fresh             remove the pinned maps and links first: start from empty maps\n"},
    {"uninstall", "mizan uninstall [-c FILE]",
     "Detach mizan's programs for good: remove the pinned links and maps in\n"
     "collector.pin_dir and the delivery cursor. Stop the daemon first (exit 3 while one\n"
     "runs on that pin_dir).\n"},
    {"check-config", "mizan check-config FILE",
     "Parse and check a configuration file with the same checks as `run`; errors name\n"
     "file:line:column and the key. Exit 0 when valid, 2 otherwise.\n"},
    {"replay", "mizan replay [-c FILE] [--format json|text] [--model-wait DURATION] FILE.jsonl",
     "Feed recorded detections and observations (JSON lines; - for stdin) through the\n"
     "same detect -> attenuate -> print path as live ones. Malformed lines are reported\n"
     "with their line number and skipped (exit 1 if any were).\n"
     "  -c, --config FILE   configuration\n"
     "  --format FMT        stdout format: json or text\n"
     "  --model-wait DUR    at the end of the input, wait this long for queued model\n"
     "                      calls before bypassing the rest as shutdown (default 1h)\n"},
    {"status", "mizan status [-c FILE] [--raw]",
     "Print a running daemon's counters: records evicted unseen, map fill levels, queue\n"
     "levels, per-recipe and per-filter counts. Reads the configured status_file.\n"},
    {"recipes", "mizan recipes check FILE|DIR | mizan recipes list [-c FILE]",
     "check: validate recipe files (exit 0 ok, 1 warnings, 2 errors, with file:line:column).\n"
     "list: the loaded recipes with id, importance, mechanism and origin.\n"},
    {"react", "mizan react HELPER [ARG...]",
     "Inside a shell reaction: call one of the reaction helpers (KillCurrent, DataSet,\n"
     "NetBlockIp, ...; also as kill-current, data-set) on the running daemon, over its\n"
     "root-only socket. Prints the result; the reason for Errno() goes to stderr.\n"
     "Exit 0, 1 when the helper reported an error, 2 bad usage, 3 no daemon.\n"},
    {"demo", "mizan demo [--keep]",
     "A first minute with mizan, as root: start the daemon with a built-in fixture model\n"
     "(block mode) in a temp directory, run three harmless but suspicious actions, and show\n"
     "an alert with its verdict, a verdict cache hit, and a withheld alert in the audit\n"
     "log with the counter that counted it. Stops the daemon and removes the temp\n"
     "directory at the end, also on Ctrl-C; touches neither /etc/mizan nor /var/log/mizan.\n"
     "  --keep              leave the temp directory in place\n"},
    {"version", "mizan version", "Print the version.\n"},
};

/* Said by --help and by the man page (`mizan help --man`, made at build
 * time and installed as mizan.8): one text for both. */
static const char summary[] =
    "runtime security: eBPF behaviour maps, recipes, model-attenuated alerts";
static const char exit_status[] =
    "Exit status: 0 ok; 1 done with problems (skipped replay lines, recipe warnings);\n"
    "2 bad usage or configuration (nothing was started); 3 a runtime failure.\n";

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < MZ_ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage_all(FILE *out)
{
    fprintf(out, "mizan %s - %s\n\nUsage:\n", MIZAN_VERSION, summary);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(commands); i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out, "\n`mizan help COMMAND` or `mizan COMMAND --help` describes a command.\n\n%s",
            exit_status);
}

/* Text as roff takes it: backslashes doubled, a leading dot or quote
 * escaped, dashes as \- (so that man renders options as typed). */
static void roff(FILE *out, const char *s)
{
    bool bol = true;
    for (; *s; s++) {
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
        bol = *s == '\n';
    }
}

/* mizan(8) in man(7) roff, from the --help texts above. */
static void usage_man(FILE *out)
{
    fprintf(out, ".TH MIZAN 8 \"\" \"mizan %s\" \"System Administration\"\n", MIZAN_VERSION);
    fputs(".SH NAME\nmizan \\- ", out);
    roff(out, summary);
    fputs("\n.SH SYNOPSIS\n.nf\n", out);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(commands); i++) {
        roff(out, commands[i].usage);
        fputc('\n', out);
    }
    fputs(".fi\n.SH COMMANDS\n", out);
    for (size_t i = 0; i < MZ_ARRAY_SIZE(commands); i++) {
        fputs(".SS ", out);
        roff(out, commands[i].name);
        fputs("\n.nf\n", out);
        roff(out, commands[i].usage);
        fputs("\n\n", out);
        roff(out, commands[i].help);
        fputs(".fi\n", out);
    }
    fputs(".SH EXIT STATUS\n", out);
    roff(out, exit_status);
    fputs(".SH FILES\n.nf\n"
          "/etc/mizan/mizan.yaml        configuration (every key documented in it)\n"
          "/etc/mizan/netpolicy.yaml    network policy (netpolicy.enabled)\n"
          "/etc/mizan/lists/            domain lists the recipes name\n"
          "/var/log/mizan/alerts.log    alerts, JSON lines; audit.log: withheld alerts\n"
          "/run/mizan/status.json       counters of the running daemon (mizan status)\n"
          "/sys/fs/bpf/mizan/           pinned programs and maps (mizan uninstall)\n"
          ".fi\n"
          ".SH SEE ALSO\n"
          "http://127.0.0.1:9090/metrics, /healthz, /readyz (http.* in mizan.yaml);\n"
          "the README and docs/operations.md of the source tree.\n",
          out);
}

static void usage_cmd(const struct command *c, FILE *out)
{
    fprintf(out, "Usage: %s\n\n%s", c->usage, c->help);
}

/* Loads -c FILE, or the default file if present, or the defaults. */
static int load_config(const char *path, struct mz_config *cfg)
{
    char err[1024];
    if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
        path = DEFAULT_CONFIG;
    if (!path) {
        mz_config_defaults(cfg);
        return 0;
    }
    if (mz_config_load(path, cfg, err, sizeof(err))) {
        fprintf(stderr, "mizan: %s\n", err);
        mz_config_free(cfg); /* a failed load leaves the defaults */
        return -1;
    }
    return 0;
}

static int parse_format(const char *s, struct mz_config *cfg)
{
    if (strcmp(s, "json") == 0)
        cfg->printers.stdout_.format = MZ_FMT_JSON;
    else if (strcmp(s, "text") == 0)
        cfg->printers.stdout_.format = MZ_FMT_TEXT;
    else
        return -1;
    return 0;
}

int mz_cli_main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "run";
    const struct command *cmd;
    const char *cfg_path = NULL, *format = NULL;
    bool observations = false, raw = false, fresh = false, keep = false;
    uint64_t model_wait_ms = MZ_REPLAY_MODEL_WAIT_MS;
    struct mz_config cfg;
    int status;

    if (argc > 1 && argv[1][0] == '-') {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            usage_all(stdout);
            return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
            printf("mizan %s\n", MIZAN_VERSION);
            return 0;
        }
        name = "run"; /* `mizan -c FILE` runs */
    } else if (argc > 1) {
        argc--;
        argv++;
    }
    if (strcmp(name, "help") == 0) { /* `mizan help [COMMAND]` */
        if (argc > 1 && strcmp(argv[1], "--man") == 0) {
            usage_man(stdout); /* what the build installs as mizan.8 */
            return 0;
        }
        const struct command *h = argc > 1 ? find_command(argv[1]) : NULL;
        if (argc > 1 && !h) {
            fprintf(stderr, "mizan: unknown command '%s'\n\n", argv[1]);
            usage_all(stderr);
            return 2;
        }
        if (h)
            usage_cmd(h, stdout);
        else
            usage_all(stdout);
        return 0;
    }
    cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "mizan: unknown command '%s'\n\n", name);
        usage_all(stderr);
        return 2;
    }
    if (strcmp(name, "react") == 0) {
        /* argv after the helper's name are its arguments, not options */
        if (argc > 2 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0))
            cfg_path = argv[2];
        if (load_config(cfg_path, &cfg))
            return 2;
        status = rx_cli_main(argc, argv, &cfg);
        mz_config_free(&cfg);
        return status;
    }
    if (strcmp(name, "recipes") == 0) {
        /* the recipe engine parses its own sub-commands */
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                usage_cmd(cmd, stdout);
                return 0;
            }
        }
        for (int i = 1; i + 1 < argc; i++)
            if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
                cfg_path = argv[i + 1];
        if (load_config(cfg_path, &cfg))
            return 2;
        mz_log_set_level(cfg.log_level);
        status = det_cli_recipes(argc, argv, &cfg);
        mz_config_free(&cfg);
        return status;
    }

    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"observations", no_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"raw", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"model-wait", required_argument, NULL, 'w'},
        {"fresh", no_argument, NULL, 'F'},
        {"keep", no_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            cfg_path = optarg;
            break;
        case 'o':
            observations = true;
            break;
        case 'f':
            format = optarg;
            break;
        case 'r':
            raw = true;
            break;
        case 'w':
            if (mz_parse_duration_ms(optarg, &model_wait_ms) < 0 || model_wait_ms == 0) {
                fprintf(stderr, "mizan: --model-wait: expected a duration such as 90s, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'F':
            fresh = true;
            break;
        case 'k':
            keep = true;
            break;
        case 'h':
            usage_cmd(cmd, stdout);
            return 0;
        default:
            usage_cmd(cmd, stderr);
            return 2;
        }
    }
    int rest = argc - optind;

    if (strcmp(name, "version") == 0) {
        printf("mizan %s\n", MIZAN_VERSION);
        return 0;
    }
    if (strcmp(name, "check-config") == 0) {
        char err[1024];
        const char *path = rest == 1 ? argv[optind] : cfg_path;
        if (!path || rest > 1) {
            usage_cmd(cmd, stderr);
            return 2;
        }
        if (mz_config_load(path, &cfg, err, sizeof(err))) {
            fprintf(stderr, "mizan: %s\n", err);
            mz_config_free(&cfg);
            return 2;
        }
        if (cfg.netpolicy.enabled) {
            struct np_policy *np = np_policy_load(cfg.netpolicy.file, err, sizeof(err));
            if (!np) {
                fprintf(stderr, "mizan: %s\n", err);
                mz_config_free(&cfg);
                return 2;
            }
            np_policy_free(np);
        }
        printf("%s: ok\n", path);
        mz_config_free(&cfg);
        return 0;
    }
    if (strcmp(name, "demo") == 0) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (rest != 0 || n <= 0) {
            usage_cmd(cmd, stderr);
            return 2;
        }
        self[n] = '\0';
        return mz_demo(self, keep);
    }
    if ((strcmp(name, "replay") == 0 && rest != 1) || (strcmp(name, "replay") != 0 && rest != 0)) {
        usage_cmd(cmd, stderr);
        return 2;
    }
    if (load_config(cfg_path, &cfg))
        return 2;
    if (format && parse_format(format, &cfg)) {
        fprintf(stderr, "mizan: --format: expected json or text, got '%s'\n", format);
        mz_config_free(&cfg);
        return 2;
    }
    mz_log_set_level(cfg.log_level);
    cfg.collector.pin_fresh = fresh;
    if (strcmp(name, "run") == 0)
        status = mz_run(&cfg, cfg_path, observations);
    else if (strcmp(name, "uninstall") == 0)
        status = mz_uninstall(&cfg);
    else if (strcmp(name, "replay") == 0)
        status = mz_replay(&cfg, argv[optind], model_wait_ms);
    else
        status = mz_status(&cfg, raw);
    mz_config_free(&cfg);
    return status;
}
