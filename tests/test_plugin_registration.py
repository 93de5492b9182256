"""Registration problems are isolated like import errors; qualified names and the deny-list resolve clashes;
hooks are collected through pluggy (issue 12, defects 6 and 9)."""

from __future__ import annotations

import json

import pytest

from restorefw.errors import PluginError, RecipeError
from restorefw.plugins import load_plugins

DUPLICATE = """
from restorefw import hookimpl
from restorefw.optimizer import Optimizer
class AnotherNGD(Optimizer):
    name = "ngd"
    description = "clashes with the built-in"
@hookimpl
def restorefw_optimizers():
    return [AnotherNGD]
"""

NAMELESS = """
from restorefw import hookimpl
from restorefw.loss import Loss
class Nameless(Loss):
    description = "forgot its name"
@hookimpl
def restorefw_losses():
    return [Nameless]
"""

NOT_A_COMPONENT = """
from restorefw import hookimpl
@hookimpl
def restorefw_losses():
    return ["a string, not a class"]
"""

WRONG_KIND = """
from restorefw import hookimpl
from restorefw.metric import Metric
class Sneaky(Metric):
    name = "sneaky"
    description = "a metric returned from the losses hook"
@hookimpl
def restorefw_losses():
    return [Sneaky]
"""

BAD_SIGNATURE = """
from restorefw import hookimpl
@hookimpl
def restorefw_losses(registry):
    return []
"""

MISSPELT = """
def restorefw_lossses():
    return []
"""

SPECNAME = """
from restorefw import hookimpl
from restorefw.optimizer import Optimizer
class Slow(Optimizer):
    name = "slow-sgd"
    description = "registered through a pluggy specname"
@hookimpl(specname="restorefw_optimizers")
def my_optimizers():
    return [Slow]
"""


@pytest.mark.parametrize("source, reason", [
    (NAMELESS, "without a `name`"),
    (NOT_A_COMPONENT, "not a subclass of restorefw.loss.Loss"),
    (WRONG_KIND, "not a subclass of restorefw.loss.Loss"),
    (BAD_SIGNATURE, "registry"),
    (MISSPELT, "restorefw_lossses"),
])
def test_registration_error_is_isolated_and_strict_makes_it_fatal(install_dist, cli, source, reason):
    install_dist("broken-plugin", {"broken": "broken_mod"}, {"broken_mod": source})
    plugins = load_plugins()
    info = next(p for p in plugins.plugins if p.name == "broken")
    assert reason in info.error and not info.components
    assert "ngd" in plugins.registry.names("optimizer") and "w++" in plugins.registry.names("latent_space")
    code, out, err = cli("plugins")
    assert code == 0 and "FAILED" in out and reason in out, err
    code, _, err = cli("--strict-plugins", "plugins")
    assert code == 2 and "broken" in err and "Traceback" not in err


def test_a_clash_keeps_both_reachable_by_qualified_name(install_dist, cli, monkeypatch):
    install_dist("dup-plugin", {"dup": "dup_mod"}, {"dup_mod": DUPLICATE})
    plugins = load_plugins()
    registry = plugins.registry
    assert registry.get("optimizer", "dup:ngd").description == "clashes with the built-in"
    assert registry.get("optimizer", "optimizers:ngd").__module__ == "restorefw_plugins.optimizers"
    with pytest.raises(RecipeError) as info:
        registry.get("optimizer", "ngd", "schedule.phases[0].optimizer")
    message = str(info.value)
    assert "'dup:ngd' or 'optimizers:ngd'" in message and "RESTOREFW_DISABLE_PLUGINS=" in message
    code, out, _ = cli("plugins", "--json")
    assert code == 0 and any("'ngd'" in c for c in json.loads(out)["conflicts"])
    with pytest.raises(PluginError, match="ngd"):
        load_plugins(strict=True)


def test_deny_list_skips_a_plugin(install_dist, monkeypatch, cli):
    install_dist("dup-plugin", {"dup": "dup_mod"}, {"dup_mod": DUPLICATE})
    monkeypatch.setenv("RESTOREFW_DISABLE_PLUGINS", "dup")
    plugins = load_plugins(strict=True)
    assert plugins.registry.get("optimizer", "ngd").__module__ == "restorefw_plugins.optimizers"
    assert any(p.name == "dup" and "RESTOREFW_DISABLE_PLUGINS" in p.skipped_because for p in plugins.skipped)
    monkeypatch.setenv("RESTOREFW_DISABLE_PLUGINS", "optimizers")  # a built-in can be denied too
    plugins = load_plugins()
    assert plugins.registry.get("optimizer", "ngd").description == "clashes with the built-in"
    assert "adam" not in plugins.registry.names("optimizer")


def test_qualified_names_work_in_recipes(install_dist, cli, tmp_path):
    from conftest import write_recipe

    install_dist("dup-plugin", {"dup": "dup_mod"}, {"dup_mod": DUPLICATE})
    recipe = """
        generator: {type: stylegan2-ada, params: {init: random}}
        schedule:
          phases: [{space: latents:w, steps: 1, lr: 0.1, optimizer: {type: optimizers:ngd}}]
        degradation: degradations:denoising
        losses: [{type: iqa:consistency}]
        metrics: [iqa:psnr]
        inputs: {path: images}
    """
    code, _, err = cli("validate", "--no-files", write_recipe(tmp_path, recipe))
    assert code == 0, err
    code, _, err = cli("validate", "--no-files", write_recipe(tmp_path, recipe.replace("optimizers:ngd", "ngd"), "bare.yaml"))
    assert code == 2 and "dup:ngd" in err


def test_hooks_are_collected_through_pluggy(install_dist):
    install_dist("specname-plugin", {"specname": "specname_mod"}, {"specname_mod": SPECNAME})
    plugins = load_plugins(strict=True)
    assert plugins.registry.get("optimizer", "slow-sgd").description == "registered through a pluggy specname"
    assert next(p for p in plugins.plugins if p.name == "specname").components == {"optimizer": ["slow-sgd"]}


def test_every_loss_prepare_has_the_base_signature():
    import inspect

    from restorefw.loss import Loss

    expected = list(inspect.signature(Loss.prepare).parameters)
    for cls in load_plugins().registry.classes("loss"):
        assert list(inspect.signature(cls.prepare).parameters) == expected, cls.name


def test_training_resolves_its_generator_through_the_registry():
    from conftest import REPO

    for path in (REPO / "plugins" / "training").glob("*.py"):
        assert "restorefw_plugins.stylegan2" not in path.read_text(), path.name


DEFAULT_METRIC = """
from restorefw import hookimpl
from restorefw.metric import Metric
class Mean(Metric):
    name = "mean-value"
    description = "joins the default metrics"
    groups = ("default",)
    def paired(self, pred, ref):
        return pred.flatten(1).mean(1)
@hookimpl
def restorefw_metrics():
    return [Mean]
"""


def test_defaults_come_from_groups_not_names(install_dist):
    from restorefw.recipe import parse_recipe

    install_dist("dup-defaults", {"dupdefaults": "dup_defaults"}, {"dup_defaults": DEFAULT_METRIC})
    registry = load_plugins().registry
    data = {"generator": {"type": "stylegan2-ada", "params": {"init": "random"}}, "schedule": {"phases": [{"space": "w", "steps": 1, "lr": 0.1}]},
            "losses": ["consistency"], "inputs": {"path": "x"}}
    recipe = parse_recipe(data, registry)
    assert [m.type for m in recipe.metrics] == registry.group("metric", "default")
    assert "mean-value" in registry.group("metric", "default") and len(registry.group("metric", "default")) == 3
    assert recipe.schedule.phases[0].optimizer.type == registry.group("optimizer", "default")[0]


def test_targets_are_checked_against_the_announced_shape_and_range():
    import torch

    from restorefw.degradation import check_output

    check_output(torch.full((1, 3, 4, 4), 1.0005), (1, 3, 4, 4), "degradation 'x'", "true", in_unit_range=True)
    with pytest.raises(PluginError, match="degradation 'x'.*values in"):
        check_output(torch.full((1, 3, 4, 4), 1.01), (1, 3, 4, 4), "degradation 'x'", "true", in_unit_range=True)
    with pytest.raises(PluginError, match=r"returned \[1, 1, 4, 4\].*announces \[1, 3, 4, 4\]"):
        check_output(torch.zeros(1, 1, 4, 4), (1, 3, 4, 4), "degradation 'x'", "true")
