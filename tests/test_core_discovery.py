"""Entry-point discovery: broken plugins, strict mode, allowlist, autoload switch, the contrib plugin."""

from __future__ import annotations

import json

import pytest

from restorefw.errors import PluginError
from restorefw.plugins import load_plugins

BROKEN = """
raise RuntimeError("this plugin is broken on purpose")
"""

MISSPELT = """
from restorefw import hookimpl
@hookimpl
def restorefw_lossses():
    return []
"""


def test_builtins_register_through_entry_points():
    plugins = load_plugins()
    builtin = {p.name for p in plugins.plugins if p.builtin}
    assert {"latents", "optimizers"} <= builtin
    assert plugins.registry.names("latent_space") == ["w", "w+", "w++"]
    assert {"ngd", "adam"} <= set(plugins.registry.names("optimizer"))


def test_broken_plugin_is_recorded_and_others_keep_working(install_dist):
    install_dist("broken-plugin", {"broken": "broken_mod"}, {"broken_mod": BROKEN}, version="2.3")
    plugins = load_plugins()
    broken = [p for p in plugins.plugins if p.name == "broken"]
    assert broken and broken[0].distribution == "broken-plugin" and broken[0].version == "2.3"
    assert "RuntimeError: this plugin is broken on purpose" in broken[0].error
    assert "ngd" in plugins.registry.names("optimizer")


def test_strict_mode_makes_a_broken_plugin_fatal(install_dist, monkeypatch):
    install_dist("broken-plugin", {"broken": "broken_mod"}, {"broken_mod": BROKEN})
    with pytest.raises(PluginError, match="broken-plugin"):
        load_plugins(strict=True)
    monkeypatch.setenv("RESTOREFW_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="strict"):
        load_plugins()


def test_misspelt_hook_is_reported(install_dist):
    install_dist("misspelt-plugin", {"misspelt": "misspelt_mod"}, {"misspelt_mod": MISSPELT})
    plugins = load_plugins()
    info = next(p for p in plugins.plugins if p.name == "misspelt")
    assert "restorefw_lossses" in info.error


def test_allowlist_and_autoload_switch(install_dist, monkeypatch, focal_frequency):
    monkeypatch.setenv("RESTOREFW_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins = load_plugins()
    assert "focal-frequency" not in plugins.registry.names("loss")
    assert "focal-frequency" in {p.name for p in plugins.skipped}
    assert "ngd" in plugins.registry.names("optimizer")
    monkeypatch.delenv("RESTOREFW_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setenv("RESTOREFW_PLUGINS", "optimizers,restorefw-focal-frequency")
    plugins = load_plugins()
    assert {p.name for p in plugins.plugins} == {"optimizers", "focal-frequency"}
    assert plugins.registry.names("loss") == ["focal-frequency"]


def test_contrib_plugin_listed_by_cli(focal_frequency, cli):
    code, out, _ = cli("plugins", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)["plugins"]}
    row = rows["focal-frequency"]
    assert row["distribution"] == "restorefw-focal-frequency" and row["version"] == "0.1.0"
    assert row["components"] == {"loss": ["focal-frequency"]} and row["error"] is None and not row["builtin"]


def test_contrib_plugin_params_validated_by_its_schema(focal_frequency):
    from restorefw.errors import RecipeError

    registry = load_plugins().registry
    with pytest.raises(RecipeError, match=r"losses\[1\]\.params\.alpha"):
        registry.create("loss", "focal-frequency", {"alpha": -1}, "losses[1]")
    loss = registry.create("loss", "focal-frequency", {"alpha": 2.0}, "losses[1]")
    import torch

    target = torch.rand(2, 3, 16, 16)
    loss.prepare(target, None)
    assert torch.allclose(loss(target), torch.zeros(2))
    x = target.clone().requires_grad_(True)
    value = loss(x + 0.1 * torch.rand_like(x))
    value.sum().backward()
    assert (value > 0).all() and x.grad.abs().sum() > 0


def test_plugins_command_shows_load_errors(install_dist, cli):
    install_dist("broken-plugin", {"broken": "broken_mod"}, {"broken_mod": BROKEN})
    code, out, _ = cli("plugins")
    assert code == 0
    assert "broken" in out and "FAILED" in out and "this plugin is broken on purpose" in out
    code, out, err = cli("--strict-plugins", "plugins")
    assert code == 2 and "broken-plugin" in err and "Traceback" not in err
