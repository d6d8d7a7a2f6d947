/*
 * check.c - `ulog check [FILE]`: validate a ulog.yaml without starting ulogd.
 *
 * It runs the very code ulogd runs on the file (config.c, the YAML reader,
 * the rule, redaction and multiline compilers), so "OK" here means ulogd
 * accepts the file, at start and on reload; and a refusal is the same
 * FILE:LINE:COLUMN message ulogd would give. The environment is left out:
 * the question is whether the file is right, wherever it is deployed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "multiline.h"
#include "redact.h"
#include "rules.h"

void cmd_check_usage(FILE *out)
{
    fputs("Usage: ulog check [FILE]\n"
          "\n"
          "Check a ulogd configuration file (default: $ULOG_CONFIG, else ./ulog.yaml)\n"
          "exactly as ulogd reads it: YAML syntax, every setting, levels, multiline\n"
          "formats, redaction patterns and rules. Prints a summary and exits 0 when\n"
          "ulogd would accept it; prints FILE:LINE:COLUMN: what is wrong and exits 1\n"
          "when it would not.\n"
          "\n"
          "  -q, --quiet   print nothing when the file is good\n",
          out);
}

int cmd_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ulogd_config config;
    const char *path;
    bool quiet = false;
    char err[1024];
    int opt;

    while ((opt = getopt_long(argc, argv, "+qh", options, NULL)) != -1) {
        switch (opt) {
        case 'q':
            quiet = true;
            break;
        case 'h':
            cmd_check_usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'ulog help check'.\n");
            return EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "ulog check: one file at a time\nTry 'ulog help check'.\n");
        return EXIT_USAGE;
    }
    path = optind < argc ? argv[optind] : getenv("ULOG_CONFIG");
    if (!path || !path[0])
        path = CONFIG_DEFAULT_FILE;

    config_defaults(&config);
    if (config_apply_yaml(&config, path, err, sizeof err) != 0 ||
        config_finish(&config, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        config_free(&config);
        return 1;
    }
    if (!quiet) {
        const struct pipeline_settings *p = &config.pipeline;
        printf("%s: OK\n", path);
        printf("  level %s, errors file %s, console %s\n", ulog_level_name(config.level),
               config.errors_file[0] ? config.errors_file : "off",
               console_mode_name(config.console));
        printf("  %zu rules; redaction %s (%zu patterns); multiline %s (%zu formats); lifting %s\n",
               rule_set_count(p->rules), p->redactor ? "on" : "OFF",
               p->redactor ? redactor_pattern_count(p->redactor) : 0,
               p->multiline ? "on" : "off", p->multiline ? multiline_formats_count(p->multiline) : 0,
               p->lift ? "on" : "off");
    }
    config_free(&config);
    return 0;
}
