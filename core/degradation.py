"""Degradation components: a true operator that makes targets and a differentiable stand-in f̂."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch

from restorefw.component import Component
from restorefw.errors import PluginError


@dataclass(frozen=True)
class ImageKey:
    """Identifies one image of a run; every random draw derives from (seed, image_id, stage)."""

    seed: int
    image_id: str


class DegradationOperator(torch.nn.Module):
    """A degradation realised for one batch of B images of C channels and H×W pixels; its random
    choices (filters, masks, noise seeds) are fixed by `Degradation.realize`.

    - `true(x)`: x float32 `[B, C, H, W]` in [0, 1] (clean images, no gradient needed) → the targets,
      float32 `[B, C', h, w]` in [0, 1] with (h, w) = `output_size(H, W)` and C' = `output_channels(C)`,
      on x's device. Real-world stages should end with a clamp and an 8-bit round trip, as a file would.
    - `forward(x)`: the differentiable stand-in f̂ used inside the loss. x is the generator's image
      mapped to [0, 1] but not clamped (it may stray slightly outside); returns the same shape as
      `true` and must carry gradients to x. Called once per optimisation step.
    - `mask`: None, or float `[B, 1, h, w]` in [0, 1] at the output size, 1 = known pixel; losses
      ignore unknown pixels. `set_mask(mask)` replaces it (restore mode passes the user's masks).
    - `output_size(H, W)` and `output_channels(C)` default to the identity.

    The engine checks once, before the first step, that the targets and f̂'s output have the shape
    these methods announce and that targets lie in [0, 1] (within 1e-3, then clamped: a filter's
    rounding is not an error).
    """

    mask: torch.Tensor | None = None

    def true(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        return height, width

    def output_channels(self, channels: int) -> int:
        return channels

    def set_mask(self, mask: torch.Tensor) -> None:
        """Use `mask` (`[B,1,h,w]`, 1 = known, at the output size) as the known-pixel mask: restore
        mode gives the user's masks this way. Operators whose f̂ uses the mask must honour it."""
        self.mask = mask

    def restart(self) -> None:
        """Go back to the state `realize` left. An f̂ that draws randomness as it runs re-seeds it here;
        the engine calls this before each restoration, so that restoring twice with one operator gives
        one result. The default does nothing."""


class Degradation(Component):
    """A degradation task: `realize(shape, keys, device)` returns the `DegradationOperator` for a
    batch, with every random choice drawn from `restorefw.seeding` with (key.seed, key.image_id,
    a stage name of your own), so that a batch equals its images realised one by one.

    Optional vocabulary, declared as class attributes and read by recipes and `restorefw bench`:
    - `levels`: named presets, weakest first (e.g. ("low", "high")). Only a degradation that declares
      levels accepts `level:` in a recipe; it receives it as the `level` field of its `Params`, which
      must then have one. A degradation without levels never sees a `level` key.
    - `letter`: one character naming the task in bench grids and combinations (e.g. "U" in "UN").
    - `groups`: names of task groups this degradation belongs to (e.g. "single"), usable in bench grids.
    - `order`: its place when bench spells a combination from letters (lower runs first).
    - `default_level`: the level it uses when given none (one of `levels`); bench runs combinations
      at their stages' shared default level unless the grid sets `combination_level`.

    Composition is the core's: a recipe's `degradation: [a, b]` realises a, then b at a's output size
    and channels (`restorefw.composition`); a degradation never needs to know it is composed.
    """

    kind: ClassVar[str] = "degradation"
    levels: ClassVar[tuple[str, ...]] = ()
    letter: ClassVar[str | None] = None
    order: ClassVar[float] = 100.0
    default_level: ClassVar[str | None] = None

    def realize(self, shape: tuple[int, int, int, int], keys: Sequence[ImageKey],
                device: torch.device) -> DegradationOperator:
        """Fix the random choices for a batch of images of `shape` (B, C, H, W), one key per image."""
        raise NotImplementedError

    def for_input(self, path: Path, resolution: tuple[int, int], channels: int = 3,
                  mask: Path | None = None, fit: str = "crop") -> Degradation:
        """Optional, restore mode: the degradation to restore the file `path` with (the generator works
        at `resolution` (H, W) with `channels`; `mask` is the user's mask file for it, if any; `fit`
        is how the run squares a non-square file, `inputs.fit`). A degradation that reads the damage
        from the file itself (e.g. JPEG tables) returns a concrete one; the default is this one."""
        return self

    def describe(self) -> dict[str, Any]:
        """A JSON record of this degradation for manifests; one made by `for_input` may add `found`
        (what was measured) and `summary` (one line, which the run prints)."""
        return {"type": self.name, "params": self.params.model_dump(mode="json")}

    @property
    def label(self) -> str:
        """How messages name this degradation."""
        return self.name


RANGE_TOLERANCE = 1e-3  # rounding in a filter's weights may leave a target a hair outside [0, 1]


def check_output(y: object, expected: tuple[int, ...], who: str, what: str, in_unit_range: bool = False) -> None:
    """Raise PluginError unless `y` is a floating tensor of shape `expected` (and in [0, 1], within
    RANGE_TOLERANCE, if asked)."""
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != tuple(expected):
        got = list(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise PluginError(f"{who}: {what} returned {got}, but the degradation announces {list(expected)} "
                          "(output_size and output_channels of its operator). Fix the plugin so that both agree.")
    if not y.dtype.is_floating_point:
        raise PluginError(f"{who}: {what} returned {y.dtype} values; it must return floating point images in [0, 1].")
    low, high = -RANGE_TOLERANCE, 1 + RANGE_TOLERANCE
    if in_unit_range and y.numel() and (y.min() < low or y.max() > high or not torch.isfinite(y).all()):
        raise PluginError(f"{who}: {what} returned values in [{y.min().item():.3g}, {y.max().item():.3g}]; "
                          "targets must lie in [0, 1] (clamp them).")
