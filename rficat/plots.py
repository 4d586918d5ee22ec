"""Pictures people would rather look at than read, in physical units (PNG).

Snippets are drawn against frequency offset from the window's centre (Hz, rising to the right
whatever the file's channel order) and time since the scan started (s, running down), with a
colour bar; frequency histograms have plain MHz axes; a cadence figure stacks every scan of a
cadence (ON and OFF) on one time axis around a drift track. Callers pass arrays and their
scales (:class:`SnippetAxes`, :class:`Scan`); nothing here reads files or the catalogue.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np
import pandas as pd

GBT_FOFF_HZ = -2.7939677238464355
GBT_BIN_S = 18.253611008  # one of 16 bins of a 16-integration GBT scan


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class SnippetAxes:
    """The physical scale of a 16 x 256 snippet: its observation's signed channel width (file
    order, negative in GBT files), the seconds one time bin stands for, and the drift removed
    from it (fast drifters are stored dedrifted)."""

    foff_hz: float = GBT_FOFF_HZ
    bin_s: float = GBT_BIN_S
    dedrift_hz_s: float = 0.0

    def extent(self, shape: tuple[int, int]) -> tuple[float, float, float, float]:
        """imshow extent (left, right, bottom, top): column edges as frequency offsets from the
        centre (left > right when frequency falls with channel, so the picture is flipped to
        rising frequency), time bin edges in seconds."""
        t, n = shape
        half = n / 2
        return (-half * self.foff_hz, half * self.foff_hz, t * self.bin_s, 0.0)


SNIPPET_COLOUR = "normalised log power"


def show_snippet(ax, snippet: np.ndarray, scale: SnippetAxes | None = None, *, labels: bool = True,
                 ticksize: float = 6):
    """Draw one normalised snippet (values in [0, 1]) on ``ax``; returns the image (for a colour bar).

    Without a scale the axes count channels and time bins.
    """
    snippet = np.asarray(snippet)
    if scale is None:
        image = ax.imshow(snippet, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=1)
        xlabel, ylabel = "channel", "time bin"
    else:
        left, right, bottom, top = scale.extent(snippet.shape)
        image = ax.imshow(snippet, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0, vmax=1,
                          extent=(left, right, bottom, top))
        ax.set_xlim(min(left, right), max(left, right))
        ax.set_ylim(bottom, top)
        xlabel, ylabel = "frequency offset (Hz)", "time (s)"
        if scale.dedrift_hz_s:
            ax.text(0.02, 0.04, f"dedrifted {scale.dedrift_hz_s:+.2f} Hz/s", transform=ax.transAxes,
                    fontsize=ticksize, color="white", va="bottom")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(3))
    ax.yaxis.set_major_locator(MaxNLocator(3))
    ax.tick_params(labelsize=ticksize, length=2, pad=1)
    if labels:
        ax.set_xlabel(xlabel, fontsize=ticksize + 1)
        ax.set_ylabel(ylabel, fontsize=ticksize + 1)
    return image


def _scales(scales: Sequence[SnippetAxes | None] | SnippetAxes | None, n: int) -> list[SnippetAxes | None]:
    if scales is None or isinstance(scales, SnippetAxes):
        return [scales] * n
    scales = list(scales)
    if len(scales) != n:
        raise ValueError(f"{len(scales)} scales for {n} snippets")
    return scales


def _snippet_panels(fig, grid, rows: range, columns: int, arrays, scales, titles, fontsize: float = 7):
    """Fill grid cells (row-major from rows.start) with snippets; tick labels on the outer ones."""
    image = None
    n = len(arrays)
    for i, (snippet, scale) in enumerate(zip(arrays, scales)):
        row, column = rows.start + i // columns, i % columns
        ax = fig.add_subplot(grid[row, column])
        last_row = i + columns >= n
        image = show_snippet(ax, snippet, scale, labels=False)
        if column:
            ax.tick_params(labelleft=False)
        if not last_row:
            ax.tick_params(labelbottom=False)
        if titles is not None:
            ax.set_title(titles[i], fontsize=fontsize)
    return image


def _axis_words(scales: Sequence[SnippetAxes | None]) -> tuple[str, str]:
    if any(s is None for s in scales):
        return "channel", "time bin"
    return "frequency offset from the window centre (Hz)", "time since the scan started (s)"


MIN_SPAN_MHZ = 0.01  # ~14 snippet widths: one emitter's matches make a readable bar, not a 1e-9 MHz axis


def _mhz_axis(axis, low: float, high: float, ticks: int = 4) -> None:
    """Plain MHz tick labels (no offset, no scientific notation) with as many decimals as the
    tick spacing needs."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    step = max((high - low) / ticks, 1e-9)
    decimals = min(max(0, -math.floor(math.log10(step)) + 1), 9)
    axis.set_major_locator(MaxNLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.{decimals}f}"))


def _frequency_histogram(ax, counts: np.ndarray, edges: np.ndarray, color: str) -> None:
    """Counts per frequency bin on a plain MHz axis at least MIN_SPAN_MHZ wide."""
    counts, edges = np.asarray(counts), np.asarray(edges, dtype=np.float64)
    centre, span = (edges[0] + edges[-1]) / 2, edges[-1] - edges[0]
    if span < MIN_SPAN_MHZ:  # (nearly) one frequency: one bar of a visible width
        half_bar = MIN_SPAN_MHZ / 100
        counts, edges = np.array([counts.sum()]), np.array([centre - half_bar, centre + half_bar])
    ax.stairs(counts, edges, fill=True, color=color)
    half = max(span, MIN_SPAN_MHZ) / 2
    ax.set_xlim(centre - half, centre + half)
    _mhz_axis(ax.xaxis, centre - half, centre + half)
    ax.set_xlabel("frequency (MHz)", fontsize=7)


def _colour_bar(fig, image, axes, label: str, fontsize: float = 7) -> None:
    if image is None:
        return
    bar = fig.colorbar(image, ax=axes, shrink=0.8, pad=0.01, fraction=0.03)
    bar.set_label(label, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize - 1)


def lookalike_figure(path: str | os.PathLike, soi: np.ndarray, soi_title: str, matches: np.ndarray,
                     results: pd.DataFrame, columns: int = 5, soi_axes: SnippetAxes | None = None,
                     match_axes: Sequence[SnippetAxes | None] | SnippetAxes | None = None) -> None:
    """The SOI, a grid of its best matches (similarity, frequency, drift), and the matches'
    frequencies (the paper's figures 7 and 8 in one PNG)."""
    plt = _pyplot()
    n = len(matches)
    scales = _scales(match_axes, n)
    rows = max(1, int(np.ceil(n / columns)))
    fig = plt.figure(figsize=(2.8 * columns + 0.8, 1.75 * (rows + 1) + 1.6), layout="constrained")
    grid = fig.add_gridspec(rows + 1, columns, height_ratios=[1.5] + [1] * rows)
    ax = fig.add_subplot(grid[0, : max(1, columns // 2)])
    image = show_snippet(ax, soi, soi_axes)
    ax.set_title(f"SOI: {soi_title}", fontsize=9)
    hist = fig.add_subplot(grid[0, max(1, columns // 2):])
    if n:
        counts, edges = np.histogram(results["f_center_mhz"], bins=min(40, max(5, n)))
        _frequency_histogram(hist, counts, edges, "tab:orange")
    hist.set_title(f"frequencies of the {n} matches", fontsize=9)
    hist.set_ylabel("matches", fontsize=7)
    hist.tick_params(labelsize=6)
    drift = results["drift_rate_hz_s"] if "drift_rate_hz_s" in results else [None] * n
    titles = [f"#{i + 1} id {row.snippet_id}  sim {row.similarity:.3f}\n{row.f_center_mhz:.6f} MHz"
              + ("" if d is None or not np.isfinite(d) else f"  {d:+.2f} Hz/s")
              for i, (row, d) in enumerate(zip(results.itertuples(), drift))]
    match_image = _snippet_panels(fig, grid, range(1, rows + 1), columns, matches, scales, titles)
    xword, yword = _axis_words(scales)
    fig.supxlabel(f"matches: {xword}", fontsize=7)
    fig.supylabel(yword, fontsize=7)
    _colour_bar(fig, match_image or image, fig.axes, SNIPPET_COLOUR)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def snippet_grid(path: str | os.PathLike, arrays: np.ndarray, titles: Sequence[str], title: str = "",
                 columns: int = 6, axes: Sequence[SnippetAxes | None] | SnippetAxes | None = None) -> None:
    """A gallery of snippets with a caption each, on physical axes when ``axes`` are given."""
    plt = _pyplot()
    n = len(arrays)
    scales = _scales(axes, n)
    rows = max(1, int(np.ceil(n / columns)))
    fig = plt.figure(figsize=(2.5 * columns + 0.8, 1.7 * rows + 0.9), layout="constrained")
    grid = fig.add_gridspec(rows, columns)
    image = _snippet_panels(fig, grid, range(rows), columns, arrays, scales, titles)
    xword, yword = _axis_words(scales)
    fig.supxlabel(xword, fontsize=7)
    fig.supylabel(yword, fontsize=7)
    _colour_bar(fig, image, fig.axes, SNIPPET_COLOUR)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rfi_class_figure(path: str | os.PathLike, exemplars: np.ndarray, cls: dict, columns: int = 6,
                     axes: Sequence[SnippetAxes | None] | SnippetAxes | None = None) -> None:
    """An RFI class at a glance: its exemplar snippets and where in frequency it occurs."""
    plt = _pyplot()
    n = len(exemplars)
    scales = _scales(axes, n)
    rows = max(1, int(np.ceil(n / columns)))
    fig = plt.figure(figsize=(2.5 * columns + 0.8, 1.7 * rows + 2.6), layout="constrained")
    grid = fig.add_gridspec(rows + 1, columns)
    image = _snippet_panels(fig, grid, range(rows), columns, exemplars, scales, None)
    xword, yword = _axis_words(scales)
    fig.supylabel(yword, fontsize=7)
    snippet_axes = list(fig.axes)
    hist = fig.add_subplot(grid[rows, :])
    occupancy = cls.get("frequency_occupancy") or {}
    edges, counts = occupancy.get("edges_mhz"), occupancy.get("counts")
    if edges and counts:
        _frequency_histogram(hist, counts, edges, "tab:red")
    hist.set_xlabel(f"centre frequency (MHz); exemplars above: {xword}", fontsize=8)
    hist.set_ylabel("snippets", fontsize=8)
    hist.tick_params(labelsize=7)
    _colour_bar(fig, image, snippet_axes, SNIPPET_COLOUR)
    label = cls.get("label") or "unlabelled"
    fig.suptitle(f"RFI class {cls['id']} ({label}): {cls['size']} snippets in {cls['n_observations']} observations, "
                 f"median drift {cls.get('drift_median_hz_s') or 0:.3f} Hz/s", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- cadences ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scan:
    """One scan of a cadence around a track: its power (time bins x channels, file order) and
    where it sits in time and frequency. ``data`` None: ``note`` says why (drawn in its place)."""

    label: str  # e.g. "A  ON  HIP 1234"
    on: bool
    start_s: float  # seconds on the cadence's clock (0 = the first scan's start)
    duration_s: float
    data: np.ndarray | None = None
    f_first_mhz: float = 0.0  # frequency of column 0
    foff_hz: float = 0.0  # signed channel width (file order)
    note: str = ""


@dataclass(frozen=True)
class DriftTrack:
    """A straight track: at ``f0_mhz`` at ``t0_s`` (the cadence's clock), drifting ``drift_hz_s``."""

    f0_mhz: float
    t0_s: float
    drift_hz_s: float

    def offset_hz(self, t_s: np.ndarray | float) -> np.ndarray | float:
        return self.drift_hz_s * (np.asarray(t_s) - self.t0_s)


@dataclass(frozen=True)
class CadencePanel:
    """One event of a cadence: its scans and its track; ``window_hz`` (offsets from the track's
    f0) is the band shown, by default :func:`cadence_window_hz`."""

    title: str
    scans: Sequence[Scan]
    track: DriftTrack
    window_hz: tuple[float, float] | None = None

    def window(self) -> tuple[float, float]:
        return self.window_hz or cadence_window_hz(self.track, self.scans)


def _scan_image(scan: Scan, track: DriftTrack) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A scan's power over its median (each scan its own level), and its imshow extent in Hz
    offset from the track's f0 and seconds on the cadence's clock."""
    data = np.asarray(scan.data, dtype=np.float64)
    level = np.nanmedian(data)
    data = data / level if np.isfinite(level) and level > 0 else data
    n = data.shape[1]
    first = (scan.f_first_mhz - track.f0_mhz) * 1e6
    left, right = first - 0.5 * scan.foff_hz, first + (n - 0.5) * scan.foff_hz
    return data, (left, right, scan.start_s + scan.duration_s, scan.start_s)


def _draw_cadence(ax, panel: CadencePanel, norm, window_hz: tuple[float, float]):
    """One event's scans stacked on the cadence's clock, the track drawn over them."""
    from matplotlib import patches

    image = None
    scans = list(panel.scans)
    t_end = max((s.start_s + s.duration_s for s in scans), default=1.0)
    ax.set_facecolor("0.85")  # slews and gaps between scans: no data
    for scan in scans:
        if scan.data is not None and np.size(scan.data):
            data, extent = _scan_image(scan, panel.track)
            image = ax.imshow(data, aspect="auto", cmap="viridis", interpolation="nearest", norm=norm,
                              extent=extent)
        else:
            ax.add_patch(patches.Rectangle((window_hz[0], scan.start_s), window_hz[1] - window_hz[0],
                                           scan.duration_s, facecolor="0.6", edgecolor="none", hatch="//", alpha=0.5))
            ax.text(sum(window_hz) / 2, scan.start_s + scan.duration_s / 2, scan.note or "no data", ha="center", va="center",
                    fontsize=7, color="black")
        ax.text(1.01, 1 - (scan.start_s + scan.duration_s / 2) / t_end, scan.label, transform=ax.transAxes,
                fontsize=7, va="center", ha="left", color="tab:red" if scan.on else "0.3",
                fontweight="bold" if scan.on else "normal")
    times = np.array([0.0, t_end])
    ax.plot(panel.track.offset_hz(times), times, color="white", lw=1.0, ls=(0, (4, 4)), alpha=0.9)
    ax.plot(panel.track.offset_hz(times), times, color="tab:red", lw=0.6, ls=(4, (4, 4)), alpha=0.9,
            label=f"track {panel.track.drift_hz_s:+.3f} Hz/s")
    ax.set_xlim(*window_hz)
    ax.set_ylim(t_end, 0)
    ax.set_title(panel.title, fontsize=8)
    ax.set_xlabel(f"frequency − {panel.track.f0_mhz:.6f} MHz (Hz)", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.legend(loc="lower right", fontsize=6, framealpha=0.7)
    return image


def cadence_window_hz(track: DriftTrack, scans: Sequence[Scan], min_half_hz: float = 700.0) -> tuple[float, float]:
    """(low, high) frequency offsets from the track's f0 (Hz) of a window that holds the track
    over the whole cadence, with a margin, at least ``2 * min_half_hz`` wide."""
    t_end = max((s.start_s + s.duration_s for s in scans), default=0.0)
    ends = [float(track.offset_hz(0.0)), float(track.offset_hz(t_end))]
    margin = max(min_half_hz - (max(ends) - min(ends)) / 2, 0.1 * (max(ends) - min(ends)) + 200.0)
    return min(ends) - margin, max(ends) + margin


def _cadence_norm(panels: Sequence[CadencePanel]):
    """One colour scale for every scan of the panels (power over each scan's median), so an OFF
    scan with nothing in it stays dark."""
    from matplotlib.colors import Normalize

    images = [_scan_image(s, p.track)[0] for p in panels for s in p.scans if s.data is not None and np.size(s.data)]
    values = np.concatenate([i.ravel() for i in images]) if images else np.array([0.0, 1.0])
    values = values[np.isfinite(values)]
    low, high = (np.percentile(values, [1, 99.7]) if values.size else (0.0, 1.0))
    return Normalize(vmin=float(low), vmax=float(max(high, low + 1e-9)))


def cadence_figure(path: str | os.PathLike | IO[bytes], panels: Sequence[CadencePanel], title: str = "") -> None:
    """Each event a column: every scan of the cadence (ON and OFF) on one time axis (seconds
    since the first scan started, running down, gaps as they were), around the event's track,
    with the track drawn where it really is and a shared colour bar (power over each scan's
    median). The one cadence picture: ``cadence search --plot`` and the viewer draw it, and
    vetting sheets draw their scans with :func:`_draw_cadence`.

    Built on matplotlib's object API (no pyplot state), so the viewer's threads may call it
    under one lock; ``path`` may be a file name or a binary buffer (PNG)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    panels = list(panels)
    columns = max(1, len(panels))
    width, height = 4.6 * columns + 1.2, 7.0
    fig = Figure(figsize=(width, height))
    # fixed margins (inches), not a layout engine: constrained layout doubled the drawing time,
    # and the viewer draws this figure on demand; the scan labels sit right of each panel
    fig.subplots_adjust(left=0.75 / width, right=1 - 2.0 / width, bottom=0.6 / height,
                        top=1 - (0.75 if title else 0.45) / height, wspace=0.6)
    axes = fig.subplots(1, columns, squeeze=False)
    norm = _cadence_norm(panels)
    image = None
    for ax, panel in zip(axes[0], panels):
        image = _draw_cadence(ax, panel, norm, panel.window()) or image
    axes[0][0].set_ylabel("time since the cadence's first scan started (s)", fontsize=7)
    bar = fig.colorbar(image or ScalarMappable(norm=norm, cmap="viridis"),
                       cax=fig.add_axes((1 - 0.55 / width, 0.25, 0.12 / width, 0.5)))
    bar.set_label("power / scan median", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, format="png", dpi=110)


def vetting_sheet(path: str | os.PathLike, scans: Sequence[dict], track: tuple[float, float, float],
                  snippet: np.ndarray | None, lookalikes: np.ndarray, lookalike_titles: Sequence[str],
                  title: str, text: str) -> None:
    """One event on one page (1400 x 1000 pixels), as turboSETI's ``plot_event`` sheets: the scans
    stacked on one time axis (seconds since the first scan; ``scans``: dicts with ``label``,
    ``t_start_s``, ``t_stop_s``, ``f_min_mhz``, ``f_max_mhz`` and ``image``, time bins x channels in
    ascending frequency) with the hit's drift line where it really is (``track``: seconds, MHz and
    Hz/s of the track's centre), the hit's snippet, a grid of its lookalikes and the verdict in words."""
    plt = _pyplot()
    fig = plt.figure(figsize=(14, 10), dpi=100)
    grid = fig.add_gridspec(3, 5, width_ratios=[1.2, 1.2, 0.45, 1, 1], height_ratios=[1, 0.8, 1.2], hspace=0.45,
                            wspace=0.3, left=0.07, right=0.98, top=0.92, bottom=0.06)
    ax = fig.add_subplot(grid[:, :2])
    t_mid, f_mid, drift = track
    if scans:  # the same cadence drawing as `cadence search --plot` (cadence_figure)
        t0 = min(s["t_start_s"] for s in scans)
        panel = CadencePanel("scans around the hit", [
            Scan(label=s["label"].split(" (")[0], on=s["label"].startswith("ON"), start_s=s["t_start_s"] - t0,
                 duration_s=s["t_stop_s"] - s["t_start_s"], data=s["image"], f_first_mhz=s["f_min_mhz"],
                 foff_hz=(s["f_max_mhz"] - s["f_min_mhz"]) * 1e6 / max(np.shape(s["image"])[1] - 1, 1))
            for s in scans], DriftTrack(f_mid, t_mid - t0, drift))
        image = _draw_cadence(ax, panel, _cadence_norm([panel]), panel.window())
        ax.set_ylabel("time since the first scan, s", fontsize=8)
        if image is not None:  # below, so the scan labels at the right keep their room
            bar = fig.colorbar(image, ax=[ax], location="bottom", shrink=0.6, pad=0.06, fraction=0.03)
            bar.set_label("power / scan median", fontsize=7)
            bar.ax.tick_params(labelsize=6)
    else:
        ax.text(0.5, 0.5, "no scan readable", ha="center", transform=ax.transAxes)
        ax.set_title("scans around the hit", fontsize=9)
    ax = fig.add_subplot(grid[0, 3:])
    if snippet is not None:
        ax.imshow(snippet, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_title("the hit's snippet (16 x 256, as the encoder sees it)", fontsize=9)
    ax.tick_params(labelsize=6)
    ax = fig.add_subplot(grid[1, 3:])
    ax.set_axis_off()
    ax.text(0, 1, text, va="top", ha="left", fontsize=8, wrap=True, transform=ax.transAxes)
    cells = grid[2, 3:].subgridspec(2, 3, hspace=0.6)
    for i in range(6):
        ax = fig.add_subplot(cells[i // 3, i % 3])
        ax.set_xticks([])
        ax.set_yticks([])
        if i < len(lookalikes):
            ax.imshow(lookalikes[i], aspect="auto", cmap="viridis", interpolation="nearest")
            ax.set_title(lookalike_titles[i] if i < len(lookalike_titles) else "", fontsize=6)
        elif i == 0:
            ax.text(0.5, 0.5, "no lookalikes", ha="center", va="center", fontsize=7, transform=ax.transAxes)
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=100)
    plt.close(fig)
