"""restorefw's own StyleGAN2-ADA generator (mapping + synthesis).

Module, parameter and buffer names match the official `G_ema.state_dict()` one to one, and the
constructor takes the official init kwargs, so official weights load directly. Everything runs in
the parameters' dtype (float32 normally; float64 works too): `num_fp16_res` is accepted and
recorded but never switches to half precision. Synthesis accepts W/W+ styles [B, num_ws, w_dim]
and filter-wise W++ styles [B, num_ws, K, w_dim] (or the flat [B, num_ws*K, w_dim] layout).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from restorefw_plugins.stylegan2.modconv import FrozenTerms, modulated_conv2d
from restorefw_plugins.stylegan2.ops import SQRT2, bias_act, make_filter, upsample2d
from restorefw_plugins.winograd import runs_winograd

ACTIVATION_GAIN = {"linear": 1.0, "relu": SQRT2, "lrelu": SQRT2}
ARCHITECTURES = ("orig", "skip", "resnet")
CONVOLUTIONS = ("direct", "winograd")


def _act(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "lrelu":
        return torch.nn.functional.leaky_relu(x, 0.2)
    if activation == "relu":
        return torch.relu(x)
    return x


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATION_GAIN:
        raise ValueError(f"unsupported activation {activation!r}; supported: {', '.join(ACTIVATION_GAIN)}")
    return activation


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / sqrt(mean(x^2 over dim 1) + eps)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(nn.Module):
    """Linear layer with equalized learning rate: W * lr/sqrt(in), b * lr, then the activation."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.activation = _check_activation(activation)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.lr_multiplier = float(lr_multiplier)
        self.bias_init = float(bias_init)
        self.weight_gain = self.lr_multiplier / math.sqrt(in_features)
        self.bias_gain = self.lr_multiplier

    @torch.no_grad()
    def init_random(self, gen: torch.Generator) -> None:
        self.weight.copy_(torch.randn(self.weight.shape, generator=gen) / self.lr_multiplier)
        if self.bias is not None:
            self.bias.fill_(self.bias_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation == "linear":
            return torch.nn.functional.linear(x, w, b)
        x = x.matmul(w.t())
        if b is not None:
            x = x + b
        return _act(x, self.activation) * ACTIVATION_GAIN[self.activation]


class MappingNetwork(nn.Module):
    """z (and class label c) -> w, broadcast to num_ws rows, with optional truncation toward w_avg."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, num_layers: int = 8,
                 embed_features: int | None = None, layer_features: int | None = None,
                 activation: str = "lrelu", lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        if embed_features is None:
            embed_features = w_dim
        if c_dim == 0:
            embed_features = 0
        if layer_features is None:
            layer_features = w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(features[i], features[i + 1], activation=activation,
                                                        lr_multiplier=lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, skip_w_avg_update: bool = False) -> torch.Tensor:
        dtype = self.fc0.weight.dtype
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z.to(dtype))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this generator is class-conditional (c_dim={self.c_dim}); pass a label c")
            y = normalize_2nd_moment(self.embed(c.to(dtype)))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if self.training and not skip_w_avg_update and hasattr(self, "w_avg"):
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            w_avg = self.w_avg.to(x.dtype)
            if truncation_cutoff is None:
                x = w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x upsampling), noise, bias, activation, clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, kernel_size: int = 3,
                 up: int = 1, use_noise: bool = True, activation: str = "lrelu",
                 resample_filter: list[float] | None = None, conv_clamp: float | None = None,
                 channels_last: bool = False) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        self.activation = _check_activation(activation)
        self.conv_clamp = conv_clamp
        self.padding = kernel_size // 2
        self.act_gain = ACTIVATION_GAIN[activation]
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("resample_filter", make_filter(resample_filter))
        if use_noise:
            self.register_buffer("noise_const", torch.empty(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.convolution = "direct"  # or "winograd": see SynthesisNetwork.set_convolution
        self._terms = FrozenTerms()
        self._offset_key: tuple | None = None
        self._offset_value: torch.Tensor | None = None

    @torch.no_grad()
    def init_random(self, gen: torch.Generator) -> None:
        self.weight.copy_(torch.randn(self.weight.shape, generator=gen))
        self.bias.zero_()
        if self.use_noise:
            self.noise_const.copy_(torch.randn(self.noise_const.shape, generator=gen))
            self.noise_strength.zero_()

    def _offset(self, noise_mode: str, x: torch.Tensor, gain: float) -> torch.Tensor:
        """gain * (noise + bias), broadcastable to the conv output; constant (and cached) for a frozen
        layer in 'const' or 'none' mode."""
        bias = self.bias.reshape(-1, 1, 1)
        if self.use_noise and noise_mode == "random":
            size = [x.shape[0], 1, self.resolution, self.resolution]
            noise = torch.randn(size, device=x.device, dtype=x.dtype) * self.noise_strength.to(x.dtype)
            return (noise + bias.to(x.dtype)) * gain
        parts = [self.bias, self.noise_const, self.noise_strength] if self.use_noise and noise_mode == "const" \
            else [self.bias]
        frozen = not any(t.requires_grad for t in parts)
        key = (noise_mode, gain, x.dtype, *((t.data_ptr(), t._version, t.device) for t in parts))
        if frozen and self._offset_key == key:
            return self._offset_value
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            offset = self.noise_const * self.noise_strength + bias if len(parts) == 3 else bias
            offset = offset.to(x.dtype) * gain
        if frozen:
            self._offset_key, self._offset_value = key, offset
        return offset

    def _winograd(self, x: torch.Tensor) -> bool:
        """Whether this call runs the Winograd convolution: asked for, on a CPU (cuDNN picks its own
        algorithms, Winograd among them), a stride-1 3x3 conv of a shape where it pays, and
        full-precision arithmetic (under autocast the direct conv runs)."""
        return (self.convolution == "winograd" and self.up == 1 and self.weight.shape[-1] == 3
                and runs_winograd(x, self.in_channels, self.out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const", gain: float = 1,
                fused: bool = True) -> torch.Tensor:
        if w.ndim == 3:
            w = w[:, : self.out_channels]
        styles = self.affine(w)
        total_gain = self.act_gain * gain  # > 0: the activations used here commute with it
        weight = self.weight.to(x.dtype)
        x = modulated_conv2d(x, weight, styles, demodulate=True, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, noise=self._offset(noise_mode, x, total_gain),
                             fused=fused, gain=total_gain,
                             terms=self._terms(weight, self.up, self._winograd(x)))
        x = _act(x, self.activation)
        if self.conv_clamp is not None:
            clamp = self.conv_clamp * gain
            x = x.clamp(-clamp, clamp)
        return x


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to image channels (no demodulation), bias, clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1,
                 conv_clamp: float | None = None, channels_last: bool = False) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        self._terms = FrozenTerms()

    @torch.no_grad()
    def init_random(self, gen: torch.Generator) -> None:
        self.weight.copy_(torch.randn(self.weight.shape, generator=gen))
        self.bias.zero_()

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool = True) -> torch.Tensor:
        if w.ndim == 3:
            w = w[:, : self.out_channels]
        styles = self.affine(w) * self.weight_gain
        weight = self.weight.to(x.dtype)
        x = modulated_conv2d(x, weight, styles, demodulate=False, fused=fused,
                             noise=self.bias.to(x.dtype).reshape(-1, 1, 1), terms=self._terms(weight))
        return bias_act(x, None, False, 1, self.conv_clamp)


class Conv2dLayer(nn.Module):
    """Plain equalized-lr conv, used only as the 1x1 up=2 skip path of the 'resnet' architecture."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, up: int = 1,
                 resample_filter: list[float] | None = None, conv_clamp: float | None = None,
                 channels_last: bool = False, activation: str = "linear") -> None:
        super().__init__()
        self.up, self.conv_clamp = up, conv_clamp
        self.activation = _check_activation(activation)
        self.act_gain = ACTIVATION_GAIN[activation]
        self.register_buffer("resample_filter", make_filter(resample_filter))
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size * kernel_size)

    @torch.no_grad()
    def init_random(self, gen: torch.Generator) -> None:
        self.weight.copy_(torch.randn(self.weight.shape, generator=gen))
        if self.bias is not None:
            self.bias.zero_()

    def forward(self, x: torch.Tensor, gain: float = 1) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        x = torch.nn.functional.conv2d(x, w)
        if self.up > 1:
            x = upsample2d(x, self.resample_filter, self.up)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        x = _act(x, self.activation) * (self.act_gain * gain)
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp * gain, self.conv_clamp * gain)
        return x


class SynthesisBlock(nn.Module):
    """One resolution: [const | conv0 (up 2)], conv1, and the RGB path (upsample + torgb)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 is_last: bool, architecture: str = "skip", resample_filter: list[float] | None = None,
                 conv_clamp: float | None = None, use_fp16: bool = False, fp16_channels_last: bool = False,
                 **layer_kwargs: Any) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unsupported architecture {architecture!r}; supported: {', '.join(ARCHITECTURES)}")
        self.in_channels, self.out_channels, self.w_dim = in_channels, out_channels, w_dim
        self.resolution, self.img_channels, self.is_last = resolution, img_channels, is_last
        self.architecture, self.use_fp16 = architecture, use_fp16
        self.register_buffer("resample_filter", make_filter(resample_filter))
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.empty(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2,
                                        resample_filter=resample_filter, conv_clamp=conv_clamp, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution,
                                    resample_filter=resample_filter, conv_clamp=conv_clamp, **layer_kwargs)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(in_channels, out_channels, kernel_size=1, bias=False, up=2,
                                    resample_filter=resample_filter)

    @torch.no_grad()
    def init_random(self, gen: torch.Generator) -> None:
        if self.in_channels == 0:
            self.const.copy_(torch.randn(self.const.shape, generator=gen))

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: list[torch.Tensor],
                noise_mode: str = "const", fused: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """ws: this block's styles, one [B, w_dim] or [B, K, w_dim] tensor per conv, then torgb."""
        dtype = self.conv1.weight.dtype
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat([ws[0].shape[0], 1, 1, 1])
            x = self.conv1(x, ws[0], noise_mode, fused=fused)
        elif self.architecture == "resnet":
            y = self.skip(x.to(dtype), gain=math.sqrt(0.5))
            x = self.conv0(x.to(dtype), ws[0], noise_mode, fused=fused)
            x = y + self.conv1(x, ws[1], noise_mode, gain=math.sqrt(0.5), fused=fused)
        else:
            x = self.conv0(x.to(dtype), ws[0], noise_mode, fused=fused)
            x = self.conv1(x, ws[1], noise_mode, fused=fused)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, ws[self.num_conv], fused=fused)
            img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """Blocks 4x4 ... img_resolution; maps styles to an image in the generator's [-1, 1] scale."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, num_fp16_res: int = 0, **block_kwargs: Any) -> None:
        super().__init__()
        log2 = int(np.log2(img_resolution)) if img_resolution >= 4 else 0
        if img_resolution < 4 or 2 ** log2 != img_resolution:
            raise ValueError(f"img_resolution must be a power of 2 and >= 4, got {img_resolution}")
        self.w_dim, self.img_resolution, self.img_resolution_log2 = w_dim, img_resolution, log2
        self.img_channels, self.num_fp16_res = img_channels, num_fp16_res
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        fp16_resolution = max(2 ** (log2 + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(channels[res // 2] if res > 4 else 0, channels[res], w_dim, res, img_channels,
                                   is_last=res == img_resolution, use_fp16=res >= fp16_resolution, **block_kwargs)
            self.num_ws += block.num_conv
            if res == img_resolution:
                self.num_ws += block.num_torgb
            setattr(self, f"b{res}", block)
        self.max_filters = max(max(channels.values()), img_channels)
        # every block emits RGB in the skip architecture; the others only at the last block
        skip = block_kwargs.get("architecture", "skip") == "skip"
        self.render_resolutions = tuple(self.block_resolutions) if skip else (img_resolution,)

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def set_convolution(self, kind: str) -> None:
        """'direct' (the default: bit-for-bit the official arithmetic) or 'winograd': stride-1 3x3
        convolutions with many channels run as Winograd F(4x4, 3x3) in full precision (the same
        result up to float rounding, about 1e-5 relative; faster on CPUs, see winograd.py)."""
        if kind not in CONVOLUTIONS:
            raise ValueError(f"unsupported convolution {kind!r}; supported: {', '.join(CONVOLUTIONS)}")
        for module in self.modules():
            if isinstance(module, SynthesisLayer):
                module.convolution = kind

    def _split_styles(self, ws: torch.Tensor) -> torch.Tensor:
        """Check ws and bring the flat W++ layout [B, num_ws*K, w_dim] to [B, num_ws, K, w_dim]."""
        if ws.ndim == 3 and ws.shape[1] != self.num_ws and ws.shape[1] % self.num_ws == 0:
            ws = ws.reshape(ws.shape[0], self.num_ws, ws.shape[1] // self.num_ws, ws.shape[2])
        if ws.ndim not in (3, 4) or ws.shape[1] != self.num_ws or ws.shape[-1] != self.w_dim:
            raise ValueError(f"styles must be W+ [B, {self.num_ws}, {self.w_dim}] or W++ "
                             f"[B, {self.num_ws}, K, {self.w_dim}]; got {list(ws.shape)}")
        if ws.ndim == 4 and ws.shape[2] < self.max_filters:
            raise ValueError(f"W++ styles need K >= {self.max_filters} vectors per style index (the widest "
                             f"layer's filter count); got K = {ws.shape[2]}")
        return ws

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", fused_modconv: bool | None = None,
                force_fp32: bool = True, resolution: int | None = None) -> torch.Tensor:
        """Styles -> image. W++ always runs fused (per-image weights, grouped conv). For W+,
        `fused_modconv=None` picks the non-fused path (activations scaled; no per-image weight
        gradients, so about 1.5x cheaper backward) when gradients flow, and the fused path, the
        official eval-mode one, otherwise. `force_fp32` is accepted for compatibility: this
        implementation always computes in the parameters' dtype. `resolution` (one of
        `render_resolutions`) runs the blocks up to it and upsamples their RGB to full size as the
        finer blocks would, without their contributions: the image without its finer detail."""
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        if resolution is not None and resolution not in self.render_resolutions:
            raise ValueError(f"resolution must be one of {self.render_resolutions}, got {resolution}")
        if fused_modconv is None:
            fused_modconv = not (torch.is_grad_enabled() and (ws.requires_grad or self.training))
        per_index = self._split_styles(ws).to(self.b4.conv1.weight.dtype).unbind(dim=1)
        x = img = None
        w_idx = 0
        for block in self.blocks():
            if resolution is not None and block.resolution > resolution:
                img = upsample2d(img, block.resample_filter)
                continue
            block_ws = list(per_index[w_idx: w_idx + block.num_conv + block.num_torgb])
            x, img = block(x, img, block_ws, noise_mode, fused=fused_modconv)
            w_idx += block.num_conv
        return img


class Generator(nn.Module):
    """StyleGAN2-ADA G: `synthesis` (assigned first, as in official state dicts) and `mapping`."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
                 mapping_kwargs: dict | None = None, synthesis_kwargs: dict | None = None) -> None:
        super().__init__()
        mapping_kwargs = dict(mapping_kwargs or {})
        synthesis_kwargs = dict(synthesis_kwargs or {})
        self.config = {"z_dim": z_dim, "c_dim": c_dim, "w_dim": w_dim, "img_resolution": img_resolution,
                       "img_channels": img_channels, "mapping_kwargs": copy.deepcopy(mapping_kwargs),
                       "synthesis_kwargs": copy.deepcopy(synthesis_kwargs)}
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.max_filters = self.synthesis.max_filters  # W++ vectors per style input (restorefw's generator protocol)
        self.render_resolutions = self.synthesis.render_resolutions  # where synthesis(resolution=…) may stop
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **mapping_kwargs)

    @torch.no_grad()
    def init_random(self, seed: int) -> "Generator":
        """Official-style random initialisation, deterministic in `seed`."""
        gen = torch.Generator().manual_seed(int(seed))
        for module in self.modules():
            if module is not self and hasattr(module, "init_random"):
                module.init_random(gen)
        return self

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1,
                truncation_cutoff: int | None = None, noise_mode: str = "const",
                **synthesis_kwargs: Any) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, **synthesis_kwargs)
