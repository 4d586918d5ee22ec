"""Template search as a batch job: many synthetic templates, results kept for later SQL.

Each template (shape, drift, width, SNR, optional frequency) is rendered with setigen, encoded
with the catalogue's current model and searched; the search and its matches land in
`template_searches` / `template_matches` under this flow run's name:

    SELECT t.template, m.rank, m.similarity, s.f_center_mhz
    FROM template_searches t JOIN template_matches m ON m.search_id = t.id
    JOIN snippets s ON s.id = m.snippet_id WHERE t.job = 'drift-survey';

    python flows/template_search.py templates.json [--job NAME] [-k 50]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rficat import db, search  # noqa: E402
from rficat.config import load_settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import lost_connection  # noqa: E402

TEMPLATE_KEYS = ("shape", "drift_hz_s", "width_hz", "snr", "f_center_mhz")


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection,
      task_run_name="templates {first}..{last}")
def search_templates(templates: list[dict], k: int, job: str, first: int, last: int) -> list[dict]:
    out = []
    with db.open_catalogue(load_settings()) as catalogue:
        model_id, _ = search.encoder_for(catalogue.engine)
        for template in templates:
            snippet = search.template_snippet(template.get("shape", "drifting"), template.get("drift_hz_s", 0.0),
                                              template.get("width_hz", 30.0), template.get("snr", 30.0))
            soi = search.Soi(snippet, template.get("f_center_mhz"), json.dumps(template))
            results = search.query(catalogue.engine, soi, k, model_id=model_id)
            search_id = search.save_template_search(catalogue.engine, template, soi, results, model_id, job)
            out.append({"search_id": search_id, **template, "best_similarity":
                        float(results["similarity"].iloc[0]) if len(results) else None})
    return out


@flow(name="template-search", log_prints=True)
def template_search(templates: list[dict], k: int = 20, job: str | None = None,
                    templates_per_task: int = 25) -> list[dict]:
    """Search every template; returns one row per template with its template_searches id."""
    unknown = {key for t in templates for key in t} - set(TEMPLATE_KEYS)
    if unknown:
        raise ValueError(f"unknown template keys {sorted(unknown)}; use {', '.join(TEMPLATE_KEYS)}")
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
    print(json.dumps(template_search(json.loads(args.templates.read_text()), args.k, args.job), indent=2))
