/*
 * run.c - `ulog run`: start a program with the shim loaded into it.
 *
 * It only prepares the environment (LD_PRELOAD, ULOG_SOCKET, ULOG_SERVICE)
 * and then becomes the program with execvp, so that the program keeps its
 * pid, its stdin/stdout/stderr and its terminal, receives its own signals,
 * and its exit status is the one the caller sees. Exit statuses of its own
 * follow env(1): 125 when ulog run itself fails, 126 when the program
 * cannot be executed, 127 when it is not found; 2 for a bad command line.
 *
 * The shim's path is always absolute: a relative LD_PRELOAD breaks in any
 * child that changes directory, and ld.so then writes its complaint into
 * the program's stderr.
 *
 * Before the exec, runcheck.c looks at COMMAND's file. When the shim cannot
 * be loaded into it (static, set-ID, another architecture), ulog run says
 * so, once, on its own stderr, since nothing else would: the program runs
 * exactly as it would, its output simply never reaches all.log. When its
 * loader is musl's, it gets libulog-musl.so (and a glibc program
 * libulog.so): the other flavour would stop it from starting at all.
 */
#include "run.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "runcheck.h"
#include "ulog/paths.h"

#define EXIT_RUN_FAILED 125
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND 127
#define MUSL_SHIM_FILE_NAME "libulog-musl.so"

void cmd_run_usage(FILE *out)
{
    fputs("Usage: ulog run [-q] [--service NAME] [--socket PATH] [--] COMMAND [ARG]...\n"
          "\n"
          "Run COMMAND with libulog.so preloaded, so that what it and its children\n"
          "write to stdout and stderr also reaches ulogd, tagged, in all.log.\n"
          "Its output, exit status, pid and terminal stay its own.\n"
          "\n"
          "      --service NAME  the service name its records carry\n"
          "                      (default: $ULOG_SERVICE, else the program's name)\n"
          "      --socket PATH   ulogd's socket (default: $ULOG_SOCKET, else\n"
          "                      " ULOG_DEFAULT_SOCKET " if it exists, else the\n"
          "                      non-root fallback if that exists)\n"
          "  -q, --quiet         no warning when COMMAND is one the shim cannot be\n"
          "                      loaded into (statically linked, set-user-ID ...)\n"
          "  -h, --help          show this help\n"
          "\n"
          "libulog.so is taken from $ULOG_PRELOAD_LIB, else from the directory of the\n"
          "ulog program, else from ../lib/ulog beside it, else from " ULOG_LIBDIR ".\n"
          "A program whose loader is musl's gets libulog-musl.so from the same place.\n"
          "\n"
          "Exit status: COMMAND's own; 125 if ulog run fails, 126 if COMMAND cannot\n"
          "be executed, 127 if it is not found.\n",
          out);
}

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_socket(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* DIR/libulog.so, resolved, if it is a file there. */
static bool shim_in(char *out, const char *dir, size_t dir_len)
{
    char candidate[PATH_MAX];

    if ((size_t)snprintf(candidate, sizeof candidate, "%.*s/%s", (int)dir_len, dir,
                         SHIM_FILE_NAME) >= sizeof candidate)
        return false;
    return is_regular_file(candidate) && realpath(candidate, out) != NULL;
}

enum run_shim_search run_find_shim(char *out, const char *override, const char *program,
                                   const char *libdir)
{
    const char *slash;

    if (override && override[0])
        return is_regular_file(override) && realpath(override, out) ? RUN_SHIM_FOUND
                                                                   : RUN_SHIM_OVERRIDE_MISSING;
    if (program && (slash = strrchr(program, '/'))) {
        char installed[PATH_MAX];
        size_t dir_len = (size_t)(slash - program);
        if (shim_in(out, program, dir_len))
            return RUN_SHIM_FOUND;
        /* PREFIX/bin/ulog finds PREFIX/lib/ulog/, wherever PREFIX was when it was built. */
        if ((size_t)snprintf(installed, sizeof installed, "%.*s/../lib/ulog", (int)dir_len,
                             program) < sizeof installed &&
            shim_in(out, installed, strlen(installed)))
            return RUN_SHIM_FOUND;
    }
    if (libdir && libdir[0] && shim_in(out, libdir, strlen(libdir)))
        return RUN_SHIM_FOUND;
    return RUN_SHIM_NOT_FOUND;
}

static bool is_ulog_shim(const char *entry, size_t len)
{
    static const char *const names[] = {"libulog.so", "libulog-musl.so"};
    const char *base = entry;

    for (size_t i = 0; i < len; i++)
        if (entry[i] == '/')
            base = entry + i + 1;
    len -= (size_t)(base - entry);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && memcmp(base, names[i], len) == 0)
            return true;
    return false;
}

char *run_preload_value(const char *shim, const char *existing)
{
    size_t shim_len = strlen(shim), len = shim_len;
    char *value = malloc(shim_len + (existing ? strlen(existing) : 0) + 2);

    if (!value)
        return NULL;
    memcpy(value, shim, shim_len);
    for (const char *p = existing; p && *p;) {
        size_t entry = strcspn(p, " :");
        if (entry && !is_ulog_shim(p, entry)) {
            value[len++] = ' ';
            memcpy(value + len, p, entry);
            len += entry;
        }
        p += entry;
        p += strspn(p, " :");
    }
    value[len] = '\0';
    return value;
}

int run_pick_socket(char *out, size_t size, const char *flag, const char *env,
                    const char *default_path, const char *fallback_path)
{
    const char *chosen = default_path;
    char cwd[PATH_MAX];
    size_t needed;

    if (flag && flag[0])
        chosen = flag;
    else if (env && env[0])
        chosen = env;
    else if (!is_socket(default_path) && fallback_path && is_socket(fallback_path))
        chosen = fallback_path;

    if (chosen[0] == '/') {
        needed = (size_t)snprintf(out, size, "%s", chosen);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return -1;
        needed = (size_t)snprintf(out, size, "%s/%s", cwd, chosen);
    }
    if (needed >= size || needed >= sizeof ((struct sockaddr_un *)0)->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* 0 to go on, -1 after --help, or EXIT_USAGE. */
static int parse_options(int argc, char **argv, const char **service, const char **socket_path,
                         bool *quiet)
{
    enum { OPT_SERVICE = 256, OPT_SOCKET };
    static const struct option longopts[] = {
        {"service", required_argument, NULL, OPT_SERVICE},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 0; /* glibc: start afresh, whoever parsed before */
    /* "+": the first word that is not an option is COMMAND; its options are its own. */
    while ((c = getopt_long(argc, argv, "+hq", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SERVICE:
            *service = optarg;
            break;
        case OPT_SOCKET:
            *socket_path = optarg;
            break;
        case 'q':
            *quiet = true;
            break;
        case 'h':
            cmd_run_usage(stdout);
            return -1;
        default:
            fputs("Try 'ulog run --help'.\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        fputs("ulog run: no command to run\n", stderr);
    else if (*service && !(*service)[0])
        fputs("ulog run: --service wants a name\n", stderr);
    else if (*socket_path && !(*socket_path)[0])
        fputs("ulog run: --socket wants a path\n", stderr);
    else
        return 0;
    fputs("Try 'ulog run --help'.\n", stderr);
    return EXIT_USAGE;
}

/* The shim `rc`'s loader can load into `shim`: glibc's loader cannot load
 * the musl shim nor musl's the glibc one (the program would not start), so
 * the other flavour is taken from beside it. false when it is not there. */
static bool match_flavour(char *shim, const struct runcheck *rc)
{
    const char *base = strrchr(shim, '/') + 1; /* shim is an absolute path */
    bool musl_program = runcheck_wants_musl(rc);
    bool musl_shim = strcmp(base, MUSL_SHIM_FILE_NAME) == 0;
    char sibling[PATH_MAX], resolved[PATH_MAX];

    if (rc->loader != RUNCHECK_DYNAMIC || musl_program == musl_shim)
        return true;
    if ((size_t)snprintf(sibling, sizeof sibling, "%.*s/%s", (int)(base - 1 - shim), shim,
                         musl_program ? MUSL_SHIM_FILE_NAME : SHIM_FILE_NAME) >= sizeof sibling ||
        !is_regular_file(sibling) || !realpath(sibling, resolved))
        return false;
    memcpy(shim, resolved, strlen(resolved) + 1);
    return true;
}

static void warn_no_flavour(const char *shim, const struct runcheck *rc)
{
    bool musl = runcheck_wants_musl(rc);
    fprintf(stderr,
            "ulog run: warning: %s%s%s is linked against %s (its loader is %s), and %s is"
            " built for %s: it would stop the program from starting. No %s is beside it, so"
            " the program runs without the shim and nothing it writes will reach all.log."
            " Build it (%s) or set ULOG_PRELOAD_LIB to it. -q silences this warning.\n",
            rc->file, rc->scripts ? ", a script run by " : "", rc->scripts ? rc->runs : "",
            musl ? "musl" : "glibc", rc->interp, shim, musl ? "glibc" : "musl",
            musl ? MUSL_SHIM_FILE_NAME : SHIM_FILE_NAME,
            musl ? "make, with musl-gcc installed" : "make");
}

/* LD_PRELOAD for a program that runs without the shim: what was there,
 * without any shim; unset when nothing is left. */
static int preload_without_shim(const char *existing)
{
    char *value = run_preload_value("", existing);
    int rc;

    if (!value)
        return -1;
    rc = value[strspn(value, " ")] ? setenv("LD_PRELOAD", value + strspn(value, " "), 1)
                                   : unsetenv("LD_PRELOAD");
    free(value);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    const char *service = NULL, *socket_flag = NULL, *override = getenv("ULOG_PRELOAD_LIB");
    char shim[PATH_MAX], program[PATH_MAX], socket_path[PATH_MAX], fallback[PATH_MAX];
    char warning[4096];
    char *preload;
    bool quiet = false, with_shim;
    struct runcheck check;
    int rc = parse_options(argc, argv, &service, &socket_flag, &quiet), err;

    if (rc)
        return rc < 0 ? 0 : rc;

    switch (run_find_shim(shim, override, realpath("/proc/self/exe", program), ULOG_LIBDIR)) {
    case RUN_SHIM_FOUND:
        break;
    case RUN_SHIM_OVERRIDE_MISSING:
        fprintf(stderr, "ulog run: ULOG_PRELOAD_LIB=%s is not a file\n", override);
        return EXIT_RUN_FAILED;
    case RUN_SHIM_NOT_FOUND:
        fprintf(stderr,
                "ulog run: cannot find %s (looked beside ulog, in ../lib/ulog from there,"
                " and in %s); set ULOG_PRELOAD_LIB to its path\n",
                SHIM_FILE_NAME, ULOG_LIBDIR);
        return EXIT_RUN_FAILED;
    }

    ulog_fallback_socket(fallback, sizeof fallback);
    if (run_pick_socket(socket_path, sizeof socket_path, socket_flag, getenv("ULOG_SOCKET"),
                        ULOG_DEFAULT_SOCKET, fallback) < 0) {
        fprintf(stderr, "ulog run: socket path: %s\n", strerror(errno));
        return EXIT_RUN_FAILED;
    }

    runcheck_inspect(&check, argv[optind], getenv("PATH"));
    if (!(with_shim = match_flavour(shim, &check)) && !quiet)
        warn_no_flavour(shim, &check);
    if (!quiet && with_shim && runcheck_warning(warning, sizeof warning, &check, argv[optind]))
        fputs(warning, stderr);

    if (!with_shim) {
        if (preload_without_shim(getenv("LD_PRELOAD")) < 0) {
            perror("ulog run");
            return EXIT_RUN_FAILED;
        }
    } else if (!(preload = run_preload_value(shim, getenv("LD_PRELOAD")))) {
        perror("ulog run");
        return EXIT_RUN_FAILED;
    } else {
        err = setenv("LD_PRELOAD", preload, 1);
        free(preload);
        if (err < 0) {
            perror("ulog run");
            return EXIT_RUN_FAILED;
        }
    }
    if (setenv("ULOG_SOCKET", socket_path, 1) < 0 ||
        (service && setenv("ULOG_SERVICE", service, 1) < 0)) {
        perror("ulog run");
        return EXIT_RUN_FAILED;
    }
    /* CMD starts a new tree: its own stdout and stderr are the ones to capture,
     * not those of a captured process that happened to call `ulog run`. */
    unsetenv("ULOG_STREAMS");

    execvp(argv[optind], argv + optind);
    err = errno;
    fprintf(stderr, "ulog run: '%s': %s\n", argv[optind], strerror(err));
    return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}
