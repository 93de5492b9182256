"""The training loop: non-saturating logistic GAN loss, lazy R1, G EMA, ADA, style mixing, snapshots.

Per step: one generator forward on a fresh batch of z (random noise, style mixing) and one
discriminator forward on the augmented fakes, from which both the G gradient (softplus(-D)) and
D's fake-side gradient (softplus(D)) are taken, so D and G see exactly the parameters an
alternating G-then-D step would; then D on a batch of augmented reals. Every `r1_interval` steps
R1 on the reals is folded into that forward (scaled by the interval, with the lazy-regularisation
Adam correction). Every random
choice is seeded from (seed, step), so a resumed run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from restorefw.imageio import atomic_write_text, write_png
from restorefw.seeding import derive_seed, torch_generator
from restorefw_plugins.training.augment import AdaptiveAugment
from restorefw_plugins.training.configs import TrainConfig
from restorefw_plugins.training.data import to_float
from restorefw_plugins.training.discriminator import Discriminator
from restorefw_plugins.training.state import load_state, save_state

STATE_FILE = "training-state.safetensors"
GEMA_FILE = "G_ema.safetensors"


PRIOR = "stylegan2-ada"  # the generator component this trainer trains (its network layout and checkpoint format)


def prior(config: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """The trained prior's generator component, resolved through the plugin registry."""
    from restorefw.plugins import load_plugins

    return load_plugins().registry.create("generator", PRIOR, {"init": "random", "config": config, "seed": seed},
                                          path="--prior")


def build_generator(config: dict[str, Any], seed: int) -> torch.nn.Module:
    """A randomly initialised, trainable network of the prior (its official-style initialisation)."""
    return prior(config, seed).load(torch.device("cpu")).requires_grad_(True)


def save_generator(G: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
    """Write G atomically as a checkpoint the prior's generator component loads back."""
    prior().save(G, path, metadata)


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@dataclass
class TrainOptions:
    """Everything `restorefw train` passes to the loop."""

    out: Path
    resolution: int
    kimg: float
    batch: int = 32
    seed: int = 0
    device: str = "cpu"
    resume: bool = False
    snap_kimg: float = 10.0
    tick_kimg: float = 1.0
    grid: int = 8
    config_name: str = "small"
    threads: int | None = None


class Trainer:
    """Holds G, G_ema, D, their optimisers and the ADA state; `run()` trains until `kimg`."""

    def __init__(self, cfg: TrainConfig, opts: TrainOptions, images: torch.Tensor) -> None:
        self.cfg, self.opts, self.images = cfg, opts, images
        self.device = torch.device(opts.device)
        channels = images.shape[1]
        self.g_config = cfg.generator_config(opts.resolution, channels)
        self.G = build_generator(self.g_config, derive_seed(opts.seed, "G", "init") % (2 ** 31)).to(self.device)
        self.G.train()
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        torch.manual_seed(derive_seed(opts.seed, "D", "init"))
        self.D = Discriminator(opts.resolution, channels, cfg.d_channel_base, cfg.d_channel_max,
                               cfg.mbstd_group).to(self.device)
        ratio = cfg.r1_interval / (cfg.r1_interval + 1)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=(0.0, 0.99), eps=1e-8)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr * ratio, betas=(0.0, 0.99 ** ratio), eps=1e-8)
        self.ada = AdaptiveAugment(cfg.ada_target, cfg.ada_kimg, cfg.ada_interval)
        self.step = 0
        self.nimg = 0
        self.elapsed = 0.0
        self.grid_z = torch.randn(opts.grid * opts.grid, cfg.z_dim,
                                  generator=torch_generator(opts.seed, "grid", "z")).to(self.device)

    # ----------------------------------------------------------------------------- one step
    def _styles(self, batch: int, gen: torch.Generator) -> torch.Tensor:
        z = torch.randn(batch, self.cfg.z_dim, generator=gen).to(self.device)
        ws = self.G.mapping(z, None)
        if self.cfg.style_mixing > 0 and torch.rand([], generator=gen) < self.cfg.style_mixing:
            cutoff = int(torch.randint(1, ws.shape[1], [], generator=gen))
            z2 = torch.randn(batch, self.cfg.z_dim, generator=gen).to(self.device)
            ws2 = self.G.mapping(z2, None, skip_w_avg_update=True)
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        return ws

    def train_step(self) -> dict[str, float]:
        """One G and one D update; D's forward on the augmented fakes serves both losses."""
        cfg, batch = self.cfg, self.opts.batch
        torch.manual_seed(derive_seed(self.opts.seed, f"step{self.step}", "torch"))
        gen = torch_generator(self.opts.seed, f"step{self.step}", "batch")

        ws = self._styles(batch, gen)
        fake = self.G.synthesis(ws, noise_mode="random", fused_modconv=False)
        fake_logits = self.D(self.ada(fake))
        loss_g = F.softplus(-fake_logits).mean()
        g_params, d_params = list(self.G.parameters()), list(self.D.parameters())
        g_grads = torch.autograd.grad(loss_g, g_params, retain_graph=True, allow_unused=True)
        loss_d_fake = F.softplus(fake_logits).mean()
        d_grads = torch.autograd.grad(loss_d_fake, d_params)

        idx = torch.randint(0, self.images.shape[0], (batch,), generator=gen)
        real = to_float(self.images[idx], self.device)
        do_r1 = cfg.r1_gamma > 0 and self.step % cfg.r1_interval == 0
        real.requires_grad_(do_r1)
        real_logits = self.D(self.ada(real))
        loss_d_real = F.softplus(-real_logits).mean()
        r1 = None
        if do_r1:
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            r1 = grad.square().sum(dim=(1, 2, 3)).mean()
            loss_d_real = loss_d_real + r1 * (cfg.r1_gamma / 2) * cfg.r1_interval
        d_grads_real = torch.autograd.grad(loss_d_real, d_params)

        for p, g in zip(g_params, g_grads):
            p.grad = g
        for p, g1, g2 in zip(d_params, d_grads, d_grads_real):
            p.grad = g1 + g2
        self.opt_G.step()
        self.opt_D.step()
        self.ada.observe(real_logits, batch)

        self.nimg += batch
        self._update_ema()
        self.step += 1
        return {"loss_G": float(loss_g.detach()), "loss_D": float(loss_d_fake.detach() + loss_d_real.detach()),
                "r1": float(r1.detach()) if r1 is not None else float("nan"),
                "D_real": float(real_logits.detach().mean()), "D_fake": float(fake_logits.detach().mean())}

    @torch.no_grad()
    def _update_ema(self) -> None:
        ema_nimg = self.cfg.ema_kimg * 1000
        if self.cfg.ema_rampup:
            ema_nimg = min(ema_nimg, self.nimg * self.cfg.ema_rampup)
        beta = 0.5 ** (self.opts.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # ----------------------------------------------------------------------------- outputs
    @torch.no_grad()
    def sample_grid(self, path: Path) -> None:
        imgs = self.G_ema(self.grid_z, None, noise_mode="const")
        write_png(path, make_grid(imgs, self.opts.grid))

    def info(self) -> dict[str, Any]:
        return {"step": self.step, "nimg": self.nimg, "elapsed_s": self.elapsed, "ada": self.ada.state(),
                "seed": self.opts.seed, "batch": self.opts.batch, "resolution": self.opts.resolution,
                "config_name": self.opts.config_name, "config": self.cfg.as_dict(), "g_config": self.g_config}

    def checkpoint(self) -> None:
        out = self.opts.out
        save_state(out / STATE_FILE, {"G": self.G, "G_ema": self.G_ema, "D": self.D},
                   {"opt_G": self.opt_G, "opt_D": self.opt_D}, self.info())
        meta = {"restorefw_training": json.dumps({"kimg": self.nimg / 1000, "step": self.step,
                                                  "seed": self.opts.seed, "config": self.opts.config_name,
                                                  "batch": self.opts.batch})}
        save_generator(self.G_ema, out / GEMA_FILE, meta)

    def resume(self) -> bool:
        path = self.opts.out / STATE_FILE
        if not path.is_file():
            return False
        info = load_state(path, {"G": self.G, "G_ema": self.G_ema, "D": self.D},
                          {"opt_G": self.opt_G, "opt_D": self.opt_D}, self.device)
        self.step, self.nimg, self.elapsed = info["step"], info["nimg"], info["elapsed_s"]
        self.ada.load(info["ada"])
        return True

    # ----------------------------------------------------------------------------- the run
    def run(self, on_tick: Callable[[dict[str, Any]], None] | None = None,
            on_step: Callable[[dict[str, float]], None] | None = None) -> dict[str, Any]:
        """Train until `kimg`; log a tick every `tick_kimg`, snapshot every `snap_kimg`."""
        opts = self.opts
        target = int(round(opts.kimg * 1000))
        opts.out.mkdir(parents=True, exist_ok=True)
        log_path = opts.out / "log.jsonl"
        next_tick = (self.nimg // int(opts.tick_kimg * 1000) + 1) * int(opts.tick_kimg * 1000)
        next_snap = (self.nimg // int(opts.snap_kimg * 1000) + 1) * int(opts.snap_kimg * 1000)
        tick_start, tick_nimg = time.perf_counter(), self.nimg
        sums: dict[str, float] = {}
        count = 0
        last: dict[str, Any] = {}
        while self.nimg < target:
            t0 = time.perf_counter()
            stats = self.train_step()
            self.elapsed += time.perf_counter() - t0
            count += 1
            for k, v in stats.items():
                if not math.isnan(v):
                    sums[k] = sums.get(k, 0.0) + v
            if on_step:
                on_step(stats)
            done = self.nimg >= target
            if self.nimg >= next_tick or done:
                now = time.perf_counter()
                rate = (self.nimg - tick_nimg) / 1000 / max(now - tick_start, 1e-9) * 3600
                last = {"kimg": self.nimg / 1000, "step": self.step, "kimg_per_h": rate,
                        "elapsed_s": round(self.elapsed, 1), "ada_p": self.ada.p, "ada_rt": self.ada.rt,
                        **{k: v / count for k, v in sums.items()}}
                with open(log_path, "a") as handle:
                    handle.write(json.dumps(last) + "\n")
                if on_tick:
                    on_tick(last)
                tick_start, tick_nimg, sums, count = now, self.nimg, {}, 0
                next_tick += int(opts.tick_kimg * 1000)
            if self.nimg >= next_snap or done:
                self.checkpoint()
                self.sample_grid(opts.out / "samples" / f"fakes{self.nimg // 1000:06d}.png")
                atomic_write_text(opts.out / "status.json", json.dumps(self.info(), indent=1) + "\n")
                next_snap += int(opts.snap_kimg * 1000)
        return last


def make_grid(imgs: torch.Tensor, cols: int) -> torch.Tensor:
    """`[N,C,H,W]` in [-1,1] → one `[C, rows·H, cols·W]` image in [0,1]."""
    n, c, h, w = imgs.shape
    rows = math.ceil(n / cols)
    pad = imgs.new_zeros(rows * cols - n, c, h, w) - 1
    x = torch.cat([imgs, pad]).reshape(rows, cols, c, h, w).permute(2, 0, 3, 1, 4).reshape(c, rows * h, cols * w)
    return ((x + 1) / 2).clamp(0, 1).cpu()
