/*
 * commands.h - the subcommands of `ulog`, as main.c dispatches them.
 *
 * Each gets argv with argv[0] set to "ulog NAME", so that messages (its own
 * and getopt's) name the command the user typed.
 */
#ifndef ULOG_CLI_COMMANDS_H
#define ULOG_CLI_COMMANDS_H

#include <stdio.h>

/* Exit status for a command line that cannot be understood. */
#define EXIT_USAGE 2

int cmd_run(int argc, char **argv);
void cmd_run_usage(FILE *out);

int cmd_check(int argc, char **argv);
void cmd_check_usage(FILE *out);

int cmd_tail(int argc, char **argv);
void cmd_tail_usage(FILE *out);

int cmd_query(int argc, char **argv);
void cmd_query_usage(FILE *out);

int cmd_context(int argc, char **argv);
void cmd_context_usage(FILE *out);

int cmd_mcp(int argc, char **argv);
void cmd_mcp_usage(FILE *out);

#endif /* ULOG_CLI_COMMANDS_H */
