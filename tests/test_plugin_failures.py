"""A loss, degradation or metric that fails at run time: named with its distribution; only its images stop."""

from __future__ import annotations

import json

import yaml
from test_engine import in_range_images, recipe_dict

FAULTY = """
import time

import torch
from restorefw import hookimpl
from restorefw.loss import Loss
from restorefw.metric import Metric

class RaisesOnImg1(Loss):
    name = "raises-on-img1"
    description = "Raises while img1 is in its batch."

    def forward(self, x):
        if any(k.image_id == "img1" for k in self.keys):
            raise RuntimeError("the backbone fell over")
        return (x - self.target).abs().flatten(1).mean(1)

class WrongShape(Loss):
    name = "wrong-shape"
    description = "Returns one value for the whole batch."

    def forward(self, x):
        return (x - self.target).abs().mean()

class Flaky(Metric):
    name = "flaky"
    description = "Raises."

    def paired(self, pred, ref):
        raise ValueError("cannot measure this")

class Short(Metric):
    name = "short"
    description = "Returns too few values."

    def paired(self, pred, ref):
        return torch.zeros(1)

class Sleepy(Loss):
    name = "sleepy"
    description = "Takes its time."

    def forward(self, x):
        time.sleep(0.2)
        return (x - self.target).abs().flatten(1).mean(1)

@hookimpl
def restorefw_losses():
    return [RaisesOnImg1, WrongShape, Sleepy]

@hookimpl
def restorefw_metrics():
    return [Flaky, Short]
"""


def write(tmp_path, **overrides):
    images = tmp_path / "images"
    if not images.is_dir():
        in_range_images(images, 3)
    recipe = recipe_dict(images, tmp_path / "out", **overrides)
    recipe["schedule"] = {"phases": [{"space": "w", "steps": 2, "lr": 0.1}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def done(tmp_path) -> dict:
    return {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "out").glob("images/*/done.json")}


def test_a_raising_loss_stops_only_its_image(tmp_path, install_dist, cli):
    install_dist("restorefw-faulty", {"faulty": "broken_faulty"}, {"broken_faulty": FAULTY}, version="0.3")
    code, _, err = cli("run", write(tmp_path, batch_size=3, losses=[{"type": "raises-on-img1"}]))
    assert code == 1 and "Traceback" not in err
    assert ("img1: loss 'raises-on-img1' (broken_faulty.RaisesOnImg1, distribution restorefw-faulty 0.3) raised "
            "RuntimeError: the backbone fell over") in err
    assert sorted(done(tmp_path)) == ["img0", "img2"]


def test_a_loss_of_the_wrong_shape_is_a_plugin_error(tmp_path, install_dist, cli):
    install_dist("restorefw-faulty", {"faulty": "broken_faulty"}, {"broken_faulty": FAULTY}, version="0.3")
    code, _, err = cli("run", write(tmp_path, batch_size=2, losses=[{"type": "wrong-shape"}]))
    assert code == 2 and "Traceback" not in err
    assert "loss 'wrong-shape' (broken_faulty.WrongShape, distribution restorefw-faulty 0.3) returned [], not one " \
           "value per image ([2])" in err


def test_failing_metrics_are_marked_unavailable_and_the_images_kept(tmp_path, install_dist, cli):
    install_dist("restorefw-faulty", {"faulty": "broken_faulty"}, {"broken_faulty": FAULTY}, version="0.3")
    code, _, err = cli("run", write(tmp_path, batch_size=2, metrics=["psnr", "flaky", "short"]))
    assert code == 0, err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    flaky, short = results["metrics"]["flaky"]["not_measured"], results["metrics"]["short"]["not_measured"]
    assert "metric 'flaky' (broken_faulty.Flaky, distribution restorefw-faulty 0.3) raised ValueError: cannot " \
           "measure this" in flaky["restored"]
    assert "returned [1], not one value per image ([2])" in short["restored"]
    assert sorted(done(tmp_path)) == ["img0", "img1", "img2"] and "psnr" in results["mean"]["restored"]


def test_a_raising_degradation_names_itself_and_the_run_ends_cleanly(tmp_path, cli, monkeypatch):
    from restorefw_plugins.degradations.operators import DenoisingOperator as operator

    def broken(self, x):
        raise FloatingPointError("sigma went negative")

    monkeypatch.setattr(operator, "forward", broken)
    code, _, err = cli("run", write(tmp_path, batch_size=2))
    assert code == 1 and "Traceback" not in err
    assert "degradation 'DenoisingOperator' (restorefw_plugins.degradations.operators.DenoisingOperator, " \
           "distribution restorefw 0.1.0)" in err
    assert "raised FloatingPointError: sigma went negative" in err and err.count("sigma went negative") == 3


def test_a_slow_loss_is_named_once(tmp_path, install_dist, cli, monkeypatch):
    install_dist("restorefw-faulty", {"faulty": "broken_faulty"}, {"broken_faulty": FAULTY}, version="0.3")
    monkeypatch.setenv("RESTOREFW_SLOW_PLUGIN_SECONDS", "0.1")
    code, _, err = cli("run", write(tmp_path, batch_size=3, losses=[{"type": "sleepy"}]))
    assert code == 0, err
    assert err.count("warning: loss 'sleepy' (broken_faulty.Sleepy, distribution restorefw-faulty 0.3) took ") == 1
    assert "over $RESTOREFW_SLOW_PLUGIN_SECONDS = 0.1 s" in err
