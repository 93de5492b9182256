"""Built-in latent spaces: W, W+ and filter-wise W++ (RUSIR's three phases)."""

from __future__ import annotations

import torch
from pydantic import Field

from restorefw import hookimpl
from restorefw.component import Params
from restorefw.generator import GeneratorNetwork
from restorefw.latent import LatentSpace


def _as_wplus(styles: torch.Tensor) -> torch.Tensor:
    """W++ styles `[B,num_ws,K,w]` → W+ `[B,num_ws,w]` (mean over the filter vectors); W+ passes."""
    return styles.mean(dim=2) if styles.dim() == 4 else styles


def _w_avg(G: GeneratorNetwork, batch_size: int) -> torch.Tensor:
    return G.mapping.w_avg.detach().float().reshape(1, -1).repeat(batch_size, 1)


class WSpace(LatentSpace):
    name = "w"
    description = "One w vector per image, broadcast to every style input; starts at w_avg."

    def initial(self, G, batch_size, previous_styles):
        if previous_styles is None:
            return _w_avg(G, batch_size)
        return _as_wplus(previous_styles).mean(dim=1).clone()

    def to_styles(self, latent, G):
        return latent.unsqueeze(1).expand(-1, G.num_ws, -1)


class WPlusSpace(LatentSpace):
    name = "w+"
    description = "One w vector per style input (W+); starts from the previous phase's styles or w_avg."

    def initial(self, G, batch_size, previous_styles):
        if previous_styles is None:
            return _w_avg(G, batch_size).unsqueeze(1).repeat(1, G.num_ws, 1)
        return _as_wplus(previous_styles).clone()

    def to_styles(self, latent, G):
        return latent


class WPlusPlusParams(Params):
    vectors: int | None = Field(None, ge=1, description="Vectors per style input; default: the generator's "
                                                        "`max_filters` (its widest layer).")


class WPlusPlusSpace(LatentSpace):
    name = "w++"
    description = "Filter-wise W++: one w vector per output filter of every style input (RUSIR phase III)."
    Params = WPlusPlusParams

    def vectors(self, G: GeneratorNetwork) -> int:
        return self.params.vectors if self.params.vectors is not None else int(G.max_filters)

    def initial(self, G, batch_size, previous_styles):
        if previous_styles is None:
            previous_styles = _w_avg(G, batch_size).unsqueeze(1).repeat(1, G.num_ws, 1)
        if previous_styles.dim() == 4:
            return previous_styles.clone()
        return previous_styles.unsqueeze(2).repeat(1, 1, self.vectors(G), 1)

    def to_styles(self, latent, G):
        return latent


@hookimpl
def restorefw_latent_spaces() -> list[type[LatentSpace]]:
    return [WSpace, WPlusSpace, WPlusPlusSpace]
