"""pg_server.py - a real PostgreSQL server of one test's own.

A fresh cluster (initdb) in the test's directory, listening on a unix
socket there and nowhere else (no TCP port to collide with anything), run
as an unprivileged user when the tests run as root (PostgreSQL refuses to
run as root): `postgres`, which the Debian package creates, else `nobody`.
The server is a process of the test's own (ctx.track): whatever happens,
the harness kills it by its pid; PgServer.close() stops it politely first.

    with PgServer(ctx) as pg:
        ulogd = ctx.start_ulogd(env={"ULOG_POSTGRESQL": pg.conninfo})
        pg.stop(); pg.start()            # an outage
        rows = pg.query("SELECT ...")    # rows as Python values (json_agg)

Skips the test, saying why, where no PostgreSQL server is installed.
"""

import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess

from harness import Skip, wait_until

SUPERUSER = "postgres"  # the role initdb creates, whoever runs it
INSTALL_HINT = "apt-get install postgresql"


def _version_key(path):
    return [int(n) for n in re.findall(r"\d+", path)]


def server_bin_dir():
    """The newest directory holding initdb, postgres and psql, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    candidates += [p for p in (shutil.which("initdb"),) if p]
    for initdb in reversed(candidates):
        bindir = os.path.dirname(os.path.realpath(initdb))
        if all(os.access(os.path.join(bindir, n), os.X_OK) for n in ("postgres", "psql")):
            return bindir
    return None


def _run_as():
    """(user, group) names to run the server as; (None, None): as we are."""
    if os.geteuid() != 0:
        return None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return name, grp.getgrgid(entry.pw_gid).gr_name
    raise Skip("running as root and neither the postgres nor the nobody user exists "
               "(PostgreSQL will not run as root)")


class PgServer:
    def __init__(self, ctx, name="pg"):
        self.bindir = server_bin_dir()
        if not self.bindir:
            raise Skip(f"no PostgreSQL server is installed (/usr/lib/postgresql/*/bin/initdb; "
                       f"{INSTALL_HINT})")
        self.ctx = ctx
        self.user, self.group = _run_as()
        self.dir = os.path.join(ctx.dir, name)  # the socket's directory too
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        os.makedirs(self.dir)
        if self.user:
            # The server's user must reach its directory inside the test's (mode 0700).
            os.chmod(ctx.dir, 0o711)
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._as_server_user([os.path.join(self.bindir, "initdb"), "-D", self.data,
                              "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale",
                              "--no-sync"], timeout=120)
        self.start()

    @property
    def conninfo(self):
        return f"host={self.dir} dbname=postgres user={SUPERUSER}"

    def _env(self):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                "HOME": self.dir}

    def _user_args(self):
        return {"user": self.user, "group": self.group, "extra_groups": []} if self.user else {}

    def _as_server_user(self, argv, timeout):
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              env=self._env(), cwd=self.dir, timeout=timeout,
                              **self._user_args())
        if proc.returncode != 0:
            raise AssertionError(f"{os.path.basename(argv[0])} failed ({proc.returncode}): "
                                 f"{proc.stderr.decode(errors='replace')[-1500:]}")

    # --- the server process --------------------------------------------------
    def start(self, timeout=30):
        """Start the server (again) and wait until it accepts connections."""
        assert not self.running(), "the server is already running"
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [os.path.join(self.bindir, "postgres"), "-D", self.data,
                 "-c", "listen_addresses=", "-k", self.dir,
                 # A test's server: durability is not what is tested. (Not
                 # synchronous_commit=off: a test holds commits with it.)
                 "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "shared_buffers=16MB",
                 "-c", "max_connections=20"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self._env(),
                cwd=self.dir, start_new_session=True, **self._user_args())
        finally:
            log.close()
        self.ctx.track(self.proc)
        wait_until(self._ready, timeout, "PostgreSQL to accept connections")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"postgres exited with {self.proc.returncode}: "
                                 f"{self.log_tail()}")
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                lines = f.read().splitlines()
        except OSError:
            return False
        # Line 8 is the postmaster's state (PostgreSQL 10 and later).
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """Fast shutdown (SIGINT): clients are disconnected, open transactions
        rolled back. If it does not go in time (a session stuck where it
        cannot be told to go), an immediate shutdown (SIGQUIT), then SIGKILL,
        and the test fails."""
        if not self.running():
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if sig != signal.SIGINT:
            raise AssertionError(f"postgres did not stop within {timeout} s of SIGINT: "
                                 f"{self.log_tail(600)}")

    def close(self):
        self.stop()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        except AssertionError:
            if exc_type is None:  # else the test's own failure is the one to tell
                raise

    def log_tail(self, limit=1500):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    # --- queries ----------------------------------------------------------------
    def psql(self, sql, check=True):
        """Run `sql` with psql; (returncode, stdout, stderr) as text."""
        proc = subprocess.run(
            [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", self.dir, "-U", SUPERUSER, "-d", "postgres", "-c", sql],
            stdin=subprocess.DEVNULL, capture_output=True, env=self._env(), timeout=60)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        if check and proc.returncode != 0:
            raise AssertionError(f"psql failed ({proc.returncode}) on {sql[:200]!r}: {err}")
        return proc.returncode, out, err

    def query(self, sql):
        """The rows of a SELECT, as a list of dicts (through json_agg)."""
        _, out, _ = self.psql(f"SELECT coalesce(json_agg(q), '[]') FROM ({sql}) AS q")
        return json.loads(out)

    def scalar(self, sql):
        _, out, _ = self.psql(sql)
        return out.strip()

    def count(self, table="system_logs"):
        """Rows in `table`, 0 while it does not exist."""
        exists = self.scalar(f"SELECT to_regclass('{table}') IS NOT NULL")
        return int(self.scalar(f"SELECT count(*) FROM {table}")) if exists == "t" else 0

    def wait_count(self, expected, timeout=30, table="system_logs"):
        def check():
            return self.count(table) >= expected
        wait_until(check, timeout, f"{expected} rows in PostgreSQL's {table} "
                                   f"(has {self.count(table)})")
        return self.count(table)
