"""What snippet pictures need from the catalogue and the files: each snippet's physical scale
(``rficat.plots`` draws; it never reads anything itself). Cadence pictures come from
:mod:`rficat.catalogue.tracks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.io import FilterbankReader
from rficat.plots import SnippetAxes
from rficat.science import snippets


def snippet_axes(engine: Engine, ids: Sequence[int]) -> list[SnippetAxes]:
    """The physical scale of each stored snippet (channel width, seconds per time bin, drift
    removed), in the order of ``ids``."""
    ids = [int(i) for i in ids]
    if not ids:
        return []
    n_bins = snippets.SNIPPET_SHAPE[0]
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.id, o.foff_mhz, o.tsamp_s, o.n_integrations, s.dedrift_hz_s FROM snippets s"
            " JOIN observations o ON o.id = s.observation_id WHERE s.id = ANY(:ids)"), {"ids": ids}).all()
    by_id = {r.id: SnippetAxes(r.foff_mhz * 1e6, max(r.tsamp_s * r.n_integrations / n_bins, r.tsamp_s),
                               r.dedrift_hz_s or 0.0) for r in rows}
    return [by_id[i] for i in ids]


def file_snippet_axes(path: str | Path, coarse_channel_width: int | None = None) -> SnippetAxes:
    """The physical scale of a snippet cut from a file (no drift removed)."""
    with FilterbankReader(path, coarse_channel_width) as reader:
        header = reader.header
    n_bins = snippets.SNIPPET_SHAPE[0]
    return SnippetAxes(header.foff_mhz * 1e6, max(header.obs_length_s / n_bins, header.tsamp_s))
