/*
 * main.c - `ulog`, the user's command: finds the subcommand and hands it
 * the rest of the command line.
 *
 * Subcommands live one per file (run.c, tail.c ...) and are listed once in
 * the table below, which also writes the overview that --help prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    void (*usage)(FILE *out);
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, cmd_run_usage, "run a command with its stdout/stderr sent to ulogd"},
    {"tail", cmd_tail, cmd_tail_usage, "print the latest records of all.log, and follow it"},
    {"check", cmd_check, cmd_check_usage, "check a ulog.yaml the way ulogd would read it"},
    {"query", cmd_query, cmd_query_usage, "search the records in ulogd's store, newest first"},
    {"context", cmd_context, cmd_context_usage, "a digest of recent logs for an AI assistant"},
    {"mcp", cmd_mcp, cmd_mcp_usage, "serve the logs to an AI assistant (MCP over stdio)"},
};

static void usage(FILE *out)
{
    fputs("Usage: ulog COMMAND [OPTION]... [ARG]...\n"
          "       ulog help [COMMAND] | --help | --version\n"
          "\n"
          "One log for every process: what programs write to stdout and stderr,\n"
          "captured by libulog.so and written by ulogd to one file, all.log.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\nRun 'ulog help COMMAND' for a command's options.\n", out);
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "ulog: unknown command '%s'\nTry 'ulog --help'.\n", name);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    const struct command *command;
    char name[32];

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("ulog %s\n", ULOG_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        if (!(command = find_command(argv[2])))
            return unknown_command(argv[2]);
        command->usage(stdout);
        return 0;
    }
    if (argv[1][0] == '-') {
        fprintf(stderr, "ulog: unknown option '%s'\nTry 'ulog --help'.\n", argv[1]);
        return EXIT_USAGE;
    }
    if (!(command = find_command(argv[1])))
        return unknown_command(argv[1]);

    /* "ulog tail" as argv[0]: getopt's messages then name the subcommand. */
    snprintf(name, sizeof name, "ulog %s", command->name);
    argv[1] = name;
    return command->main(argc - 1, argv + 1);
}
