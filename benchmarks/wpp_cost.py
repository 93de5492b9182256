"""W++ vs W+ cost of one synthesis forward+backward (float32, CPU, batch 1, noise_mode='const').

FFHQ-like random generator (channel_base 32768, channel_max 512, w_dim 512). The loss is
img.square().mean() and the gradient is taken with respect to the styles only (frozen G), as in
inversion. W+ is timed on both modulated-conv paths: fused = per-image weights + grouped conv (the
official eval-mode path, and the only possible path for W++); non-fused = activations scaled,
shared weight (what `synthesis(ws)` picks by default when ws requires grad). W++ needs a
per-image weight gradient in every layer, one conv-sized product that non-fused W+ avoids, so
W++ / non-fused W+ stays near 1.5 where convolutions dominate. Measurements are interleaved so
that load changes on a shared machine hit all variants alike.

Usage: python benchmarks/wpp_cost.py [--res 64 256] [--reps 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from restorefw.device import resolve_device
from restorefw_plugins.stylegan2.checkpoint import build_generator


def _step(G: torch.nn.Module, ws: torch.Tensor, fused: bool) -> float:
    ws = ws.detach().requires_grad_(True)
    start = time.perf_counter()
    img = G.synthesis(ws, noise_mode="const", fused_modconv=fused)
    img.square().mean().backward()
    return time.perf_counter() - start


def measure(res: int, reps: int) -> dict[str, float]:
    config = {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": res, "img_channels": 3,
              "mapping_kwargs": {"num_layers": 2},
              "synthesis_kwargs": {"channel_base": 32768, "channel_max": 512, "num_fp16_res": 4, "conv_clamp": 256}}
    G = build_generator(config, seed=0).eval().requires_grad_(False)
    w_plus = torch.randn(1, G.num_ws, G.w_dim, generator=torch.Generator().manual_seed(1))
    w_pp = w_plus.unsqueeze(2).repeat(1, 1, G.synthesis.max_filters, 1)
    variants = {"W+ fused": (w_plus, True), "W+ non-fused": (w_plus, False), "W++": (w_pp, True)}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for name, (ws, fused) in variants.items():
        _step(G, ws, fused)
    for _ in range(reps):
        for name, (ws, fused) in variants.items():
            times[name].append(_step(G, ws, fused))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    resolve_device("cpu")  # as a run does: freed memory kept, denormals flushed
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 1, float32, median of {args.reps}")
    print("| res | W+ fused s | W+ non-fused s | W++ s | W++ / W+ fused | W++ / W+ non-fused |")
    print("|---:|---:|---:|---:|---:|---:|")
    for res in args.res:
        t = measure(res, args.reps)
        print(f"| {res} | {t['W+ fused']:.3f} | {t['W+ non-fused']:.3f} | {t['W++']:.3f} | "
              f"{t['W++'] / t['W+ fused']:.2f} | {t['W++'] / t['W+ non-fused']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
