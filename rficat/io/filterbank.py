"""Filterbank files (.fil Sigproc, .h5 Breakthrough Listen HDF5) read as coarse channels.

The only module that knows file formats. It never loads a whole file: data is read one
coarse channel at a time (a GBT high-resolution file is ~3e8 channels x 16 integrations,
~19 GB), through ``numpy.memmap`` for .fil and dataset slicing for .h5.

Coarse-channel width, in order of precedence:
1. the header's ``nfpc`` (fine channels per coarse channel), when the file has one;
2. the caller's setting (``--coarse-channel-width`` / ``RFICAT_COARSE_CHANNEL_WIDTH``);
3. the GBT rule: coarse channels are 2.9296875 MHz wide, so ``round(2.9296875 MHz / |foff|)``
   fine channels (2^20 for the 2.79 Hz high-resolution product); a file narrower than one
   coarse channel (a cut-out, such as setigen's sample of real GBT data: 1024 channels of
   1.4 Hz) is treated as a single coarse channel, and ``coarse_channel_fraction`` says how much
   of a real one it spans (detection then fits a simpler bandpass: a cut-out has no PFB
   roll-off to follow).

Time axis: snippets have 16 time bins. Files with more integrations are binned by averaging
every integration into 16 consecutive groups (sizes differ by at most one: 31 integrations are
15 pairs and one single, none dropped); files with fewer repeat each integration
(nearest-neighbour) up to 16. Each :class:`Block` carries the centre time of its bins, so drift
rates are measured against the time the bins really span, whatever the integration count.
Non-finite samples (NaN, inf) are left out of a bin's mean; a bin with no finite sample is NaN,
which detection masks.

Headers: every field a real file carries is kept, JSON-able, in ``FilterbankHeader.raw``
(bytes as text, numpy scalars as numbers, non-finite numbers as null). Sky positions follow the
Breakthrough Listen .h5 convention there (``src_raj`` in hours, ``src_dej`` in degrees; blimpy
hands .fil positions over as astropy ``Angle``s) and are given in degrees as ``ra_deg`` /
``dec_deg``. A header whose values make no sense (``nchans``, ``tsamp`` or ``foff`` not
positive or not finite, an .h5 whose ``data`` is not a 3-d dataset, a truncated file) is refused
with one line naming the file and the problem.
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
    coarse_channel_fraction: float = 1.0  # of a real coarse channel one block spans (< 1: a cut-out)
    ra_deg: float | None = None  # right ascension of the pointing, degrees (header src_raj)
    dec_deg: float | None = None  # declination of the pointing, degrees (header src_dej)
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
    """A header value as JSON can hold it: text, numbers, lists (no NaN, no astropy units)."""
    if hasattr(value, "unit") and hasattr(value, "value"):  # astropy Angle / Quantity: its own unit
        return _jsonable(value.value)
    if isinstance(value, bytes):
        return value.decode(errors="replace").rstrip("\x00")
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()] if value.ndim else _jsonable(value.item())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _angle_deg(value: Any, hours: bool) -> float | None:
    """An RA (``hours=True``) or Dec header value in degrees: an astropy Angle, a number in the
    BL .h5 convention (RA hours, Dec degrees), or sexagesimal text; None when absent or unreadable."""
    if value is None:
        return None
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        try:
            return float(value.to_value("deg"))
        except Exception:  # noqa: BLE001 - a unit that is not an angle
            return None
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        from astropy.coordinates import Angle

        try:
            return float(Angle(value.strip(), unit="hourangle" if hours else "deg").deg)
        except Exception:  # noqa: BLE001 - astropy raises several types for bad text
            return None
    try:
        number = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        return None
    if not np.isfinite(number):
        return None
    return number * 15.0 if hours else number


def _show(value: Any) -> str:
    """A header value for an error message: numbers as numbers, text quoted."""
    if isinstance(value, (np.generic, np.ndarray)) and np.asarray(value).size == 1:
        value = np.asarray(value).reshape(-1)[0].item()
    return repr(value.decode(errors="replace") if isinstance(value, bytes) else value)


def _positive(path: Path, raw: dict[str, Any], key: str, *, integer: bool = False, default: Any = None,
              nonzero: bool = False) -> float:
    """A header number that must be finite and positive (``nonzero``: finite and not 0)."""
    value = raw.get(key, default)
    if value is None:
        raise RficatError(f"{path}: header lacks {key!r}")
    try:
        number = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise RficatError(f"{path}: header {key} is {_show(value)}, not a number") from None
    bad = not np.isfinite(number) or (number == 0 if nonzero else number <= 0)
    if integer and not bad and number != int(number):
        bad = True
    if bad:
        need = "a non-zero number" if nonzero else "a positive integer" if integer else "a positive number"
        raise RficatError(f"{path}: header {key} is {_show(value)}; it must be {need}")
    return int(number) if integer else number


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
    n_bad_samples: int = 0  # samples of the file (before binning) that are NaN or infinite


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
        if not isinstance(data, h5py.Dataset):
            raise RficatError(f"{self.path}: 'data' is an HDF5 {type(data).__name__.lower()}, not a dataset "
                              "of (time, if, channel) samples")
        if data.ndim != 3:
            raise RficatError(f"{self.path}: data has shape {data.shape}, expected (time, if, channel)")
        if data.dtype.kind not in "fiu":
            raise RficatError(f"{self.path}: data holds {data.dtype} values, not numbers")
        self._data = data
        try:
            self._values = dict(data.attrs.items())
        except OSError as exc:
            raise RficatError(f"{self.path}: unreadable header attributes ({exc})") from exc
        self._nfpc = self._values.get("nfpc")
        self._shape = data.shape

    def _open_fil(self) -> None:
        from blimpy.io.sigproc import len_header, read_header

        try:
            raw = read_header(str(self.path))
            offset = len_header(str(self.path))
        except Exception as exc:  # noqa: BLE001 - blimpy raises bare Exceptions of many types
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RficatError(f"{self.path}: not a readable Sigproc filterbank file ({detail})") from exc
        self._values = raw
        nbits = _positive(self.path, raw, "nbits", integer=True, default=32)
        if nbits not in _FIL_DTYPES:
            raise RficatError(f"{self.path}: {nbits}-bit samples are not supported (8, 16 or 32)")
        dtype = np.dtype(_FIL_DTYPES[nbits])
        n_chans = _positive(self.path, raw, "nchans", integer=True)
        n_ifs = _positive(self.path, raw, "nifs", integer=True, default=1)
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
        values = self._values
        raw = {str(k): _jsonable(v) for k, v in values.items()}
        fch1 = _positive(self.path, values, "fch1", nonzero=True)
        foff = _positive(self.path, values, "foff", nonzero=True)
        tsamp = _positive(self.path, values, "tsamp")
        n_ints, n_ifs, n_chans = (int(v) for v in self._shape)
        if n_ints <= 0 or n_ifs <= 0 or n_chans <= 0:
            raise RficatError(f"{self.path}: data has shape {tuple(self._shape)}: no samples")
        nfpc = self._nfpc
        if nfpc is not None:
            nfpc = _positive(self.path, values, "nfpc", integer=True)
        width = resolve_coarse_channel_width(n_chans, foff, nfpc, coarse_channel_width, self.path)
        fraction = 1.0
        if not nfpc and not coarse_channel_width:  # the GBT rule: capped at the file for a cut-out
            fraction = min(1.0, width * abs(foff) / GBT_COARSE_CHANNEL_MHZ)
        telescope_id = raw.get("telescope_id")
        source = raw.get("source_name")
        tstart = raw.get("tstart")
        return FilterbankHeader(
            path=self.path,
            source_name=(str(source).strip() or None) if source is not None else None,
            telescope=TELESCOPES.get(int(telescope_id)) if isinstance(telescope_id, (int, float)) else None,
            mjd_start=float(tstart) if isinstance(tstart, (int, float)) else None,
            fch1_mhz=fch1,
            foff_mhz=foff,
            tsamp_s=tsamp,
            n_channels=n_chans,
            n_ifs=n_ifs,
            n_integrations=n_ints,
            coarse_channel_width=width,
            coarse_channel_fraction=fraction,
            ra_deg=_angle_deg(values.get("src_raj"), hours=True),
            dec_deg=_angle_deg(values.get("src_dej"), hours=False),
            raw=raw,
        )

    def read_channels(self, start: int, stop: int, coarse_channel: int = -1) -> Block:
        """Channels [start, stop) of the first IF, binned to 16 time bins, as float32."""
        try:
            raw = np.array(self._data[:, 0, start:stop], dtype=np.float32)
        except (OSError, ValueError) as exc:
            raise RficatError(f"{self.path}: cannot read channels {start}-{stop}: {exc}") from exc
        data, times = bin_time(raw, self.header.tsamp_s)
        return Block(data, start, times, coarse_channel, count_bad_samples(raw, self._data.dtype))

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
        counts = np.diff(edges)[:, None]
        if not np.isfinite(sums).all():  # leave bad integrations (NaN, inf) out of their bin's mean
            finite = np.isfinite(block)
            sums = np.add.reduceat(np.where(finite, block, 0.0), edges[:-1], axis=0, dtype=np.float64)
            counts = np.add.reduceat(finite, edges[:-1], axis=0, dtype=np.int64)
            with np.errstate(invalid="ignore", divide="ignore"):
                return (sums / counts).astype(np.float32), centres  # 0 / 0: NaN, no finite sample
        return (sums / counts).astype(np.float32), centres
    index = np.arange(n_bins) * n // n_bins
    return block[index], (index + 0.5) * tsamp_s


def count_bad_samples(raw: np.ndarray, dtype: np.dtype) -> int:
    """How many samples are NaN or infinite (integer files have none; one cheap pass otherwise)."""
    if np.dtype(dtype).kind != "f" or np.isfinite(raw.sum()):  # float32 overflow only takes the exact path
        return 0
    return int(raw.size - np.count_nonzero(np.isfinite(raw)))


def read_header(path: str | os.PathLike, coarse_channel_width: int | None = None) -> FilterbankHeader:
    """Read only the header (no data) of a filterbank file."""
    with FilterbankReader(path, coarse_channel_width) as reader:
        return reader.header
