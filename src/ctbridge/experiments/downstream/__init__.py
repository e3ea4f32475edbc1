"""The paper's downstream experiments (Tables 1 and 2) on phantom cohorts.

* ``plaque``: 2D calcified-plaque segmentation trained on NC (+ synthetic CE), tested on NC and
  CE (:mod:`~ctbridge.experiments.downstream.plaque`);
* ``pancreas``: 3D pancreas segmentation trained on CE (+ synthetic NC), tested on CE and NC
  (:mod:`~ctbridge.experiments.downstream.pancreas`).

Shared parts: ``config`` (typed configs), ``cohort`` (phantom cohort, patient-disjoint folds),
``synthetic`` (translating a cohort once, cached), ``metrics`` (per-lesion and voxel scores),
``sizes`` (plaque scores by plaque size), ``results`` (results.json/.csv and the Markdown
tables), ``statistics`` (paired comparisons: bootstrap over patients, Wilcoxon over folds),
``figure`` (results.png), ``planning`` (the rows), ``experiment`` (what an experiment defines),
``store`` (volumes, quality control), ``resume`` (reusing finished folds), ``runner`` (the row x
fold loop), ``segmenter`` (the MONAI U-Net trained and applied in every row). Submodules are
imported on use so that importing the package stays cheap.
"""

from __future__ import annotations
