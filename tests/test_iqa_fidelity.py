"""FID/KID/IS/PFID through torch-fidelity's Inception, offline with seeded random weights."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from restorefw.errors import MissingWeightsError
from restorefw.imageio import write_png
from restorefw.plugins import load_plugins
from restorefw_plugins.iqa import weights
from restorefw_plugins.iqa.inception import random_inception_weights
from restorefw_plugins.iqa.metrics import random_crops

# FID on 2048-d features costs a 2048² eigen-decomposition (tens of seconds on a loaded 2-core
# machine); parity uses torch-fidelity's own smaller pool layer, the same code path otherwise.
LAYER = "64"


@pytest.fixture(scope="module")
def registry():
    return load_plugins().registry


@pytest.fixture(scope="module")
def inception_path(tmp_path_factory):
    return str(random_inception_weights(tmp_path_factory.mktemp("w") / "random-inception.pth", seed=0))


def image_set(seed: int, n: int, side: int = 32, blur: int = 4) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, side // blur, side // blur, generator=g)
    img = F.interpolate(low, size=(side, side), mode="bicubic", align_corners=False).clamp(0, 1)
    return img.mul(255).round().div(255)


@pytest.fixture(scope="module")
def sets():
    return image_set(1, 3), image_set(2, 3, blur=8)


@pytest.fixture(scope="module")
def torch_fidelity_reference(tmp_path_factory, sets, inception_path):
    """torch-fidelity's own pipeline (PNG folders → its dataset → its extractor → its metrics)."""
    import torch_fidelity

    dirs = []
    for k, batch in enumerate(sets):
        d = tmp_path_factory.mktemp(f"set{k}")
        for i, img in enumerate(batch):
            write_png(d / f"{i:03d}.png", img)
        dirs.append(str(d))
    return torch_fidelity.calculate_metrics(
        input1=dirs[0], input2=dirs[1], cuda=False, fid=True, kid=True, isc=True, verbose=False, cache=False,
        feature_extractor_weights_path=inception_path, kid_subset_size=3, kid_subsets=20, isc_splits=2,
        batch_size=3, samples_shuffle=True, rng_seed=2020, save_cpu_ram=True,
        feature_layer_fid=LAYER, feature_layer_kid=LAYER)


@pytest.fixture(scope="module")
def features(registry, sets, inception_path):
    """Our extraction of both sets (the first one split into two batches: batching must not matter)."""
    fid = registry.create("metric", "fid", {"weights_path": inception_path, "batch_size": 2})
    assert fid.params.feature_layer == "2048"
    return fid.all_features([sets[0][:1], sets[0][1:]]), fid.all_features([sets[1]])


def test_fid_kid_is_match_torch_fidelity(registry, features, inception_path, torch_fidelity_reference):
    (a, b), ref = features, torch_fidelity_reference
    fid = registry.create("metric", "fid", {"weights_path": inception_path, "feature_layer": LAYER})
    ours = fid.over_features(a[LAYER], b[LAYER])
    assert ours == pytest.approx(ref["frechet_inception_distance"], rel=1e-5, abs=1e-6)
    assert ours > 0
    kid = registry.create("metric", "kid", {"weights_path": inception_path, "subsets": 20, "subset_size": 3,
                                            "feature_layer": LAYER})
    assert kid.over_features(a[LAYER], b[LAYER]) == pytest.approx(ref["kernel_inception_distance_mean"],
                                                                    rel=1e-5, abs=1e-8)
    assert kid.details["std"] == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-5, abs=1e-8)
    isc = registry.create("metric", "is", {"weights_path": inception_path, "splits": 2})
    assert isc.over_features(a["logits_unbiased"]) == pytest.approx(ref["inception_score_mean"], rel=1e-5)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_fid_formula_independently(registry, features, inception_path):
    """Our FID equals ‖μ1−μ2‖² + tr(Σ1+Σ2−2(Σ1Σ2)^½) computed with scipy on the same features."""
    fid = registry.create("metric", "fid", {"weights_path": inception_path})
    f1, f2 = features[0][LAYER].double().numpy(), features[1][LAYER].double().numpy()
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))
    f1, f2 = features[0][LAYER], features[1][LAYER]
    assert fid.over_features(f1, f2) == pytest.approx(expected, rel=1e-3)
    assert fid.over_features(f1, f1) == pytest.approx(0.0, abs=1e-3)


def test_pfid_crops_are_seeded_and_batching_independent():
    imgs = image_set(3, 3, side=40)
    a = torch.cat(list(random_crops([imgs], 4, 16, seed=5, stage="pfid-pred")))
    b = torch.cat(list(random_crops([imgs[:1], imgs[1:]], 4, 16, seed=5, stage="pfid-pred")))
    c = torch.cat(list(random_crops([imgs], 4, 16, seed=6, stage="pfid-pred")))
    assert a.shape == (12, 3, 16, 16)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # every crop is a real window of its image
    img0 = imgs[0]
    windows = img0.unfold(1, 16, 1).unfold(2, 16, 1)  # [3, 25, 25, 16, 16]
    for crop in a[:4]:
        hits = (windows - crop[:, None, None]).abs().amax(dim=(0, 3, 4)) == 0
        assert hits.any()


def test_pfid_end_to_end(registry, inception_path):
    pfid = registry.create("metric", "pfid", {"weights_path": inception_path, "num_crops": 2, "crop_size": 24,
                                             "feature_layer": LAYER})
    preds, refs = image_set(4, 1, side=40), image_set(5, 1, side=40, blur=8)
    value = pfid.over_sets([preds], [refs])
    assert pfid.details["patches"] == [2, 2]
    assert np.isfinite(value) and value > 0


def test_missing_inception_weights_error(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.delenv(weights.ENV_WEIGHTS_DIR, raising=False)
    metric = registry.create("metric", "fid", {})
    with pytest.raises(MissingWeightsError) as info:
        metric.over_sets([image_set(0, 1)], [image_set(1, 1)])
    text = str(info.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in text
    assert str(tmp_path / "th" / "hub" / "checkpoints") in text
