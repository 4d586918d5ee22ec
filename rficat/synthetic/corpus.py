"""Synthetic snippet corpora: RFI-like morphology families for training and evaluation.

Each snippet is a 16 x 256 setigen frame with chi-squared radiometer noise (unit mean, as
after bandpass division) and at most one emitter drawn from a morphology family, then
normalised as every catalogue snippet is. Families:

- ``narrowband``: stationary carrier, 5-40 Hz wide
- ``drifting``: carrier drifting 0.2-4 Hz/s either way
- ``broadband_pulsed``: a few hundred Hz wide, on for one or two integrations
- ``comb``: 3-6 equally spaced carriers
- ``sinc``: the main lobe of a sinc^2 profile (setigen truncates it at the first null), possibly drifting
- ``intermittent``: carrier switching on and off (sinusoidal envelope)
- ``wandering``: carrier whose frequency wanders sinusoidally
- ``noise``: no signal (half of a training corpus, as the paper balanced signal and noise)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rficat.science.snippets import normalise
from rficat.synthetic.synth import GBT_FOFF_HZ, GBT_TSAMP_S

FAMILIES = ("narrowband", "drifting", "broadband_pulsed", "comb", "sinc", "intermittent", "wandering")
DF_HZ = abs(GBT_FOFF_HZ)
FCH1_HZ = 2.0e9


@dataclass(frozen=True)
class Emitter:
    """One signal in a 16 x 256 snippet; channel is its centre at the first integration."""

    family: str
    channel: float
    snr: float
    drift_hz_s: float = 0.0
    width_hz: float = 30.0
    extra: float = 0.0  # comb spacing (channels) / wandering period (s) / pulse integration


def _frame(rng: np.random.Generator):
    import setigen as stg
    from astropy import units as u

    frame = stg.Frame(fchans=256, tchans=16, df=DF_HZ * u.Hz, dt=GBT_TSAMP_S * u.s, fch1=FCH1_HZ * u.Hz,
                      ascending=True, seed=int(rng.integers(2**31)))
    frame.add_noise(x_mean=1.0, noise_type="chi2")
    return frame


def _add(frame, emitter: Emitter) -> None:
    import setigen as stg

    level = frame.get_intensity(emitter.snr)
    f0 = FCH1_HZ + emitter.channel * DF_HZ
    drift, width = emitter.drift_hz_s, emitter.width_hz
    if emitter.family == "comb":
        for k in range(int(emitter.extra // 1000) or 4):
            spacing = emitter.extra % 1000
            frame.add_signal(stg.constant_path(f_start=f0 + k * spacing * DF_HZ, drift_rate=drift),
                             stg.constant_t_profile(level=level), stg.gaussian_f_profile(width=width))
        return
    if emitter.family == "broadband_pulsed":
        on = int(emitter.extra) % 16
        profile = np.zeros(16)
        profile[on:on + 1 + int(emitter.extra >= 16)] = level * 4
        frame.add_signal(stg.constant_path(f_start=f0, drift_rate=0.0), profile,
                         stg.box_f_profile(width=width))
        return
    path = stg.constant_path(f_start=f0, drift_rate=drift)
    t_profile = stg.constant_t_profile(level=level)
    f_profile = stg.gaussian_f_profile(width=width)
    if emitter.family == "sinc":
        f_profile = stg.sinc2_f_profile(width=width)
    elif emitter.family == "intermittent":
        t_profile = stg.sine_t_profile(period=emitter.extra, amplitude=level, level=level)
    elif emitter.family == "wandering":
        path = stg.sine_path(f_start=f0, drift_rate=drift, period=emitter.extra, amplitude=width * 2)
    frame.add_signal(path, t_profile, f_profile)


def random_emitter(family: str, rng: np.random.Generator, snr: tuple[float, float] = (15, 80)) -> Emitter:
    """An emitter of the family with random parameters, placed anywhere in the window."""
    snr_value = float(rng.uniform(*snr))
    channel = float(rng.uniform(40, 216))
    if family == "narrowband":
        return Emitter(family, channel, snr_value, float(rng.uniform(-0.05, 0.05)), float(rng.uniform(5, 40)))
    if family == "drifting":
        drift = float(rng.uniform(0.2, 4.0) * rng.choice([-1, 1]))
        channel = 128 - drift * GBT_TSAMP_S * 8 / DF_HZ + rng.uniform(-40, 40)
        return Emitter(family, channel, snr_value, drift, float(rng.uniform(10, 70)))
    if family == "broadband_pulsed":
        return Emitter(family, channel, snr_value, 0.0, float(rng.uniform(150, 500)),
                       float(rng.integers(0, 16) + 16 * rng.integers(0, 2)))
    if family == "comb":
        spacing = float(rng.integers(12, 40))
        n = int(rng.integers(3, 7))
        start = float(rng.uniform(20, max(21, 236 - (n - 1) * spacing)))
        return Emitter(family, start, snr_value, float(rng.uniform(-0.3, 0.3)), float(rng.uniform(5, 25)),
                       n * 1000 + spacing)
    if family == "sinc":
        return Emitter(family, channel, snr_value, float(rng.uniform(-1, 1)), float(rng.uniform(30, 120)))
    if family == "intermittent":
        return Emitter(family, channel, snr_value, float(rng.uniform(-0.2, 0.2)), float(rng.uniform(10, 50)),
                       float(rng.uniform(60, 200)))
    if family == "wandering":
        return Emitter(family, channel, snr_value, 0.0, float(rng.uniform(10, 30)), float(rng.uniform(80, 250)))
    raise ValueError(f"unknown morphology family {family!r}; known: {', '.join(FAMILIES)}")


def render(emitters: Sequence[Emitter | None], seed: int = 0) -> np.ndarray:
    """Normalised (n, 16, 256) snippets, one per emitter (None: noise only)."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(emitters), 16, 256), dtype=np.float32)
    for i, emitter in enumerate(emitters):
        frame = _frame(rng)
        if emitter is not None:
            _add(frame, emitter)
        out[i] = frame.data
    return normalise(out)


def training_corpus(n: int, families: Sequence[str] = FAMILIES, seed: int = 0,
                    noise_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(snippets, family labels): ``noise_fraction`` noise, the rest spread evenly over families."""
    rng = np.random.default_rng(seed)
    n_noise = int(round(n * noise_fraction))
    labels = ["noise"] * n_noise + [families[i % len(families)] for i in range(n - n_noise)]
    labels = list(rng.permutation(labels))
    emitters = [None if f == "noise" else random_emitter(f, rng) for f in labels]
    return render(emitters, seed=int(rng.integers(2**31))), np.asarray(labels)


def synthetic_pairs(n: int, families: Sequence[str] = FAMILIES, seed: int = 0,
                    max_shift: float = 30.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two views of n random emitters (families in turn): shifted, SNR-jittered, fresh noise."""
    rng = np.random.default_rng(seed)
    labels = np.asarray([families[i % len(families)] for i in range(n)])
    emitters = [random_emitter(f, rng) for f in labels]

    def view(e: Emitter) -> Emitter:
        return dataclasses.replace(e, channel=e.channel + rng.uniform(-max_shift, max_shift),
                                   snr=e.snr * rng.uniform(0.7, 1.3))

    a = render([view(e) for e in emitters], seed=int(rng.integers(2**31)))
    b = render([view(e) for e in emitters], seed=int(rng.integers(2**31)))
    return a, b, labels
