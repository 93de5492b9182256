"""Metric plugins: paired per-image measures and set measures through torch-fidelity.

Paired metrics take `pred, ref` `[B,C,H,W]` in [0,1] and return `[B]`. Set metrics take sequences
of such batches (any number of images, sizes may differ between batches) and return a float; KID
and IS also leave their standard deviation in `self.details`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Sequence

import torch
from pydantic import Field

from restorefw.component import Params, RecipePath
from restorefw.errors import CannotMeasure, UserError
from restorefw.metric import Metric
from restorefw.seeding import torch_generator
from restorefw_plugins.iqa import inception
from restorefw_plugins.iqa.lpips_net import LPIPSFeatures, build_lpips
from restorefw_plugins.iqa.ssim import MSSSIM, ssim

PSNR_FLOOR_MSE = 1e-10  # identical images: PSNR is reported as 100 dB instead of inf


class PSNR(Metric):
    name: ClassVar[str] = "psnr"
    description: ClassVar[str] = "peak signal-to-noise ratio in dB, data range 1 (identical images: 100 dB)"
    lower_is_better: ClassVar[bool] = False
    display_name: ClassVar[str] = "PSNR"
    groups: ClassVar[tuple[str, ...]] = ("default", "folders", "paper", "paper-ablation")

    def paired(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        mse = (pred.double() - ref.double()).pow(2).mean((1, 2, 3)).clamp_min(PSNR_FLOOR_MSE)
        return (-10 * torch.log10(mse)).float()


class SSIM(Metric):
    name: ClassVar[str] = "ssim"
    description: ClassVar[str] = "SSIM, Gaussian window 11 σ=1.5, valid region, mean over channels (= scikit-image)"
    lower_is_better: ClassVar[bool] = False
    display_name: ClassVar[str] = "SSIM"
    groups: ClassVar[tuple[str, ...]] = ("default", "folders", "paper", "paper-ablation")

    def paired(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return ssim(pred.double(), ref.double()).float()


class MSSSIMMetric(Metric):
    name: ClassVar[str] = "ms-ssim"
    description: ClassVar[str] = "MS-SSIM with window and scales adapted to the image size (see ssim.py)"
    lower_is_better: ClassVar[bool] = False
    display_name: ClassVar[str] = "MS-SSIM"

    def paired(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return MSSSIM(ref.double())(pred.double()).float()


class LPIPSMetricParams(Params):
    backbone: Literal["pretrained", "random"] = "pretrained"
    weights_path: RecipePath | None = Field(None, description="backbone .pth; default: torch hub cache search")
    seed: int = Field(0, description="seed of a random backbone")


class LPIPSAlex(Metric):
    name: ClassVar[str] = "lpips"
    display_name: ClassVar[str] = "LPIPS"
    groups: ClassVar[tuple[str, ...]] = ("folders", "paper", "paper-levels", "paper-combinations", "paper-ablation")
    description: ClassVar[str] = "LPIPS v0.1 with AlexNet (the lpips default), inputs [0,1] → [-1,1]; n/a below 31×31"
    net: ClassVar[str] = "alex"
    min_side: ClassVar[int] = 31  # smaller images leave nothing for AlexNet's second max-pool
    Params = LPIPSMetricParams

    def __init__(self, params=None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        p = self.params
        self.model = LPIPSFeatures(build_lpips(self.net, p.backbone, p.weights_path, p.seed))
        self.uses_random_backbone = p.backbone == "random"

    @torch.no_grad()
    def paired(self, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        h, w = pred.shape[-2:]
        if min(h, w) < self.min_side:
            raise CannotMeasure(f"{self.name} needs images of at least {self.min_side}×{self.min_side} pixels "
                                f"({self.net} network); these are {h}×{w}.")
        model = self.model.to(pred.device)
        return model(pred.float(), ref.float())


class LPIPSVgg(LPIPSAlex):
    name: ClassVar[str] = "lpips-vgg"
    display_name: ClassVar[str] = "LPIPS-vgg"
    groups: ClassVar[tuple[str, ...]] = ("folders", "paper", "paper-levels", "paper-combinations")
    description: ClassVar[str] = "LPIPS v0.1 with VGG16, inputs [0,1] → [-1,1]; n/a below 16×16"
    net: ClassVar[str] = "vgg"
    min_side: ClassVar[int] = 16  # smaller images leave nothing for VGG's fourth max-pool


class InceptionParams(Params):
    weights_path: RecipePath | None = Field(None, description="Inception FID weights; default: $RESTOREFW_WEIGHTS_DIR "
                                                       "or the torch hub cache")
    batch_size: int = Field(50, ge=1)
    feature_layer: Literal["2048", "768", "192", "64"] = Field(
        "2048", description="Inception pool features used by fid/kid/pfid (standard: 2048)")
    device: str = Field("auto", description="'auto' = the device of the first input batch")


class _InceptionMetric(Metric):
    is_set_metric: ClassVar[bool] = True
    Params = InceptionParams

    def __init__(self, params=None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._model = None
        self.details: dict[str, Any] = {}

    def model(self, like: torch.Tensor):
        device = like.device if self.params.device == "auto" else torch.device(self.params.device)
        if self._model is None:
            self._model = inception.build_extractor(self.params.weights_path, device)
        return self._model.to(device)

    def features(self, images: Sequence[torch.Tensor], key: str | None = None) -> torch.Tensor:
        images = list(images)
        if not images:
            raise UserError(f"metric {self.name!r} got an empty image set.")
        return self.all_features(images)[key or self.params.feature_layer]

    def all_features(self, images: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """{'2048': pool features, 'logits_unbiased': logits} of a set of images (float32, CPU)."""
        images = list(images)
        return inception.extract(self.model(images[0]), images, self.params.batch_size)


def fid_from_features(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """FID with torch-fidelity's statistics and Fréchet distance (float64 features)."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    s1 = fid_features_to_statistics(f1.double())
    s2 = fid_features_to_statistics(f2.double())
    return float(fid_statistics_to_metric(s1, s2, verbose=False)["frechet_inception_distance"])


class FID(_InceptionMetric):
    name: ClassVar[str] = "fid"
    display_name: ClassVar[str] = "FID"
    decimals: ClassVar[int] = 1
    groups: ClassVar[tuple[str, ...]] = ("generator", "paper", "paper-ablation")
    description: ClassVar[str] = "Fréchet Inception Distance (torch-fidelity, 2048-d pool features by default)"

    def over_sets(self, preds: Sequence[torch.Tensor], refs: Sequence[torch.Tensor]) -> float:
        return self.over_features(self.features(preds), self.features(refs))

    def over_features(self, f1: torch.Tensor, f2: torch.Tensor) -> float:
        """FID from pool features (e.g. cached reference features)."""
        return fid_from_features(f1, f2)


class KID(_InceptionMetric):
    name: ClassVar[str] = "kid"
    display_name: ClassVar[str] = "KID"
    decimals: ClassVar[int] = 4
    groups: ClassVar[tuple[str, ...]] = ("generator",)
    description: ClassVar[str] = "Kernel Inception Distance, mean over subsets (torch-fidelity; std in details)"

    class Params(InceptionParams):
        subsets: int = Field(100, ge=1)
        subset_size: int = Field(1000, ge=2, description="capped at the smaller set's size")
        seed: int = 2020

    def over_sets(self, preds: Sequence[torch.Tensor], refs: Sequence[torch.Tensor]) -> float:
        return self.over_features(self.features(preds), self.features(refs))

    def over_features(self, f1: torch.Tensor, f2: torch.Tensor) -> float:
        from torch_fidelity.metric_kid import kid_features_to_metric

        size = min(self.params.subset_size, len(f1), len(f2))
        out = kid_features_to_metric(f1, f2, kid_subsets=self.params.subsets, kid_subset_size=size,
                                     rng_seed=self.params.seed, verbose=False)
        self.details = {"std": out["kernel_inception_distance_std"], "subset_size": size}
        return float(out["kernel_inception_distance_mean"])


class InceptionScore(_InceptionMetric):
    name: ClassVar[str] = "is"
    display_name: ClassVar[str] = "IS"
    groups: ClassVar[tuple[str, ...]] = ("generator",)
    description: ClassVar[str] = "Inception Score of the predictions (torch-fidelity; refs unused; std in details)"
    lower_is_better: ClassVar[bool] = False

    class Params(InceptionParams):
        splits: int = Field(10, ge=1)
        seed: int = 2020

    def over_sets(self, preds: Sequence[torch.Tensor], refs: Sequence[torch.Tensor] = ()) -> float:
        return self.over_features(self.features(preds, "logits_unbiased"))

    def over_features(self, logits: torch.Tensor, unused: torch.Tensor | None = None) -> float:
        """IS from unbiased logits `[N,1008]`."""
        from torch_fidelity.metric_isc import isc_features_to_metric

        out = isc_features_to_metric(logits, splits=min(self.params.splits, len(logits)), shuffle=True,
                                     rng_seed=self.params.seed)
        self.details = {"std": out["inception_score_std"]}
        return float(out["inception_score_mean"])


def random_crops(images: Sequence[torch.Tensor], num: int, size: int, seed: int, stage: str):
    """Yield `num` seeded random size×size crops per image, as batches of one image's crops.

    Image k of the flattened sequence uses the generator (seed, str(k), stage), so the crops do
    not depend on how the images are batched."""
    k = 0
    for batch in images:
        for img in batch:
            h, w = img.shape[-2:]
            if h < size or w < size:
                raise UserError(f"pfid needs images of at least {size}×{size} pixels; image {k} is {h}×{w}. "
                                f"Lower `crop_size` or evaluate at a larger resolution.")
            gen = torch_generator(seed, str(k), stage)
            top = torch.randint(0, h - size + 1, (num,), generator=gen).tolist()
            left = torch.randint(0, w - size + 1, (num,), generator=gen).tolist()
            yield torch.stack([img[:, y:y + size, x:x + size] for y, x in zip(top, left)])
            k += 1


class PFID(_InceptionMetric):
    name: ClassVar[str] = "pfid"
    display_name: ClassVar[str] = "PFID"
    decimals: ClassVar[int] = 1
    groups: ClassVar[tuple[str, ...]] = ("paper", "paper-levels", "paper-combinations")
    description: ClassVar[str] = "RUSIR's unpaired patch FID: seeded random crops of predictions vs ground truths"

    class Params(InceptionParams):
        num_crops: int = Field(1000, ge=1, description="crops per image (RUSIR: 1000)")
        crop_size: int = Field(128, ge=8)
        seed: int = 0

    def over_sets(self, preds: Sequence[torch.Tensor], refs: Sequence[torch.Tensor]) -> float:
        p = self.params
        f1 = self.features(list(random_crops(preds, p.num_crops, p.crop_size, p.seed, "pfid-pred")))
        f2 = self.features(list(random_crops(refs, p.num_crops, p.crop_size, p.seed, "pfid-ref")))
        self.details = {"patches": [len(f1), len(f2)]}
        return fid_from_features(f1, f2)


# Registration order is the order of group members: recipes default to PSNR, SSIM; bench's paper columns
# read LPIPS, LPIPS-vgg, PFID (levels, combinations) and PSNR, SSIM, LPIPS, FID (ablation); evaluate's
# generator metrics IS, FID, KID.
METRICS = [PSNR, SSIM, MSSSIMMetric, LPIPSAlex, LPIPSVgg, PFID, InceptionScore, FID, KID]
