"""Wrong weight files (another digest, truncated, another format) are refused by path with both digests."""

from __future__ import annotations

import hashlib
import json

import click
import pytest
from click.testing import CliRunner

from restorefw.errors import MissingWeightsError
from restorefw_plugins.iqa import weights
from restorefw_plugins.iqa.commands import weights_command

GOOD = b"PK\x03\x04" + bytes(range(200)) * 5  # stands in for a 1004-byte PyTorch zip archive

# file name -> (contents on disk, words the refusal must contain)
BAD = {
    "damaged.pth": (GOOD[:500] + b"x" + GOOD[501:], "the right size but different content"),
    "truncated.pth": (GOOD[:300], "truncated: 300 of 1004 bytes"),
    "page.pth": (b"<!DOCTYPE html><html><body>Rate limit exceeded</body></html>" * 20,
                 "an HTML page (a failed download?)"),
}


@pytest.fixture
def bad_weights(tmp_path, monkeypatch):
    """Three table entries, each of whose files in $RESTOREFW_WEIGHTS_DIR is wrong in its own way."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(weights.ENV_WEIGHTS_DIR, str(tmp_path / "w"))
    (tmp_path / "w").mkdir()
    table = {}
    for name, (contents, _) in BAD.items():
        (tmp_path / "w" / name).write_bytes(contents)
        table[name] = weights.WeightFile(name, name, f"test file {name}", hashlib.sha256(GOOD).hexdigest(),
                                         len(GOOD), f"https://example.org/{name}", "hub")
    monkeypatch.setattr(weights, "TABLE", table)
    return tmp_path / "w"


@pytest.mark.parametrize("name", sorted(BAD))
def test_wrong_file_is_refused_with_both_digests(bad_weights, name):
    contents, words = BAD[name]
    with pytest.raises(MissingWeightsError) as info:
        weights.find(name)
    message = str(info.value)
    assert message.startswith(f"{bad_weights / name} is not the expected {name}")
    assert f"sha256 {hashlib.sha256(contents).hexdigest()}, expected {hashlib.sha256(GOOD).hexdigest()}" in message
    assert words in message and f"https://example.org/{name}" in message and "--verify" in message


def test_explicit_weights_path_must_be_a_pytorch_file(bad_weights, tmp_path):
    other = tmp_path / "mine.pth"
    other.write_bytes(b"<html>" + GOOD)
    with pytest.raises(MissingWeightsError, match="mine.pth is not the expected damaged.pth.*an HTML page"):
        weights.find("damaged.pth", other)
    other.write_bytes(GOOD[:-1] + b"!")  # other weights of the same network: the user's choice
    assert weights.find("damaged.pth", other) == other


def test_verify_reports_all_three_and_exits_2(bad_weights):
    group = click.Group("restorefw")
    group.add_command(weights_command)
    result = CliRunner().invoke(group, ["weights", "--verify"])
    assert result.exit_code == 2
    for name, (contents, words) in BAD.items():
        assert f"{name}  [present, SHA256 MISMATCH]" in result.output
        assert hashlib.sha256(contents).hexdigest() in result.output and words in result.output
    rows = json.loads(CliRunner().invoke(group, ["weights", "--verify", "--json"]).output)
    assert [row["verified"] for row in rows] == [False] * 3
    assert {row["found_sha256"] for row in rows} == {hashlib.sha256(c).hexdigest() for c, _ in BAD.values()}


def test_verify_passes_on_the_right_file(bad_weights):
    (bad_weights / "page.pth").write_bytes(GOOD)
    assert weights.find("page.pth") == bad_weights / "page.pth"
    assert weights.status("page.pth", verify=True)["verified"] is True
