"""A teacher behind an API: black-box data-free distillation sees only what the API answers.

Chapters 2–6 read the teacher's weights, its input gradients or its BN statistics. A teacher served as an API
gives none of these: a query is a batch of inputs, the answer is the logits, the class probabilities, or only the
top-1 class, perhaps rounded or cut to the top k. :class:`TeacherAPI` is such a teacher. It keeps the model out of
sight (no attribute of the API is a module), answers under ``no_grad`` with detached tensors, counts every input
it is asked about, and can refuse queries past a cap — the defences an API owner has.

:func:`dfkd_book.distill` takes a ``TeacherAPI`` wherever it takes a teacher. A method states the least access it
needs (``Method.access``): ``"white-box"`` (gradients through the teacher, its activations or BN statistics: ZSKD,
the games, DeepInversion, SSD-KD), ``"probs"`` (soft labels: DFME, Truong et al. 2021) or ``"label"`` (the top-1
class: a transfer set given or balanced by the teacher's predictions, IDEAL, Zhang et al. 2023). A method given
less than it needs is refused with a ``ValueError`` naming what it needs.

What a method receives (``ctx.teacher``) is a :class:`LogitsView` of the API: a callable returning, for a batch,
the logits as far as the access reveals them — the logits; for probabilities ``log p`` (equal to the logits up to
a constant per sample, so softmax(log p / τ) = softmax(z / τ) at every temperature τ, until rounding or top-k
zero some of them; zeros are floored at ``log 1e-8``); for labels ``log`` of the one-hot vector (floored likewise:
its argmax is the label, and the loss of :class:`~dfkd_book.methods.base.Method` becomes the cross-entropy to it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import config
from .hooks import frozen_copy, num_classes_of
from .hooks import input_shape as read_input_shape

#: what an API may answer, most revealing first
ACCESS = ("logits", "probs", "label")
#: every access level, most revealing first: what a method may need (white-box: the teacher as a module)
LEVELS = ("white-box", *ACCESS)
#: the floor of a probability before its log (a rounded or top-k-cut probability of 0, a one-hot label's zeros)
FLOOR = 1e-8
_WHY = {"white-box": "it reads the teacher's gradients, activations or BN statistics",
        "logits": "it reads the teacher's logits", "probs": "it reads the teacher's class probabilities (soft labels)",
        "label": "it reads the teacher's top-1 class"}


class QueryBudgetExhausted(RuntimeError):
    """A query would take a :class:`TeacherAPI` past its ``max_queries``; nothing of it was answered."""


class TeacherAPI:
    """A classifier behind an API that answers ``access`` for each input, counts queries and hides the model.

    Args:
        teacher: the classifier (returns logits (B, K)); a frozen private copy answers, the caller's is untouched.
        access: ``"logits"`` (B, K) float32; ``"probs"`` (B, K) softmax probabilities; ``"label"`` (B,) int64
            top-1 classes.
        decimals: round logits or probabilities to this many decimals (a defence; None: exact).
        top_k: with ``"probs"``, answer only the k largest probabilities, the others 0 (a defence; None: all K).
        max_queries: refuse any query that would take the count of answered inputs past this (None: no cap).
        input_shape: the shape of one input the API takes, e.g. (1, 32, 32) (default: read off the teacher, as
            an API's documentation would state it). device: where the teacher runs (default: the book's device).

    Attributes: ``access``, ``decimals``, ``top_k``, ``max_queries``, ``input_shape``, ``num_classes`` (K),
    ``queries`` (inputs answered so far: one query per input, whatever the access).

    Raises:
        TypeError: ``teacher`` is not an ``nn.Module``. ValueError: an unknown ``access``; ``decimals`` < 0;
            ``top_k`` outside [1, K] or given without ``"probs"``; ``max_queries`` < 1; an ``input_shape`` the
            teacher does not read.
    """

    def __init__(self, teacher: nn.Module, access: str = "probs", *, decimals: int | None = None,
                 top_k: int | None = None, max_queries: int | None = None,
                 input_shape: tuple[int, ...] | None = None, device: torch.device | None = None):
        if not isinstance(teacher, nn.Module):
            raise TypeError(f"teacher must be a torch.nn.Module, got {type(teacher).__name__}")
        if access not in ACCESS:
            raise ValueError(f"access must be one of {ACCESS}, got {access!r}")
        for what, v, low in (("decimals", decimals, 0), ("top_k", top_k, 1), ("max_queries", max_queries, 1)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < low):
                raise ValueError(f"{what} must be None or an int >= {low}, got {v!r}")
        self.device = device or config.device()
        model = frozen_copy(teacher, self.device)
        self.input_shape = read_input_shape(model, input_shape, self.device)
        self.num_classes = num_classes_of(model, torch.zeros(2, *self.input_shape, device=self.device))
        if top_k is not None and (access != "probs" or top_k > self.num_classes):
            raise ValueError(f"top_k goes with access='probs' and must be in [1, {self.num_classes}], got top_k="
                             f"{top_k} with access={access!r}")
        self.access, self.decimals, self.top_k, self.max_queries = access, decimals, top_k, max_queries
        self.queries = 0

        @torch.no_grad()
        def answer(x: torch.Tensor) -> torch.Tensor:  # the model lives only in this closure
            return model(x).float()

        self._answer = answer

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Answer a batch ``x`` (B, *input_shape) of float inputs: see ``access``. The answer is on ``x``'s device,
        detached; ``queries`` grows by B.

        Raises:
            TypeError: ``x`` is not a float tensor. ValueError: another input shape, NaN or infinite values.
            QueryBudgetExhausted: the batch would pass ``max_queries`` (nothing is answered or counted)."""
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"the API answers float tensors (B, *{self.input_shape}), got "
                            f"{x.dtype if isinstance(x, torch.Tensor) else type(x).__name__}")
        if tuple(x.shape[1:]) != tuple(self.input_shape):
            raise ValueError(f"the API takes inputs (B, *{self.input_shape}), got {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("the API refuses NaN or infinite inputs")
        if self.max_queries is not None and self.queries + len(x) > self.max_queries:
            raise QueryBudgetExhausted(f"this API answers at most {self.max_queries:,} queries; {self.queries:,} were "
                                       f"answered and {len(x):,} more were asked")
        self.queries += len(x)
        z = self._answer(x.detach().to(self.device).float())
        if self.access == "label":
            return z.argmax(1).to(x.device)
        out = z if self.access == "logits" else F.softmax(z, 1)
        if self.top_k is not None:
            top = out.topk(self.top_k, 1)
            out = torch.zeros_like(out).scatter(1, top.indices, top.values)
        if self.decimals is not None:
            out = out.round(decimals=self.decimals)
        return out.to(x.device)

    def as_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K) float32: the logits as far as the access reveals them (module docstring); B queries."""
        out = self(x)
        if self.access == "logits":
            return out
        if self.access == "label":
            out = F.one_hot(out, self.num_classes).float()
        return out.clamp_min(FLOOR).log()

    def view(self) -> LogitsView:
        """What a method of the book receives as ``ctx.teacher`` (see :class:`LogitsView`)."""
        return LogitsView(self)

    def admit(self, method) -> None:
        """Check that ``method`` can work from this API (its ``access`` at most this API's).

        Raises:
            ValueError: the method needs more than this API answers (the message says what and why)."""
        need = getattr(method, "access", "white-box")
        if LEVELS.index(need) < LEVELS.index(self.access):
            raise ValueError(f"{getattr(method, 'name', type(method).__name__)} needs {need} access ({_WHY[need]}), "
                             f"but this teacher is an API that answers {self.access!r}")

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("decimals", self.decimals), ("top_k", self.top_k),
                                                    ("max_queries", self.max_queries)) if v is not None)
        return f"TeacherAPI(access={self.access!r}{extra}, queries={self.queries:,})"


class LogitsView:
    """A :class:`TeacherAPI` as the book's methods call a teacher: ``view(x)`` → (B, K) logits as far as the
    access reveals them (:meth:`TeacherAPI.as_logits`), detached. Like a module in eval mode it has
    ``training = False`` and no-op ``eval()`` / ``train()``; it is not a module and has no parameters, hooks or
    gradients. ``access`` and ``input_shape`` are the API's."""

    training = False

    def __init__(self, api: TeacherAPI):
        self._api = api
        self.access, self.input_shape, self.num_classes = api.access, api.input_shape, api.num_classes

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self._api.as_logits(x)

    def eval(self) -> LogitsView:
        return self

    def train(self, mode: bool = True) -> LogitsView:
        return self

    def counter(self) -> Queries:
        """A query counter for the loop, from now on (as :class:`~dfkd_book.hooks.TeacherQueries`)."""
        return Queries(self._api)


class Queries:
    """:class:`~dfkd_book.hooks.TeacherQueries` for an API: ``forward`` the inputs answered since it was made,
    ``backward`` 0 (an API gives no gradient)."""

    backward = 0

    def __init__(self, api: TeacherAPI):
        self._api, self._start = api, api.queries

    @property
    def forward(self) -> int:
        return self._api.queries - self._start

    def remove(self) -> None:
        """Nothing to take off (the API counts by itself)."""

    def as_dict(self) -> dict[str, int]:
        return {"forward": self.forward, "backward": 0}


def answer_quality(api: TeacherAPI, images: torch.Tensor, labels: torch.Tensor, bins: int = 15,
                   batch_size: int = 1_000) -> dict[str, float]:
    """What an honest user gets from ``api`` on labelled images: ``accuracy`` (%) of the answer's top class (the
    first of tied ones); ``nll``, the mean negative log-probability of the true class (nats; probabilities floored
    at :data:`FLOOR`, a label answer read as a one-hot vector); ``ece`` (%), the expected calibration error over
    ``bins`` equal-width confidence bins (Guo et al. 2017, eq. 3), the confidence being the largest answered
    probability (1 for a label). Spends ``len(images)`` queries.

    Args: images (N, *api.input_shape) float; labels (N,) int64 in [0, K).

    Raises:
        ValueError: ``images`` and ``labels`` differ in length or are empty; ``api`` answers logits (no
            probabilities to judge: use ``"probs"``)."""
    if len(images) != len(labels) or not len(images):
        raise ValueError(f"images and labels must be non-empty and of one length, got {len(images)} and "
                         f"{len(labels)}")
    if api.access == "logits":
        raise ValueError("answer_quality judges probabilities or labels; this API answers logits")
    p = torch.cat([api.as_logits(images[i:i + batch_size]).exp().cpu() for i in range(0, len(images), batch_size)])
    p = p / p.sum(1, keepdim=True)
    conf, pred = p.max(1)
    right = (pred == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    which = torch.bucketize(conf, edges[1:-1], right=True)
    ece = sum((right[which == b].mean() - conf[which == b].mean()).abs() * (which == b).float().mean()
              for b in range(bins) if (which == b).any())
    nll = -p.gather(1, labels.view(-1, 1)).clamp_min(FLOOR).log().mean()
    return {"accuracy": round(100 * float(right.mean()), 2), "nll": round(float(nll), 4),
            "ece": round(100 * float(ece), 2)}
