"""``rficat.search``: lookalike search from a notebook, the public facade of ``rficat.catalogue``.

Every function calls the documented SQL functions with bound parameters and returns pandas
DataFrames; weights of saved models are looked up in ``$RFICAT_HOME/models``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from rficat.catalogue.models import current_model_id, make_model_current
from rficat.catalogue.search import (
    Filters,
    Soi,
    lookalikes,
    lookalikes_of_vector,
    match_snippets,
    soi_from_catalogue,
    soi_from_file,
)
from rficat.catalogue.search import query as _query
from rficat.catalogue.templates import (
    run_template,
    save_template_search,
    template_snippet,
)
from rficat.config import load_settings


def query(engine: Engine, soi: Soi, k: int = 10, *, models_dir: Path | None = None, **options) -> pd.DataFrame:
    """Encode a signal of interest with the catalogue's current model and search (see
    ``rficat.catalogue.search.query`` for the options)."""
    return _query(engine, soi, k, models_dir=models_dir or load_settings().models_dir, **options)


__all__ = ["Filters", "Soi", "current_model_id", "lookalikes", "lookalikes_of_vector", "make_model_current",
           "match_snippets", "query", "run_template", "save_template_search", "soi_from_catalogue", "soi_from_file",
           "template_snippet"]
