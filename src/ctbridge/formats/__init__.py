"""Labelled segmentation data sets on disk, as the tools that train segmenters lay them out.

``cases`` (a data set as a list of labelled cases), ``geometry`` (image/label grid checks),
``nnunet`` (nnU-Net v2 raw data sets and their rules), ``decathlon`` (Medical Segmentation
Decathlon / MONAI datalists). No networks here: the synthesis loop that fills such data sets
with translated cases is :mod:`ctbridge.datasets`, the phantom's export uses these writers too.
"""
