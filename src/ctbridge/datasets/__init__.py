"""Synthetic-phase copies of labelled data sets (`ctbridge synthesize`).

One per-case loop that the downstream experiments use as well: ``synthesize`` (source case ->
synthetic twin), ``build`` (a whole data set in, a whole data set out), ``splits``
(cross-validation folds that keep a synthetic case with its source), ``manifest`` (the per-case
record that makes runs resumable), ``fingerprint`` (content hashes). The file formats it reads
and writes are :mod:`ctbridge.formats`.
"""
