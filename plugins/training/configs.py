"""Model and optimisation presets for `restorefw train --config NAME`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from restorefw.errors import UserError


@dataclass(frozen=True)
class TrainConfig:
    """Network sizes (generator in official StyleGAN2-ADA terms) and training hyper-parameters."""

    z_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 2
    channel_base: int = 4096
    channel_max: int = 128
    d_channel_base: int = 4096
    d_channel_max: int = 128
    lr: float = 0.0025
    r1_gamma: float = 0.01
    r1_interval: int = 16
    ema_kimg: float = 10.0
    ema_rampup: float = 0.05
    style_mixing: float = 0.9
    ada_target: float = 0.6
    ada_kimg: float = 100.0
    ada_interval: int = 4
    mbstd_group: int = 4
    extra: dict[str, Any] = field(default_factory=dict)

    def generator_config(self, resolution: int, channels: int = 3) -> dict[str, Any]:
        """The generator's constructor arguments, as official pickles store them."""
        return {
            "z_dim": self.z_dim, "c_dim": 0, "w_dim": self.w_dim,
            "img_resolution": resolution, "img_channels": channels,
            "mapping_kwargs": {"num_layers": self.mapping_layers},
            "synthesis_kwargs": {"channel_base": self.channel_base, "channel_max": self.channel_max,
                                 "num_fp16_res": 0, "conv_clamp": None},
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, TrainConfig] = {
    # Tests and smoke runs: a few seconds per kimg.
    "tiny": TrainConfig(z_dim=32, w_dim=32, mapping_layers=2, channel_base=256, channel_max=32,
                        d_channel_base=256, d_channel_max=32),
    # The shipped aerial prior: 128 channels down to 16², 64 at 32² (fast on 2 CPU cores).
    "small": TrainConfig(z_dim=128, w_dim=128, mapping_layers=2, channel_base=2048, channel_max=128,
                         d_channel_base=2048, d_channel_max=128),
    # Half the cost of "small": 128 channels at 4–8², 64 at 16², 32 at 32².
    "fast": TrainConfig(z_dim=128, w_dim=128, mapping_layers=2, channel_base=1024, channel_max=128,
                        d_channel_base=1024, d_channel_max=128),
    # The size the official timing was measured with (1.05 M-parameter G at 32²).
    "official-small": TrainConfig(z_dim=128, w_dim=128, mapping_layers=8, channel_base=4096, channel_max=128,
                                  d_channel_base=4096, d_channel_max=128),
}


def get_config(name: str) -> TrainConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown training config {name!r}; choose one of {', '.join(PRESETS)}.") from None
