"""What `degradation: auto` reads from tiles degraded by restorefw's true operators, per level.

For N aerial tiles of a split (32×32 unless --resolution), per level: the upsampling factor read
back (exact or not), the JPEG tables read back against PIL's at that quality, and the noise fit
(photons N: median and mean absolute relative error; dropout p: median and largest absolute error;
how many tiles got a denoising stage). Also how many clean and JPEG-only tiles got a denoising
stage (false positives).

    python benchmarks/auto_inspection.py [--split test] [--count 64] [--resolution 32]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from restorefw.degradation import ImageKey
from restorefw_plugins.aerial.dataset import tile
from restorefw_plugins.degradations import levels as L
from restorefw_plugins.degradations.auto import Auto
from restorefw_plugins.degradations.components import Denoising, Upsampling
from restorefw_plugins.degradations.jpeg import quant_table, to_pil_image


def steps_of(image: torch.Tensor, path: Path, resolution: int, **options) -> dict[str, dict]:
    to_pil_image(image).save(path, **options)
    return {s["task"]: s["params"] for s in Auto().for_input(path, (resolution, resolution), 3).steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="test")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=32)
    args = parser.parse_args()
    n, r = args.count, args.resolution
    clean = torch.stack([torch.from_numpy(tile(0, args.split, i, r)).permute(2, 0, 1).float() / 255 for i in range(n)])
    keys = [ImageKey(0, f"{args.split}_{i}") for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        false_clean = sum("denoising" in steps_of(x, folder / "c.png", r) for x in clean)
        print(f"{n} {args.split} tiles at {r}×{r}; clean tiles given a denoising stage: {false_clean}/{n}")
        for level in L.LEVELS:
            factor = L.UPSAMPLING_FACTOR[level]
            if factor < r:
                small = Upsampling(level=level).realize(tuple(clean.shape), keys, "cpu").true(clean)
                exact = sum(steps_of(x, folder / "u.png", r).get("upsampling") == {"factor": factor} for x in small)
                scale = f"factor {factor}: exact {exact}/{n}"
            else:
                scale = f"factor {factor}: larger than {r}, not tested"
            quality = L.JPEG_QUALITY[level]
            jpeg = [steps_of(x, folder / "a.jpg", r, quality=quality, subsampling=2) for x in clean]
            tables = sum(s["deartifacting"]["tables"][0] == quant_table(quality).ravel().tolist()
                         and s["deartifacting"]["tables"][1] == quant_table(quality, True).ravel().tolist()
                         for s in jpeg)
            false_jpeg = sum("denoising" in s for s in jpeg)
            op = Denoising(level=level).realize(tuple(clean.shape), keys, "cpu")
            noisy = [steps_of(x, folder / "n.png", r).get("denoising") for x in op.true(clean)]
            found = [s for s in noisy if s is not None]
            rel = np.array([s["photons"] / op.photons - 1 for s in found])
            drop = np.array([s["drop"] - op.drop for s in found])
            print(f"{level:2s} {scale}; JPEG q{quality} tables exact {tables}/{n}, denoising added {false_jpeg}/{n}; "
                  f"noise N={op.photons:g} p={op.drop:g}: found {len(found)}/{n}, N rel. error median "
                  f"{np.median(rel):+.3f} mean|·| {np.abs(rel).mean():.3f} max|·| {np.abs(rel).max():.3f}; "
                  f"p error median {np.median(drop):+.4f} max|·| {np.abs(drop).max():.4f}", flush=True)


if __name__ == "__main__":
    main()
