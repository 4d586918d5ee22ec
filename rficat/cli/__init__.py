"""The ``rficat`` command line.

Results go to stdout (``--json``: only JSON, a list of objects or one object); progress and
logs go to stderr. Every user error is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rficat.errors import RficatError

log = logging.getLogger("rficat")

Handler = Callable[[argparse.Namespace], Any]
_verbosity: int | None = None  # set by main(); None when the CLI is used as a library (tests)


def note(message: str) -> None:
    """Ordinary information for the person at the terminal (not a warning): one line on stderr."""
    print(f"rficat: {message}", file=sys.stderr)


class _StderrHandler(logging.Handler):
    """Log records as ``origin: level: message`` lines on whatever ``sys.stderr`` is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and self.level <= logging.DEBUG:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            sys.stderr.write(f"{record.name.split('.')[0]}: {record.levelname.lower()}: {message}\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def _configure_logging(verbosity: int) -> None:
    """rficat's log lines on stderr: warnings and errors, plus info (-v) and debug (-vv). Replaces
    Prefect's console handler too, once Prefect is loaded (see load_flows)."""
    global _verbosity
    _verbosity = verbosity
    level = logging.WARNING - 10 * min(verbosity, 2)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler) or type(handler).__name__ == "PrefectConsoleHandler":
            root.removeHandler(handler)
    handler = _StderrHandler(level)
    root.addHandler(handler)
    root.setLevel(min(level, logging.WARNING))
    logging.captureWarnings(True)  # Python warnings become "py: warning: ..." lines, shown at -v only
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbosity else logging.ERROR)
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        # flow and task run logs still reach Prefect (its API log handler); the terminal gets the
        # CLI's own progress and one line per error instead, unless asked for more (-v)
        logging.getLogger(name).propagate = verbosity > 0


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _print_mapping(obj: dict[str, Any], indent: int = 0) -> None:
    width = max((len(k) for k in obj), default=0)
    for key, value in obj.items():
        if isinstance(value, dict):
            print(" " * indent + f"{key}:")
            _print_mapping(value, indent + 2)
        else:
            print(" " * indent + f"{key:<{width}}  {value}")


def emit(obj: Any, as_json: bool) -> None:
    """Print a result: JSON for scripts, an aligned listing for people."""
    if as_json:
        _print_json(obj)
    elif isinstance(obj, dict):
        _print_mapping(obj)
    else:
        print(obj)


# --- db ----------------------------------------------------------------------------------------

def _settings():
    from rficat.config import load_settings

    return load_settings()


def cmd_db_init(args: argparse.Namespace) -> None:
    from rficat.store import db

    settings = _settings()
    cat = db.init_catalogue(settings)
    try:
        emit({"database": db.describe_url(cat.url), "revision": db.current_revision(cat.engine),
              "embedded": settings.uses_embedded_db}, args.json)
    finally:
        cat.dispose()


def cmd_db_status(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from rficat.store import db

    settings = _settings()
    url = db.database_url(settings)
    engine = db.make_engine(url)
    try:
        db.check_connection(engine)
        with engine.connect() as conn:
            server = conn.execute(sa.text("SHOW server_version")).scalar_one()
            vector = conn.execute(sa.text("SELECT extversion FROM pg_extension WHERE extname='vector'")).scalar()
        revision = db.current_revision(engine)
        status = {
            "database": db.describe_url(url),
            "embedded": settings.uses_embedded_db,
            "server_version": server,
            "pgvector": vector,
            "revision": revision,
            "head_revision": db.head_revision(),
            "rows": db.row_counts(engine) if revision else None,
            "memory": db.search_memory(engine),
        }
        memory = status["memory"]
        if not memory["graphs_fit_in_shared_buffers"]:
            log.warning("the HNSW graphs (%.0f MB) do not fit in shared_buffers (%d MB): searches read them from "
                        "disk or the OS cache and slow down; raise shared_buffers (README: Memory for search)",
                        memory["hnsw_graphs_mb"], memory["shared_buffers_mb"])
        if revision == status["head_revision"]:
            from rficat.catalogue.files import fingerprint_status

            status.update(_model_status(engine))
            status["files"] = fingerprint_status(engine)
    finally:
        engine.dispose()
    emit(status, args.json)


def _model_status(engine) -> dict:
    """The current model and the observations searches cannot see because they lack its vectors."""
    from rficat.catalogue import models

    current = models.current_model_id(engine)
    missing = models.observations_missing_model(engine, current) if current is not None else []
    if missing:
        log.warning("%d observations have no vectors of the current model %d and are missing from searches "
                    "(first: %s); run `python -m rficat.flows.reencode` with that model", len(missing), current,
                    missing[0])
    return {"current_model_id": current, "observations_without_current_vectors": len(missing),
            "first_observations_without_current_vectors": missing[:10]}


def cmd_db_url(args: argparse.Namespace) -> None:
    from rficat.store import db

    url = db.database_url(_settings())
    if args.json:
        emit({"sqlalchemy_url": url, "libpq_url": db.libpq_url(url)}, True)
    else:
        print(db.libpq_url(url) if args.libpq else url)


def cmd_db_start(args: argparse.Namespace) -> None:
    from rficat.store import db

    settings = _settings()
    if not settings.uses_embedded_db:
        raise RficatError("RFICAT_DATABASE_URL is set: rficat does not manage that server")
    db.start_embedded(settings)
    emit({"pgdata": str(settings.pgdata), "running": True}, args.json)


def cmd_db_stop(args: argparse.Namespace) -> None:
    from rficat.store import db

    settings = _settings()
    if not settings.uses_embedded_db:
        raise RficatError("RFICAT_DATABASE_URL is set: rficat does not manage that server")
    was_running = db.stop_embedded(settings)
    emit({"pgdata": str(settings.pgdata), "stopped": was_running}, args.json)


# --- detect ------------------------------------------------------------------------------------

def _print_table(rows: list[dict], columns: list[tuple[str, str, str]], limit: int = 50) -> None:
    """A readable table of result rows: (key, heading, format) per column."""
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for _, heading, _ in columns:
        table.add_column(heading, justify="right")
    for row in rows[:limit]:
        table.add_row(*("" if row.get(key) is None else format(row[key], fmt) for key, _, fmt in columns))
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze columns to 80 characters
        console = Console(width=200)
    console.print(table)
    if len(rows) > limit:
        print(f"... {len(rows) - limit} more (use --json for all)")


HIT_COLUMNS = [("coarse_channel", "coarse", "d"), ("f_center_mhz", "f_center_mhz", ".6f"),
               ("snr", "snr", ".1f"), ("drift_rate_hz_s", "drift_hz_s", ".3f"), ("width_hz", "width_hz", ".0f"),
               ("statistic", "K2", ".0f"), ("dedrift_hz_s", "dedrift", ".2f")]


def cmd_detect(args: argparse.Namespace) -> None:
    import time

    from rficat.io import read_header
    from rficat.progress import byte_progress
    from rficat.science import detect

    width = args.coarse_channel_width or _settings().coarse_channel_width
    header = read_header(args.file, width)
    stats = detect.DetectionStats()
    hits: list[dict] = []
    started = time.perf_counter()
    total = header.n_coarse_channels * header.coarse_channel_width * header.n_integrations * 4
    with byte_progress(f"detect {args.file.name}", total) as advance:
        for _, _, result in detect.detect_file(args.file, args.threshold, args.noise, width, advance):
            n_noise = sum(not h.is_signal for h in result.hits)
            stats.add(result, n_noise)
            hits += [h.to_dict() for h in result.hits]
    stats.check_usable(args.file)
    seconds = time.perf_counter() - started
    summary = {
        "file": str(args.file), "source_name": header.source_name,
        "f_min_mhz": header.f_min_mhz, "f_max_mhz": header.f_max_mhz,
        "coarse_channels": stats.n_coarse_channels, "coarse_channel_width": header.coarse_channel_width,
        "windows": stats.n_windows, "nonfinite_windows_skipped": stats.n_nonfinite_windows,
        "bad_samples": stats.n_bad_samples, "bad_fraction": round(stats.bad_fraction, 6),
        "hits": stats.n_hits, "noise_windows": stats.n_noise, "threshold": args.threshold,
        "seconds": round(seconds, 3), "mb_per_s": round(total / 1e6 / seconds, 1) if seconds else None,
    }
    if args.json:
        emit({"summary": summary, "hits": hits}, True)
        return
    emit(summary, False)
    if hits:
        print()
        _print_table(hits, HIT_COLUMNS)


# --- train -------------------------------------------------------------------------------------

def cmd_train(args: argparse.Namespace) -> None:
    import time

    from rficat.catalogue import training
    from rficat.science import model, train
    from rficat.store import db
    from rficat.synthetic import corpus

    settings = _settings()
    families = tuple(args.families.split(",")) if args.families else corpus.FAMILIES
    unknown = set(families) - set(corpus.FAMILIES)
    if unknown:
        raise RficatError(f"unknown morphology families: {', '.join(sorted(unknown))} (known: {', '.join(corpus.FAMILIES)})")
    catalogue = db.open_catalogue(settings) if (args.from_db or args.register) else None
    started = time.perf_counter()
    if args.from_db:
        arrays = training.snippet_arrays(catalogue.engine, args.n, args.seed)
        a, b = train.catalogue_pairs(arrays, args.seed)
        description = f"{len(arrays)} catalogue snippets, augmented views"
    else:
        note(f"generating {args.n} synthetic emitter pairs ({', '.join(families)})")
        a, b, _ = corpus.synthetic_pairs(args.n, families, args.seed)
        description = f"{args.n} synthetic emitter pairs, families: {', '.join(families)}"
    encoder, decoder, metadata = train.train_model(
        a, b, objective=args.objective, latent_dim=args.latent_dim, beta=args.beta, epochs=args.epochs,
        seed=args.seed, name=args.name, description=description)
    versions = model.model_versions(settings.models_dir, args.name)
    metadata.version = int(versions[-1].name[1:]) + 1 if versions else 1
    metadata.training["train_seconds"] = round(time.perf_counter() - started, 1)
    path = model.save_model(settings.models_dir / args.name / f"v{metadata.version}", encoder, metadata, decoder)
    model_id = db.register_model(catalogue.engine, metadata) if args.register else None
    if model_id is not None:  # its weights too, for Dask workers on machines without this directory
        from rficat.catalogue import models

        models.store_weights(catalogue.engine, model_id, path)
    if catalogue is not None:
        catalogue.dispose()
    emit({"name": metadata.name, "version": metadata.version, "path": str(path), "model_id": model_id,
          "latent_dim": metadata.latent_dim, "beta": metadata.beta, "fingerprint": metadata.fingerprint,
          "training": metadata.training}, args.json)


# --- ingest and cadences ------------------------------------------------------------------------

def load_flows(name: str):
    """Import a module of ``rficat.flows`` (Prefect is imported only by commands that run flows;
    ``rficat.flows`` sets Prefect's environment defaults first)."""
    import importlib

    module = importlib.import_module(f"rficat.flows.{name}")
    if _verbosity is not None:  # Prefect configured logging as it loaded: the terminal is the CLI's again
        _configure_logging(_verbosity)
    return module


def _check_files(files: list[str], coarse_channel_width: int | None) -> tuple[list[str], list[dict]]:
    """Read every file's header before anything heavy starts: the readable files, and a failed
    row for each of the others."""
    from rficat.io import read_header

    readable, failed = [], []
    for path in files:
        try:
            read_header(path, coarse_channel_width)
        except RficatError as exc:
            failed.append({"path": path, "status": "failed", "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - a file no reader understands, whatever the reason
            failed.append({"path": path, "status": "failed", "error": f"{path}: cannot read it ({exc})"})
        else:
            readable.append(path)
    return readable, failed


def _run_ingest_flow(files: list[str], **options) -> list[dict]:
    """The `ingest-files` flow over readable files, with progress on a terminal; one row per file."""
    from rficat.progress import IngestProgress, stage_status

    flows = load_flows("ingest")
    with stage_status("starting Prefect"):
        load_flows("temporary_server").start()
    with IngestProgress(len(files)) as bars, flows.terminal_progress(bars):
        state = flows.ingest_files(files, return_state=True, **options)
    outcome = state.result(raise_on_failure=False, _sync=True)  # also under a running event loop
    if isinstance(outcome, flows.IngestFailed):
        return outcome.rows
    if isinstance(outcome, RficatError):
        raise outcome
    if isinstance(outcome, BaseException):
        raise RficatError(f"the ingest flow failed: {str(outcome).splitlines()[0] if str(outcome) else outcome!r}")
    return outcome


def _file_errors(rows: list[dict]) -> RficatError | None:
    """One line per failed file, each naming it."""
    lines = [r["error"] if r["path"] in r["error"] else f"{r['path']}: {r['error']}"
             for r in rows if r["status"] == "failed"]
    return RficatError("\n".join(lines)) if lines else None


def _expand_paths(paths: list[Path]) -> list[str]:
    from rficat.io import observation_files

    files: list[str] = []
    for path in paths:
        if path.is_dir():
            files += observation_files(path)
        elif path.exists():
            files.append(str(path))
        else:
            raise RficatError(f"{path}: no such file or directory")
    if not files:
        raise RficatError(f"no .h5 or .fil files in {', '.join(map(str, paths))}")
    return files


INGEST_COLUMNS = [("path", "file", "s"), ("status", "status", "s"), ("n_signal", "signals", "d"),
                  ("n_noise", "noise", "d")]


def _fanout_options(args: argparse.Namespace, n_files: int) -> dict:
    """``--workers`` / ``--dask-address`` (else RFICAT_DASK_ADDRESS) as the ingest flow's parameters."""
    from rficat.flows import fanout

    if args.workers is not None and args.workers < 1:
        raise RficatError(f"--workers is {args.workers}; give 1 (serial, in this process) or more")
    address = fanout.dask_address(args.dask_address)
    workers = args.workers if args.workers is not None else 1 if address else fanout.default_workers(n_files)
    return {"workers": workers, "dask_address": address}


def cmd_ingest(args: argparse.Namespace) -> None:
    settings = _settings()
    files = _expand_paths(args.paths)
    readable, rows = _check_files(files, settings.coarse_channel_width)
    if readable:
        from rficat.store import db

        db.open_catalogue(settings).dispose()  # fail fast, with one line, before starting Prefect
        threshold = {} if args.threshold is None else {"threshold": args.threshold}
        rows += _run_ingest_flow(readable, cadence=args.cadence, model=args.model, n_noise_per_channel=args.noise,
                                 **threshold, **_fanout_options(args, len(readable)))
    order = {path: i for i, path in enumerate(files)}
    rows.sort(key=lambda r: order.get(r["path"], len(order)))
    if args.json:
        emit(rows, True)
    else:
        _print_table([{**r, "n_signal": r.get("n_signal", 0), "n_noise": r.get("n_noise", 0)} for r in rows],
                     INGEST_COLUMNS)
    failure = _file_errors(rows)
    if failure:
        raise failure


def cmd_cadence_add(args: argparse.Namespace) -> None:
    from rficat.catalogue import cadence
    from rficat.store import db

    with db.open_catalogue(_settings()) as catalogue:
        roles = args.roles.split(",") if args.roles else None
        result = cadence.add_cadence(catalogue.engine, args.name, _expand_paths(args.paths), roles, args.replace)
    if args.json:
        emit(result, True)
    else:
        print(f"cadence {result['name']}: {result['pattern']}")
        _print_table(result["members"], [("position", "#", "d"), ("role", "role", "s"),
                                         ("source_name", "source", "s"), ("path", "file", "s")])


# --- search ------------------------------------------------------------------------------------

def _jsonable_rows(frame) -> list[dict]:
    """A DataFrame's rows for JSON and tables: NaN becomes None, numpy values plain Python."""
    return [{k: (None if isinstance(v, float) and v != v else v.tolist() if hasattr(v, "tolist") else v)
             for k, v in record.items()} for record in frame.to_dict("records")]


EVENT_TABLE = [("rank", "#", "d"), ("snippet_id", "snippet", "d"), ("f_center_mhz", "f_center_mhz", ".6f"),
               ("drift_rate_hz_s", "drift_hz_s", ".3f"), ("snr", "snr", ".1f"),
               ("min_on_similarity", "ON sim", ".3f"), ("best_off_similarity", "best OFF sim", ".3f"),
               ("n_lookalikes_elsewhere", "evidence", "d"), ("verdict", "verdict", "s"),
               ("evidence", "evidence snippets", "s")]


def cmd_cadence_search(args: argparse.Namespace) -> None:
    from rficat.catalogue import cadence
    from rficat.store import db

    settings = _settings()
    with db.open_catalogue(settings) as catalogue:
        events = cadence.search(catalogue.engine, args.name, model_id=args.model_id,
                                on_similarity=args.on_similarity, off_similarity=args.off_similarity,
                                common_similarity=args.common_similarity, common_min=args.common_min,
                                class_min_observations=args.class_min_observations,
                                max_missing_on=args.max_missing_on, zero_drift=not args.keep_zero_drift)
        rows = _jsonable_rows(events)
        if args.plot and rows:
            _plot_cadence_events(catalogue.engine, args.name, rows, args.plot)
    if args.json:
        emit(rows, True)
        return
    if not rows:
        print(f"cadence {args.name}: no events (no ON-scan signal absent from the OFF scans)")
        return
    _print_table([{**r, "evidence": " ".join(str(e["snippet_id"]) for e in r["evidence"][:5])} for r in rows],
                 EVENT_TABLE)
    for row in rows[:10]:
        print(f"#{row['rank']}: {row['explanation']}")

CADENCE_FIGURE_EVENTS = 3


def _plot_cadence_events(engine, name: str, rows: list[dict], path: Path) -> None:
    """The top events, each with every scan of the cadence around its track (read from the
    original files), into PATH; the events' ON snippets into PATH-snippets.png."""
    from rficat import plots
    from rficat.catalogue import figures, search, tracks

    def verdict(row: dict) -> str:
        return row["verdict"] or "candidate"

    panels = [tracks.cadence_panel(tracks.event_track(engine, name, row["snippet_id"]),
                                   f"#{row['rank']} {verdict(row)}: {row['f_center_mhz']:.6f} MHz, "
                                   f"{row['drift_rate_hz_s'] or 0:+.3f} Hz/s")
              for row in rows[:CADENCE_FIGURE_EVENTS]]
    plots.cadence_figure(path, panels, title=f"cadence {name}: top events, every scan around the event's track")
    note(f"wrote {path}")
    shown = rows[:8]
    ids = [i for r in shown for i in r["on_snippet_ids"]]
    titles = [f"#{r['rank']} {'' if r['verdict'] == 'candidate' else r['verdict'] + ' '}{r['f_center_mhz']:.6f} MHz"
              for r in shown for _ in r["on_snippet_ids"]]
    grid_path = path.with_name(f"{path.stem}-snippets{path.suffix or '.png'}")
    plots.snippet_grid(grid_path, search.match_snippets(engine, ids), titles,
                       title=f"cadence {name}: events, ON scans left to right",
                       columns=max(len(r["on_snippet_ids"]) for r in shown), axes=figures.snippet_axes(engine, ids))
    note(f"wrote {grid_path}")


MATCH_COLUMNS = [("rank", "#", "d"), ("similarity", "similarity", ".4f"), ("snippet_id", "snippet", "d"),
                 ("f_center_mhz", "f_center_mhz", ".6f"), ("snr", "snr", ".1f"),
                 ("drift_rate_hz_s", "drift_hz_s", ".3f"), ("n_grouped", "grouped", "d"), ("verdict", "verdict", "s"),
                 ("file", "file", "s")]


def _filters(args: argparse.Namespace):
    from rficat.catalogue import filters

    return filters.from_arguments(args)


def _soi_axes(engine, args: argparse.Namespace):
    """The physical scale of the SOI's picture: its snippet's, its file's, or a template's (GBT)."""
    from rficat import plots
    from rficat.catalogue import figures

    text = getattr(args, "soi", None)
    if text is None:
        return plots.SnippetAxes()
    if text.isdigit():
        return figures.snippet_axes(engine, [int(text)])[0]
    return figures.file_snippet_axes(text.rpartition("@")[0], args.coarse_channel_width)


def _show_matches(args: argparse.Namespace, engine, soi, results, header: dict) -> None:
    from rficat.catalogue import search, verdicts

    judged = verdicts.judge_snippets(engine, results["snippet_id"])
    rows = [{"rank": i + 1, **r, "verdict": judged[r["snippet_id"]].verdict,
             "explanation": judged[r["snippet_id"]].explanation, "file": Path(r["path"]).name}
            for i, r in enumerate(_jsonable_rows(results))]
    for row in rows:
        row["n_grouped"] = None if row["n_grouped"] is None else int(row["n_grouped"])
    if args.plot:
        from rficat import plots
        from rficat.catalogue import figures

        ids = [int(i) for i in results["snippet_id"]]
        plots.lookalike_figure(args.plot, soi.snippet, soi.source, search.match_snippets(engine, ids), results,
                               soi_axes=_soi_axes(engine, args), match_axes=figures.snippet_axes(engine, ids))
        note(f"wrote {args.plot}")
    if args.json:
        emit({**header, "matches": [{k: v for k, v in r.items() if k != "file"} for r in rows]}, True)
        return
    print(" ".join(f"{k}={v}" for k, v in header.items()))
    _print_table(rows, MATCH_COLUMNS)


def _parse_soi(engine, text: str, coarse_channel_width: int | None):
    from rficat.catalogue import search

    if text.isdigit():
        return search.soi_from_catalogue(engine, int(text)), int(text)
    path, sep, freq = text.rpartition("@")
    try:
        f_mhz = float(freq)
    except ValueError:
        f_mhz = None
    if not sep or f_mhz is None:
        raise RficatError(f"--soi {text!r}: give a snippet id or FILE@FREQ_MHZ")
    if not Path(path).exists():
        raise RficatError(f"{path}: no such file")
    return search.soi_from_file(path, f_mhz, coarse_channel_width), None


def cmd_query(args: argparse.Namespace) -> None:
    from rficat.catalogue import search
    from rficat.store import db

    settings = _settings()
    with db.open_catalogue(settings) as catalogue:
        search.check_search(catalogue.engine, {**_filters(args).params(), "p_group_mhz": args.group_mhz})  # first
        soi, snippet_id = _parse_soi(catalogue.engine, args.soi, args.coarse_channel_width)
        options = dict(use_frequency=args.frequency, model_id=args.model_id, exact=args.exact,
                       group_mhz=args.group_mhz, filters=_filters(args))
        _warn_without_bands(catalogue.engine, args)
        if snippet_id is not None:
            results = search.lookalikes(catalogue.engine, snippet_id, args.k, **options)
        else:
            results = search.query(catalogue.engine, soi, args.k, models_dir=settings.models_dir, **options)
        header = {"soi": soi.source, "f_center_mhz": soi.f_center_mhz, "k": args.k,
                  "use_frequency": args.frequency and soi.f_center_mhz is not None, "exact": args.exact}
        _show_matches(args, catalogue.engine, soi, results, header)


def _warn_without_bands(engine, args: argparse.Namespace) -> None:
    from rficat.catalogue import rfimask

    if getattr(args, "not_in_mask", False) and not rfimask.labelled_bands(engine):
        log.warning("--not-in-mask: the site has no RFI bands (rficat rfi mask --import FILE); nothing is left out")


def cmd_template(args: argparse.Namespace) -> None:
    from rficat.catalogue import search, templates
    from rficat.store import db

    settings = _settings()
    with db.open_catalogue(settings) as catalogue:
        search.check_search(catalogue.engine, {**_filters(args).params(), "p_group_mhz": args.group_mhz})  # first
        _warn_without_bands(catalogue.engine, args)
        template = {"shape": args.shape, "drift_hz_s": args.drift, "width_hz": args.width, "snr": args.snr,
                    "f_center_mhz": args.f_center}
        search_id, soi, results = templates.run_template(
            catalogue.engine, template, args.k, model_id=args.model_id, exact=args.exact, group_mhz=args.group_mhz,
            filters=_filters(args), models_dir=settings.models_dir)
        _show_matches(args, catalogue.engine, soi, results, {"template_search_id": search_id, **template, "k": args.k})


def cmd_db_index(args: argparse.Namespace) -> None:
    from rficat.store import db

    with db.open_catalogue(_settings()) as catalogue:
        emit({"vectors_indexed": db.index_pending(catalogue.engine)}, args.json)


def _add_search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-k", type=int, default=10, help="number of matches (default 10)")
    parser.add_argument("--exact", action="store_true", help="exact scan instead of the HNSW index")
    parser.add_argument("--group-mhz", type=float, default=None, metavar="MHZ",
                        help="fold matches within MHZ of a better one into it (one row per emitter)")
    parser.add_argument("--model-id", type=int, default=None, help="search this model's vectors (default: current)")
    from rficat.catalogue import filters

    filters.add_arguments(parser)
    parser.add_argument("--plot", type=Path, default=None, metavar="PNG",
                        help="write the SOI, a grid of the matches and their frequency histogram")
    _add_json(parser)


# --- rfi ---------------------------------------------------------------------------------------

CLASS_TABLE = [("class_id", "class", "d"), ("label", "label", "s"), ("size", "snippets", "d"),
               ("n_observations", "observations", "d"), ("n_reference", "in reference", "d"),
               ("n_cadences", "cadences", "d"),
               ("f_min_mhz", "f_min_mhz", ".6f"), ("f_max_mhz", "f_max_mhz", ".6f"),
               ("drift_median_hz_s", "drift_hz_s", ".3f"), ("drift_min_hz_s", "drift_from", ".2f"),
               ("drift_max_hz_s", "drift_to", ".2f"), ("width_median_hz", "width_hz", ".0f"),
               ("snr_median", "snr", ".1f")]


def cmd_rfi_build(args: argparse.Namespace) -> None:
    from rficat.catalogue import rfi
    from rficat.progress import stage_status
    from rficat.store import db

    with db.open_catalogue(_settings()) as catalogue, stage_status("building RFI classes") as stage:
        summary = rfi.build(catalogue.engine, args.model_id, args.min_cluster_size, args.sample, args.seed, stage,
                            rare_sample=args.rare_sample, resume=not args.fresh, models_dir=_settings().models_dir)
    emit(summary.to_dict(), args.json)


def cmd_rfi_list(args: argparse.Namespace) -> None:
    from rficat.catalogue import rfi
    from rficat.store import db

    with db.open_catalogue(_settings()) as catalogue:
        rows = _jsonable_rows(rfi.list_classes(catalogue.engine))
    if args.json:
        emit(rows, True)
    else:
        _print_table(rows, CLASS_TABLE, limit=100)


def cmd_rfi_show(args: argparse.Namespace) -> None:
    from rficat.catalogue import rfi, search
    from rficat.store import db

    with db.open_catalogue(_settings()) as catalogue:
        cls = rfi.get_class(catalogue.engine, args.class_id)
        if args.plot:
            from rficat import plots
            from rficat.catalogue import figures

            plots.rfi_class_figure(args.plot, search.match_snippets(catalogue.engine, cls["exemplar_ids"]), cls,
                                   axes=figures.snippet_axes(catalogue.engine, cls["exemplar_ids"]))
            note(f"wrote {args.plot}")
    cls = {k: (str(v) if k in ("centroid", "created_at") else v) for k, v in cls.items()}
    cls["class_id"] = cls.pop("id")
    emit(cls, args.json)


def cmd_rfi_label(args: argparse.Namespace) -> None:
    from rficat.catalogue import rfi
    from rficat.store import db

    with db.open_catalogue(_settings()) as catalogue:
        emit(rfi.label_class(catalogue.engine, args.class_id, args.label, args.notes), args.json)


# --- vet ---------------------------------------------------------------------------------------

VET_COLUMNS = [("table_name", "table", "s"), ("row", "row", "d"), ("file", "data file", "s"),
               ("f_center_mhz", "f_center_mhz", ".6f"), ("drift_rate_hz_s", "drift_hz_s", ".3f"),
               ("snr", "snr", ".1f"), ("snr_measured", "snr (rficat)", ".1f"), ("snippet_source", "snippet", "s"),
               ("duplicate_of_row", "dup of", "d"), ("verdict", "verdict", "s")]


def _write_vetted(out: Path, run, records: list[dict]) -> list[Path]:
    """--out: one CSV of every row; a .dat (one .dat table's rows, verdict as a trailing column); or a
    directory that gets each table under its own name (.dat as .dat, CSV as CSV)."""
    from rficat.io import hits

    by_table: dict[Path, list[dict]] = {}
    for item, record in zip(run.items, records):
        by_table.setdefault(item.hit.table, []).append(record)
    is_dat = {table: hits.sniff(table) == "turboseti_dat" for table in by_table}
    if out.is_dir() or str(out).endswith(os.sep):
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for table, rows in by_table.items():
            target = out / table.name
            if target.resolve() == table.resolve():
                raise RficatError(f"--out {out}: would overwrite the input table {table}; choose another directory")
            if is_dat[table]:
                hits.write_dat(table, target, {r["row"]: r["verdict"] or "error" for r in rows})
            else:
                hits.write_csv(target, rows)
            written.append(target)
        return written
    if out.suffix.lower() == ".dat":
        dats = [t for t, d in is_dat.items() if d]
        if len(by_table) != 1 or len(dats) != 1:
            raise RficatError(f"--out {out}: a .dat output needs exactly one .dat table in (got {len(by_table)} "
                              "tables); give a directory to write one table per input")
        hits.write_dat(dats[0], out, {r["row"]: r["verdict"] or "error" for r in records})
        return [out]
    hits.write_csv(out, records)
    return [out]


def cmd_vet(args: argparse.Namespace) -> None:
    from rficat.catalogue import vet
    from rficat.progress import count_progress
    from rficat.store import db

    settings = _settings()
    width = args.coarse_channel_width or settings.coarse_channel_width
    for path in [*args.tables, *args.files]:
        if not path.exists():
            raise RficatError(f"{path}: no such file")
    with db.open_catalogue(settings) as catalogue:
        engine = catalogue.engine
        with count_progress("cutting snippets", None) as advance:
            run = vet.vet(engine, args.tables, files=args.files, cadence=args.cadence,
                          models_dir=settings.models_dir, coarse_channel_width=width, progress=advance)
        if args.store:
            log.warning("kept %d vetted hits as snippets", vet.store(engine, run, width))
        if args.sheets:
            events = len({v.event for v in run.items if v.error is None and v.duplicate_of is None})
            with count_progress("vetting sheets", events) as advance:
                sheets = vet.write_sheets(engine, run, args.sheets, coarse_channel_width=width, progress=advance)
            log.warning("wrote %d vetting sheets to %s", len(sheets), args.sheets)
    records = [v.record() for v in run.items]
    if args.out:
        for path in _write_vetted(args.out, run, records):
            log.warning("wrote %s", path)
    if args.json:
        emit(records, True)
    elif records:
        _print_table([{**r, "table_name": Path(r["table"]).name, "file": Path(str(r["data_file"] or "")).name,
                       "verdict": r["verdict"] or "error"} for r in records], VET_COLUMNS)
    problems = run.problems + [v.error for v in run.failed]
    for problem in problems:
        print(f"rficat: error: {problem}", file=sys.stderr)
    if problems:
        raise RficatError(f"{len(run.failed)} of {len(run.items)} rows and {len(run.problems)} of "
                          f"{len(args.tables)} tables could not be vetted (one line each above)")


def cmd_rfi_mask(args: argparse.Namespace) -> None:
    from rficat.catalogue import rfimask
    from rficat.store import db

    with db.open_catalogue(_settings()) as catalogue:
        if args.out:
            emit(rfimask.export(catalogue.engine, args.out, args.gap_mhz), args.json)
        elif args.import_file:
            emit(rfimask.import_bands(catalogue.engine, args.import_file), args.json)
        else:
            rows = _jsonable_rows(rfimask.list_bands(catalogue.engine))
            if args.json:
                emit(rows, True)
            elif rows:
                _print_table(rows, [("id", "band", "d"), ("f_start_mhz", "f_start_mhz", ".6f"),
                                    ("f_stop_mhz", "f_stop_mhz", ".6f"), ("label", "label", "s"),
                                    ("source", "from", "s")], limit=1000)
            else:
                print("no site RFI bands (rficat rfi mask --import FILE)")


# --- serve -------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> None:
    from rficat.store import db
    from rficat.web import build_viewer, serve

    settings = _settings()
    with db.open_catalogue(settings) as catalogue:  # fail with one line when there is no catalogue
        url = catalogue.url
    viewer = build_viewer(url, allow_labels=args.allow_labels, models_dir=settings.models_dir)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s: anyone who can reach this machine can read the catalogue", args.host)
    host = args.host if ":" not in args.host else f"[{args.host}]"
    note(f"rficat viewer on http://{host}:{args.port}/ ({'labels allowed' if args.allow_labels else 'read-only'}; "
         f"reading as {viewer.session_role}); Ctrl-C stops it")
    serve(viewer, args.host, args.port)


# --- demo --------------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from rficat.store import db
    from rficat.synthetic import synth

    settings = _settings()
    directory = args.dir or settings.home / "demo"
    note(f"writing a synthetic ABACAD cadence to {directory}")
    scans = synth.demo_cadence(directory, seed=args.seed)
    db.init_catalogue(settings).dispose()
    rows = _run_ingest_flow([str(p) for p, _, _ in scans], cadence="demo", n_noise_per_channel=args.noise)
    failure = _file_errors(rows)
    if failure:
        raise failure
    with db.open_catalogue(settings) as catalogue, catalogue.engine.connect() as conn:
        pattern = conn.execute(sa.text("SELECT pattern FROM cadences WHERE name = 'demo'")).scalar()
        counts = db.row_counts(catalogue.engine)
    result = {"directory": str(directory), "cadence": "demo", "pattern": pattern,
              "files": [{"path": r["path"], "status": r["status"], "n_signal": r.get("n_signal"),
                         "n_noise": r.get("n_noise")} for r in rows],
              "catalogue_rows": counts, "database": db.libpq_url(catalogue.url)}
    if args.json:
        emit(result, True)
        return
    _print_table(result["files"], INGEST_COLUMNS)
    print(f"\ncadence demo ({pattern}) is in the catalogue: {counts['snippets']} snippets, "
          f"{counts['embeddings']} vectors.\nExplore it with: psql \"{result['database']}\"")


# --- parser ------------------------------------------------------------------------------------

def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout")


def _add_coarse_width(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coarse-channel-width", type=int, default=None, metavar="N",
                        help="fine channels per coarse channel when the header has no nfpc "
                             "(default: RFICAT_COARSE_CHANNEL_WIDTH, else the GBT 2.9296875 MHz rule)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command``, the options of the other commands are built without
    the heavy modules (scipy, pandas, setigen) whose defaults they show, so a command starts fast
    (``rficat ingest`` refuses a junk file in about a second)."""

    def needs(name: str) -> bool:
        return command is None or command == name

    parser = argparse.ArgumentParser(
        prog="rficat", description="A PostgreSQL + pgvector catalogue of RFI lookalikes."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_parser = commands.add_parser("db", help="manage the catalogue database")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, handler, help_text in (
        ("init", cmd_db_init, "create the database (embedded by default) and migrate it to the newest schema"),
        ("status", cmd_db_status, "server, schema revision and row counts"),
        ("start", cmd_db_start, "start the embedded server (left running until `db stop`)"),
        ("stop", cmd_db_stop, "stop the embedded server"),
    ):
        sub = db_commands.add_parser(name, help=help_text)
        _add_json(sub)
        sub.set_defaults(handler=handler)
    index_parser = db_commands.add_parser("index", help="move vectors waiting outside the HNSW indexes into them")
    _add_json(index_parser)
    index_parser.set_defaults(handler=cmd_db_index)
    url_parser = db_commands.add_parser("url", help="print a connection URL for SQLAlchemy (or psql with --libpq)")
    url_parser.add_argument("--libpq", action="store_true", help="print the psql / psycopg form")
    _add_json(url_parser)
    url_parser.set_defaults(handler=cmd_db_url)

    DEFAULT_THRESHOLD = None
    if needs("detect"):
        from rficat.science.detect import DEFAULT_THRESHOLD

    detect_parser = commands.add_parser("detect", help="energy detection on one filterbank file")
    detect_parser.add_argument("file", type=Path, help=".fil or .h5 filterbank file")
    detect_parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                               help="D'Agostino-Pearson K^2 above which a window is a hit (default %(default)g)")
    detect_parser.add_argument("--noise", type=int, default=0, metavar="N",
                               help="also return N noise windows per coarse channel (training data)")
    _add_coarse_width(detect_parser)
    _add_json(detect_parser)
    detect_parser.set_defaults(handler=cmd_detect)

    from rficat.science.train import OBJECTIVES

    train_parser = commands.add_parser("train", help="train a new encoder version (synthetic data or the catalogue)")
    train_parser.add_argument("--from-db", action="store_true", help="train on the catalogue's stored snippets")
    train_parser.add_argument("--n", type=int, default=20000, help="training pairs (or catalogue snippets)")
    train_parser.add_argument("--epochs", type=int, default=20, help="at most this many epochs (early stopping)")
    train_parser.add_argument("--latent-dim", type=int, default=8)
    train_parser.add_argument("--beta", type=float, default=None, help="KL weight (default: 1e-3 contrastive, 1 vae)")
    train_parser.add_argument("--objective", choices=OBJECTIVES, default="contrastive")
    train_parser.add_argument("--families", default=None, help="comma-separated synthetic families (default: all)")
    train_parser.add_argument("--name", default="custom", help="model name; each run saves the next version")
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--no-register", dest="register", action="store_false",
                              help="do not record the model in the catalogue's models table")
    _add_json(train_parser)
    train_parser.set_defaults(handler=cmd_train)

    ingest_parser = commands.add_parser("ingest", help="detect, encode and store observation files (a Prefect flow)")
    ingest_parser.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR")
    ingest_parser.add_argument("--cadence", default=None, help="record the files as (part of) this cadence")
    ingest_parser.add_argument("--model", default=None, help="model name, NAME:vN or directory (default: the catalogue's current model)")
    ingest_parser.add_argument("--threshold", type=float, default=None, metavar="K2",
                               help="detection threshold (default: rficat detect's)")
    ingest_parser.add_argument("--noise", type=int, default=0, metavar="N",
                               help="also store N noise windows per coarse channel (training data)")
    ingest_parser.add_argument("--workers", type=int, default=None, metavar="N",
                               help="ingest files in parallel on a local Dask cluster of N worker processes; 1: one "
                                    "after another in this process (default: one per two cores, at most one per file)")
    ingest_parser.add_argument("--dask-address", default=None, metavar="tcp://HOST:PORT",
                               help="run the files on the workers of this Dask scheduler (default: $RFICAT_DASK_ADDRESS)")
    _add_json(ingest_parser)
    ingest_parser.set_defaults(handler=cmd_ingest)

    cadence_parser = commands.add_parser("cadence", help="ON/OFF cadences")
    cadence_commands = cadence_parser.add_subparsers(dest="cadence_command", required=True, metavar="ACTION")
    add_parser = cadence_commands.add_parser("add", help="record ingested files as an ABACAD-style cadence")
    add_parser.add_argument("name")
    add_parser.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    add_parser.add_argument("--roles", default=None, help="override roles, e.g. ON,OFF,ON,OFF,ON,OFF")
    add_parser.add_argument("--replace", action="store_true",
                            help="make these files the cadence's only scans (default: add them to it)")
    _add_json(add_parser)
    add_parser.set_defaults(handler=cmd_cadence_add)

    query_parser = commands.add_parser("query", help="lookalikes of a signal of interest")
    query_parser.add_argument("--soi", required=True, metavar="SNIPPET_ID|FILE@FREQ_MHZ",
                              help="a catalogue snippet id, or the window at FREQ_MHZ of any .h5/.fil file")
    query_parser.add_argument("--no-frequency-embedding", dest="frequency", action="store_false",
                              help="compare morphology only (latent vectors), wherever in frequency")
    _add_coarse_width(query_parser)
    _add_search_options(query_parser)
    query_parser.set_defaults(handler=cmd_query)

    TEMPLATE, FAMILIES = dict.fromkeys(("drift_hz_s", "width_hz", "snr", "shape")), None
    if needs("template"):
        from rficat.catalogue.templates import DEFAULTS as TEMPLATE
        from rficat.synthetic.corpus import FAMILIES

    template_parser = commands.add_parser("template", help="search for a synthetic (setigen) template signal")
    template_parser.add_argument("--drift", type=float, default=TEMPLATE["drift_hz_s"], metavar="HZ_S",
                                 help="drift rate, Hz/s")
    template_parser.add_argument("--width", type=float, default=TEMPLATE["width_hz"], metavar="HZ",
                                 help="signal width, Hz")
    template_parser.add_argument("--snr", type=float, default=TEMPLATE["snr"])
    template_parser.add_argument("--shape", choices=FAMILIES, default=TEMPLATE["shape"])
    template_parser.add_argument("--f-center", type=float, default=None, metavar="MHZ",
                                 help="place the template at this frequency (adds the frequency embedding)")
    _add_search_options(template_parser)
    template_parser.set_defaults(handler=cmd_template)

    search_parser = cadence_commands.add_parser("search", help="ON-only events of a cadence, ranked")
    search_parser.add_argument("name")
    search_parser.add_argument("--model-id", type=int, default=None)
    search_parser.add_argument("--on-similarity", type=float, default=0.7,
                               help="a signal must recur this similar in every ON scan, unless one on its drift track "
                                    "(drifting like it where its drift puts it) is there (default 0.7)")
    search_parser.add_argument("--max-missing-on", type=int, default=None, metavar="N",
                               help="ON scans an event may be missing from: detection misses a faint or flickering "
                                    "line in a scan now and then (default: 1 where the cadence has three ON scans or "
                                    "more, else 0; 0 asks for every ON scan, as turboSETI's filter level 3)")
    search_parser.add_argument("--keep-zero-drift", action="store_true",
                               help="leave an event that stays put across the cadence to the other rules (default: "
                                    "likely RFI, no drift relative to the telescope); for data whose frequencies were "
                                    "corrected for the Earth's motion, where a transmitter at rest does not drift")
    search_parser.add_argument("--off-similarity", type=float, default=0.7,
                               help="a signal this similar near the drift-consistent OFF frequency, drifting like the "
                                    "event, vetoes (default 0.7)")
    search_parser.add_argument("--common-similarity", type=float, default=None,
                               help="similarity a lookalike in an OFF scan or outside cadences needs to count as "
                                    "evidence (default: the RFI build's, 0.95)")
    search_parser.add_argument("--common-min", type=int, default=None,
                               help="drift-consistent lookalikes elsewhere that make an event likely RFI "
                                    "(default: the RFI build's, 2)")
    search_parser.add_argument("--class-min-observations", type=int, default=None,
                               help="members in OFF scans or outside cadences an RFI class needs to make its "
                                    "members known RFI (default: the RFI build's, 3)")
    search_parser.add_argument("--plot", type=Path, default=None, metavar="PNG",
                               help="the top events, every scan (ON and OFF) around the event's track read from "
                                    "the original files; the events' ON snippets go to PNG-snippets.png")
    _add_json(search_parser)
    search_parser.set_defaults(handler=cmd_cadence_search)

    rfi_parser = commands.add_parser("rfi", help="the RFI database: morphology classes of the catalogue")
    rfi_commands = rfi_parser.add_subparsers(dest="rfi_command", required=True, metavar="ACTION")
    build_parser_ = rfi_commands.add_parser("build", help="cluster the catalogue into RFI classes (a new build)")
    build_parser_.add_argument("--model-id", type=int, default=None, help="model whose vectors to cluster (default: current)")
    build_parser_.add_argument("--min-cluster-size", type=int, default=10, help="smallest class (default 10)")
    build_parser_.add_argument("--sample", type=int, default=50_000,
                               help="snippets clustered in memory (and the bank every snippet is judged against)")
    build_parser_.add_argument("--seed", type=int, default=0)
    build_parser_.add_argument("--rare-sample", type=int, default=None,
                               help="second pass: snippets drawn from those the first sample saw fewer than twice, "
                                    "clustered for rare morphologies (default: --sample; 0: no second pass)")
    build_parser_.add_argument("--fresh", action="store_true",
                               help="discard an interrupted build with the same parameters instead of resuming it")
    _add_json(build_parser_)
    build_parser_.set_defaults(handler=cmd_rfi_build)
    list_parser = rfi_commands.add_parser("list", help="the current build's classes")
    _add_json(list_parser)
    list_parser.set_defaults(handler=cmd_rfi_list)
    show_parser = rfi_commands.add_parser("show", help="one class; --plot writes its exemplars and frequency occupancy")
    show_parser.add_argument("class_id", type=int, metavar="CLASS")
    show_parser.add_argument("--plot", type=Path, default=None, metavar="PNG")
    _add_json(show_parser)
    show_parser.set_defaults(handler=cmd_rfi_show)
    mask_parser = rfi_commands.add_parser("mask", help="known-RFI frequency ranges out (--out), a site's RFI bands "
                                                       "in (--import), or the site's bands (--list)")
    mask_action = mask_parser.add_mutually_exclusive_group(required=True)
    mask_action.add_argument("--out", type=Path, default=None, metavar="FILE",
                             help="write the ranges the current build's known-RFI classes occupy, and how often "
                                  "(.csv or .yaml)")
    mask_action.add_argument("--import", dest="import_file", type=Path, default=None, metavar="FILE",
                             help="keep a site's RFI bands (.csv or .yaml with f_start_mhz, f_stop_mhz, label, notes); "
                                  "importing a file again replaces its bands")
    mask_action.add_argument("--list", action="store_true", help="the site's imported bands")
    mask_parser.add_argument("--gap-mhz", type=float, default=0.0, metavar="MHZ",
                             help="with --out: merge a class's ranges closer than this (default 0: overlapping only)")
    _add_json(mask_parser)
    mask_parser.set_defaults(handler=cmd_rfi_mask)
    label_parser = rfi_commands.add_parser("label", help="name a class (kept across rebuilds when matched)")
    label_parser.add_argument("class_id", type=int, metavar="CLASS")
    label_parser.add_argument("label")
    label_parser.add_argument("--notes", default=None)
    _add_json(label_parser)
    label_parser.set_defaults(handler=cmd_rfi_label)

    vet_parser = commands.add_parser("vet", help="vet another pipeline's hits (turboSETI, hyperseti, a CSV) "
                                                 "against the catalogue")
    vet_parser.add_argument("tables", nargs="+", type=Path, metavar="FILE",
                            help="hit tables: turboSETI .dat or find_event_pipeline CSV, hyperseti hits CSV, or a CSV "
                                 "with a file and a frequency in MHz (read by content)")
    vet_parser.add_argument("--cadence", default=None, metavar="NAME",
                            help="the catalogue cadence the hits come from (finds their files, roles and sheet scans)")
    vet_parser.add_argument("--files", nargs="+", type=Path, default=[], metavar="H5_OR_FIL",
                            help="the data files the tables name (matched by name or stem)")
    vet_parser.add_argument("--out", type=Path, default=None, metavar="TABLE",
                            help="write the vetted rows: a .csv, a .dat (one .dat table in: verdict as a trailing "
                                 "column turboSETI still reads) or a directory (each table under its own name)")
    vet_parser.add_argument("--sheets", type=Path, default=None, metavar="DIR", help="one PNG vetting sheet per event")
    vet_parser.add_argument("--store", action="store_true",
                            help="keep the vetted hits in the catalogue as snippets (detector column)")
    _add_coarse_width(vet_parser)
    _add_json(vet_parser)
    vet_parser.set_defaults(handler=cmd_vet)
    serve_parser = commands.add_parser("serve", help="the read-only web viewer (catalogue, cadences, lookalikes, RFI)")
    serve_parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve_parser.add_argument("--allow-labels", action="store_true",
                              help="allow naming RFI classes from the browser (a form with a CSRF token)")
    serve_parser.set_defaults(handler=cmd_serve)

    demo_parser = commands.add_parser("demo", help="generate a synthetic ABACAD cadence and ingest it")
    demo_parser.add_argument("--dir", type=Path, default=None, help="where to write it (default: $RFICAT_HOME/demo)")
    demo_parser.add_argument("--noise", type=int, default=20, metavar="N", help="noise windows per coarse channel")
    demo_parser.add_argument("--seed", type=int, default=1)
    _add_json(demo_parser)
    demo_parser.set_defaults(handler=cmd_demo)
    return parser


# option -> (what it is, the smallest value that makes sense)
LOWER_BOUNDS = {"group_mhz": ("--group-mhz", 0), "min_cluster_size": ("--min-cluster-size", 2),
                "sample": ("--sample", 1), "rare_sample": ("--rare-sample", 0), "noise": ("--noise", 0), "k": ("-k", 1),
                "max_missing_on": ("--max-missing-on", 0)}
def check_arguments(args: argparse.Namespace) -> None:
    """Values argparse accepts but that make no sense: one line naming the option (inverted filter
    ranges: rficat.catalogue.filters)."""
    for dest, (option, least) in LOWER_BOUNDS.items():
        value = getattr(args, dest, None)
        if value is not None and not value >= least:
            raise RficatError(f"{option} must be at least {least}, got {value:g}")
    from rficat.catalogue.filters import FILTERS, check_ranges

    check_ranges({f.name: getattr(args, f.name, None) for f in FILTERS})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    words = [a for a in argv if not a.startswith("-")]  # the first is the command (-v takes no value)
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        check_arguments(args)
        args.handler(args)
    except RficatError as exc:
        for line in str(exc).splitlines() or [""]:
            print(f"rficat: error: {line}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `rficat ... | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("rficat: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
