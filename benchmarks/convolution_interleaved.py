"""Direct against Winograd convolutions, one step each in turn, in one process: per-phase step time.

RUSIR's settings (the generator, loss and upsampling task of `engine_speed.py`), float32, batch 1.
The generator's layers switch between `convolution: direct` and `winograd` after every step, each
kind keeping its own cached weight terms, so the two see the same machine at the same moments: on a
shared machine whose speed drifts by 10-15 % within the hour, separate runs cannot resolve a
difference of that size, alternating steps can. Prints the median CPU seconds per step of each kind
per phase, and their ratio. Run it with one thread:

    OMP_NUM_THREADS=1 python benchmarks/convolution_interleaved.py --size 64 --steps 31
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from engine_speed import problem

from restorefw.device import resolve_device
from restorefw_plugins.stylegan2.modconv import FrozenTerms

KINDS = ("direct", "winograd")
PHASES = ("1:w", "2:w+", "3:w++")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=31, help="steps per phase, both kinds together (at least 5)")
    args = parser.parse_args()
    device = resolve_device("cpu")  # as a run does: freed memory kept, denormals flushed
    restorer, target, operator, keys = problem(args.size, 1, args.steps, device, convolution="winograd")
    layers = [m for m in restorer.G.modules() if hasattr(m, "convolution") and hasattr(m, "_terms")]
    caches = {id(m): tuple(FrozenTerms() for _ in KINDS) for m in layers}

    def use(kind: int) -> None:
        for layer in layers:
            layer.convolution, layer._terms = KINDS[kind], caches[id(layer)][kind]

    times: dict[tuple[str, int], list[float]] = {}
    state = {"step": 0, "phase": None, "in_phase": 0, "start": time.process_time()}

    def on_step(phase: str, step: int, total: int, loss: float) -> None:
        now = time.process_time()
        state["in_phase"] = state["in_phase"] + 1 if phase == state["phase"] else 0
        if state["in_phase"] >= 2:  # a phase's first step of each kind warms up (optimiser, weight terms)
            times.setdefault((phase, state["step"] % 2), []).append(now - state["start"])
        state["phase"], state["step"] = phase, state["step"] + 1
        use(state["step"] % 2)
        state["start"] = time.process_time()

    use(0)
    restorer.restore(target, operator, keys, on_step=on_step)
    print(f"{args.size}², {torch.get_num_threads()} thread(s), CPU seconds per step (medians), "
          f"{args.steps} steps per phase, the kinds alternating")
    print("| size | phase | direct | winograd | winograd / direct |")
    print("|---|---|---|---|---|")
    per_image = [0.0, 0.0]
    for phase in PHASES:
        medians = [statistics.median(times[phase, kind]) for kind in range(2)]
        per_image = [total + 150 * m for total, m in zip(per_image, medians)]
        print(f"| {args.size} | {phase[2:]} | {medians[0]:.3f} | {medians[1]:.3f} | {medians[1] / medians[0]:.2f} |")
    print(f"s/image at RUSIR's 450 steps: direct {per_image[0]:.1f}, winograd {per_image[1]:.1f}, "
          f"ratio {per_image[1] / per_image[0]:.2f}")


if __name__ == "__main__":
    main()
