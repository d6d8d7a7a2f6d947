/*
 * test_run.c - `ulog run`: finding libulog.so, composing LD_PRELOAD,
 * choosing the socket (cli/run.c), and, in forked children, the
 * environment and the exit status the command really gets. Then what it
 * tells about COMMAND before the exec (cli/runcheck.c): real programs built
 * here (dynamic, static, static-pie, musl), scripts, set-ID copies, ELF
 * files made by hand for what no compiler here makes, and the warning it
 * prints on its own stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "commands.h"
#include "run.h"
#include "runcheck.h"

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

/* ---- what ulog run tells about COMMAND (runcheck.c) ---------------------- */

/* Programs built once for all the tests below; "" when this machine's
 * compilers cannot make one (that test is then skipped). */
static struct {
    char dir[64];
    char dynamic[128], statik[128], static_pie[128], musl[128], object[128];
    char glibc_so[128], musl_so[128];
} built;

static const char hello_source[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "int main(void)\n"
    "{\n"
    "    const char *p = getenv(\"LD_PRELOAD\");\n"
    "    printf(\"hello, LD_PRELOAD=%s\\n\", p ? p : \"(unset)\");\n"
    "    fputs(\"to stderr\\n\", stderr);\n"
    "    return 7;\n"
    "}\n";

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    write_file(path, text, strlen(text), mode);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    static char data[4 << 20];
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    assert_true(fd >= 0);
    n = read(fd, data, sizeof data);
    close(fd);
    assert_true(n > 0 && n < (ssize_t)sizeof data);
    write_file(to, data, (size_t)n, mode);
}

/* `compiler ARGS -o out source`, quietly; out is "" when it fails. */
static bool compile(char *out, size_t size, const char *name, const char *compiler,
                    const char *source)
{
    char cmd[1024];
    snprintf(out, size, "%s/%s", built.dir, name);
    snprintf(cmd, sizeof cmd, "%s -o '%s' '%s/%s' >/dev/null 2>&1", compiler, out, built.dir,
             source);
    if (system(cmd) == 0)
        return true;
    out[0] = '\0';
    return false;
}

static int build_programs(void **state)
{
    char path[160];
    (void)state;
    strcpy(built.dir, "/tmp/ulog-test-runcheck-XXXXXX");
    if (!mkdtemp(built.dir) || chmod(built.dir, 0755) != 0) /* nobody must reach it too */
        return -1;
    snprintf(path, sizeof path, "%s/hello.c", built.dir);
    write_text(path, hello_source, 0644);
    snprintf(path, sizeof path, "%s/empty.c", built.dir);
    write_text(path, "int ulog_test_empty;\n", 0644);
    if (!compile(built.dynamic, sizeof built.dynamic, "hello-dynamic", "cc", "hello.c"))
        return -1;
    /* glibc's static libc comes with libc6-dev; musl's with musl-dev. */
    if (!compile(built.statik, sizeof built.statik, "hello-static", "cc -static", "hello.c"))
        compile(built.statik, sizeof built.statik, "hello-static", "musl-gcc -static", "hello.c");
    compile(built.static_pie, sizeof built.static_pie, "hello-static-pie", "cc -static-pie",
            "hello.c");
    compile(built.musl, sizeof built.musl, "hello-musl", "musl-gcc", "hello.c");
    if (compile(built.object, sizeof built.object, "hello.o", "cc -c", "hello.c"))
        chmod(built.object, 0755);
    compile(built.glibc_so, sizeof built.glibc_so, "empty-glibc.so", "cc -shared -fPIC",
            "empty.c");
    compile(built.musl_so, sizeof built.musl_so, "empty-musl.so", "musl-gcc -shared -fPIC",
            "empty.c");
    return 0;
}

static int remove_programs(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", built.dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void need(const char *program, const char *what)
{
    if (!program[0]) {
        fprintf(stderr, "# skipped: this machine cannot build %s\n", what);
        skip();
    }
}

static void need_root(void)
{
    if (geteuid() != 0) {
        fputs("# skipped: needs root (chown to another user)\n", stderr);
        skip();
    }
}

static struct runcheck *inspect(const char *cmd, const char *path_env)
{
    static struct runcheck rc;
    runcheck_inspect(&rc, cmd, path_env);
    return &rc;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void test_find_like_execvp(void **state)
{
    struct fixture *f = *state;
    char a[96], b[96], path_env[256], out[PATH_MAX], expected[PATH_MAX], cwd[PATH_MAX];

    snprintf(a, sizeof a, "%s/a", f->dir);
    snprintf(b, sizeof b, "%s/b", f->dir);
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    snprintf(path_env, sizeof path_env, "/nonexistent:%s:%s", a, b);

    /* Not executable, or a directory: execvp goes on to the next entry. */
    snprintf(out, sizeof out, "%s/tool", a);
    touch(out, 0644);
    snprintf(out, sizeof out, "%s/tool", b);
    touch(out, 0755);
    snprintf(out, sizeof out, "%s/subdir", a);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(out, sizeof out, "%s/subdir", b);
    touch(out, 0755);
    assert_int_equal(runcheck_find(out, sizeof out, "tool", path_env), 0);
    snprintf(expected, sizeof expected, "%s/tool", b);
    assert_string_equal(out, expected);
    assert_int_equal(runcheck_find(out, sizeof out, "subdir", path_env), 0);
    snprintf(expected, sizeof expected, "%s/subdir", b);
    assert_string_equal(out, expected);
    /* The first one wins. */
    snprintf(out, sizeof out, "%s/tool", a);
    assert_int_equal(chmod(out, 0755), 0);
    assert_int_equal(runcheck_find(out, sizeof out, "tool", path_env), 0);
    snprintf(expected, sizeof expected, "%s/tool", a);
    assert_string_equal(out, expected);

    /* An empty entry is the current directory; a name with a slash is used as it is. */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(b), 0);
    assert_int_equal(runcheck_find(out, sizeof out, "subdir", "/nonexistent:"), 0);
    assert_string_equal(out, "./subdir");
    assert_int_equal(runcheck_find(out, sizeof out, "../a/tool", "/nonexistent"), 0);
    assert_string_equal(out, "../a/tool");
    assert_int_equal(chdir(cwd), 0);

    assert_int_equal(runcheck_find(out, sizeof out, "no-such-tool", path_env), -1);
    assert_string_equal(out, "");
    assert_int_equal(runcheck_find(out, sizeof out, "/nonexistent/tool", path_env), -1);
    assert_int_equal(runcheck_find(out, sizeof out, "", path_env), -1);
    /* PATH unset: execvp's default, /bin:/usr/bin. */
    assert_int_equal(runcheck_find(out, sizeof out, "sh", NULL), 0);
    assert_string_equal(out, "/bin/sh");
    /* Not found: nothing to say, and no warning. */
    struct runcheck *rc = inspect("no-such-tool", path_env);
    char warning[2048];
    assert_string_equal(rc->file, "");
    assert_int_equal(rc->loader, RUNCHECK_UNKNOWN);
    assert_int_equal(runcheck_warning(warning, sizeof warning, rc, "no-such-tool"), 0);
}

static void test_inspect_real_programs(void **state)
{
    struct runcheck *rc;
    char warning[4096];
    (void)state;

    rc = inspect(built.dynamic, NULL);
    assert_int_equal(rc->loader, RUNCHECK_DYNAMIC);
    assert_string_equal(rc->file, built.dynamic);
    assert_string_equal(rc->runs, built.dynamic);
    assert_int_equal(rc->scripts, 0);
    assert_int_equal(rc->secure, 0);
    assert_int_equal(rc->elf_class, sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32);
    assert_true(rc->interp[0] == '/' && strstr(rc->interp, "ld-"));
    assert_false(runcheck_wants_musl(rc));
    assert_int_equal(runcheck_warning(warning, sizeof warning, rc, built.dynamic), 0);
    assert_string_equal(warning, "");

    /* Found along PATH, as execvp finds it. */
    rc = inspect("hello-dynamic", built.dir);
    assert_string_equal(rc->file, built.dynamic);
    assert_int_equal(rc->loader, RUNCHECK_DYNAMIC);

    /* An object file is ELF, but not something the kernel executes. */
    if (built.object[0])
        assert_int_equal(inspect(built.object, NULL)->loader, RUNCHECK_UNKNOWN);

    need(built.statik, "a static program (gcc -static or musl-gcc -static)");
    rc = inspect(built.statik, NULL);
    assert_int_equal(rc->loader, RUNCHECK_STATIC);
    assert_string_equal(rc->interp, "");
    assert_int_equal(rc->secure, 0);
    assert_true(runcheck_warning(warning, sizeof warning, rc, built.statik) > 0);
    assert_non_null(strstr(warning, "statically linked"));

    if (built.static_pie[0]) /* ET_DYN, like a shared library, but no loader either */
        assert_int_equal(inspect(built.static_pie, NULL)->loader, RUNCHECK_STATIC);

    need(built.musl, "a musl program (musl-gcc)");
    rc = inspect(built.musl, NULL);
    assert_int_equal(rc->loader, RUNCHECK_DYNAMIC);
    assert_non_null(strstr(rc->interp, "ld-musl-"));
    assert_true(runcheck_wants_musl(rc));
    assert_int_equal(runcheck_warning(warning, sizeof warning, rc, built.musl), 0);
}

static void test_inspect_scripts(void **state)
{
    struct fixture *f = *state;
    char path[128], other[128], text[512];
    struct runcheck *rc;

    need(built.statik, "a static program");
    /* A script is judged by its interpreter. */
    snprintf(path, sizeof path, "%s/one.sh", f->dir);
    snprintf(text, sizeof text, "#!%s\necho hi\n", built.statik);
    write_text(path, text, 0755);
    rc = inspect(path, NULL);
    assert_int_equal(rc->loader, RUNCHECK_STATIC);
    assert_int_equal(rc->scripts, 1);
    assert_string_equal(rc->file, path);
    assert_string_equal(rc->runs, built.statik);

    /* Blanks around the interpreter, and its one argument, as the kernel splits them. */
    snprintf(text, sizeof text, "#! \t%s  -x -y \t\nexit 0\n", built.dynamic);
    write_text(path, text, 0755);
    rc = inspect(path, NULL);
    assert_int_equal(rc->loader, RUNCHECK_DYNAMIC);
    assert_string_equal(rc->runs, built.dynamic);

    /* A script run by a script run by a static program. */
    snprintf(text, sizeof text, "#!%s\n", built.statik);
    write_text(path, text, 0755);
    snprintf(other, sizeof other, "%s/two.sh", f->dir);
    snprintf(text, sizeof text, "#!%s arg\n", path);
    write_text(other, text, 0755);
    rc = inspect(other, NULL);
    assert_int_equal(rc->scripts, 2);
    assert_string_equal(rc->runs, built.statik);
    assert_int_equal(rc->loader, RUNCHECK_STATIC);

    /* #!/usr/bin/env NAME runs NAME from PATH; -S splits, VAR=VALUE is skipped. */
    write_text(path, "#!/usr/bin/env hello-static\n", 0755);
    rc = inspect(path, built.dir);
    assert_string_equal(rc->runs, built.statik);
    assert_int_equal(rc->loader, RUNCHECK_STATIC);
    write_text(path, "#!/usr/bin/env -S A=1 B=2 hello-static --flag\n", 0755);
    assert_string_equal(inspect(path, built.dir)->runs, built.statik);
    /* Other options of env, or a NAME not found: env itself is what we know. */
    write_text(path, "#!/usr/bin/env -i hello-static\n", 0755);
    assert_string_equal(inspect(path, built.dir)->runs, "/usr/bin/env");
    write_text(path, "#!/usr/bin/env no-such-interpreter\n", 0755);
    rc = inspect(path, built.dir);
    assert_string_equal(rc->runs, "/usr/bin/env");
    assert_int_equal(rc->loader, RUNCHECK_DYNAMIC);

    /* Two scripts naming each other: the kernel gives up (ELOOP), so do we. */
    snprintf(text, sizeof text, "#!%s\n", other);
    write_text(path, text, 0755);
    snprintf(text, sizeof text, "#!%s\n", path);
    write_text(other, text, 0755);
    assert_int_equal(inspect(path, NULL)->loader, RUNCHECK_UNKNOWN);

    /* No interpreter, a missing one, or no #! at all (binfmt_misc or
     * execvp's /bin/sh fallback decide): nothing to say. */
    write_text(path, "#!\n", 0755);
    rc = inspect(path, NULL);
    assert_int_equal(rc->loader, RUNCHECK_UNKNOWN);
    assert_int_equal(rc->scripts, 0);
    write_text(path, "#!/nonexistent/interpreter\n", 0755);
    assert_int_equal(inspect(path, NULL)->loader, RUNCHECK_UNKNOWN);
    write_text(path, "echo no shebang\n", 0755);
    rc = inspect(path, NULL);
    assert_int_equal(rc->loader, RUNCHECK_UNKNOWN);
    assert_string_equal(rc->runs, path);
    write_text(path, "", 0755);
    assert_int_equal(inspect(path, NULL)->loader, RUNCHECK_UNKNOWN);
}

/* ---- ELF files made by hand --------------------------------------------- */

struct elf_spec {
    int cls, data;
    uint16_t type, machine, phentsize;
    int phnum;           /* real count */
    bool xnum;           /* e_phnum = PN_XNUM, the count in section header 0 */
    bool interp;         /* a PT_INTERP among the headers */
    const char *path;    /* the loader's path written at offset 512 */
    uint64_t path_size;  /* p_filesz of PT_INTERP */
    uint64_t path_at;    /* p_offset of PT_INTERP */
    size_t file_size;    /* bytes written (truncation) */
};

static uint16_t native_machine(void)
{
    Elf64_Ehdr h;
    int fd = open(built.dynamic, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, &h, sizeof h), (ssize_t)sizeof h);
    close(fd);
    return h.e_machine;
}

static struct elf_spec elf_spec(void)
{
    return (struct elf_spec){.cls = ELFCLASS64, .data = ELFDATA2LSB, .type = ET_DYN,
                             .machine = native_machine(), .phentsize = sizeof(Elf64_Phdr),
                             .phnum = 2, .interp = true, .path = "/lib/ld-hand-made.so.1",
                             .path_size = 23, .path_at = 512, .file_size = 1024};
}

/* Layout: ELF header at 0, section header 0 at 64, program headers at 256
 * (a PT_LOAD, then PT_INTERP if wanted), the loader's path at 512. */
static void write_elf(const char *file, const struct elf_spec *s)
{
    unsigned char buf[1024] = {0};
    assert_true(s->file_size <= sizeof buf);
    memcpy(buf, ELFMAG, SELFMAG);
    buf[EI_CLASS] = (unsigned char)s->cls;
    buf[EI_DATA] = (unsigned char)s->data;
    buf[EI_VERSION] = EV_CURRENT;
    if (s->cls == ELFCLASS64) {
        Elf64_Ehdr *h = (Elf64_Ehdr *)buf;
        Elf64_Shdr *sh = (Elf64_Shdr *)(buf + 64);
        Elf64_Phdr *ph = (Elf64_Phdr *)(buf + 256);
        h->e_type = s->type;
        h->e_machine = s->machine;
        h->e_version = EV_CURRENT;
        h->e_phoff = 256;
        h->e_shoff = 64;
        h->e_ehsize = sizeof *h;
        h->e_phentsize = s->phentsize;
        h->e_phnum = s->xnum ? PN_XNUM : (uint16_t)s->phnum;
        sh->sh_info = (uint32_t)s->phnum;
        ph[0].p_type = PT_LOAD;
        if (s->interp) {
            ph[1].p_type = PT_INTERP;
            ph[1].p_offset = s->path_at;
            ph[1].p_filesz = s->path_size;
        }
    } else {
        Elf32_Ehdr *h = (Elf32_Ehdr *)buf;
        Elf32_Phdr *ph = (Elf32_Phdr *)(buf + 256);
        h->e_type = s->type;
        h->e_machine = s->machine;
        h->e_version = EV_CURRENT;
        h->e_phoff = 256;
        h->e_ehsize = sizeof *h;
        h->e_phentsize = s->phentsize;
        h->e_phnum = (uint16_t)s->phnum;
        ph[0].p_type = PT_LOAD;
        if (s->interp) {
            ph[1].p_type = PT_INTERP;
            ph[1].p_offset = (uint32_t)s->path_at;
            ph[1].p_filesz = (uint32_t)s->path_size;
        }
    }
    memcpy(buf + 512, s->path, strlen(s->path) + 1);
    write_file(file, buf, s->file_size, 0755);
}

static struct runcheck *inspect_elf(const char *dir, const struct elf_spec *s)
{
    static char file[128];
    snprintf(file, sizeof file, "%s/hand-made", dir);
    write_elf(file, s);
    return inspect(file, NULL);
}

static void test_inspect_hand_made_elf(void **state)
{
    struct fixture *f = *state;
    struct elf_spec s = elf_spec();
    struct runcheck *rc;
    char warning[4096];

    rc = inspect_elf(f->dir, &s);
    assert_int_equal(rc->loader, RUNCHECK_DYNAMIC);
    assert_string_equal(rc->interp, "/lib/ld-hand-made.so.1");
    s.interp = false;
    s.phnum = 1;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_STATIC);
    s.type = ET_EXEC;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_STATIC);

    /* More program headers than e_phnum can say: the count is in section 0. */
    s = elf_spec();
    s.xnum = true;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_DYNAMIC);

    /* What the kernel refuses, we do not judge. */
    s = elf_spec();
    s.type = ET_REL;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.type = ET_CORE;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.phentsize = 40;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.phnum = 0;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.path_size = 10; /* the path without its NUL */
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.path_size = 1;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.path_size = PATH_MAX + 1;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.path_at = 4096; /* past the end of the file */
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.path_at = UINT64_MAX - 8;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.file_size = 300; /* the headers cut short */
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.file_size = 20;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.file_size = 4; /* the magic alone */
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.data = 0;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
    s = elf_spec();
    s.cls = 7;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);

    /* Another machine, word size or byte order than ulog (and libulog.so). */
    s = elf_spec();
    s.machine = s.machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    rc = inspect_elf(f->dir, &s);
    assert_int_equal(rc->loader, RUNCHECK_FOREIGN);
    assert_true(runcheck_warning(warning, sizeof warning, rc, "prog") > 0);
    assert_non_null(strstr(warning, "another machine or word size"));
    assert_non_null(strstr(warning, "its loader may print"));
    s = elf_spec();
    s.data = ELFDATA2MSB;
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_FOREIGN);

    s = elf_spec();
    s.cls = ELFCLASS32;
    s.phentsize = sizeof(Elf32_Phdr);
    s.machine = EM_386;
    rc = inspect_elf(f->dir, &s);
    assert_int_equal(rc->elf_class, ELFCLASS32);
    assert_string_equal(rc->interp, "/lib/ld-hand-made.so.1");
    if (sizeof(void *) == 8) {
        assert_int_equal(rc->loader, RUNCHECK_FOREIGN);
        assert_true(runcheck_warning(warning, sizeof warning, rc, "prog") > 0);
        assert_non_null(strstr(warning, "(32-bit)"));
    }
    s.interp = false;
    s.phnum = 1;
    rc = inspect_elf(f->dir, &s);
    assert_int_equal(rc->interp[0], '\0');
    s.phentsize = sizeof(Elf64_Phdr);
    assert_int_equal(inspect_elf(f->dir, &s)->loader, RUNCHECK_UNKNOWN);
}

/* ---- set-ID ------------------------------------------------------------- */

static void make_copy(char *out, size_t size, const char *dir, const char *name,
                      const char *from, uid_t uid, gid_t gid, mode_t mode)
{
    snprintf(out, size, "%s/%s", dir, name);
    copy_file(from, out, 0755);
    assert_int_equal(chown(out, uid, gid), 0);
    assert_int_equal(chmod(out, mode), 0); /* after chown, which clears the bits */
}

/* runcheck's secure bits for `file`, as seen by a child that became
 * nobody (or asked for no new privileges). */
static unsigned secure_in_child(const char *file, bool as_nobody, bool no_new_privs)
{
    int status;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            _exit(100);
        if (as_nobody && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(101);
        struct runcheck *rc = inspect(file, NULL);
        _exit(rc->loader == RUNCHECK_DYNAMIC ? (int)rc->secure : 102);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_true(WEXITSTATUS(status) < 100);
    return (unsigned)WEXITSTATUS(status);
}

static void test_inspect_set_id(void **state)
{
    struct fixture *f = *state;
    char other[128], mine[128], group[128], both[128], locking[128], caps[128], script[128];
    char text[256], warning[4096];
    struct runcheck *rc;

    need_root();
    assert_int_equal(chmod(f->dir, 0755), 0);
    make_copy(other, sizeof other, f->dir, "suid-nobody", built.dynamic, 65534, 0, 04755);
    make_copy(mine, sizeof mine, f->dir, "suid-root", built.dynamic, 0, 0, 04755);
    make_copy(group, sizeof group, f->dir, "sgid-nogroup", built.dynamic, 0, 65534, 02755);
    make_copy(both, sizeof both, f->dir, "both", built.dynamic, 65534, 65534, 06755);
    make_copy(locking, sizeof locking, f->dir, "locking", built.dynamic, 0, 65534, 02745);

    /* Set-ID to someone else: the loader runs in secure mode. */
    rc = inspect(other, NULL);
    assert_int_equal(rc->loader, RUNCHECK_DYNAMIC);
    assert_int_equal(rc->secure, RUNCHECK_SETUID);
    assert_true(runcheck_warning(warning, sizeof warning, rc, "suid-nobody") > 0);
    assert_non_null(strstr(warning, "set-user-ID (it runs as uid 65534)"));
    assert_non_null(strstr(warning, "ignores LD_PRELOAD"));
    assert_non_null(strstr(warning, "chmod u-s"));
    assert_int_equal(inspect(group, NULL)->secure, RUNCHECK_SETGID);
    rc = inspect(both, NULL);
    assert_int_equal(rc->secure, RUNCHECK_SETUID | RUNCHECK_SETGID);
    runcheck_warning(warning, sizeof warning, rc, "both");
    assert_non_null(strstr(warning, "set-user-ID (it runs as uid 65534) and set-group-ID"));
    assert_non_null(strstr(warning, "chmod ug-s"));

    /* Root running a set-user-ID-root program stays root: the shim loads. */
    rc = inspect(mine, NULL);
    assert_int_equal(rc->secure, 0);
    assert_int_equal(runcheck_warning(warning, sizeof warning, rc, "suid-root"), 0);
    /* Set-group-ID without group execute marks mandatory locking, not set-ID. */
    assert_int_equal(inspect(locking, NULL)->secure, 0);
    /* The kernel ignores a script's own set-ID bits: its interpreter counts. */
    snprintf(script, sizeof script, "%s/suid-script", f->dir);
    snprintf(text, sizeof text, "#!%s\n", built.dynamic);
    write_text(script, text, 0755);
    assert_int_equal(chown(script, 65534, 65534), 0);
    assert_int_equal(chmod(script, 06755), 0);
    assert_int_equal(inspect(script, NULL)->secure, 0);
    snprintf(text, sizeof text, "#!%s\n", other);
    write_text(script, text, 0755);
    rc = inspect(script, NULL);
    assert_int_equal(rc->secure, RUNCHECK_SETUID);
    assert_string_equal(rc->runs, other);

    /* As another user, the root-owned one is the secure one. */
    assert_int_equal(secure_in_child(mine, true, false), RUNCHECK_SETUID);
    assert_int_equal(secure_in_child(built.dynamic, true, false), 0);
    /* No new privileges: the kernel grants none, nothing changes. */
    assert_int_equal(secure_in_child(other, false, true), 0);

    /* File capabilities make a user other than root secure; root is not. */
    make_copy(caps, sizeof caps, f->dir, "caps", built.dynamic, 0, 0, 0755);
    static const uint32_t cap_net_raw[5] = {VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE,
                                           1u << 13, 0, 0, 0};
    if (setxattr(caps, "security.capability", cap_net_raw, sizeof cap_net_raw, 0) != 0) {
        fprintf(stderr, "# file capabilities not tested: setxattr: %s\n", strerror(errno));
    } else {
        assert_int_equal(inspect(caps, NULL)->secure, 0);
        assert_int_equal(secure_in_child(caps, true, false), RUNCHECK_FILECAPS);
    }

    /* Static and set-ID: nothing loads at all, and that is what it says. */
    if (built.statik[0]) {
        char statik[128];
        make_copy(statik, sizeof statik, f->dir, "static-suid", built.statik, 65534, 0, 04755);
        rc = inspect(statik, NULL);
        assert_int_equal(rc->loader, RUNCHECK_STATIC);
        assert_int_equal(rc->secure, RUNCHECK_SETUID);
        runcheck_warning(warning, sizeof warning, rc, "static-suid");
        assert_non_null(strstr(warning, "statically linked"));
        assert_null(strstr(warning, "chmod"));
        assert_int_equal(count(warning, "warning:"), 1);
    }
}

static void test_warning_text(void **state)
{
    char warning[4096], small[16];
    struct runcheck *rc;
    size_t len;
    (void)state;

    need(built.statik, "a static program");
    rc = inspect(built.statik, NULL);
    len = runcheck_warning(warning, sizeof warning, rc, "hello-static");
    assert_int_equal(len, strlen(warning));
    /* Once, two lines, each naming ulog run: what is lost, what to do. */
    assert_int_equal(count(warning, "ulog run: warning: "), 1);
    assert_int_equal(count(warning, "\n"), 2);
    assert_int_equal(strncmp(warning, "ulog run: warning: ", 19), 0);
    assert_non_null(strstr(warning, built.statik));
    assert_non_null(strstr(warning, "nothing it writes will reach all.log"));
    assert_non_null(strstr(warning, "Go programs"));
    assert_non_null(strstr(warning, "\nulog run: to capture it, relay its output"));
    assert_non_null(strstr(warning, "ulog run -- bash -c 'exec \"$0\" \"$@\" > >(exec cat)"
                                    " 2> >(exec cat >&2)' hello-static [ARG]..."));
    assert_non_null(strstr(warning, "eBPF"));
    assert_non_null(strstr(warning, "-q silences this warning.\n"));
    /* A name that cannot go between single quotes as it is is not shown there. */
    len = runcheck_warning(warning, sizeof warning, rc, "it's");
    assert_non_null(strstr(warning, "2> >(exec cat >&2)' COMMAND [ARG]..."));
    assert_null(strstr(warning, "it's"));
    /* Cut to the buffer, NUL-terminated, and the full length still told. */
    assert_int_equal(runcheck_warning(small, sizeof small, rc, "it's"), len);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(strncmp(small, warning, sizeof small - 1), 0);
    assert_int_equal(runcheck_warning(NULL, 0, rc, "it's"), len);
}

/* ---- the warning, for real, from cmd_run ----------------------------------- */

static void test_run_warns_on_its_own_stderr(void **state)
{
    struct fixture *f = *state;
    struct child c;
    char shim[PATH_MAX], expected[PATH_MAX + 64], other[128], mine[128];
    char *plain[] = {"ulog run", built.statik, NULL};
    char *quiet[] = {"ulog run", "-q", built.statik, NULL};
    char *quiet_long[] = {"ulog run", "--quiet", "--", built.statik, NULL};
    char *dynamic[] = {"ulog run", built.dynamic, NULL};
    char *along_path[] = {"ulog run", "hello-static", NULL};
    char *suid_other[] = {"ulog run", other, NULL};
    char *suid_mine[] = {"ulog run", mine, NULL};
    char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

    need(built.statik, "a static program");
    point_at_a_library(f, shim, sizeof shim);
    snprintf(expected, sizeof expected, "hello, LD_PRELOAD=%s\n", shim);

    /* Static: the program runs as ever, its stdout untouched; the warning
     * comes once, first, on ulog run's stderr. */
    run_child(&c, plain);
    assert_int_equal(exit_code(&c), 7);
    assert_string_equal(c.out, expected);
    assert_int_equal(count(c.err, "ulog run: warning: "), 1);
    assert_int_equal(strncmp(c.err, "ulog run: warning: ", 19), 0);
    assert_non_null(strstr(c.err, "statically linked"));
    assert_int_equal(strcmp(c.err + strlen(c.err) - 10, "to stderr\n"), 0);
    /* -q, --quiet: not a word. */
    run_child(&c, quiet);
    assert_int_equal(exit_code(&c), 7);
    assert_string_equal(c.err, "to stderr\n");
    run_child(&c, quiet_long);
    assert_string_equal(c.err, "to stderr\n");
    assert_string_equal(c.out, expected);
    /* A program the shim loads into: nothing to say. */
    run_child(&c, dynamic);
    assert_int_equal(exit_code(&c), 7);
    assert_string_equal(c.err, "to stderr\n");
    assert_string_equal(c.out, expected);
    /* Found along PATH, as execvp finds it. */
    setenv("PATH", built.dir, 1);
    run_child(&c, along_path);
    if (old_path)
        setenv("PATH", old_path, 1);
    else
        unsetenv("PATH");
    free(old_path);
    assert_int_equal(exit_code(&c), 7);
    assert_non_null(strstr(c.err, "statically linked"));

    if (geteuid() == 0) {
        assert_int_equal(chmod(f->dir, 0755), 0);
        make_copy(other, sizeof other, f->dir, "suid-nobody", built.dynamic, 65534, 0, 04755);
        make_copy(mine, sizeof mine, f->dir, "suid-root", built.dynamic, 0, 0, 04755);
        /* The warning is true: the loader dropped LD_PRELOAD. */
        run_child(&c, suid_other);
        assert_int_equal(exit_code(&c), 7);
        assert_string_equal(c.out, "hello, LD_PRELOAD=(unset)\n");
        assert_int_equal(count(c.err, "ulog run: warning: "), 1);
        assert_non_null(strstr(c.err, "set-user-ID"));
        /* And silence is true too: root stays root, and keeps the shim. */
        run_child(&c, suid_mine);
        assert_int_equal(exit_code(&c), 7);
        assert_string_equal(c.out, expected);
        assert_string_equal(c.err, "to stderr\n");
    }
    unsetenv("ULOG_PRELOAD_LIB");
}

static void test_run_picks_the_shim_flavour(void **state)
{
    struct fixture *f = *state;
    struct child c;
    char glibc_shim[128], musl_shim[128], resolved[PATH_MAX], expected[PATH_MAX + 64];
    char *musl[] = {"ulog run", built.musl, NULL};
    char *musl_quiet[] = {"ulog run", "-q", built.musl, NULL};
    char *glibc[] = {"ulog run", built.dynamic, NULL};

    need(built.musl, "a musl program");
    need(built.musl_so, "a musl shared object");
    need(built.glibc_so, "a glibc shared object");
    snprintf(glibc_shim, sizeof glibc_shim, "%s/libulog.so", f->dir);
    snprintf(musl_shim, sizeof musl_shim, "%s/libulog-musl.so", f->dir);
    copy_file(built.glibc_so, glibc_shim, 0755);
    copy_file(built.musl_so, musl_shim, 0755);

    /* musl's loader gets the musl shim from beside the glibc one ... */
    setenv("ULOG_PRELOAD_LIB", glibc_shim, 1);
    run_child(&c, musl);
    assert_int_equal(exit_code(&c), 7);
    assert_non_null(realpath(musl_shim, resolved));
    snprintf(expected, sizeof expected, "hello, LD_PRELOAD=%s\n", resolved);
    assert_string_equal(c.out, expected);
    assert_string_equal(c.err, "to stderr\n");
    /* ... and glibc's the glibc one, whichever was named. */
    setenv("ULOG_PRELOAD_LIB", musl_shim, 1);
    run_child(&c, glibc);
    assert_int_equal(exit_code(&c), 7);
    assert_non_null(realpath(glibc_shim, resolved));
    snprintf(expected, sizeof expected, "hello, LD_PRELOAD=%s\n", resolved);
    assert_string_equal(c.out, expected);

    /* No musl shim at all: the program still starts, without a shim, and
     * other preloaded libraries stay; ulog run says what that means. */
    assert_int_equal(unlink(musl_shim), 0);
    setenv("ULOG_PRELOAD_LIB", glibc_shim, 1);
    setenv("LD_PRELOAD", built.musl_so, 1);
    run_child(&c, musl);
    unsetenv("LD_PRELOAD");
    assert_int_equal(exit_code(&c), 7);
    snprintf(expected, sizeof expected, "hello, LD_PRELOAD=%s\n", built.musl_so);
    assert_string_equal(c.out, expected);
    assert_int_equal(count(c.err, "ulog run: warning: "), 1);
    assert_non_null(strstr(c.err, "is linked against musl"));
    assert_non_null(strstr(c.err, "runs without the shim"));
    run_child(&c, musl_quiet);
    assert_string_equal(c.out, "hello, LD_PRELOAD=(unset)\n");
    assert_string_equal(c.err, "to stderr\n");
    unsetenv("ULOG_PRELOAD_LIB");
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
        cmocka_unit_test_setup_teardown(test_find_like_execvp, make_dir, remove_dir),
        cmocka_unit_test(test_inspect_real_programs),
        cmocka_unit_test_setup_teardown(test_inspect_scripts, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_inspect_hand_made_elf, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_inspect_set_id, make_dir, remove_dir),
        cmocka_unit_test(test_warning_text),
        cmocka_unit_test_setup_teardown(test_run_warns_on_its_own_stderr, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_run_picks_the_shim_flavour, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, build_programs, remove_programs);
}
