"""Cadences: ordered ON/OFF scans (e.g. ABACAD) of ingested observations.

Roles are inferred when not given: scans are ordered by start time, the first scan's source
is the target, scans of the target are ON (letter A) and every other source is an OFF
position with its own letter (B, C, D, ... in order of appearance). Members must overlap in
frequency: a cadence compares the same band across scans.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.catalogue.files import find_observation
from rficat.errors import RficatError

ROLES = ("ON", "OFF")


def infer_roles(source_names: Sequence[str | None]) -> list[str]:
    """Roles of scans in time order: the first scan's source is the target (ON)."""
    return ["ON" if name == source_names[0] else "OFF" for name in source_names]


def pattern_of(source_names: Sequence[str | None], roles: Sequence[str]) -> str:
    """ON scans are A; each OFF source gets the next letter (B, C, D, ...)."""
    letters: dict[str | None, str] = {}
    pattern = ""
    for name, role in zip(source_names, roles):
        if role == "ON":
            pattern += "A"
            continue
        if name not in letters:
            letters[name] = string.ascii_uppercase[min(len(letters) + 1, 25)]
        pattern += letters[name]
    return pattern


def _observations(conn, paths: Sequence[str | Path]) -> list[dict]:
    """The complete observations of files, found without reading a file already seen where it is."""
    cur = conn.connection.cursor()  # psycopg, inside this connection's transaction
    rows = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise RficatError(f"{path}: no such file")
        observation_id = find_observation(cur, path)
        if observation_id is None:
            raise RficatError(f"{path}: not in the catalogue; ingest it first")
        rows.append(dict(conn.execute(sa.text(
            "SELECT id, path, source_name, mjd_start, f_min_mhz, f_max_mhz FROM observations WHERE id = :i"),
            {"i": observation_id}).mappings().one()))
    return rows


def _given_twice(paths: Sequence[str | Path], observations: list[dict]) -> None:
    first: dict[int, str | Path] = {}
    for path, row in zip(paths, observations):
        if row["id"] in first:
            same = "is given twice" if Path(first[row["id"]]).resolve() == Path(path).resolve() else \
                f"and {first[row['id']]} are the same observation (id {row['id']})"
            raise RficatError(f"{path} {same}: each scan belongs in a cadence once")
        first[row["id"]] = path


def _role_conflicts(name: str, existing: list[dict], given_roles: dict[int, str]) -> None:
    for member in existing:
        role = given_roles.get(member["id"])
        if role is not None and role != member["role"]:
            raise RficatError(f"cadence {name} already has {member['path']} as {member['role']}, not {role}; "
                              "to redefine the cadence, add it with --replace")


def add_cadence(engine: Engine, name: str, paths: Sequence[str | Path], roles: Sequence[str] | None = None,
                replace: bool = False) -> dict:
    """Create the cadence or append scans to it (``replace``: make these its only scans); returns
    the cadence with its members. A scan given twice, or a role that contradicts the one a scan
    already has in the cadence, is refused."""
    if roles is not None:
        roles = [r.upper() for r in roles]
        if len(roles) != len(paths) or set(roles) - set(ROLES):
            raise RficatError(f"--roles needs one of ON/OFF per file ({len(paths)} files), got {','.join(roles)}")
    with engine.begin() as conn:
        new = _observations(conn, paths)
        _given_twice(paths, new)
        cadence_id = conn.execute(sa.text("SELECT id FROM cadences WHERE name = :n FOR UPDATE"), {"n": name}).scalar()
        existing = [] if cadence_id is None or replace else [dict(r) for r in conn.execute(sa.text(
            "SELECT o.id, o.path, o.source_name, o.mjd_start, o.f_min_mhz, o.f_max_mhz, m.role FROM cadence_members m"
            " JOIN observations o ON o.id = m.observation_id WHERE m.cadence_id = :c ORDER BY m.position"),
            {"c": cadence_id}).mappings()]
        known = {r["id"] for r in existing}
        given_roles = dict(zip((r["id"] for r in new), roles)) if roles else {}
        _role_conflicts(name, existing, given_roles)
        members = existing + [r for r in new if r["id"] not in known]
        members.sort(key=lambda r: (r["mjd_start"] is None, r["mjd_start"] or 0, r["id"]))
        lo, hi = max(r["f_min_mhz"] for r in members), min(r["f_max_mhz"] for r in members)
        if lo >= hi:
            raise RficatError(f"cadence {name}: the scans do not overlap in frequency")
        names = [r["source_name"] for r in members]
        for member, role in zip(members, infer_roles(names)):
            member["role"] = given_roles.get(member["id"], member["role"] if member["id"] in known else role)
        pattern = pattern_of(names, [m["role"] for m in members])
        if cadence_id is None:
            cadence_id = conn.execute(sa.text("INSERT INTO cadences (name, pattern) VALUES (:n, :p) RETURNING id"),
                                      {"n": name, "p": pattern}).scalar_one()
        else:
            conn.execute(sa.text("UPDATE cadences SET pattern = :p WHERE id = :c"), {"p": pattern, "c": cadence_id})
            conn.execute(sa.text("DELETE FROM cadence_members WHERE cadence_id = :c"), {"c": cadence_id})
        conn.execute(sa.text(
            "INSERT INTO cadence_members (cadence_id, position, observation_id, role) VALUES (:c, :p, :o, :r)"),
            [{"c": cadence_id, "p": i, "o": m["id"], "r": m["role"]} for i, m in enumerate(members)])
    return {"name": name, "pattern": pattern, "members": [
        {"position": i, "observation_id": m["id"], "path": m["path"], "source_name": m["source_name"],
         "role": m["role"]} for i, m in enumerate(members)]}


EVENT_COLUMNS = ["rank", "snippet_id", "f_center_mhz", "drift_rate_hz_s", "snr", "on_snippet_ids",
                 "min_on_similarity", "off_scans_checked", "best_off_similarity", "best_off_snippet_id",
                 "n_lookalikes_elsewhere", "likely_rfi", "explanation", "rfi_class_id", "rfi_label", "verdict",
                 "evidence", "judged_snippet_id"]


def search(engine: Engine, name: str, *, model_id: int | None = None, on_similarity: float = 0.7,
           off_similarity: float = 0.7, common_similarity: float | None = None, common_min: int | None = None,
           class_min_observations: int | None = None, use_classes: bool = True, use_verdicts: bool = True,
           off_drift_consistent: bool = True, on_track: bool = True, local_rfi: bool = True,
           pool_evidence: bool = True, cadence_track: bool = True, max_missing_on: int | None = None,
           off_on_track: bool = True, missing_on_faint_only: bool = True, zero_drift: bool = True):
    """Ranked candidate events of a cadence with their verdicts (SQL: ``rficat_cadence_events``), as a DataFrame.

    Each event is judged on its highest-SNR ON snippet by the one verdict rule
    (``rficat.catalogue.verdicts``), with the evidence against its other ON appearances that drift
    like it pooled in (``pool_evidence``, default; False: that snippet alone, before migration 0023):
    an emitter whose picture changes from scan to scan shows its lookalikes behind any of them.
    ``common_similarity``, ``common_min`` and
    ``class_min_observations`` override the build's similarity, minimum evidence and class
    reference minimum. ``use_classes=False`` judges on lookalike evidence alone and
    ``use_verdicts=False`` reports the ON/OFF test alone (the ablation of the benchmark).
    An OFF-scan signal vetoes an event only when it is similar, near the track and drifts like
    the event (within the verdict rule's tolerance); ``off_drift_consistent=False`` lets any
    similar OFF signal veto, whatever its drift (the rule before migration 0019); the event's drift
    is that of its best-measured ON appearance on its track (migration 0027: an appearance found by
    similarity alone may be the RFI a faint line crosses, whose OFF twins would veto the line). ``on_track`` (default) takes as an ON scan's
    appearance the signal on the event's track -- drifting like it, where its drift puts it -- even
    when less similar than ``on_similarity`` (faint tracks); ``on_track=False``: similarity alone.
    ``local_rfi`` (default) leaves an event judged RFI a candidate when an OFF scan shows its
    picture near its track drifting otherwise: its lookalikes are those of the RFI it sits on;
    ``off_on_track`` (default, migration 0029): not when that OFF signal is on the event's track
    with a drift not shown to differ (beyond both tolerances together): that is the event's own
    signal seen in an OFF scan, measured a little otherwise there (False: the rule of 0020-0028).
    ``cadence_track`` (default) makes ``likely_rfi`` a candidate that drifts within its ON scans but
    whose ON appearances lie on a line across the cadence with another slope (it starts each scan
    anew, as RFI does; a transmitter at the target keeps drifting between scans); False: before
    migration 0024.
    ``max_missing_on``: ON scans an event may be missing from (None: one where the cadence has
    three or more, else none; 0: every ON scan, the rule before migration 0028). Detection misses
    a faint or flickering line in a scan now and then; such an event starts at its first ON
    appearance, says which scans it is missing from, and ranks after complete events.
    ``missing_on_faint_only`` (default, migration 0030): only an event fainter than SNR 20 in every
    ON scan it is seen in may be missing from one (detection does not miss a brighter signal;
    False: the rule of 0028-0029).
    ``zero_drift`` (default, migration 0031) makes ``likely_rfi`` a candidate whose ON appearances
    stay put across the cadence (on one line within 8 channels, moving at most 8 channels over the
    ON span: 0.019 Hz/s at GBT's resolution over three ON scans): it does not drift relative to the
    telescope, as RFI from the ground does not (turboSETI drops zero-drift hits by default); False:
    the rule of 0030.
    """
    from rficat.store.db import SEARCH_SETTINGS, query_frame

    sql = ("SELECT * FROM rficat_cadence_events(CAST(:name AS text), CAST(:model AS integer), :on_sim, :off_sim,"
           " CAST(:common_sim AS double precision), CAST(:common_min AS integer),"
           " p_class_min_observations => CAST(:class_min AS integer), p_use_classes => :use_classes,"
           " p_use_verdicts => :use_verdicts, p_off_drift_consistent => :off_drift,"
           " p_on_track => :on_track, p_local_rfi => :local_rfi, p_pool_evidence => :pool,"
           " p_cadence_track => :cadence_track, p_max_missing_on => CAST(:max_missing_on AS integer),"
           " p_off_on_track => :off_on_track, p_missing_on_faint_only => :faint_only,"
           " p_zero_drift => :zero_drift)")
    params = {"name": name, "model": model_id, "on_sim": on_similarity, "off_sim": off_similarity,
              "common_sim": common_similarity, "common_min": common_min, "class_min": class_min_observations,
              "use_classes": use_classes, "use_verdicts": use_verdicts, "off_drift": off_drift_consistent,
              "on_track": on_track, "local_rfi": local_rfi, "pool": pool_evidence, "cadence_track": cadence_track,
              "max_missing_on": max_missing_on, "off_on_track": off_on_track, "faint_only": missing_on_faint_only,
              "zero_drift": zero_drift}
    return query_frame(engine, sql, params, EVENT_COLUMNS, SEARCH_SETTINGS)
