"""Metric components: image-quality measures, paired (per image) or over sets of images."""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch

from restorefw.component import Component


class Metric(Component):
    """An image-quality measure, always called under `torch.no_grad()`.

    - Paired (`is_set_metric = False`): `paired(pred, ref)` with pred and ref float32 `[B, C, H, W]`
      in [0, 1], same shape (the core converts channel counts so that like is compared with like),
      returns float `[B]`, one score per image.
    - Set (`is_set_metric = True`): `over_sets(preds, refs)` with two lists of float32 `[1, C, H, W]`
      images in [0, 1] (sizes may differ between lists' items), returns one float.
    - `lower_is_better` orders tables' arrows; `display_name` (default: `name`) heads table columns and
      `decimals` (default 3) rounds them.
    - A metric that is a torch module (or has `.to`) is moved to the run's device. Pretrained weights
      that are absent raise `restorefw.errors.MissingWeightsError` naming the file: the run reports the
      metric as unavailable and goes on. A metric that cannot measure these images (e.g. too small)
      raises `restorefw.errors.UserError` with the reason.
    - `groups` the core reads: "default" (measured by recipes without `metrics:`), "folders" and
      "generator" (defaults of `restorefw evaluate`), "paper" (bench grids without `metrics:`) and
      "paper-<layout>" (that bench table's default columns); members keep registration order.
    """

    kind: ClassVar[str] = "metric"
    lower_is_better: ClassVar[bool] = True
    is_set_metric: ClassVar[bool] = False
    display_name: ClassVar[str | None] = None
    decimals: ClassVar[int] = 3

    def paired(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def over_sets(self, preds: Sequence[torch.Tensor], refs: Sequence[torch.Tensor]) -> float:
        raise NotImplementedError


def like(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """`images` with `reference`'s channel count, so that paired metrics compare like with like: grey
    images are repeated to colour, colour images become grey (ITU-R BT.601 luma)."""
    have, want = images.shape[1], reference.shape[1]
    if have == want:
        return images
    if have == 1:
        return images.expand(-1, want, -1, -1).clone()
    if have == 3 and want == 1:
        weights = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype, device=images.device)
        return (images * weights.reshape(1, 3, 1, 1)).sum(1, keepdim=True)
    raise ValueError(f"cannot compare {have}-channel images with {want}-channel ones")
