"""`restorefw generate`: render images from any registered generator (a checkpoint file, a generator
type with parameters, or a recipe's generator), through the generator protocol only."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, cast

import click
import numpy as np
import torch
from PIL import Image

from restorefw.device import resolve_device
from restorefw.errors import UserError
from restorefw.generator import GeneratorNetwork, check_network
from restorefw.imageio import atomic_write_bytes
from restorefw.registry import Registry

CHUNK = 8


def parse_seeds(text: str) -> list[int]:
    """'0-7' or '1,4,10-12' -> list of ints."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UserError(f"--seeds {text!r}: expected numbers and ranges such as 0-7 or 1,4,10-12.")
        lo, hi = int(match.group(1)), int(match.group(2) or match.group(1))
        if hi < lo:
            raise UserError(f"--seeds {text!r}: range {part} runs backwards.")
        seeds.extend(range(lo, hi + 1))
    return seeds


def seed_to_z(seed: int, z_dim: int) -> np.ndarray:
    """The official generate.py convention: RandomState(seed).randn(1, z_dim) (float64)."""
    return np.random.RandomState(seed).randn(1, z_dim)


def to_uint8_hwc(img: torch.Tensor) -> np.ndarray:
    """[C,H,W] in the generator's [-1,1] scale -> uint8 HWC, as the official generate.py converts it."""
    return (img.permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()


def write_generated_png(path: Path, img: torch.Tensor) -> None:
    array = to_uint8_hwc(img)
    pil = Image.fromarray(array[:, :, 0], "L") if array.shape[2] == 1 else Image.fromarray(array, "RGB")
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _load_array(path: str, what: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read the {what} array ({exc}); expected a .npy file.") from None
    if not np.issubdtype(array.dtype, np.floating):
        raise UserError(f"{path}: the {what} array has dtype {array.dtype}; expected floating point.")
    return array


def parse_params(text: str | None) -> dict[str, Any]:
    """`--params` as a JSON object."""
    try:
        values = json.loads(text) if text else {}
    except ValueError as exc:
        raise UserError(f"--params {text!r} is not JSON ({exc}); write e.g. '{{\"seed\": 3}}'.") from None
    if not isinstance(values, dict):
        raise UserError(f"--params {text!r}: expected a JSON object of the generator's parameters.")
    return values


def generator_spec(registry: Registry, checkpoint: str | None, generator: str | None, params: dict[str, Any],
                   recipe: str | None = None, sha256: str | None = None) -> tuple[str, dict[str, Any]]:
    """(generator name, params) from a recipe, a type with params, or a checkpoint file; without a
    type, a checkpoint goes to the one installed generator that declares `checkpoint_param`."""
    if recipe is not None:
        if checkpoint or generator or params:
            raise UserError("--recipe names the generator already; drop CHECKPOINT, --generator and --params.")
        from restorefw.recipe import load_recipe

        spec = load_recipe(recipe, registry).generator
        return spec.type, dict(spec.params)
    values = dict(params)
    if generator is None:
        candidates = [c for c in registry.classes("generator") if checkpoint is None or c.checkpoint_param]
        if len(candidates) != 1:
            names = ", ".join(c.name for c in registry.classes("generator"))
            why = "several installed generators take checkpoint files" if checkpoint else "several are installed"
            raise UserError(f"say which generator to use ({why}): --generator NAME (installed: {names or 'none'})"
                            " with its parameters, or --recipe FILE.")
        generator = candidates[0].name
    cls = registry.get("generator", generator, "--generator")
    if checkpoint is not None:
        if not cls.checkpoint_param:
            raise UserError(f"the generator {generator!r} does not load checkpoint files; drop CHECKPOINT, "
                            "use --params.")
        values[cls.checkpoint_param] = checkpoint
    if sha256 is not None:
        values["sha256"] = sha256
    return generator, values


def load_network(registry: Registry, name: str, params: dict[str, Any], device: torch.device) -> GeneratorNetwork:
    """The generator `name` loaded on `device` and checked against the generator protocol."""
    G = registry.create("generator", name, params, "generator").load(device)
    check_network(G, f"generator {name!r} of plugin {registry.entry('generator', name).plugin!r}")
    return G


def _labels(G: GeneratorNetwork, n: int, class_idx: int | None, device: torch.device) -> torch.Tensor | None:
    if G.c_dim == 0:
        return None
    if class_idx is None or not 0 <= class_idx < G.c_dim:
        raise UserError(f"this generator is class-conditional with {G.c_dim} classes; pass --class 0..{G.c_dim - 1}.")
    c = torch.zeros(n, G.c_dim, device=device)
    c[:, class_idx] = 1
    return c


def truncate(G: GeneratorNetwork, ws: torch.Tensor, psi: float, cutoff: int | None) -> torch.Tensor:
    """Styles pulled toward `w_avg` by ψ (rows below `cutoff`, all rows without one)."""
    if psi == 1:
        return ws
    w_avg = cast(torch.Tensor, G.mapping.w_avg).to(ws.dtype).reshape(1, 1, -1)
    rows = slice(None) if cutoff is None else slice(None, cutoff)
    ws = ws.clone()
    ws[:, rows] = w_avg.lerp(ws[:, rows], psi)
    return ws


@click.command("generate")
@click.argument("checkpoint", required=False)
@click.option("--generator", "generator_name", default=None, help="A registered generator (see `restorefw plugins`).")
@click.option("--params", "params_json", default=None, help="The generator's parameters as a JSON object.")
@click.option("--recipe", default=None, type=click.Path(dir_okay=False), help="Sample the generator of this recipe.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the PNGs.")
@click.option("--seeds", default=None, help="Seeds such as 0-7 or 1,4,10-12 (default 0-7).")
@click.option("--z", "z_file", default=None, type=click.Path(dir_okay=False), help="Latents z [N, z_dim] (.npy).")
@click.option("--ws", "ws_file", default=None, type=click.Path(dir_okay=False),
              help="Styles (.npy): W+ [N, num_ws, w_dim] or W++ [N, num_ws, K, w_dim].")
@click.option("--truncation-psi", type=float, default=1.0, show_default=True, help="Truncation (seeds/z only).")
@click.option("--truncation-cutoff", type=int, default=None, help="Truncate only the first N style rows.")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option("--class", "class_idx", type=int, default=None, help="Class index for conditional generators.")
@click.option("--array-out", default=None, type=click.Path(dir_okay=False),
              help="Also save the raw float32 synthesis output, NCHW in [-1,1] scale, unclamped (.npy).")
@click.option("--device", "device_name", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--sha256", default=None, help="Expected sha256 of CHECKPOINT (required for https URLs).")
def generate(checkpoint: str | None, generator_name: str | None, params_json: str | None, recipe: str | None,
             out_dir: str, seeds: str | None, z_file: str | None, ws_file: str | None, truncation_psi: float,
             truncation_cutoff: int | None, noise_mode: str, class_idx: int | None, array_out: str | None,
             device_name: str, sha256: str | None) -> None:
    """Render images from a generator: a CHECKPOINT file, --generator NAME --params JSON, or --recipe FILE."""
    from restorefw.cli_context import get_plugins

    if sum(x is not None for x in (seeds, z_file, ws_file)) > 1:
        raise UserError("give only one of --seeds, --z and --ws.")
    if ws_file is not None and (truncation_psi != 1 or truncation_cutoff is not None):
        raise UserError("--truncation-psi/--truncation-cutoff apply to --seeds and --z; --ws styles are used as given.")
    registry = get_plugins().registry
    name, params = generator_spec(registry, checkpoint, generator_name, parse_params(params_json), recipe, sha256)
    device = resolve_device(device_name)
    G = load_network(registry, name, params, device)
    render(G, Path(out_dir), seeds, z_file, ws_file, truncation_psi, truncation_cutoff, noise_mode, class_idx,
           array_out, device)


def render(G: GeneratorNetwork, out: Path, seeds: str | None, z_file: str | None, ws_file: str | None, psi: float,
           cutoff: int | None, noise_mode: str, class_idx: int | None, array_out: str | None,
           device: torch.device) -> None:
    """Write one PNG per seed, z row or style row (and optionally the raw array)."""
    out.mkdir(parents=True, exist_ok=True)
    if ws_file is not None:
        inputs = torch.from_numpy(_load_array(ws_file, "ws").astype(np.float32))
        names = [f"ws{i:04d}" for i in range(len(inputs))]
    elif z_file is not None:
        z = _load_array(z_file, "z")
        if z.ndim != 2 or z.shape[1] != G.z_dim:
            raise UserError(f"{z_file}: z has shape {list(z.shape)}; expected [N, {G.z_dim}].")
        inputs, names = torch.from_numpy(z), [f"z{i:04d}" for i in range(len(z))]
    else:
        seed_list = parse_seeds(seeds or "0-7")
        inputs = torch.from_numpy(np.concatenate([seed_to_z(s, G.z_dim) for s in seed_list]))
        names = [f"seed{s:04d}" for s in seed_list]
    arrays = []
    with torch.no_grad():
        for start in range(0, len(inputs), CHUNK):
            chunk = inputs[start:start + CHUNK].to(device)
            if ws_file is not None:
                try:
                    img = G.synthesis(chunk, noise_mode=noise_mode)
                except ValueError as exc:
                    raise UserError(f"{ws_file}: {exc}.") from None
            else:
                ws = G.mapping(chunk.to(torch.float32), _labels(G, len(chunk), class_idx, device))
                img = G.synthesis(truncate(G, ws, psi, cutoff), noise_mode=noise_mode)
            img = img.float().cpu()
            for name, one in zip(names[start:start + CHUNK], img):
                write_generated_png(out / f"{name}.png", one)
            if array_out:
                arrays.append(img.numpy())
    if array_out:
        buffer = io.BytesIO()
        np.save(buffer, np.concatenate(arrays).astype(np.float32))
        atomic_write_bytes(array_out, buffer.getvalue())
    click.echo(f"wrote {len(names)} image(s) to {out}" + (f" and the raw array to {array_out}" if array_out else ""))
