"""The lab's images, built from the folders under labenv/images without any registry.

Each image is built from its build context: its folder, and for the relayhost image also
the provider's package laid out as a minimal labenv/ tree (`context`). The tag holds a
hash of that context and the Debian suite, so an image is rebuilt only when its context
changed:

    tag = images.ensure("mailserver", "bookworm")   # 'labenv/mailserver:bookworm-1a2b3c4d5e6f'

The three lab images are built FROM one image of their own, `labenv/base:<suite>-<hash>`
(images/base: dpkg and apt told to keep no documentation and no caches, and the tools
two of them share), so all three share its layers; a lab image's hash covers the base's.
That one is built FROM `debian:<suite>-slim`, taken, in order, from the local engine, a
`docker pull`, or a debootstrap (minbase) from a Debian mirror, stripped of the same
files (`slim_rootfs`) and imported under that same tag.

Images reach another engine with `ship(tags, source, target)`: `docker save` on one,
`docker load` on the other, without the images and the layers the target has already.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from docker.errors import APIError, BuildError, DockerException, ImageNotFound

from . import engine
from .errors import LabError

PACKAGE = Path(__file__).parent
HERE = PACKAGE / "images"
IMAGES = ("mailserver", "relayhost", "router")
#: The image the three are built FROM (images/base); not a lab image of its own.
BASE = "base"
SUITES = ("bookworm", "trixie")
DEFAULT_SUITE = "bookworm"
MIRROR = os.environ.get("LABENV_DEBIAN_MIRROR", "http://deb.debian.org/debian")
LABEL = "labenv.image"
#: Label of a `debian:<suite>-slim` that labenv made: the recipe it was stripped with.
BASE_LABEL = "labenv.base"
#: What `slim_rootfs` removes besides dpkg-slim's paths: apt's and dpkg's caches, backups and
#: logs (images/base/lab-slim removes the same after every install in an image).
ROOTFS_JUNK = ("var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
               "var/log/apt/*", "var/log/dpkg.log", "var/log/alternatives.log",
               "var/log/bootstrap.log", "var/cache/debconf/*-old", "var/lib/dpkg/*-old")
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
    """A hash of the image's build context (names, modes, bytes) and the suite; a lab image's
    also covers the base image's (so it is rebuilt when the base changes), the base's the
    recipe of the bootstrapped `debian:<suite>-slim` under it."""
    digest = hashlib.sha256(suite.encode())
    digest.update((base_recipe() if name == BASE else folder_hash(BASE, suite)).encode())
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


def _has_image(tag: str, client=None) -> bool:
    try:
        (client or engine.connect()).images.get(tag)
        return True
    except ImageNotFound:
        return False


# -- the Debian base: as small as the lab allows ---------------------------------------------
def slim_rules() -> list[tuple[bool, str]]:
    """images/base/dpkg-slim as (keep, pattern) pairs, in order: dpkg's path-include/-exclude."""
    rules, path = [], HERE / BASE / "dpkg-slim"
    for line in (path.read_text() if path.exists() else "").splitlines():
        word, _, pattern = line.strip().partition(" ")
        if word in ("path-exclude", "path-include"):
            rules.append((word == "path-include", pattern.strip()))
    return rules


def base_recipe() -> str:
    """A hash of what `slim_rootfs` does: dpkg-slim's rules and the junk list."""
    digest = hashlib.sha256(json.dumps([slim_rules(), ROOTFS_JUNK]).encode())
    return digest.hexdigest()[:12]


def _kept(path: str, rules: list[tuple[bool, str]]) -> bool:
    """Whether dpkg would unpack `path` (absolute) under `rules`: the last matching rule
    decides, as in dpkg (fnmatch without FNM_PATHNAME: `*` matches `/` too)."""
    keep = True
    for include, pattern in rules:
        if fnmatch.fnmatchcase(path, pattern):
            keep = include
    return keep


def slim_rootfs(root: Path) -> int:
    """Remove from a Debian root file system what dpkg-slim keeps out of every package and
    the caches and logs in ROOTFS_JUNK; directories are removed once empty. dpkg's database
    is untouched, so `dpkg -L` and the count of installed files stay as they were.
    Returns the bytes freed."""
    rules = slim_rules()
    freed = 0

    def drop(path: Path) -> None:
        nonlocal freed
        if path.is_symlink() or not path.is_dir():
            freed += path.lstat().st_size
            path.unlink()
        else:
            freed += sum(p.lstat().st_size for p in path.rglob("*"))
            shutil.rmtree(path)

    for top in {pattern.split("*")[0].rsplit("/", 1)[0] for _, pattern in rules}:
        folder = root / top.lstrip("/")
        if not folder.is_dir() or folder.is_symlink():
            continue
        for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
            here = Path(dirpath)
            for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
                path = here / name
                if not _kept("/" + path.relative_to(root).as_posix(), rules):
                    drop(path)
            for name in dirnames:
                path = here / name
                if (not path.is_symlink() and path.is_dir() and not any(path.iterdir())
                        and not _kept("/" + path.relative_to(root).as_posix(), rules)):
                    path.rmdir()
    for pattern in ROOTFS_JUNK:
        for path in root.glob(pattern):
            if path.name != "partial":
                drop(path)
    return freed


def _base_is_current(tag: str, client) -> bool | None:
    """None if `tag` is absent; False if labenv imported it with another recipe (or before
    there were recipes: one layer, `docker import`ed, no registry digest); True otherwise
    (imported with this recipe, pulled from a registry, or made some other way)."""
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return None
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    if labels.get(BASE_LABEL):
        return labels[BASE_LABEL] == base_recipe()
    imported = (len(image.attrs.get("RootFS", {}).get("Layers") or []) == 1
                and not image.attrs.get("RepoDigests")
                and (image.history() or [{}])[-1].get("Comment", "").startswith("Imported from"))
    return not imported


def ensure_base(suite: str, say=print) -> str:
    """Make `debian:<suite>-slim` present: local, pulled, or bootstrapped and imported. One
    that an earlier labenv bootstrapped with another recipe is stripped again (`reslim_base`)."""
    tag = f"debian:{check_suite(suite)}-slim"
    client = engine.connect()
    current = _base_is_current(tag, client)
    if current:
        return tag
    if current is False:
        reslim_base(tag, say)
        return tag
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
        slim_rootfs(root)
        _import_rootfs(root, tag, say)


def reslim_base(tag: str, say=print) -> None:
    """Strip a `debian:<suite>-slim` that labenv bootstrapped with an earlier recipe, in place:
    its files exported, `slim_rootfs`, imported again under the same tag. The packages (and
    their versions) stay those of the first bootstrap; no mirror is asked."""
    if os.geteuid() != 0:
        raise LabError(f"image {tag} was made by an earlier labenv and needs stripping again; "
                       "that needs root (run `sudo make lab` once)")
    client = engine.connect()
    say(f"labenv: {tag} was made by an earlier labenv: stripping it again")
    with tempfile.TemporaryDirectory(prefix="labenv-reslim-") as tmp:
        root = Path(tmp) / "rootfs"
        root.mkdir()
        # The image's one layer is its root file system exactly as it was imported.
        untar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-xpf", "-"],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        found = False
        layer = client.images.get(tag).attrs["RootFS"]["Layers"][0].partition(":")[2]
        try:
            with tarfile.open(fileobj=_Reader(client.api.get_image(tag)), mode="r|") as saved:
                for member in saved:
                    if (member.isfile() and not found
                            and (member.name.endswith("/layer.tar") or member.name == f"blobs/sha256/{layer}")):
                        shutil.copyfileobj(saved.extractfile(member), untar.stdin, CHUNK)
                        found = True
        finally:
            untar.stdin.close()
        if untar.wait() != 0 or not found:
            raise LabError(f"reading {tag}'s files failed: {untar.stderr.read().decode().strip()[:200]}")
        slim_rootfs(root)
        _import_rootfs(root, tag, say)


def _import_rootfs(root: Path, tag: str, say=print) -> None:
    """`docker import` a root file system under `tag`, labelled with the recipe it was made by."""
    changes = ['CMD ["bash"]', f"LABEL {BASE_LABEL}={base_recipe()}"]
    say(f"labenv: importing {tag}")
    if not shutil.which("docker"):
        _import_with_api(root, tag, changes)
        return
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
    imp = subprocess.run(["docker", "import", *(a for c in changes for a in ("--change", c)), "-", tag],
                         stdin=tar.stdout, capture_output=True, text=True)
    tar.wait()
    if imp.returncode != 0:
        raise LabError(f"docker import of {tag} failed: {imp.stderr.strip()[:200]}")


def _import_with_api(root: Path, tag: str, changes: list[str]) -> None:
    """The same import through the engine API, where there is no docker CLI."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(root, arcname=".")
    repo, _, version = tag.partition(":")
    engine.connect().api.import_image_from_data(buf.getvalue(), repository=repo, tag=version,
                                                changes=changes)


def ensure(name: str, suite: str = DEFAULT_SUITE, say=print) -> str:
    """The tag of an up-to-date image `name` for `suite`, building it (and the base image
    under it) if needed."""
    tag = tag_for(name, check_suite(suite))
    if _has_image(tag):
        return tag
    if name == BASE:
        ensure_base(suite, say)
        buildargs = {"DEBIAN": suite}
    else:
        buildargs = {"BASE": ensure(BASE, suite, say)}
    say(f"labenv: building {tag}")
    client = engine.connect()
    try:
        stream = client.api.build(fileobj=io.BytesIO(context_tar(name)), custom_context=True, tag=tag,
                                  buildargs=buildargs,
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


def tags(suite: str = DEFAULT_SUITE) -> dict[str, str]:
    """The suite's image tags as the folders are now, without asking any engine."""
    return {name: tag_for(name, check_suite(suite)) for name in IMAGES}


def missing(suite: str = DEFAULT_SUITE) -> list[str]:
    """Names of the images that are absent or stale for `suite`."""
    return [name for name in IMAGES if not _has_image(tag_for(name, suite))]


def prune_stale(say=print) -> int:
    """Remove lab images whose tag no longer matches their context; returns how many."""
    client = engine.connect()
    current = {tag_for(n, s) for n in (BASE, *IMAGES) for s in SUITES}
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


def ensure_on(client, tags: dict[str, str], say=print) -> None:
    """Make the lab images `tags` present on the engine of `client`, shipped from the build engine."""
    local = engine.connect()
    if client is local:
        return
    missing = []
    for tag in tags.values():
        try:
            client.images.get(tag)
        except ImageNotFound:
            missing.append(tag)
        except APIError as error:
            raise LabError(f"cannot look for image {tag} on that engine: {str(error)[:160]}") from None
    if missing:
        say(f"labenv: shipping {len(missing)} image(s) to {client.api.base_url}")
        ship(missing, local, client)


# -- shipping images to another engine ---------------------------------------------------------
MIB = 1 << 20
CHUNK = MIB
_BLOB = re.compile(r"^blobs/sha256/([0-9a-f]{64})$")


class _Reader(io.RawIOBase):
    """A file to read from an iterator of byte chunks (what docker-py streams)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks, self._chunk, self._at = iter(chunks), memoryview(b""), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._at >= len(self._chunk):
            try:
                self._chunk, self._at = memoryview(next(self._chunks)), 0
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._chunk) - self._at)
        buffer[:size] = self._chunk[self._at:self._at + size]
        self._at += size
        return size


def _layer_chains(client) -> set[tuple[str, ...]]:
    """Every chain of layers (diff ids from the bottom) the engine of `client` holds."""
    chains = set()
    for image in client.images.list(all=True):
        layers = tuple(image.attrs.get("RootFS", {}).get("Layers") or ())
        chains.update(layers[:k] for k in range(1, len(layers) + 1))
    return chains


def _skippable(images: list[list[str]], chains: set[tuple[str, ...]]) -> set[str]:
    """Diff ids (hex) of layers the target need not be sent: wherever one sits in the images
    to ship, the target has the chain up to it (`docker load` only reads the layers it lacks)."""
    have: dict[str, bool] = {}
    for layers in images:
        for i, diff_id in enumerate(layers):
            have[diff_id] = have.get(diff_id, True) and tuple(layers[:i + 1]) in chains
    return {d.partition(":")[2] for d, ok in have.items() if ok}


def _without_layers(saved, skip: set[str], sent: dict) -> Iterator[bytes]:
    """The tar of `docker save` (a file), without the layer files whose digest is in `skip`.

    A layer is `blobs/sha256/<digest>` (Docker 25 and later: the name is its diff id) or
    `<id>/layer.tar` (earlier: hashed here to learn it, so held until it is known).
    """
    with tarfile.open(fileobj=saved, mode="r|") as tar:
        for member in tar:
            with contextlib.ExitStack() as held:
                data = tar.extractfile(member) if member.isfile() else None
                digest = None
                if data is not None:
                    blob = _BLOB.match(member.name)
                    if blob:
                        digest = blob.group(1)
                    elif member.name.endswith("/layer.tar"):
                        spool = held.enter_context(tempfile.SpooledTemporaryFile(max_size=512 * MIB))
                        hasher = hashlib.sha256()
                        while chunk := data.read(CHUNK):
                            hasher.update(chunk)
                            spool.write(chunk)
                        spool.seek(0)
                        data, digest = spool, hasher.hexdigest()
                if digest is not None and digest in skip:
                    sent["layers_skipped"] += 1
                    sent["bytes_skipped"] += member.size
                    continue
                if digest is not None:
                    sent["layers_sent"] += 1
                header = member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
                sent["bytes"] += len(header) + member.size
                yield header
                if data is not None:
                    while chunk := data.read(CHUNK):
                        yield chunk
                    if member.size % tarfile.BLOCKSIZE:
                        yield tarfile.NUL * (tarfile.BLOCKSIZE - member.size % tarfile.BLOCKSIZE)
    yield tarfile.NUL * (2 * tarfile.BLOCKSIZE)


def _counted(chunks: Iterable[bytes], sent: dict) -> Iterator[bytes]:
    """The archive as it comes, counted (nothing to leave out)."""
    for chunk in chunks:
        sent["bytes"] += len(chunk)
        yield chunk


def ship(tags: Iterable[str], source, target, say=print) -> dict:
    """Copy the images `tags` from the engine of `source` to the engine of `target` (docker
    clients): one `docker save` of those the target lacks, streamed into `docker load`,
    without the layers the target holds already (a changed image sends its new layers only).

        ship([tag_for(n, "bookworm") for n in IMAGES], engine.connect(), other_client)

    Returns what was done: {"images": [shipped tags], "present": [tags it had], "layers_sent",
    "layers_skipped", "bytes" (sent), "bytes_skipped", "seconds"}. LabError with one line if
    the source lacks one or the load fails.
    """
    started = time.monotonic()
    tags = list(dict.fromkeys(tags))
    todo = [t for t in tags if not _has_image(t, target)]
    sent = {"images": todo, "present": [t for t in tags if t not in todo], "layers_sent": 0,
            "layers_skipped": 0, "bytes": 0, "bytes_skipped": 0, "seconds": 0.0}
    if not todo:
        return sent
    try:
        layers = [source.images.get(t).attrs["RootFS"]["Layers"] for t in todo]
    except ImageNotFound as error:
        raise LabError(f"cannot ship: {str(error)[:200]}") from None
    skip = _skippable(layers, _layer_chains(target))
    if not skip:
        sent["layers_sent"] = len({d for image in layers for d in image})
    if skip:
        say(f"labenv:   {len(skip)} of their layers are on that engine already: not sent")
    api, response = source.api, None
    try:
        # GET /images/get?names=...: one archive, each shared layer in it once (docker-py's
        # get_image takes a single name).
        response = api._get(api._url("/images/get"), params={"names": todo}, stream=True)
        api._raise_for_status(response)
        chunks = response.iter_content(CHUNK)
        stream = (_without_layers(io.BufferedReader(_Reader(chunks), CHUNK), skip, sent) if skip
                  else _counted(chunks, sent))
        for line in target.api.load_image(stream):
            if "error" in line:
                raise LabError(f"loading images on the other engine failed: {str(line['error']).strip()[:200]}")
    except (APIError, DockerException, tarfile.TarError) as error:
        raise LabError(f"shipping images failed: {str(error).splitlines()[0][:200]}") from None
    finally:
        if response is not None:
            response.close()
    missing_now = [t for t in todo if not _has_image(t, target)]
    if missing_now:
        raise LabError(f"after loading, the other engine still lacks {', '.join(missing_now)}")
    sent["seconds"] = round(time.monotonic() - started, 3)
    return sent
