"""Resolve a recipe's inputs into a sorted list of images (id, file, optional mask file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from restorefw.errors import RecipeError
from restorefw.imageio import IMAGE_SUFFIXES, list_images
from restorefw.recipe import Recipe
from restorefw.registry import Registry


@dataclass(frozen=True)
class InputImage:
    image_id: str
    path: Path
    mask: Path | None = None


def _mask_for(stem: str, masks: Path | None) -> Path | None:
    if masks is None:
        return None
    for name in (f"{stem}_mask.png", f"{stem}.png"):
        if (masks / name).is_file():
            return masks / name
    return None


def input_files(recipe: Recipe, base: Path) -> list[Path]:
    """The image files `inputs.path` names (a folder's images, or one file); relative to `base`."""
    path = Path(recipe.inputs.path or "")
    if not path.is_absolute():
        path = base / path
    if path.is_file():
        return [path]
    if path.is_dir():
        return [p for p in list_images(path) if not p.stem.endswith("_mask")]
    raise RecipeError(f"{path} does not exist.", path="inputs.path",
                      suggestion=f"Point it at a folder of images ({', '.join(IMAGE_SUFFIXES)}) "
                                 "or a single image; relative paths are relative to the recipe file.")


def masks_folder(recipe: Recipe, base: Path) -> Path | None:
    """The folder `inputs.masks` names, if any; it must exist."""
    if recipe.inputs.masks is None:
        return None
    masks = Path(recipe.inputs.masks) if Path(recipe.inputs.masks).is_absolute() else base / recipe.inputs.masks
    if not masks.is_dir():
        raise RecipeError(f"{masks} is not a folder.", path="inputs.masks",
                          suggestion="Give a folder holding <stem>_mask.png files (white = known).")
    return masks


def resolve_inputs(recipe: Recipe, registry: Registry, base: Path, cache: Path) -> list[InputImage]:
    """The images to restore: a folder, a single file, or a dataset split materialised in `cache`."""
    inputs = recipe.inputs
    if inputs.dataset is not None:
        dataset = registry.create("dataset", inputs.dataset.type, inputs.dataset.params, "inputs.dataset")
        files = dataset.materialize(inputs.split, cache / f"{inputs.dataset.type}-{inputs.split}")
    else:
        files = input_files(recipe, base)
    masks = masks_folder(recipe, base)
    images = [InputImage(p.stem, p, _mask_for(p.stem, masks)) for p in sorted(files)]
    if inputs.limit is not None:
        images = images[: inputs.limit]
    if not images:
        raise RecipeError("no images found.", path="inputs", suggestion="Check inputs.path (or the dataset split).")
    return images
