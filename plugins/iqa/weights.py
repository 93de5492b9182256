"""Every pretrained weight file restorefw can use: where it is looked for, and how to verify it.

Search order for a file: an explicit path (a recipe's `weights_path`), then the directory named by
$RESTOREFW_WEIGHTS_DIR, then the torch hub cache (`torch.hub.get_dir()/checkpoints`). The LPIPS
linear heads ship inside the `lpips` package. Nothing here ever downloads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from restorefw.errors import MissingWeightsError

ENV_WEIGHTS_DIR = "RESTOREFW_WEIGHTS_DIR"


@dataclass(frozen=True)
class WeightFile:
    """A known weight file: its canonical name, accepted aliases, checksum, size and origin."""

    key: str
    filename: str
    purpose: str
    sha256: str
    size_bytes: int
    url: str
    source: str  # "hub": torch hub cache / env dir; "lpips": inside the lpips package
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.filename, *self.aliases)


TABLE: dict[str, WeightFile] = {w.key: w for w in [
    WeightFile("vgg16", "vgg16-397923af.pth",
               "ImageNet VGG16 backbone of LPIPS-VGG (losses lpips-multires/lpips with net: vgg, metric lpips-vgg)",
               "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0", 553433881,
               "https://download.pytorch.org/models/vgg16-397923af.pth", "hub"),
    WeightFile("alexnet", "alexnet-owt-7be5be79.pth",
               "ImageNet AlexNet backbone of LPIPS-Alex (metric lpips, losses with net: alex)",
               "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02", 244408911,
               "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "hub"),
    WeightFile("lpips-vgg-head", "vgg.pth", "LPIPS v0.1 linear heads for VGG (ship with the lpips package)",
               "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868", 7289,
               "https://github.com/richzhang/PerceptualSimilarity (lpips/weights/v0.1/vgg.pth)", "lpips"),
    WeightFile("lpips-alex-head", "alex.pth", "LPIPS v0.1 linear heads for AlexNet (ship with the lpips package)",
               "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", 6009,
               "https://github.com/richzhang/PerceptualSimilarity (lpips/weights/v0.1/alex.pth)", "lpips"),
    WeightFile("inception-fid", "weights-inception-2015-12-05-6726825d.pth",
               "Inception-v3 FID weights (TF 2015-12-05 port) for fid, kid, is and pfid via torch-fidelity",
               "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2", 95628359,
               "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
               "weights-inception-2015-12-05-6726825d.pth", "hub",
               aliases=("pt_inception-2015-12-05-6726825d.pth",)),
]}


def hub_dir() -> Path:
    """The torch hub checkpoint directory (where torchvision and torch-fidelity cache downloads)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def lpips_weights_dir() -> Path:
    """The lpips package's v0.1 head directory (found without importing lpips)."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.origin:
        return Path("lpips-not-installed")
    return Path(spec.origin).parent / "weights" / "v0.1"


def search_dirs(entry: WeightFile) -> list[Path]:
    """Directories searched for `entry`, in order."""
    if entry.source == "lpips":
        return [lpips_weights_dir()]
    dirs = []
    if os.environ.get(ENV_WEIGHTS_DIR):
        dirs.append(Path(os.environ[ENV_WEIGHTS_DIR]).expanduser())
    dirs.append(hub_dir())
    return dirs


def _candidates(entry: WeightFile) -> list[Path]:
    return [d / n for d in search_dirs(entry) for n in entry.names]


def missing_message(entry: WeightFile, explicit: str | None = None) -> str:
    where = search_dirs(entry)[-1]
    looked = ", ".join(str(p) for p in ([Path(explicit)] if explicit else []) + _candidates(entry))
    return (f"missing weights {entry.filename} ({entry.purpose}); size {entry.size_bytes} bytes "
            f"({entry.size_bytes / 2**20:.1f} MiB), sha256 {entry.sha256}. Looked at: {looked}. "
            f"Download it from {entry.url} and put it in {where}/ (or in ${ENV_WEIGHTS_DIR}, or give its "
            f"path as `weights_path`). Check with `restorefw weights --verify`.")


def find(key: str, explicit: str | os.PathLike | None = None) -> Path:
    """Path of weight file `key`: the explicit path if given, else the first hit; MissingWeightsError if none.

    A file found by search must be the one in the table: its size and then its sha256 (memoised per
    process) are checked. An explicit path may hold other weights of the same network (the user's
    choice), so only its format is checked. A wrong file is refused with both digests and where to
    get the right one."""
    entry = TABLE[key]
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise MissingWeightsError(missing_message(entry, str(path)))
        problem = None if file_format(path) in TORCH_FORMATS else verify_file(entry, path)
    else:
        found = next((p for p in _candidates(entry) if p.is_file()), None)
        if found is None:
            raise MissingWeightsError(missing_message(entry))
        path, problem = found, verify_file(entry, found)
    if problem:
        raise MissingWeightsError(problem)
    return path


MAGIC = [(b"PK\x03\x04", "a PyTorch zip archive"), (b"\x80", "a pickle (legacy PyTorch format)"),
         (b"<!DOCTYPE", "an HTML page (a failed download?)"), (b"<html", "an HTML page (a failed download?)"),
         (b"\x89HDF", "an HDF5 (Keras) file"), (b"\x08", "a protobuf (TensorFlow/ONNX) file")]
TORCH_FORMATS = ("a PyTorch zip archive", "a pickle (legacy PyTorch format)")


def file_format(path: Path) -> str:
    """A guess at what a file is, from its first bytes (for error messages)."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        return "an empty file"
    if len(head) >= 9 and head[8:9] == b"{":
        return "a safetensors file"
    return next((name for magic, name in MAGIC if head.startswith(magic)), "of an unknown format")


def verify_file(entry: WeightFile, path: Path) -> str | None:
    """None when `path` is `entry`'s file (size and sha256 match); else a message naming both digests."""
    size = path.stat().st_size
    if size == entry.size_bytes and sha256_file(path) == entry.sha256:
        return None
    found = sha256_file(path)
    if size < entry.size_bytes:
        what = f"truncated: {size} of {entry.size_bytes} bytes (an interrupted download?)"
    elif size == entry.size_bytes:
        what = "the right size but different content (a damaged copy or another version)"
    else:
        what = f"{size} bytes, expected {entry.size_bytes}; the file is {file_format(path)}"
    return (f"{path} is not the expected {entry.filename} ({entry.purpose}): sha256 {found}, expected "
            f"{entry.sha256}; {what}. Delete it and download it again from {entry.url} into "
            f"{search_dirs(entry)[0]}/ (or give the right file as `weights_path`). Check with "
            "`restorefw weights --verify`.")


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a file, memoised by (path, size, mtime)."""
    path = Path(path)
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if cache_key not in _HASH_CACHE:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _HASH_CACHE[cache_key] = digest.hexdigest()
    return _HASH_CACHE[cache_key]


def status(key: str, verify: bool = False) -> dict[str, Any]:
    """Presence (and with `verify`, sha256 match and what is wrong) of one weight file, as a JSON-ready dict."""
    entry = TABLE[key]
    found = next((p for p in _candidates(entry) if p.is_file()), None)
    verified: bool | None = None
    problem: str | None = None
    if found is not None and verify:
        problem = verify_file(entry, found)
        verified = problem is None
    return {"name": entry.filename, "key": key, "purpose": entry.purpose,
            "searched": [str(d) for d in search_dirs(entry)], "path": str(found) if found else None,
            "present": found is not None, "verified": verified, "problem": problem,
            "found_sha256": sha256_file(found) if found is not None and verify else None,
            "sha256": entry.sha256, "size_bytes": entry.size_bytes, "url": entry.url}


def statuses(verify: bool = False) -> list[dict[str, Any]]:
    return [status(k, verify) for k in TABLE]
