"""Readers: one per on-disk layout, each turning a sample into the same typed :class:`PersonSample`.

Each format's layout, reader, detection rule and exporter live in its module under ``data/formats/`` (what readers
share in ``formats/base.py``); :data:`FORMATS` and :func:`make_reader` go through the registry of formats
(``formats/registry.py``).

=============  =========================================  ==================  ===================================
format         layout (as downloaded)                     default label map   DensePose on disk
=============  =========================================  ==================  ===================================
``canonical``  VITON-HD, and the synthetic engine's set   ``cihp``            IUV bytes (``densepose_files: iuv``,
               (also ``vitonhd``)                                             ``iuv_bgr``, ``parts``) or VITON-HD's
                                                                              colour rendering (``rendering``)
``dresscode``  DressCode, one category, several or all    ``atr18``           part index + ``uv`` npz
``viton``      VITON 256 x 192 as PF-AFN ships it         ``acgpn14``         part index ``.npy`` only
``cpvton``     CP-VTON's ``data/`` folder                 ``lip``             none shipped (add ``image-densepose``)
``gpvton``     GP-VTON's VITON-HD or DressCode release    ``gpvton29``        grey part index only
=============  =========================================  ==================  ===================================

Each reader also gives the data set's own evaluation lists (:meth:`Reader.official_pairs`): the data module uses them
for the paired and unpaired protocols where they exist.
"""

from __future__ import annotations

from garment_transfer.data.formats import registry
from garment_transfer.data.formats.base import DENSEPOSE_FILES, PairList, RawPerson, Reader
from garment_transfer.data.formats.files import FilesReader

__all__ = ["DENSEPOSE_FILES", "FORMATS", "FilesReader", "PairList", "RawPerson", "Reader", "make_reader"]

FORMATS = registry.NAMES


def make_reader(format: str, root, **options) -> Reader:
    """The reader of ``format`` (one of :data:`FORMATS`) for ``root``; ``options`` go to its constructor."""
    return registry.get(format).reader(root, **options)
