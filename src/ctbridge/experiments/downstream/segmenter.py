"""Train and apply the MONAI U-Net segmenters of the downstream experiments (2D or 3D).

One code path serves both tables: a 2D segmenter is trained on ``(1, y, x)`` patches cut from
volumes (one slice deep) and applied slice by slice; a 3D one on ``(z, y, x)`` patches. Patches
are centred on a foreground voxel with probability ``fg_fraction`` (plaques are a few voxels in a
volume of millions, so uniform sampling would almost never show one), otherwise uniformly inside
the body's bounding box (air teaches nothing). Loss: Dice + cross-entropy. Inference: MONAI's
``sliding_window_inference`` with the training patch as window, Gaussian blending.

Example:
    >>> import numpy as np
    >>> from ctbridge.experiments.downstream.config import SegmenterConfig
    >>> hu = np.full((4, 32, 32), 40.0, np.float32); hu[:, 10:14, 10:14] = 400.0
    >>> vol = SegVolume.from_hu(hu, (hu > 200).astype(np.uint8))
    >>> cfg = SegmenterConfig(channels=[4, 8], strides=[2], num_res_units=0, patch=[16, 16],
    ...                       batch_size=2, steps=2)
    >>> net = train_segmenter([vol], cfg, spatial_dims=2, progress=False)
    >>> predict_volume(net, vol.image, cfg, spatial_dims=2).shape
    (4, 32, 32)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from monai.inferers import sliding_window_inference
from monai.losses import DiceCELoss
from monai.networks.nets import UNet
from torch import nn

from ctbridge.data.intensity import IntensityScaler
from ctbridge.experiments.downstream.config import SegmenterConfig
from ctbridge.io.progress import progress_bar

BODY_HU = -500.0  # between air and fat: the body's bounding box for background patches
SCALER = IntensityScaler()  # the translators' HU map: nothing in [-1024, 3000] HU is clipped


@dataclass
class SegVolume:
    """One training volume: image in model range and class ids, both ``(z, y, x)``.

    Attributes:
        image: float32, HU mapped by :data:`SCALER`.
        target: uint8 class ids (0 = background).
        name: for messages (patient and phase).
        box: ``(lo, hi)`` index bounds ``(z, y, x)`` of the body, where background patches go.
    """

    image: np.ndarray
    target: np.ndarray
    name: str = ""
    box: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    @classmethod
    def from_hu(cls, hu: np.ndarray, target: np.ndarray, name: str = "") -> SegVolume:
        """Scale HU to model range and find the body's bounding box (> -500 HU)."""
        if hu.shape != target.shape:
            raise ValueError(f"{name}: image {hu.shape} and target {target.shape} differ")
        image = np.asarray(SCALER.to_model(np.asarray(hu, np.float32)), np.float32)
        inside = np.argwhere(hu > BODY_HU)
        box = None
        if inside.size:
            box = (tuple(int(v) for v in inside.min(0)), tuple(int(v) for v in inside.max(0)))
        return cls(image, np.asarray(target, np.uint8), name, box)


def build_unet(config: SegmenterConfig, spatial_dims: int, num_classes: int = 2) -> UNet:
    """The MONAI U-Net of ``config`` with one input channel and ``num_classes`` outputs."""
    if len(config.strides) != len(config.channels) - 1:
        raise ValueError(f"segmenter: {len(config.channels)} channels need "
                         f"{len(config.channels) - 1} strides, got {config.strides}")
    return UNet(spatial_dims=spatial_dims, in_channels=1, out_channels=num_classes,
                channels=tuple(config.channels),
                strides=tuple(tuple(s) if isinstance(s, list) else s for s in config.strides),
                num_res_units=config.num_res_units, norm=config.norm, dropout=config.dropout)


def init_background_prior(model: nn.Module, num_classes: int, prior: float = 0.01) -> None:
    """Start the U-Net predicting foreground with probability ``prior`` everywhere.

    Why: with a zero bias every voxel starts at 1 / num_classes foreground, and for lesions of a
    few voxels the first few hundred steps were spent only unlearning that (measured on the
    phantom: no plaque found after 600 steps). The bias of the last output convolution is set
    so that softmax gives ``prior`` to each foreground class (the focal-loss paper's prior
    initialisation, Lin et al. 2017).
    """
    convs = [m for m in model.modules()
             if isinstance(m, nn.modules.conv._ConvNd) and m.out_channels == num_classes
             and m.bias is not None]
    if not convs:
        return
    logit = math.log(prior / (1.0 - prior * (num_classes - 1)))
    with torch.no_grad():
        convs[-1].bias.copy_(torch.tensor([0.0] + [logit] * (num_classes - 1)))


def patch_shape(config: SegmenterConfig, spatial_dims: int) -> tuple[int, int, int]:
    """The training patch as ``(z, y, x)``; 2D patches are one slice deep."""
    patch = tuple(int(p) for p in config.patch)
    if len(patch) != spatial_dims:
        raise ValueError(f"segmenter.patch {list(patch)} does not have {spatial_dims} sides")
    return (1, *patch) if spatial_dims == 2 else patch  # type: ignore[return-value]


class PatchSampler:
    """Random ``(z, y, x)`` patches from a list of volumes, oversampling the foreground.

    Each patch picks a volume uniformly, so with NC + synthetic CE every phase gets half the
    patches. Volumes smaller than the patch are edge-padded (as the inference window pads).
    """

    def __init__(self, volumes: Sequence[SegVolume], patch: tuple[int, int, int],
                 fg_fraction: float, rng: np.random.Generator) -> None:
        if not volumes:
            raise ValueError("no training volumes")
        self.patch = patch
        self.fg_fraction = fg_fraction
        self.rng = rng
        self.volumes = [self._pad(v) for v in volumes]
        self.foreground = [np.argwhere(v.target > 0) for v in self.volumes]

    def _pad(self, v: SegVolume) -> SegVolume:
        need = [(0, max(0, p - s)) for p, s in zip(self.patch, v.image.shape, strict=True)]
        if not any(b for _, b in need):
            return v
        return SegVolume(np.pad(v.image, need, mode="edge"), np.pad(v.target, need, mode="edge"),
                         v.name, v.box)

    def _centre(self, i: int) -> np.ndarray:
        v, fg = self.volumes[i], self.foreground[i]
        if len(fg) and self.rng.random() < self.fg_fraction:
            jitter = self.rng.integers(-(np.array(self.patch) // 4),
                                       np.array(self.patch) // 4 + 1)
            return fg[self.rng.integers(len(fg))] + jitter
        lo, hi = v.box if v.box is not None else ((0, 0, 0), tuple(s - 1 for s in v.image.shape))
        return np.array([self.rng.integers(a, b + 1) for a, b in zip(lo, hi, strict=True)])

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` patches: images ``(n, 1, z, y, x)`` float32, targets ``(n, 1, z, y, x)`` long."""
        images, targets = [], []
        for _ in range(n):
            i = int(self.rng.integers(len(self.volumes)))
            v = self.volumes[i]
            centre = self._centre(i)
            start = [int(np.clip(c - p // 2, 0, s - p))
                     for c, p, s in zip(centre, self.patch, v.image.shape, strict=True)]
            box = tuple(slice(a, a + p) for a, p in zip(start, self.patch, strict=True))
            images.append(v.image[box])
            targets.append(v.target[box])
        x = torch.from_numpy(np.stack(images)[:, None].astype(np.float32))
        y = torch.from_numpy(np.stack(targets)[:, None].astype(np.int64))
        return x, y


def train_segmenter(volumes: Sequence[SegVolume], config: SegmenterConfig, *,
                    spatial_dims: int, num_classes: int = 2, seed: int = 0,
                    device: str | torch.device = "cpu", progress: bool = True,
                    desc: str = "segmenter") -> nn.Module:
    """Train a U-Net on patches of ``volumes`` for ``config.steps`` steps; returns it in eval mode.

    Args:
        volumes: training volumes (images in model range, class-id targets).
        config: network, patch and budget.
        spatial_dims: 2 (slice-wise) or 3.
        seed: seeds the weights and the patch sampler, so two rows of a table trained with the
            same seed differ only by their data.
        device: where the network trains.
    """
    device = torch.device(device)
    torch.manual_seed(seed)
    model = build_unet(config, spatial_dims, num_classes)
    init_background_prior(model, num_classes)
    model = model.to(device)
    sampler = PatchSampler(volumes, patch_shape(config, spatial_dims), config.fg_fraction,
                           np.random.default_rng(seed))
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, batch=True)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / config.steps)))
    model.train()
    bar = progress_bar(range(config.steps), desc=desc, enabled=progress, leave=False, unit="step")
    for step in bar:
        x, y = sampler.sample(config.batch_size)
        if spatial_dims == 2:
            x, y = x[:, :, 0], y[:, :, 0]
        x, y = x.to(device), y.to(device)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return model.eval()


@torch.no_grad()
def predict_volume(model: nn.Module, image: np.ndarray, config: SegmenterConfig, *,
                   spatial_dims: int, device: str | torch.device | None = None,
                   slices_per_batch: int = 16) -> np.ndarray:
    """Class ids ``(z, y, x)`` uint8 of a model-range ``(z, y, x)`` volume, by sliding windows.

    2D models see the slices as a batch; windows are the training patch, blended with a
    Gaussian, and images smaller than a window are edge-padded.
    """
    model.eval()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(image, np.float32))
    kwargs = dict(roi_size=tuple(config.patch), sw_batch_size=config.sw_batch_size,
                  predictor=model, overlap=config.overlap, mode="gaussian",
                  padding_mode="replicate", sw_device=device, device="cpu")
    if spatial_dims == 2:
        out = []
        for start in range(0, x.shape[0], slices_per_batch):
            chunk = x[start:start + slices_per_batch, None]  # (n, 1, y, x)
            out.append(sliding_window_inference(chunk, **kwargs).argmax(1))
        labels = torch.cat(out)
    elif spatial_dims == 3:
        labels = sliding_window_inference(x[None, None], **kwargs).argmax(1)[0]
    else:
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    return labels.numpy().astype(np.uint8)
