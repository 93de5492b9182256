"""Restore mode with per-image degradations: batching by target shape, each image through its own operator."""

from __future__ import annotations

from pathlib import Path

import torch

from restorefw.degradation import ImageKey
from restorefw.inputs import InputImage
from restorefw.per_input import StackedOperator, batches, realize_each
from restorefw_plugins.degradations.components import Deartifacting, Inpainting, Upsampling

CPU = torch.device("cpu")


def test_stacked_operator_applies_each_images_own_operator_to_its_rows():
    a, b = Deartifacting(quality=10), Deartifacting(quality=60)
    keys = [ImageKey(0, "a"), ImageKey(0, "a"), ImageKey(0, "b"), ImageKey(0, "b")]
    op = realize_each([a, b], keys, 2, (3, 16, 16), CPU)
    assert isinstance(op, StackedOperator)
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    alone_a = a.realize((2, 3, 16, 16), keys[:2], CPU)
    alone_b = b.realize((2, 3, 16, 16), keys[2:], CPU)
    assert torch.equal(op(x), torch.cat([alone_a(x[:2]), alone_b(x[2:])]))
    assert torch.equal(op.true(x), torch.cat([alone_a.true(x[:2]), alone_b.true(x[2:])]))
    assert op.mask is None
    same = realize_each([a, a], keys, 2, (3, 16, 16), CPU)
    assert not isinstance(same, StackedOperator)


def test_stacked_masks_fill_ones_for_images_without_holes_and_set_mask_splits():
    holes, plain = Inpainting(strokes=5), Deartifacting(quality=30)
    keys = [ImageKey(0, "h"), ImageKey(0, "p")]
    op = realize_each([holes, plain], keys, 1, (3, 32, 32), CPU)
    assert op.mask.shape == (2, 1, 32, 32) and op.mask[0].min() < 1 and torch.equal(op.mask[1], torch.ones(1, 32, 32))
    user = torch.zeros(2, 1, 32, 32)
    op.set_mask(user)
    assert torch.equal(op.operators[0].mask, user[:1])


def test_batches_group_images_by_target_shape(tmp_path):
    items = [InputImage(name, Path(tmp_path / f"{name}.png")) for name in ("a", "b", "c", "d", "e")]
    per_image = {"a": Deartifacting(quality=10), "b": Upsampling(factor=4), "c": Deartifacting(quality=50),
                 "e": Upsampling(factor=2)}
    groups = batches(items, per_image, 2, (3, 32, 32))
    assert [[i.image_id for i in g] for g in groups] == [["a", "c"], ["b"], ["d"], ["e"]]
