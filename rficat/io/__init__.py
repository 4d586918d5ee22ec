"""Filterbank files: the only layer that knows file formats (.fil Sigproc, .h5 BL HDF5).

Public: ``FilterbankReader`` (streams coarse-channel blocks), ``read_header``,
``FilterbankHeader``, ``open_writer``, ``fingerprint``, ``observation_files``; hit tables of other
pipelines (turboSETI, hyperseti, plain CSV): ``read_hits``, ``HitRow``.
"""

from rficat.io.files import FILE_SUFFIXES, fingerprint, observation_files
from rficat.io.filterbank import (
           Block,
           FilterbankHeader,
           FilterbankReader,
           bin_time,
           read_header,
)
from rficat.io.hits import HitRow, read_hits
from rficat.io.writers import open_writer

__all__ = ["FILE_SUFFIXES", "Block", "FilterbankHeader", "FilterbankReader", "HitRow", "bin_time", "fingerprint",
           "observation_files", "open_writer", "read_header", "read_hits"]
