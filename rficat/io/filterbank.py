"""Filterbank files (.fil Sigproc, .h5 Breakthrough Listen HDF5) read as coarse channels.

The only module that knows file formats. It never loads a whole file: data is read one
coarse channel at a time (a GBT high-resolution file is ~3e8 channels x 16 integrations,
~19 GB), through ``numpy.memmap`` for .fil and dataset slicing for .h5.

Coarse-channel width, in order of precedence:
1. the header's ``nfpc`` (fine channels per coarse channel), when the file has one;
2. the caller's setting (``--coarse-channel-width`` / ``RFICAT_COARSE_CHANNEL_WIDTH``);
3. the GBT rule: coarse channels are 2.9296875 MHz wide, so ``round(2.9296875 MHz / |foff|)``
   fine channels (2^20 for the 2.79 Hz high-resolution product); a file narrower than one
   coarse channel (a cut-out) is treated as a single coarse channel.

Time axis: snippets have 16 time bins. Files with more integrations are binned by averaging
every integration into 16 consecutive groups (sizes differ by at most one: 31 integrations are
15 pairs and one single, none dropped); files with fewer repeat each integration
(nearest-neighbour) up to 16. Each :class:`Block` carries the centre time of its bins, so drift
rates are measured against the time the bins really span, whatever the integration count.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rficat.errors import RficatError

log = logging.getLogger(__name__)

N_TIME_BINS = 16
GBT_COARSE_CHANNEL_MHZ = 2.9296875
MIN_COARSE_CHANNEL_WIDTH = 256

TELESCOPES = {0: "Fake", 1: "Arecibo", 3: "Nancay", 4: "Parkes", 5: "Jodrell", 6: "GBT",
              8: "Effelsberg", 9: "ATA", 10: "SRT", 11: "LOFAR", 12: "VLA", 20: "CHIME",
              21: "FAST", 64: "MeerKAT", 65: "KAT-7"}

_FIL_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.float32}


@dataclass(frozen=True)
class FilterbankHeader:
    """What the pipeline needs from a file header, in explicit units."""

    path: Path
    source_name: str | None
    telescope: str | None
    mjd_start: float | None
    fch1_mhz: float
    foff_mhz: float
    tsamp_s: float
    n_channels: int
    n_ifs: int
    n_integrations: int
    coarse_channel_width: int
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def n_coarse_channels(self) -> int:
        return self.n_channels // self.coarse_channel_width

    @property
    def channel_width_hz(self) -> float:
        return abs(self.foff_mhz) * 1e6

    @property
    def f_min_mhz(self) -> float:
        return min(self.fch1_mhz, self.frequency_mhz(self.n_channels - 1))

    @property
    def f_max_mhz(self) -> float:
        return max(self.fch1_mhz, self.frequency_mhz(self.n_channels - 1))

    def frequency_mhz(self, channel: np.ndarray | float) -> np.ndarray | float:
        """Frequency of a (possibly fractional) file channel index."""
        return self.fch1_mhz + self.foff_mhz * np.asarray(channel, dtype=np.float64)

    def channel_of(self, f_mhz: float) -> float:
        return (f_mhz - self.fch1_mhz) / self.foff_mhz

    @property
    def obs_length_s(self) -> float:
        return self.tsamp_s * self.n_integrations


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def resolve_coarse_channel_width(n_channels: int, foff_mhz: float, header_nfpc: int | None,
                                 setting: int | None, path: Path) -> int:
    if header_nfpc:
        width = int(header_nfpc)
    elif setting:
        width = int(setting)
    else:
        width = int(round(GBT_COARSE_CHANNEL_MHZ / abs(foff_mhz)))
        if width > n_channels:
            width = n_channels
    if width < MIN_COARSE_CHANNEL_WIDTH:
        raise RficatError(
            f"{path}: {width} channels per coarse channel, fewer than the {MIN_COARSE_CHANNEL_WIDTH} a "
            "snippet needs (set --coarse-channel-width if the header is wrong)"
        )
    if n_channels % width:
        log.warning("%s: %d channels is not a whole number of %d-channel coarse channels; "
                    "the last %d channels are ignored", path, n_channels, width, n_channels % width)
    return width


@dataclass
class Block:
    """Channels of the first IF binned to 16 time bins, with the times those bins stand for."""

    data: np.ndarray  # (16, n_channels) float32
    chan_start: int  # file channel index of column 0
    bin_times_s: np.ndarray  # (16,) centre of each bin, seconds since the file's first sample
    coarse_channel: int = -1


class FilterbankReader:
    """Open a .fil or .h5 file and stream it coarse channel by coarse channel."""

    def __init__(self, path: str | os.PathLike, coarse_channel_width: int | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise RficatError(f"{self.path}: no such file")
        if not self.path.is_file():
            raise RficatError(f"{self.path}: not a file")
        suffix = self.path.suffix.lower()
        if suffix in (".h5", ".hdf5"):
            self._open_h5()
        elif suffix == ".fil":
            self._open_fil()
        else:
            raise RficatError(f"{self.path}: unknown file type {suffix!r} (expected .fil or .h5)")
        self.header = self._make_header(coarse_channel_width)

    # -- format specifics --------------------------------------------------------------------

    def _open_h5(self) -> None:
        import h5py
        import hdf5plugin  # noqa: F401  (registers bitshuffle/LZ4 filters used by GBT files)

        try:
            self._h5 = h5py.File(self.path, "r")
            data = self._h5["data"]
        except (OSError, KeyError) as exc:
            raise RficatError(f"{self.path}: not a readable filterbank HDF5 file ({exc})") from exc
        if data.ndim != 3:
            raise RficatError(f"{self.path}: data has shape {data.shape}, expected (time, if, channel)")
        self._data = data
        self._raw = {k: _jsonable(v) for k, v in data.attrs.items()}
        self._nfpc = self._raw.get("nfpc")
        self._shape = data.shape

    def _open_fil(self) -> None:
        from blimpy.io.sigproc import len_header, read_header

        try:
            raw = read_header(str(self.path))
            offset = len_header(str(self.path))
        except Exception as exc:  # noqa: BLE001 - blimpy raises bare Exceptions of many types
            raise RficatError(f"{self.path}: not a readable Sigproc filterbank file ({exc})") from exc
        self._raw = {k: _jsonable(v) for k, v in raw.items()}
        nbits = int(raw.get("nbits", 32))
        if nbits not in _FIL_DTYPES:
            raise RficatError(f"{self.path}: {nbits}-bit samples are not supported (8, 16 or 32)")
        dtype = np.dtype(_FIL_DTYPES[nbits])
        n_chans, n_ifs = int(raw["nchans"]), int(raw.get("nifs", 1))
        frame = n_chans * n_ifs * dtype.itemsize
        n_bytes = self.path.stat().st_size - offset
        if n_bytes < frame:
            raise RficatError(f"{self.path}: no complete integration after the header (file truncated?)")
        if n_bytes % frame:
            raise RficatError(
                f"{self.path}: truncated: {n_bytes} data bytes is not a whole number of "
                f"{frame}-byte integrations"
            )
        self._shape = (n_bytes // frame, n_ifs, n_chans)
        self._data = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=self._shape)
        self._nfpc = None

    # -- common --------------------------------------------------------------------------------

    def _make_header(self, coarse_channel_width: int | None) -> FilterbankHeader:
        raw = self._raw
        try:
            fch1, foff, tsamp = float(raw["fch1"]), float(raw["foff"]), float(raw["tsamp"])
        except KeyError as exc:
            raise RficatError(f"{self.path}: header lacks {exc.args[0]!r}") from exc
        if foff == 0 or not np.isfinite(foff):
            raise RficatError(f"{self.path}: header foff is {foff}")
        n_ints, n_ifs, n_chans = (int(v) for v in self._shape)
        telescope_id = raw.get("telescope_id")
        return FilterbankHeader(
            path=self.path,
            source_name=(str(raw["source_name"]).strip() or None) if "source_name" in raw else None,
            telescope=TELESCOPES.get(int(telescope_id)) if telescope_id is not None else None,
            mjd_start=float(raw["tstart"]) if "tstart" in raw else None,
            fch1_mhz=fch1,
            foff_mhz=foff,
            tsamp_s=tsamp,
            n_channels=n_chans,
            n_ifs=n_ifs,
            n_integrations=n_ints,
            coarse_channel_width=resolve_coarse_channel_width(
                n_chans, foff, self._nfpc, coarse_channel_width, self.path),
            raw=raw,
        )

    def read_channels(self, start: int, stop: int, coarse_channel: int = -1) -> Block:
        """Channels [start, stop) of the first IF, binned to 16 time bins, as float32."""
        try:
            raw = np.array(self._data[:, 0, start:stop], dtype=np.float32)
        except (OSError, ValueError) as exc:
            raise RficatError(f"{self.path}: cannot read channels {start}-{stop}: {exc}") from exc
        data, times = bin_time(raw, self.header.tsamp_s)
        return Block(data, start, times, coarse_channel)

    def coarse_channels(self, start: int = 0, stop: int | None = None) -> Iterator[Block]:
        """Yield one :class:`Block` per coarse channel, one at a time."""
        width = self.header.coarse_channel_width
        stop = self.header.n_coarse_channels if stop is None else min(stop, self.header.n_coarse_channels)
        for index in range(start, stop):
            yield self.read_channels(index * width, (index + 1) * width, index)

    def close(self) -> None:
        if hasattr(self, "_h5"):
            self._h5.close()
        self._data = None

    def __enter__(self) -> FilterbankReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bin_time(block: np.ndarray, tsamp_s: float, n_bins: int = N_TIME_BINS) -> tuple[np.ndarray, np.ndarray]:
    """A (time, channel) block as ``n_bins`` time bins, and each bin's centre time in seconds.

    Every integration is used (see the module docstring); the centre times are what drift
    rates must be fitted against.
    """
    n = block.shape[0]
    if n >= n_bins:
        edges = np.rint(np.arange(n_bins + 1) * n / n_bins).astype(np.int64)
        centres = (edges[:-1] + edges[1:]) / 2 * tsamp_s
        if n == n_bins:
            return block, centres
        sums = np.add.reduceat(block, edges[:-1], axis=0, dtype=np.float64)
        return (sums / np.diff(edges)[:, None]).astype(np.float32), centres
    index = np.arange(n_bins) * n // n_bins
    return block[index], (index + 0.5) * tsamp_s


def read_header(path: str | os.PathLike, coarse_channel_width: int | None = None) -> FilterbankHeader:
    """Read only the header (no data) of a filterbank file."""
    with FilterbankReader(path, coarse_channel_width) as reader:
        return reader.header
