"""The weight table, file search, size/sha256 checks and the `restorefw weights` command."""

from __future__ import annotations

import hashlib
import json

import click
import pytest
from click.testing import CliRunner

from restorefw.errors import MissingWeightsError
from restorefw_plugins.iqa import weights
from restorefw_plugins.iqa.commands import weights_command


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(weights.ENV_WEIGHTS_DIR, raising=False)
    return tmp_path


def test_table_names_and_hash_prefixes():
    for key in ("vgg16", "alexnet", "inception-fid"):
        entry = weights.TABLE[key]
        prefix = entry.filename.rsplit("-", 1)[1].split(".")[0]
        assert entry.sha256.startswith(prefix), key  # torch hub convention: name carries the sha256 prefix


def test_lpips_heads_ship_with_the_package_and_verify():
    for key in ("lpips-vgg-head", "lpips-alex-head"):
        row = weights.status(key, verify=True)
        assert row["present"] and row["verified"], row


def test_env_dir_is_searched_and_size_is_checked(isolated, monkeypatch):
    monkeypatch.setenv(weights.ENV_WEIGHTS_DIR, str(isolated))
    bad = isolated / "alexnet-owt-7be5be79.pth"
    bad.write_bytes(b"truncated")
    with pytest.raises(MissingWeightsError, match="truncated: 9 of"):
        weights.find("alexnet")
    bad.unlink()
    with pytest.raises(MissingWeightsError) as info:
        weights.find("alexnet")
    assert str(isolated) in str(info.value) and "alexnet-owt-7be5be79.pth" in str(info.value)


def test_inception_alias_name_is_accepted(isolated, monkeypatch):
    fake = weights.WeightFile("inception-fid", "weights-inception-2015-12-05-6726825d.pth", "test",
                              hashlib.sha256(b"12345").hexdigest(), 5,
                              "url", "hub", aliases=("pt_inception-2015-12-05-6726825d.pth",))
    monkeypatch.setitem(weights.TABLE, "inception-fid", fake)
    target = weights.hub_dir() / "pt_inception-2015-12-05-6726825d.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"12345")
    assert weights.find("inception-fid") == target


def test_verify_detects_match_and_mismatch(isolated, monkeypatch):
    data = b"weights!"
    path = weights.hub_dir() / "x.pth"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    good = weights.WeightFile("x", "x.pth", "test", hashlib.sha256(data).hexdigest(), len(data), "url", "hub")
    monkeypatch.setitem(weights.TABLE, "x", good)
    assert weights.status("x", verify=True)["verified"] is True
    monkeypatch.setitem(weights.TABLE, "x", weights.WeightFile("x", "x.pth", "t", "f" * 64, len(data), "url", "hub"))
    assert weights.status("x", verify=True)["verified"] is False
    assert weights.status("x")["verified"] is None


def test_cli_lists_every_file(isolated):
    group = click.Group("restorefw")
    group.add_command(weights_command)
    result = CliRunner().invoke(group, ["weights", "--json", "--verify"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert set(rows) == {w.filename for w in weights.TABLE.values()}
    assert rows["vgg16-397923af.pth"]["present"] is False
    assert str(isolated / "torch" / "hub" / "checkpoints") in rows["vgg16-397923af.pth"]["searched"]
    assert rows["vgg.pth"]["verified"] is True
    text = CliRunner().invoke(group, ["weights"]).output
    assert "vgg16-397923af.pth  [MISSING]" in text and "https://download.pytorch.org/models/vgg16-397923af.pth" in text
