"""Benchmark contenders that stand for one change to RUSIR's method stay RUSIR's method otherwise."""

from __future__ import annotations

import sys

import yaml
from conftest import REPO


def same_but_name_and_outputs(a: dict, b: dict) -> bool:
    """Two recipes equal once their `name` and `outputs` (which every copy changes) are left out."""
    return {k: v for k, v in a.items() if k not in ("name", "outputs")} == \
        {k: v for k, v in b.items() if k not in ("name", "outputs")}


def test_rusir_bfloat16_is_rusir_with_only_the_generator_in_bfloat16():
    rusir = yaml.safe_load((REPO / "examples" / "rusir.yaml").read_text())
    contender = yaml.safe_load((REPO / "benchmarks" / "rusir-bfloat16.yaml").read_text())
    assert contender.pop("precision") == "bfloat16"
    assert "loss_precision" not in contender and "precision" not in rusir
    assert same_but_name_and_outputs(contender, rusir)


def test_rusir_winograd_is_rusir_with_only_the_winograd_convolution():
    rusir = yaml.safe_load((REPO / "examples" / "rusir.yaml").read_text())
    contender = yaml.safe_load((REPO / "benchmarks" / "rusir-winograd.yaml").read_text())
    assert contender["generator"]["params"].pop("convolution") == "winograd"
    assert "convolution" not in rusir["generator"]["params"]
    assert same_but_name_and_outputs(contender, rusir)


def test_equal_quality_keeps_how_the_contenders_generator_computes():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import equal_quality

    problem = equal_quality.generator_spec(16, 256, 32)
    recipe = equal_quality.benchmark_recipe(REPO / "benchmarks" / "rusir-winograd.yaml", problem, "denoising",
                                            "random", reference=False)
    assert recipe["generator"]["params"] == {**problem["params"], "convolution": "winograd"}
    reference = equal_quality.benchmark_recipe(REPO / "examples" / "rusir.yaml", problem, "denoising", "random",
                                               reference=True)
    assert reference["generator"] == problem  # the problem's weights, not the recipe's checkpoint


def test_ours_fast_is_fast_with_ours_loss():
    fast = yaml.safe_load((REPO / "examples" / "fast.yaml").read_text())
    ours = yaml.safe_load((REPO / "examples" / "ours.yaml").read_text())
    contender = yaml.safe_load((REPO / "benchmarks" / "ours-fast.yaml").read_text())
    assert contender.pop("losses") == ours["losses"]
    fast.pop("losses")
    # measured before fast.yaml's upsampling W phase rendered coarse: that phase stays a full render here
    assert fast["tasks"][0]["schedule"]["phases"][0].pop("render_resolution") == "target*2"
    assert same_but_name_and_outputs(contender, fast)


def test_fast_coarse_is_fast_with_upsamplings_w_plus_phase_coarse_too():
    fast = yaml.safe_load((REPO / "examples" / "fast.yaml").read_text())
    contender = yaml.safe_load((REPO / "benchmarks" / "fast-coarse.yaml").read_text())
    fast_w, fast_wplus = fast["tasks"][0]["schedule"]["phases"][:2]
    w, wplus = contender["tasks"][0]["schedule"]["phases"][:2]
    assert fast["tasks"][0]["task"] == "upsampling" and fast_w == w and w["render_resolution"] == "target*2"
    assert "render_resolution" not in fast_wplus and wplus == {**fast_wplus, "render_resolution": "target*2"}
    contender["tasks"][0]["schedule"]["phases"][1] = fast_wplus
    assert same_but_name_and_outputs(contender, fast)
