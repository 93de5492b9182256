"""The optimisation engine: invert a frozen generator through a degradation, phase by phase."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Sequence, cast

import torch
import torch.nn.functional as F

from restorefw.degradation import DegradationOperator, ImageKey
from restorefw.errors import PluginError, UserError
from restorefw.generator import GeneratorNetwork
from restorefw.latent import LatentSpace
from restorefw.loss import Loss
from restorefw.optimizer import Optimizer
from restorefw.provenance import describe, guarded
from restorefw.recipe import Ensemble, of_full
from restorefw.seeding import derive_seed, torch_generator


class Identity(DegradationOperator):
    """No degradation: restoration from a clean or already-degraded photo at full size."""

    def true(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclass
class PhasePlan:
    """A phase with its components built."""

    name: str
    space: LatentSpace
    optimizer: Optimizer
    steps: int
    lr: float
    render_resolution: int | str | None = None  # see `Restorer.render_resolution`
    loss_resolution: int | str | None = None  # see `Restorer.loss_size`


@dataclass
class WeightedLoss:
    name: str
    weight: float
    loss: Loss


@dataclass
class Restoration:
    """What restoring one batch produced."""

    restored: torch.Tensor  # [B,C,H,W] in [0,1], clamped
    styles: torch.Tensor  # final styles, as G.synthesis takes them
    phase_images: dict[str, torch.Tensor] = field(default_factory=dict)
    log: list[dict[str, list[float]]] = field(default_factory=list)  # per image: term → values per step
    failures: dict[int, str] = field(default_factory=dict)  # batch index → message
    spread: torch.Tensor | None = None  # [B,C,H,W] per-pixel std over an ensemble's samples

    def ensemble_mean(self, samples: int) -> "Restoration":
        """Fold a K-fold batch (image-major, K samples each) into per-image means; styles keep `[B,K,...]`."""
        def fold(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(t.shape[0] // samples, samples, *t.shape[1:])

        stacked = fold(self.restored)
        log = []
        for start in range(0, len(self.log), samples):
            group = self.log[start:start + samples]
            log.append({name: [sum(values) / samples for values in zip(*(g[name] for g in group))]
                        for name in group[0]})
        failures: dict[int, str] = {}
        for index, message in sorted(self.failures.items()):
            failures.setdefault(index // samples, f"sample {index % samples}: {message}")
        return Restoration(stacked.mean(1), fold(self.styles),
                           {name: fold(images).mean(1) for name, images in self.phase_images.items()},
                           log, failures, stacked.std(1, unbiased=False))


TRANSFORM_COUNT = {"none": 1, "flips": 4, "dihedral": 8}


def dihedral(image: torch.Tensor, code: int) -> torch.Tensor:
    """Element `code` (0–7) of the square's symmetry group on `[..., H, W]`: bit 0 flips the width, bit 1
    the height, bit 2 transposes (so 0–3 are the identity and the flips, 4–7 add the rotations)."""
    if code & 1:
        image = image.flip(-1)
    if code & 2:
        image = image.flip(-2)
    if code & 4:
        image = image.transpose(-1, -2)
    return image


def expand_keys(keys: Sequence[ImageKey], samples: int) -> list[ImageKey]:
    """Each key repeated `samples` times, image-major: the batch an ensemble's operator is realised for."""
    return [key for key in keys for _ in range(samples)]


StepCallback = Callable[[str, int, int, float], None]


def in_precision(device: torch.device, precision: str) -> torch.autocast:
    """Autocast to bfloat16 on `device` when `precision` is "bfloat16"; a no-op context for "float32"."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")


def render(G: GeneratorNetwork, styles: torch.Tensor, precision: str = "float32",
           resolution: int | None = None) -> torch.Tensor:
    """G's image for `styles`, mapped from [-1,1] to [0,1], unclamped (as RUSIR optimises it).

    `precision="bfloat16"` runs the synthesis under autocast; the image comes back as float32.
    `resolution` (one of G's `render_resolutions`) renders only up to it, upsampled to full size."""
    extra = {"resolution": resolution} if resolution is not None else {}
    with in_precision(styles.device, precision):
        image = G.synthesis(styles, noise_mode="const", **extra)
    return (image.float() + 1) / 2


def render_resolutions(G: GeneratorNetwork) -> list[int]:
    """The resolutions G can stop rendering at (its optional `render_resolutions`; else only the full one)."""
    return sorted({int(r) for r in getattr(G, "render_resolutions", ())} | {G.img_resolution})


def require_render_resolution(G: GeneratorNetwork, wanted: int, where: str) -> int:
    """`wanted` if G renders at it, G's full resolution for any size at or above it (one recipe serves several
    sizes); else a UserError naming `where` (the recipe field or phase)."""
    offered = render_resolutions(G)
    if wanted >= G.img_resolution:
        return G.img_resolution
    if wanted not in offered:
        raise UserError(f"{where}: {wanted} is not a resolution this generator renders at "
                        f"({', '.join(map(str, offered))}). Use one of them, a size at or above the full one (the full "
                        "image), `target` (the smallest that covers the degraded target), `target*N`, `full/N` (the "
                        "image's size divided by N), or remove the field.")
    return wanted


class Restorer:
    """Restores batches by inverting a frozen generator `G` through each batch's degradation operator.

    Takes built objects: the phases (latent space, optimiser, steps, lr), the weighted loss terms, the
    ensemble settings, the render precision and the loss precision; `restorefw.build` makes them from a recipe."""

    def __init__(self, G: GeneratorNetwork, phases: Sequence[PhasePlan], losses: Sequence[WeightedLoss],
                 device: torch.device, ensemble: Ensemble | None = None, precision: str = "float32",
                 loss_precision: str = "float32") -> None:
        self.G, self.device, self.precision, self.loss_precision = G, device, precision, loss_precision
        self.phases, self.losses = list(phases), list(losses)
        self.ensemble = ensemble if ensemble is not None else Ensemble()

    @property
    def uses_random_backbone(self) -> bool:
        return any(getattr(t.loss, "uses_random_backbone", False) for t in self.losses)

    def objective(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted sum of loss terms, per image `[B]`, and each weighted term (float32, whatever
        `loss_precision` ran the terms in); a loss that raises or does not return one value per image is
        reported by name and distribution."""
        terms = {}
        for term in self.losses:
            if term.weight == 0:
                continue
            with in_precision(x.device, self.loss_precision):
                value = guarded("loss", term.loss, partial(term.loss, x))
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != (x.shape[0],):
                shown = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise PluginError(f"{describe('loss', term.loss)} returned {shown}, not one value per image "
                                  f"([{x.shape[0]}]). Fix the plugin (see docs/plugins.md), or remove it from the "
                                  "recipe.")
            terms[term.name] = term.weight * value.float()
        total = torch.stack(list(terms.values())).sum(dim=0)
        return total, terms

    @staticmethod
    def prior(space: LatentSpace, latent: torch.Tensor) -> torch.Tensor | None:
        """The latent space's own penalty on `latent`, per image `[B]` in float32, or None."""
        value = guarded("latent space", space, partial(space.penalty, latent))
        if value is None:
            return None
        if not isinstance(value, torch.Tensor) or value.shape != latent.shape[:1]:
            shown = list(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise PluginError(f"{describe('latent space', space)} returned {shown} from penalty, not one value per "
                              f"image [{latent.shape[0]}]; fix the plugin or use another latent space.")
        return value.float()

    @property
    def samples(self) -> int:
        return self.ensemble.samples

    def frame_codes(self) -> list[int] | None:
        """The transform of each sample slot 0…K−1 of an ensemble, or None when there are none."""
        count = TRANSFORM_COUNT[self.ensemble.transforms]
        if self.samples == 1 or count == 1:
            return None
        return [k % count for k in range(self.samples)]

    def render(self, styles: torch.Tensor, codes: list[int] | None, precision: str = "float32",
               resolution: int | None = None) -> torch.Tensor:
        """G's images for `styles`; in a K-fold batch (image-major) sample k is put in frame `codes[k]`."""
        return self.frame(render(self.G, styles, precision, resolution), codes)

    def render_resolution(self, plan: PhasePlan, target: torch.Tensor) -> int | None:
        """The resolution a phase renders at: None (the full image), the recipe's number, the image's size over N
        for "full/N", or for "target" (or "target*N") the smallest of G's `render_resolutions` that covers the
        degraded target's height and width (times N)."""
        full = self.G.img_resolution
        wanted = of_full(plan.render_resolution, full)
        if wanted is None:
            return None
        if isinstance(wanted, str):  # "target" or "target*N"
            needed = max(target.shape[-2:]) * int(wanted.partition("*")[2] or 1)
            wanted = next((r for r in render_resolutions(self.G) if r >= needed), full)
        resolution = require_render_resolution(self.G, int(wanted), f"phase {plan.name}, render_resolution")
        return None if resolution == full else resolution

    def loss_size(self, plan: PhasePlan, target: torch.Tensor) -> tuple[int, int] | None:
        """The size a phase's losses compare at: None (the target's own), or, when the target's longer side
        exceeds the phase's `loss_resolution` ("full/N": the image's size over N), the target's size scaled down
        to it."""
        limit, (height, width) = of_full(plan.loss_resolution, self.G.img_resolution), target.shape[-2:]
        if not isinstance(limit, int) or max(height, width) <= limit:  # None: the target's own size
            return None
        scale = limit / max(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))

    def prepare_losses(self, target: torch.Tensor, mask: torch.Tensor | None, keys: Sequence[ImageKey],
                       size: tuple[int, int] | None) -> None:
        """Give every loss the target and mask, area-downsampled to `size` when one is given."""
        if size is not None:
            target = F.interpolate(target, size=size, mode="area")
            mask = F.interpolate(mask, size=size, mode="area") if mask is not None else None
        for term in self.losses:
            guarded("loss", term.loss, partial(term.loss.prepare, target, mask, keys))

    @staticmethod
    def frame(images: torch.Tensor, codes: list[int] | None) -> torch.Tensor:
        """A K-fold batch (image-major) with sample k put in frame `codes[k]`."""
        if codes is None:
            return images
        folded = images.reshape(-1, len(codes), *images.shape[1:])
        return torch.stack([dihedral(folded[:, k], code) for k, code in enumerate(codes)], 1).flatten(0, 1)

    def start_styles(self, keys: Sequence[ImageKey]) -> torch.Tensor | None:
        """W+ starting styles for an ensemble's K-fold batch: sample 0 at w_avg, sample k at
        w_avg + ψ(mapping(z) − w_avg) with z drawn from (seed, image id, "ensemble/k"); None for K = 1."""
        samples, G = self.samples, self.G
        if samples == 1:
            return None
        w_avg = cast(torch.Tensor, G.mapping.w_avg).detach().float().reshape(1, -1).to(self.device)
        psi = self.ensemble.truncation
        zs = torch.stack([torch.randn(G.z_dim, generator=torch_generator(key.seed, key.image_id, f"ensemble/{k}"))
                          for key in keys for k in range(samples)]).to(self.device)
        labels = torch.zeros(zs.shape[0], G.c_dim, device=self.device) if G.c_dim else None
        with torch.no_grad():
            ws = w_avg + psi * (G.mapping(zs, labels)[:, 0].float() - w_avg)
        ws[::samples] = w_avg
        return ws.unsqueeze(1).repeat(1, G.num_ws, 1)

    def restore(self, target: torch.Tensor, operator: DegradationOperator, keys: Sequence[ImageKey],
                keep_phases: bool = False, on_step: StepCallback | None = None) -> Restoration:
        """Restore a batch: `target` is the degraded batch `[B,C,h,w]`; one latent per image.

        With `ensemble.samples` K > 1 each image is restored K times from different starts
        and the result is their mean (`spread` holds the per-pixel std); `operator` must then be
        realised for `expand_keys(keys, K)`."""
        samples = self.samples
        if samples == 1:
            return self._optimise(target, operator, keys, None, keep_phases, on_step)
        result = self._optimise(target.repeat_interleave(samples, 0), operator, expand_keys(keys, samples),
                                self.start_styles(keys), keep_phases, on_step)
        return result.ensemble_mean(samples)

    def _optimise(self, target: torch.Tensor, operator: DegradationOperator, keys: Sequence[ImageKey],
                  styles: torch.Tensor | None, keep_phases: bool, on_step: StepCallback | None) -> Restoration:
        """Run the phases on a batch (one latent per row of `target`), starting from `styles` or w_avg."""
        G, batch = self.G, target.shape[0]
        codes = self.frame_codes()
        operator = operator.to(self.device)
        operator.restart()
        target = target.to(self.device)
        mask = operator.mask.to(self.device) if operator.mask is not None else None
        prepared = False  # the losses are prepared before the first phase and again when the loss size changes
        prepared_at: tuple[int, int] | None = None
        log: list[dict[str, list[float]]] = [{} for _ in range(batch)]
        failures: dict[int, str] = {}
        alive = torch.ones(batch, dtype=torch.bool, device=self.device)
        phase_images: dict[str, torch.Tensor] = {}
        for plan in self.phases:
            latent = plan.space.initial(G, batch, styles).to(self.device).detach().requires_grad_(True)
            optimizer = plan.optimizer.build(latent, plan.lr, plan.steps)
            scheduler = plan.optimizer.scheduler(optimizer, plan.steps)
            history: list[torch.Tensor] = []
            resolution = self.render_resolution(plan, target)
            loss_size = self.loss_size(plan, target)
            if not prepared or loss_size != prepared_at:
                prepared, prepared_at = True, loss_size
                self.prepare_losses(target, mask, keys, prepared_at)
            for step in range(plan.steps):
                rendered = self.render(plan.space.to_styles(latent, G), codes, self.precision, resolution)
                x = guarded("degradation", operator, partial(operator, rendered))
                if x.shape != target.shape:
                    raise UserError(
                        f"the degraded render is {list(x.shape)} but the target is {list(target.shape)}; the "
                        "degradation's f̂ output does not match its targets or the input images. Check `degradation` "
                        "(e.g. a resizing factor) against the image sizes, or fix the degradation plugin.")
                if loss_size is not None:
                    x = F.interpolate(x, size=loss_size, mode="area")
                total, terms = self.objective(x)
                prior = self.prior(plan.space, latent)
                if prior is not None:
                    total, terms = total + prior, {**terms, "prior": prior}
                finite = torch.isfinite(total)
                newly_bad = alive & ~finite
                for i in newly_bad.nonzero().flatten().tolist():
                    culprits = [describe("loss", t.loss) for t in self.losses
                                if t.name in terms and not torch.isfinite(terms[t.name][i])]
                    failures[i] = (f"the loss became {total[i].item()} at phase {plan.name}, step {step}"
                                   + (f" ({', '.join(culprits)} returned it)" if culprits else "")
                                   + "; this image's optimisation was stopped (try a lower lr_scale)")
                alive = alive & finite
                optimizer.zero_grad(set_to_none=True)
                torch.where(alive, total, torch.zeros_like(total)).sum().backward()
                if latent.grad is not None:
                    latent.grad[~alive] = 0
                    latent.grad.nan_to_num_(0.0, 0.0, 0.0)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                history.append(torch.stack([total, *terms.values()]).detach())
                if on_step is not None:
                    shown = total[alive].mean().item() if alive.any() else math.nan
                    on_step(plan.name, step, plan.steps, shown)
            if history:
                self._record(log, plan.name, ["total", *terms], torch.stack(history))
            styles = plan.space.to_styles(latent, G).detach()
            if keep_phases:
                with torch.no_grad():
                    phase_images[plan.name] = self.render(styles, codes).clamp(0, 1).cpu()
        if styles is None:
            raise ValueError("a restoration needs at least one phase")
        with torch.no_grad():
            restored = self.final_render(styles, codes, keys)
        return Restoration(restored.cpu(), styles.cpu(), phase_images, log, failures)

    def final_render(self, styles: torch.Tensor, codes: list[int] | None, keys: Sequence[ImageKey]) -> torch.Tensor:
        """The restored images: G's constant noise, or the mean over `ensemble.noise_draws` noise draws, each
        seeded by (seed, image id, sample slot, draw) so that a row's result does not depend on its batch."""
        draws = self.ensemble.noise_draws
        if draws == 0:
            return self.render(styles, codes).clamp(0, 1)
        total = self.frame(self.noise_draw(styles, keys, 0), codes).clamp(0, 1)
        for draw in range(1, draws):
            total += self.frame(self.noise_draw(styles, keys, draw), codes).clamp(0, 1)
        return total / draws

    def noise_draw(self, styles: torch.Tensor, keys: Sequence[ImageKey], draw: int) -> torch.Tensor:
        """G's images for `styles` with random noise inputs, row by row from seeded, forked RNG states."""
        devices = [self.device] if self.device.type == "cuda" else []
        rows = []
        for row, key in enumerate(keys):
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(derive_seed(key.seed, key.image_id, f"noise/{row % self.samples}/{draw}"))
                rows.append((self.G.synthesis(styles[row:row + 1], noise_mode="random") + 1) / 2)
        return torch.cat(rows)

    @staticmethod
    def _record(log, phase: str, names: list[str], history: torch.Tensor) -> None:
        """Move a phase's loss history `[steps, terms, B]` to the per-image logs in one transfer."""
        values = history.cpu().permute(2, 1, 0).tolist()
        for i, per_term in enumerate(values):
            for name, series in zip(names, per_term):
                log[i][f"{phase}/{name}"] = series
