CREATE OR REPLACE FUNCTION rficat_cadence_events(
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
