"""Datasets: a table of samples (image, label, subject) and a fingerprint.

``load_dataset(SPEC)`` reads a dataset from one of the registered sources:

============  ====================================================================
``synthetic``  the built-in synthetic faces (20 people × 7 expressions × 5 images)
``folder:P``   one sub-folder per class (``P/happy/001.png``); no subject ids
``manifest:F`` a CSV with columns ``path,label`` and optionally ``subject``, ``split``
``jaffe:P``    original JAFFE names, ``KA.AN1.39.tiff`` (person ``KA``, anger)
``ckplus:P``   CK+48 layout, ``P/<class>/S005_001_00000011.png`` (person ``S005``)
``kdef:P``     KDEF names, ``AF01ANS.JPG`` (session A, person F01, afraid, straight)
``fer2013:P``  FER2013's CSV (``emotion,pixels,Usage``) or its ``train|test/<class>`` export; official split
``rafdb:P``    RAF-DB basic (``EmoLabel/list_patition_label.txt``, ``Image/aligned``); official split
============  ====================================================================

Options follow a ``?``: ``synthetic?subjects=40&per_expression=5&size=128&seed=1``,
``kdef:/data/KDEF?poses=S,HL``, ``manifest:labels.csv?encoding=cp1250``. See
:data:`SOURCES` and ``fer-bench datasets``.

A source with a split of its own (fer2013, rafdb, a manifest's ``split`` column) fills a
``split`` column (train / val / test) that ``--protocol holdout`` uses; it is part of the
fingerprint. Every file-based source decodes with :func:`~fer_bench.datasets.base.decode_image`
(EXIF orientation, 16-bit ÷ 257, transparency on black, a size limit), records the files
it skips, and normalises subject ids (:mod:`fer_bench.datasets.sources`).
:mod:`fer_bench.datasets.leakage` counts duplicate images that a split puts on both sides.
"""

from .base import Dataset, decode_image
from .leakage import duplicates_spanning_groups
from .sources import SOURCES, describe_sources, load_dataset

__all__ = ["Dataset", "SOURCES", "decode_image", "describe_sources", "duplicates_spanning_groups", "load_dataset"]
