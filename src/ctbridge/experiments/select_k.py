"""`ctbridge select-k`: choose the number of mixture components K on a validation fold.

The paper picks K by a downstream validation score. Here, for every K (same training budget):

1. train GMM-UNIT on the training patients (the validation patients are held out);
2. translate the validation patients NC -> CE and score against their real CE (only a phantom
   has it): plaque recall, false calcifications, calcium Dice, MAE;
3. quick downstream check (optional): a 2D plaque U-Net trained on the training patients'
   real NC + this K's synthetic CE (labels from NC), tested on the validation patients' real CE
   -- the use the translator is for. A baseline row (real NC only) is trained once for reference.

The chosen K maximises the criterion (default: downstream CE Dice, the paper's choice; without
the downstream check, plaque recall), ties broken by fewer false calcifications, then lower MAE.
Outputs: ``results.json``, ``results.md`` (table + chosen K), ``select_k.png``, one run folder
per K (``k05/``...), reused when present (training resumes, translations are cached).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctbridge.config import load_config
from ctbridge.device import resolve_device
from ctbridge.errors import ConfigError, DataError
from ctbridge.experiments.downstream.cohort import Cohort, Fold, load_cohort
from ctbridge.experiments.downstream.config import PlaqueConfig
from ctbridge.experiments.downstream.planning import RowPlan
from ctbridge.experiments.downstream.plaque import PlaqueExperiment
from ctbridge.experiments.downstream.runner import run_fold
from ctbridge.experiments.downstream.store import VolumeStore
from ctbridge.experiments.downstream.synthetic import translate_cohort
from ctbridge.experiments.validation import score_translator
from ctbridge.io.outputs import write_json, write_text
from ctbridge.plotting import plt, save_figure
from ctbridge.training.config import TrainConfig
from ctbridge.training.trainer import Trainer

CRITERIA = ("ce_dice", "plaque_recall", "mae")


@dataclass
class KResult:
    """Scores of one K on the validation fold."""

    k: int
    run: str
    train_seconds: float
    nc2ce: dict[str, float]
    ce2nc: dict[str, float]
    downstream: dict[str, float] = field(default_factory=dict)

    def criterion(self, name: str) -> float:
        """Higher is better (MAE is negated); NaN when undefined."""
        if name == "ce_dice":
            return self.downstream.get("dice", math.nan)
        if name == "plaque_recall":
            return self.nc2ce["plaque_recall"]
        return -self.nc2ce["mae_body"]


def parse_ks(text: str) -> list[int]:
    """``"1,5,10,25"`` -> ``[1, 5, 10, 25]`` (sorted, unique, each >= 1)."""
    try:
        ks = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        raise ConfigError(f"--k {text!r}: expected integers separated by commas, e.g. 1,5,10,25"
                          ) from None
    if not ks or ks[0] < 1:
        raise ConfigError(f"--k {text!r}: every K must be >= 1")
    return ks


def split_validation(cohort: Cohort, val_patients: int) -> tuple[list[str], list[str]]:
    """(training patients, validation patients): the last ``val_patients`` by name validate."""
    if not 1 <= val_patients < len(cohort.names) - 1:
        raise DataError(f"{cohort.root}: {len(cohort.names)} patients; --val-patients must leave "
                        f"at least 2 for training (got {val_patients})")
    return cohort.names[:-val_patients], cohort.names[-val_patients:]


def _summary(scores: dict[str, Any]) -> dict[str, float]:
    agg = scores["aggregate"]

    def get(*path: str) -> float:
        node: Any = agg
        for key in path:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return float(node["mean"]) if isinstance(node, dict) and "mean" in node else math.nan

    return {"mae_body": get("image", "body", "mae_hu"),
            "mae_vessels": get("image", "vessels", "mae_hu"),
            "plaque_recall": get("plaques", "recall_pred"),
            "false_calcifications": get("plaques", "false_calcifications_pred"),
            "calcium_dice": get("plaques", "calcium_dice")}


def choose(results: Sequence[KResult], criterion: str) -> KResult:
    """The best K by ``criterion``; ties: fewer false calcifications, then lower MAE, smaller K.
    Undefined (NaN) criteria rank last."""
    def key(r: KResult) -> tuple[float, float, float, int]:
        c = r.criterion(criterion)
        return (-c if math.isfinite(c) else math.inf,
                r.nc2ce["false_calcifications"], r.nc2ce["mae_body"], r.k)

    return min(results, key=key)


def select_k(config: str | Path, ks: Sequence[int], data: str | Path, out: str | Path, *,
             preset: str | None = None, overrides: Sequence[str] = (), val_patients: int = 2,
             downstream: bool = True, downstream_preset: str | None = "cpu-small",
             downstream_overrides: Sequence[str] = (), criterion: str = "ce_dice",
             mode: str = "full", progress: bool = True, bounded: bool = True) -> Path:
    """Train and score GMM-UNIT for each K; write the table and plot; returns results.md.

    Args:
        config: translator config (``configs/gmm_unit.yaml``); its preset and overrides apply
            to every K alike (same budget).
        ks: the K to compare.
        data: phantom folder with every phase, labels and plaques (the truth is needed).
        out: output folder.
        val_patients: last patients by name held out for validation.
        downstream: run the quick downstream plaque-segmentation check.
        downstream_preset: preset of ``configs/experiment_plaque.yaml`` for that check.
        downstream_overrides: ``key=value`` overrides of that config (``segmenter.steps=200``).
        criterion: ``ce_dice`` (downstream), ``plaque_recall`` or ``mae``.
        mode: translation mode (``full`` or ``window``).
        bounded: hold translations to the physical bounds (:mod:`ctbridge.inference.bounds`),
            for the scores and the downstream check alike.

    Raises:
        ConfigError: a bad criterion or a non-GMM config; DataError: a folder that does not fit.
    """
    if criterion not in CRITERIA:
        raise ConfigError(f"--criterion {criterion!r}: choose from {', '.join(CRITERIA)}")
    if criterion == "ce_dice" and not downstream:
        raise ConfigError("--criterion ce_dice needs the downstream check (drop --no-downstream "
                          "or choose plaque_recall)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = load_config(TrainConfig, config, preset=preset, overrides=overrides)
    if base.model.kind != "gmm_unit":
        raise ConfigError(f"{config}: select-k varies GMM-UNIT's K; model.kind is "
                          f"{base.model.kind!r}")
    ce_phase = base.data.phase_of.get("ce", "ce")
    cohort = load_cohort(data, ce_phase=ce_phase, required_labels=("plaque",))
    train, val = split_validation(cohort, val_patients)
    holdout = "[" + ", ".join(val) + "]"
    results: list[KResult] = []
    t_start = time.perf_counter()
    for k in ks:
        run = out / f"k{k:02d}"
        cfg = load_config(TrainConfig, config, preset=preset,
                          overrides=[*overrides, f"model.n_components={k}",
                                     f"data.holdout={holdout}"])
        t0 = time.perf_counter()
        Trainer(cfg, data, run, resume=True, progress=progress).run()
        seconds = time.perf_counter() - t0
        scores = {f"{s}2{t}": _summary(score_translator(
            run, run.name, cohort, val, source=s, target=t, cache_dir=out / "synthetic",
            mode=mode, progress=progress, bounded=bounded))
            for s, t in (("nc", "ce"), ("ce", "nc"))}
        results.append(KResult(k, str(run), round(seconds, 1), scores["nc2ce"],
                               scores["ce2nc"]))
    baseline: dict[str, float] = {}
    if downstream:
        baseline = _downstream(cohort, train, val, results, out, downstream_preset,
                               downstream_overrides, mode, progress, bounded)
    best = choose(results, criterion)
    meta = {"config": str(config), "preset": preset, "overrides": list(overrides),
            "data": str(data), "train_patients": train, "validation_patients": val,
            "criterion": criterion, "chosen_k": best.k, "mode": mode, "bounds": bounded,
            "seconds": round(time.perf_counter() - t_start, 1),
            "baseline_nc_only": baseline,
            "results": [r.__dict__ for r in results]}
    write_json(meta, out / "results.json")
    _plot(results, best, out / "select_k.png", baseline)
    return write_text(_markdown(results, best, meta), out / "results.md")


def _downstream(cohort: Cohort, train: list[str], val: list[str], results: list[KResult],
                out: Path, preset: str | None, overrides: Sequence[str], mode: str,
                progress: bool, bounded: bool = True) -> dict[str, float]:
    """Fill ``downstream`` of each result; returns the baseline's (real NC only) CE scores."""
    cfg = load_config(PlaqueConfig, "experiment_plaque", preset=preset,
                      overrides=[f"ce_phase={cohort.phase_of['ce']}",
                                 f"progress={str(progress).lower()}", *overrides])
    device = resolve_device(cfg.device)
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    exp = PlaqueExperiment(cfg, cohort)
    store = VolumeStore(exp)
    fold = Fold(0, tuple(train), tuple(val))
    base = run_fold(exp, store, RowPlan("baseline", "NC only", None), fold, {}, device)
    for r in results:
        key = f"k{r.k:02d}"
        synthetic = translate_cohort(Path(r.run), key, cohort, train, source="nc", target="ce",
                                     cache_dir=out / "synthetic", mode=mode, device=device,
                                     progress=progress, bounded=bounded)
        fold_result = run_fold(exp, store, RowPlan(key, key, key, Path(r.run)), fold,
                               synthetic, device)
        r.downstream = fold_result["test"]["ce"]
        store.drop(f"syn:{key}")
    return base["test"]["ce"]


def _plot(results: Sequence[KResult], best: KResult, path: Path,
          baseline: dict[str, float]) -> Path:
    ks = [r.k for r in results]
    panels = [("plaque recall (NC→CE)", [r.nc2ce["plaque_recall"] for r in results], None),
              ("false calcifications (NC→CE)",
               [r.nc2ce["false_calcifications"] for r in results], None),
              ("MAE body, HU (NC→CE)", [r.nc2ce["mae_body"] for r in results], None)]
    if any(r.downstream for r in results):
        panels.append(("downstream CE Dice", [r.downstream.get("dice", math.nan)
                                              for r in results], baseline.get("dice")))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3), squeeze=False)
    for ax, (title, values, ref) in zip(axes[0], panels, strict=True):
        ax.plot(ks, values, "o-")
        ax.axvline(best.k, color="tab:green", ls=":", lw=1)
        if ref is not None and math.isfinite(ref):
            ax.axhline(ref, color="gray", ls="--", lw=1, label="NC only")
            ax.legend(fontsize=7)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("K")
        ax.set_title(title, fontsize=9)
    fig.suptitle(f"select-k: chosen K = {best.k} (dotted)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def _f(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "n/a"


def _markdown(results: Sequence[KResult], best: KResult, meta: dict[str, Any]) -> str:
    down = any(r.downstream for r in results)
    head = ("| K | plaque recall | false calc. | calcium Dice | MAE body NC→CE (HU) "
            "| MAE vessels NC→CE (HU) | MAE body CE→NC (HU) |"
            + (" CE Dice | CE recall | CE precision |" if down else "") + " train (s) |")
    lines = [f"# select-k: chosen K = {best.k}", "",
             f"Criterion: `{meta['criterion']}` (higher is better; ties: fewer false "
             f"calcifications, then lower MAE). Validation patients: "
             f"{', '.join(meta['validation_patients'])} (held out of translator training); "
             f"training patients: {len(meta['train_patients'])}. Same config and budget for "
             f"every K: `{meta['config']}` preset `{meta['preset']}` "
             f"{' '.join('--set ' + o for o in meta['overrides'])}.", "",
             head, "|" + " --- |" * (head.count("|") - 1)]
    for r in results:
        a, b, d = r.nc2ce, r.ce2nc, r.downstream
        cells = [f"**{r.k}**" if r is best else str(r.k), _f(a["plaque_recall"], ".2f"),
                 _f(a["false_calcifications"], ".1f"), _f(a["calcium_dice"], ".2f"),
                 _f(a["mae_body"], ".1f"), _f(a["mae_vessels"], ".1f"), _f(b["mae_body"], ".1f")]
        if down:
            cells += [_f(d.get("dice", math.nan), ".3f"), _f(d.get("recall", math.nan), ".2f"),
                      _f(d.get("precision", math.nan), ".2f")]
        cells.append(f"{r.train_seconds:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    base = meta.get("baseline_nc_only") or {}
    if base:
        lines += ["", f"Downstream reference, real NC only (no synthetic CE): CE Dice "
                  f"{_f(base.get('dice', math.nan), '.3f')}, recall "
                  f"{_f(base.get('recall', math.nan), '.2f')}, precision "
                  f"{_f(base.get('precision', math.nan), '.2f')}."]
    lines += ["", "Plaque recall: validation plaques whose peak in the synthetic CE is >= 130 HU "
              "and >= 50 HU above the adjacent lumen; false calc.: new calcium components in the "
              "vessel wall per scan. Downstream: a 2D plaque U-Net trained on the training "
              "patients' real NC + synthetic CE (NC labels), tested on the validation patients' "
              "real CE.", "", "![select-k](select_k.png)", "",
              f"Total time: {meta['seconds'] / 60:.1f} min."]
    return "\n".join(lines) + "\n"
