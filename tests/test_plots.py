"""Figures a user reads: frequency axes in plain MHz, a one-frequency class still visible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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


@pytest.mark.parametrize("span_mhz, decimals", [(100.0, 0), (0.01, 4), (1e-4, 6)])
def test_mhz_tick_labels_are_distinct_and_plain(span_mhz, decimals):
    plt, fig, ax = _axes()
    counts, edges = np.histogram(np.linspace(1420.0, 1420.0 + span_mhz, 50), bins=10)
    plots._frequency_histogram(ax, counts, edges, "tab:orange")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) == len(set(labels)) >= 2
    assert all(len(text.partition(".")[2]) <= decimals and "e" not in text for text in labels), labels
    assert ax.get_xlabel() == "frequency (MHz)"
    plt.close(fig)


def test_gbt_snippets_are_drawn_with_frequency_rising_to_the_right():
    """GBT channels count down in frequency: the picture is flipped, Hz and seconds on its axes."""
    left, right, bottom, top = plots.SnippetAxes(-2.7939677238464355, 18.253611008).extent((16, 256))
    assert left == pytest.approx(128 * 2.7939677238464355) and right == -left
    assert (bottom, top) == (pytest.approx(16 * 18.253611008), 0.0)
    assert plots.SnippetAxes(1.0, 1.0).extent((16, 256))[:2] == (-128.0, 128.0)


def read_png(path):
    from matplotlib import image

    assert path.read_bytes()[:4] == b"\x89PNG"
    return image.imread(path)


def assert_readable(path, min_size=(500, 300)):
    """Written, of a sensible size, and not blank: a good part of it is drawn, in many colours."""
    pixels = read_png(path)
    height, width = pixels.shape[:2]
    assert width >= min_size[0] and height >= min_size[1] and width <= 4000 and height <= 3000
    rgb = pixels[..., :3]
    drawn = (rgb < 0.9).any(axis=2).mean()
    assert drawn > 0.2, f"only {drawn:.0%} of the picture is drawn"
    assert len(np.unique((rgb * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 100
    return pixels


def _snippets(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 0.5, size=(n, 16, 256)).astype(np.float32)
    for i in range(n):
        x[i, :, 100 + 5 * i:110 + 5 * i] = 1.0
    return x


def test_snippet_grid_with_physical_axes(tmp_path):
    path = tmp_path / "grid.png"
    scales = [plots.SnippetAxes(), plots.SnippetAxes(dedrift_hz_s=-6.2), plots.SnippetAxes(2.79, 36.5)] * 2
    plots.snippet_grid(path, _snippets(6), [f"#{i}" for i in range(6)], title="six", columns=3, axes=scales)
    pixels = assert_readable(path)
    assert np.allclose(pixels.shape[:2], ((1.7 * 2 + 0.9) * 110, (2.5 * 3 + 0.8) * 110), atol=1)  # figsize x dpi


def test_lookalike_figure(tmp_path):
    path = tmp_path / "lookalikes.png"
    results = pd.DataFrame({"snippet_id": range(1, 8), "similarity": np.linspace(0.99, 0.8, 7),
                            "f_center_mhz": 1400 + np.linspace(0, 0.5, 7), "drift_rate_hz_s": np.linspace(-1, 6, 7)})
    plots.lookalike_figure(path, _snippets(1)[0], "snippet 1", _snippets(7), results,
                           soi_axes=plots.SnippetAxes(), match_axes=plots.SnippetAxes())
    assert_readable(path, min_size=(1000, 500))


def test_rfi_class_figure(tmp_path):
    path = tmp_path / "class.png"
    cls = {"id": 3, "label": "comb", "size": 40, "n_observations": 7, "drift_median_hz_s": 0.01,
           "frequency_occupancy": {"edges_mhz": list(np.linspace(1400, 1401, 11)), "counts": [1, 0, 5, 9, 2, 0, 0, 3, 4, 1]}}
    plots.rfi_class_figure(path, _snippets(6), cls, axes=plots.SnippetAxes())
    assert_readable(path)


def _cadence(track, reachable=True):
    """Six 5-minute scans with 20 s slews, the track's signal drawn in the ON scans."""
    rng = np.random.default_rng(1)
    scans, foff_hz, n = [], -2.7939677238464355, 2048
    for k, letter in enumerate("ABACAD"):
        start, duration = k * 320.0, 300.0
        data = rng.chisquare(50, size=(16, n)) / 50
        first_mhz = track.f0_mhz + 2400e-6  # column 0 is 2.4 kHz above f0; frequency falls with column
        if letter == "A":
            for b in range(16):
                t = start + (b + 0.5) * duration / 16
                column = int(round((track.f0_mhz + track.offset_hz(t) * 1e-6 - first_mhz) * 1e6 / foff_hz))
                data[b, column - 2:column + 3] += 3.0
        missing = not reachable and k == 3
        scans.append(plots.Scan(f"{letter} {'ON' if letter == 'A' else 'OFF'}", letter == "A", start, duration,
                                None if missing else data, first_mhz, foff_hz, "file not reachable" if missing else ""))
    return scans


def test_scan_images_sit_at_their_frequencies_and_times():
    track = plots.DriftTrack(1420.0, 150.0, 1.5)
    scan = _cadence(track)[2]
    data, (left, right, bottom, top) = plots._scan_image(scan, track)
    assert (top, bottom) == (640.0, 940.0)
    n = data.shape[1]
    def column_hz(k):
        return left + (k + 0.5) * (right - left) / n

    assert column_hz(0) == pytest.approx(2400.0) and column_hz(1) == pytest.approx(2400.0 + scan.foff_hz)
    bright = data[8].argmax()  # the track's column in the middle bin of this ON scan
    assert column_hz(bright) == pytest.approx(track.offset_hz(640.0 + 8.5 * 300 / 16), abs=3 * 2.8)


def test_the_cadence_window_holds_the_whole_track():
    track = plots.DriftTrack(1420.0, 150.0, 2.0)
    low, high = plots.cadence_window_hz(track, _cadence(track))
    assert low < track.offset_hz(0.0) < track.offset_hz(1900.0) < high
    assert plots.cadence_window_hz(plots.DriftTrack(1420.0, 150.0, 0.0), _cadence(track)) == (-700.0, 700.0)


@pytest.mark.parametrize("reachable", [True, False])
def test_cadence_figure(tmp_path, reachable):
    track = plots.DriftTrack(1420.0, 150.0, 1.5)
    panels = [plots.CadencePanel("#1 candidate", _cadence(track, reachable), track),
              plots.CadencePanel("#2", _cadence(plots.DriftTrack(1420.0, 150.0, -0.5)),
                                 plots.DriftTrack(1420.0, 150.0, -0.5))]
    path = tmp_path / "cadence.png"
    plots.cadence_figure(path, panels, title="cadence test")
    pixels = assert_readable(path, min_size=(900, 700))
    assert np.allclose(pixels.shape[:2], (7.0 * 110, (4.6 * 2 + 1.2) * 110), atol=1)  # figsize x dpi
