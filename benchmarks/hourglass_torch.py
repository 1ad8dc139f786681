"""The stacked hourglass (Newell et al., ECCV 2016, the paper's [16]) and its distilled student from Fast Pose
(Zhang et al., CVPR 2019, the paper's [30] "FPD"), in PyTorch, for timing beside RePose on the same CPU.

Not part of the package: PyTorch is not a dependency of repose-tf. ``benchmarks/latency.py --fpd`` imports
this module; install PyTorch's CPU build first (``pip install torch`` — on a machine with a local wheel, that
wheel). Weights are random: only the arithmetic is compared, not accuracy.

The layout follows the public reference implementations of [16]: a 7x7 stride-2 stem, pre-activation
bottleneck residuals (BN-ReLU-conv 1x1, 3x3, 1x1; out = 2 x planes channels), hourglasses of depth 4 at a
quarter of the input, a 1x1 conv-BN-ReLU and a 1x1 heatmap convolution per stack, and the 1x1 re-mappings
back into the next stack. :data:`NETWORKS` gives the two sizes the issue that asked for these rows measured;
with a 256 x 256 input their counts match its figures (FPD student 3.29 M parameters, 7.81 GFLOPs; tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Hourglass:
    """One stacked-hourglass size: ``stacks`` hourglasses of ``2 * feats`` channels after a stem of
    ``stem`` channels, ``keypoints`` heatmaps (MPII's 16), input ``size`` x ``size``."""

    name: str
    stacks: int
    feats: int
    stem: int
    keypoints: int = 16
    size: int = 256


NETWORKS = {
    "fpd-student": Hourglass("FPD student (4-stack hourglass, 128 ch)", stacks=4, feats=64, stem=32),
    "hourglass-8": Hourglass("8-stack hourglass (256 ch)", stacks=8, feats=128, stem=64),
}


class Bottleneck(nn.Module):
    """Pre-activation residual: (N, cin, H, W) -> (N, 2 * planes, H, W); a 1x1 skip convolution when the
    widths differ."""

    def __init__(self, cin: int, planes: int) -> None:
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, planes, 1)
        self.bn2, self.conv2 = nn.BatchNorm2d(planes), nn.Conv2d(planes, planes, 3, padding=1)
        self.bn3, self.conv3 = nn.BatchNorm2d(planes), nn.Conv2d(planes, 2 * planes, 1)
        self.skip = nn.Conv2d(cin, 2 * planes, 1) if cin != 2 * planes else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(self.relu(self.bn1(x)))
        y = self.conv2(self.relu(self.bn2(y)))
        y = self.conv3(self.relu(self.bn3(y)))
        return y + self.skip(x)


class HourglassModule(nn.Module):
    """One hourglass of ``depth`` halvings: (N, 2 * planes, H, W) -> same shape."""

    def __init__(self, planes: int, depth: int) -> None:
        super().__init__()
        ch = 2 * planes
        self.up = Bottleneck(ch, planes)
        self.down = Bottleneck(ch, planes)
        self.inner = HourglassModule(planes, depth - 1) if depth > 1 else Bottleneck(ch, planes)
        self.back = Bottleneck(ch, planes)
        self.pool = nn.MaxPool2d(2, 2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x) + self.upsample(self.back(self.inner(self.down(self.pool(x)))))


class StackedHourglass(nn.Module):
    """(N, 3, size, size) -> the last stack's heatmaps (N, keypoints, size / 4, size / 4)."""

    def __init__(self, spec: Hourglass) -> None:
        super().__init__()
        ch, stem = 2 * spec.feats, spec.stem
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 7, 2, 3), nn.BatchNorm2d(stem), nn.ReLU(inplace=True),
            Bottleneck(stem, stem), nn.MaxPool2d(2, 2), Bottleneck(2 * stem, 2 * stem), Bottleneck(4 * stem, spec.feats))
        self.hourglasses = nn.ModuleList([HourglassModule(spec.feats, 4) for _ in range(spec.stacks)])
        self.residuals = nn.ModuleList([Bottleneck(ch, spec.feats) for _ in range(spec.stacks)])
        self.features = nn.ModuleList([
            nn.Sequential(nn.Conv2d(ch, ch, 1), nn.BatchNorm2d(ch), nn.ReLU(inplace=True)) for _ in range(spec.stacks)])
        self.scores = nn.ModuleList([nn.Conv2d(ch, spec.keypoints, 1) for _ in range(spec.stacks)])
        self.remap_features = nn.ModuleList([nn.Conv2d(ch, ch, 1) for _ in range(spec.stacks - 1)])
        self.remap_scores = nn.ModuleList([nn.Conv2d(spec.keypoints, ch, 1) for _ in range(spec.stacks - 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        last = len(self.hourglasses) - 1
        for i, hourglass in enumerate(self.hourglasses):
            y = self.features[i](self.residuals[i](hourglass(x)))
            score = self.scores[i](y)
            if i < last:
                x = x + self.remap_features[i](y) + self.remap_scores[i](score)
        return score


def complexity(model: StackedHourglass, size: int) -> tuple[int, int]:
    """(parameters, forward FLOPs at batch 1 counting a multiply-add as 2, convolutions only)."""
    flops: list[int] = []

    def count(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        kh, kw = module.kernel_size
        flops.append(2 * output.numel() * module.in_channels // module.groups * kh * kw)

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    return sum(p.numel() for p in model.parameters()), sum(flops)


def runner(spec: Hourglass, precision: str, threads: int):
    """A function (N, size, size, 3) float32 numpy crops -> heatmaps, running the network as the issue's
    measurement did: eval mode, channels-last, traced and frozen, under CPU autocast for ``bfloat16``."""
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model = StackedHourglass(spec).eval().requires_grad_(False).to(memory_format=torch.channels_last)
    dtype = {"float32": None, "bfloat16": torch.bfloat16}[precision]
    example = torch.zeros(1, 3, spec.size, spec.size).to(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        traced = torch.jit.freeze(torch.jit.trace(model, example))

    def run(crops):
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            return traced(x).float().numpy()

    return run
