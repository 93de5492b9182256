"""A run over a folder of bad and unusual files: each is restored with a note or refused by name; the rest finish."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from image_cases import CASES, photo, write_case
from PIL import Image

from restorefw.errors import UserError
from restorefw.imageio import fit_square

TINY = {"type": "stylegan2-ada", "params": {"init": "random", "seed": 0, "config": {
    "z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 32, "img_channels": 3, "mapping_kwargs": {"num_layers": 1},
    "synthesis_kwargs": {"channel_base": 256, "channel_max": 16, "num_fp16_res": 0, "conv_clamp": None}}}}


def recipe(tmp_path, **inputs) -> str:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({
        "generator": TINY, "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.05}]},
        "degradation": {"task": "denoising", "level": "M"}, "losses": [{"type": "l1"}], "metrics": ["psnr"],
        "inputs": {"path": "images", **inputs}, "outputs": {"dir": "out"}, "device": "cpu", "batch_size": 4}))
    return path


@pytest.fixture
def folder(tmp_path):
    for name in CASES:
        write_case(tmp_path / "images", name)
    for i in range(2):
        Image.fromarray(photo(seed=10 + i)).save(tmp_path / "images" / f"good{i}.png")
    Image.fromarray(photo(32, seed=5, width=48)).save(tmp_path / "images" / "wide.png")
    return tmp_path


def test_every_bad_file_is_named_and_the_others_are_restored(folder, cli):
    code, _, err = cli("run", recipe(folder))
    assert code == 1 and "Traceback" not in err
    done = {p.parent.name: json.loads(p.read_text()) for p in (folder / "out" / "images").glob("*/done.json")}
    for name, (filename, _, outcome) in CASES.items():
        kind, fragment = outcome.split(":", 1)
        image_id = filename.rsplit(".", 1)[0]
        if kind == "refused":
            assert image_id not in done
            assert f"warning: {folder / 'images' / filename}: " in err and fragment in err, name
        else:
            assert not done[image_id]["failed"], name
            assert fragment in " ".join(done[image_id]["notes"]), name
            assert not fragment or f"note: {image_id}: {fragment}" in err, name
    assert not done["good0"]["notes"] and not done["good1"]["notes"]
    assert done["wide"]["notes"] == ["48×32: centre-cropped to 32×32 (inputs.fit: crop)"]
    assert f"{sum(o.startswith('refused') for _, _, o in CASES.values())} image(s) could not be restored" in err


def test_fit_refuse_names_the_image_and_the_others_go_on(folder, cli):
    for path in (folder / "images").iterdir():
        if path.stem not in ("good0", "good1", "wide"):
            path.unlink()
    code, _, err = cli("run", recipe(folder, fit="refuse"))
    assert code == 1
    assert f"{folder / 'images' / 'wide.png'}: 48×32 is not square and the generator is (inputs.fit: refuse)" in err
    assert sorted(p.parent.name for p in (folder / "out" / "images").glob("*/done.json")) == ["good0", "good1"]


def test_fit_policies():
    image = torch.from_numpy(photo(32, width=48)).permute(2, 0, 1).float() / 255
    cropped, note = fit_square(image, "crop", "w.png")
    assert torch.equal(cropped, image[:, :, 8:40]) and "centre-cropped to 32×32" in note
    padded, note = fit_square(image, "pad", "w.png")
    assert padded.shape == (3, 48, 48) and torch.equal(padded[:, 8:40], image) and "padded" in note
    assert torch.equal(padded[:, 0], image[:, 0]) and torch.equal(padded[:, -1], image[:, -1])
    stretched, note = fit_square(image, "stretch", "w.png")
    assert stretched is image and "stretched" in note
    with pytest.raises(UserError, match="w.png: 48×32 is not square"):
        fit_square(image, "refuse", "w.png")
    square = image[:, :, :32]
    assert all(fit_square(square, fit, "s.png") == (square, None) for fit in ("crop", "pad", "refuse"))
