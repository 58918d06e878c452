"""The lab's images, built from the folders under labenv/images without any registry.

Each image is built from its build context: its folder, and for the relayhost image also
the provider's package laid out as a minimal labenv/ tree (`context`). The tag holds a
hash of that context and the Debian suite, so an image is rebuilt only when its context
changed:

    tag = images.ensure("mailserver", "bookworm")   # 'labenv/mailserver:bookworm-1a2b3c4d5e6f'

The base image `debian:<suite>-slim` is taken, in order, from the local engine, a
`docker pull`, or a debootstrap (minbase) from a Debian mirror, imported under
that same tag.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from docker.errors import APIError, BuildError, DockerException, ImageNotFound

from . import engine
from .errors import LabError

PACKAGE = Path(__file__).parent
HERE = PACKAGE / "images"
IMAGES = ("mailserver", "relayhost", "router")
SUITES = ("bookworm", "trixie")
DEFAULT_SUITE = "bookworm"
MIRROR = os.environ.get("LABENV_DEBIAN_MIRROR", "http://deb.debian.org/debian")
LABEL = "labenv.image"
#: Files of the labenv package an image's context carries beside its folder, as globs under
#: labenv/; the packages above them get an empty __init__.py, so the tree imports nothing else.
PACKAGE_FILES = {"relayhost": ("provider/*.py", "sendmail/secrets.py", "wait.py", "errors.py")}


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted((p for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts),
                  key=lambda p: p.parts)


def context(name: str) -> dict[str, tuple[bytes, bool]]:
    """The image's build context: path in the context -> (bytes, executable)."""
    root = HERE / name
    files = {p.relative_to(root).as_posix(): (p.read_bytes(), os.access(p, os.X_OK))
             for p in _files(root, "**/*")}
    for pattern in PACKAGE_FILES.get(name, ()):
        for path in _files(PACKAGE, pattern):
            relative = path.relative_to(PACKAGE)
            for parent in reversed(relative.parents[:-1]):
                files.setdefault(f"labenv/{parent.as_posix()}/__init__.py", (b"", False))
            files.setdefault("labenv/__init__.py", (b"", False))
            files[f"labenv/{relative.as_posix()}"] = (path.read_bytes(), False)
    return dict(sorted(files.items(), key=lambda item: item[0].split("/")))


def context_tar(name: str) -> bytes:
    """The build context as an uncompressed tar, for `docker build` with a custom context."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for arcname, (data, executable) in context(name).items():
            info = tarfile.TarInfo(arcname)
            info.size, info.mode, info.mtime = len(data), 0o755 if executable else 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def folder_hash(name: str, suite: str) -> str:
    """A hash of the image's build context (names, modes, bytes) and the suite."""
    digest = hashlib.sha256(suite.encode())
    for arcname, (data, executable) in context(name).items():
        digest.update(arcname.encode())
        digest.update(b"x" if executable else b"-")
        digest.update(data)
    return digest.hexdigest()[:12]


def tag_for(name: str, suite: str) -> str:
    return f"labenv/{name}:{suite}-{folder_hash(name, suite)}"


def check_suite(suite: str) -> str:
    if suite not in SUITES:
        raise LabError(f"unknown Debian suite {suite!r}; choose one of {', '.join(SUITES)}")
    return suite


def _has_image(tag: str) -> bool:
    try:
        engine.connect().images.get(tag)
        return True
    except ImageNotFound:
        return False


def ensure_base(suite: str, say=print) -> str:
    """Make `debian:<suite>-slim` present: local, pulled, or bootstrapped and imported."""
    tag = f"debian:{check_suite(suite)}-slim"
    if _has_image(tag):
        return tag
    client = engine.connect()
    if os.environ.get("LABENV_NO_PULL") != "1":
        say(f"labenv: pulling {tag}")
        try:
            client.images.pull("debian", tag=f"{suite}-slim")
            return tag
        except (APIError, DockerException) as error:
            say(f"labenv: pull failed ({str(error).splitlines()[0][:100]}); bootstrapping instead")
    bootstrap_base(suite, tag, say)
    return tag


def bootstrap_base(suite: str, tag: str, say=print) -> None:
    """debootstrap --variant=minbase into a temporary folder and `docker import` it."""
    if not engine.find_program("debootstrap"):
        if os.geteuid() == 0 and Path("/etc/debian_version").exists():
            say("labenv: installing debootstrap")
            subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], capture_output=True,
                           env={**engine.system_env(), "DEBIAN_FRONTEND": "noninteractive"})
        if not engine.find_program("debootstrap"):
            raise LabError(f"image {tag} is missing and cannot be pulled; install debootstrap "
                           "(`sudo apt-get install debootstrap`) so labenv can build it from a Debian mirror")
    if os.geteuid() != 0:
        raise LabError(f"image {tag} is missing and cannot be pulled; bootstrapping it needs root "
                       "(run `sudo make lab` once)")
    with tempfile.TemporaryDirectory(prefix=f"labenv-{suite}-") as tmp:
        root = Path(tmp) / "rootfs"
        say(f"labenv: bootstrapping {tag} from {MIRROR} (debootstrap --variant=minbase {suite})")
        done = subprocess.run([engine.find_program("debootstrap"), "--variant=minbase", suite,
                               str(root), MIRROR],
                              capture_output=True, text=True, env=engine.system_env())
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
            raise LabError(f"debootstrap {suite} failed: {tail[0]}")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(root / junk, ignore_errors=True)
            (root / junk).mkdir(parents=True, exist_ok=True)
        say(f"labenv: importing {tag}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(["docker", "import", "--change", 'CMD ["bash"]', "-", tag],
                             stdin=tar.stdout, capture_output=True, text=True) \
            if shutil.which("docker") else None
        tar.wait()
        if imp is None:
            _import_with_api(root, tag)
        elif imp.returncode != 0:
            raise LabError(f"docker import of {tag} failed: {imp.stderr.strip()[:200]}")


def _import_with_api(root: Path, tag: str) -> None:
    """The same import through the engine API, where there is no docker CLI."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(root, arcname=".")
    repo, _, version = tag.partition(":")
    engine.connect().api.import_image_from_data(buf.getvalue(), repository=repo, tag=version,
                                                changes=['CMD ["bash"]'])


def ensure(name: str, suite: str = DEFAULT_SUITE, say=print) -> str:
    """The tag of an up-to-date image `name` for `suite`, building it if needed."""
    tag = tag_for(name, check_suite(suite))
    if _has_image(tag):
        return tag
    ensure_base(suite, say)
    say(f"labenv: building {tag}")
    client = engine.connect()
    try:
        stream = client.api.build(fileobj=io.BytesIO(context_tar(name)), custom_context=True, tag=tag,
                                  buildargs={"DEBIAN": suite},
                                  labels={LABEL: name, "labenv.suite": suite}, rm=True,
                                  forcerm=True, decode=True)
        for chunk in stream:
            if "error" in chunk:
                raise LabError(f"building {name} failed: {chunk['error'].strip()[:300]}")
            line = chunk.get("stream", "").rstrip()
            if line.startswith("Step "):
                say(f"labenv:   {name}: {line[:110]}")
    except (BuildError, APIError) as error:
        raise LabError(f"building {name} failed: {str(error)[:300]}") from None
    return tag


def ensure_all(suite: str = DEFAULT_SUITE, say=print) -> dict[str, str]:
    return {name: ensure(name, suite, say) for name in IMAGES}


def missing(suite: str = DEFAULT_SUITE) -> list[str]:
    """Names of the images that are absent or stale for `suite`."""
    return [name for name in IMAGES if not _has_image(tag_for(name, suite))]


def prune_stale(say=print) -> int:
    """Remove lab images whose tag no longer matches their context; returns how many."""
    client = engine.connect()
    current = {tag_for(n, s) for n in IMAGES for s in SUITES}
    removed = 0
    for image in client.images.list(filters={"label": LABEL}):
        stale = [t for t in image.tags if t not in current]
        if stale and len(stale) == len(image.tags):
            try:
                client.images.remove(image.id, force=True)
                removed += 1
            except APIError as error:
                say(f"labenv: could not remove {stale[0]}: {str(error)[:100]}")
    return removed
