"""Seconds per optimisation step, per phase (W, W+, W++), for RUSIR's settings on this machine.

FFHQ-like random generator (channel_base 32768, channel_max 512, 8 mapping layers, z = w = 512),
float32, noise_mode const; loss = RUSIR's lpips-multires (VGG; a random backbone, since timing does
not depend on the weights) with 0.1·L1; upsampling ×8 at 64² and 128², ×4 at 256² (the reference
measurement's settings). `--clock cpu` times the process's CPU seconds instead of wall seconds:
on a shared machine, with one thread (OMP_NUM_THREADS=1), that is what to compare. Usage:

    python benchmarks/engine_speed.py [--sizes 64 128 256] [--batches 1 4 8] [--steps 5] [--clock wall|cpu]
        [--convolution direct winograd] [--repeat N] [--profile]

`--convolution` lists the generator's convolutions to time (see the stylegan2-ada `convolution`
param); with several, they run one after the other for each size and batch, `--repeat` times.
The last columns compare with RUSIR's own code where it was measured on a CPU of this kind with the
same clock and threads (`REFERENCES`: a Xeon, 2 threads, wall, and 1 thread, CPU; an AVX2-only EPYC,
1 thread, CPU), each the mean of two runs of RUSIR's code alternating with this script's.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from equal_quality import cpu_flags, shown_flags

from restorefw.build import Generators, build
from restorefw.degradation import ImageKey
from restorefw.device import resolve_device, resolve_precision
from restorefw.plugins import load_plugins
from restorefw.recipe import parse_recipe

FACTORS = {64: 8, 128: 8, 256: 4, 512: 4, 1024: 4}


@dataclass(frozen=True)
class Reference:
    """RUSIR's own code, float32, batch 1, measured on one of this project's 2-core CPUs: s/step for
    W, W+ and W++ per size. A ratio to it is printed only on a CPU of the same kind (it has `needs`
    and none of `lacks`), with the same clock and thread count."""

    cpu: str
    needs: frozenset[str]
    lacks: frozenset[str]
    clock: str
    threads: int
    seconds: dict[int, tuple[float, float, float]]

    def applies(self, flags: set[str], clock: str, threads: int) -> bool:
        return self.needs <= flags and not self.lacks & flags and (clock, threads) == (self.clock, self.threads)


XEON: tuple[str, frozenset[str], frozenset[str]] = (
    "a Xeon with AVX-512 and AMX", frozenset({"avx512f", "amx_tile"}), frozenset())
REFERENCES = (
    Reference(*XEON, "wall", 2, {64: (0.409, 0.353, 0.532), 256: (1.840, 1.407, 1.699)}),
    Reference(*XEON, "cpu", 1, {64: (0.599, 0.603, 0.926), 256: (2.227, 2.288, 2.945)}),
    Reference("an AMD EPYC with AVX2 only", frozenset({"avx2"}), frozenset({"avx512f"}), "cpu", 1,
              {64: (1.249, 1.166, 2.333), 256: (5.367, 4.809, 6.405)}),
)


def recipe(size: int, steps: int, precision: str = "float32", convolution: str = "direct") -> dict:
    config = {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": size, "img_channels": 3,
              "mapping_kwargs": {"num_layers": 8},
              "synthesis_kwargs": {"channel_base": 32768, "channel_max": 512}}
    return {
        "generator": {"type": "stylegan2-ada", "params": {"init": "random", "seed": 0, "config": config,
                                                               "convolution": convolution}},
        "schedule": {"phases": [{"space": "w", "steps": steps, "lr": 0.08},
                                {"space": "w+", "steps": steps, "lr": 0.02},
                                {"space": "w++", "steps": steps, "lr": 0.005}]},
        "degradation": {"task": "upsampling", "params": {"factor": FACTORS[size], "filter": "bicubic"}},
        "losses": [{"type": "lpips-multires", "params": {"net": "vgg", "backbone": "random"}}],
        "inputs": {"path": "unused"}, "device": "auto", "precision": precision,
    }


def problem(size: int, batch: int, steps: int, device: torch.device, precision: str = "float32",
            convolution: str = "direct") -> tuple[Any, torch.Tensor, Any, list[ImageKey]]:
    """The restorer for `recipe`'s settings and its seeded upsampling problem: (restorer, target,
    operator, keys). `device` should come from `resolve_device`, as in a run (freed memory kept)."""
    plugins = load_plugins()
    parsed = parse_recipe(recipe(size, steps, precision, convolution), plugins.registry)
    restorer = build(parsed, plugins.registry, device, Generators(plugins.registry)).restorer
    keys = [ImageKey(0, f"bench{i}") for i in range(batch)]
    degradation = plugins.registry.create("degradation", "upsampling", parsed.degradation.params)
    clean = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    operator = degradation.realize(tuple(clean.shape), keys, device)
    return restorer, operator.true(clean.to(device)), operator, keys


def measure(size: int, batch: int, steps: int, device: torch.device, precision: str = "float32",
            clock=time.perf_counter, convolution: str = "direct",
            before_timed: Callable[[], None] | None = None) -> list[float]:
    """Seconds per step of each phase. With `before_timed`, the schedule first runs once untimed on
    the same restorer (its memory then in place), then `before_timed()` is called before the timed run."""
    restorer, target, operator, keys = problem(size, batch, steps, device, precision, convolution)
    stamps: dict[str, list[float]] = {}

    def on_step(phase: str, step: int, total: int, loss: float) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        stamps.setdefault(phase, []).append(clock())

    if before_timed is not None:
        restorer.restore(target, operator, keys)
        before_timed()
    restorer.restore(target, operator, keys, on_step=on_step)
    per_phase = []
    for phase in ("1:w", "2:w+", "3:w++"):
        times = stamps[phase]
        per_phase.append((times[-1] - times[0]) / max(len(times) - 1, 1))  # first step excluded (warm-up)
    return per_phase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", choices=["float32", "bfloat16", "auto"], default="float32",
                        help="auto: bfloat16 where the device computes it in hardware, else float32")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--convolution", nargs="+", choices=["direct", "winograd"], default=["direct"])
    parser.add_argument("--repeat", type=int, default=1, help="measure each configuration this many times")
    parser.add_argument("--profile", action="store_true", help="also print an operator profile (first size, batch)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    args.precision = resolve_precision(args.precision, device)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    flags = cpu_flags()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"device {device}, precision {args.precision}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"CPU flags {shown_flags(flags)}, {args.clock} seconds, load average {load}")
    alike = [r for r in REFERENCES if r.applies(flags, args.clock, torch.get_num_threads())]
    reference = alike[0] if alike and device.type == "cpu" and args.precision == "float32" else None
    if reference is None:
        known = "; ".join(f"{r.cpu}, {r.threads} thread(s), {r.clock} seconds" for r in REFERENCES)
        print(f"RUSIR's own times were measured on {known}: none matches this device, precision, "
              "CPU, clock and thread count, so no ratio to them")
    else:
        print(f"RUSIR's own times: those measured on {reference.cpu}, {reference.threads} thread(s), "
              f"{reference.clock} seconds")
    print("| size | batch | convolution | W s/step | W+ s/step | W++ s/step | s/image (450 steps) | images/s | "
          "RUSIR s/image | / RUSIR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, batch, _, convolution in itertools.product(args.sizes, args.batches, range(args.repeat),
                                                          args.convolution):
        w, wp, wpp = measure(size, batch, args.steps, device, args.precision, clock, convolution)
        per_image = 150 * (w + wp + wpp) / batch
        ref = reference.seconds.get(size) if reference else None
        ref_text = f"{150 * sum(ref):.0f} | {per_image / (150 * sum(ref)):.2f}" if ref else "- | -"
        print(f"| {size} | {batch} | {convolution} | {w:.3f} | {wp:.3f} | {wpp:.3f} | {per_image:.1f} | "
              f"{1 / per_image:.4f} | {ref_text} |", flush=True)
    if args.profile:
        profile(args.sizes[0], args.batches[0], device, args.precision, args.convolution[0])


def profile(size: int, batch: int, device: torch.device, precision: str, convolution: str) -> None:
    """Where a step's CPU time goes: torch's operator profile over two steps of each phase, by self time,
    recorded on a second pass of the schedule, once the first has faulted in the process's memory."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    prof = torch_profile(activities=[ProfilerActivity.CPU])
    measure(size, batch, 2, device, precision, convolution=convolution, before_timed=prof.start)
    prof.stop()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    direct = sum(e.self_cpu_time_total for e in events if "conv" in e.key or "mkldnn" in e.key)
    print(f"\nprofile, {size}², batch {batch}, {precision}, {convolution}: direct convolutions "
          f"{100 * direct / total:.0f} % of self CPU time (Winograd's run as bmm and mm)")
    print(events.table(sort_by="self_cpu_time_total", row_limit=20))


if __name__ == "__main__":
    main()
