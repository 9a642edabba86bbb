"""Optional ipywidgets explorers. They need the ``book`` extra (``pip install "dfkd-book[book]"``); every chapter
also shows a static figure beside each explorer, since the published site cannot run a kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch

from . import kd, plot


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the explorers need ipywidgets: pip install 'dfkd-book[book]' (or pip install ipywidgets)"
                          ) from e
    return ipywidgets


def _explorer(controls: list, figure) -> object:
    """Controls above an output area; ``figure()`` (returning a matplotlib figure) is redrawn there whenever one
    of the controls changes value. Returns the ``ipywidgets.VBox``."""
    widgets = _ipywidgets()
    out = widgets.Output()

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            fig = figure()
            plt.show()
            plt.close(fig)

    for control in controls:
        control.observe(draw, "value")
    draw()
    return widgets.VBox([widgets.HBox(controls), out])


def temperature_explorer(teacher: torch.nn.Module, images: torch.Tensor, classes: Sequence[str],
                         temperatures: tuple[float, float] = (0.5, 30.0)):
    """A slider for the temperature τ and one for the image: the teacher's soft targets ``softmax(z/τ)``.

    Args:
        teacher: classifier returning logits (N, K).
        images: (N, C, H, W) inputs in [0, 1] to choose from.
        classes: K class names.
        temperatures: the slider's range.

    Returns:
        an ``ipywidgets`` widget (display it as the last expression of a cell).
    """
    widgets = _ipywidgets()
    z = kd.logits(teacher, images)
    if z.shape[1] != len(classes):
        raise ValueError(f"teacher has {z.shape[1]} classes but {len(classes)} class names were given")
    t_slider = widgets.FloatLogSlider(value=4.0, base=10, min=torch.log10(torch.tensor(temperatures[0])).item(),
                                      max=torch.log10(torch.tensor(temperatures[1])).item(), step=0.02,
                                      description="τ", continuous_update=False)
    i_slider = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image", continuous_update=False)

    def figure():
        i, T = i_slider.value, t_slider.value
        fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(9, 2.8), gridspec_kw={"width_ratios": [1, 4]})
        img = images[i].cpu()
        ax_img.imshow(img[0] if img.shape[0] == 1 else img.permute(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        ax_img.axis("off")
        p = kd.soft_targets(z[i], T)
        plot.soft_targets(p, classes, ax=ax_bar, title=f"soft targets at τ = {T:.2f} "
                                                      f"(entropy {-(p * p.clamp_min(1e-12).log()).sum():.2f} nats)")
        return fig

    return _explorer([t_slider, i_slider], figure)


def dirichlet_explorer(similarity: torch.Tensor, classes: Sequence[str], samples: int = 12,
                       betas: tuple[float, float] = (0.01, 10.0)):
    """A slider for the concentration scale β and a class picker: ``samples`` softmax vectors drawn from ZSKD's
    Dirichlet(β · similarity row + ε) for that class (Nayak et al. 2019, Sec. 3.2).

    Args:
        similarity: (K, K) class similarity (:func:`dfkd_book.impressions.class_similarity`).
        classes: K class names.
        samples: vectors drawn per redraw.
        betas: the slider's range.

    Returns:
        an ``ipywidgets`` widget.
    """
    from .methods import zskd as impressions

    widgets = _ipywidgets()
    if similarity.shape != (len(classes), len(classes)):
        raise ValueError(f"similarity must be K × K with K = {len(classes)}, got {tuple(similarity.shape)}")
    b_slider = widgets.FloatLogSlider(value=1.0, base=10, min=torch.log10(torch.tensor(betas[0])).item(),
                                      max=torch.log10(torch.tensor(betas[1])).item(), step=0.05,
                                      description="β", continuous_update=False)
    c_pick = widgets.Dropdown(options=[(name, i) for i, name in enumerate(classes)], value=0, description="class")

    def figure():
        alpha = impressions.concentration(similarity, b_slider.value)[c_pick.value]
        y = torch.distributions.Dirichlet(alpha.expand(samples, -1)).sample()
        return plot.dirichlet_samples({f"{classes[c_pick.value]}, β = {b_slider.value:.2f}": y}, classes)

    return _explorer([b_slider, c_pick], figure)


def source_explorer(teacher: torch.nn.Module, pools: dict, classes: Sequence[str], per_class: int = 8):
    """What the teacher "thinks" each arbitrary source is (Nayak et al. 2021): pick a source and a class, see the
    ``per_class`` candidates of that source the teacher finds most like the class, with its probability, and how
    many of the pool it puts in that class at all.

    Args:
        teacher: classifier returning logits (N, K).
        pools: ``{source name: (N, C, H, W) candidates in [0, 1]}``.
        classes: K class names.

    Returns:
        an ``ipywidgets`` widget.

    Raises:
        ValueError: empty ``pools`` or a teacher whose K differs from ``len(classes)``.
    """
    widgets = _ipywidgets()
    if not pools:
        raise ValueError("pools must hold at least one source")
    probs = {name: kd.soft_targets(kd.logits(teacher, x), 1.0) for name, x in pools.items()}
    for p in probs.values():
        if p.shape[1] != len(classes):
            raise ValueError(f"teacher has {p.shape[1]} classes but {len(classes)} class names were given")
    s_pick = widgets.Dropdown(options=list(pools), description="source")
    c_pick = widgets.Dropdown(options=[(name, i) for i, name in enumerate(classes)], value=0, description="class")

    def figure():
        p, x, c = probs[s_pick.value], pools[s_pick.value], c_pick.value
        top = p[:, c].topk(min(per_class, len(x)))
        share = (p.argmax(1) == c).float().mean().item()
        return plot.show_images(x[top.indices], [f"p = {v:.2f}" for v in top.values], ncols=per_class,
                                suptitle=f"{s_pick.value}: most '{classes[c]}'-like candidates "
                                         f"({100 * share:.2f} % of the pool are predicted {classes[c]})")

    return _explorer([s_pick, c_pick], figure)
