"""Benchmark contenders that stand for one change to RUSIR's method stay RUSIR's method otherwise."""

from __future__ import annotations

import sys

import pytest
import torch
import yaml
from conftest import REPO


def same_but_name_and_outputs(a: dict, b: dict) -> bool:
    """Two recipes equal once their `name` and `outputs` (which every copy changes) are left out."""
    return {k: v for k, v in a.items() if k not in ("name", "outputs")} == \
        {k: v for k, v in b.items() if k not in ("name", "outputs")}


def schedules_of(recipe: dict) -> list[dict]:
    """The recipe's default schedule, then each `tasks:` entry's."""
    return [recipe["schedule"]] + [task["schedule"] for task in recipe["tasks"]]


def fast_before_momentum() -> dict:
    """examples/fast.yaml as its records up to 2026-12-02 (commit dd36168) were made: every W++ phase with NGD's
    decaying steps and no momentum, inpainting's with the adaptive step."""
    fast = yaml.safe_load((REPO / "examples" / "fast.yaml").read_text())
    for schedule in schedules_of(fast):
        w_plus_plus = schedule["phases"][2]
        params = {k: v for k, v in w_plus_plus["optimizer"]["params"].items() if k != "momentum"}
        if schedule is fast["tasks"][3]["schedule"]:
            params["adaptive"] = True
        schedule["phases"][2] = {**w_plus_plus, "optimizer": {"type": "ngd", "params": params}}
    return fast


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
    fast = fast_before_momentum()
    ours = yaml.safe_load((REPO / "examples" / "ours.yaml").read_text())
    contender = yaml.safe_load((REPO / "benchmarks" / "ours-fast.yaml").read_text())
    assert contender.pop("losses") == ours["losses"]
    fast.pop("losses")
    # measured on a CPU with AVX512-BF16, where fast.yaml's `auto` is bfloat16 and Winograd is left out under autocast
    assert (fast.pop("precision"), fast.pop("loss_precision")) == ("auto", "auto")
    assert (contender.pop("precision"), contender.pop("loss_precision")) == ("bfloat16", "bfloat16")
    assert fast["generator"]["params"].pop("convolution") == "winograd"
    # measured before fast.yaml's upsampling W phase rendered coarse: that phase stays a full render here
    assert fast["tasks"][0]["schedule"]["phases"][0].pop("render_resolution") == "target*2"
    # inpainting's coarse W and W+ (half size) came later too
    for phase in fast["tasks"][3]["schedule"]["phases"][:2]:
        assert (phase.pop("render_resolution"), phase.pop("loss_resolution")) == ("full/2", "full/2")
    assert same_but_name_and_outputs(contender, fast)


def test_fast_coarse_is_fast_with_upsamplings_w_plus_phase_coarse_too():
    fast = fast_before_momentum()
    contender = yaml.safe_load((REPO / "benchmarks" / "fast-coarse.yaml").read_text())
    fast_w, fast_wplus = fast["tasks"][0]["schedule"]["phases"][:2]
    w, wplus = contender["tasks"][0]["schedule"]["phases"][:2]
    assert fast["tasks"][0]["task"] == "upsampling" and fast_w == w and w["render_resolution"] == "target*2"
    assert "render_resolution" not in fast_wplus and wplus == {**fast_wplus, "render_resolution": "target*2"}
    contender["tasks"][0]["schedule"]["phases"][1] = fast_wplus
    assert same_but_name_and_outputs(contender, fast)


RECORDED_AT_64 = {  # fingerprints in benchmarks/results/equal-quality-64.jsonl and rusir-winograd-64.jsonl
    ("reference", "upsampling"): "f68beaed6771fe30", ("reference", "inpainting"): "0c4a76316df52147",
    ("fast", "upsampling"): "362cf0d63dcbe608", ("fast", "denoising"): "6f5fdfb882efefb0",
    ("fast", "deartifacting"): "5b98854dcab2aade",
    ("rusir-winograd", "upsampling"): "92ab0ec9f65df44c",
}
# fast.yaml's inpainting line there predates its half-size W and W+ (full/2: 32² at 64²); docs/performance.md says so
STALE_AT_64 = {("fast", "inpainting"): "fb8e86e2c90e4489"}
RECORDED_AT_64_MOMENTUM = {  # fingerprints in benchmarks/results/fast-momentum-64.jsonl (2026-12-02, dd36168)
    ("fast", "inpainting"): "7149be4c181fd067",  # fast.yaml before momentum, with its half-size W and W+
    ("fast-momentum", "upsampling"): "c4973cee5813284f", ("fast-momentum", "denoising"): "36fea712fcb1a9cd",
    ("fast-momentum", "deartifacting"): "c5a34d5be251fce0", ("fast-momentum", "inpainting"): "a59344bff7752316",
}
RECORDED_AT_64_ONE_RUN = {  # fingerprints in benchmarks/results/one-run-64.jsonl (2026-12-02, 9de091d): fast.yaml as it is
    ("fast.yaml", "upsampling"): "97bf968666fa8832", ("fast.yaml", "denoising"): "7d855a7c226d5482",
    ("fast.yaml", "deartifacting"): "f49baacd1da53774", ("fast.yaml", "inpainting"): "c155068f3bc91575",
}


@pytest.mark.skipif(torch.__version__ != "2.14.1+cu130", reason="the records were made with torch 2.14.1+cu130")
@pytest.mark.parametrize("method, task, recorded, current", [
    (*key, value, key not in STALE_AT_64) for key, value in sorted((RECORDED_AT_64 | STALE_AT_64).items())] + [
    (*key, value, True) for key, value in sorted((RECORDED_AT_64_MOMENTUM | RECORDED_AT_64_ONE_RUN).items())])
def test_the_recipes_as_computed_on_the_records_cpu_still_match_its_lines(method, task, recorded, current, tmp_path):
    """fast.yaml says `precision: auto` and `convolution: winograd` since its records were made with bfloat16
    named: where auto resolves to bfloat16 (that CPU had AVX512-BF16) those records still stand for it. Its
    `fast` lines were made before its W++ phases took momentum, and stand for that recipe."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import equal_quality

    from restorefw.plugins import load_plugins
    from restorefw.recipe import parse_recipe

    before = tmp_path / "fast.yaml"
    before.write_text(yaml.safe_dump(fast_before_momentum()))
    path = {"reference": REPO / "examples" / "rusir.yaml", "fast": before,
            "fast-momentum": REPO / "benchmarks" / "fast-momentum.yaml", "fast.yaml": REPO / "examples" / "fast.yaml",
            "rusir-winograd": REPO / "benchmarks" / "rusir-winograd.yaml"}[method]
    problem = equal_quality.generator_spec(64, 32768, 512)
    data = equal_quality.benchmark_recipe(path, problem, task, "random", reference=method == "reference")
    recipe = equal_quality.for_the_task(parse_recipe(data, load_plugins().registry))
    precision = "bfloat16" if method.startswith("fast") else "float32"
    assert (equal_quality.fingerprint(recipe, precision, precision, "cpu") == recorded) is current
    if method.startswith("fast"):  # the same recipe on an AVX2 CPU computes differently: float32, Winograd
        assert equal_quality.fingerprint(recipe, "float32", "float32", "cpu") != recorded


def test_the_benchmark_fingerprint_leaves_the_losses_convolution_out_where_it_cannot_apply():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import equal_quality

    from restorefw.plugins import load_plugins
    from restorefw.recipe import parse_recipe

    registry = load_plugins().registry
    problem = equal_quality.generator_spec(64, 32768, 512)
    data = equal_quality.benchmark_recipe(REPO / "examples" / "fast.yaml", problem, "denoising", "random", reference=False)
    recipe = equal_quality.for_the_task(parse_recipe(data, registry))
    assert recipe.losses[0].params["convolution"] == "winograd"
    without = recipe.model_copy(deep=True)
    without.losses[0].params.pop("convolution")
    fingerprint = equal_quality.fingerprint
    assert fingerprint(recipe, "bfloat16", "bfloat16", "cpu") == fingerprint(without, "bfloat16", "bfloat16", "cpu")
    assert fingerprint(recipe, "float32", "float32", "cuda") == fingerprint(without, "float32", "float32", "cuda")
    assert fingerprint(recipe, "float32", "float32", "cpu") != fingerprint(without, "float32", "float32", "cpu")


def test_the_benchmark_fingerprint_leaves_out_render_and_loss_resolutions_that_change_nothing():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import equal_quality

    from restorefw.plugins import load_plugins
    from restorefw.recipe import parse_recipe

    registry = load_plugins().registry
    fingerprints = {}
    for size in (64, 256):
        problem = equal_quality.generator_spec(size, 32768, 512)
        data = equal_quality.benchmark_recipe(REPO / "examples" / "rusir.yaml", problem, "inpainting", "random",
                                              reference=False)
        plain = parse_recipe(data, registry)
        data["schedule"]["phases"][0].update(render_resolution=128, loss_resolution=128)
        coarse = parse_recipe(data, registry)
        data["schedule"]["phases"][0].update(render_resolution="full/2", loss_resolution="full/2")
        half = parse_recipe(data, registry)
        fingerprints[size] = [equal_quality.fingerprint(r, "float32", "float32", "cpu") for r in (plain, coarse, half)]
    assert fingerprints[64][0] == fingerprints[64][1]  # 128 ≥ 64: the phase renders and compares in full
    assert fingerprints[64][2] not in fingerprints[64][:2]  # full/2 is 32 at 64²
    assert fingerprints[256][0] != fingerprints[256][1]
    assert fingerprints[256][2] == fingerprints[256][1]  # full/2 is 128 at 256²: records made with 128 stand


def test_fast_upsampling_adaptive_is_fast_with_only_upsamplings_w_plus_plus_steps_adapted():
    fast = fast_before_momentum()
    contender = yaml.safe_load((REPO / "benchmarks" / "fast-upsampling-adaptive.yaml").read_text())
    fixed, adapted = fast["tasks"][0]["schedule"]["phases"][2], contender["tasks"][0]["schedule"]["phases"][2]
    assert fast["tasks"][0]["task"] == "upsampling" and fixed["space"] == "w++"
    assert "adaptive" not in fixed["optimizer"]["params"] and adapted["optimizer"]["params"]["adaptive"] is True
    without = {k: v for k, v in adapted["optimizer"]["params"].items() if k != "adaptive"}
    assert without == fixed["optimizer"]["params"]  # the same decaying schedule
    contender["tasks"][0]["schedule"]["phases"][2] = {**adapted, "optimizer": fixed["optimizer"]}
    assert same_but_name_and_outputs(contender, fast)


def test_fast_momentum_is_fast_and_fast_before_it_differs_only_in_its_w_plus_plus_steps():
    """fast.yaml took benchmarks/fast-momentum.yaml's W++ phases (NGD momentum 0.9) once its records showed them
    ahead; the fast-momentum file stays as the recipe those records name."""
    fast = yaml.safe_load((REPO / "examples" / "fast.yaml").read_text())
    contender = yaml.safe_load((REPO / "benchmarks" / "fast-momentum.yaml").read_text())
    assert same_but_name_and_outputs(contender, fast)
    before = fast_before_momentum()
    steady = {"type": "ngd", "params": {"schedule": "cosine", "final": 0.1, "momentum": 0.9}}
    schedules = schedules_of(fast)
    earlier = schedules_of(before)
    assert len(schedules) == 5 and fast["tasks"][3]["task"] == "inpainting"
    for now, then in zip(schedules, earlier):
        assert [p["space"] for p in now["phases"]] == ["w", "w+", "w++"]
        assert now["phases"][2]["optimizer"] == steady and "momentum" not in str(now["phases"][:2])
        assert now["phases"][:2] == then["phases"][:2]
        assert {**now["phases"][2], "optimizer": then["phases"][2]["optimizer"]} == then["phases"][2]
        assert then["phases"][2]["optimizer"]["params"].get("adaptive", False) is (now is schedules[4])
