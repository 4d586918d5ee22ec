"""Stored snippets as training data (``rficat train --from-db``)."""

from __future__ import annotations

import numpy as np
from sqlalchemy.engine import Engine

from rficat.errors import RficatError
from rficat.science.snippets import from_bytes
from rficat.store import db


def snippet_arrays(engine: Engine, limit: int, seed: int = 0) -> np.ndarray:
    """A random sample of stored snippets (signal and noise) as (n, 16, 256) float32: a Bernoulli
    sample of the table (never a sort of the whole catalogue), then ``limit`` of it drawn with the seed."""
    with db.raw_connection(engine) as conn:
        rows = db.bernoulli_rows(conn, "SELECT s.id, a.data FROM snippets s {tablesample}"
                                 " JOIN snippet_arrays a ON a.snippet_id = s.id", (), "snippets", limit, seed)
    if not rows:
        raise RficatError("the catalogue has no snippets to train on; ingest observations first")
    return np.stack([from_bytes(data) for _, data in db.draw(rows, limit, seed)])
