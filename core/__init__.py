"""restorefw: unsupervised image restoration with a StyleGAN prior, as a plugin framework."""

from restorefw.component import Component, NoParams
from restorefw.errors import RecipeError, RestoreError, UserError, WorkError
from restorefw.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "Component",
    "NoParams",
    "RecipeError",
    "RestoreError",
    "UserError",
    "WorkError",
    "hookimpl",
    "__version__",
]
