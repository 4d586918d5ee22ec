"""Figures a user reads: frequency axes in plain MHz, a one-frequency class still visible."""

from __future__ import annotations

import numpy as np

from rficat import plots


def _axes():
    plt = plots._pyplot()
    fig, ax = plt.subplots()
    return plt, fig, ax


def test_one_emitter_frequency_is_a_visible_bar_on_a_plain_mhz_axis():
    plt, fig, ax = _axes()
    edges = np.linspace(1999.412841, 1999.412841 + 1e-9, 51)  # what SQL stores for a single-frequency class
    plots._frequency_histogram(ax, np.r_[5, np.zeros(49)], edges, "tab:red")
    fig.canvas.draw()
    low, high = ax.get_xlim()
    assert high - low >= plots.MIN_SPAN_MHZ and low < 1999.412841 < high
    assert ax.xaxis.get_major_formatter().get_offset() == ""
    [bar] = ax.patches
    assert bar.get_path().get_extents().width > plots.MIN_SPAN_MHZ / 100  # not a 1e-9 MHz sliver
    plt.close(fig)


def test_a_wide_histogram_keeps_its_bins():
    plt, fig, ax = _axes()
    counts, edges = np.histogram(np.random.default_rng(0).uniform(1400, 1500, 200), bins=20)
    plots._frequency_histogram(ax, counts, edges, "tab:orange")
    assert np.allclose(ax.get_xlim(), (edges[0], edges[-1]))
    plt.close(fig)
