#!/usr/bin/env python3
"""base_image.py - the offline stand-in for debian:bookworm-slim.

    DOCKER_HOST=unix:///path python3 tests/docker/base_image.py [--force]

No image registry can be reached from the machines this project is tested
on, yet its Dockerfiles must stay exactly what users write (`FROM
debian:bookworm-slim`, `apt-get update && apt-get install ...`). So the
image they name is made here: debootstrap (--variant=minbase) builds
Debian 12 from the machine's own apt mirror, with every package that any of
the project's Dockerfiles installs already in it, and `docker import`
tags it debian:bookworm-slim with the label LABEL_KEY, so that nobody takes
it for Debian's image.

Why the Dockerfiles then build offline: the image's apt sources are empty,
so `apt-get update` has nothing to fetch and succeeds, and `apt-get install
-y --no-install-recommends P...` finds each P installed already ("P is
already the newest version") and installs nothing. PACKAGES_FROM lists the
Dockerfiles; the package names are read from their `apt-get install`
commands and recorded in the image (label PACKAGES_LABEL), so a package
added there makes the image again at the next run.

The mirror is read from /etc/apt/sources.list.d/*.sources or
/etc/apt/sources.list at run time: no host name is written in the
repository. When an image with the label exists already and holds every
package the Dockerfiles name, nothing is done (--force makes it anyway).
Prints how long each step took. Python 3 standard library only; needs root
and debootstrap.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKER = "/usr/bin/docker"
TAG = "debian:bookworm-slim"
SUITE = "bookworm"
LABEL_KEY = "org.ulog.offline-base"
PACKAGES_LABEL = "org.ulog.offline-base.packages"
LABEL_TEXT = ("ulog's offline stand-in for debian:bookworm-slim: debootstrap minbase "
              "with the packages of ulog's Dockerfiles, empty apt sources "
              "(tests/docker/base_image.py)")
PACKAGES_FROM = ["Dockerfile", "compose/*/Dockerfile"]


class BaseImageError(Exception):
    pass


def dockerfile_packages(root=ROOT):
    """Every package named by an `apt-get install` in the project's Dockerfiles."""
    packages = set()
    for pattern in PACKAGES_FROM:
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            with open(path, encoding="utf-8") as f:
                text = re.sub(r"\\\n", " ", f.read())     # join continued lines
            for line in text.splitlines():
                if not line.lstrip().upper().startswith("RUN "):
                    continue
                for command in re.split(r"&&|;|\|\|?", line):
                    words = command.split()
                    at = next((i for i in range(len(words) - 1)
                               if words[i:i + 2] == ["apt-get", "install"]), None)
                    if at is not None:
                        packages.update(w for w in words[at + 2:] if not w.startswith("-"))
    return sorted(packages)


def apt_mirror():
    """The URI of the machine's apt source for SUITE's main component."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path, encoding="utf-8") as f:
            stanzas = re.split(r"\n\s*\n", f.read())
        for stanza in stanzas:
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.split()
            if ("deb" in fields.get("types", []) and SUITE in fields.get("suites", [])
                    and fields.get("uris")):
                return fields["uris"][0]
    lists = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in lists:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                return words[1]
    raise BaseImageError(f"no apt source for {SUITE} in /etc/apt/sources.list(.d)")


def existing_image(env):
    """(id, the packages it was made with) of the labelled image, or (None, set())."""
    def docker(*args):
        out = subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env,
                             timeout=60)
        if out.returncode != 0:
            raise BaseImageError(f"docker {args[0]} failed: {out.stderr.strip()[-300:]}")
        return out.stdout.strip()

    image = docker("images", "-q", "--filter", f"label={LABEL_KEY}", TAG).split()
    if not image:
        return None, set()
    packages = docker("inspect", "--format", f'{{{{index .Config.Labels "{PACKAGES_LABEL}"}}}}',
                      image[0])
    return image[0], set(packages.split(","))


def run(argv, what, **kwargs):
    proc = subprocess.run(argv, capture_output=True, **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or b"").decode(errors="replace").strip()[-1500:]
        raise BaseImageError(f"{what} failed (exit status {proc.returncode}):\n{tail}")
    return proc


def make_rootfs(target, packages, mirror, cache):
    os.makedirs(cache, exist_ok=True)
    run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
         f"--cache-dir={cache}", SUITE, target, mirror], "debootstrap", timeout=1800)
    # Offline on purpose: apt-get update finds nothing to fetch, apt-get
    # install finds the packages installed. Nothing of the host stays either.
    for path in glob.glob(os.path.join(target, "etc/apt/sources.list.d/*")):
        os.remove(path)
    with open(os.path.join(target, "etc/apt/sources.list"), "w", encoding="ascii") as f:
        f.write("# ulog's offline stand-in for debian:bookworm-slim: no sources\n"
                "# (tests/docker/base_image.py); the packages are installed already.\n")
    for pattern in ("var/lib/apt/lists/*", "var/cache/apt/archives/*.deb",
                    "var/cache/apt/*.bin", "var/log/*.log", "var/log/apt/*", "etc/hostname",
                    "etc/resolv.conf"):
        for path in glob.glob(os.path.join(target, pattern)):
            if os.path.isfile(path) or os.path.islink(path):
                os.remove(path)


def import_rootfs(target, env, packages):
    changes = [f'LABEL {LABEL_KEY}="{LABEL_TEXT}"',
               f'LABEL {PACKAGES_LABEL}="{",".join(packages)}"',
               "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               'CMD ["bash"]']
    argv = [DOCKER, "import"]
    for change in changes:
        argv += ["--change", change]
    tar = subprocess.Popen(["tar", "--numeric-owner", "-C", target, "-c", "."],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run(argv + ["-", TAG], "docker import", stdin=tar.stdout, env=env, timeout=900)
    finally:
        tar.stdout.close()
        tar.wait()
    if tar.returncode != 0:
        raise BaseImageError(f"tar failed: {tar.stderr.read().decode(errors='replace')[-300:]}")


def verify_offline(env, packages):
    """What the Dockerfiles do, done once: it must succeed and install nothing."""
    script = ("set -e; apt-get update; "
              f"apt-get install -y --no-install-recommends {' '.join(packages)} "
              ">/tmp/install.out 2>&1 || { cat /tmp/install.out; exit 1; }; "
              "cat /tmp/install.out; "
              "! grep -E '^(Get:|[0-9]+ upgraded, [1-9]|The following NEW)' /tmp/install.out")
    run([DOCKER, "run", "--rm", "--network", "none", TAG, "sh", "-c", script],
        "apt-get in the base image (offline)", env=env, timeout=300)


def ensure(env=None, force=False, work_root=None, log=print):
    """Make the base image unless one with the label exists. Returns
    (image id, {step: seconds}) and raises BaseImageError on failure."""
    env = env if env is not None else dict(os.environ)
    timings = {}
    packages = dockerfile_packages()
    existing, has = existing_image(env)
    lacking = sorted(set(packages) - has)
    if existing and not force and not lacking:
        log(f"base image: {TAG} ({existing}) exists with label {LABEL_KEY}: kept")
        return existing, timings
    if existing and lacking:
        log(f"base image: {TAG} ({existing}) lacks {', '.join(lacking)}: made again")
    if os.geteuid() != 0:
        raise BaseImageError("debootstrap needs root")
    if not shutil.which("debootstrap"):
        raise BaseImageError("debootstrap is not installed (make deps-test installs it)")
    mirror = apt_mirror()
    log(f"base image: debootstrap {SUITE} minbase + {len(packages)} packages "
        f"({', '.join(packages)})")
    cache = os.path.join(ROOT, "build", "docker", "debootstrap-cache")
    work = tempfile.mkdtemp(prefix="ulog-base-", dir=work_root or "/var/tmp")
    try:
        started = time.monotonic()
        make_rootfs(os.path.join(work, "rootfs"), packages, mirror, cache)
        timings["debootstrap"] = time.monotonic() - started
        started = time.monotonic()
        import_rootfs(os.path.join(work, "rootfs"), env, packages)
        timings["import"] = time.monotonic() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    started = time.monotonic()
    verify_offline(env, packages)
    timings["verify"] = time.monotonic() - started
    log("base image: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
    image = existing_image(env)[0]
    if existing and existing != image:       # the old one, untagged now
        subprocess.run([DOCKER, "rmi", existing], capture_output=True, env=env, timeout=120)
    return image, timings


def main():
    try:
        image, _ = ensure(force="--force" in sys.argv[1:])
    except BaseImageError as e:
        print(f"base image: {e}", file=sys.stderr)
        return 1
    print(f"base image: {TAG} is {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
