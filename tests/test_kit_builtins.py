"""Every registered built-in component passes restorefw.testing (the conformance kit) over the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_generator import TINY_CONFIG

from restorefw.plugins import load_plugins
from restorefw.testing import CHECKS

TINY_GENERATOR = {"init": "random", "config": TINY_CONFIG}
INCEPTION_METRICS = ("fid", "kid", "is", "pfid")
# Checked in the slow suite: each takes over 5 s here (Inception, VGG backbones, piq's DSS/VSI/IW-SSIM).
SLOW = {("metric", name) for name in (*INCEPTION_METRICS, "lpips-vgg")} | {
    ("loss", name) for name in ("dss", "vsi", "iw-ssim", "lpips", "lpips-multires")}
# Parameters a built-in needs to be exercised offline (random backbones), or sizes it needs.
PARAMS: dict[tuple[str, str], dict] = {
    ("generator", "stylegan2-ada"): TINY_GENERATOR,
    ("loss", "lpips"): {"backbone": "random"},
    ("loss", "lpips-multires"): {"backbone": "random"},
    ("metric", "lpips"): {"backbone": "random"},
    ("metric", "lpips-vgg"): {"backbone": "random"},
    ("loss", "iw-ssim"): {"image_size": 176},
    ("loss", "srsim"): {"image_size": 48},
    ("loss", "vif"): {"image_size": 48},
    ("metric", "pfid"): {"crop_size": 16, "num_crops": 2},
    ("degradation", "auto"): {"always": ["upsampling", "denoising", "inpainting"], "upsampling": {"factor": 2}},
}


def builtins() -> list:
    cases = []
    for kind, name, entry in load_plugins().registry.components():
        if kind not in CHECKS or not entry.cls.__module__.startswith("restorefw_plugins."):
            continue
        marks = [pytest.mark.slow] if (kind, name) in SLOW else []
        cases.append(pytest.param(kind, name, marks=marks, id=f"{kind}:{name}"))
    return cases


def test_the_registry_offers_every_kind_the_kit_checks():
    kinds = {case.values[0] for case in builtins()}
    assert kinds == set(CHECKS)


@pytest.mark.parametrize("kind,name", builtins())
def test_builtin_passes_the_conformance_kit(kind, name, tmp_path):
    cls = load_plugins().registry.get(kind, name)
    params = dict(PARAMS.get((kind, name), {}))
    if kind == "metric" and name in INCEPTION_METRICS:
        from restorefw_plugins.iqa.inception import random_inception_weights

        params.update(weights_path=str(random_inception_weights(tmp_path / "inception.pth")), feature_layer="64")
    if kind in ("loss", "degradation", "metric"):
        params.setdefault("image_size", 32)
    report = CHECKS[kind](cls, **params)
    assert report.skipped is None, report.skipped
    assert len(report.passed) >= 10, report.passed


def test_the_reference_third_party_package_passes_the_kit(install_dist, cli):
    """tests/thirdparty, written from the docs alone, conforms: one component of each kind the kit checks."""
    source = Path(__file__).resolve().parent / "thirdparty" / "src"
    install_dist("restorefw-thirdparty", {"thirdparty": "restorefw_thirdparty"}, version="0.3.0", source_dir=source)
    code, out, _ = cli("check", "restorefw-thirdparty")
    assert code == 0, out
    assert {line.split()[1] for line in out.splitlines() if line.startswith("ok ")} == set(CHECKS)
