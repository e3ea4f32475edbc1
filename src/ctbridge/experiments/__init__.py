"""Workflows that train and score: the layer above training, inference and evaluation.

``demo`` (`ctbridge demo`), ``select_k`` (K chosen on a validation fold by the downstream task),
``validation`` (a translator scored on held-out patients), ``downstream`` (the paper's Tables 1
and 2: segmenters trained with and without synthetic phases).
"""
