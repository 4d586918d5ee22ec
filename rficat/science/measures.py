"""Physical measures of a stored snippet that detection does not report: how well its drift is known.

A drift rate is a line fitted through the signal's position in each time bin. For a steady
carrier the positions sit on the line and the drift is known to a fraction of a channel over
the scan; for a burst that is on in a few bins, a comb or a 300 Hz wide box, the positions
scatter and the drift is known to tenths of a Hz/s. Verdicts compare drift rates, so they need
to know which: the standard error of the fitted slope says it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SMOOTH_CHANNELS = 5  # as detect.drift_slopes: the peak of a 5-channel running mean


def drift_error_hz_s(images: np.ndarray, channel_hz: float, time_bin_s: float) -> np.ndarray:
    """Standard error (Hz/s) of the drift rate of each normalised (n, 16, 256) snippet.

    A weighted least-squares line through each time bin's peak channel (weights: the peak's
    height over the bin's median, so bins where the signal is off count little); its slope's
    standard error from the weighted residual scatter, with the effective number of bins.
    ``channel_hz`` is the channel width, ``time_bin_s`` the time between bins.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if not len(x):
        return np.empty(0)
    smooth = ndimage.uniform_filter1d(x, size=SMOOTH_CHANNELS, axis=2, mode="nearest")
    peaks = smooth.argmax(axis=2).astype(np.float64)  # (n, t)
    weights = np.clip(smooth.max(axis=2) - np.median(smooth, axis=2), 1e-6, None).astype(np.float64)
    times = np.arange(x.shape[1], dtype=np.float64) * time_bin_s
    wsum = weights.sum(axis=1)
    t_mean = (weights * times).sum(axis=1) / wsum
    p_mean = (weights * peaks).sum(axis=1) / wsum
    dt = times[None, :] - t_mean[:, None]
    var = (weights * dt**2).sum(axis=1)
    slope = (weights * dt * (peaks - p_mean[:, None])).sum(axis=1) / var
    residual = peaks - p_mean[:, None] - slope[:, None] * dt
    n_eff = wsum**2 / (weights**2).sum(axis=1)
    scatter = (weights * residual**2).sum(axis=1) / wsum * n_eff / np.clip(n_eff - 2, 1, None)
    return np.sqrt(scatter / var * wsum / n_eff) * abs(channel_hz)
