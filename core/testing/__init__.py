"""restorefw.testing: conformance checks for plugin components, one line in a plugin's own tests.

    from restorefw.testing import check_loss
    def test_my_loss_conforms():
        check_loss(MyLoss, alpha=2.0)

Each check builds the component from the given params, exercises everything the engine relies on and
raises `ConformanceError` naming the broken rule and the section of docs/plugins.md that states it; it
returns a `Report` of the rules passed (or why the component could not be exercised: missing weights).
"""

from typing import Callable

from restorefw.testing.degradations import check_degradation
from restorefw.testing.generators import check_generator
from restorefw.testing.latents import check_latent_space
from restorefw.testing.losses import check_loss
from restorefw.testing.metrics import check_metric
from restorefw.testing.rules import RULES, ConformanceError, Report, Rule
from restorefw.testing.toy_generator import ToyGenerator

CHECKS: dict[str, Callable[..., Report]] = {
    "generator": check_generator, "latent_space": check_latent_space, "degradation": check_degradation,
    "loss": check_loss, "metric": check_metric}

__all__ = ["CHECKS", "RULES", "ConformanceError", "Report", "Rule", "ToyGenerator", "check_degradation",
           "check_generator", "check_latent_space", "check_loss", "check_metric"]
