"""Migration 0016 on a populated catalogue: nothing lost up, nothing lost down.

A catalogue made at the previous head (0011) with snippet arrays, vectors of two models (some
still waiting for the HNSW index), an RFI build with labelled classes, verdicts and its bank is
migrated to 0016 and back to 0011. Exact searches (``p_exact``: HNSW graphs differ between
builds), the arrays, the RFI tables and which vectors wait for the index are the same at every
step.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from rficat.store import db

N = 600
DIM = 8


def _vector(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in v) + "]"


def _populate_0011(engine: sa.Engine) -> None:
    rng = np.random.default_rng(16)
    arrays = rng.integers(0, 256, size=(N, 16 * 256), dtype=np.uint8)
    centres = rng.normal(size=(12, DIM))
    labels = rng.integers(0, 12, N)
    latent = centres[labels] + 0.2 * rng.normal(size=(N, DIM))
    f_center = rng.uniform(1100, 1900, N)
    with engine.begin() as conn:
        obs = [conn.execute(sa.text(
            "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
            " n_channels, n_integrations, header, status) VALUES (:p, :p, 1100, 1900, 1900, -2.8e-6, 18.25, 1, 16,"
            " '{}', 'complete') RETURNING id"), {"p": f"/data/obs{i}.h5"}).scalar_one() for i in range(3)]
        ids = []
        for i in range(N):
            ids.append(conn.execute(sa.text(
                "INSERT INTO snippets (observation_id, coarse_channel, chan_start, chan_stop, f_start_mhz, f_stop_mhz,"
                " f_center_mhz, statistic, snr, drift_rate_hz_s, width_hz, drift_error_hz_s, is_signal, data)"
                " VALUES (:o, 0, :c, :c + 256, :f - 0.0003, :f + 0.0003, :f, 1000, :snr, :d, 5, 0.01, :sig, :data)"
                " RETURNING id"),
                {"o": obs[i % 3], "c": 256 * i, "f": float(f_center[i]), "snr": float(rng.uniform(10, 90)),
                 "d": float(rng.uniform(-1, 1)), "sig": i % 10 != 0, "data": arrays[i].tobytes()}).scalar_one())
        for version, is_current in ((1, True), (2, False)):
            model = conn.execute(sa.text(
                "INSERT INTO models (name, version, latent_dim, fingerprint, is_current) VALUES ('m', :v, :d, :fp, :c)"
                " RETURNING id"), {"v": version, "d": DIM, "fp": f"fp{version}", "c": is_current}).scalar_one()
            vectors = latent if version == 1 else latent[:, ::-1].copy()
            conn.execute(sa.text(
                "INSERT INTO embeddings (snippet_id, model_id, latent, freq_vector, indexed)"
                " VALUES (:s, :m, CAST(:l AS vector), CAST(:f AS vector), :ix)"),
                [{"s": sid, "m": model, "l": _vector(v), "f": _vector(v + 0.1), "ix": i < N - 40}
                 for i, (sid, v) in enumerate(zip(ids, vectors))])
        build = conn.execute(sa.text(
            "INSERT INTO rfi_builds (model_id, params, n_sampled, n_classes, n_assigned, is_current)"
            " VALUES (1, '{\"method\": \"test\"}', :n, 3, 30, true) RETURNING id"), {"n": N}).scalar_one()
        classes = [conn.execute(sa.text(
            "INSERT INTO rfi_classes (build_id, label, notes, centroid, radius, exemplar_ids, size, nn_distance)"
            " VALUES (:b, :label, 'seen in every scan', CAST(:c AS vector), 0.1, :ex, 10, 0.05) RETURNING id"),
            {"b": build, "label": label, "c": _vector(centres[k] / np.linalg.norm(centres[k])),
             "ex": [ids[k]]}).scalar_one() for k, label in enumerate(("GPS L1", "Iridium", None))]
        conn.execute(sa.text(
            "INSERT INTO rfi_assignments (snippet_id, build_id, class_id, distance, verdict, explanation, evidence_ids,"
            " drift_tolerance_hz_s) VALUES (:s, :b, :c, 0.01, 'known_rfi', 'test', :ev, 0.02)"),
            [{"s": ids[i], "b": build, "c": classes[labels[i] % 3], "ev": [ids[(i + 1) % N]]} for i in range(30)])
        conn.execute(sa.text(
            "INSERT INTO rfi_bank (build_id, snippet_id, class_id, observation_id, f_center_mhz, latent)"
            " SELECT :b, s.id, NULL, s.observation_id, s.f_center_mhz, e.latent FROM snippets s"
            " JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = 1 WHERE s.id <= :last"),
            {"b": build, "last": ids[50]})


QUERIES = (
    "SELECT snippet_id, round(similarity::numeric, 9) FROM rficat_lookalikes(:s, 10, false, p_exact => true)",
    "SELECT snippet_id, round(similarity::numeric, 9) FROM rficat_lookalikes(:s, 10, true, p_exact => true)",
    "SELECT snippet_id, round(similarity::numeric, 9) FROM rficat_lookalikes(:s, 10, false, p_model_id => 2,"
    " p_exact => true)",
    "SELECT snippet_id, round(similarity::numeric, 9) FROM rficat_lookalikes(:s, 10, false, p_exact => true,"
    " p_f_min_mhz => 1400, p_f_max_mhz => 1490)",
    "SELECT snippet_id, n_grouped FROM rficat_lookalikes(:s, 5, false, p_exact => true, p_group_mhz => 50)",
)


def _state(engine: sa.Engine) -> dict:
    """Everything the migration must keep: search results, arrays, vectors and their index state, RFI."""
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM snippets ORDER BY id")).scalars().all()
        inline = conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM information_schema.columns"
                                      " WHERE table_name = 'snippets' AND column_name = 'data')")).scalar_one()
        arrays = conn.execute(sa.text(
            "SELECT id, md5(data) FROM snippets ORDER BY id" if inline else
            "SELECT snippet_id, md5(data) FROM snippet_arrays ORDER BY snippet_id")).all()
        return {
            "searches": {(q, s): conn.execute(sa.text(q), {"s": s}).all() for q in QUERIES for s in ids[::37]},
            "arrays": arrays,
            "vectors": conn.execute(sa.text(
                "SELECT snippet_id, model_id, latent::text, freq_vector::text, indexed FROM embeddings"
                " ORDER BY snippet_id, model_id")).all(),
            "snippets": conn.execute(sa.text(
                "SELECT id, observation_id, f_center_mhz, snr, drift_rate_hz_s, is_signal FROM snippets"
                " ORDER BY id")).all(),
            "rfi": conn.execute(sa.text(
                "SELECT snippet_id, class_id, label, verdict FROM snippet_rfi ORDER BY snippet_id")).all(),
            "classes": conn.execute(sa.text(
                "SELECT id, label, notes, centroid::text, exemplar_ids FROM rfi_classes ORDER BY id")).all(),
            "assignments": conn.execute(sa.text(
                "SELECT snippet_id, build_id, class_id, verdict, evidence_ids FROM rfi_assignments"
                " ORDER BY snippet_id")).all(),
            "bank": conn.execute(sa.text("SELECT snippet_id, latent::text FROM rfi_bank ORDER BY snippet_id")).all(),
            "catalogue": conn.execute(sa.text("SELECT count(*) FROM snippet_catalogue")).scalar_one(),
        }


def test_0016_up_and_down_keeps_a_populated_catalogue(fresh_engine):
    db.migrate(fresh_engine, "0011")
    _populate_0011(fresh_engine)
    before = _state(fresh_engine)
    assert len(before["searches"]) == len(QUERIES) * len(range(0, N, 37))
    assert all(rows for rows in before["searches"].values())
    assert sum(not v.indexed for v in before["vectors"]) == 80 and len(before["rfi"]) == 30

    db.migrate(fresh_engine, "0016")
    after = _state(fresh_engine)
    for key in before:
        assert after[key] == before[key], key
    with fresh_engine.connect() as conn:
        # the vectors went to their partitions: the waiting ones to embeddings_pending, the others to their model's
        parts = dict(conn.execute(sa.text(
            "SELECT tableoid::regclass::text, count(*) FROM embeddings GROUP BY 1")).all())
        assert parts == {"embeddings_pending": 80, "embeddings_m1": N - 40, "embeddings_m2": N - 40}
        bands = conn.execute(sa.text(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'embeddings_m1' AND indexname LIKE '%hnsw_m1_f%'"
        )).scalar_one()
        assert bands == 2 * 8  # latent and freq_vector, for each 100 MHz band of 1100-1900 MHz
        # the arrays are stored as two TOAST chunks (out of line) and a tail in the row
        assert conn.execute(sa.text(
            "SELECT min(octet_length(head)), max(octet_length(tail)) FROM snippet_array_parts")).one() == (3992, 104)
    assert db.index_pending(fresh_engine) == 80
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM embeddings WHERE NOT indexed")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM embeddings_m2")).scalar_one() == N
    assert _state(fresh_engine)["searches"] == before["searches"]

    db.migrate(fresh_engine, "0011")
    down = _state(fresh_engine)
    for key in before:
        if key != "vectors":
            assert down[key] == before[key], key
    # indexed since: the same vectors, now all in the index
    assert [v[:4] for v in down["vectors"]] == [v[:4] for v in before["vectors"]]
    assert all(v.indexed for v in down["vectors"])
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pg_indexes WHERE tablename = 'embeddings'"
                                    " AND indexname LIKE 'embeddings_%hnsw_m%'")).scalar_one() == 4
