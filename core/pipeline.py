"""One batch through a built recipe: read the images, make the targets, restore, score."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, Sequence

import torch
import torch.nn.functional as F

from restorefw.build import Built
from restorefw.degradation import Degradation, DegradationOperator, ImageKey, check_output
from restorefw.engine import Identity, Restoration, expand_keys
from restorefw.errors import UserError
from restorefw.evaluation import paired_scores
from restorefw.imageio import fit_square, load_image
from restorefw.inputs import InputImage
from restorefw.metric import like
from restorefw.per_input import realize_each
from restorefw.progress import Progress
from restorefw.provenance import guarded

Mode = Literal["benchmark", "restore"]


def resize(images: torch.Tensor, size: tuple[int, int], antialias: bool = False) -> torch.Tensor:
    """`[C,H,W]` or `[B,C,H,W]` resized bicubically to `size` and clamped to [0,1]; a copy when already that size."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images.clone()
    batch = images if images.dim() == 4 else images[None]
    resized = F.interpolate(batch, size=size, mode="bicubic", align_corners=False, antialias=antialias).clamp(0, 1)
    return resized if images.dim() == 4 else resized[0]


def resize_clean(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A clean benchmark image `[C,H,W]` (already made square by `inputs.fit`) at the generator's `size`, as
    RUSIR resizes: area averaging when shrinking; enlarging (which RUSIR never needs) is bicubic."""
    if image.shape[-2] >= size[0] and image.shape[-1] >= size[1]:
        return F.interpolate(image[None], size=size, mode="area")[0]
    return resize(image, size, antialias=True)


@dataclass
class BatchResult:
    """What restoring one batch produced, image by image (index i of every tensor is `items[i]`)."""

    items: list[InputImage]
    target: torch.Tensor
    clean: torch.Tensor | None  # ground truths (benchmark mode)
    baseline: torch.Tensor  # the target bicubically upsampled to the generator's size
    mask: torch.Tensor | None
    restoration: Restoration
    seconds: float  # per image
    degraded_restored: torch.Tensor  # f(restored) by the realised operator, compared with the target ("fidelity")
    scores: dict[str, dict[str, list[float] | None]] = field(default_factory=dict)  # group → metric → per image
    not_measured: dict[str, dict[str, str]] = field(default_factory=dict)  # group → metric → why n/a
    notes: dict[str, list[str]] = field(default_factory=dict)  # image id → what reading its file changed


class Pipeline:
    """Restores batches of input images with a built recipe; `mode` says whether inputs are clean
    (benchmark: degraded here by the true operator) or already degraded (restore)."""

    def __init__(self, built: Built, mode: Mode, seed: int, keep_phases: bool = False, fit: str = "crop",
                 per_image: dict[str, Degradation] | None = None) -> None:
        self.built, self.mode, self.seed, self.keep_phases, self.fit = built, mode, seed, keep_phases, fit
        self.per_image = per_image or {}
        self.G, self.device, self.restorer = built.generator, built.device, built.restorer

    def read(self, path, channels: int) -> tuple[torch.Tensor, list[str]]:
        """An input file made square by `inputs.fit`, and notes on what reading and fitting it changed."""
        image, notes = load_image(path, channels)
        image, note = fit_square(image, self.fit, path)
        return image, notes + ([note] if note else [])

    @property
    def resolution(self) -> tuple[int, int]:
        return self.G.img_resolution, self.G.img_resolution

    @property
    def channels(self) -> int:
        return self.G.img_channels

    @property
    def degradation_label(self) -> str:
        degradation = self.built.degradation
        return f"degradation {degradation.label!r}" if degradation is not None else "no degradation"

    def operator(self, items: Sequence[InputImage], keys: Sequence[ImageKey]) -> DegradationOperator:
        """The batch's realised operator (`keys`: `len(keys) // len(items)` rows per image); images with
        their own degradations (restore mode, see per_input.py) each go through theirs."""
        degradation = self.built.degradation
        if degradation is None:
            return Identity()
        own = [self.per_image.get(item.image_id, degradation) for item in items]
        return realize_each(own, keys, len(keys) // len(items), (self.channels, *self.resolution), self.device)

    def load(self, items: Sequence[InputImage], keys: Sequence[ImageKey]):
        """Targets, ground truths (benchmark mode), the realised operator for the batch, and the one
        the engine optimises through (realised for the K-fold batch when the recipe has an ensemble)."""
        samples = self.restorer.samples
        operator = self.operator(items, keys)
        engine_operator = operator if samples == 1 else self.operator(items, expand_keys(keys, samples))
        size = operator.output_size(*self.resolution)
        expected = (len(items), operator.output_channels(self.channels), *size)
        if self.mode == "benchmark":
            clean = torch.stack([resize_clean(self.read(item.path, self.channels)[0], self.resolution)
                                 for item in items])
            with torch.no_grad():
                target = guarded("degradation", operator, lambda: operator.true(clean.to(self.device))).cpu()
            check_output(target, expected, self.degradation_label, "the true operator", in_unit_range=True)
            return target.clamp(0, 1), clean, operator, engine_operator
        target = torch.stack([resize(self.read(item.path, expected[1])[0], size, antialias=True) for item in items])
        if any(item.mask is not None for item in items):
            masks = torch.stack([(resize(self.read(item.mask, 1)[0], size, antialias=True).round()
                                  if item.mask is not None else torch.ones(1, *size))
                                 for item in items]).to(self.device)
            operator.set_mask(masks)
            engine_operator.set_mask(masks.repeat_interleave(samples, 0))
        return target, None, operator, engine_operator

    def restore(self, items: Sequence[InputImage],
                progress: Progress | None = None) -> tuple[BatchResult | None, list[str]]:
        """Restore `items` as one batch; unreadable images are left out and reported as problems
        (images whose optimisation failed are in the result, see `Restoration.failures`). The result is
        not scored yet: `score` it after writing the restorations, so that no metric can cost them."""
        problems: list[str] = []
        readable: list[InputImage] = []
        notes: dict[str, list[str]] = {}
        for item in items:
            try:
                notes[item.image_id] = self.read(item.path, self.channels)[1]
                readable.append(item)
            except UserError as exc:
                problems.append(str(exc))
        if not readable:
            return None, problems
        keys = [ImageKey(self.seed, item.image_id) for item in readable]
        target, clean, operator, engine_operator = self.load(readable, keys)
        started = time.perf_counter()
        on_step = progress.callback(", ".join(item.image_id for item in readable)) if progress is not None else None
        result = self.restorer.restore(target, engine_operator, keys, keep_phases=self.keep_phases, on_step=on_step)
        elapsed = time.perf_counter() - started
        baseline = resize(target, self.resolution)
        if clean is not None:
            baseline = like(baseline, clean)
        with torch.no_grad():
            degraded_restored = operator(result.restored.to(self.device)).cpu().clamp(0, 1)
        mask = operator.mask.cpu() if operator.mask is not None else None
        return BatchResult(list(readable), target, clean, baseline, mask, result, elapsed / len(readable),
                           degraded_restored, notes=notes), problems

    def score(self, batch: BatchResult) -> None:
        """Fill `batch.scores` (and `batch.not_measured` for metrics that cannot measure some group's images)."""
        comparisons = {"fidelity": (batch.degraded_restored, batch.target)}
        if batch.clean is not None:
            comparisons = {"restored": (batch.restoration.restored, batch.clean),
                           "baseline": (batch.baseline, batch.clean), **comparisons}
        for group, (pred, ref) in comparisons.items():
            batch.scores[group] = paired_scores(self.built.metrics, pred, ref, group)
            batch.not_measured[group] = {slot.name: slot.not_measured[group] for slot in self.built.metrics
                                         if batch.scores[group].get(slot.name, 0) is None}
