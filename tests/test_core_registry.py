"""Registry: duplicate names, did-you-mean, parameter validation with recipe paths."""

from __future__ import annotations

import pytest
from pydantic import Field

from restorefw.component import Params
from restorefw.errors import PluginError, RecipeError
from restorefw.loss import Loss
from restorefw.registry import Registry


class ScaleParams(Params):
    scales: int = Field(3, ge=1)
    net: str = "vgg"


class ScaledLoss(Loss):
    name = "scaled"
    description = "A test loss with parameters."
    Params = ScaleParams


class OtherScaledLoss(Loss):
    name = "scaled"
    description = "Same name, another class."


def test_duplicate_name_is_ambiguous_and_names_both_plugins():
    registry = Registry()
    registry.add("loss", ScaledLoss, "plugin-a")
    registry.add("loss", OtherScaledLoss, "plugin-b")
    with pytest.raises(RecipeError) as info:
        registry.get("loss", "scaled", "losses[0].type")
    assert "'plugin-a:scaled' or 'plugin-b:scaled'" in str(info.value)
    assert registry.get("loss", "plugin-b:scaled") is OtherScaledLoss
    assert registry.conflicts() == [("loss", "scaled", ["plugin-a", "plugin-b"])]
    with pytest.raises(PluginError, match="two different loss classes"):
        registry.add("loss", OtherScaledLoss, "plugin-a")


def test_unknown_name_suggests_close_match():
    registry = Registry()
    registry.add("loss", ScaledLoss, "plugin-a")
    with pytest.raises(RecipeError) as info:
        registry.get("loss", "scald", path="losses[2].type")
    message = str(info.value)
    assert "losses[2].type" in message and "Did you mean 'scaled'" in message


def test_params_error_names_recipe_path_not_a_pydantic_dump():
    registry = Registry()
    registry.add("loss", ScaledLoss, "plugin-a")
    with pytest.raises(RecipeError) as info:
        registry.create("loss", "scaled", {"scales": "three"}, path="losses[2]")
    message = str(info.value)
    assert message.startswith("recipe: losses[2].params.scales")
    assert "validation error" not in message and "pydantic" not in message


def test_params_unknown_key_suggests_field():
    registry = Registry()
    registry.add("loss", ScaledLoss, "plugin-a")
    with pytest.raises(RecipeError) as info:
        registry.create("loss", "scaled", {"scale": 2}, path="losses[0]")
    assert "losses[0].params.scale" in str(info.value)


def test_create_validates_and_builds():
    registry = Registry()
    registry.add("loss", ScaledLoss, "plugin-a")
    loss = registry.create("loss", "scaled", {"scales": 5})
    assert isinstance(loss, ScaledLoss) and loss.params.scales == 5 and loss.params.net == "vgg"
