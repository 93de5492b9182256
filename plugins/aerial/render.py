"""Procedural synthetic aerial (drone) tiles: farmland, villages and lakes, seeded and vectorised.

Each tile is drawn at `supersample`× its output size and box-averaged down, so edges are
anti-aliased. The domain is deliberately small: a fixed sun direction (shadows fall to the lower
right), a restricted palette and three layouts, with structure at several scales — field
boundaries and water bodies (large), roads and houses (medium), crop rows, roof ridges, tree
crowns and shadows (fine) — so that downsampling, noise, JPEG and holes each remove something a
prior can put back.
"""

from __future__ import annotations

import numpy as np

PALETTE: dict[str, tuple[float, float, float]] = {
    "grass": (0.38, 0.52, 0.26),
    "meadow": (0.50, 0.60, 0.30),
    "crop_green": (0.28, 0.50, 0.20),
    "crop_yellow": (0.80, 0.72, 0.38),
    "soil": (0.55, 0.42, 0.29),
    "soil_dark": (0.38, 0.29, 0.20),
    "track": (0.66, 0.59, 0.46),
    "asphalt": (0.40, 0.40, 0.42),
    "roof_red": (0.66, 0.28, 0.20),
    "roof_grey": (0.58, 0.58, 0.60),
    "roof_dark": (0.30, 0.31, 0.36),
    "tree": (0.16, 0.32, 0.14),
    "water": (0.14, 0.30, 0.42),
    "sand": (0.76, 0.70, 0.54),
}
CROP_PAIRS = (("crop_green", "soil"), ("crop_yellow", "soil"), ("crop_green", "soil_dark"),
              ("crop_yellow", "crop_green"), ("meadow", "grass"))
ROOFS = ("roof_red", "roof_grey", "roof_dark")
SUN = np.array([0.7071, 0.7071], dtype=np.float32)  # shadows are cast towards +x, +y
LAYOUTS = ("fields", "village", "lake")
LAYOUT_WEIGHTS = (0.45, 0.35, 0.20)


def _colour(rng: np.random.Generator, name: str, jitter: float = 0.04) -> np.ndarray:
    base = np.asarray(PALETTE[name], dtype=np.float32)
    return np.clip(base * (1.0 + rng.uniform(-jitter, jitter, 3)).astype(np.float32), 0, 1)


class Canvas:
    """An RGB float32 image at render resolution with pixel-centre coordinates in [0, 1)."""

    def __init__(self, size: int) -> None:
        self.size = size
        c = (np.arange(size, dtype=np.float32) + 0.5) / size
        self.x = np.broadcast_to(c[None, :], (size, size))
        self.y = np.broadcast_to(c[:, None], (size, size))
        self.img = np.zeros((size, size, 3), dtype=np.float32)

    def window(self, cx: float, cy: float, r: float) -> tuple[slice, slice]:
        """Row/column slices covering the square of half-side `r` around (cx, cy)."""
        n = self.size
        x0, x1 = int(max(0, np.floor((cx - r) * n))), int(min(n, np.ceil((cx + r) * n)))
        y0, y1 = int(max(0, np.floor((cy - r) * n))), int(min(n, np.ceil((cy + r) * n)))
        return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))

    def paint(self, mask: np.ndarray, colour: np.ndarray, win: tuple[slice, slice] | None = None) -> None:
        target = self.img if win is None else self.img[win]
        target[mask] = colour

    def shade(self, mask: np.ndarray, factor: float, win: tuple[slice, slice] | None = None) -> None:
        target = self.img if win is None else self.img[win]
        target[mask] *= factor


def smooth_field(rng: np.random.Generator, cv: Canvas, n: int = 4, fmin: float = 0.6,
                 fmax: float = 2.2) -> np.ndarray:
    """A smooth random field of unit-ish amplitude: a sum of `n` random plane waves."""
    out = np.zeros((cv.size, cv.size), dtype=np.float32)
    for _ in range(n):
        a = rng.uniform(0, np.pi)
        f = rng.uniform(fmin, fmax) * 2 * np.pi
        out += np.cos(f * (cv.x * np.cos(a) + cv.y * np.sin(a)) + rng.uniform(0, 2 * np.pi))
    return out / np.sqrt(n / 2)


def ground(rng: np.random.Generator, cv: Canvas, name: str, amp: float = 0.06) -> None:
    """Fill the canvas with a base colour mottled by a smooth field."""
    field = smooth_field(rng, cv, n=3, fmin=1.0, fmax=3.0)
    cv.img[:] = _colour(rng, name)[None, None, :] * (1.0 + amp * field[..., None])


def crop_rows(rng: np.random.Generator, cv: Canvas, mask: np.ndarray, out_size: int) -> None:
    """Stripes of two crop/soil colours inside `mask`, at a random angle and period."""
    a_name, b_name = CROP_PAIRS[rng.integers(len(CROP_PAIRS))]
    ca, cb = _colour(rng, a_name), _colour(rng, b_name)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(3.0, 6.0) / out_size
    duty = rng.uniform(-0.3, 0.3)
    phase = (cv.x * np.cos(angle) + cv.y * np.sin(angle)) / period
    stripe = np.cos(2 * np.pi * phase) > duty
    cv.paint(mask & stripe, ca)
    cv.paint(mask & ~stripe, cb)


def line_distance(cv: Canvas, px: float, py: float, angle: float) -> np.ndarray:
    """Signed distance of every pixel to the line through (px, py) with direction `angle`."""
    return (cv.x - px) * -np.sin(angle) + (cv.y - py) * np.cos(angle)


def tree(rng: np.random.Generator, cv: Canvas, cx: float, cy: float, r: float, colour: np.ndarray) -> None:
    """A round crown lit from the upper left, with its shadow cast to the lower right."""
    off = SUN * r * 0.9
    win = cv.window(cx + off[0] / 2, cy + off[1] / 2, r + float(np.abs(off).max()))
    x, y = cv.x[win], cv.y[win]
    shadow = (x - cx - off[0]) ** 2 + (y - cy - off[1]) ** 2 < r * r
    cv.shade(shadow, 0.55, win)
    dx, dy = (x - cx) / r, (y - cy) / r
    crown = dx * dx + dy * dy < 1.0
    light = 1.0 - 0.35 * (dx * SUN[0] + dy * SUN[1])
    region = cv.img[win]
    region[crown] = colour[None, :] * light[crown][:, None]


def house(rng: np.random.Generator, cv: Canvas, cx: float, cy: float, angle: float,
          hw: float, hh: float, colour: np.ndarray) -> None:
    """A gable-roofed house: rectangle with a ridge along its long side and a cast shadow."""
    ca, sa = np.cos(angle), np.sin(angle)
    reach = float(np.hypot(hw, hh))
    off = SUN * 0.7 * min(hw, hh) * 1.6
    win = cv.window(cx + off[0] / 2, cy + off[1] / 2, reach + float(np.abs(off).max()))
    x, y = cv.x[win], cv.y[win]

    def local(ox: float, oy: float) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = x - cx - ox, y - cy - oy
        return dx * ca + dy * sa, -dx * sa + dy * ca

    sx, sy = local(off[0], off[1])
    cv.shade((np.abs(sx) < hw) & (np.abs(sy) < hh), 0.55, win)
    lx, ly = local(0.0, 0.0)
    body = (np.abs(lx) < hw) & (np.abs(ly) < hh)
    # The ridge runs along local x; the half facing the sun is brighter.
    normal_y = np.array([-sa, ca], dtype=np.float32)
    lit_side = -1.0 if float(normal_y @ SUN) > 0 else 1.0
    lit = (ly * lit_side) > 0
    cv.paint(body & lit, np.clip(colour * 1.15, 0, 1), win)
    cv.paint(body & ~lit, colour * 0.78, win)


def road(rng: np.random.Generator, cv: Canvas, px: float, py: float, angle: float, width: float,
         colour: np.ndarray) -> np.ndarray:
    """A straight road band; returns its mask."""
    d = np.abs(line_distance(cv, px, py, angle))
    mask = d < width / 2
    cv.paint(mask, colour)
    cv.shade((d >= width / 2) & (d < width / 2 + 0.6 / 64), 0.85)
    return mask


def layout_fields(rng: np.random.Generator, cv: Canvas, out_size: int) -> None:
    """2–8 fields with crop rows, split by straight tracks, sometimes a hedge of trees."""
    ground(rng, cv, "grass")
    lines = [(rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0, np.pi))
             for _ in range(int(rng.integers(1, 4)))]
    region = np.zeros((cv.size, cv.size), dtype=np.int32)
    for i, (px, py, a) in enumerate(lines):
        region |= (line_distance(cv, px, py, a) > 0).astype(np.int32) << i
    for rid in np.unique(region):
        crop_rows(rng, cv, region == rid, out_size)
    track = _colour(rng, "track")
    width = rng.uniform(1.0, 1.8) / out_size
    for px, py, a in lines:
        cv.paint(np.abs(line_distance(cv, px, py, a)) < width / 2, track)
    if rng.random() < 0.5:
        px, py, a = lines[0]
        colour = _colour(rng, "tree")
        r = rng.uniform(1.0, 1.6) / out_size
        step = 2.2 * r
        t = rng.uniform(-0.1, 0.0)
        while t < 1.5:
            tx = px + (t - 0.7) * np.cos(a) + 1.3 * r * -np.sin(a)
            ty = py + (t - 0.7) * np.sin(a) + 1.3 * r * np.cos(a)
            if -r < tx < 1 + r and -r < ty < 1 + r and rng.random() < 0.85:
                tree(rng, cv, tx, ty, r * rng.uniform(0.8, 1.15), colour)
            t += step


def layout_village(rng: np.random.Generator, cv: Canvas, out_size: int) -> None:
    """A road with houses along both sides and scattered trees on grass."""
    ground(rng, cv, rng.choice(["grass", "meadow"]), amp=0.08)
    angle = rng.choice([0.0, np.pi / 2]) + rng.normal(0, 0.25)
    px, py = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
    width = rng.uniform(2.0, 3.2) / out_size
    road(rng, cv, px, py, angle, width, _colour(rng, "asphalt"))
    if rng.random() < 0.35:
        road(rng, cv, rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), angle + np.pi / 2,
             width * 0.8, _colour(rng, "asphalt"))
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-np.sin(angle), np.cos(angle)])
    roof = ROOFS[rng.integers(len(ROOFS))]
    spacing = rng.uniform(7.0, 10.0) / out_size
    for side in (-1.0, 1.0):
        t = -0.8 + rng.uniform(0, spacing)
        while t < 0.8:
            hw = rng.uniform(2.0, 3.0) / out_size
            hh = rng.uniform(1.4, 2.0) / out_size
            setback = width / 2 + hh + rng.uniform(1.0, 2.5) / out_size
            c = np.array([px, py]) + t * direction + side * setback * normal
            if -0.05 < c[0] < 1.05 and -0.05 < c[1] < 1.05 and rng.random() < 0.85:
                name = roof if rng.random() < 0.7 else ROOFS[rng.integers(len(ROOFS))]
                house(rng, cv, float(c[0]), float(c[1]), angle, hw, hh, _colour(rng, name))
            t += spacing
    colour = _colour(rng, "tree")
    for _ in range(int(rng.integers(2, 9))):
        cx, cy = rng.uniform(0, 1, 2)
        if abs((cx - px) * normal[0] + (cy - py) * normal[1]) < width / 2 + 6.0 / out_size:
            continue
        tree(rng, cv, float(cx), float(cy), rng.uniform(1.0, 2.2) / out_size, colour)


def layout_lake(rng: np.random.Generator, cv: Canvas, out_size: int) -> None:
    """A lake with a sandy shore, grass or a crop field around it, trees along the bank."""
    if rng.random() < 0.5:
        ground(rng, cv, "grass")
    else:
        crop_rows(rng, cv, np.ones((cv.size, cv.size), dtype=bool), out_size)
    level = smooth_field(rng, cv, n=3, fmin=0.5, fmax=1.5)
    level += 1.6 * (1.0 - 2.0 * np.hypot(cv.x - rng.uniform(0.2, 0.8), cv.y - rng.uniform(0.2, 0.8)))
    thr = rng.uniform(0.2, 0.8)
    shore = rng.uniform(0.15, 0.3)
    cv.paint(level > thr - shore, _colour(rng, "sand"))
    water = level > thr
    deep = smooth_field(rng, cv, n=2, fmin=1.0, fmax=2.0)
    wcol = _colour(rng, "water")
    cv.img[water] = wcol[None, :] * (1.0 - 0.08 * np.clip(level[water] - thr, 0, 2)[:, None]
                                     + 0.03 * deep[water][:, None])
    colour = _colour(rng, "tree")
    band = (level < thr - shore - 0.1) & (level > thr - 0.9)
    ys, xs = np.nonzero(band)
    if len(xs):
        pick = rng.choice(len(xs), size=min(len(xs), int(rng.integers(3, 10))), replace=False)
        for i in pick:
            tree(rng, cv, (xs[i] + 0.5) / cv.size, (ys[i] + 0.5) / cv.size,
                 rng.uniform(1.0, 2.0) / out_size, colour)


RENDERERS = {"fields": layout_fields, "village": layout_village, "lake": layout_lake}


def render_tile(rng: np.random.Generator, size: int, supersample: int = 4) -> np.ndarray:
    """One tile as uint8 `[size, size, 3]`."""
    cv = Canvas(size * supersample)
    layout = LAYOUTS[int(rng.choice(len(LAYOUTS), p=LAYOUT_WEIGHTS))]
    RENDERERS[layout](rng, cv, size)
    img = cv.img.reshape(size, supersample, size, supersample, 3).mean(axis=(1, 3))
    img *= np.float32(rng.uniform(0.92, 1.08))
    img += rng.normal(0.0, 0.008, img.shape).astype(np.float32)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
