"""Resolving `checkpoint:` values, loading generators from them, and writing safe copies.

A checkpoint is a local path, an `https://` URL with a sha256 (downloaded once into
`<torch hub dir>/restorefw/`), or `builtin:<name>` (a safetensors file shipped in this package).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from restorefw.errors import UserError
from restorefw.imageio import temp_file_beside
from restorefw_plugins.stylegan2.network import Generator
from restorefw_plugins.stylegan2.pickle_loader import CheckpointData, read_checkpoint

ENV_OFFLINE = "RESTOREFW_OFFLINE"
BUILTIN_PREFIX = "builtin:"
SAFETENSORS_FORMAT = "restorefw-stylegan2-ada"

DEFAULT_CONFIG: dict[str, Any] = {
    "z_dim": 64, "c_dim": 0, "w_dim": 64, "img_resolution": 32, "img_channels": 3,
    "mapping_kwargs": {"num_layers": 2},
    "synthesis_kwargs": {"channel_base": 2048, "channel_max": 64, "num_fp16_res": 0, "conv_clamp": None},
}


def cache_dir() -> Path:
    """Where downloaded checkpoints live: <torch hub dir>/restorefw (honours TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "restorefw"


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def builtin_dir() -> Path:
    return Path(str(resources.files("restorefw_plugins.stylegan2"))) / "builtin"


def builtin_names() -> list[str]:
    folder = builtin_dir()
    return sorted(p.stem for p in folder.glob("*.safetensors")) if folder.is_dir() else []


def _url_file_name(url: str, sha256: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return name or f"checkpoint-{sha256[:16]}.pkl"


def _download(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Stream `url` into `dest` (written atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(dest, ".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_sha(path: Path, sha256: str, what: str) -> None:
    actual = file_sha256(path)
    if actual != sha256.lower():
        raise UserError(f"{path}: sha256 is {actual}, but {what} expects {sha256.lower()}. The file is "
                        "damaged or a different one; delete it and fetch it again.")


def _resolve_url(url: str, sha256: str | None) -> Path:
    if not sha256 or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise UserError(f"checkpoint {url}: a URL checkpoint needs `sha256:` (64 hex digits) so that the "
                        "download can be verified; add it next to `checkpoint:`.")
    dest = cache_dir() / _url_file_name(url, sha256)
    if dest.exists():
        _check_sha(dest, sha256, f"the recipe's sha256 for {url}")
        return dest
    hint = (f"restorefw needs the file {dest.name} (sha256 {sha256.lower()}). Download {url} yourself and put "
            f"it at {dest}, or set `checkpoint:` to a local path.")
    if os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}:
        raise UserError(f"{dest.name} is not in the checkpoint cache and downloads are off ({ENV_OFFLINE}). {hint}")
    try:
        _download(url, dest)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UserError(f"could not download {url} ({exc}). {hint}") from None
    try:
        _check_sha(dest, sha256, f"the recipe's sha256 for {url}")
    except UserError:
        dest.unlink(missing_ok=True)
        raise
    return dest


def resolve_checkpoint(checkpoint: str | Path, sha256: str | None = None) -> Path:
    """A local file for a `checkpoint:` value (path, https URL + sha256, or builtin:<name>)."""
    value = str(checkpoint)
    if value.startswith(BUILTIN_PREFIX):
        name = value[len(BUILTIN_PREFIX):]
        path = builtin_dir() / f"{name}.safetensors"
        if not path.is_file():
            known = ", ".join(f"builtin:{n}" for n in builtin_names()) or "none are installed"
            raise UserError(f"checkpoint {value}: no built-in generator named {name!r} (expected {path}); "
                            f"available: {known}.")
        return path
    if value.startswith("https://"):
        return _resolve_url(value, sha256)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
        raise UserError(f"checkpoint {value}: only https:// URLs (with sha256), local paths and builtin:<name> "
                        "are supported.")
    path = Path(value).expanduser()
    if not path.is_file():
        raise UserError(f"checkpoint {value}: file not found. Give a path to a .pkl, .pt/.pth or .safetensors "
                        "StyleGAN2-ADA generator, an https URL with sha256, or builtin:<name>.")
    if sha256:
        _check_sha(path, sha256, "the given sha256")
    return path


def infer_config(sd: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Architecture config from a G_ema state dict's names and shapes (conv_clamp cannot be seen: None)."""
    try:
        num_layers = sum(1 for k in sd if re.fullmatch(r"mapping\.fc\d+\.weight", k))
        embed = sd.get("mapping.embed.weight")
        embed_features = embed.shape[0] if embed is not None else 0
        w_dim = sd[f"mapping.fc{num_layers - 1}.weight"].shape[0]
        resolutions = sorted({int(m.group(1)) for k in sd if (m := re.match(r"synthesis\.b(\d+)\.", k))})
        channels = {r: sd[f"synthesis.b{r}.conv1.weight"].shape[0] for r in resolutions}
        top = resolutions[-1]
        channel_max = max(channels.values())
        below = [r for r in resolutions if channels[r] < channel_max]
        channel_base = channels[below[0]] * below[0] if below else channel_max * top
        if any(f"synthesis.b{r}.skip.weight" in sd for r in resolutions):
            architecture = "resnet"
        elif len(resolutions) > 1 and f"synthesis.b{resolutions[0]}.torgb.weight" not in sd:
            architecture = "orig"
        else:
            architecture = "skip"
        mapping = {"num_layers": num_layers}
        if num_layers > 1:
            mapping["layer_features"] = sd["mapping.fc0.weight"].shape[0]
        if embed is not None:
            mapping["embed_features"] = embed_features
        return {
            "z_dim": sd["mapping.fc0.weight"].shape[1] - embed_features,
            "c_dim": embed.shape[1] if embed is not None else 0,
            "w_dim": w_dim, "img_resolution": top,
            "img_channels": sd[f"synthesis.b{top}.torgb.weight"].shape[0],
            "mapping_kwargs": mapping,
            "synthesis_kwargs": {"channel_base": channel_base, "channel_max": channel_max, "conv_clamp": None,
                                 "architecture": architecture,
                                 "use_noise": f"synthesis.b{top}.conv1.noise_strength" in sd},
        }
    except (KeyError, IndexError) as exc:
        raise UserError(f"the state dict does not look like a StyleGAN2-ADA G_ema (missing {exc}); "
                        "give the architecture explicitly with `config:`.") from None


def build_generator(config: dict[str, Any] | None = None, seed: int = 0) -> Generator:
    """A randomly initialised (official init scheme) float32 Generator from official init kwargs."""
    return _construct(config or DEFAULT_CONFIG, "config").init_random(seed)


def _construct(config: dict[str, Any], where: str) -> Generator:
    try:
        return Generator(**config)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{where}: invalid generator config ({exc}).") from None


def generator_from_data(data: CheckpointData, where: str, config: dict[str, Any] | None = None) -> Generator:
    """Build a Generator from checkpoint data and load its weights (strict names and shapes)."""
    cfg = config or data.config or infer_config(data.state_dict)
    G = _construct(cfg, where)
    own = G.state_dict()
    missing = [k for k in own if k not in data.state_dict]
    unexpected = [k for k in data.state_dict if k not in own]
    wrong = [k for k in own if k in data.state_dict and tuple(own[k].shape) != tuple(data.state_dict[k].shape)]
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise UserError(f"{where}: the weights do not match the generator config ({'; '.join(parts)}).")
    with torch.no_grad():
        for k, v in own.items():
            v.copy_(data.state_dict[k].to(v.dtype))
    return G


def load_generator(checkpoint: str | Path, sha256: str | None = None, device: str | torch.device = "cpu",
                   config: dict[str, Any] | None = None) -> Generator:
    """Resolve and read a checkpoint safely; return the frozen float32 Generator in eval mode on `device`."""
    path = resolve_checkpoint(checkpoint, sha256)
    G = generator_from_data(read_checkpoint(path), str(path), config)
    return G.eval().requires_grad_(False).to(device)


def save_safetensors(G: Generator, path: str | Path, extra_metadata: dict[str, Any] | None = None) -> Path:
    """Write G's state dict (float32) with its config as JSON metadata, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    metadata = {"format": "pt", "restorefw": SAFETENSORS_FORMAT, "init_kwargs": json.dumps(G.config),
                "num_ws": str(G.num_ws)}
    for key, value in (extra_metadata or {}).items():
        metadata[str(key)] = value if isinstance(value, str) else json.dumps(value)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in G.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path)
    umask_mode = os.fstat(fd).st_mode & 0o777
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, umask_mode)  # safetensors recreates the file as 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
