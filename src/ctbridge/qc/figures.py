"""The two figures of a QC folder: ROC curves and a grid of example artefacts with scores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ctbridge.data.intensity import window
from ctbridge.plotting import plt, save_figure
from ctbridge.qc.config import QCConfig
from ctbridge.qc.dataset import SliceSet, make_artefact
from ctbridge.qc.metrics import roc_auc, roc_curve

if TYPE_CHECKING:
    from ctbridge.qc.score import QualityControl


def save_roc(path: Path, scores: dict[str, Any], config: QCConfig) -> Path:
    """ROC of validation real vs artefact slices at the largest evaluation strength.

    Thick lines pool the seen and the held-out kinds; thin lines are single kinds (dashed when
    held out).
    """
    strength = f"{max(config.eval_strengths):g}"
    real, by_kind = np.asarray(scores["real"]), scores[strength]
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    for kind in config.kinds:
        fpr, tpr = roc_curve(real, by_kind[kind])
        held = kind in config.held_out
        ax.plot(fpr, tpr, lw=0.9, ls="--" if held else "-", alpha=0.8,
                label=f"{kind}{' (held out)' if held else ''}: {roc_auc(real, by_kind[kind]):.3f}")
    for name, group, colour in (("seen", config.train_kinds, "k"),
                                ("held out", config.held_out, "tab:red")):
        if group:
            pooled = np.concatenate([np.asarray(by_kind[k]) for k in group])
            fpr, tpr = roc_curve(real, pooled)
            ax.plot(fpr, tpr, lw=2.5, color=colour,
                    label=f"all {name}: {roc_auc(real, pooled):.3f}")
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls=":")
    ax.set(xlabel="real slices rejected (false-positive rate)",
           ylabel="artefact slices rejected (true-positive rate)",
           title=f"QC ROC, validation patients, strength {strength}", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower right", title="ROC AUC", title_fontsize=7)
    return save_figure(fig, path)


def _example_slice(val: SliceSet) -> int:
    """A validation slice with small bright structures (so the erase artefact shows)."""
    from ctbridge.qc.artefacts import small_bright_structures

    counts = [len(small_bright_structures(h, b)) for h, b in zip(val.hu, val.body, strict=True)]
    return int(np.argmax(counts))


def save_artefact_grid(path: Path, qc: QualityControl, val: SliceSet, config: QCConfig,
                       strengths: tuple[float, ...] = (0.5, 1.0)) -> Path:
    """One validation slice, each kind at ``strengths`` and its difference; QC score in titles."""
    i = _example_slice(val)
    hu, body = val.hu[i], val.body[i]
    kinds = config.kinds
    rows = len(strengths) + 1
    fig, axes = plt.subplots(rows, len(kinds) + 1, figsize=(2.2 * (len(kinds) + 1), 2.3 * rows))
    for ax in axes.ravel():
        ax.axis("off")
    real_score = float(qc.score_slices(hu)[0])
    axes[0, 0].imshow(window(hu), cmap="gray")
    axes[0, 0].set_title(f"real\nscore {real_score:.2f}", fontsize=8)
    axes[1, 0].text(0.5, 0.5, f"{val.source[i]}\nthreshold {qc.threshold:.2f}\n(soft-tissue "
                    "window;\nlast row: change,\n+-100 HU)", ha="center", va="center",
                    fontsize=7, transform=axes[1, 0].transAxes)
    for c, kind in enumerate(kinds, start=1):
        last = None
        for r, strength in enumerate(strengths):
            rng = np.random.default_rng([config.seed, c])
            made = make_artefact(hu, body, kind, strength, rng)
            if made is None:
                axes[r, c].set_title(f"{kind}\nno-op here", fontsize=7)
                continue
            score = float(qc.score_slices(made)[0])
            axes[r, c].imshow(window(made), cmap="gray")
            held = " (held out)" if kind in config.held_out else ""
            axes[r, c].set_title(f"{kind}{held}\ns={strength:g} score {score:.2f}", fontsize=7)
            last = made
        if last is not None:
            axes[-1, c].imshow(last - hu, cmap="RdBu_r", vmin=-100, vmax=100)
    return save_figure(fig, path, dpi=90)
