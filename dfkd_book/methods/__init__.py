"""Every method of the book behind one contract (:mod:`dfkd_book.methods.base`), one module per family, and a
registry by name::

    from dfkd_book import distill, methods
    result = distill(teacher, student, methods.get("zskd", n=8000), steps=10_000)

============================ ========================= ===============================================
name                         class                     family (module)
============================ ========================= ===============================================
``kd-real``                  :class:`RealData`         real-data KD, the ceiling (``real``)
``transfer-set``             :class:`TransferSet`      any tensor of inputs (``base``)
``zskd``                     :class:`DataImpressions`  ZSKD data impressions (``zskd``)
``class-impressions``        :class:`ClassImpressions` class impressions (``zskd``)
``arbitrary``                :class:`ArbitraryBalanced` arbitrary sets, balanced (``arbitrary``)
``zskt``                     :class:`ZSKT`             adversarial (``adversarial``)
``dfad``                     :class:`DFAD`             adversarial (``adversarial``)
``bn-statistics``            :class:`BNInversion`      feature inversion (``inversion``)
``deepinversion``            :class:`DeepInversion`    feature inversion (``inversion``)
``activation-records``       :class:`ActivationInversion` feature inversion (``inversion``)
``spectral-records``         :class:`SpectralInversion` feature inversion (``inversion``)
``ssd-kd``                   :class:`SSDKD`            SSD-KD (``ssd``)
``hybrid``                   :class:`Hybrid`           several static sets in equal shares (``hybrid``)
``dfme``                     :class:`DFME`             black-box, soft labels (``blackbox``)
``ideal``                    :class:`IDEAL`            black-box, hard labels (``blackbox``)
============================ ========================= ===============================================

The arbitrary image sources are in :mod:`dfkd_book.sources`; the owner-side records that activation and spectral
records invert (:func:`~dfkd_book.methods.metadata.record_activations`, ...) in :mod:`dfkd_book.methods.metadata`.
A static method's transfer set can be made without training a student: :func:`dfkd_book.loop.transfer_set`.
Every method states the least it needs of the teacher (``Method.access``); a teacher behind an API
(:class:`dfkd_book.blackbox.TeacherAPI`) serves only the methods its answers suffice for.
"""

from __future__ import annotations

from . import adversarial, arbitrary, base, blackbox, hybrid, inversion, metadata, real, ssd, zskd
from .adversarial import DFAD, ZSKT, AdversarialGame
from .arbitrary import ArbitraryBalanced
from .base import Batch, Context, Method, StaticSet, TransferSet
from .blackbox import DFME, IDEAL
from .hybrid import Hybrid
from .inversion import ActivationInversion, BNInversion, DeepInversion, SpectralInversion
from .real import RealData
from .ssd import SSDKD
from .zskd import ClassImpressions, DataImpressions

#: name → method class
REGISTRY: dict[str, type[Method]] = {
    "kd-real": RealData,
    "transfer-set": TransferSet,
    "zskd": DataImpressions,
    "class-impressions": ClassImpressions,
    "arbitrary": ArbitraryBalanced,
    "zskt": ZSKT,
    "dfad": DFAD,
    "bn-statistics": BNInversion,
    "deepinversion": DeepInversion,
    "activation-records": ActivationInversion,
    "spectral-records": SpectralInversion,
    "ssd-kd": SSDKD,
    "hybrid": Hybrid,
    "dfme": DFME,
    "ideal": IDEAL,
}


def get(name: str, *args, **kwargs) -> Method:
    """A method by its registry name, built with ``args`` and ``kwargs`` (see each class).

    Raises:
        ValueError: an unknown name (the message lists :data:`REGISTRY`).
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name](*args, **kwargs)


__all__ = ["REGISTRY", "get", "Method", "Batch", "Context", "StaticSet", "TransferSet", "RealData",
           "DataImpressions", "ClassImpressions", "ArbitraryBalanced", "AdversarialGame", "ZSKT", "DFAD",
           "BNInversion", "DeepInversion", "ActivationInversion", "SpectralInversion", "SSDKD", "Hybrid",
           "DFME", "IDEAL", "adversarial", "arbitrary", "base", "blackbox", "hybrid", "inversion", "metadata",
           "real", "ssd", "zskd"]
