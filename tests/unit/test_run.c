/*
 * test_run.c - `ulog run`: finding libulog.so, composing LD_PRELOAD,
 * choosing the socket (cli/run.c), and, in forked children, the
 * environment and the exit status the command really gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "commands.h"
#include "run.h"

struct fixture {
    char dir[64];
};

static int make_dir(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/ulog-test-run-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int remove_dir(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void touch(const char *path, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static int listen_at(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    assert_true(fd >= 0);
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

/* ---- LD_PRELOAD --------------------------------------------------------- */

static void assert_preload(const char *existing, const char *expected)
{
    char *value = run_preload_value("/opt/ulog/libulog.so", existing);
    assert_non_null(value);
    assert_string_equal(value, expected);
    free(value);
}

static void test_preload_value(void **state)
{
    (void)state;
    assert_preload(NULL, "/opt/ulog/libulog.so");
    assert_preload("", "/opt/ulog/libulog.so");
    assert_preload("/lib/a.so", "/opt/ulog/libulog.so /lib/a.so");
    /* ld.so splits on spaces and colons; ours goes first, the rest keep their order. */
    assert_preload("/lib/a.so:/lib/b.so  /lib/c.so", "/opt/ulog/libulog.so /lib/a.so /lib/b.so /lib/c.so");
    /* One process, one shim: ours replaces any libulog already there. */
    assert_preload("/opt/ulog/libulog.so", "/opt/ulog/libulog.so");
    assert_preload("/usr/local/lib/ulog/libulog.so:/lib/a.so /x/libulog-musl.so",
                   "/opt/ulog/libulog.so /lib/a.so");
    /* Only the exact names: look-alikes are someone else's. */
    assert_preload("/lib/libulog.so.1 /lib/mylibulog.so", "/opt/ulog/libulog.so /lib/libulog.so.1 /lib/mylibulog.so");
    assert_preload(" : ", "/opt/ulog/libulog.so");
}

/* ---- finding libulog.so ------------------------------------------------- */

static void test_find_shim(void **state)
{
    struct fixture *f = *state;
    char bin[128], lib[128], program[160], next_to[160], in_lib[160], out[PATH_MAX];
    char relative[PATH_MAX], cwd[PATH_MAX], installed_dir[160], installed[192];

    snprintf(bin, sizeof bin, "%s/bin", f->dir);
    snprintf(lib, sizeof lib, "%s/lib", f->dir);
    snprintf(program, sizeof program, "%s/ulog", bin);
    snprintf(next_to, sizeof next_to, "%s/libulog.so", bin);
    snprintf(in_lib, sizeof in_lib, "%s/libulog.so", lib);
    snprintf(installed_dir, sizeof installed_dir, "%s/ulog", lib);
    snprintf(installed, sizeof installed, "%s/ulog/libulog.so", lib);
    assert_int_equal(mkdir(bin, 0755), 0);
    assert_int_equal(mkdir(lib, 0755), 0);

    assert_int_equal(run_find_shim(out, NULL, program, lib), RUN_SHIM_NOT_FOUND);
    touch(in_lib, 0644);
    assert_int_equal(run_find_shim(out, NULL, program, lib), RUN_SHIM_FOUND);
    assert_string_equal(out, in_lib);
    /* PREFIX/bin/ulog finds PREFIX/lib/ulog/libulog.so before the built-in libdir. */
    assert_int_equal(mkdir(installed_dir, 0755), 0);
    touch(installed, 0644);
    assert_int_equal(run_find_shim(out, NULL, program, lib), RUN_SHIM_FOUND);
    assert_string_equal(out, installed);
    touch(next_to, 0644);
    assert_int_equal(run_find_shim(out, NULL, program, lib), RUN_SHIM_FOUND);
    assert_string_equal(out, next_to);

    /* ULOG_PRELOAD_LIB wins, and a relative one is made absolute. */
    assert_int_equal(run_find_shim(out, in_lib, program, lib), RUN_SHIM_FOUND);
    assert_string_equal(out, in_lib);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(run_find_shim(out, "lib/libulog.so", program, NULL), RUN_SHIM_FOUND);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(out, in_lib);
    snprintf(relative, sizeof relative, "%s/none.so", f->dir);
    assert_int_equal(run_find_shim(out, relative, program, lib), RUN_SHIM_OVERRIDE_MISSING);
    assert_int_equal(run_find_shim(out, lib, program, lib), RUN_SHIM_OVERRIDE_MISSING); /* a directory */
}

/* ---- the socket --------------------------------------------------------- */

static void test_pick_socket(void **state)
{
    struct fixture *f = *state;
    char main_sock[128], fallback[128], out[PATH_MAX], cwd[PATH_MAX], expected[PATH_MAX * 2];
    char too_long[200];

    snprintf(main_sock, sizeof main_sock, "%s/main.sock", f->dir);
    snprintf(fallback, sizeof fallback, "%s/fallback.sock", f->dir);

    /* Flag, then environment, whatever exists. */
    assert_int_equal(run_pick_socket(out, sizeof out, "/f.sock", "/e.sock", main_sock, fallback), 0);
    assert_string_equal(out, "/f.sock");
    assert_int_equal(run_pick_socket(out, sizeof out, NULL, "/e.sock", main_sock, fallback), 0);
    assert_string_equal(out, "/e.sock");
    assert_int_equal(run_pick_socket(out, sizeof out, "", "", main_sock, fallback), 0);
    assert_string_equal(out, main_sock);

    /* Neither exists: the default. Only the fallback: the fallback. Both: the default. */
    int fallback_fd = listen_at(fallback);
    assert_int_equal(run_pick_socket(out, sizeof out, NULL, NULL, main_sock, fallback), 0);
    assert_string_equal(out, fallback);
    int main_fd = listen_at(main_sock);
    assert_int_equal(run_pick_socket(out, sizeof out, NULL, NULL, main_sock, fallback), 0);
    assert_string_equal(out, main_sock);
    close(main_fd);
    close(fallback_fd);

    /* A plain file named like the socket is not ulogd. */
    assert_int_equal(unlink(main_sock), 0);
    touch(main_sock, 0644);
    assert_int_equal(run_pick_socket(out, sizeof out, NULL, NULL, main_sock, fallback), 0);
    assert_string_equal(out, fallback);

    /* Relative paths are made absolute: the program may change directory. */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(run_pick_socket(out, sizeof out, "run/u.sock", NULL, main_sock, NULL), 0);
    snprintf(expected, sizeof expected, "%s/run/u.sock", cwd);
    assert_string_equal(out, expected);

    /* An AF_UNIX address holds 107 bytes. */
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[0] = '/';
    too_long[sizeof too_long - 1] = '\0';
    errno = 0;
    assert_int_equal(run_pick_socket(out, sizeof out, too_long, NULL, main_sock, NULL), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    too_long[sizeof ((struct sockaddr_un *)0)->sun_path - 1] = '\0';
    assert_int_equal(run_pick_socket(out, sizeof out, too_long, NULL, main_sock, NULL), 0);
}

/* ---- the command, for real, in a child ---------------------------------- */

struct child {
    int status;
    char out[2048];
    char err[2048];
};

static void read_all(int fd, char *buf, size_t size)
{
    size_t used = 0;
    ssize_t n;
    while (used + 1 < size && (n = read(fd, buf + used, size - 1 - used)) > 0)
        used += (size_t)n;
    buf[used] = '\0';
    close(fd);
}

/* cmd_run in a child, as `ulog run ARGS...`; what it printed and how it ended. */
static void run_child(struct child *c, char **argv)
{
    int out[2], err[2], argc = 0;
    pid_t pid;

    while (argv[argc])
        argc++;
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        _exit(cmd_run(argc, argv));
    }
    close(out[1]);
    close(err[1]);
    read_all(out[0], c->out, sizeof c->out);
    read_all(err[0], c->err, sizeof c->err);
    assert_int_equal(waitpid(pid, &c->status, 0), pid);
}

static int exit_code(const struct child *c)
{
    assert_true(WIFEXITED(c->status));
    return WEXITSTATUS(c->status);
}

/* A real shared object to preload: any will do, and the C library is at hand. */
static void point_at_a_library(struct fixture *f, char *shim, size_t size)
{
    Dl_info info;
    char link[PATH_MAX];
    assert_int_not_equal(dladdr((void *)printf, &info), 0);
    assert_non_null(info.dli_fname);
    snprintf(link, sizeof link, "%s/libulog.so", f->dir);
    assert_int_equal(symlink(info.dli_fname, link), 0);
    assert_true(size >= PATH_MAX);
    assert_non_null(realpath(link, shim));
    setenv("ULOG_PRELOAD_LIB", shim, 1);
}

static void test_run_sets_the_environment(void **state)
{
    struct fixture *f = *state;
    struct child c;
    char shim[PATH_MAX], expected[PATH_MAX * 2];
    char *argv[] = {"ulog run", "--service", "web", "--socket", "/s/u.sock", "--", "sh", "-c",
                    "printf '%s|%s|%s' \"$LD_PRELOAD\" \"$ULOG_SOCKET\" \"$ULOG_SERVICE\"; exit 3",
                    NULL};

    point_at_a_library(f, shim, sizeof shim);
    setenv("LD_PRELOAD", "", 1);
    run_child(&c, argv);
    unsetenv("LD_PRELOAD");
    unsetenv("ULOG_PRELOAD_LIB");
    snprintf(expected, sizeof expected, "%s|/s/u.sock|web", shim);
    assert_string_equal(c.out, expected);
    assert_string_equal(c.err, "");
    assert_int_equal(exit_code(&c), 3); /* the command's own */
}

static void test_run_without_double_dash(void **state)
{
    struct fixture *f = *state;
    struct child c;
    char shim[PATH_MAX];
    char *argv[] = {"ulog run", "sh", "-c", "kill -TERM $$", NULL};

    point_at_a_library(f, shim, sizeof shim);
    run_child(&c, argv);
    unsetenv("ULOG_PRELOAD_LIB");
    /* The command's options are its own, and so is its death by signal. */
    assert_true(WIFSIGNALED(c.status));
    assert_int_equal(WTERMSIG(c.status), SIGTERM);
}

static void test_run_exit_statuses_of_its_own(void **state)
{
    struct fixture *f = *state;
    struct child c;
    char shim[PATH_MAX], not_executable[160];
    char *missing[] = {"ulog run", "--", "/nonexistent/command", NULL};
    char *cannot[] = {"ulog run", not_executable, NULL};
    char *nothing[] = {"ulog run", "--service", "x", NULL};
    char *bad_flag[] = {"ulog run", "--servce", "x", "true", NULL};
    char *dash_command[] = {"ulog run", "-true", NULL};

    point_at_a_library(f, shim, sizeof shim);
    snprintf(not_executable, sizeof not_executable, "%s/data.txt", f->dir);
    touch(not_executable, 0644);

    run_child(&c, missing);
    assert_int_equal(exit_code(&c), 127);
    assert_string_equal(c.err, "ulog run: '/nonexistent/command': No such file or directory\n");
    run_child(&c, cannot);
    assert_int_equal(exit_code(&c), 126);
    assert_non_null(strstr(c.err, "Permission denied"));
    run_child(&c, nothing);
    assert_int_equal(exit_code(&c), EXIT_USAGE);
    assert_non_null(strstr(c.err, "no command to run"));
    run_child(&c, bad_flag);
    assert_int_equal(exit_code(&c), EXIT_USAGE);
    assert_non_null(strstr(c.err, "--servce"));
    run_child(&c, dash_command);
    assert_int_equal(exit_code(&c), EXIT_USAGE);

    /* The shim cannot be found: ulog run's own failure, and nothing runs. */
    setenv("ULOG_PRELOAD_LIB", "/nonexistent/libulog.so", 1);
    char *fine[] = {"ulog run", "true", NULL};
    run_child(&c, fine);
    unsetenv("ULOG_PRELOAD_LIB");
    assert_int_equal(exit_code(&c), 125);
    assert_non_null(strstr(c.err, "ULOG_PRELOAD_LIB"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preload_value),
        cmocka_unit_test_setup_teardown(test_find_shim, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_pick_socket, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_run_sets_the_environment, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_run_without_double_dash, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_run_exit_statuses_of_its_own, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
