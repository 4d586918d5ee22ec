"""Realistic synthetic observations, built on setigen, written as real .h5 and .fil files.

Each coarse channel is a setigen ``Frame`` with chi-squared radiometer noise (degrees of
freedom set by the channel width and integration time, as in real data); signals are injected
with setigen paths and profiles; then the polyphase-filterbank bandpass (flat top, steep
roll-off at both edges, ripple, a gain per coarse channel) and the DC spike at each coarse
channel's centre are applied, as the real instrument does. Files are written coarse channel
by coarse channel, so a multi-GB benchmark file never sits in memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from rficat.io import open_writer

log = logging.getLogger(__name__)

GBT_FOFF_HZ = -2.7939677238464355
GBT_TSAMP_S = 18.253611008


@dataclass(frozen=True)
class Signal:
    """A signal to inject. ``f_start_mhz`` is its centre frequency at the first integration."""

    f_start_mhz: float
    drift_hz_s: float = 0.0
    snr: float = 30.0
    width_hz: float = 40.0
    f_profile: str = "gaussian"  # gaussian | sinc2 | box | lorentzian
    t_profile: str = "constant"  # constant | intermittent | pulsed
    path: str = "constant"  # constant | wandering
    period_s: float = 60.0  # for intermittent / pulsed / wandering
    label: str = ""


@dataclass(frozen=True)
class ObservationSpec:
    """Layout of a synthetic observation (defaults: GBT high-resolution, scaled down)."""

    n_coarse_channels: int = 4
    coarse_channel_width: int = 1 << 16
    n_integrations: int = 16
    fch1_mhz: float = 2000.0
    foff_hz: float = GBT_FOFF_HZ
    tsamp_s: float = GBT_TSAMP_S
    mjd_start: float = 60000.0
    source_name: str = "SYNTH_TARGET"
    telescope_id: int = 6
    bandpass: bool = True
    dc_spike: bool = True
    seed: int = 0

    @property
    def n_channels(self) -> int:
        return self.n_coarse_channels * self.coarse_channel_width

    def frequency_mhz(self, channel: float | np.ndarray) -> float | np.ndarray:
        return self.fch1_mhz + self.foff_hz * 1e-6 * np.asarray(channel, dtype=np.float64)

    def channel_of(self, f_mhz: float) -> float:
        return (f_mhz - self.fch1_mhz) / (self.foff_hz * 1e-6)

    @property
    def obs_length_s(self) -> float:
        return self.n_integrations * self.tsamp_s

    def header(self) -> dict:
        return {
            "source_name": self.source_name, "telescope_id": self.telescope_id, "machine_id": 10,
            "data_type": 1, "fch1": self.fch1_mhz, "foff": self.foff_hz * 1e-6, "nchans": self.n_channels,
            "nifs": 1, "nbits": 32, "tstart": self.mjd_start, "tsamp": self.tsamp_s,
            "az_start": 0.0, "za_start": 0.0, "barycentric": 0,
            "ibeam": 1, "nbeams": 1, "rawdatafile": "rficat-synth",
        }


# --- signals -----------------------------------------------------------------------------------

def _sinc2_with_sidelobes(width: float):
    """Spectral leakage: sinc^2 with its sidelobes (setigen's default zeroes them after the first null)."""
    import setigen as stg

    return stg.sinc2_f_profile(width=width, trunc=False)


def _profiles(frame, signal: Signal):
    import setigen as stg

    level = frame.get_intensity(signal.snr)
    f_start_hz = signal.f_start_mhz * 1e6
    if signal.path == "wandering":
        path = stg.sine_path(f_start=f_start_hz, drift_rate=signal.drift_hz_s, period=signal.period_s,
                             amplitude=signal.width_hz * 3)
    else:
        path = stg.constant_path(f_start=f_start_hz, drift_rate=signal.drift_hz_s)
    if signal.t_profile == "intermittent":
        t_profile = stg.sine_t_profile(period=signal.period_s, amplitude=level, level=level)
    elif signal.t_profile == "pulsed":
        phase = np.random.default_rng(int(signal.f_start_mhz * 1e3) % 2**31).uniform(0, signal.period_s)
        t_profile = stg.periodic_gaussian_t_profile(
            pulse_width=frame.dt * 1.5, period=signal.period_s, phase=phase, amplitude=level * 2, level=0,
            pulse_direction="up", pnum=1)
    else:
        t_profile = stg.constant_t_profile(level=level)
    f_profile = {
        "gaussian": stg.gaussian_f_profile, "sinc2": _sinc2_with_sidelobes,
        "box": stg.box_f_profile, "lorentzian": stg.lorentzian_f_profile,
    }[signal.f_profile](width=signal.width_hz)
    return path, t_profile, f_profile


SMEAR_MIN_CHANNELS = 0.5
"""A signal that drifts more than this many channels within one integration is Doppler-smeared."""


def smearing_steps(drift_hz_s: float, dt_s: float, df_hz: float) -> int:
    """Copies setigen averages to smear a signal over one integration (0: no smearing needed).

    A real drifting signal spreads its power over every channel it crosses during an
    integration (10 Hz/s crosses 65 GBT channels in 18 s); setigen's ``doppler_smearing``
    averages evenly spaced copies between the path's positions at the integration's start and
    end, here at most half a channel apart so no comb appears.
    """
    channels = abs(drift_hz_s) * dt_s / df_hz
    return 0 if channels <= SMEAR_MIN_CHANNELS else max(10, int(np.ceil(2 * channels)))


def add_signal(frame, signal: Signal) -> None:
    """Inject one signal into a setigen frame, computing only the channels it can touch,
    Doppler-smeared within each integration as a real drifting signal is."""
    path, t_profile, f_profile = _profiles(frame, signal)
    steps = smearing_steps(signal.drift_hz_s, frame.dt, frame.df)
    span_hz = abs(signal.drift_hz_s) * (frame.obs_length + 2 * frame.dt) + 20 * signal.width_hz + 200 * frame.df
    if signal.path == "wandering":
        span_hz += 6 * signal.width_hz
    centre = signal.f_start_mhz * 1e6 + signal.drift_hz_s * frame.obs_length / 2
    frame.add_signal(path, t_profile, f_profile, bounding_f_range=(centre - span_hz, centre + span_hz),
                     doppler_smearing=steps > 0, smearing_subsamples=max(steps, 1))


# --- the instrument ------------------------------------------------------------------------------

def pfb_bandpass(width: int, rng: np.random.Generator) -> np.ndarray:
    """A coarse channel's response: flat top, steep roll-off at both edges, ripple, gain."""
    u = (np.arange(width) + 0.5) / width
    edge = 0.012
    rolloff = 1 / (1 + np.exp(-(u - 0.04) / edge)) / (1 + np.exp((u - 0.96) / edge))
    ripple = 1 + 0.03 * np.sin(2 * np.pi * 6 * u + rng.uniform(0, 2 * np.pi))
    gain = rng.uniform(0.5, 2.0) * 1e6
    return (gain * (0.08 + 0.92 * rolloff) * ripple).astype(np.float32)


def coarse_channel_data(spec: ObservationSpec, index: int, signals: Sequence[Signal]) -> np.ndarray:
    """(n_integrations, width) float32 power of one coarse channel with its signals."""
    import setigen as stg
    from astropy import units as u

    width = spec.coarse_channel_width
    rng = np.random.default_rng([spec.seed, index])
    fch1_mhz = spec.frequency_mhz(index * width)
    frame = stg.Frame(fchans=width, tchans=spec.n_integrations, df=abs(spec.foff_hz) * u.Hz,
                      dt=spec.tsamp_s * u.s, fch1=fch1_mhz * 1e6 * u.Hz, ascending=spec.foff_hz > 0,
                      seed=int(rng.integers(2**31)))
    frame.add_noise(x_mean=1.0, noise_type="chi2")
    for signal in signals:
        add_signal(frame, signal)
    data = frame.data.astype(np.float32)
    if spec.foff_hz < 0:  # setigen keeps columns in ascending frequency; files count down
        data = np.ascontiguousarray(data[:, ::-1])
    if spec.bandpass:
        data *= pfb_bandpass(width, rng)
    if spec.dc_spike:
        dc = width // 2
        data[:, dc - 1:dc + 1] *= 8.0
    return data


# --- truth ---------------------------------------------------------------------------------------

def truth_row(spec: ObservationSpec, signal: Signal) -> dict:
    """Where the signal is: its frequency and file channel at the middle of the observation."""
    f_mid = signal.f_start_mhz + signal.drift_hz_s * spec.obs_length_s / 2 * 1e-6
    channel = spec.channel_of(f_mid)
    return {**asdict(signal), "f_mid_mhz": f_mid, "channel": float(channel),
            "coarse_channel": int(channel // spec.coarse_channel_width)}


def random_signals(spec: ObservationSpec, n: int, rng: np.random.Generator, *,
                   snr: tuple[float, float] = (20, 70), drift: tuple[float, float] = (-2, 2),
                   width: tuple[float, float] = (20, 70), min_separation: int = 2048,
                   edge_margin: float = 0.06, **fields) -> list[Signal]:
    """Signals at random positions (clear of coarse-channel edges and of each other)."""
    width_c = spec.coarse_channel_width
    margin = int(edge_margin * width_c) + 512
    chosen: list[float] = []
    signals = []
    attempts = 0
    while len(signals) < n and attempts < 100 * n:
        attempts += 1
        coarse = rng.integers(spec.n_coarse_channels)
        channel = coarse * width_c + rng.uniform(margin, width_c - margin)
        dc = coarse * width_c + width_c / 2
        if abs(channel - dc) < 512 or any(abs(channel - c) < min_separation for c in chosen):
            continue
        chosen.append(channel)
        d = float(rng.uniform(*drift))
        f_mid = float(spec.frequency_mhz(channel))
        signals.append(Signal(
            f_start_mhz=f_mid - d * spec.obs_length_s / 2 * 1e-6, drift_hz_s=d,
            snr=float(rng.uniform(*snr)), width_hz=float(rng.uniform(*width)), **fields))
    return signals


# --- writers -------------------------------------------------------------------------------------

def _signals_by_coarse_channel(spec: ObservationSpec, signals: Iterable[Signal]) -> dict[int, list[Signal]]:
    groups: dict[int, list[Signal]] = {}
    for signal in signals:
        groups.setdefault(truth_row(spec, signal)["coarse_channel"], []).append(signal)
    return groups


def write_observation(path: str | os.PathLike, spec: ObservationSpec, signals: Sequence[Signal] = (),
                      *, compression: str | None = None, nan_channels: Sequence[int] = ()) -> list[dict]:
    """Write a synthetic observation as .h5 or .fil (by suffix); return its truth table.

    ``compression="bitshuffle"`` writes a bitshuffle-compressed .h5 like the GBT archive's.
    ``nan_channels`` sets those file channels to NaN (to test bad-data handling).
    """
    path = Path(path)
    groups = _signals_by_coarse_channel(spec, signals)
    writer = open_writer(path, spec.header(), spec.n_integrations, spec.n_channels,
                         nfpc=spec.coarse_channel_width, compression=compression)
    try:
        for index in range(spec.n_coarse_channels):
            data = coarse_channel_data(spec, index, groups.get(index, []))
            lo = index * spec.coarse_channel_width
            for c in nan_channels:
                if lo <= c < lo + spec.coarse_channel_width:
                    data[:, c - lo] = np.nan
            writer.write(lo, data)
    finally:
        writer.close()
    return [truth_row(spec, s) for s in signals]


def demo_cadence(directory: str | os.PathLike, *, spec: ObservationSpec | None = None, n_rfi: int = 12,
                 n_eti: int = 2, seed: int = 1) -> list[tuple[Path, str, list[dict]]]:
    """An ABACAD cadence: RFI in every scan, ETI-like drifting signals only in the ON scans.

    Returns (path, role, truth) per scan. ON scans carry the target's source name.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    spec = spec or ObservationSpec(seed=seed)
    rng = np.random.default_rng(seed)
    rfi = random_signals(spec, n_rfi, rng, drift=(-0.05, 0.05), label="rfi")
    eti = random_signals(spec, n_eti, rng, drift=(0.3, 1.5), label="eti")
    eti = [s for s in eti if all(abs(s.f_start_mhz - r.f_start_mhz) > 0.02 for r in rfi)]
    scans = []
    for position, letter in enumerate("ABACAD"):
        on = letter == "A"
        t0 = spec.mjd_start + position * spec.obs_length_s / 86400
        scan_spec = replace(spec, source_name="SYNTH_TARGET" if on else f"SYNTH_OFF_{letter}",
                            mjd_start=t0, seed=seed * 100 + position)
        # ETI signals keep drifting between scans: shift their start by the elapsed time
        elapsed = position * spec.obs_length_s
        scan_signals = list(rfi)
        if on:
            scan_signals += [replace(s, f_start_mhz=s.f_start_mhz + s.drift_hz_s * elapsed * 1e-6) for s in eti]
        path = directory / f"scan{position}_{letter}_{scan_spec.source_name}.h5"
        scans.append((path, "ON" if on else "OFF", write_observation(path, scan_spec, scan_signals)))
    return scans


__all__ = ["Signal", "ObservationSpec", "write_observation", "random_signals", "truth_row",
           "demo_cadence", "coarse_channel_data"]
