"""Labelled segmentation data sets on disk, and synthetic-phase copies of them.

The people who need a second phase train segmenters with nnU-Net or MONAI; this package reads
and writes their data set formats and builds the synthetic training set (``ctbridge
synthesize``) through one per-case loop that the downstream experiments use as well.

Modules: ``cases`` (a data set as a list of labelled cases), ``geometry`` (image/label grid
checks), ``nnunet`` (nnU-Net v2 raw data sets and their rules), ``decathlon`` (Medical
Segmentation Decathlon / MONAI datalists), ``splits`` (cross-validation folds that keep a
synthetic case with its source), ``manifest`` (the per-case record that makes runs
resumable), ``fingerprint`` (content hashes), ``synthesize`` (the per-case loop) and ``build``
(a whole data set in, a whole data set out).
"""
