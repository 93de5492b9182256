"""`degradation: auto` against the true settings on the quickstart's tiles.

For each of the quickstart's four tasks (level M), the quickstart's test tiles are degraded by
restorefw's true operators (seed 0, the same image ids as the quickstart's benchmark run, so the
targets are the same pixels) and written as a user would have them: upsampling and denoising as PNG,
deartifacting as the JPEG file itself (PIL, quality 12, 4:2:0), inpainting as a PNG whose alpha
channel is the mask (the run reads it composited on white, so the holes are white and the soft edges
x·m + (1 − m), which auto's inpainting stage models with `fill: 1`). Then the quickstart recipe restores each
task twice with the same schedule:
  true: benchmark mode, the task's true settings (examples/quickstart.yaml as it is);
  auto: restore mode on the files, `degradation: auto` with the quickstart's stand-in choices as
        overrides (matched upsampling with a fixed bicubic filter, since the per-image filter is not
        in the file; the identity for JPEG), everything else read from the files.
PSNR/SSIM of restored.png against the clean tile, both runs scored the same way.

    python benchmarks/auto_vs_true.py OUT_DIR [--limit 8]
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image

from restorefw.degradation import ImageKey
from restorefw.imageio import read_image
from restorefw.plugins import load_plugins
from restorefw.recipe import parse_recipe
from restorefw.run import run_recipe
from restorefw_plugins.degradations import levels as L
from restorefw_plugins.degradations.components import SINGLE_TASKS
from restorefw_plugins.degradations.jpeg import to_pil_image

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.yaml"
HOW = {"upsampling": {"stand_in": "matched", "filter": "bicubic"}, "deartifacting": {"stand_in": "identity"}}


def write_degraded(task: str, params: dict, tiles: list[Path], folder: Path, seed: int) -> None:
    """Each tile degraded by `task`'s true operator, saved in the form the damage would have in a file."""
    folder.mkdir(parents=True, exist_ok=True)
    component = SINGLE_TASKS[task](SINGLE_TASKS[task].Params.model_validate(params))
    for tile in tiles:
        clean = read_image(tile)[None]
        if task == "deartifacting":
            quality = L.pick(component.params.quality, component.params.level, L.JPEG_QUALITY)
            to_pil_image(clean[0]).save(folder / f"{tile.stem}.jpg", quality=quality, subsampling=2)
            continue
        op = component.realize(tuple(clean.shape), [ImageKey(seed, tile.stem)], torch.device("cpu"))
        target = np.asarray(to_pil_image(op.true(clean)[0]))
        if task == "inpainting":
            alpha = (op.mask[0, 0].numpy() * 255).round().astype(np.uint8)
            rgb = np.asarray(to_pil_image(clean[0]))
            Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(folder / f"{tile.stem}.png")
        else:
            Image.fromarray(target).save(folder / f"{tile.stem}.png")


def psnr_ssim(restored: Path, clean: Path) -> tuple[float, float]:
    from skimage.metrics import structural_similarity

    a, b = read_image(restored).numpy(), read_image(clean).numpy()
    mse = float(((a - b) ** 2).mean())
    return 10 * np.log10(1.0 / mse), float(structural_similarity(a, b, channel_axis=0, data_range=1.0))


def scores(folder: Path, tiles: list[Path]) -> list[tuple[float, float]]:
    return [psnr_ssim(folder / "images" / t.stem / "restored.png", t) for t in tiles]


def auto_recipe(base: dict, spec: dict, files: Path, out: Path) -> dict:
    """The quickstart recipe restoring `files` with `auto` (the quickstart's stand-ins as overrides)."""
    recipe = copy.deepcopy(base)
    recipe.pop("tasks")
    recipe["degradation"] = {"task": "auto", "params": copy.deepcopy(HOW)}
    recipe["schedule"]["ensemble"].update(spec.get("schedule", {}).get("ensemble", {}))
    recipe["inputs"] = {"mode": "restore", "path": str(files)}
    recipe["outputs"]["dir"] = str(out)
    return recipe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--tasks", nargs="*", default=None, help="only these tasks (default: the quickstart's four)")
    args = parser.parse_args()
    out = args.out.resolve()
    plugins = load_plugins()
    base = yaml.safe_load(QUICKSTART.read_text())
    base["inputs"]["limit"] = args.limit
    table = {}
    for spec in [s for s in base["tasks"] if args.tasks is None or s["task"] in args.tasks]:
        task, name = spec["task"], f"{spec['task']}-{spec['level']}"
        true = {**copy.deepcopy(base), "tasks": [spec], "outputs": {**base["outputs"], "dir": str(out / "true")}}
        run_recipe(parse_recipe(true, plugins.registry), plugins, recipe_path=QUICKSTART, quiet=True)
        tiles = sorted((out / "true" / name / "inputs").glob("*/*.png"))[: args.limit]
        write_degraded(task, {"level": spec["level"], **spec.get("params", {})}, tiles, out / "files" / name,
                       base["seed"])
        recipe = auto_recipe(base, spec, out / "files" / name, out / "auto" / name)
        run_recipe(parse_recipe(recipe, plugins.registry), plugins, recipe_path=QUICKSTART, quiet=True)
        manifest = json.loads((out / "auto" / name / "manifest.json").read_text())
        true_scores, auto_scores = scores(out / "true" / name, tiles), scores(out / "auto" / name, tiles)
        row = {"true_psnr": float(np.mean([s[0] for s in true_scores])),
               "auto_psnr": float(np.mean([s[0] for s in auto_scores])),
               "true_ssim": float(np.mean([s[1] for s in true_scores])),
               "auto_ssim": float(np.mean([s[1] for s in auto_scores])),
               "found": {i["id"]: i["degradation"]["summary"] for i in manifest["images"]}}
        table[name] = row
        print(f"{name:16s} PSNR true {row['true_psnr']:.3f} auto {row['auto_psnr']:.3f} "
              f"(Δ {row['auto_psnr'] - row['true_psnr']:+.3f} dB)  SSIM true {row['true_ssim']:.4f} "
              f"auto {row['auto_ssim']:.4f}", flush=True)
        for image, summary in row["found"].items():
            print(f"    {image}: {summary}", flush=True)
    (out / "auto_vs_true.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
