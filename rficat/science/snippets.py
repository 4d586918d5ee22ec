"""Snippet normalisation and compact storage.

A snippet is a (16, 256) window of bandpass-divided power. The model sees it as the paper
did: log, shifted positive, min-max scaled to [0, 1], per snippet. It is stored quantised to
uint8 (4 KiB, which fits in a PostgreSQL row; float16 at 8 KiB does not and went through
TOAST at less than half the speed). The step, 1/255, is ~25 times smaller than the noise of a
normalised snippet. Ingest encodes the quantised snippet, so vectors recomputed later from
the stored bytes are the vectors computed at ingest.
"""

from __future__ import annotations

import numpy as np

SNIPPET_SHAPE = (16, 256)
"""Time bins x frequency channels of every snippet (Ma et al. 2023)."""

STORAGE_DTYPE = np.dtype(np.uint8)
_LEVELS = np.float32(255)
_TINY = np.float32(1e-12)


def normalise(windows: np.ndarray) -> np.ndarray:
    """Per-snippet log, shift positive, min-max to [0, 1]; input (n, 16, 256) or (16, 256).

    Non-positive values are clipped to a tiny positive number before the log; non-finite
    values become the snippet's minimum; a constant snippet becomes all zeros.
    """
    x = np.asarray(windows, dtype=np.float32)
    single = x.ndim == 2
    if single:
        x = x[None]
    if x.shape[1:] != SNIPPET_SHAPE:
        raise ValueError(f"snippets must have shape (n, 16, 256), got {x.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.log(np.clip(x, _TINY, None))
    finite = np.isfinite(x)
    lo = np.where(finite, x, np.inf).min(axis=(1, 2), keepdims=True)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    x = np.where(finite, x, lo) - lo
    span = x.max(axis=(1, 2), keepdims=True)
    x = np.divide(x, span, out=np.zeros_like(x), where=span > 0)
    return x[0] if single else x


def quantise(snippets: np.ndarray) -> np.ndarray:
    """Normalised snippets (values in [0, 1]) in the stored uint8 form."""
    x = np.clip(np.asarray(snippets, dtype=np.float32), 0.0, 1.0)
    return np.rint(x * _LEVELS).astype(STORAGE_DTYPE)


def dequantise(stored: np.ndarray) -> np.ndarray:
    """The float32 snippets that stored uint8 values stand for."""
    return np.asarray(stored, dtype=np.float32) / _LEVELS


def to_bytes(snippet: np.ndarray) -> bytes:
    """One normalised (16, 256) snippet in the stored form: uint8, row-major (4 KiB)."""
    return quantise(snippet).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """The inverse of :func:`to_bytes`, as float32."""
    return dequantise(np.frombuffer(data, dtype=STORAGE_DTYPE)).reshape(SNIPPET_SHAPE)
