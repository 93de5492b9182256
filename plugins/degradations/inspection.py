"""Read the damage of one input file: scale, JPEG tables, noise, holes; the stages that model it.

What is done, explicitly:
- Scale: the input as the run squares it (`inputs.fit`: crop, pad; stretch keeps h×w) against the
  generator's H×W. Equal: no upsampling stage. H/h = W/w an integer: `factor`. Otherwise (a
  non-integer factor, or unequal factors of a stretched non-square input): `size: [h, w]`, so f̂
  maps the generator's image to exactly h×w (area average per axis). A side larger than the
  generator's is shrunk to it by the run (no stage for that axis); the noise is then measured on
  the shrunk pixels and a JPEG gets no stage (its blocks move), as when the fit's crop or pad
  shifts the image off the 8×8 grid.
- JPEG: a JPEG file's own tables and sampling factors (`restorefw inspect` prints them), used
  exactly by the deartifacting stage; a non-JPEG file with 8×8 blocking is flagged, never guessed.
- Noise: photons N and dropout p fitted from the pixels (noise_estimate.py); a denoising stage is
  added when dropout is seen (p ≥ 1%) or the noise at mid-grey exceeds NOISE_SIGMA.
- Holes: only from the user's mask (`inputs.masks`; the run applies it) or, without one, the file's
  alpha channel (transparent = hole); holes are never guessed from the pixels. Either keeps the
  holes out of the noise fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from restorefw.errors import UserError
from restorefw.imageio import fit_square
from restorefw_plugins.degradations.blocking import FLAG_ABOVE, blockiness
from restorefw_plugins.degradations.jpeg import from_pil_image, quant_table
from restorefw_plugins.degradations.jpeg_header import JpegHeader, NotAJpeg, read_jpeg_header
from restorefw_plugins.degradations.noise_estimate import MIN_PAIRS, estimate_noise
from restorefw_plugins.degradations.strokes import load_mask_file

ORDER = ("upsampling", "denoising", "deartifacting", "inpainting")
NOISE_SIGMA = 0.067
MIN_DROP = 0.01


@dataclass
class Inspection:
    """What one file showed: the stages (task, params) in U→N→A→P order and the measurements."""

    file: str
    size: tuple[int, int]
    stages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: the stages and the key figures."""
        parts = [describe_stage(task, params, self.found) for task, params in self.stages] or ["no damage found"]
        return "; ".join(parts + self.notes)


def describe_stage(task: str, params: dict[str, Any], found: dict[str, Any]) -> str:
    if task == "upsampling":
        scale = found.get("scale", {})
        how = f"×{params['factor']}" if "factor" in params else f"to {params['size'][0]}×{params['size'][1]}"
        return f"upsampling {how} (factor {scale.get('factor_hw')})"
    if task == "denoising":
        noise = found.get("noise", {})
        return (f"denoising N={params.get('photons', 0):.1f} p={params.get('drop', 0):.3f} "
                f"(σ at mid-grey {noise.get('sigma_at_half')})")
    if task == "deartifacting":
        jpeg = found.get("jpeg", {})
        like = f", = quality {jpeg['ijg_quality']} tables" if jpeg.get("ijg_quality") else ", custom tables"
        return f"deartifacting with the file's tables ({jpeg.get('subsampling')}{like})"
    if task == "inpainting":
        holes = found.get("holes", {})
        if holes.get("source") == "alpha":
            return f"inpainting from the alpha channel ({holes.get('hole_fraction', 0):.1%} holes)"
        return f"inpainting from {holes.get('file', params.get('mask'))}"
    return task


def _ijg_quality(tables: list[np.ndarray]) -> int | None:
    """The IJG quality whose tables these are (as PIL/libjpeg write them), or None for custom tables."""
    for quality in range(1, 101):
        expected = [quant_table(quality, chroma=i > 0) for i in range(len(tables))]
        if all(np.array_equal(a, b) for a, b in zip(tables, expected)):
            return quality
    return None


def scale_stage(height: int, width: int, resolution: tuple[int, int]) -> tuple[dict[str, Any] | None, dict]:
    """The upsampling parameters (None: no stage) for an h×w input and a generator of `resolution`."""
    rh, rw = resolution
    out_h, out_w = min(height, rh), min(width, rw)
    finding: dict[str, Any] = {"input": [height, width], "generator": [rh, rw],
                               "factor_hw": [round(rh / height, 4), round(rw / width, 4)]}
    if (height, width) != (out_h, out_w):
        finding["shrunk_by_run"] = [out_h, out_w]
    if (out_h, out_w) == (rh, rw):
        return None, finding
    if rh % out_h == 0 and rw % out_w == 0 and rh // out_h == rw // out_w:
        finding["exact"] = True
        return {"factor": rh // out_h}, finding
    finding["exact"] = False
    return {"size": [out_h, out_w]}, finding


FLIPPED_AXES = {2: "w", 3: "hw", 4: "h", 6: "h", 7: "hw", 8: "w"}  # EXIF orientation → axes it reverses


def jpeg_stage(header: JpegHeader, channels: int, orientation: int = 1) -> tuple[dict[str, Any] | None, dict]:
    """Deartifacting parameters carrying the file's own tables and sampling factors, in the frame the
    run reads the image in (EXIF orientation 5–8 transposes it, and with it the tables and factors)."""
    finding: dict[str, Any] = {"colour": header.colour, "subsampling": header.subsampling,
                               "sampling": [list(s) for s in header.sampling], "progressive": header.progressive}
    if header.colour not in ("grey", "ycbcr"):
        finding["unsupported"] = f"{header.colour} JPEG: no differentiable codec for it, no deartifacting stage"
        return None, finding
    tables = header.component_tables()
    finding["tables"] = [t.ravel().tolist() for t in tables]
    finding["ijg_quality"] = _ijg_quality(tables)
    mcu = (8 * max(v for _, v in header.sampling), 8 * max(h for h, _ in header.sampling))
    flipped = FLIPPED_AXES.get(orientation, "")
    if ("h" in flipped and header.height % mcu[0]) or ("w" in flipped and header.width % mcu[1]):
        finding["unsupported"] = (f"EXIF orientation {orientation} flips this {header.width}×{header.height} JPEG "
                                  "off its 8×8 block grid: no deartifacting stage")
        return None, finding
    if orientation >= 5:
        tables = [t.T for t in tables]
    if header.colour == "grey":
        sampling = [[1, 1]] * (3 if channels == 3 else 1)
    else:
        sampling = [[v, h] if orientation >= 5 else [h, v] for h, v in header.sampling]
    return {"tables": [t.ravel().tolist() for t in tables], "sampling": sampling}, finding


def _alpha(path: Path) -> np.ndarray | None:
    with Image.open(path) as img:
        if img.mode not in ("RGBA", "LA", "PA") and "transparency" not in img.info:
            return None
        alpha = np.asarray(ImageOps.exif_transpose(img).convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
    return alpha if alpha.min() < 1.0 else None


def _known(alpha: np.ndarray | None, mask: Path | None, size: tuple[int, int], fit: str) -> torch.Tensor | None:
    """Where the pixels are known (for the noise fit): the user's mask if given, else the alpha channel."""
    if mask is not None:
        return torch.from_numpy(load_mask_file(mask, *size, fit="stretch" if fit == "refuse" else fit))
    return torch.from_numpy(alpha) if alpha is not None else None


def _as_run_sees(pixels: torch.Tensor, known: torch.Tensor | None,
                 shrunk: list[int] | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The pixels (and known-pixel mask) at the size the run restores them: shrunk like the run does
    (antialiased bicubic) when the file is larger than the generator."""
    if not shrunk:
        return pixels, known
    size = (int(shrunk[0]), int(shrunk[1]))
    small = F.interpolate(pixels[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0]
    small = small.clamp(0, 1).mul(255).round().div(255)
    if known is not None:
        known = F.interpolate(known.reshape(1, 1, *known.shape[-2:]), size=size, mode="bilinear",
                              align_corners=False, antialias=True)[0]
    return small, known


def _fitted(pixels: torch.Tensor, alpha: np.ndarray | None, fit: str, path: Path):
    """The pixels and alpha as the run squares them (`inputs.fit`), and the original's offset in them."""
    height, width = pixels.shape[-2:]
    if height == width or fit in ("stretch", "refuse"):
        return pixels, alpha, (0, 0)
    square, _ = fit_square(pixels, fit, path)
    if alpha is not None:
        alpha = fit_square(torch.from_numpy(alpha)[None], fit, path)[0][0].numpy()
    side = square.shape[-1]
    offset = ((height - side) // 2, (width - side) // 2) if fit == "crop" else ((side - height) // 2,
                                                                              (side - width) // 2)
    return square, alpha, offset


def inspect_file(path: str | Path, resolution: tuple[int, int], channels: int = 3,
                 mask: Path | None = None, fit: str = "crop") -> Inspection:
    """Everything auto reads from the file at `path` for a generator of `resolution` and `channels`;
    `mask` is the user's mask for it (white = known), which also keeps the holes out of the noise fit;
    `fit` is how the run makes a non-square file square (`inputs.fit`)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            orientation = int(img.getexif().get(0x0112, 1) or 1)
            img = ImageOps.exif_transpose(img)
            width, height = img.size
            pixels = from_pil_image(img.convert("L" if channels == 1 else "RGB"))
        header = read_jpeg_header(path)
        alpha = _alpha(path)
    except (OSError, ValueError, SyntaxError, NotAJpeg) as exc:
        raise UserError(f"{path}: cannot inspect this image ({exc}). Check that it is a complete image file.") from None
    found: dict[str, Any] = {}
    stages: list[tuple[str, dict[str, Any]]] = []
    notes: list[str] = []
    pixels, alpha, offset = _fitted(pixels, alpha, fit, path)
    if pixels.shape[-2:] != (height, width):
        notes.append(f"{width}×{height} made square by inputs.fit ({fit}): measured as {pixels.shape[-1]}² ")
        height, width = pixels.shape[-2:]
    upsampling, found["scale"] = scale_stage(height, width, resolution)
    if upsampling is not None:
        stages.append(("upsampling", upsampling))
    shrunk = found["scale"].get("shrunk_by_run")
    noise = estimate_noise(*_as_run_sees(pixels, _known(alpha, mask, (height, width), fit), shrunk))
    found["noise"] = noise.as_dict()
    if noise.drop >= MIN_DROP or noise.sigma_half >= NOISE_SIGMA:
        stages.append(("denoising", {"photons": round(noise.photons, 2), "drop": round(noise.drop, 4)}))
    if header is not None:
        deartifacting, found["jpeg"] = jpeg_stage(header, channels, orientation)
        mcu = (8 * max(v for _, v in header.sampling), 8 * max(h for h, _ in header.sampling))
        mcu = mcu[::-1] if orientation >= 5 else mcu
        if deartifacting is not None and (offset[0] % mcu[0] or offset[1] % mcu[1]):
            notes.append(f"JPEG tables read, but inputs.fit ({fit}) shifts the image by {list(offset)} pixels, off "
                         "its 8×8 block grid: no deartifacting stage (crop the photo square at a multiple of "
                         f"{max(mcu)} pixels, or use inputs.fit: stretch)")
        elif deartifacting is not None and shrunk:
            notes.append(f"JPEG tables read, but the run shrinks this {height}×{width} image to {shrunk[0]}×"
                         f"{shrunk[1]}, which moves the 8×8 blocks off their grid: no deartifacting stage (crop "
                         "or resize the photo to the generator's size first)")
        elif deartifacting is not None:
            stages.append(("deartifacting", deartifacting))
        else:
            notes.append(found["jpeg"]["unsupported"])
    else:
        score = blockiness(pixels)
        found["blockiness"] = round(score, 3)
        if score > FLAG_ABOVE:
            notes.append(f"8×8 blocking {score:.2f}: probably a decoded JPEG; its tables are not in this file, so "
                         "no deartifacting stage (add one in the recipe if you know the quality)")
    if mask is not None:
        found["holes"] = {"source": "user mask", "file": str(mask)}
        stages.append(("inpainting", {"mask": str(mask), "mask_fit": "stretch" if fit == "refuse" else fit}))
    elif alpha is not None:
        found["holes"] = {"source": "alpha", "hole_fraction": round(float((alpha < 0.5).mean()), 4)}
        stages.append(("inpainting", {"mask": str(path), "mask_channel": "alpha", "fill": 1.0,
                                      "mask_fit": "stretch" if fit == "refuse" else fit}))
    if noise.pairs < MIN_PAIRS:
        found["noise"]["note"] = f"too few usable pixels ({noise.pairs}) to estimate noise"
    return Inspection(str(path), (height, width), stages, found, notes)
