"""Search: the current model, the snippet_catalogue view, lookalike and cadence functions,
template search results, and a read-only role for notebook users.

Every function takes its inputs as parameters. The only SQL built from text is the
per-model index expression (an integer model id and dimension read from ``models``), because
PostgreSQL picks a partial expression index only when the query spells out the same
expression with literals.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOW = sa.text("now()")

FUNCTIONS = r"""
CREATE FUNCTION rficat_current_model() RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT id FROM models ORDER BY is_current DESC, id LIMIT 1
$$;
COMMENT ON FUNCTION rficat_current_model() IS
    'Id of the model searches use when none is named: the one marked models.is_current (the first registered, unless changed with rficat model use).';

CREATE VIEW snippet_catalogue AS
SELECT s.id AS snippet_id, s.observation_id, o.path, o.source_name, o.mjd_start,
       c.cadence, c.role, c.cadence_position,
       s.coarse_channel, s.f_start_mhz, s.f_stop_mhz, s.f_center_mhz,
       s.snr, s.drift_rate_hz_s, s.statistic, s.is_signal,
       e.model_id, e.latent, e.freq_vector
FROM snippets s
JOIN observations o ON o.id = s.observation_id AND o.status = 'complete'
JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = rficat_current_model()
LEFT JOIN LATERAL (
    SELECT cd.name AS cadence, cm.role, cm.position AS cadence_position
    FROM cadence_members cm JOIN cadences cd ON cd.id = cm.cadence_id
    WHERE cm.observation_id = s.observation_id ORDER BY cd.id LIMIT 1
) c ON true;
COMMENT ON VIEW snippet_catalogue IS
    'Every searchable snippet with its observation, cadence (name, ON/OFF role, position) and the current model''s vectors. Start here in a notebook.';

CREATE FUNCTION rficat_lookalikes_of_vector(
    p_vector vector,
    p_k integer DEFAULT 10,
    p_use_frequency boolean DEFAULT true,
    p_model_id integer DEFAULT NULL,
    p_exact boolean DEFAULT false,
    p_f_min_mhz double precision DEFAULT NULL,
    p_f_max_mhz double precision DEFAULT NULL,
    p_observation_id bigint DEFAULT NULL,
    p_cadence text DEFAULT NULL,
    p_snr_min double precision DEFAULT NULL,
    p_snr_max double precision DEFAULT NULL,
    p_drift_min_hz_s double precision DEFAULT NULL,
    p_drift_max_hz_s double precision DEFAULT NULL,
    p_mjd_min double precision DEFAULT NULL,
    p_mjd_max double precision DEFAULT NULL,
    p_signals_only boolean DEFAULT true,
    p_group_mhz double precision DEFAULT NULL,
    p_exclude_snippet_id bigint DEFAULT NULL,
    p_rfi_class_id bigint DEFAULT NULL,
    p_not_known_rfi boolean DEFAULT false)
RETURNS TABLE (snippet_id bigint, observation_id bigint, path text, f_start_mhz double precision,
               f_stop_mhz double precision, f_center_mhz double precision, snr double precision,
               drift_rate_hz_s double precision, similarity double precision, n_grouped integer)
LANGUAGE plpgsql STABLE
SET hnsw.iterative_scan = 'relaxed_order'
AS $fn$
DECLARE
    model integer := coalesce(p_model_id, rficat_current_model());
    dim integer;
    distance text;
    filters text;
    fetch_n integer;
    sql text;
    kept double precision[] := '{}';
    kept_ids bigint[] := '{}';
    kept_similarity double precision[] := '{}';
    counts integer[] := '{}';
    r record;
    i integer;
    placed boolean;
    n_in_range bigint;
    joins text;
    has_pending boolean;
BEGIN
    IF p_k IS NULL OR p_k < 1 OR p_k > 10000 THEN
        RAISE EXCEPTION 'rficat: k must be between 1 and 10000, got %', p_k;
    END IF;
    SELECT latent_dim INTO dim FROM models WHERE id = model;
    IF dim IS NULL THEN
        RAISE EXCEPTION 'rficat: no model %', coalesce(model::text, '(the catalogue has no model)');
    END IF;
    IF vector_dims(p_vector) <> dim THEN
        RAISE EXCEPTION 'rficat: the query vector has % dimensions, model % has %', vector_dims(p_vector), model, dim;
    END IF;
    fetch_n := CASE WHEN p_group_mhz IS NULL THEN p_k ELSE p_k * 10 END;
    -- search breadth: at least k, at least rficat.ef_search (a session setting, default 40)
    PERFORM set_config('hnsw.ef_search', greatest(coalesce(nullif(current_setting('rficat.ef_search', true), '')::integer, 40),
                                                  least(fetch_n, 1000))::text, true);
    distance := format('(e.%I::vector(%s)) <=> $1', CASE WHEN p_use_frequency THEN 'freq_vector' ELSE 'latent' END, dim);
    -- only the filters given, each a fixed fragment with its value bound as a parameter
    filters := 'true';
    IF p_f_min_mhz IS NOT NULL THEN filters := filters || ' AND s.f_center_mhz >= $3'; END IF;
    IF p_f_max_mhz IS NOT NULL THEN filters := filters || ' AND s.f_center_mhz <= $4'; END IF;
    IF p_observation_id IS NOT NULL THEN filters := filters || ' AND s.observation_id = $5'; END IF;
    IF p_cadence IS NOT NULL THEN
        filters := filters || ' AND EXISTS (SELECT 1 FROM cadence_members cm JOIN cadences cd ON cd.id = cm.cadence_id'
                            || ' WHERE cm.observation_id = s.observation_id AND cd.name = $6)';
    END IF;
    IF p_snr_min IS NOT NULL THEN filters := filters || ' AND s.snr >= $7'; END IF;
    IF p_snr_max IS NOT NULL THEN filters := filters || ' AND s.snr <= $8'; END IF;
    IF p_drift_min_hz_s IS NOT NULL THEN filters := filters || ' AND s.drift_rate_hz_s >= $9'; END IF;
    IF p_drift_max_hz_s IS NOT NULL THEN filters := filters || ' AND s.drift_rate_hz_s <= $10'; END IF;
    IF p_mjd_min IS NOT NULL THEN filters := filters || ' AND o.mjd_start >= $11'; END IF;
    IF p_mjd_max IS NOT NULL THEN filters := filters || ' AND o.mjd_start <= $12'; END IF;
    IF p_signals_only THEN filters := filters || ' AND s.is_signal'; END IF;
    IF p_exclude_snippet_id IS NOT NULL THEN filters := filters || ' AND s.id <> $14'; END IF;
    IF p_rfi_class_id IS NOT NULL THEN
        filters := filters || ' AND EXISTS (SELECT 1 FROM rfi_assignments ra WHERE ra.snippet_id = s.id AND ra.class_id = $15)';
    END IF;
    IF p_not_known_rfi THEN
        filters := filters || ' AND NOT EXISTS (SELECT 1 FROM snippet_rfi kr WHERE kr.snippet_id = s.id)';
    END IF;
    -- observations only when a filter needs them (every committed observation is complete)
    joins := CASE WHEN p_mjd_min IS NOT NULL OR p_mjd_max IS NOT NULL
                  THEN ' JOIN observations o ON o.id = s.observation_id' ELSE '' END;
    -- a narrow band or one observation holds few rows: scanning those exactly (through the
    -- frequency / observation index) beats walking the HNSW graph past every rejected neighbour
    IF p_f_min_mhz IS NOT NULL OR p_f_max_mhz IS NOT NULL OR p_observation_id IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM snippets s WHERE true%s%s%s LIMIT 5000) few',
                       CASE WHEN p_f_min_mhz IS NOT NULL THEN ' AND s.f_center_mhz >= $1' ELSE '' END,
                       CASE WHEN p_f_max_mhz IS NOT NULL THEN ' AND s.f_center_mhz <= $2' ELSE '' END,
                       CASE WHEN p_observation_id IS NOT NULL THEN ' AND s.observation_id = $3' ELSE '' END)
            INTO n_in_range USING p_f_min_mhz, p_f_max_mhz, p_observation_id;
    END IF;
    IF n_in_range < 5000 THEN
        -- a scalar subquery per row: the planner cannot turn it into a scan of all embeddings
        sql := format($q$
            SELECT snippet_id, distance FROM (
                SELECT s.id AS snippet_id, (SELECT e.%1$I <=> $1 FROM embeddings e
                                            WHERE e.snippet_id = s.id AND e.model_id = %2$s) AS distance
                FROM snippets s%4$s
                WHERE %3$s
            ) few WHERE distance IS NOT NULL ORDER BY distance LIMIT $2$q$,
            CASE WHEN p_use_frequency THEN 'freq_vector' ELSE 'latent' END, model, filters, joins);
    ELSIF p_exact THEN  -- the expression differs from the index's: a sequential, exact scan
        sql := format($q$
            SELECT e.snippet_id, (e.%1$I <=> $1) AS distance
            FROM embeddings e JOIN snippets s ON s.id = e.snippet_id%4$s
            WHERE e.model_id = %2$s AND %3$s ORDER BY 2 LIMIT $2$q$,
            CASE WHEN p_use_frequency THEN 'freq_vector' ELSE 'latent' END, model, filters, joins);
    ELSE  -- HNSW over indexed vectors, exact over those still waiting for rficat_index_pending()
        has_pending := EXISTS (SELECT 1 FROM embeddings pe WHERE pe.model_id = model AND NOT pe.indexed);
        sql := format($q$
            WITH hnsw AS MATERIALIZED (
                SELECT e.snippet_id, %1$s AS distance FROM embeddings e JOIN snippets s ON s.id = e.snippet_id%4$s
                WHERE e.model_id = %2$s AND e.indexed AND %3$s ORDER BY %1$s LIMIT $2
            )%5$s
            SELECT * FROM (SELECT * FROM hnsw%6$s) u ORDER BY distance LIMIT $2$q$,
            distance, model, filters, joins,
            CASE WHEN has_pending THEN format($p$, pending AS MATERIALIZED (
                SELECT e.snippet_id, %1$s AS distance FROM embeddings e JOIN snippets s ON s.id = e.snippet_id%4$s
                WHERE e.model_id = %2$s AND NOT e.indexed AND %3$s ORDER BY 2 LIMIT $2
            )$p$, distance, model, filters, joins) ELSE '' END,
            CASE WHEN has_pending THEN ' UNION ALL SELECT * FROM pending' ELSE '' END);
    END IF;
    sql := format($q$
        SELECT m.snippet_id, s.observation_id, o.path, s.f_start_mhz, s.f_stop_mhz, s.f_center_mhz, s.snr,
               s.drift_rate_hz_s, 1 - m.distance AS similarity, 1 AS n_grouped
        FROM (%s) m JOIN snippets s ON s.id = m.snippet_id JOIN observations o ON o.id = s.observation_id
        ORDER BY m.distance, m.snippet_id$q$, sql);
    IF p_group_mhz IS NULL THEN
        RETURN QUERY EXECUTE sql USING p_vector, fetch_n, p_f_min_mhz, p_f_max_mhz, p_observation_id, p_cadence,
            p_snr_min, p_snr_max, p_drift_min_hz_s, p_drift_max_hz_s, p_mjd_min, p_mjd_max,
            p_signals_only, p_exclude_snippet_id, p_rfi_class_id;
        RETURN;
    END IF;
    -- near-duplicates: one row per emitter frequency; the best match stands for the others
    FOR r IN EXECUTE sql USING p_vector, fetch_n, p_f_min_mhz, p_f_max_mhz, p_observation_id, p_cadence,
             p_snr_min, p_snr_max, p_drift_min_hz_s, p_drift_max_hz_s, p_mjd_min, p_mjd_max,
             p_signals_only, p_exclude_snippet_id, p_rfi_class_id LOOP
        placed := false;
        FOR i IN 1 .. coalesce(array_length(kept, 1), 0) LOOP
            IF abs(kept[i] - r.f_center_mhz) <= p_group_mhz THEN
                counts[i] := counts[i] + 1;
                placed := true;
                EXIT;
            END IF;
        END LOOP;
        IF NOT placed AND coalesce(array_length(kept, 1), 0) < p_k THEN
            kept := kept || r.f_center_mhz;
            kept_ids := kept_ids || r.snippet_id;
            kept_similarity := kept_similarity || r.similarity;
            counts := counts || 1;
        END IF;
    END LOOP;
    RETURN QUERY
        SELECT s.id, s.observation_id, o.path, s.f_start_mhz, s.f_stop_mhz, s.f_center_mhz, s.snr,
               s.drift_rate_hz_s, u.similarity, u.n
        FROM unnest(kept_ids, kept_similarity, counts) WITH ORDINALITY AS u(id, similarity, n, rank)
        JOIN snippets s ON s.id = u.id JOIN observations o ON o.id = s.observation_id
        ORDER BY u.rank;
END $fn$;
COMMENT ON FUNCTION rficat_lookalikes_of_vector(vector, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, bigint, boolean) IS
    'The k snippets most similar (cosine) to a query vector of the given model (default: current). p_use_frequency: compare frequency-embedded vectors (freq_vector) rather than morphology alone (latent). HNSW with iterative scan (breadth: SET rficat.ef_search, default 40), so filtered queries still return k rows; p_exact for an exact scan; a narrow frequency band or one observation is scanned exactly through its index. p_group_mhz keeps one match per emitter frequency (near-duplicates within that many MHz are folded into it). p_rfi_class_id: only snippets of that RFI class; p_not_known_rfi: only snippets of no class of the current RFI build.';

CREATE FUNCTION rficat_lookalikes(
    p_snippet_id bigint,
    p_k integer DEFAULT 10,
    p_use_frequency boolean DEFAULT true,
    p_model_id integer DEFAULT NULL,
    p_exact boolean DEFAULT false,
    p_f_min_mhz double precision DEFAULT NULL,
    p_f_max_mhz double precision DEFAULT NULL,
    p_observation_id bigint DEFAULT NULL,
    p_cadence text DEFAULT NULL,
    p_snr_min double precision DEFAULT NULL,
    p_snr_max double precision DEFAULT NULL,
    p_drift_min_hz_s double precision DEFAULT NULL,
    p_drift_max_hz_s double precision DEFAULT NULL,
    p_mjd_min double precision DEFAULT NULL,
    p_mjd_max double precision DEFAULT NULL,
    p_signals_only boolean DEFAULT true,
    p_group_mhz double precision DEFAULT NULL,
    p_rfi_class_id bigint DEFAULT NULL,
    p_not_known_rfi boolean DEFAULT false)
RETURNS TABLE (snippet_id bigint, observation_id bigint, path text, f_start_mhz double precision,
               f_stop_mhz double precision, f_center_mhz double precision, snr double precision,
               drift_rate_hz_s double precision, similarity double precision, n_grouped integer)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    model integer := coalesce(p_model_id, rficat_current_model());
    query vector;
BEGIN
    SELECT CASE WHEN p_use_frequency THEN e.freq_vector ELSE e.latent END INTO query
    FROM embeddings e WHERE e.snippet_id = p_snippet_id AND e.model_id = model;
    IF query IS NULL THEN
        IF NOT EXISTS (SELECT 1 FROM snippets WHERE id = p_snippet_id) THEN
            RAISE EXCEPTION 'rficat: no snippet %', p_snippet_id;
        END IF;
        RAISE EXCEPTION 'rficat: snippet % has no vector of model %', p_snippet_id, coalesce(model::text, '(none)');
    END IF;
    RETURN QUERY SELECT * FROM rficat_lookalikes_of_vector(
        query, p_k, p_use_frequency, model, p_exact, p_f_min_mhz, p_f_max_mhz, p_observation_id, p_cadence,
        p_snr_min, p_snr_max, p_drift_min_hz_s, p_drift_max_hz_s, p_mjd_min, p_mjd_max, p_signals_only,
        p_group_mhz, p_snippet_id, p_rfi_class_id, p_not_known_rfi);
END $fn$;
COMMENT ON FUNCTION rficat_lookalikes(bigint, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, boolean) IS
    'The k stored snippets most similar to snippet p_snippet_id (itself excluded), with the filters of rficat_lookalikes_of_vector. Example: SELECT * FROM rficat_lookalikes(42, 10, p_f_min_mhz => 1100, p_f_max_mhz => 1200);';

CREATE FUNCTION rficat_cadence_events(
    p_cadence text,
    p_model_id integer DEFAULT NULL,
    p_on_similarity double precision DEFAULT 0.7,
    p_off_similarity double precision DEFAULT 0.7,
    p_common_similarity double precision DEFAULT 0.95,
    p_common_min integer DEFAULT 3,
    p_drift_tolerance double precision DEFAULT 0.25,
    p_class_min_observations integer DEFAULT 10)
RETURNS TABLE (rank integer, snippet_id bigint, f_center_mhz double precision, drift_rate_hz_s double precision,
               snr double precision, on_snippet_ids bigint[], min_on_similarity double precision,
               off_scans_checked integer, best_off_similarity double precision, best_off_snippet_id bigint,
               n_lookalikes_elsewhere integer, likely_rfi boolean, explanation text,
               rfi_class_id bigint, rfi_label text)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    model integer := coalesce(p_model_id, rficat_current_model());
    n_on integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cadences WHERE name = p_cadence) THEN
        RAISE EXCEPTION 'rficat: no cadence %', p_cadence;
    END IF;
    IF model IS NULL THEN
        RAISE EXCEPTION 'rficat: the catalogue has no model';
    END IF;
    SELECT count(*) INTO n_on FROM cadence_members cm JOIN cadences c ON c.id = cm.cadence_id
    WHERE c.name = p_cadence AND cm.role = 'ON';
    IF n_on = 0 THEN
        RAISE EXCEPTION 'rficat: cadence % has no ON scan', p_cadence;
    END IF;
    RETURN QUERY
    WITH scans AS (
        SELECT cm.position, cm.role, o.id AS observation_id, o.mjd_start, abs(o.foff_mhz) * 256 AS window_mhz,
               o.tsamp_s * o.n_integrations AS duration_s
        FROM cadences c JOIN cadence_members cm ON cm.cadence_id = c.id JOIN observations o ON o.id = cm.observation_id
        WHERE c.name = p_cadence AND o.status = 'complete'
    ), first_on AS (
        SELECT * FROM scans WHERE role = 'ON' ORDER BY position LIMIT 1
    ), candidates AS (
        SELECT s.id, s.f_center_mhz, s.drift_rate_hz_s, s.snr, e.latent, f.mjd_start AS t0, f.window_mhz, f.position
        FROM first_on f JOIN snippets s ON s.observation_id = f.observation_id AND s.is_signal
        JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = model
    ), expected AS (  -- where a transmitter drifting steadily would be in every other scan
        SELECT c.id AS candidate, sc.role, sc.observation_id,
               c.f_center_mhz + c.drift_rate_hz_s * (sc.mjd_start - c.t0) * 86400 * 1e-6 AS f_expected,
               c.window_mhz + CASE WHEN sc.role = 'ON'
                   THEN p_drift_tolerance * abs(c.drift_rate_hz_s * (sc.mjd_start - c.t0) * 86400 * 1e-6)
                   ELSE abs(c.drift_rate_hz_s) * sc.duration_s * 1e-6 END AS tolerance_mhz
        FROM candidates c JOIN scans sc ON sc.position <> c.position
    ), best AS (  -- the most similar signal near that frequency in each scan
        SELECT x.candidate, x.role, m.id AS match_id, m.similarity
        FROM expected x JOIN candidates c ON c.id = x.candidate
        LEFT JOIN LATERAL (
            SELECT s2.id, 1 - (e2.latent <=> c.latent) AS similarity
            FROM snippets s2 JOIN embeddings e2 ON e2.snippet_id = s2.id AND e2.model_id = model
            WHERE s2.observation_id = x.observation_id AND s2.is_signal
              AND s2.f_center_mhz BETWEEN x.f_expected - x.tolerance_mhz AND x.f_expected + x.tolerance_mhz
            ORDER BY e2.latent <=> c.latent LIMIT 1
        ) m ON true
    ), events AS (
        SELECT c.id, c.f_center_mhz, c.drift_rate_hz_s, c.snr,
               array_prepend(c.id, array_agg(b.match_id) FILTER (WHERE b.role = 'ON')) AS on_ids,
               min(coalesce(b.similarity, -1)) FILTER (WHERE b.role = 'ON') AS min_on,
               count(*) FILTER (WHERE b.role = 'OFF')::integer AS off_checked,
               max(b.similarity) FILTER (WHERE b.role = 'OFF') AS best_off,
               (array_agg(b.match_id ORDER BY b.similarity DESC NULLS LAST) FILTER (WHERE b.role = 'OFF'))[1] AS best_off_id
        FROM candidates c JOIN best b ON b.candidate = c.id
        GROUP BY c.id, c.f_center_mhz, c.drift_rate_hz_s, c.snr
        HAVING coalesce(min(coalesce(b.similarity, -1)) FILTER (WHERE b.role = 'ON'), 1) >= p_on_similarity
           AND coalesce(max(b.similarity) FILTER (WHERE b.role = 'OFF'), -1) < p_off_similarity
    ), scored AS (
        -- how common the morphology is where no technosignature of a target can be: in OFF scans
        -- and in observations outside any cadence. (Lookalikes in ON scans do not count, this
        -- target's or others': several ON-only signals of one kind may be the discovery itself.)
        SELECT ev.*, (
            SELECT count(*)::integer FROM rficat_lookalikes(ev.id, 50, false, model) l
            WHERE l.similarity >= p_common_similarity
              AND NOT EXISTS (SELECT 1 FROM cadence_members cm
                              WHERE cm.observation_id = l.observation_id AND cm.role = 'ON')
        ) AS n_common
        FROM events ev
    ), classed AS (  -- the candidate's RFI class, if the current build knows it, and where it occurs
        SELECT sc.*, kr.class_id, kr.label AS class_label, rc.n_observations AS class_observations,
               EXISTS (SELECT 1 FROM rfi_assignments a2 JOIN snippets s2 ON s2.id = a2.snippet_id
                       JOIN cadence_members cm2 ON cm2.observation_id = s2.observation_id AND cm2.role = 'OFF'
                       WHERE a2.class_id = kr.class_id) AS class_in_off,
               sc.n_common >= p_common_min AS common
        FROM scored sc LEFT JOIN snippet_rfi kr ON kr.snippet_id = sc.id LEFT JOIN rfi_classes rc ON rc.id = kr.class_id
    ), judged AS (
        SELECT cl.*, cl.common OR coalesce(cl.class_in_off OR cl.class_observations >= p_class_min_observations, false)
                     AS rfi
        FROM classed cl
    )
    SELECT (row_number() OVER (ORDER BY sc.rfi, sc.n_common, sc.snr DESC))::integer,
           sc.id, sc.f_center_mhz, sc.drift_rate_hz_s, sc.snr, sc.on_ids, sc.min_on, sc.off_checked,
           sc.best_off, sc.best_off_id, sc.n_common, sc.rfi,
           format('in all %s ON scans (min similarity %s); %s OFF scans checked, best OFF similarity %s; '
                  '%s lookalikes (similarity >= %s) in OFF scans or observations outside cadences%s%s',
                  n_on, round(coalesce(sc.min_on, 1)::numeric, 3), sc.off_checked,
                  coalesce(round(sc.best_off::numeric, 3)::text, 'none near'), sc.n_common, p_common_similarity,
                  CASE WHEN sc.common THEN ': common morphology, likely RFI' ELSE '' END,
                  CASE WHEN sc.class_id IS NULL THEN ''
                       ELSE format('; known RFI class %s%s (%s observations%s)', sc.class_id,
                                   coalesce(' "' || sc.class_label || '"', ''), sc.class_observations,
                                   CASE WHEN sc.class_in_off THEN ', seen in OFF scans' ELSE '' END) END),
           sc.class_id, sc.class_label
    FROM judged sc
    ORDER BY 1;
END $fn$;
COMMENT ON FUNCTION rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, double precision, integer) IS
    'Candidate events of an ON/OFF cadence: signals of the first ON scan found again in every other ON scan at the frequency their drift predicts (latent similarity >= p_on_similarity), with no similar signal (>= p_off_similarity) near the drift-consistent frequency of any OFF scan. Each is ranked by how common its morphology is where no target''s signal can be (lookalikes with similarity >= p_common_similarity in OFF scans or in observations outside cadences); p_common_min or more marks it likely_rfi, as does belonging to a class of the current RFI build that occurs in OFF scans or in p_class_min_observations observations or more.';
"""

READER_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rficat_reader') THEN
        CREATE ROLE rficat_reader NOLOGIN;
        COMMENT ON ROLE rficat_reader IS 'Read-only access to the rficat catalogue for notebook users: GRANT rficat_reader TO alice;';
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO rficat_reader', current_database());
    GRANT USAGE ON SCHEMA public TO rficat_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA public TO rficat_reader;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO rficat_reader;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO rficat_reader;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'rficat: no privilege to create the rficat_reader role; create it as a superuser and rerun the grants';
END $$;
"""


def upgrade() -> None:
    op.add_column("models", sa.Column(
        "is_current", sa.Boolean, nullable=False, server_default=sa.false(),
        comment="True for the model searches use by default (at most one)."))
    op.create_index("uq_models_current", "models", ["is_current"], unique=True, postgresql_where=sa.text("is_current"))
    op.execute("UPDATE models SET is_current = true WHERE id = (SELECT min(id) FROM models)")

    op.create_table(
        "template_searches",
        sa.Column("id", sa.BigInteger, primary_key=True, comment="Template search id."),
        sa.Column("job", sa.Text, comment="Name of the batch job (template-search flow run) that made it, if any."),
        sa.Column("template", JSONB, nullable=False, comment="Template parameters: shape, drift_hz_s, width_hz, snr, f_center_mhz."),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False, comment="Model that encoded the template."),
        sa.Column("vector", Vector(), nullable=False, comment="The template's vector (latent, or frequency-embedded when f_center_mhz was given)."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW, comment="When the search ran."),
        comment="A synthetic template (setigen) encoded and searched against the catalogue.",
    )
    op.create_table(
        "template_matches",
        sa.Column("search_id", sa.BigInteger, sa.ForeignKey("template_searches.id", ondelete="CASCADE"), primary_key=True, comment="Template search id."),
        sa.Column("rank", sa.Integer, primary_key=True, comment="1 for the best match."),
        sa.Column("snippet_id", sa.BigInteger, sa.ForeignKey("snippets.id", ondelete="CASCADE"), nullable=False, comment="Matching snippet."),
        sa.Column("similarity", sa.Double, nullable=False, comment="Cosine similarity to the template."),
        comment="The best matches of each template search, kept for later SQL.",
    )
    op.execute(FUNCTIONS)
    op.execute(READER_ROLE)


def downgrade() -> None:
    op.execute("DROP FUNCTION rficat_lookalikes(bigint, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, boolean)")
    op.execute("DROP FUNCTION rficat_lookalikes_of_vector(vector, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, bigint, boolean)")
    op.execute("DROP FUNCTION rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, double precision, integer)")
    op.execute("DROP VIEW snippet_catalogue")
    op.execute("DROP FUNCTION rficat_current_model()")
    op.drop_table("template_matches")
    op.drop_table("template_searches")
    op.drop_index("uq_models_current", table_name="models")
    op.drop_column("models", "is_current")
