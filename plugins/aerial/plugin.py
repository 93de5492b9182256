"""Entry point of the aerial dataset plugin."""

from __future__ import annotations

from restorefw import hookimpl
from restorefw_plugins.aerial.dataset import AerialDataset


@hookimpl
def restorefw_datasets() -> list[type]:
    return [AerialDataset]
