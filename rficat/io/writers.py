"""Writing filterbank files (.h5 in the Breakthrough Listen layout, .fil Sigproc).

rficat's synthetic observations are written here, so file formats stay in ``rficat.io``.
Writers take data one block of channels at a time: a multi-GB file never sits in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rficat.errors import RficatError


def open_writer(path: str | os.PathLike, header: dict, n_integrations: int, n_channels: int, *,
                nfpc: int | None = None, compression: str | None = None):
    """A writer for a (n_integrations, 1, n_channels) float32 file, chosen by the suffix.

    ``header`` holds Sigproc keys (``fch1``, ``foff`` in MHz, ``tsamp`` in s, ...).
    ``compression="bitshuffle"`` writes a bitshuffle-compressed .h5 like the GBT archive's.
    """
    path = Path(path)
    shape = (n_integrations, 1, n_channels)
    if path.suffix.lower() in (".h5", ".hdf5"):
        return _H5Writer(path, header, shape, nfpc, compression)
    if path.suffix.lower() == ".fil":
        return _FilWriter(path, header, shape)
    raise RficatError(f"{path}: unknown file type {path.suffix!r} (expected .fil or .h5)")


class _H5Writer:
    def __init__(self, path: Path, header: dict, shape: tuple[int, int, int], nfpc: int | None,
                 compression: str | None):
        import h5py
        import hdf5plugin

        self.file = h5py.File(path, "w")
        self.file.attrs["CLASS"] = "FILTERBANK"
        self.file.attrs["VERSION"] = "1.0"
        kwargs = {}
        if compression == "bitshuffle":
            kwargs = dict(hdf5plugin.Bitshuffle(cname="lz4"))
        chunk = (shape[0], 1, min(nfpc or shape[2], 1 << 16, shape[2]))
        self.data = self.file.create_dataset("data", shape=shape, dtype="float32", chunks=chunk, **kwargs)
        # sky position as GBT .h5 files carry it (degrees); turboSETI refuses files without one
        attrs = {"src_raj": 0.0, "src_dej": 0.0, **header}
        if nfpc:
            attrs["nfpc"] = nfpc
        for key, value in attrs.items():
            self.data.attrs[key] = value

    def write(self, lo: int, data: np.ndarray) -> None:
        self.data[:, 0, lo:lo + data.shape[1]] = data

    def close(self) -> None:
        self.file.close()


class _FilWriter:
    def __init__(self, path: Path, header: dict, shape: tuple[int, int, int]):
        from blimpy.io.sigproc import to_sigproc_keyword

        raw = b"".join(to_sigproc_keyword(key, value) for key, value in header.items())
        raw = to_sigproc_keyword("HEADER_START") + raw + to_sigproc_keyword("HEADER_END")
        with path.open("wb") as handle:
            handle.write(raw)
            handle.truncate(len(raw) + int(np.prod(shape)) * 4)
        self.data = np.memmap(path, dtype="<f4", mode="r+", offset=len(raw), shape=shape)

    def write(self, lo: int, data: np.ndarray) -> None:
        self.data[:, 0, lo:lo + data.shape[1]] = data

    def close(self) -> None:
        self.data.flush()
        del self.data
