"""Per-snippet normalisation (log, shift, min-max) and compact storage."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from rficat.science import snippets


def test_normalise_range_and_order():
    rng = np.random.default_rng(0)
    x = rng.chisquare(50, size=(3, 16, 256)).astype(np.float32) / 50
    out = snippets.normalise(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert_allclose(out.min(axis=(1, 2)), 0) and assert_allclose(out.max(axis=(1, 2)), 1)
    # monotonic: log and min-max keep the order of pixel values
    assert np.array_equal(np.argsort(out[0].ravel()), np.argsort(x[0].ravel()))


def test_normalise_guards_constant_and_bad_values():
    x = np.ones((2, 16, 256), dtype=np.float32)
    x[1, 0, :10] = np.nan
    x[1, 1, :10] = -5.0
    x[1, 2, :10] = 3.0
    out = snippets.normalise(x)
    assert np.isfinite(out).all()
    assert_allclose(out[0], 0)
    assert out[1].min() == 0 and out[1].max() == 1


def test_single_snippet_and_wrong_shape():
    assert snippets.normalise(np.ones((16, 256))).shape == (16, 256)
    with pytest.raises(ValueError, match="16, 256"):
        snippets.normalise(np.ones((4, 16, 128)))


def test_bytes_round_trip():
    x = snippets.normalise(np.random.default_rng(1).random((16, 256)).astype(np.float32) + 0.5)
    data = snippets.to_bytes(x)
    assert len(data) == 16 * 256  # uint8: a row of PostgreSQL, no TOAST
    assert_allclose(snippets.from_bytes(data), x, atol=0.5 / 255 + 1e-7)
    assert snippets.to_bytes(snippets.from_bytes(data)) == data  # stable under re-quantising
