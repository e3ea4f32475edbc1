#!/usr/bin/env bash
# The paper's two downstream tables, end to end, on the 2-core CPU (docs/results.md).
#
#   bash scripts/paper_tables.sh [OUT=runs/tables] [FOLDS=5]
#
# 1. Two phantom cohorts at the paper's resolution (512 px, 0.7 mm): 24 experiment patients
#    (seed 0) and 24 other patients (seed 1) that only the translators see.
# 2. The three translators (CycleGAN, UNIT, GMM-UNIT) at each kind's defaults, `cpu-quality`
#    (about 30 min each), trained on the translator cohort.
# 3. `ctbridge experiment plaque` and `pancreas` with FOLDS folds, every row on the same folds.
#
# Every step resumes: a finished phantom, translator, or (row, fold) is not redone, so the
# script can be stopped and started again, or run in parts (STEPS=translators, STEPS=plaque...).
# Every job uses one thread, so on 2 cores run two streams (2.5 h here, against ~4.3 h in one):
#   STEPS=phantoms bash scripts/paper_tables.sh
#   OMP_NUM_THREADS=1 STEPS=translators bash scripts/paper_tables.sh &   # ~100 min
#   STEPS=plaque bash scripts/paper_tables.sh   # baseline and oracle rows while they train
# and run STEPS=plaque again, then STEPS=pancreas, as translators finish: each run adds the
# rows of the translators finished by then.
set -euo pipefail
OUT=${1:-runs/tables}
FOLDS=${2:-5}
STEPS=${STEPS:-phantoms,translators,plaque,pancreas}
CTB=${CTB:-.venv/bin/ctbridge}
PHANTOM=(--patients 24 --size 512 --slices 24 --phases nc,arterial --plaques-max 30)
mkdir -p "$OUT"
has() { [[ ",$STEPS," == *",$1,"* ]]; }
stamp() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$OUT/tables.log"; }

if has phantoms; then
  for cohort in experiment:0 translators:1; do
    name=${cohort%%:*}; seed=${cohort##*:}
    if [[ ! -f "$OUT/phantom_$name/dataset.json" ]]; then
      stamp "phantom $name (seed $seed)"
      "$CTB" phantom -o "$OUT/phantom_$name" --seed "$seed" "${PHANTOM[@]}"
    fi
  done
fi

if has translators; then
  for kind in gmm_unit unit cyclegan; do
    run="$OUT/translators/$kind"
    resume=()
    [[ -e "$run/checkpoints/latest" ]] && resume=(--resume)
    stamp "train $kind (cpu-quality)"
    "$CTB" train --config "$kind" --preset cpu-quality --data "$OUT/phantom_translators" \
      --out "$run" "${resume[@]}"
  done
fi

# only finished translators: the others' rows are listed as not run, and a later run of this
# script (the experiment resumes) adds them
finished=()
for kind in gmm_unit unit cyclegan; do
  if grep -qs "INFO trained" "$OUT/translators/$kind/train.log"; then
    finished+=(--translator "$kind=$OUT/translators/$kind")
  else
    stamp "translator $kind not finished: its rows are left for a later run"
  fi
done

# the paper's order, each step of it, and how far from the oracle
COMPARE='[[gmm_unit,baseline],[gmm_unit,unit],[unit,cyclegan],[cyclegan,baseline],[oracle,gmm_unit]]'

for exp in plaque pancreas; do
  if has "$exp"; then
    stamp "experiment $exp ($FOLDS folds)"
    "$CTB" experiment "$exp" --data "$OUT/phantom_experiment" --out "$OUT/$exp" \
      --preset cpu-tables --set "folds=$FOLDS" --set "cache_dir=$OUT/synthetic" \
      --set "comparisons=$COMPARE" "${finished[@]}"
    stamp "experiment $exp done"
  fi
done
