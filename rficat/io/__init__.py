"""Filterbank files: the only layer that knows file formats (.fil Sigproc, .h5 BL HDF5).

Public: ``FilterbankReader`` (streams coarse-channel blocks), ``read_header``,
``FilterbankHeader``, ``open_writer``, ``fingerprint`` (whole-file xxh3-128), ``FileStat``
(path, size, mtime), ``observation_files``. Hit tables of other
pipelines (turboSETI, hyperseti, plain CSV): ``read_hits``, ``HitRow``.
"""

from rficat.io.files import (
           FILE_SUFFIXES,
           FINGERPRINT_KIND,
           SAMPLED_KIND,
           FileStat,
           fingerprint,
           observation_files,
           sampled_fingerprint,
)
from rficat.io.filterbank import (
           Block,
           FilterbankHeader,
           FilterbankReader,
           bin_time,
           read_header,
)
from rficat.io.hits import HitRow, read_hits
from rficat.io.writers import open_writer

__all__ = ["FILE_SUFFIXES", "FINGERPRINT_KIND", "SAMPLED_KIND", "Block", "FileStat", "FilterbankHeader",
           "FilterbankReader", "HitRow", "bin_time", "fingerprint", "observation_files", "open_writer", "read_header",
           "read_hits", "sampled_fingerprint"]
