"""Stored snippets as training data (``rficat train --from-db``)."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.errors import RficatError
from rficat.science.snippets import from_bytes


def snippet_arrays(engine: Engine, limit: int, seed: int = 0) -> np.ndarray:
    """A random sample of stored snippets (signal and noise) as (n, 16, 256) float32."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        rows = conn.execute(sa.text(
            "SELECT a.data FROM (SELECT id, random() AS r FROM snippets ORDER BY r LIMIT :n) s"
            " JOIN snippet_arrays a ON a.snippet_id = s.id ORDER BY s.r"), {"n": limit}).scalars().all()
    if not rows:
        raise RficatError("the catalogue has no snippets to train on; ingest observations first")
    return np.stack([from_bytes(r) for r in rows])
