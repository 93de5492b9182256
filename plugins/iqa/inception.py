"""torch-fidelity's Inception-v3 feature extractor (`inception-v3-compat`) with controlled weights.

The weights path is always given to torch-fidelity, so it never downloads. `random_inception_weights`
writes a seeded random state dict in the same format, for offline tests and smoke runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator
from unittest import mock

import torch

from restorefw_plugins.iqa import weights

EXTRACTOR_NAME = "inception-v3-compat"
FEATURES = ("64", "192", "768", "2048", "logits_unbiased")


def _extractor_class():
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return FeatureExtractorInceptionV3


def build_extractor(weights_path: str | os.PathLike | None = None, device: torch.device | str = "cpu"):
    """The Inception feature extractor producing 2048-d pool features and unbiased logits."""
    path = weights.find("inception-fid", weights_path)
    try:
        model = _extractor_class()(EXTRACTOR_NAME, list(FEATURES), feature_extractor_weights_path=str(path))
    except (RuntimeError, KeyError) as exc:
        raise weights.MissingWeightsError(
            f"{path} could not be loaded as Inception FID weights ({str(exc)[:200]}). Expected "
            f"{weights.TABLE['inception-fid'].filename} (sha256 {weights.TABLE['inception-fid'].sha256}).") from None
    return model.to(device).eval().requires_grad_(False)


def random_inception_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a seeded random state dict for torch-fidelity's Inception to `path` (for offline tests)."""
    cls = _extractor_class()
    with torch.random.fork_rng(devices=[]), mock.patch.object(cls, "load_state_dict", lambda self, sd: None), \
            mock.patch("torch_fidelity.feature_extractor_inceptionv3.torch.load", lambda *a, **k: {}):
        torch.manual_seed(seed)
        model = cls(EXTRACTOR_NAME, ["2048"], feature_extractor_weights_path="unused")
        for conv in model.modules():
            if isinstance(conv, torch.nn.Conv2d):  # He init keeps activations O(1) through 90+ layers
                fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
                torch.nn.init.normal_(conv.weight, 0.0, (2.0 / fan_in) ** 0.5)
    path = Path(path)
    torch.save(model.state_dict(), path)
    return path


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[B,C,H,W] in [0,1] → uint8 RGB (grey images repeated to 3 channels), as image files would be."""
    x = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def batches(images: Iterable[torch.Tensor], size: int) -> Iterator[torch.Tensor]:
    """Regroup a stream of [b,C,H,W] tensors (equal H,W within a batch) into batches of ≤ size."""
    pending: list[torch.Tensor] = []
    count = 0
    for chunk in images:
        for img in chunk:
            if pending and pending[0].shape != img.shape:
                yield torch.stack(pending)
                pending, count = [], 0
            pending.append(img)
            count += 1
            if count == size:
                yield torch.stack(pending)
                pending, count = [], 0
    if pending:
        yield torch.stack(pending)


@torch.no_grad()
def extract(model, images: Iterable[torch.Tensor], batch_size: int = 50) -> dict[str, torch.Tensor]:
    """Features {'64','192','768','2048': pool features, 'logits_unbiased': [N,1008]} (float32, CPU)."""
    device = next(model.parameters()).device
    out: dict[str, list[torch.Tensor]] = {k: [] for k in FEATURES}
    for batch in batches(images, batch_size):
        feats = model(to_uint8(batch).to(device))
        for key, value in zip(FEATURES, feats):
            out[key].append(value.float().cpu())
    if not out["2048"]:
        raise ValueError("no images to extract features from")
    return {k: torch.cat(v) for k, v in out.items()}
