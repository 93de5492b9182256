"""`degradation: auto`: what it reads from files degraded by restorefw's own true operators, the
recipe overrides, the run's manifest and printout, and `restorefw inspect`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from PIL import Image

from restorefw.cli import cli
from restorefw.degradation import ImageKey
from restorefw.errors import UserError
from restorefw.imageio import load_image
from restorefw_plugins.aerial.dataset import tile
from restorefw_plugins.degradations import levels as L
from restorefw_plugins.degradations.auto import Auto, Found
from restorefw_plugins.degradations.components import Deartifacting, Denoising, Inpainting, Upsampling
from restorefw_plugins.degradations.inspection import scale_stage
from restorefw_plugins.degradations.jpeg import pil_jpeg, quant_table, to_pil_image
from restorefw_plugins.degradations.jpeg_header import read_jpeg_header

DATA = Path(__file__).parent / "data" / "jpeg"
CPU = torch.device("cpu")
# Noise fit on 16 aerial test tiles (32×32) per level: median relative error of the photons N and the
# largest absolute error of the dropout p allowed here; docs/auto.md reports the measured values.
PHOTONS_MEDIAN_ERROR = {"XS": 0.30, "S": 0.20, "M": 0.15, "L": 0.10, "XL": 0.10}
DROP_MAX_ERROR = 0.05


def _tiles(count: int, resolution: int = 32) -> torch.Tensor:
    return torch.stack([torch.from_numpy(tile(0, "test", i, resolution)).permute(2, 0, 1).float() / 255.0
                        for i in range(count)])


def _keys(count: int) -> list[ImageKey]:
    return [ImageKey(0, f"t{i}") for i in range(count)]


def _save(image: torch.Tensor, path: Path, **options) -> Path:
    to_pil_image(image).save(path, **options)
    return path


def _steps(path: Path, resolution: int = 32, **params) -> list[dict]:
    return Auto(**params).for_input(path, (resolution, resolution), 3).steps


@pytest.mark.parametrize("level", L.LEVELS)
def test_scale_is_exact_at_every_level(tmp_path, level):
    clean = _tiles(1, 256)
    op = Upsampling(level=level).realize(tuple(clean.shape), _keys(1), CPU)
    path = _save(op.true(clean)[0], tmp_path / "u.png")
    assert _steps(path, 256) == [{"task": "upsampling", "params": {"factor": L.UPSAMPLING_FACTOR[level]}}]


def test_scale_non_integer_non_square_and_larger():
    assert scale_stage(12, 12, (32, 32))[0] == {"size": [12, 12]}
    assert scale_stage(32, 24, (32, 32))[0] == {"size": [32, 24]}
    assert scale_stage(8, 16, (32, 32))[0] == {"size": [8, 16]}
    assert scale_stage(16, 16, (32, 32))[0] == {"factor": 2}
    assert scale_stage(32, 32, (32, 32))[0] is None
    params, finding = scale_stage(40, 48, (32, 32))
    assert params is None and finding["shrunk_by_run"] == [32, 32]
    assert scale_stage(20, 48, (32, 32))[0] == {"size": [20, 32]}


def test_non_integer_size_stage_maps_generator_output_to_the_input_size():
    op = Upsampling(size=(12, 20)).realize((2, 3, 32, 32), _keys(2), CPU)
    x = torch.rand(2, 3, 32, 32)
    assert op(x).shape[-2:] == (12, 20) and op.true(x).shape[-2:] == (12, 20)
    assert op.output_size(32, 32) == (12, 20)


@pytest.mark.parametrize("quality", [5, 15, 35, 55, 75, 95])
@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_jpeg_stage_uses_the_files_tables(tmp_path, quality, subsampling):
    path = _save(_tiles(1)[0], tmp_path / "a.jpg", quality=quality, subsampling=subsampling)
    (step,) = _steps(path)
    header = read_jpeg_header(path)
    assert step["task"] == "deartifacting"
    assert step["params"]["tables"] == [t.ravel().tolist() for t in header.component_tables()]
    assert step["params"]["tables"][0] == quant_table(quality).ravel().tolist()
    assert step["params"]["sampling"] == [list(s) for s in header.sampling]


@pytest.mark.parametrize("name", ["q40_444.jpg", "custom_422.jpg", "q20_420_progressive.jpg", "q70_25_440.jpg"])
def test_jpeg_stage_on_cjpeg_files(name):
    found = Auto().for_input(DATA / name, (64, 64), 3, fit="stretch")
    deartifacting = [s for s in found.steps if s["task"] == "deartifacting"]
    header = read_jpeg_header(DATA / name)
    assert deartifacting[0]["params"]["tables"] == [t.ravel().tolist() for t in header.component_tables()]
    operator = found.realize((1, 3, 64, 64), _keys(1), CPU)
    assert operator(torch.rand(1, 3, 64, 64)).shape == (1, 3, 40, 48)


def test_deartifacting_target_equals_the_decoded_file(tmp_path):
    clean = _tiles(2)
    path = _save(clean[1], tmp_path / "a.jpg", quality=12, subsampling=2)
    found = Auto().for_input(path, (32, 32), 3)
    op = found.realize((1, 3, 32, 32), _keys(1), CPU)
    decoded = torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy()).permute(2, 0, 1)[None] / 255.0
    assert torch.equal(pil_jpeg(clean[1:2], 12), decoded)
    assert (op(clean[1:2]) - decoded).abs().mean() < 0.01


def test_noise_estimate_per_level(tmp_path):
    clean = _tiles(16)
    for level in L.LEVELS:
        op = Denoising(level=level).realize(tuple(clean.shape), _keys(16), CPU)
        photons, drops = [], []
        for i, image in enumerate(op.true(clean)):
            (step,) = _steps(_save(image, tmp_path / f"n{level}{i}.png"))
            assert step["task"] == "denoising"
            photons.append(step["params"]["photons"])
            drops.append(step["params"]["drop"])
        error = abs(float(np.median(photons)) / op.photons - 1)
        assert error < PHOTONS_MEDIAN_ERROR[level], f"{level}: median photons {np.median(photons):.1f} vs {op.photons}"
        assert max(abs(d - op.drop) for d in drops) < DROP_MAX_ERROR, level


def test_clean_and_jpeg_tiles_get_no_denoising(tmp_path):
    for i, image in enumerate(_tiles(16)):
        assert _steps(_save(image, tmp_path / f"c{i}.png")) == []
        assert [s["task"] for s in _steps(_save(image, tmp_path / f"c{i}.jpg", quality=12))] == ["deartifacting"]


def test_alpha_channel_gives_the_holes_and_stays_out_of_the_noise_fit(tmp_path):
    clean = _tiles(1)
    op = Inpainting(level="L").realize(tuple(clean.shape), _keys(1), CPU)
    target = np.asarray(to_pil_image(op.true(clean)[0]))
    alpha = (op.mask[0, 0].numpy() * 255).round().astype(np.uint8)
    Image.fromarray(np.dstack([target, alpha]), "RGBA").save(tmp_path / "p.png")
    found = Auto().for_input(tmp_path / "p.png", (32, 32), 3)
    assert [s["task"] for s in found.steps] == ["inpainting"]
    op = found.realize((1, 3, 32, 32), _keys(1), CPU)
    assert torch.allclose(op.mask[0, 0], torch.from_numpy(alpha / 255.0).float(), atol=1e-6)
    Image.fromarray(np.dstack([np.asarray(to_pil_image(clean[0])), alpha]), "RGBA").save(tmp_path / "q.png")
    read = load_image(tmp_path / "q.png", 3)[0]  # as the run reads it: composited on white
    assert (op(clean)[0] - read).abs().max() < 1.5 / 255


def test_a_user_mask_is_the_hole_source(tmp_path):
    image = _save(_tiles(1)[0], tmp_path / "x.png")
    mask = np.full((32, 32), 255, np.uint8)
    mask[8:20, 8:20] = 0
    Image.fromarray(mask).save(tmp_path / "x_mask.png")
    found = Auto().for_input(image, (32, 32), 3, tmp_path / "x_mask.png")
    assert found.steps == [{"task": "inpainting", "params": {"mask": str(tmp_path / "x_mask.png"), "mask_fit": "crop"}}]
    assert _steps(image) == []


def test_png_that_was_a_jpeg_is_flagged_not_guessed(tmp_path):
    x = torch.from_numpy(np.array(Image.open(DATA / "q40_444.jpg").convert("RGB").resize((96, 96)))).permute(2, 0, 1)
    blocky = pil_jpeg(x[None].float() / 255.0, 8)[0]
    found = Auto().for_input(_save(blocky, tmp_path / "was.png"), (96, 96), 3)
    assert "deartifacting" not in [s["task"] for s in found.steps]
    assert found.inspection.found["blockiness"] > 1.5
    assert "decoded JPEG" in found.summary()
    clean = Auto().for_input(_save(x.float() / 255.0, tmp_path / "clean.png"), (96, 96), 3)
    assert "decoded JPEG" not in clean.summary()


def test_found_stages_compose_in_study_order(tmp_path):
    clean = _tiles(1, 64)
    small = Upsampling(factor=2).realize((1, 3, 64, 64), _keys(1), CPU).true(clean)
    noisy = Denoising(level="M").realize((1, 3, 32, 32), _keys(1), CPU).true(small)[0]
    holes = np.full((32, 32), 255, np.uint8)
    holes[4:12, 20:30] = 0
    Image.fromarray(np.dstack([np.asarray(to_pil_image(noisy)), holes]), "RGBA").save(tmp_path / "mix.png")
    steps = _steps(tmp_path / "mix.png", 64)
    assert [s["task"] for s in steps] == ["upsampling", "denoising", "inpainting"]
    assert steps[0]["params"] == {"factor": 2}
    operator = Auto().for_input(tmp_path / "mix.png", (64, 64), 3).realize((1, 3, 64, 64), _keys(1), CPU)
    assert operator.mask.shape[-2:] == (32, 32) and operator.mask.min() == 0


def test_overrides_off_params_and_always(tmp_path):
    path = _save(_tiles(1)[0], tmp_path / "a.jpg", quality=12)
    assert _steps(path, deartifacting="off") == []
    (step,) = _steps(path, deartifacting={"stand_in": "identity"})
    assert step["params"]["stand_in"] == "identity" and "tables" in step["params"]
    (override,) = _steps(path, deartifacting={"quality": 30})
    assert override["params"] == {"quality": 30}
    steps = _steps(path, always=["denoising"], denoising={"photons": 30, "drop": 0.0})
    assert [s["task"] for s in steps] == ["denoising", "deartifacting"]
    assert steps[0]["params"] == {"photons": 30, "drop": 0.0}
    with pytest.raises(ValueError):
        Auto(denoising={"photon": 3})


def test_auto_refuses_benchmark_mode_unless_stages_are_forced():
    with pytest.raises(UserError, match="restore mode"):
        Auto().realize((1, 3, 32, 32), _keys(1), CPU)
    op = Auto(always=["upsampling"], upsampling={"factor": 4}).realize((1, 3, 32, 32), _keys(1), CPU)
    assert op.output_size(32, 32) == (8, 8)


def test_describe_records_what_was_found(tmp_path):
    path = _save(_tiles(1)[0], tmp_path / "a.jpg", quality=20)
    record = Auto().for_input(path, (32, 32), 3).describe()
    assert record["type"] == "auto" and record["found"]["jpeg"]["ijg_quality"] == 20
    assert "quality 20" in record["summary"]
    assert json.loads(json.dumps(record)) == record
    assert Deartifacting(quality=3).describe() == {"type": "deartifacting",
                                                  "params": Deartifacting(quality=3).params.model_dump(mode="json")}
    assert Deartifacting().for_input(path, (32, 32), 3) is not None


def test_inspect_command_prints_the_tables(tmp_path):
    path = _save(_tiles(1)[0], tmp_path / "a.jpg", quality=50, subsampling=1)
    result = CliRunner().invoke(cli, ["inspect", "--resolution", "32", str(path)])
    assert result.exit_code == 0, result.output
    assert "4:2:2" in result.output and "tables = IJG quality 50" in result.output
    assert " ".join(f"{v:3d}" for v in quant_table(50)[0]) in result.output
    as_json = CliRunner().invoke(cli, ["inspect", "--resolution", "32", "--json", str(path)])
    record = json.loads(as_json.output)[str(path)]
    assert record["stages"][0]["params"]["tables"][0] == quant_table(50).ravel().tolist()


def test_run_with_auto_records_and_prints_each_images_findings(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    clean = _tiles(3)
    _save(clean[0], photos / "a.jpg", quality=12)
    small = Upsampling(factor=4).realize((1, 3, 32, 32), _keys(1), CPU).true(clean[1:2])[0]
    _save(small, photos / "b.png")
    _save(clean[2], photos / "c.png")
    recipe = {"generator": {"type": "stylegan2-ada", "params": {"checkpoint": "builtin:aerial32"}},
              "schedule": {"phases": [{"space": "w", "steps": 2, "lr": 0.05}]},
              "degradation": {"task": "auto", "params": {"deartifacting": {"stand_in": "identity"}}},
              "losses": [{"type": "consistency"}], "inputs": {"mode": "restore", "path": "photos"},
              "outputs": {"dir": "out"}, "metrics": ["psnr"], "device": "cpu", "batch_size": 3}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "r.yaml")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    by_id = {i["id"]: i["degradation"] for i in manifest["images"]}
    assert [s["type"] for s in by_id["a"]["stages"]] == ["deartifacting"]
    assert by_id["a"]["stages"][0]["params"]["stand_in"] == "identity"
    assert by_id["b"]["stages"] == [{"type": "upsampling", "params": {"factor": 4}}]
    assert by_id["c"]["stages"] == []
    printed = result.output + capsys.readouterr().err
    assert "a: deartifacting with the file's tables" in printed and "b: upsampling ×4" in printed
    restored = Image.open(tmp_path / "out" / "images" / "b" / "restored.png")
    assert restored.size == (32, 32)
    target = Image.open(tmp_path / "out" / "images" / "b" / "target.png")
    assert target.size == (8, 8)


def test_found_without_stages_is_the_identity():
    found = Found([])
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(found.realize((1, 3, 8, 8), _keys(1), CPU)(x), x)
    assert Deartifacting(level="M").params.level == "M" and Denoising().params.photons is None


def test_a_photo_larger_than_the_generator_gets_no_jpeg_stage(tmp_path):
    path = _save(_tiles(1, 64)[0], tmp_path / "big.jpg", quality=20)
    found = Auto().for_input(path, (32, 32), 3)
    assert found.steps == [] and "moves the 8×8 blocks" in found.summary()
    assert found.inspection.found["jpeg"]["ijg_quality"] == 20


def test_non_square_inputs_follow_inputs_fit(tmp_path):
    path = _save(_tiles(1)[0][:, :, :24], tmp_path / "wide.png")
    assert _steps(path) == [{"task": "upsampling", "params": {"size": [24, 24]}}]
    assert Auto().for_input(path, (32, 32), 3, fit="stretch").steps == [
        {"task": "upsampling", "params": {"size": [32, 24]}}]
    assert Auto().for_input(path, (32, 32), 3, fit="pad").steps == []


def test_a_crop_off_the_block_grid_drops_the_jpeg_stage():
    found = Auto().for_input(DATA / "q40_444.jpg", (40, 40), 3, fit="crop")
    assert "deartifacting" not in [s["task"] for s in found.steps] and "off its 8×8 block grid" in found.summary()
    stretched = Auto().for_input(DATA / "q40_444.jpg", (64, 64), 3, fit="stretch")
    assert "deartifacting" in [s["task"] for s in stretched.steps]


def test_exif_rotated_jpeg_gets_transposed_tables_and_factors(tmp_path):
    rng = np.random.default_rng(3)
    tables = [rng.integers(2, 60, 64).tolist() for _ in range(2)]
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    clean = _tiles(1, 64)[0][:, :, :48]
    to_pil_image(clean).save(tmp_path / "r.jpg", qtables=tables, subsampling=1, exif=exif.tobytes())
    (step,) = Auto().for_input(tmp_path / "r.jpg", (64, 64), 3, fit="stretch").steps[-1:]
    assert step["task"] == "deartifacting"
    assert step["params"]["tables"][0] == np.array(tables[0]).reshape(8, 8).T.ravel().tolist()
    assert step["params"]["sampling"] == [[1, 2], [1, 1], [1, 1]]
    shown = load_image(tmp_path / "r.jpg", 3)[0]  # as the run reads it: rotated
    assert shown.shape[-2:] == (48, 64)
    rotated = torch.rot90(clean, -1, (1, 2))[None]
    own = Deartifacting(**step["params"]).realize((1, 3, 48, 64), _keys(1), CPU)
    unrotated = Deartifacting(tables=tables, sampling=[[1, 2], [1, 1], [1, 1]]).realize((1, 3, 48, 64), _keys(1), CPU)
    assert (own(rotated)[0] - shown).abs().mean() < (unrotated(rotated)[0] - shown).abs().mean()
