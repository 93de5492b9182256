"""How much of a PSNR difference is noise: a recipe restores each benchmark image several times, from its
target as it is (draw 0) and from the target plus seeded uniform noise of amplitude ε (draws 1…K; default
1e-6, a 4000th of an 8-bit level). Where the restoration is chaotic, perturbations of that size (a batch's
rounding, another CPU's kernels, a torch update) move the result by tenths of a dB, and a difference
between two methods smaller than this spread says nothing about them.

    python benchmarks/sensitivity.py --recipe examples/fast.yaml [--reference] [--size 64]
        [--tasks upsampling ...] [--seeds 0] [--draws 4] [--epsilon 1e-6] [--out spread.json]

The problem (generator, ground truths, targets) is equal_quality.py's; `--reference` runs the recipe as
the reference does there (float32, batch 1). Prints, per task and seed, every draw's PSNR and their mean,
standard deviation and range.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import equal_quality as eq  # noqa: E402

from restorefw.build import Generators  # noqa: E402
from restorefw.degradation import ImageKey  # noqa: E402
from restorefw.device import resolve_device  # noqa: E402
from restorefw.plugins import load_plugins  # noqa: E402
from restorefw.recipe import parse_recipe  # noqa: E402
from restorefw.seeding import torch_generator  # noqa: E402


def perturbed(target: torch.Tensor, seed: int, draw: int, epsilon: float) -> torch.Tensor:
    """`target` plus uniform noise in [-ε, ε] seeded by (seed, draw); draw 0 is `target` itself."""
    if draw == 0:
        return target
    noise = torch.rand(target.shape, generator=torch_generator(seed, f"eq{seed}", f"sensitivity/{draw}"))
    return target + epsilon * (2 * noise.to(target.device, target.dtype) - 1)


def spread(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "std": statistics.pstdev(values), "range": max(values) - min(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, required=True)
    parser.add_argument("--reference", action="store_true", help="run it as the reference: float32, batch 1")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--tasks", nargs="+", default=list(eq.TASKS), choices=eq.TASKS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--draws", type=int, default=4, help="perturbed targets per image, besides the target")
    parser.add_argument("--epsilon", type=float, default=1e-6)
    parser.add_argument("--channel-base", type=int, default=32768)
    parser.add_argument("--channel-max", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write every draw's PSNR to this JSON file")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = resolve_device("auto")
    plugins = load_plugins()
    spec = eq.generator_spec(args.size, args.channel_base, args.channel_max)
    generators = Generators(plugins.registry)
    clean_all = eq.ground_truths(eq.problem_generator(generators, spec, device), args.seeds)
    print(f"machine: {eq.machine()}; recipe {args.recipe}; {args.size}²; ε {args.epsilon:g}; draws 0-{args.draws}")
    out: dict[str, dict] = {}
    for task in args.tasks:
        recipe = eq.for_the_task(parse_recipe(eq.benchmark_recipe(args.recipe, spec, task, "random", args.reference),
                                              plugins.registry))
        method = eq.Method(args.recipe.stem, recipe, plugins.registry, generators, device, False)
        eq.track_w_avg(method.G)
        for i, seed in enumerate(args.seeds):
            clean = clean_all[i:i + 1].to(device)
            keys = [ImageKey(recipe.seed, f"eq{seed}")]
            psnrs, seconds = [], []
            for draw in range(args.draws + 1):
                target, operator = method._problem(clean, keys)  # afresh: denoising's draws noise as it runs
                start = time.process_time()
                restoration = method.restorer.restore(perturbed(target, seed, draw, args.epsilon), operator, keys)
                seconds.append(time.process_time() - start)
                psnrs.append(eq.psnr(clean.cpu(), restoration.restored)[0])
                print(f"  {task} seed {seed} draw {draw}: PSNR {psnrs[-1]:.3f} ({seconds[-1]:.0f} CPU s)", flush=True)
            figures = spread(psnrs)
            print(f"{task} seed {seed}: mean {figures['mean']:.2f} dB, std {figures['std']:.2f}, "
                  f"range {figures['range']:.2f}", flush=True)
            out[f"{task}/{seed}"] = {"psnr": psnrs, "seconds": seconds, **figures}
            if args.out is not None:
                args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
