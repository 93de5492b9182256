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
