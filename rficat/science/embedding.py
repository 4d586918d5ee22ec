"""The frequency embedding of Ma et al. (2023): a transformer positional encoding of frequency.

The band is cut into chunks of ``chunk_mhz`` (the paper: ~1 MHz, L = 1000 chunks over
1.8-2.9 GHz at GBT). A snippet at frequency f falls in chunk

    k = floor((f - band_start_mhz) / chunk_mhz)

and its d-dimensional encoding is, for i = 0 .. ceil(d/2) - 1,

    P(k, 2i)     = sin(k / n^(2i/d))
    P(k, 2i + 1) = cos(k / n^(2i/d))          (n = 10000)

The frequency-embedded vector is ``latent + weight * P(k)``: weight 0 searches by morphology
alone; larger weights make nearby frequencies count more against morphology (the norm of P
is about sqrt(d/2), comparable to a latent vector under the VAE's N(0, 1) prior at weight 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FrequencyEmbedding:
    """Band, chunking and weight of the frequency embedding; one per telescope / receiver."""

    band_start_mhz: float = 1000.0
    chunk_mhz: float = 1.0
    n: float = 10000.0
    weight: float = 1.0

    def chunk(self, freqs_mhz: np.ndarray) -> np.ndarray:
        return np.floor((np.asarray(freqs_mhz, dtype=np.float64) - self.band_start_mhz) / self.chunk_mhz)

    def encoding(self, freqs_mhz: np.ndarray, dim: int) -> np.ndarray:
        """(n, dim) positional encodings P(k) of the frequencies' chunks."""
        k = self.chunk(freqs_mhz)[:, None]
        i = np.arange(dim) // 2
        angles = k / self.n ** (2 * i / dim)
        return np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles)).astype(np.float32)

    def apply(self, latent: np.ndarray, freqs_mhz: np.ndarray) -> np.ndarray:
        latent = np.asarray(latent, dtype=np.float32)
        freqs = np.asarray(freqs_mhz, dtype=np.float64).reshape(-1)
        if freqs.shape[0] != latent.shape[0]:
            raise ValueError(f"{latent.shape[0]} vectors but {freqs.shape[0]} frequencies")
        return latent + self.weight * self.encoding(freqs, latent.shape[1])


GBT_SBAND = FrequencyEmbedding(band_start_mhz=1800.0, chunk_mhz=1.1)
"""The paper's setting: 1000 chunks of 1.1 MHz over GBT's 1.8-2.9 GHz band."""

DEFAULT = FrequencyEmbedding()
"""1 MHz chunks from 1 GHz: L-band to X-band receivers get distinct, stable chunk indices."""
