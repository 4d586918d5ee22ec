"""Pictures people would rather look at than read: lookalike grids and frequency histograms (PNG)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


MIN_SPAN_MHZ = 0.01  # ~14 snippet widths: one emitter's matches make a readable bar, not a 1e-9 MHz axis


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
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")


def lookalike_figure(path: str | os.PathLike, soi: np.ndarray, soi_title: str, matches: np.ndarray,
                     results: pd.DataFrame, columns: int = 5) -> None:
    """The SOI, a grid of its best matches (similarity, frequency), and the matches' frequencies
    (the paper's figures 7 and 8 in one PNG)."""
    plt = _pyplot()
    n = len(matches)
    rows = max(1, int(np.ceil(n / columns)))
    fig = plt.figure(figsize=(2.6 * columns, 1.5 * (rows + 1) + 1.4), layout="constrained")
    grid = fig.add_gridspec(rows + 1, columns, height_ratios=[1.5] + [1] * rows)
    ax = fig.add_subplot(grid[0, : max(1, columns // 2)])
    ax.imshow(soi, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_title(f"SOI: {soi_title}", fontsize=9)
    ax.set_xlabel("channel", fontsize=7)
    ax.set_ylabel("time bin", fontsize=7)
    ax.tick_params(labelsize=6)
    hist = fig.add_subplot(grid[0, max(1, columns // 2):])
    if n:
        counts, edges = np.histogram(results["f_center_mhz"], bins=min(40, max(5, n)))
        _frequency_histogram(hist, counts, edges, "tab:orange")
    hist.set_title(f"frequencies of the {n} matches", fontsize=9)
    hist.set_xlabel("MHz", fontsize=7)
    hist.tick_params(labelsize=6)
    for i, (snippet, row) in enumerate(zip(matches, results.itertuples())):
        ax = fig.add_subplot(grid[1 + i // columns, i % columns])
        ax.imshow(snippet, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_title(f"#{i + 1} id {row.snippet_id}  sim {row.similarity:.3f}\n{row.f_center_mhz:.6f} MHz", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.savefig(path, dpi=110)
    plt.close(fig)


def snippet_grid(path: str | os.PathLike, arrays: np.ndarray, titles: Sequence[str], title: str = "",
                 columns: int = 6) -> None:
    """A gallery of snippets with a caption each."""
    plt = _pyplot()
    n = max(1, len(arrays))
    rows = int(np.ceil(n / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 1.5 * rows + 0.5), squeeze=False,
                             layout="constrained")
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, snippet, caption in zip(axes.ravel(), arrays, titles):
        ax.imshow(snippet, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rfi_class_figure(path: str | os.PathLike, exemplars: np.ndarray, cls: dict, columns: int = 6) -> None:
    """An RFI class at a glance: its exemplar snippets and where in frequency it occurs."""
    plt = _pyplot()
    n = max(1, len(exemplars))
    rows = int(np.ceil(n / columns))
    fig = plt.figure(figsize=(2.4 * columns, 1.5 * rows + 2.4), layout="constrained")
    grid = fig.add_gridspec(rows + 1, columns)
    for i, snippet in enumerate(exemplars):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        ax.imshow(snippet, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    hist = fig.add_subplot(grid[rows, :])
    occupancy = cls.get("frequency_occupancy") or {}
    edges, counts = occupancy.get("edges_mhz"), occupancy.get("counts")
    if edges and counts:
        _frequency_histogram(hist, counts, edges, "tab:red")
    hist.set_xlabel("centre frequency, MHz", fontsize=8)
    hist.set_ylabel("snippets", fontsize=8)
    hist.tick_params(labelsize=7)
    label = cls.get("label") or "unlabelled"
    fig.suptitle(f"RFI class {cls['id']} ({label}): {cls['size']} snippets in {cls['n_observations']} observations, "
                 f"median drift {cls.get('drift_median_hz_s') or 0:.3f} Hz/s", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    grid = fig.add_gridspec(3, 4, width_ratios=[1.3, 1.3, 1, 1], height_ratios=[1, 0.8, 1.2], hspace=0.45,
                            wspace=0.3, left=0.07, right=0.98, top=0.92, bottom=0.06)
    ax = fig.add_subplot(grid[:, :2])
    t_mid, f_mid, drift = track
    if scans:
        stacked = np.concatenate([np.log10(np.clip(s["image"], 1e-3, None)).ravel() for s in scans])
        vmin, vmax = np.nanpercentile(stacked, [2, 99.5])
        for scan in scans:
            ax.imshow(np.log10(np.clip(scan["image"], 1e-3, None)), aspect="auto", cmap="viridis", vmin=vmin,
                      vmax=vmax, interpolation="nearest", origin="upper",
                      extent=(scan["f_min_mhz"], scan["f_max_mhz"], scan["t_stop_s"], scan["t_start_s"]))
            ax.text(scan["f_min_mhz"], (scan["t_start_s"] + scan["t_stop_s"]) / 2, " " + scan["label"], color="white",
                    fontsize=7, va="center", ha="left")
        t = np.array([min(s["t_start_s"] for s in scans), max(s["t_stop_s"] for s in scans)])
        ax.plot(f_mid + drift * (t - t_mid) * 1e-6, t, color="red", lw=1, ls="--", label=f"track {drift:+.3f} Hz/s")
        ax.set_xlim(min(s["f_min_mhz"] for s in scans), max(s["f_max_mhz"] for s in scans))
        ax.set_ylim(t[1], t[0])
        ax.legend(loc="lower right", fontsize=7)
    else:
        ax.text(0.5, 0.5, "no scan readable", ha="center", transform=ax.transAxes)
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    ax.set_xlabel("frequency, MHz", fontsize=8)
    ax.set_ylabel("time since the first scan, s", fontsize=8)
    ax.set_title("scans around the hit", fontsize=9)
    ax = fig.add_subplot(grid[0, 2:])
    if snippet is not None:
        ax.imshow(snippet, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_title("the hit's snippet (16 x 256, as the encoder sees it)", fontsize=9)
    ax.tick_params(labelsize=6)
    ax = fig.add_subplot(grid[1, 2:])
    ax.set_axis_off()
    ax.text(0, 1, text, va="top", ha="left", fontsize=8, wrap=True, transform=ax.transAxes)
    cells = grid[2, 2:].subgridspec(2, 3, hspace=0.6)
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
