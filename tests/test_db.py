"""The catalogue schema on a real PostgreSQL + pgvector."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import insert_snippets

from rficat.science import snippets
from rficat.store import db
from rficat.store.schema import Base

USER_TABLES = set(db.CATALOGUE_TABLES)


def _partitions(engine: sa.Engine) -> set[str]:
    """Partitions of a partitioned table (embeddings_pending, embeddings_m<id>, ...): part of their parent."""
    with engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT relname FROM pg_class WHERE relispartition")).scalars())


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"} - _partitions(engine)


def test_migrations_up_down_up(fresh_engine):
    db.migrate(fresh_engine, "head")
    assert _tables(fresh_engine) == USER_TABLES
    assert db.current_revision(fresh_engine) == db.head_revision()

    db.migrate(fresh_engine, "base")
    assert _tables(fresh_engine) == set()
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'rficat_%'")).scalar() == 0

    db.migrate(fresh_engine, "head")
    assert _tables(fresh_engine) == USER_TABLES


def test_models_match_migrations(fresh_engine):
    """The typed models and the migrations describe the same schema."""
    db.migrate(fresh_engine, "head")
    partitions = _partitions(fresh_engine)
    with fresh_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_object": lambda obj, name, kind, reflected, compare_to: not (kind == "table" and name in partitions)})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_every_table_and_column_is_commented(catalogue):
    inspector = sa.inspect(catalogue.engine)
    missing = []
    for table in db.CATALOGUE_TABLES:
        if not inspector.get_table_comment(table)["text"]:
            missing.append(table)
        missing += [f"{table}.{c['name']}" for c in inspector.get_columns(table) if not c.get("comment")]
    assert missing == []


def test_search_settings_hold_for_their_query_only(catalogue):
    """Search settings (jit off, more work_mem) are SET LOCAL: the query runs with them, and the pooled
    connection it ran on keeps none for the next query."""
    engine = db.make_engine(catalogue.engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    sql, columns = "SELECT current_setting('jit') AS jit, current_setting('work_mem') AS work_mem", ["jit", "work_mem"]
    try:
        before = db.query_frame(engine, sql, {}, columns).iloc[0].to_dict()
        inside = db.query_frame(engine, sql, {}, columns, db.SEARCH_SETTINGS).iloc[0].to_dict()
        after = db.query_frame(engine, sql, {}, columns).iloc[0].to_dict()
    finally:
        engine.dispose()
    assert inside == db.SEARCH_SETTINGS
    assert after == before != inside


def test_unique_fingerprint_enforced(catalogue):
    row = dict(path="/data/a.h5", fingerprint="sha256:abc", f_min_mhz=1000.0, f_max_mhz=1001.0,
               fch1_mhz=1001.0, foff_mhz=-1e-6, tsamp_s=18.25, n_channels=1024, n_integrations=16,
               header="{}")
    insert = sa.text(
        "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
        " n_channels, n_integrations, header) VALUES (:path, :fingerprint, :f_min_mhz, :f_max_mhz,"
        " :fch1_mhz, :foff_mhz, :tsamp_s, :n_channels, :n_integrations, CAST(:header AS jsonb))"
    )
    with catalogue.engine.connect() as conn:
        conn.execute(insert, row)
        with pytest.raises(sa.exc.IntegrityError, match="uq_observations_fingerprint"):
            conn.execute(insert, {**row, "path": "/elsewhere/copy.h5"})
        conn.rollback()


@pytest.mark.parametrize("use_frequency", [False, True])
def test_two_dimensions_indexed_and_searched(fresh_engine, use_frequency):
    """Models of latent 5 and 8 share one table; each is searched through its own HNSW index."""
    db.migrate(fresh_engine, "head")
    column = "freq_vector" if use_frequency else "latent"
    rng = np.random.default_rng(7)
    with fresh_engine.begin() as conn:
        ids = insert_snippets(conn, 4000)
        vectors = {}
        for dim in (5, 8):
            model_id = conn.execute(sa.text(
                "INSERT INTO models (name, version, latent_dim, fingerprint) VALUES ('m', :d, :d, :fp) RETURNING id"),
                {"d": dim, "fp": f"fp{dim}"}).scalar_one()
            vecs = rng.normal(size=(len(ids), dim)).astype(np.float32)
            conn.execute(sa.text(
                "INSERT INTO embeddings (snippet_id, model_id, latent, freq_vector)"
                " SELECT s, :m, v::vector, v::vector FROM unnest(CAST(:s AS bigint[]), CAST(:v AS text[])) AS t(s, v)"),
                {"s": ids, "m": model_id, "v": [str(v.tolist()) for v in vecs]})
            vectors[dim] = (model_id, vecs)
    assert db.index_pending(fresh_engine, batch=3000) == 2 * len(ids)  # new vectors wait outside HNSW
    assert db.index_pending(fresh_engine) == 0

    with fresh_engine.connect() as conn:
        conn.execute(sa.text("ANALYZE embeddings"))
        for dim, (model_id, vecs) in vectors.items():
            query = vecs[0] + 0.01
            sql = (f"SELECT snippet_id FROM embeddings WHERE model_id = CAST(:m AS integer) AND indexed "
                   f"ORDER BY ({column}::vector({dim})) <=> CAST(:q AS vector({dim})) LIMIT 5")
            params = {"m": model_id, "q": str(query.tolist())}
            plan = "\n".join(conn.execute(sa.text("EXPLAIN " + sql), params).scalars())
            index = f"embeddings_{'freq' if use_frequency else 'latent'}_hnsw_m{model_id}"
            assert index in plan, plan
            found = list(conn.execute(sa.text(sql), params).scalars())
            cosine = vecs @ query / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(query))
            assert found[0] == ids[int(np.argmax(cosine))]


def test_a_search_inside_one_band_walks_that_bands_graph(fresh_engine):
    """Vectors move once from embeddings_pending into their model's partition, where each 100 MHz band
    has its own HNSW index; a band search too wide for the exact path walks that band's graph."""
    db.migrate(fresh_engine, "head")
    rng = np.random.default_rng(11)
    with fresh_engine.begin() as conn:
        ids = insert_snippets(conn, 12000)
        f_center = np.where(np.arange(len(ids)) % 2 == 0, rng.uniform(1400, 1500, len(ids)),
                            rng.uniform(1500, 1600, len(ids)))
        conn.execute(sa.text("UPDATE snippets s SET f_center_mhz = t.f FROM unnest(CAST(:s AS bigint[]),"
                             " CAST(:f AS float8[])) AS t(s, f) WHERE s.id = t.s"), {"s": ids, "f": f_center.tolist()})
        model_id = conn.execute(sa.text(
            "INSERT INTO models (name, version, latent_dim, fingerprint) VALUES ('m', 1, 8, 'fp') RETURNING id"
        )).scalar_one()
        vecs = rng.normal(size=(len(ids), 8)).astype(np.float32)
        conn.execute(sa.text(
            "INSERT INTO embeddings (snippet_id, model_id, latent, freq_vector)"
            " SELECT s, :m, v::vector, v::vector FROM unnest(CAST(:s AS bigint[]), CAST(:v AS text[])) AS t(s, v)"),
            {"s": ids, "m": model_id, "v": [str(v.tolist()) for v in vecs]})
    assert db.index_pending(fresh_engine) == len(ids)
    with fresh_engine.connect() as conn:
        conn.execute(sa.text("ANALYZE embeddings"))
        assert conn.execute(sa.text("SELECT count(*) FROM embeddings_pending")).scalar_one() == 0
        assert sorted(conn.execute(sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename = :t AND indexname LIKE '%hnsw%'"),
            {"t": f"embeddings_m{model_id}"}).scalars()) == sorted(
            f"embeddings_{kind}_hnsw_m{model_id}{band}" for kind in ("freq", "latent") for band in ("", "_f1400", "_f1500"))
    band = f"embeddings_latent_hnsw_m{model_id}_f1400"
    scans = sa.text("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = :i")
    with fresh_engine.connect() as conn:
        before = conn.execute(scans, {"i": band}).scalar_one()
    query = vecs[0] + 0.01
    searcher = db.make_engine(fresh_engine.url.render_as_string(hide_password=False))
    with searcher.connect() as conn:
        found = list(conn.execute(sa.text(
            "SELECT snippet_id FROM rficat_lookalikes_of_vector(CAST(:q AS vector), 5, false,"
            " p_f_min_mhz => 1401, p_f_max_mhz => 1499)"), {"q": str(query.tolist())}).scalars())
    searcher.dispose()  # a server process writes its statistics when it exits
    with fresh_engine.connect() as conn:
        for _ in range(50):
            if conn.execute(scans, {"i": band}).scalar_one() > before:
                break
            conn.execute(sa.text("SELECT pg_stat_clear_snapshot(), pg_sleep(0.1)"))
        assert conn.execute(scans, {"i": band}).scalar_one() > before
        inside = (f_center >= 1401) & (f_center <= 1499)
        cosine = np.where(inside, vecs @ query / (np.linalg.norm(vecs, axis=1) * np.linalg.norm(query)), -2)
        assert found[0] == ids[int(np.argmax(cosine))]


def test_0002_converts_stored_snippets_both_ways(fresh_engine):
    """float16 snippets of a 0001 catalogue become uint8 (and back) without losing a row."""
    db.migrate(fresh_engine, "0001")
    x = np.random.default_rng(3).random((3, 16, 256)).astype(np.float32)
    with fresh_engine.begin() as conn:
        ids = insert_snippets(conn, 3)
        for sid, snippet in zip(ids, x):
            conn.execute(sa.text("UPDATE snippets SET data = :d WHERE id = :i"),
                         {"d": snippet.astype("<f2").tobytes(), "i": sid})
    db.migrate(fresh_engine, "head")
    with fresh_engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT data FROM snippet_arrays ORDER BY snippet_id")).scalars().all()
    np.testing.assert_allclose(np.stack([snippets.from_bytes(d) for d in stored]), x, atol=0.5 / 255 + 1e-3)
    db.migrate(fresh_engine, "0001")
    with fresh_engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT data FROM snippets ORDER BY id")).scalars().all()
    assert [len(d) for d in stored] == [8192] * 3
    np.testing.assert_allclose(np.stack([np.frombuffer(d, "<f2") for d in stored]).reshape(x.shape), x, atol=3e-3)


def test_migration_0007_rescales_drifts_of_files_without_16_integrations(fresh_engine):
    """Stored drifts were off by the integrations per time bin; 0007 fixes them (and 0006 restores)."""
    db.migrate(fresh_engine, "0006")
    with fresh_engine.begin() as conn:
        for n_ints, drift in ((32, 1.0), (8, 0.25), (16, 0.5), (20, 0.5)):
            obs = conn.execute(sa.text(
                "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
                " n_channels, n_integrations, header) VALUES (:p, :p, 1, 2, 2, -1, 1, 1, :n, '{}') RETURNING id"),
                {"p": f"/obs{n_ints}.h5", "n": n_ints}).scalar_one()
            conn.execute(sa.text(
                "INSERT INTO snippets (observation_id, coarse_channel, chan_start, chan_stop, f_start_mhz,"
                " f_stop_mhz, f_center_mhz, statistic, drift_rate_hz_s, is_signal, data)"
                " VALUES (:o, 0, 0, 256, 1, 2, 1.5, 1000, :d, true, '\\x00'::bytea)"), {"o": obs, "d": drift})

    def drifts() -> dict[int, float]:
        with fresh_engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT o.n_integrations, s.drift_rate_hz_s FROM snippets s"
                                             " JOIN observations o ON o.id = s.observation_id")).all())

    db.migrate(fresh_engine, "0007")
    assert drifts() == pytest.approx({32: 0.5, 8: 0.5, 16: 0.5, 20: 0.5})
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT (detection->>'time_bin_s')::float8 FROM observations WHERE n_integrations = 32")
                            ).scalar() == 2.0
    db.migrate(fresh_engine, "0006")
    assert drifts() == pytest.approx({32: 1.0, 8: 0.25, 16: 0.5, 20: 0.5})


def test_migration_0008_marks_sampled_fingerprints_and_fills_the_pointing(fresh_engine):
    db.migrate(fresh_engine, "0007")
    with fresh_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
            " n_channels, n_integrations, header) VALUES ('/a.h5', 'sha256:abc', 1, 2, 2, -1, 1, 1, 16,"
            " '{\"src_raj\": 17.7875, \"src_dej\": -28.3831}'), ('/b.fil', 'sha256:def', 1, 2, 2, -1, 1, 1, 16, '{}')"))
    db.migrate(fresh_engine, "0008")
    with fresh_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT path, fingerprint_kind, ra_deg, dec_deg, file_size FROM observations"
                                    " ORDER BY path")).all()
    assert [tuple(r) for r in rows] == [("/a.h5", "sampled-sha256", pytest.approx(266.8125), pytest.approx(-28.3831),
                                         None), ("/b.fil", "sampled-sha256", None, None, None)]
    db.migrate(fresh_engine, "0007")
    with fresh_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM observations")).scalar() == 2


def test_migration_0019_drift_consistent_off_veto_up_and_down(fresh_engine):
    """0019 adds rficat_drift_tolerance (used by rficat_classify and the OFF veto) and the
    p_off_drift_consistent and p_on_track arguments of rficat_cadence_events; 0015 restores both as they were."""

    def functions() -> dict[str, list[int]]:
        with fresh_engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT proname, pronargs FROM pg_proc WHERE proname IN"
                                        " ('rficat_cadence_events', 'rficat_drift_tolerance', 'rficat_classify')")).all()
        out: dict[str, list[int]] = {}
        for name, n in rows:
            out.setdefault(name, []).append(n)
        return out

    def classify_uses_tolerance() -> bool:
        with fresh_engine.connect() as conn:
            return "rficat_drift_tolerance" in conn.execute(sa.text(
                "SELECT prosrc FROM pg_proc WHERE proname = 'rficat_classify'")).scalar_one()

    db.migrate(fresh_engine, "0019")
    assert functions() == {"rficat_cadence_events": [12], "rficat_drift_tolerance": [3], "rficat_classify": [14]}
    assert classify_uses_tolerance()
    with fresh_engine.connect() as conn:  # one channel over the scan, or 2 x the error where larger
        assert conn.execute(sa.text("SELECT rficat_drift_tolerance(0.0096, 0.001), rficat_drift_tolerance(0.0096, 0.01),"
                                    " rficat_drift_tolerance(0.0096, NULL)")).one() == pytest.approx((0.0096, 0.02, 0.0096))
    db.migrate(fresh_engine, "0015")
    assert functions() == {"rficat_cadence_events": [10], "rficat_classify": [14]}
    assert not classify_uses_tolerance()
    db.migrate(fresh_engine, "0019")
    assert functions()["rficat_cadence_events"] == [12]


def test_migration_0020_local_rfi_argument_up_and_down(fresh_engine):
    """0020 appends p_local_rfi to rficat_cadence_events; going back to 0016 restores 0019's function."""

    def arguments() -> list[int]:
        with fresh_engine.connect() as conn:
            return conn.execute(sa.text("SELECT pronargs FROM pg_proc WHERE proname = 'rficat_cadence_events'")).scalars().all()

    db.migrate(fresh_engine, "0020")
    assert arguments() == [13]
    db.migrate(fresh_engine, "0016")
    assert arguments() == [12]
    db.migrate(fresh_engine, "0020")
    assert arguments() == [13]


def test_bernoulli_rows_reads_a_repeatable_sample_not_the_table(fresh_engine):
    """Sampling for training and RFI builds reads a share of the table, never sorts all of it."""
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE sample_me AS SELECT g AS id FROM generate_series(1, 20000) g"))
    query = "SELECT id FROM sample_me {tablesample}"
    with db.raw_connection(fresh_engine) as conn:
        everything = db.bernoulli_rows(conn, query, (), "sample_me", 100, seed=3)  # no estimate yet: all rows
        conn.execute("ANALYZE sample_me")
        first = db.bernoulli_rows(conn, query, (), "sample_me", 100, seed=3)
        again = db.bernoulli_rows(conn, query, (), "sample_me", 100, seed=3)
        other = db.bernoulli_rows(conn, query, (), "sample_me", 100, seed=4)
        widened = db.bernoulli_rows(conn, query + " WHERE id <= 2000", (), "sample_me", 100, seed=3)
    assert len(everything) == 20000
    assert 100 <= len(first) < 1000 and first == again and first != other
    assert len(widened) >= 100 and all(r[0] <= 2000 for r in widened)  # a filter thins it: asked again, wider
