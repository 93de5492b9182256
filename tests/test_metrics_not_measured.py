"""A metric that cannot measure some images reports n/a with the reason; restorations are written before scoring."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from restorefw.errors import CannotMeasure
from restorefw.evaluation import build_metrics, paired_scores
from restorefw.imageio import write_png
from restorefw.plugins import load_plugins
from restorefw.recipe import ComponentSpec

TINY = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 32, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 1}, "synthesis_kwargs": {"channel_base": 256, "channel_max": 16}}
LPIPS_RANDOM = [{"type": "lpips", "params": {"backbone": "random"}},
                {"type": "lpips-vgg", "params": {"backbone": "random"}}]


@pytest.mark.parametrize("name,smallest", [("lpips", 31), ("lpips-vgg", 16)])
def test_lpips_says_why_it_cannot_measure_small_images(name, smallest):
    metric = load_plugins().registry.create("metric", name, {"backbone": "random"})
    assert metric.paired(torch.rand(2, 3, smallest, 40), torch.rand(2, 3, smallest, 40)).shape == (2,)
    with pytest.raises(CannotMeasure, match=f"at least {smallest}×{smallest}.*{smallest - 1}×40"):
        metric.paired(torch.rand(2, 3, smallest - 1, 40), torch.rand(2, 3, smallest - 1, 40))


def test_paired_scores_give_none_and_a_reason_and_the_others_go_on():
    slots = build_metrics([ComponentSpec(type="psnr"), *map(ComponentSpec.model_validate, LPIPS_RANDOM)],
                          load_plugins().registry, torch.device("cpu"))
    scores = paired_scores(slots, torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8), "fidelity")
    assert scores["lpips"] is None and scores["lpips-vgg"] is None and len(scores["psnr"]) == 2
    assert "8×8" in slots[1].not_measured["fidelity"] and slots[1].metric is not None  # still usable elsewhere
    assert len(paired_scores(slots, torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), "restored")["lpips"]) == 1


def _recipe(tmp_path, metrics) -> dict:
    torch.manual_seed(0)
    for i in range(2):
        write_png(tmp_path / "images" / f"img{i}.png", torch.rand(3, 32, 32))
    return {"generator": {"type": "stylegan2-ada", "params": {"init": "random", "config": TINY}},
            "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.1}]},
            "degradation": {"task": "upsampling", "level": "M"},  # ×8: a 4×4 target
            "losses": ["l1"], "metrics": metrics, "inputs": {"path": str(tmp_path / "images")},
            "outputs": {"dir": str(tmp_path / "out")}, "device": "cpu", "batch_size": 2}


def test_a_run_on_small_targets_finishes_with_lpips_fidelity_na(tmp_path, cli):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(_recipe(tmp_path, ["psnr", *LPIPS_RANDOM])))
    code, out, err = cli("run", recipe, "--no-report")
    assert code == 0, err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(results["mean"]["fidelity"]) == {"psnr"}
    assert set(results["mean"]["restored"]) == {"psnr", "lpips", "lpips-vgg"}  # 32×32 restorations are measured
    assert "4×4" in results["metrics"]["lpips"]["not_measured"]["fidelity"]
    assert "restored" not in results["metrics"]["lpips-vgg"]["not_measured"]
    done = json.loads((tmp_path / "out" / "images" / "img0" / "done.json").read_text())
    assert done["metrics"]["fidelity"]["lpips"] is None and "4×4" in done["not_measured"]["fidelity"]["lpips"]
    assert "n/a" in out and "lpips n/a (fidelity)" in out


BROKEN_METRIC = """
from restorefw import hookimpl
from restorefw.metric import Metric

class Exploding(Metric):
    name = "exploding"
    description = "Interrupted while scoring (a plugin's ordinary exceptions are caught and named)."

    def paired(self, pred, ref):
        raise KeyboardInterrupt

@hookimpl
def restorefw_metrics():
    return [Exploding]
"""


def test_restorations_are_on_disk_before_any_metric_runs(tmp_path, install_dist):
    from restorefw.recipe import parse_recipe
    from restorefw.run import run_recipe

    install_dist("broken-metric-plugin", {"exploding": "broken_metric"}, {"broken_metric": BROKEN_METRIC})
    plugins = load_plugins()
    with pytest.raises(KeyboardInterrupt):
        run_recipe(parse_recipe(_recipe(tmp_path, ["psnr", "exploding"]), plugins.registry), plugins, quiet=True)
    for image in ("img0", "img1"):
        folder = tmp_path / "out" / "images" / image
        assert (folder / "restored.png").is_file() and (folder / "styles.pt").is_file()
        assert not (folder / "done.json").exists()  # not finished: a rerun redoes it
