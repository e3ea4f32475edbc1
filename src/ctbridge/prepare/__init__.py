"""`ctbridge prepare`: a hospital DICOM export in, phase-sorted training data out.

The steps, one module each::

    index     walk the tree, read every file's header once (no pixels), note unreadable files
    series    group files by SeriesInstanceUID, keep what can be a training scan, say why not
    decide    combine the three kinds of evidence; disagreement or silence -> unsorted
    run       read the kept series, write NIfTI per domain, manifest.csv, contact sheets

The three kinds of evidence live in ``ctbridge.data`` so that ``translate`` and ``synthesize``
check a scan's phase with the same code (:mod:`ctbridge.inference.phase_guard`):
``phase_keywords`` (SeriesDescription / ProtocolName, English and German, word boundaries),
``contrast_tags`` (agent, route, bolus start vs acquisition time) and ``aorta_contrast`` (an
enhanced aorta beside the vertebral body, or not), combined by ``phase_evidence``.

Nothing is guessed silently: every series gets a row in ``manifest.csv`` with the evidence of
each kind, which kind decided, or why it was skipped or left unsorted.
"""
