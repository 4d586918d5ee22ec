"""Physical measures of a stored snippet that detection does not report: how well its drift is known.

A drift rate is a line fitted through the signal's position in each time bin. For a steady
carrier the positions sit on the line and the drift is known to a fraction of a channel over
the scan; for a burst that is on in a few bins, a comb or a 300 Hz wide box, the positions
scatter and the drift is known to tenths of a Hz/s. Verdicts compare drift rates, so they need
to know which: the standard error of the fitted slope says it.

Whether a picture is a *comb* (several evenly spaced tones: intermodulation products, switching
supplies) and whether it is switched on and off (bursts, pulse trains) are morphologies the
encoder's vectors see poorly: two combs of different spacing lie farther apart than a comb and a
single line, a pulse train close to a steady line of its width. Nor do they see a *chirp* (a path
that bends: its drift changes within the scan) as one morphology: two chirps caught at different
points of their sweeps drift differently, and sweeping up or down, lie in two drift modes. RFI
classes are split and joined by these measures of the pictures themselves (:func:`is_comb`,
:func:`intensity_modulation`, :func:`chirping`).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage, signal

SMOOTH_CHANNELS = (5, 1)  # each time bin's peak is that of a running mean this wide: the one whose
# peaks agree on a line more often (5 finds a wide signal's middle; a line one channel wide stands
# out of the noise only unsmoothed, where a 5-channel mean lets noise out-peak it in half the bins)
LINE_CHANNELS = 3  # a bin's peak within this many channels of the line is on it
ON_FRACTION = 0.5  # ... and the signal is present there when this share of its usual height is
MAX_AUTOCORRELATION = 0.9  # residuals this correlated or more: the slope's variance x 19 at most
WANDER_JUMP_CHANNELS = 8  # a path's line-subtracted peak moving more than this between bins is no one path
NARROW_CHANNELS = 16  # wider than this along the line (a box, a comb): peaks are not given back
COMB_MIN_TONES = 3  # a comb: at least this many tones ...
COMB_TONE_SNR = 6.0  # ... each this many noise units (of the time-collapsed spectrum) above its median ...
COMB_TONE_PROMINENCE = 4.0  # ... standing out of its neighbourhood by this many ...
COMB_MIN_SPACING = 4  # ... at least this many channels apart (a line's own wiggles are not tones) ...
COMB_SPACING_SPREAD = 0.15  # ... and evenly spaced: the spacings' standard deviation under this share of their mean
MODULATED = 0.2  # intensity modulation above this: on and off (steady lines measure 0, wandering ones
# up to ~0.2, pulse trains and bursts 0.3-0.5 at the median)
CHIRPING = 0.4  # a path bending more than this (channels per picture row, :func:`chirping`) chirps: the
# evaluation set's chirps measure 0.49-1.51 (10th-90th percentile), every steady kind, comb, box and
# pulse train 0 to its 90th percentile, random walks 0.21 at the median


def theil_sen(times: np.ndarray, peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) slopes and intercepts of lines through (``times``, each row of ``peaks``): the median of
    the pairwise slopes, robust to a quarter of the points being anywhere."""
    i, j = np.triu_indices(times.size, 1)
    distinct = times[j] != times[i]  # a file of 8 integrations repeats each in two bins
    i, j = i[distinct], j[distinct]
    slope = np.median((peaks[:, j] - peaks[:, i]) / (times[j] - times[i]), axis=1)
    return slope, np.median(peaks - slope[:, None] * times[None, :], axis=1)


def bin_peaks(images: np.ndarray, times: np.ndarray, over_median: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each time bin's peak channel and its height over the bin's median (``over_median``), else its
    level (for windows whose noise is centred on zero), (n, t) each, for (n, t, w) windows whose
    bins are centred at ``times``.

    A noise spike can out-peak a narrow signal in a bin where the signal is still there; one such
    bin 70 channels away made a clean SNR-17 line's drift error 0.15 Hz/s (its drift tolerance
    then admitted RFI of any drift). So the peaks are given back to the signal: through a robust
    line (Theil-Sen) on which most bins' peaks lie, a bin whose peak lies off it but whose value
    on it (the largest within :data:`LINE_CHANNELS`) is at least :data:`ON_FRACTION` of the on-line
    bins' usual height takes that position. A burst (on in a few bins: no line most bins agree on)
    keeps every peak, and so do wide signals (a box, a comb: wider than :data:`NARROW_CHANNELS`
    along the line), whose peak is anywhere inside them, so their drift stays as poorly known as it is.
    A bin whose peak lies farther than :data:`NARROW_CHANNELS` off a narrow line most bins agree
    on, and is not given back, is noise where the signal was too faint to find: its height is 0,
    so it weighs nothing in :func:`fit_line` (two such bins 100 channels off made an SNR-35 line
    drifting -0.08 Hz/s measure -0.25 +- 0.2 Hz/s, judged with lookalikes of any frequency).
    """
    x = np.asarray(images, dtype=np.float32)
    t, w = x.shape[1:]
    times = np.asarray(times, dtype=np.float64)
    smooth, peaks, line, agree = [], [], [], []
    for size in SMOOTH_CHANNELS:  # each smoothing's peaks, their robust line, and how many bins it holds
        smooth.append(ndimage.uniform_filter1d(x, size=size, axis=2, mode="nearest") if size > 1 else x)
        peaks.append(smooth[-1].argmax(axis=2).astype(np.float64))
        slope, intercept = theil_sen(times, peaks[-1])
        line.append(intercept[:, None] + slope[:, None] * times[None, :])
        agree.append((np.abs(peaks[-1] - line[-1]) <= LINE_CHANNELS).sum(axis=1))
    # per window, the smoothing whose line holds most bins (a tie: the first)
    choice, rows = np.argmax(np.stack(agree), axis=0), np.arange(len(x))
    smooth, peaks, line = (np.stack(a)[choice, rows] for a in (smooth, peaks, line))
    median = np.median(smooth, axis=2)
    heights = np.take_along_axis(smooth, peaks.astype(np.int64)[:, :, None], axis=2)[:, :, 0] - median
    columns = np.clip(np.rint(line).astype(np.int64)[:, :, None] + np.arange(-LINE_CHANNELS, LINE_CHANNELS + 1),
                      0, w - 1)
    near = np.take_along_axis(smooth, columns, axis=2)
    local_peak = np.take_along_axis(columns, near.argmax(axis=2)[:, :, None], axis=2)[:, :, 0]
    local_height = near.max(axis=2) - median
    on_line = np.abs(peaks - line) <= LINE_CHANNELS
    with warnings.catch_warnings():  # a window with no bin on its line: nothing is given back
        warnings.simplefilter("ignore", RuntimeWarning)
        usual = np.nan_to_num(np.nanmedian(np.where(on_line, heights, np.nan), axis=1, keepdims=True), nan=np.inf)
    # the signal itself on the line, not the flank of a path curving away from it (a chirp)
    interior = np.abs(local_peak - np.rint(line)) < LINE_CHANNELS
    # a line most bins agree on (a burst's few on bins are no line, its off bins' peaks are noise)
    majority = on_line.sum(axis=1, keepdims=True) >= t / 2
    give_back = majority & ~on_line & interior & (local_height >= ON_FRACTION * usual)
    # a peak far off a narrow line most bins agree on is noise where the signal was too faint to find
    stray = majority & ~on_line & ~give_back & (np.abs(peaks - line) > NARROW_CHANNELS)
    some = np.flatnonzero((give_back | stray).any(axis=1))
    if some.size:  # not where the signal is wide along the line
        shifts = np.rint(line[some] - line[some].mean(axis=1, keepdims=True)).astype(np.int64)
        along = np.take_along_axis(smooth[some], np.clip(np.arange(w) + shifts[:, :, None], 0, w - 1), axis=2).mean(axis=1)
        base = np.median(along, axis=1, keepdims=True)
        wide = (along - base >= (along.max(axis=1, keepdims=True) - base) / 2).sum(axis=1) > NARROW_CHANNELS
        give_back[some[wide]] = False
        stray[some[wide]] = False
    if not over_median:
        heights, local_height = heights + median, local_height + median
    heights = np.where(stray, 0.0, heights)
    return np.where(give_back, local_peak, peaks), np.where(give_back, local_height, heights)


def _weighted_line(times: np.ndarray, peaks: np.ndarray, weights: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slope, its variance from independent residuals, and the residuals of a weighted
    least-squares line through each row of ``peaks`` (NaN slope where no bin weighs)."""
    wsum = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dt = times[None, :] - ((weights * times).sum(axis=1) / wsum)[:, None]
        residual_from = peaks - ((weights * peaks).sum(axis=1) / wsum)[:, None]
        var = (weights * dt**2).sum(axis=1)
        slope = np.where(var > 0, (weights * dt * residual_from).sum(axis=1) / var, 0.0)
        residual = residual_from - slope[:, None] * dt
        n_eff = wsum**2 / (weights**2).sum(axis=1)
        scatter = (weights * residual**2).sum(axis=1) / wsum * n_eff / np.clip(n_eff - 2, 1, None)
        return slope, scatter / var * wsum / n_eff, residual


def fit_line(images: np.ndarray, times: np.ndarray, over_median: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Drift (channels per second) and its standard error of each (n, t, w) window whose bins are
    centred at ``times``: a weighted least-squares line through each bin's peak (:func:`bin_peaks`;
    weights: the peak's height over the bin's median, so bins where the signal is off count
    little, or its level, ``over_median`` False); the error from the weighted residual scatter,
    with the effective number of bins, widened where the residuals run together (:func:`path_factor`)."""
    times = np.asarray(times, dtype=np.float64)
    peaks, heights = bin_peaks(images, times, over_median)
    weights = np.clip(heights, 1e-12, None)
    slope, variance, residual = _weighted_line(times, peaks, weights)
    return slope, np.sqrt(variance * path_factor(residual, weights))


def wander(times: np.ndarray, peaks: np.ndarray, weights: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """How far the next scan's slope may lie from this one's, channels per second, for a signal
    whose path wanders: the change of slope between the scan's two halves beyond what their
    noise explains (the difference less twice its standard error, in quadrature), over sqrt(2)
    (a random walk's slopes over two halves differ by about twice a scan slope's spread, and two
    scans' slopes by sqrt(2) times it). Only a continuous path counts: where a bin's peak moves
    more than :data:`WANDER_JUMP_CHANNELS` off the line from the bin before (a second signal in
    the window, a burst's off bins, noise), the halves disagree for another reason, and the
    wander is 0 -- a drifting technosignature crossing RFI must not have its drift made vague.
    A straight line's halves agree (0); a random walk's or a chirp's do not. Bins that weigh nothing
    (a stray noise peak :func:`bin_peaks` gave no height) are skipped: the path runs from the bin
    before them to the bin after. ``residual``: the peaks' residuals from the whole scan's line."""
    half = times < np.median(times)
    first, first_var, _ = _weighted_line(times[half], peaks[:, half], weights[:, half])
    second, second_var, _ = _weighted_line(times[~half], peaks[:, ~half], weights[:, ~half])
    counted = weights > 1e-9
    last = np.maximum.accumulate(np.where(counted, np.arange(times.size), 0), axis=1)
    path = np.take_along_axis(residual, last, axis=1)  # each bin: the residual of the last bin that counts
    step = np.where(counted[:, 1:] & np.logical_or.accumulate(counted, axis=1)[:, :-1], np.abs(np.diff(path, axis=1)), 0.0)
    with np.errstate(invalid="ignore"):
        excess = (first - second) ** 2 - 4 * (first_var + second_var)
        continuous = np.nan_to_num(step).max(axis=1) <= WANDER_JUMP_CHANNELS
    return np.where(continuous & (excess > 0), np.sqrt(np.clip(np.nan_to_num(excess), 0, None) / 2), 0.0)


def path_factor(residual: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """How much more a slope's variance is than independent residuals say, when they run together:
    (1 + r) / (1 - r), r their weighted lag-1 autocorrelation clipped to [0, MAX_AUTOCORRELATION]
    (the effective number of points n (1 - r) / (1 + r) of a trend fitted through AR(1) noise).
    A line's residuals are noise, r ~ 0, the factor ~1; a path that wanders or curves (a random-walk
    carrier, a chirp) leaves long runs of one sign, r near 1: its fitted slope is a local slope that
    the next scan will not share, and its error says so. (A file of 8 integrations repeats each in
    two bins: r ~ 0.5 from noise, the factor ~3, where 16 bins of 8 independent values undercount the
    variance by 2.)"""
    pair = np.sqrt(weights[:, 1:] * weights[:, :-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ((pair * residual[:, 1:] * residual[:, :-1]).sum(axis=1)
             / (pair * (residual[:, 1:] ** 2 + residual[:, :-1] ** 2) / 2).sum(axis=1))
    r = np.clip(np.nan_to_num(r), 0.0, MAX_AUTOCORRELATION)
    return (1 + r) / (1 - r)


def drift_error_hz_s(images: np.ndarray, channel_hz: float, time_bin_s: float,
                     known: np.ndarray | None = None) -> np.ndarray:
    """Standard error (Hz/s) of the drift rate of each normalised (n, 16, 256) snippet: the
    line's error (:func:`fit_line`), or where ``known`` (Hz/s, NaN: not known) gives it, that
    (a dedoppler track's drift is known to the search's resolution however noisy its bins are),
    combined in quadrature with how much the path wanders (:func:`wander`): a random-walk
    carrier's tidy track in one scan is still not the slope it has in the next.
    ``channel_hz`` is the channel width, ``time_bin_s`` the time between bins."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if not len(x):
        return np.empty(0)
    times, peaks, _, weights, variance, residual = _path(x, time_bin_s)
    error = np.full(len(x), np.nan) if known is None else np.asarray(known, dtype=np.float64).copy()
    unknown = ~np.isfinite(error)
    error[unknown] = np.sqrt(variance * path_factor(residual, weights))[unknown] * abs(channel_hz)
    return np.hypot(error, wander(times, peaks, weights, residual) * abs(channel_hz))


def _path(x: np.ndarray, time_bin_s: float = 1.0) -> tuple[np.ndarray, ...]:
    """Bin times, per-bin peaks, heights and weights (:func:`bin_peaks`), and the slope's variance and
    the residuals of the whole picture's line (fitted once) of (n, t, w) pictures."""
    times = np.arange(x.shape[1], dtype=np.float64) * time_bin_s
    peaks, heights = bin_peaks(x, times)
    weights = np.clip(heights, 1e-12, None)
    _, variance, residual = _weighted_line(times, peaks, weights)
    return times, peaks, heights, weights, variance, residual


def _stack(pictures: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Pictures as one (n, t, w) array."""
    return np.asarray(pictures, dtype=dtype).reshape(-1, *np.shape(pictures)[-2:])


def is_comb(pictures: np.ndarray) -> np.ndarray:
    """Whether each (n, 16, 256) picture's time-collapsed spectrum holds at least
    :data:`COMB_MIN_TONES` evenly spaced tones: a comb, whatever its spacing or number of tones.
    Measured on the spectrum as observed (a stationary comb's tones stay in their channels; a
    drifting one's smear and are not seen as tones)."""
    profiles = _stack(pictures, np.float64).mean(axis=1)
    median = np.median(profiles, axis=1, keepdims=True)
    noise = np.clip(1.4826 * np.median(np.abs(profiles - median), axis=1, keepdims=True), 1e-12, None)
    out = np.zeros(len(profiles), bool)
    for i, z in enumerate((profiles - median) / noise):
        tones, _ = signal.find_peaks(z, height=COMB_TONE_SNR, prominence=COMB_TONE_PROMINENCE,
                                     distance=COMB_MIN_SPACING)
        if len(tones) >= COMB_MIN_TONES:
            spacing = np.diff(tones)
            out[i] = spacing.std() < COMB_SPACING_SPREAD * spacing.mean()
    return out


def intensity_modulation(pictures: np.ndarray) -> np.ndarray:
    """How much each (n, 16, 256) picture's signal changes in strength from time bin to time bin:
    the coefficient of variation of its per-bin heights (:func:`bin_peaks`) with the noise's share
    of their variance taken away. Steady lines measure 0, wandering ones up to ~0.2, pulse trains
    and bursts 0.3-0.5 at the median (up to 1)."""
    return modulation_and_chirping(pictures)[0]


def chirping(pictures: np.ndarray) -> np.ndarray:
    """How much each (n, 16, 256) picture's path bends, channels per picture row: :func:`wander` of
    its per-row peaks (the change of slope between the picture's halves beyond what their noise
    explains; 0 for a straight line of any drift, for a burst or a wide signal whose peaks jump)."""
    return modulation_and_chirping(pictures)[1]


def modulation_and_chirping(pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`intensity_modulation` and :func:`chirping` of each picture, its per-bin peaks found once
    (the RFI build measures both on every classed member)."""
    x = _stack(pictures)
    if not len(x):
        return np.empty(0), np.empty(0)
    times, peaks, heights, weights, _, residual = _path(x)
    median = np.median(x, axis=2, keepdims=True)
    noise_variance = ((1.4826 * np.median(np.abs(x - median), axis=2)) ** 2).mean(axis=1)
    level = np.clip(heights, 0, None)
    spread = np.sqrt(np.clip(level.var(axis=1) - noise_variance, 0, None))
    return spread / np.clip(level.mean(axis=1), 1e-9, None), wander(times, peaks, weights, residual)
