"""The book's networks: LeNet-5 / LeNet-5-Half (the running teacher–student pair), LeNet-5-BN (the BN teacher
for the BN-statistics chapters on a CPU) and AlexNet / AlexNet-Half (ZSKD appendix, for GPU / CIFAR-10 readers).

All take inputs (N, C, 32, 32) with values in [0, 1] and return logits (N, K). The last layer of every model is
an ``nn.Linear`` reachable as ``model.classifier[-1]`` (see :func:`last_linear`), which chapter 2 reads for the
class similarity of ZSKD.

Source: Nayak et al., *Zero-Shot Knowledge Distillation in Deep Networks*, ICML 2019, appendix Tables 4 and 5.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn


def _trunc_normal_(module: nn.Module, std: float, bias: float = 0.0) -> None:
    """TensorFlow's ``truncated_normal(stddev=std)`` (cut at ±2 std) for weights, a constant for biases."""
    nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
    nn.init.constant_(module.bias, bias)


def _check_channels(in_channels: int, num_classes: int) -> None:
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")


class LeNet5(nn.Module):
    """LeNet-5 as in ZSKD Table 4: conv5×5(c1) → ReLU → maxpool → conv5×5(c2) → ReLU → maxpool →
    FC 120 → ReLU → FC 84 → ReLU → FC K. Weights truncated-normal (std 0.1), biases zero.

    Args:
        in_channels: input channels C (1 for the MNIST family, 3 for CIFAR-10).
        num_classes: K, the number of logits.
        widths: filters of the two convolutions (``(6, 16)`` for LeNet-5, ``(3, 8)`` for LeNet-5-Half).
        batchnorm: if True, a BatchNorm after every hidden layer (conv and FC, before the ReLU): LeNet-5-BN.

    Shapes: input (N, C, 32, 32) → logits (N, K). 61,706 parameters at C=1, K=10 (paper: 61,706).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, widths: tuple[int, int] = (6, 16),
                 batchnorm: bool = False):
        super().__init__()
        _check_channels(in_channels, num_classes)
        c1, c2 = widths
        norm2d = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
        norm1d = (lambda c: nn.BatchNorm1d(c)) if batchnorm else (lambda c: nn.Identity())
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, c1, 5)), ("bn1", norm2d(c1)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(c1, c2, 5)), ("bn2", norm2d(c2)), ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(c2 * 5 * 5, 120)), ("bn3", norm1d(120)), ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(120, 84)), ("bn4", norm1d(84)), ("relu4", nn.ReLU()),
            ("fc3", nn.Linear(84, num_classes)),
        ]))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                _trunc_normal_(m, std=0.1)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.input_shape = (in_channels, 32, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels)
        return self.classifier(torch.flatten(self.features(x), 1))


class LeNet5Half(LeNet5):
    """LeNet-5-Half (ZSKD Table 4): LeNet-5 with half the convolution filters (3 and 8).
    35,820 parameters at C=1, K=10 (paper: 35,820)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10):
        super().__init__(in_channels, num_classes, widths=(3, 8))


class LeNet5BN(LeNet5):
    """LeNet-5 with BatchNorm after every hidden layer (conv1, conv2, fc1, fc2; before the ReLU).

    LeNet-5 has no BatchNorm, so BN-statistics methods (DeepInversion, SSD-KD) have nothing to match on it; this is
    the book's BN teacher that still trains in minutes on a CPU. 62,158 parameters at C=1, K=10.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10):
        super().__init__(in_channels, num_classes, widths=(6, 16), batchnorm=True)


class AlexNet(nn.Module):
    """AlexNet for 32×32 inputs as in ZSKD Table 5 (with LRN, BatchNorm and dropout).

    conv5×5(w1) SAME → ReLU → LRN → maxpool3/2 → BN → conv5×5(w2) → ReLU → LRN → maxpool3/2 → BN →
    conv3×3(w3) → ReLU → BN → conv3×3(w3) → ReLU → BN → conv3×3(w2) → ReLU → maxpool3/2 → BN →
    FC f1 → ReLU → dropout 0.5 → BN → FC f2 → ReLU → dropout 0.5 → BN → FC K.
    Widths (48, 128, 192) and FC (512, 256) for AlexNet; half the filters, FC (256, 128) for AlexNet-Half.
    Weights N(0, 0.01); biases 0, except conv2, conv4 and conv5 whose biases start at 1.0 (as the table).
    LRN: depth radius 2, alpha 1e-4 (TensorFlow's per-element alpha, ×5 for PyTorch's mean form), beta 0.75, k 1.

    Shapes: input (N, C, 32, 32) → logits (N, K). At C=3, K=10: 1,659,178 parameters (paper: 1.65 M).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, widths: tuple[int, int, int] = (48, 128, 192),
                 fc: tuple[int, int] = (512, 256)):
        super().__init__()
        _check_channels(in_channels, num_classes)
        w1, w2, w3 = widths
        f1, f2 = fc

        def lrn():
            return nn.LocalResponseNorm(size=5, alpha=1e-4 * 5, beta=0.75, k=1.0)

        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, w1, 5, padding=2)), ("relu1", nn.ReLU()), ("lrn1", lrn()),
            ("pool1", nn.MaxPool2d(3, 2)), ("bn1", nn.BatchNorm2d(w1)),
            ("conv2", nn.Conv2d(w1, w2, 5, padding=2)), ("relu2", nn.ReLU()), ("lrn2", lrn()),
            ("pool2", nn.MaxPool2d(3, 2)), ("bn2", nn.BatchNorm2d(w2)),
            ("conv3", nn.Conv2d(w2, w3, 3, padding=1)), ("relu3", nn.ReLU()), ("bn3", nn.BatchNorm2d(w3)),
            ("conv4", nn.Conv2d(w3, w3, 3, padding=1)), ("relu4", nn.ReLU()), ("bn4", nn.BatchNorm2d(w3)),
            ("conv5", nn.Conv2d(w3, w2, 3, padding=1)), ("relu5", nn.ReLU()),
            ("pool3", nn.MaxPool2d(3, 2)), ("bn5", nn.BatchNorm2d(w2)),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(w2 * 3 * 3, f1)), ("relu6", nn.ReLU()), ("drop1", nn.Dropout(0.5)),
            ("bn6", nn.BatchNorm1d(f1)),
            ("fc2", nn.Linear(f1, f2)), ("relu7", nn.ReLU()), ("drop2", nn.Dropout(0.5)), ("bn7", nn.BatchNorm1d(f2)),
            ("fc3", nn.Linear(f2, num_classes)),
        ]))
        for name, m in self.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.constant_(m.bias, 1.0 if name.split(".")[-1] in ("conv2", "conv4", "conv5") else 0.0)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.input_shape = (in_channels, 32, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels)
        return self.classifier(torch.flatten(self.features(x), 1))


class AlexNetHalf(AlexNet):
    """AlexNet-Half (ZSKD Table 5): half the convolution filters (24, 64, 96), FC (256, 128).

    At C=3, K=10 this has 417,434 parameters, while the paper states 723 k for AlexNet-Half. The layer table in
    the paper's appendix gives the smaller number when counted; the 723 k figure cannot be reproduced from it.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10):
        super().__init__(in_channels, num_classes, widths=(24, 64, 96), fc=(256, 128))


def _check_input(x: torch.Tensor, channels: int) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor of shape (N, {channels}, 32, 32), got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != channels or x.shape[-2:] != (32, 32):
        raise ValueError(f"expected input of shape (N, {channels}, 32, 32), got {tuple(x.shape)}")


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "lenet5": LeNet5,
    "lenet5half": LeNet5Half,
    "lenet5bn": LeNet5BN,
    "alexnet": AlexNet,
    "alexnethalf": AlexNetHalf,
}

#: how the book writes each architecture's name in tables and prose
DISPLAY_NAMES = {"lenet5": "LeNet-5", "lenet5half": "LeNet-5-Half", "lenet5bn": "LeNet-5-BN", "alexnet": "AlexNet",
                 "alexnethalf": "AlexNet-Half"}


def display_name(arch: str) -> str:
    """The book's name for an architecture id (``'lenet5bn'`` → ``'LeNet-5-BN'``); unknown ids come back as given."""
    return DISPLAY_NAMES.get(arch.lower().replace("-", "").replace("_", ""), arch)


def build(arch: str, in_channels: int, num_classes: int) -> nn.Module:
    """A fresh, randomly initialised model by name (see ``ARCHITECTURES``).

    Raises:
        ValueError: unknown ``arch`` (the message lists the known names).
    """
    key = arch.lower().replace("-", "").replace("_", "")
    if key not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[key](in_channels=in_channels, num_classes=num_classes)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (the figure the papers quote; BatchNorm running statistics are buffers, not counted).

    ``trainable_only=True`` counts only those with ``requires_grad`` (a frozen teacher then counts 0).
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def last_linear(model: nn.Module) -> nn.Linear:
    """The final ``nn.Linear`` of a classifier (its weight is K × d).

    Raises:
        ValueError: if the model has no ``nn.Linear``.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer; pass the weight matrix explicitly")
    return linears[-1]


def num_classes(model: nn.Module) -> int:
    """K, read from the model's last ``nn.Linear`` (never hard-coded)."""
    return last_linear(model).out_features


# ------------------------------------------------------------------------------------------------------ generators
def _check_image_shape(shape) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or shape[0] < 1 or shape[1] < 4 or shape[2] < 4 or shape[1] % 4 or shape[2] % 4:
        raise ValueError(f"image shape must be (C, H, W) with H and W positive multiples of 4, got {shape}")
    return shape


class ZSKTGenerator(nn.Module):
    """The generator of ZSKT (Micaelli & Storkey 2019; polo5/ZeroShotKnowledgeTransfer): z (nz) → Linear →
    128 × H/4 × W/4 → BN → upsample ×2 → conv3×3 128 → BN → LeakyReLU(0.2) → upsample ×2 → conv3×3 64 → BN →
    LeakyReLU(0.2) → conv3×3 C → BN. The official code stops at that BN (images in the teacher's normalised
    space); this book's teachers take [0, 1] inputs, so a sigmoid maps the output there.

    Args: shape (C, H, W), H and W multiples of 4 (of 2**depth when depth > 2); nz, the size of z; width, the
    channels after the projection (official 128; the last stage has width / 2); depth, the number of (upsample,
    conv) stages (official 2; 1 projects z to H/2 × W/2 and keeps only the width → width / 2 stage, the cheaper
    generator of chapter 4's levers); init_mean, the pixel value the untrained generator's images
    centre on (default ``None``: 0.5, mid-grey, as officially; Fashion-MNIST's mean pixel is about 0.29): the last
    BN's shift starts at logit(init_mean); pixel_stats, ``(mean, sd)`` of the teacher's input normalisation
    (Fashion-MNIST's are 0.2860, 0.3530): given, the output is the official one, unsquashed, carried from the
    normalised space to the teacher's, ``mean + sd · BN(·)`` — the last BN's affine starts at (sd, mean) — so
    its images may leave [0, 1] as the official generator's leave the data's range (exclusive with init_mean).
    Call: z (B, nz) → images (B, C, H, W), in [0, 1] unless pixel_stats is given.
    Raises ValueError for a bad shape, width, depth, init_mean or pixel_stats, and for a z that is not (B, nz).
    """

    def __init__(self, shape=(1, 32, 32), nz: int = 100, width: int = 128, init_mean: float | None = None,
                 pixel_stats: tuple[float, float] | None = None, depth: int = 2):
        super().__init__()
        _build_generator(self, shape, nz, width, init_mean, pixel_stats, depth, last_bn=True)
        with torch.no_grad():
            if _check_init_mean(init_mean) is not None:
                self.body[-1].bias.fill_(math.log(init_mean / (1 - init_mean)))
            if self.pixel_stats is not None:
                self.body[-1].weight.fill_(self.pixel_stats[1])
                self.body[-1].bias.fill_(self.pixel_stats[0])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = _generate(self, z)
        return y if self.pixel_stats is not None else torch.sigmoid(y)


class DFADGenerator(nn.Module):
    """The generator of DFAD (Fang et al. 2019; VainF/Data-Free-Adversarial-Distillation, MNIST): z (nz) →
    Linear → 128 × H/4 × W/4 → BN → upsample ×2 → conv3×3 128 → BN → LeakyReLU(0.2) → upsample ×2 → conv3×3 64 →
    BN → LeakyReLU(0.2) → conv3×3 C → Tanh → BN(affine=False). The official code feeds that to a teacher of
    normalised inputs; here (tanh + 1) / 2 of the output, clipped, puts it in [0, 1] instead, without the last BN.

    Args and call as :class:`ZSKTGenerator`; ``init_mean`` sets the last convolution's bias to
    atanh(2 · init_mean − 1) instead, so that the first images are dark like Fashion-MNIST's rather than the
    official mid-grey; with ``pixel_stats = (mean, sd)`` the output is the official one, Tanh → BN(affine=False),
    carried to the teacher's space as ``mean + sd · BN(tanh(·))`` (not bounded to [0, 1]).
    """

    def __init__(self, shape=(1, 32, 32), nz: int = 100, width: int = 128, init_mean: float | None = None,
                 pixel_stats: tuple[float, float] | None = None, depth: int = 2):
        super().__init__()
        _build_generator(self, shape, nz, width, init_mean, pixel_stats, depth, last_bn=False)
        if self.pixel_stats is not None:
            self.out_bn = nn.BatchNorm2d(self.shape[0], affine=False)
        if _check_init_mean(init_mean) is not None:
            with torch.no_grad():
                self.body[-1].bias.fill_(math.atanh(2 * init_mean - 1))

    def pre_activation(self, z: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W): the output before the tanh, for z (B, nz)."""
        return _generate(self, z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = torch.tanh(self.pre_activation(z))
        if self.pixel_stats is None:
            return (y + 1) / 2
        mean, sd = self.pixel_stats
        return mean + sd * self.out_bn(y)


def _build_generator(g: nn.Module, shape, nz, width, init_mean, pixel_stats, depth, last_bn: bool) -> None:
    """The checked settings and the layers both upsampling generators share, set on ``g``."""
    g.shape, g.nz, g.width = _check_image_shape(shape), int(nz), _check_width(width)
    g.depth = check_depth(depth, g.shape)
    g.pixel_stats = _check_pixel_stats(pixel_stats, init_mean)
    g.project, g.body = _upsampling_generator(g.shape, g.nz, g.width, last_bn=last_bn, depth=g.depth)


def _check_pixel_stats(pixel_stats, init_mean) -> tuple[float, float] | None:
    if pixel_stats is None:
        return None
    ok = (isinstance(pixel_stats, (tuple, list)) and len(pixel_stats) == 2
          and all(isinstance(v, (int, float)) for v in pixel_stats) and pixel_stats[1] > 0)
    if not ok:
        raise ValueError(f"pixel_stats must be (mean, sd) with sd > 0, got {pixel_stats!r}")
    if init_mean is not None:
        raise ValueError("give init_mean or pixel_stats, not both: pixel_stats sets the images' mean itself")
    return float(pixel_stats[0]), float(pixel_stats[1])


def _check_init_mean(init_mean: float | None) -> float | None:
    if init_mean is not None and not (isinstance(init_mean, (int, float)) and 0 < init_mean < 1):
        raise ValueError(f"init_mean must be a pixel value in (0, 1) or None, got {init_mean!r}")
    return init_mean


def _check_width(width: int) -> int:
    if not isinstance(width, int) or width < 2 or width % 2:
        raise ValueError(f"width must be an even int >= 2, got {width!r}")
    return width


def check_depth(depth: int, shape: tuple[int, int, int] | None = None) -> int:
    """``depth``, a generator's number of upsampling stages, checked (against an image ``shape`` when given).
    Raises ValueError for a depth that is not a positive int, or that does not divide H and W by 2**depth."""
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive int (the number of upsampling stages), got {depth!r}")
    if shape is not None and (shape[1] % 2**depth or shape[2] % 2**depth):
        raise ValueError(f"depth {depth} halves H and W {depth} times: they must be multiples of {2**depth}, "
                         f"got {shape[1:]}")
    return depth


def _upsampling_generator(shape: tuple[int, int, int], nz: int, width: int, last_bn: bool, depth: int = 2
                          ) -> tuple[nn.Linear, nn.Sequential]:
    """The body shared by the ZSKT and DFAD generators: z → width × H/2^depth × W/2^depth → ``depth`` (upsample,
    conv, BN, LeakyReLU) stages, of width channels but the last, of width / 2 → conv to C channels (→ BN when
    ``last_bn``). Officially depth 2 and width 128; a narrower or shallower one trades fidelity for speed on a
    CPU (a stage's cost grows with width² and with its resolution)."""
    c, h, w = shape
    project = nn.Linear(nz, width * (h >> depth) * (w >> depth))
    layers: list[nn.Module] = [nn.BatchNorm2d(width)]
    for i in range(depth):
        out = width // 2 if i == depth - 1 else width
        layers += [nn.Upsample(scale_factor=2), nn.Conv2d(width, out, 3, padding=1), nn.BatchNorm2d(out),
                   nn.LeakyReLU(0.2)]
    layers += [nn.Conv2d(width // 2, c, 3, padding=1), *([nn.BatchNorm2d(c)] if last_bn else [])]
    return project, nn.Sequential(*layers)


def _generate(gen: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """The generator's pre-activation output (B, C, H, W) for z (B, nz)."""
    _check_z(z, gen.nz)
    c, h, w = gen.shape
    return gen.body(gen.project(z).view(len(z), gen.width, h >> gen.depth, w >> gen.depth))


def _check_z(z: torch.Tensor, nz: int) -> None:
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != nz:
        raise ValueError(f"z must be (B, {nz}), got {tuple(z.shape) if isinstance(z, torch.Tensor) else z}")


GENERATORS: dict[str, type[nn.Module]] = {"zskt": ZSKTGenerator, "dfad": DFADGenerator}


# ------------------------------------------------------------------------------------------- 2-D toy (chapter 4)
class MLP(nn.Module):
    """A small classifier of points for 2-D toy problems: Linear → ReLU → ... → Linear.

    Args: in_features (2 for the plane); hidden, the widths of the hidden layers; num_classes, K.
    Shapes: (N, in_features) → logits (N, K). Raises ValueError for non-positive sizes."""

    def __init__(self, in_features: int = 2, hidden: tuple[int, ...] = (64, 64), num_classes: int = 3):
        super().__init__()
        sizes = (in_features, *hidden, num_classes)
        if any(not isinstance(n, int) or n < 1 for n in sizes) or num_classes < 2:
            raise ValueError(f"sizes must be positive ints and num_classes >= 2, got {sizes}")
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Linear(sizes[-2], num_classes))
        self.in_features, self.num_classes = in_features, num_classes
        self.input_shape = (in_features,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"expected points (N, {self.in_features}), got {tuple(x.shape)}")
        return self.body(x)


class PointGenerator(nn.Module):
    """A generator of points in the square [−box, box]² for the 2-D toy game of chapter 4: z (nz) → MLP →
    box · tanh. The plane's counterpart of :class:`ZSKTGenerator`; it plays the same
    :func:`dfkd_book.adversarial.adversarial_distill` game.

    Args: nz, the size of z; width, hidden units; box, half the side of the square.
    Call: z (B, nz) → points (B, 2). Raises ValueError for a z that is not (B, nz) or box ≤ 0."""

    def __init__(self, nz: int = 8, width: int = 64, box: float = 1.5):
        super().__init__()
        if not box > 0:
            raise ValueError(f"box must be > 0, got {box}")
        self.nz, self.box = int(nz), float(box)
        self.body = nn.Sequential(nn.Linear(self.nz, width), nn.BatchNorm1d(width), nn.LeakyReLU(0.2),
                                  nn.Linear(width, width), nn.BatchNorm1d(width), nn.LeakyReLU(0.2),
                                  nn.Linear(width, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_z(z, self.nz)
        return self.box * torch.tanh(self.body(z))
