"""PSNR to the ground truth at every step of a recipe on the equal-quality problem: where a schedule's
time buys quality, and where it does not (plateaus, oscillation, over-fitting).

Same problem as benchmarks/equal_quality.py (in-range ground truths of an FFHQ-like random generator,
four tasks at level M). Prints PSNR every 25 steps and at the end of each phase, and writes every
step's PSNR to `--out` (JSON: "<task>/<seed>" → psnr per render, final PSNR, CPU seconds).

    python benchmarks/psnr_trace.py --recipe examples/rusir.yaml --reference --out trace.json \
        [--size 64] [--tasks upsampling ...] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import equal_quality as eq  # noqa: E402

from restorefw.build import Generators  # noqa: E402
from restorefw.device import resolve_device  # noqa: E402
from restorefw.plugins import load_plugins  # noqa: E402
from restorefw.recipe import parse_recipe  # noqa: E402


def traced(method: eq.Method, clean: torch.Tensor, trace: list[float]):
    """Wrap the method's render so that every rendered image's PSNR to `clean` is appended to `trace`."""
    render = method.restorer.render

    def render_and_record(styles, codes, precision="float32", resolution=None):
        image = render(styles, codes, precision, resolution)
        trace.append(eq.psnr(image.detach().clamp(0, 1), clean)[0])
        return image

    method.restorer.render = render_and_record
    return render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=eq.ROOT / "examples" / "rusir.yaml")
    parser.add_argument("--reference", action="store_true", help="force float32 and batch 1, as the reference")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--tasks", nargs="+", default=list(eq.TASKS), choices=eq.TASKS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--channel-base", type=int, default=32768)
    parser.add_argument("--channel-max", type=int, default=512)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    device = resolve_device("auto")
    plugins = load_plugins()
    generator = eq.generator_spec(args.size, args.channel_base, args.channel_max)
    generators = Generators(plugins.registry)
    out: dict[str, dict] = {}
    clean_all = None
    for task in args.tasks:
        recipe = eq.for_the_task(parse_recipe(eq.benchmark_recipe(args.recipe, generator, task, "random",
                                                                  args.reference), plugins.registry))
        method = eq.Method(args.recipe.stem, recipe, plugins.registry, generators, device, False)
        if clean_all is None:
            eq.track_w_avg(method.G)
            clean_all = eq.ground_truths(eq.problem_generator(generators, generator, device), args.seeds)
        for i, seed in enumerate(args.seeds):
            clean, trace = clean_all[i:i + 1], []
            render = traced(method, clean, trace)
            start = time.process_time()
            method.run(clean, [seed])
            cpu = time.process_time() - start
            method.restorer.render = render
            ends, step = [], 0
            for phase in recipe.schedule.phases:
                step += phase.steps
                ends.append(f"{phase.space} end {trace[step]:.2f}")
            out[f"{task}/{seed}"] = {"psnr": trace, "final_psnr": method.result.psnr[-1], "cpu_seconds": cpu}
            print(f"{task} seed {seed}: {cpu:.0f} CPU s, final PSNR {method.result.psnr[-1]:.2f}; "
                  f"{', '.join(ends)}; every 25 steps: {' '.join(f'{v:.2f}' for v in trace[::25])}", flush=True)
            args.out.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
