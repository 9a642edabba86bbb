"""What the book reads from a teacher without touching its weights: forward-hook recorders, frozen copies, the
number of classes K, the input shape, and a count of the teacher queries every method spends.

Every method and the student loop go through these, so a teacher is checked once and in one way:

* :func:`frozen_copy` — a private, frozen, eval-mode float32 copy;
* :func:`input_shape` — the shape of one input, read from the teacher (or checked against it), with a
  ``ValueError`` naming what was expected and what came;
* :func:`num_classes_of` — K, from one forward pass (never hard-coded);
* :class:`TeacherQueries` — counts forward passes and input-gradient passes (in samples), so chapter 7 compares
  methods at equal compute;
* :class:`LayerOutputs` — the latest outputs of named layers (attention transfer, activation and spectral records).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from . import config

#: image sizes tried, in order, when a convolutional teacher does not say which inputs it reads
_PROBE_SIZES = (32, 28, 64, 16, 96, 128, 224, 8)

def named_layers(model: nn.Module, names: Sequence[str], who: str | None = None) -> dict[str, nn.Module]:
    """The submodules of ``model`` called ``names`` (``model.named_modules()`` names), in that order.
    Raises ValueError naming the missing ones and listing the layers the model has."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        known = ", ".join(n for n in modules if n)
        raise ValueError(f"{who or type(model).__name__} has no layer(s) {missing}; its layers are: {known}")
    return {n: modules[n] for n in names}


class Hooks:
    """Forward hooks held in ``self.handles``: :meth:`remove` takes them off; also a context manager."""

    handles: list

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class LayerOutputs(Hooks):
    """Forward hooks that keep the latest output of named layers of a model in ``.out`` (name → tensor).
    Used for attention transfer (chapter 4) and activation / spectral records (chapter 5). Call
    :meth:`remove` (or use as a context manager) to take the hooks off. Raises ValueError for missing layers."""

    def __init__(self, model: nn.Module, names: Sequence[str], who: str | None = None):
        self.out: dict[str, torch.Tensor] = {}
        self.handles = [m.register_forward_hook(self._keep(n)) for n, m in named_layers(model, names, who).items()]

    def _keep(self, name):
        def hook(_module, _inputs, output):
            self.out[name] = output
        return hook



# ---------------------------------------------------------------------------------------------- frozen copies
def is_frozen(model: nn.Module) -> bool:
    """True for a copy made by :func:`frozen_copy` (such a copy is not copied again)."""
    return bool(getattr(model, "_dfkd_frozen", False))


def same_device(a: torch.device | str, b: torch.device | str) -> bool:
    """True when ``a`` and ``b`` name the same device, however spelt: ``"cpu"``, ``"cpu:0"`` and
    ``torch.device("cpu")`` are one device; ``"cuda"`` is the current CUDA device (``"cuda:0"`` unless another
    was selected). Raises RuntimeError (torch's) for a string that names no device."""
    return _resolved(a) == _resolved(b)


def _resolved(device: torch.device | str) -> tuple[str, int]:
    d = torch.device(device)
    if d.index is not None:
        return d.type, d.index
    if d.type == "cuda" and torch.cuda.is_available():
        return d.type, torch.cuda.current_device()
    return d.type, 0


def memory_format(device: torch.device | str) -> torch.memory_format:
    """The memory format the book's convolutions compute in on ``device`` — the frozen teacher, inputs optimised
    through it, the student while it trains (:func:`dfkd_book.distill`, :func:`dfkd_book.train`) and the
    generators: channels-last on a CPU, contiguous on any other device, where no measurement showed channels-last
    faster. Measured on CPUs, one thread: the teacher's passes (LeNet-5, batch 256: forward 6.6 vs 9.3 ms, forward
    + input gradient 18.6 vs 37 ms); a LeNet-5-Half student's distillation step, the teacher channels-last (batch
    256: 41 vs 53–61 ms on an AVX2 CPU; 11.5 vs 10.3 ms, slightly slower, on a faster CPU); a DFAD generator's step
    (width 32, batch 250: 0.43 vs 0.71 s on the AVX2 CPU). The values differ only by floating-point rounding."""
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


def to_device(module: nn.Module, device: torch.device | str) -> nn.Module:
    """``module`` moved to ``device`` in :func:`memory_format` (in place; returned)."""
    return module.to(device).to(memory_format=memory_format(device))


def layout_of(module: nn.Module) -> torch.memory_format:
    """The memory format ``module``'s 4-D weights are stored in: channels-last when any of them is stored so and
    not contiguous, else contiguous (a module without 4-D weights is contiguous)."""
    four = [p for p in module.parameters() if p.ndim == 4]
    return torch.channels_last if any(not p.is_contiguous() and p.is_contiguous(memory_format=torch.channels_last)
                                      for p in four) else torch.contiguous_format


def frozen_copy(model: nn.Module, device: torch.device | None = None) -> nn.Module:
    """A private, frozen copy of ``model`` for inference and input gradients: on ``device``, in eval mode, no
    parameter gradients, in float32 (a float64 or float16 model computes in float32, the dtype of every input the
    book makes), in :func:`memory_format` (channels-last on a CPU). The caller's model is left as it was.

    A model that already is a frozen copy on ``device`` (however the device is spelt: :func:`same_device`) is
    returned as it is, so the hooks on it (e.g. a :class:`TeacherQueries` counter) keep counting."""
    device = device or config.device()
    first = next(iter(model.parameters()), None)
    if is_frozen(model) and (first is None or same_device(first.device, device)):
        return model
    frozen = to_device(copy.deepcopy(model), device).eval()
    if any(p.is_floating_point() and p.dtype != torch.float32 for p in (*frozen.parameters(), *frozen.buffers())):
        frozen.float()
    for p in frozen.parameters():
        p.requires_grad_(False)
    frozen._dfkd_frozen = True
    return frozen


def num_classes_of(model: nn.Module, probe: torch.Tensor) -> int:
    """K, read from the model's output on ``probe`` (a batch of at least one input), in eval mode and without
    gradients; the model's training flag is restored. Works for any classifier, with or without ``nn.Linear``.

    Raises:
        ValueError: the output is not (N, K) logits.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(probe)
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"a classifier must return logits (N, K); {type(model).__name__} returned {got}")
    return out.shape[1]


# ---------------------------------------------------------------------------------------------- input shape
def _first_layer(model: nn.Module) -> nn.Module | None:
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.modules.batchnorm._BatchNorm)):
            return m
    return None


def _runs(model: nn.Module, shape: tuple[int, ...], device) -> Exception | None:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(2, *shape, device=device))
        if not isinstance(out, torch.Tensor) or out.ndim != 2:
            return ValueError(f"the output is {getattr(out, 'shape', type(out).__name__)}, not logits (N, K)")
        return None
    except Exception as e:  # noqa: BLE001 — any failure means "not this shape"
        return e
    finally:
        model.train(was_training)


def input_shape(model: nn.Module, shape: Sequence[int] | None = None, device: torch.device | None = None
                ) -> tuple[int, ...]:
    """The shape of one input of ``model`` — (C, H, W) for an image classifier, (D,) for a vector one.

    With ``shape`` given, it is checked by one forward pass of two zero inputs. Without it, the shape is the
    model's ``input_shape`` attribute if it has one (every model of :mod:`dfkd_book.models` does); else it is
    read from the first layer: ``nn.Linear`` or ``nn.BatchNorm1d`` → (in_features,); ``nn.Conv2d`` →
    (in_channels, s, s) for the first size s of 32, 28, 64, 16, 96, 128, 224, 8 that the model accepts.

    Returns:
        the shape of one input, a tuple of ints (no batch axis).

    Raises:
        ValueError: the model does not accept ``shape`` (the message names what came and what the first layer
            expects), or the shape cannot be read (then pass ``shape``).
    """
    device = device or next(iter(model.parameters()), torch.empty(0)).device
    first = _first_layer(model)
    expects = ""
    if isinstance(first, nn.Linear):
        expects = f"its first layer is a Linear with {first.in_features} input features: inputs ({first.in_features},)"
    elif isinstance(first, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        expects = f"its first layer is a {type(first).__name__} with {first.in_channels} input channels"
    elif isinstance(first, nn.modules.batchnorm._BatchNorm):
        expects = f"its first layer is a {type(first).__name__} of {first.num_features} features"
    if shape is not None:
        if isinstance(shape, int) or not all(isinstance(s, int) and s >= 1 for s in shape) or len(shape) == 0:
            raise ValueError(f"an input shape is a tuple of positive ints without the batch axis, e.g. (1, 32, 32) "
                             f"or (64,); got {shape!r}")
        shape = tuple(int(s) for s in shape)
        err = _runs(model, shape, device)
        if err is not None:
            declared = getattr(model, "input_shape", None)
            hint = f"it reads inputs {tuple(declared)}" if declared is not None else expects
            raise ValueError(f"{type(model).__name__} does not accept inputs of shape {shape} ({hint}): "
                             f"{type(err).__name__}: {err}")
        return shape
    declared = getattr(model, "input_shape", None)
    if declared is not None:
        return tuple(int(s) for s in declared)
    candidates: list[tuple[int, ...]] = []
    if isinstance(first, nn.Linear):
        candidates = [(first.in_features,)]
    elif isinstance(first, nn.modules.batchnorm.BatchNorm1d):
        candidates = [(first.num_features,)]
    elif isinstance(first, nn.Conv2d):
        candidates = [(first.in_channels, s, s) for s in _PROBE_SIZES]
    elif isinstance(first, nn.Conv1d):
        candidates = [(first.in_channels, s) for s in _PROBE_SIZES]
    for cand in candidates:
        if _runs(model, cand, device) is None:
            return cand
    raise ValueError(f"cannot read the input shape of {type(model).__name__} ({expects or 'no Linear or Conv layer'}); "
                     "pass the shape of one input, e.g. input_shape=(3, 32, 32)")


def is_image_shape(shape: Sequence[int]) -> bool:
    """True for the shape (C, H, W) of one image."""
    return len(tuple(shape)) == 3


def require_images(shape: Sequence[int], what: str) -> tuple[int, int, int]:
    """``shape`` as (C, H, W), or a ValueError saying that ``what`` needs images and the teacher reads ``shape``."""
    shape = tuple(shape)
    if len(shape) != 3:
        raise ValueError(f"{what} works on images (C, H, W), but this teacher reads inputs of shape {shape}; "
                         "leave it out for a teacher of vectors")
    return shape  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------- teacher queries
class TeacherQueries(Hooks):
    """Counts what a method asks of the teacher, in samples: every forward pass adds the batch size to
    ``forward``; a forward pass with gradients enabled on an input that requires them (the pixels being optimised,
    or a generator's output) also adds it to ``backward`` (an input-gradient pass follows it).

    Attach it to the frozen teacher every method shares; :meth:`as_dict` gives ``{"forward", "backward"}``."""

    def __init__(self, model: nn.Module):
        self.forward = self.backward = 0
        self.handles = [model.register_forward_pre_hook(self._count)]

    def _count(self, _module, inputs):
        x = inputs[0] if inputs else None
        if isinstance(x, torch.Tensor):
            n = len(x)
            self.forward += n
            if torch.is_grad_enabled() and x.requires_grad:
                self.backward += n

    def as_dict(self) -> dict[str, int]:
        return {"forward": self.forward, "backward": self.backward}
