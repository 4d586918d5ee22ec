"""Template search as a batch job: many synthetic templates, results kept for later SQL.

Each template (shape, drift, width, SNR, optional frequency) is rendered with setigen, encoded
with the catalogue's current model and searched; the search and its matches land in
`template_searches` / `template_matches` under this flow run's name:

    SELECT t.template, m.rank, m.similarity, s.f_center_mhz
    FROM template_searches t JOIN template_matches m ON m.search_id = t.id
    JOIN snippets s ON s.id = m.snippet_id WHERE t.job = 'drift-survey';

    python -m rficat.flows.template_search templates.json [--job NAME] [-k 50]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

from rficat.catalogue import models
from rficat.catalogue import templates as template_search_
from rficat.config import load_settings
from rficat.flows.ingest import lost_connection
from rficat.store import db


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection,
      task_run_name="templates {first}..{last}")
def search_templates(templates: list[dict], k: int, job: str, first: int, last: int) -> list[dict]:
    out = []
    settings = load_settings()
    with db.open_catalogue(settings) as catalogue:
        model_id = models.require_current_model(catalogue.engine)
        for template in templates:
            search_id, _, results = template_search_.run_template(
                catalogue.engine, template, k, model_id=model_id, models_dir=settings.models_dir, job=job)
            out.append({"search_id": search_id, **template, "best_similarity":
                        float(results["similarity"].iloc[0]) if len(results) else None})
    return out


@flow(name="template-search", log_prints=True)
def template_search(templates: list[dict], k: int = 20, job: str | None = None,
                    templates_per_task: int = 25) -> list[dict]:
    """Search every template; returns one row per template with its template_searches id."""
    unknown = {key for t in templates for key in t} - set(template_search_.DEFAULTS)
    if unknown:  # before any task runs
        raise ValueError(f"unknown template keys {sorted(unknown)}; use {', '.join(template_search_.DEFAULTS)}")
    job = job or flow_run.get_name() or "template-search"
    rows = []
    for start in range(0, len(templates), templates_per_task):
        batch = templates[start:start + templates_per_task]
        rows += search_templates(batch, k, job, start, start + len(batch) - 1)
    get_run_logger().info("job %s: %d templates searched, k = %d", job, len(rows), k)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("templates", type=Path, help="JSON list of templates")
    parser.add_argument("--job", default=None)
    parser.add_argument("-k", type=int, default=20)
    args = parser.parse_args()
    from rficat.flows import temporary_server

    temporary_server.start()  # without PREFECT_API_URL: one that ends with this process
    print(json.dumps(template_search(json.loads(args.templates.read_text()), args.k, args.job), indent=2))
