"""Scores of translations and the reports that show them; nothing here trains.

``image_metrics`` (MAE/PSNR/SSIM in the body), ``plaque_metrics`` (per-plaque recall and
contrast), ``tissue_metrics`` (lumen, fat, texture), ``scan_scores`` (one scan, every metric),
``tables``/``report``/``panels`` (Markdown and figures), ``targets`` (the demo's pass marks).
The workflows that train and then score are in :mod:`ctbridge.experiments`.
"""
