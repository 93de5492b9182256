"""Training images: a folder of images or a registered dataset plugin, held in memory as uint8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from restorefw.errors import UserError
from restorefw.imageio import list_images

DATASET_PREFIX = "dataset:"


def resolve_data(data: str, resolution: int, cache_dir: Path, seed: int = 0) -> Path:
    """A folder of training images: `data` itself, or a dataset plugin's train split materialised."""
    if not data.startswith(DATASET_PREFIX):
        return Path(data)
    name = data[len(DATASET_PREFIX):]
    from restorefw.plugins import load_plugins

    registry = load_plugins().registry
    fields = registry.get("dataset", name, path="--data").Params.model_fields
    offered = {"resolution": resolution, "seed": seed}
    params = {key: value for key, value in offered.items() if key in fields}
    dataset = registry.create("dataset", name, params, path="--data")
    target = Path(cache_dir) / f"{name}-{resolution}" / "train"
    dataset.materialize("train", target)
    return target


def load_images(folder: Path, resolution: int, channels: int = 3) -> torch.Tensor:
    """Every image in `folder` as uint8 `[N, C, R, R]`; images must already be R×R."""
    paths = list_images(folder)
    if not paths:
        raise UserError(f"{folder}: no images found. Pass a folder of {resolution}×{resolution} PNG/JPEG "
                        "files, or a dataset such as dataset:aerial.")
    out = np.empty((len(paths), channels, resolution, resolution), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                arr = np.asarray(img.convert("L" if channels == 1 else "RGB"))
        except OSError as exc:
            raise UserError(f"{path}: cannot read this image ({exc}); remove it from the folder.") from None
        if arr.shape[:2] != (resolution, resolution):
            raise UserError(f"{path}: image is {arr.shape[1]}×{arr.shape[0]}, training runs at "
                            f"{resolution}×{resolution}. Resize the folder's images or pass --resolution "
                            f"{arr.shape[0]}.")
        out[i] = arr.reshape(resolution, resolution, channels).transpose(2, 0, 1)
    return torch.from_numpy(out)


def to_float(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 `[N,C,H,W]` → float32 in [-1, 1] on `device`."""
    return batch.to(device).to(torch.float32).mul_(2.0 / 255.0).sub_(1.0)
