"""Every array of every fixture's reference.npz, from both generator.pkl and weights.safetensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference_data import fixture_dir, needs_small

from restorefw_plugins.stylegan2.checkpoint import load_generator
from restorefw_plugins.stylegan2.pickle_loader import read_checkpoint

NAMES = ["tiny32", pytest.param("small64", marks=needs_small)]
FILES = ["generator.pkl", "weights.safetensors"]

# image key -> (styles key or None for G(z), truncation psi, noise mode)
IMAGE_CALLS = {
    "img_psi1_const": ("ws_psi1", "const"),
    "img_psi07_const": ("ws_psi07", "const"),
    "img_wsrandom_const": ("ws_random", "const"),
    "img_psi1_none": ("ws_psi1", "none"),
    "img_wsbig_const": ("ws_big", "const"),
}


def _reference(name: str) -> dict[str, np.ndarray]:
    with np.load(fixture_dir(name) / "reference.npz") as data:
        return {k: data[k] for k in data.files}


def _run(name: str, file: str) -> dict[str, np.ndarray]:
    """Our outputs for every key of the fixture, computed from `file`."""
    G = load_generator(fixture_dir(name) / file)
    ref = _reference(name)
    out: dict[str, np.ndarray] = {}
    z = torch.from_numpy(ref["z"])
    with torch.no_grad():
        out["z"] = ref["z"]
        out["ws_psi1"] = G.mapping(z, None).numpy()
        out["ws_psi07"] = G.mapping(z, None, truncation_psi=0.7).numpy()
        out["ws_random"], out["ws_big"] = ref["ws_random"], ref["ws_big"]
        out["img_psi1_const"] = G(z, None, truncation_psi=1, noise_mode="const").numpy()
        out["img_psi07_const"] = G(z, None, truncation_psi=0.7, noise_mode="const").numpy()
        for key, (ws_key, mode) in IMAGE_CALLS.items():
            if key not in out:
                out[key] = G.synthesis(torch.from_numpy(ref[ws_key]), noise_mode=mode).numpy()
        for key in list(out):
            if key.startswith("img_"):
                out[key + "_fp32"] = out[key]
        out.update(_intermediates(G, torch.from_numpy(ref["ws_psi1"][:1])))
    return out


def _intermediates(G: torch.nn.Module, ws: torch.Tensor) -> dict[str, np.ndarray]:
    """dbg_* arrays: block outputs and affine outputs for one image."""
    found: dict[str, np.ndarray] = {}
    hooks = []
    for res in G.synthesis.block_resolutions:
        block = getattr(G.synthesis, f"b{res}")

        def grab_block(module, args, output, res=res):
            found[f"dbg_b{res}_x"], found[f"dbg_b{res}_img"] = output[0].numpy(), output[1].numpy()

        hooks.append(block.register_forward_hook(grab_block))
        for layer in ("conv0", "conv1", "torgb"):
            if hasattr(block, layer):
                def grab_affine(module, args, output, key=f"dbg_b{res}_{layer}_affine"):
                    found[key] = output.numpy()

                hooks.append(getattr(block, layer).affine.register_forward_hook(grab_affine))
    G.synthesis(ws, noise_mode="const")
    for hook in hooks:
        hook.remove()
    return found


_CACHE: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def outputs(name: str, file: str) -> dict[str, np.ndarray]:
    if (name, file) not in _CACHE:
        _CACHE[(name, file)] = _run(name, file)
    return _CACHE[(name, file)]


def _tolerance(name: str, key: str, ref: np.ndarray) -> tuple[float, float | None]:
    """(max abs, mean abs or None) allowed for `key`, from the fixtures' README."""
    if key.startswith("ws_") or key == "z":
        return 2e-5, None
    if key == "img_wsbig_const_fp32":
        return 2e-5 * float(np.abs(ref).max()), None
    if key.startswith("img_") and not key.endswith("_fp32") and name != "tiny32":
        return 3e-2, 3e-3  # went through float16 blocks in the reference
    if key.startswith("dbg_"):
        return max(1e-4, 2e-5 * float(np.abs(ref).max())), None
    return 1e-4, None


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("name", NAMES)
def test_every_reference_array(name: str, file: str) -> None:
    ref = _reference(name)
    ours = outputs(name, file)
    assert set(ref) <= set(ours), f"keys not reproduced: {sorted(set(ref) - set(ours))}"
    report = []
    for key, expected in ref.items():
        got = ours[key]
        assert got.shape == expected.shape, key
        diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
        max_tol, mean_tol = _tolerance(name, key, expected)
        if diff.max() > max_tol or (mean_tol is not None and diff.mean() > mean_tol):
            report.append(f"{key}: max {diff.max():.3g} (tol {max_tol:.3g}), mean {diff.mean():.3g}")
    assert not report, "\n".join(report)


@needs_small
def test_unsuffixed_small64_keys_really_differ_from_fp32() -> None:
    """The half-precision references are a looser comparison on purpose: they are not our fp32 output."""
    ref = _reference("small64")
    assert np.abs(ref["img_psi1_const"] - ref["img_psi1_const_fp32"]).max() > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_gives_the_same_generator_and_images_as_the_pickle(name: str) -> None:
    """Same config, bit-identical weights and images; with the full pickle test this covers every key."""
    from_pkl = read_checkpoint(fixture_dir(name) / "generator.pkl")
    from_st = read_checkpoint(fixture_dir(name) / "weights.safetensors")
    assert from_st.config == from_pkl.config
    G = load_generator(fixture_dir(name) / "weights.safetensors")
    ref = _reference(name)
    with torch.no_grad():
        img = G(torch.from_numpy(ref["z"]), None, noise_mode="const").numpy()
    np.testing.assert_array_equal(img, outputs(name, "generator.pkl")["img_psi1_const"])
    assert np.abs(img - ref["img_psi1_const_fp32"]).max() <= 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_names_and_order_match_the_official_pickle(name: str) -> None:
    official = read_checkpoint(fixture_dir(name) / "generator.pkl").state_dict
    G = load_generator(fixture_dir(name) / "weights.safetensors")
    assert list(G.state_dict()) == list(official)
    for key, value in G.state_dict().items():
        assert value.dtype == torch.float32
        assert torch.equal(value, official[key]), key
    assert G.num_ws == {"tiny32": 8, "small64": 10}[name]
    assert isinstance(G.mapping.w_avg, torch.Tensor) and G.mapping.w_avg.shape == (G.w_dim,)
    assert not any(p.requires_grad for p in G.parameters()) and not G.training


def test_a_wrong_filter_orientation_would_be_caught() -> None:
    """The fixture tolerance really detects a filter used as correlation (the filters are asymmetric)."""
    G = load_generator(fixture_dir("tiny32") / "weights.safetensors")
    ref = _reference("tiny32")
    with torch.no_grad():
        for module in G.modules():
            if hasattr(module, "resample_filter"):
                module.resample_filter.copy_(module.resample_filter.flip([0, 1]))
        img = G.synthesis(torch.from_numpy(ref["ws_psi1"]), noise_mode="const").numpy()
    assert np.abs(img - ref["img_psi1_const_fp32"]).max() > 0.1
