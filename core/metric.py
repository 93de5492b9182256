"""Metric components: image-quality measures, paired (per image) or over sets of images."""

from __future__ import annotations

from typing import ClassVar, Sequence

import torch

from restorefw.component import Component


class Metric(Component):
    """A metric. Paired metrics implement `paired(pred, ref) -> [B]`; set metrics (FID, PFID, KID)
    implement `over_sets(preds, refs) -> float`. Images are `[B,C,H,W]` in [0,1]. Metrics that need
    weights raise `MissingWeightsError` naming the file when the weights are absent."""

    kind: ClassVar[str] = "metric"
    lower_is_better: ClassVar[bool] = True
    is_set_metric: ClassVar[bool] = False

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
