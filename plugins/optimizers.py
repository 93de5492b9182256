"""Built-in optimisers: RUSIR's normalised gradient descent and Adam with a warm-up and an optional schedule."""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field

from restorefw import hookimpl
from restorefw.component import Params
from restorefw.optimizer import Optimizer


class NormalizedGradientDescent(torch.optim.Optimizer):
    """v ← v − lr · g/‖g‖₂ per row of the last dimension; rows with a zero gradient stay put.

    With `adaptive`, each row's step is lr times its own factor, which grows ×1.2 while the row's
    gradient keeps its direction (positive cosine with the last one) and halves when it turns back,
    within [ADAPT_MIN, ADAPT_MAX] (Rprop's rule, applied per row to NGD's step length).

    With `momentum` β > 0, a row moves by lr times m ← β·m + (1 − β)·g/‖g‖₂, a running mean of its unit
    directions: a row whose direction keeps turning back moves by about (1 − β)/(1 + β)·lr, one whose
    direction holds moves by up to lr, and the first steps are shorter while m builds up.
    """

    ADAPT_GROW, ADAPT_SHRINK, ADAPT_MIN, ADAPT_MAX = 1.2, 0.5, 0.01, 2.0

    def __init__(self, params, lr: float, adaptive: bool = False, momentum: float = 0.0) -> None:
        super().__init__(params, {"lr": lr})
        self.adaptive = adaptive
        self.momentum = momentum

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                norm = p.grad.norm(dim=-1, keepdim=True)
                direction = torch.nan_to_num(p.grad / norm, nan=0.0, posinf=0.0, neginf=0.0)
                if self.adaptive:
                    direction = direction * self._row_factors(p, direction)
                if self.momentum > 0:
                    direction = self._running_direction(p, direction)
                p.sub_(direction, alpha=group["lr"])
        return loss

    def _row_factors(self, p: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        """Each row's step factor after this step's direction, kept in the optimiser's state."""
        state = self.state[p]
        if "direction" not in state:
            state["factor"] = torch.ones_like(direction[..., :1])
        else:
            agrees = (direction * state["direction"]).sum(-1, keepdim=True) > 0
            grown = torch.where(agrees, state["factor"] * self.ADAPT_GROW, state["factor"] * self.ADAPT_SHRINK)
            state["factor"] = grown.clamp(self.ADAPT_MIN, self.ADAPT_MAX)
        state["direction"] = direction
        return state["factor"]

    def _running_direction(self, p: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
        """The running mean of each row's directions, kept in the optimiser's state."""
        state = self.state[p]
        running = state.get("running", torch.zeros_like(direction))
        state["running"] = running.mul_(self.momentum).add_(direction, alpha=1 - self.momentum)
        return state["running"]


class NGDParams(Params):
    schedule: Literal["constant", "cosine", "linear"] = Field("constant", description=(
        "Step length over the phase: 'constant' is RUSIR's (every row moves exactly lr per step, so a row "
        "ends oscillating about lr around its optimum); 'cosine' and 'linear' decay it from lr to "
        "`final`·lr, so a short phase can start with long steps and still settle."))
    final: float = Field(0.0, ge=0, le=1, description="Last step's length as a fraction of lr (decaying schedules).")
    adaptive: bool = Field(False, description=(
        "Adapt each row's step length: ×1.2 while its gradient keeps its direction, ×0.5 when it turns back, "
        "between 0.01 and 2 times the scheduled lr. With a fixed step every row ends oscillating by lr "
        "around its optimum (W++ renders alternate by several dB PSNR from one step to the next); adapted, "
        "overshooting rows settle and consistent ones move faster. False is RUSIR's."))
    momentum: float = Field(0.0, ge=0, lt=1, description=(
        "β of a running mean of each row's unit directions, m ← β·m + (1 − β)·g/‖g‖, which the row then moves "
        "along by lr·m: a row that keeps turning back moves by about (1 − β)/(1 + β)·lr and one that holds its "
        "direction by up to lr. 0 is RUSIR's."))


class NGD(Optimizer):
    name = "ngd"
    description = "Normalised gradient descent per latent row (RUSIR): each row moves exactly lr per step."
    groups = ("default",)
    Params = NGDParams

    def build(self, latent, lr, steps):
        return NormalizedGradientDescent([latent], lr, self.params.adaptive, self.params.momentum)

    def factor(self, step: int, steps: int) -> float:
        """Step-length multiplier at `step` of `steps` (1 at the first step, `final` at the last)."""
        t = step / max(steps - 1, 1)
        final = self.params.final
        if self.params.schedule == "cosine":
            return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * t))
        if self.params.schedule == "linear":
            return final + (1 - final) * (1 - t)
        return 1.0

    def scheduler(self, optimizer, steps):
        if self.params.schedule == "constant":
            return None
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: self.factor(step, steps))


class AdamParams(Params):
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(1e-8, gt=0)
    schedule: Literal["constant", "cosine", "ramp"] = "constant"
    warmup: float = Field(0.1, ge=0, le=1, description=(
        "Fraction of the phase's steps with a linear learning-rate warm-up from 0. Adam's first steps move "
        "every coordinate by about lr whatever the gradient, which throws a fitted latent off at the start "
        "of a phase; 0 gives torch's plain Adam."))
    rampdown: float = Field(0.25, ge=0, le=1, description="Fraction of steps with a cosine ramp-down ('ramp').")


class Adam(Optimizer):
    name = "adam"
    description = ("Adam with a per-phase warm-up (10% of the steps by default) and an optional cosine or ramp-down "
                   "schedule.")
    Params = AdamParams

    def build(self, latent, lr, steps):
        return torch.optim.Adam([latent], lr=lr, betas=self.params.betas, eps=self.params.eps)

    def factor(self, step: int, steps: int) -> float:
        """Learning-rate multiplier at `step` of `steps`."""
        t = step / max(steps, 1)
        scale = 1.0
        if self.params.warmup > 0:
            scale *= min(1.0, t / self.params.warmup)
        if self.params.schedule == "cosine":
            scale *= 0.5 * (1 + math.cos(math.pi * t))
        elif self.params.schedule == "ramp" and self.params.rampdown > 0:
            scale *= 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1 - t) / self.params.rampdown))
        return scale

    def scheduler(self, optimizer, steps):
        if self.params.schedule == "constant" and self.params.warmup == 0:
            return None
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: self.factor(step, steps))


@hookimpl
def restorefw_optimizers() -> list[type[Optimizer]]:
    return [NGD, Adam]
