"""What a trained translator's discriminators say along the way from one phase to the other.

    python scripts/discriminator_path.py --model RUN --data PHANTOM [--patient patient_006.nii.gz]

For each aorta slice of a phantom patient: a patch of the training size centred on the aorta
in the source phase, its lumen set to a range of HU values (the rest of the patch untouched),
scored by the target domain's discriminator (mean score, 1 = real). If the scores do not rise
steadily towards the target phase's lumen HU, the generator's adversarial gradient points the
wrong way (docs/method.md, Discriminators). Also prints the sign of that gradient inside the
lumen of the model's own translation, and, over random in-body patches, the mean gradient per
phantom tissue (negative = the generator is pushed to make that tissue brighter).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy import ndimage

from ctbridge.experiments.downstream.cohort import load_cohort
from ctbridge.inference.translator import Translator
from ctbridge.io import read_scan
from ctbridge.models.checkpoint import read_config_tree, resolve_checkpoint

LUMEN_HU = np.linspace(-100, 600, 15)


def aorta_patches(labels: np.ndarray, aorta: int, size: int, every: int = 3
                  ) -> list[tuple[int, tuple[slice, slice]]]:
    """(slice index, ``size``-pixel window) centred on the aorta, every ``every``-th slice."""
    half = size // 2
    out = []
    for z in range(0, labels.shape[0], every):
        ys, xs = np.nonzero(labels[z] == aorta)
        if ys.size < 20:
            continue
        cy, cx = int(ys.mean()), int(xs.mean())
        cy = min(max(cy, half), labels.shape[1] - half)
        cx = min(max(cx, half), labels.shape[2] - half)
        out.append((z, (slice(cy - half, cy + half), slice(cx - half, cx + half))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="training run folder")
    parser.add_argument("--data", required=True, help="phantom folder")
    parser.add_argument("--patient", default="patient_006.nii.gz")
    parser.add_argument("--ce-phase", default="arterial")
    parser.add_argument("--patch", type=int, default=None,
                        help="window size (default: the run's training patch size)")
    args = parser.parse_args()
    cohort = load_cohort(args.data, ce_phase=args.ce_phase)
    translator = Translator.from_checkpoint(args.model)
    model, scaler = translator.model, translator.scaler
    model.eval()
    labels = read_scan(cohort.labels_path(args.patient)).array
    trained = read_config_tree(resolve_checkpoint(args.model)).get("data", {})
    size = args.patch or trained.get("patch_size") or 32
    windows = aorta_patches(labels, cohort.label_id("aorta"), size)

    def to_model(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(scaler.to_model(a).astype(np.float32))[None, None]

    names = {i: name for name, i in cohort.label_ids.items()}
    for src, dst in (("nc", "ce"), ("ce", "nc")):
        source = read_scan(cohort.scan_path(src, args.patient)).array
        curves, grads = [], []
        for z, win in windows:
            lumen = labels[z][win] == cohort.label_id("aorta")
            inner = ndimage.binary_erosion(lumen, iterations=2)
            patch = source[z][win].astype(np.float32)
            row = []
            for hu in LUMEN_HU:
                edited = patch.copy()
                edited[lumen] += hu - float(np.median(patch[lumen]))
                with torch.no_grad():
                    row.append(float(model.judge(dst, to_model(edited)).mean()))
            curves.append(row)
            with torch.no_grad():
                fake = model.translate(to_model(patch), src, dst)
            fake.requires_grad_(True)
            loss = ((model.judge(dst, fake) - 1) ** 2).mean()
            (grad,) = torch.autograd.grad(loss, fake)
            grads.append(float(grad[0, 0][torch.from_numpy(inner)].mean()))
        mean = np.mean(curves, axis=0)
        print(f"D_{dst} on {src} patches, lumen set to HU: "
              + "  ".join(f"{h:.0f}:{v:.2f}" for h, v in zip(LUMEN_HU, mean, strict=True)))
        wanted = "brighter" if np.mean(grads) < 0 else "darker"
        print(f"  adversarial gradient in the translated lumen: {np.mean(grads):+.1e} "
              f"(wants {wanted}; per slice {''.join('-' if g < 0 else '+' for g in grads)})")
        per_tissue = tissue_gradients(model, to_model, source, labels, src, dst, size)
        print("  mean adversarial gradient per tissue over random in-body patches (x1e4, "
              "negative = pushed brighter): " + ", ".join(
                  f"{names[t]} {g:+.1f}" for t, g in per_tissue))


def tissue_gradients(model, to_model, source: np.ndarray, labels: np.ndarray, src: str,
                     dst: str, size: int, per_slice: int = 12, seed: int = 0
                     ) -> list[tuple[int, float]]:
    """(label, mean dLoss_G/dx x 1e4) per tissue, largest magnitude first."""
    rng = np.random.default_rng(seed)
    half = size // 2
    sums: dict[int, list[float]] = {}
    for z in range(0, labels.shape[0], 2):
        body = np.argwhere(labels[z] > 0)
        for _ in range(per_slice if body.size else 0):
            cy, cx = body[rng.integers(len(body))]
            cy = min(max(int(cy), half), labels.shape[1] - half)
            cx = min(max(int(cx), half), labels.shape[2] - half)
            win = (slice(cy - half, cy + half), slice(cx - half, cx + half))
            with torch.no_grad():
                fake = model.translate(to_model(source[z][win]), src, dst)
            fake.requires_grad_(True)
            (grad,) = torch.autograd.grad(((model.judge(dst, fake) - 1) ** 2).mean(), fake)
            g, lab = grad[0, 0].numpy(), labels[z][win]
            for t in np.unique(lab):
                acc = sums.setdefault(int(t), [0.0, 0.0])
                acc[0] += float(g[lab == t].sum())
                acc[1] += float((lab == t).sum())
    means = [(t, 1e4 * total / n) for t, (total, n) in sums.items() if n]
    return sorted(means, key=lambda tg: -abs(tg[1]))


if __name__ == "__main__":
    main()
