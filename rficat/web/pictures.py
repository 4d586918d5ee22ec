"""The viewer's pictures, as PNG bytes: snippets (fast thumbnails, and with physical axes),
frequency occupancy, and an event's cadence track.

Thumbnails are coloured and encoded with numpy and zlib alone (about a millisecond each), so
a page of lookalikes arrives at once; figures with axes use matplotlib's object API (no
pyplot state, safe in the server's threads). The cadence picture is ``rficat.plots``'s, the one
the CLI draws.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections import OrderedDict
from concurrent.futures import Future

import numpy as np

_LUT: np.ndarray | None = None
_FIGURE_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def _viridis() -> np.ndarray:
    global _LUT
    if _LUT is None:
        from matplotlib import colormaps

        _LUT = (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    return _LUT


def png(rgb: np.ndarray) -> bytes:
    """An (h, w, 3) uint8 image as PNG bytes."""
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def snippet_thumbnail(array: np.ndarray, row_repeat: int = 4) -> bytes:
    """A (16, 256) snippet in [0, 1] as a viridis PNG, 256 x 64 (each time bin 4 rows high)."""
    index = np.clip(np.asarray(array, np.float64) * 255, 0, 255).astype(np.uint8)
    return png(np.repeat(_viridis()[index], row_repeat, axis=0))


def _plain(text: str) -> str:
    """Text from the catalogue shown literally (a '$' would start matplotlib's mathtext)."""
    return str(text).replace("$", r"\$")


def _save(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


class _Frame:
    """Axes drawn once by matplotlib (ticks, labels, colour bar), as RGB pixels; pictures are made
    by pasting coloured data into its plotting area with numpy, a few milliseconds each."""

    def __init__(self, fig, ax):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        self.rgb = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
        box = ax.get_window_extent()
        height = self.rgb.shape[0]
        # inside the spines: rows top to bottom, columns left to right
        self.y0, self.y1 = int(np.ceil(height - box.y1)) + 1, int(np.floor(height - box.y0)) - 1
        self.x0, self.x1 = int(np.ceil(box.x0)) + 1, int(np.floor(box.x1)) - 1

    def paste(self, canvas: np.ndarray, image: np.ndarray, rows: slice | None = None,
              keep: np.ndarray | None = None) -> None:
        """Scale an (h, w, 3) image (nearest neighbour) into ``canvas`` (a copy of ``rgb``) over the
        plotting area, or its ``rows``; pixels where ``keep`` is true (lines drawn by matplotlib) stay."""
        rows = rows or slice(self.y0, self.y1)
        h, w = rows.stop - rows.start, self.x1 - self.x0
        if h <= 0 or w <= 0:
            return
        block = image[np.arange(h) * image.shape[0] // h][:, np.arange(w) * image.shape[1] // w]
        target = canvas[rows, self.x0:self.x1]
        if keep is not None:
            block = np.where(keep[rows, self.x0:self.x1, None], target, block)
        target[...] = block


_FRAMES: dict = {}


def _snippet_frame(shape: tuple[int, int], channel_width_hz: float, time_bin_s: float) -> _Frame:
    key = (shape, round(channel_width_hz, 6), round(time_bin_s, 6))
    if key not in _FRAMES:
        from matplotlib.cm import ScalarMappable
        from matplotlib.figure import Figure

        n_t, n_f = shape
        half = channel_width_hz * n_f / 2
        fig = Figure(figsize=(6.4, 2.6), dpi=100)
        fig.subplots_adjust(left=0.1, right=0.9, bottom=0.19, top=0.96)
        ax = fig.subplots()
        ax.set_xlim(half, -half)  # the stored channel order: frequency falls to the right when foff < 0
        ax.set_ylim(n_t * time_bin_s, 0)
        ax.set_xlabel("frequency offset from the window centre (Hz)", fontsize=8)
        ax.set_ylabel("time (s)", fontsize=8)
        ax.tick_params(labelsize=7)
        fig.colorbar(ScalarMappable(cmap="viridis"), ax=ax, pad=0.015, fraction=0.04).ax.tick_params(labelsize=7)
        if len(_FRAMES) > 64:
            _FRAMES.clear()
        _FRAMES[key] = _Frame(fig, ax)
    return _FRAMES[key]


def snippet_figure(array: np.ndarray, channel_width_hz: float, time_bin_s: float) -> bytes:
    """A snippet with physical axes: frequency offset from the window centre (Hz) and time (s).

    Columns are in the stored channel order; the axis runs from the first channel's offset to the
    last's, so for files whose frequency falls with channel index (foff < 0) it decreases to the right.
    """
    with _FIGURE_LOCK:
        frame = _snippet_frame(array.shape, channel_width_hz, time_bin_s)
    canvas = frame.rgb.copy()
    frame.paste(canvas, _viridis()[np.clip(np.asarray(array, np.float64) * 255, 0, 255).astype(np.uint8)])
    return png(canvas)


def _histogram(ax, edges, counts, color, label=None):
    ax.stairs(counts, edges, fill=True, color=color, label=label)


def occupancy_figure(occupancy: dict) -> bytes:
    """Signal snippets per frequency bin of the catalogue, with the known-RFI share."""
    from matplotlib.figure import Figure

    with _FIGURE_LOCK:
        fig = Figure(figsize=(8, 3), layout="constrained")
        ax = fig.subplots()
        edges = np.asarray(occupancy["edges_mhz"], np.float64)
        if len(edges):
            _histogram(ax, edges, occupancy["counts"], "tab:blue", "signal snippets")
            _histogram(ax, edges, occupancy["known_rfi"], "tab:red", "of which known RFI")
            ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1), ncols=2, frameon=False)
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
            width = occupancy["bin_mhz"]
            ax.set_ylabel("signal snippets per " + ("MHz" if width == 1 else f"{width * 1e3:.4g} kHz"), fontsize=8)
        else:
            ax.text(0.5, 0.5, "no signal snippets yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("centre frequency (MHz)", fontsize=8)
        ax.tick_params(labelsize=7)
        return _save(fig)


def class_occupancy_figure(cls: dict) -> bytes:
    """Where in frequency an RFI class occurs (its stored frequency_occupancy histogram)."""
    from matplotlib.figure import Figure

    occupancy = cls.get("frequency_occupancy") or {}
    edges, counts = occupancy.get("edges_mhz"), occupancy.get("counts")
    with _FIGURE_LOCK:
        fig = Figure(figsize=(6.4, 2.2), layout="constrained")
        ax = fig.subplots()
        if edges and counts:
            edges = np.asarray(edges, np.float64)
            if edges[-1] - edges[0] < 1e-3:  # one frequency: a visible bar on a readable axis
                centre = (edges[0] + edges[-1]) / 2
                edges, counts = np.array([centre - 5e-6, centre + 5e-6]), [sum(counts)]
                ax.set_xlim(centre - 5e-4, centre + 5e-4)
            _histogram(ax, edges, counts, "tab:red")
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
        else:
            ax.text(0.5, 0.5, "no occupancy recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("centre frequency (MHz)", fontsize=8)
        ax.set_ylabel("snippets", fontsize=8)
        ax.tick_params(labelsize=7)
        return _save(fig)


def cadence_figure(track) -> bytes:
    """An event's ON/OFF scans stacked in time order around its drift line: the same picture as
    ``cadence search --plot`` (:func:`rficat.plots.cadence_figure`), from a
    ``rficat.catalogue.tracks.Track``; a scan whose file is not reachable is drawn saying so."""
    from rficat import plots
    from rficat.catalogue.tracks import cadence_panel

    buffer = io.BytesIO()
    with _FIGURE_LOCK:
        plots.cadence_figure(buffer, [cadence_panel(track)])
    return buffer.getvalue()


class PngCache:
    """A bounded, thread-safe LRU of PNG bytes (snippet arrays never change, so ids are good keys).

    A picture is drawn once even when several requests ask for it together, and ``prefetch`` starts
    drawing one a page is about to ask for (a cadence page's track figures) while the page itself
    is still being sent.
    """

    def __init__(self, max_bytes: int = 64 * 2**20, workers: int = 2):
        self.max_bytes, self.size = max_bytes, 0
        self._items: OrderedDict = OrderedDict()
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._workers = workers
        self._executor = None

    def _future(self, key):
        """The drawing of ``key``: done (cached), under way, or started now in the calling thread."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key], None, False
            if key in self._pending:
                return None, self._pending[key], False
            future = Future()
            self._pending[key] = future
        return None, future, True

    def _draw(self, key, render, future: Future) -> None:
        try:
            data = render()
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter
            future.set_exception(exc)
        else:
            future.set_result(data)
            with self._lock:
                self._items[key] = data
                self.size += len(data)
                while self.size > self.max_bytes and self._items:
                    self.size -= len(self._items.popitem(last=False)[1])
        finally:
            with self._lock:
                self._pending.pop(key, None)

    def get(self, key, render) -> bytes:
        data, future, mine = self._future(key)
        if data is not None:
            return data
        if mine:
            self._draw(key, render, future)
        return future.result()

    def prefetch(self, key, render) -> None:
        data, future, mine = self._future(key)
        if mine:
            if self._executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="rficat-pictures")
            self._executor.submit(self._draw, key, render, future)
