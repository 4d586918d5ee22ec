CREATE OR REPLACE FUNCTION rficat_classify(
    p_vector vector,
    p_build_id integer DEFAULT NULL,
    p_drift_rate_hz_s double precision DEFAULT NULL,
    p_f_center_mhz double precision DEFAULT NULL,
    p_role text DEFAULT NULL,
    p_drift_error_hz_s double precision DEFAULT NULL,
    p_snr double precision DEFAULT NULL,
    p_observation_id bigint DEFAULT NULL,
    p_snippet_id bigint DEFAULT NULL,
    p_tolerance_floor_hz_s double precision DEFAULT NULL,
    p_use_classes boolean DEFAULT true,
    p_similarity double precision DEFAULT NULL,
    p_min_evidence integer DEFAULT NULL,
    p_class_min_reference integer DEFAULT NULL)
RETURNS TABLE (class_id bigint, label text, distance double precision, known_rfi boolean,
               verdict text, explanation text, evidence jsonb, drift_tolerance_hz_s double precision)
LANGUAGE plpgsql STABLE AS $fn$
#variable_conflict use_column
DECLARE
    b record;
    r jsonb;
    k integer;
    sim double precision;
    sim_here double precision;
    min_ev integer;
    min_obs integer;
    min_here integer;
    sigmas double precision;
    snr_floor double precision;
    class_votes integer;
    agreement double precision;
    class_min_ref integer;
    tol_ratio double precision;
    floor_hz double precision;
    tol double precision;
    ev jsonb;
    n_ev integer;
    n_obs integer;
    n_near integer;
    n_here integer;
    here_text text := '';
    mc record;
    cls record;
    member_class bigint;
    member_distance double precision;
    member_label text;
    n_ref integer := 0;
    drifting boolean;
    v text := 'candidate';
    tol_text text;
    found text;
    class_text text := '';
    role_text text := CASE WHEN p_role IS NULL THEN '' ELSE format(' (a signal of an %s scan)', upper(p_role)) END;
BEGIN
    SELECT rb.id, rb.params INTO b FROM rfi_builds rb
    WHERE rb.id = coalesce(p_build_id, (SELECT cb.id FROM rfi_builds cb WHERE cb.is_current));
    IF b.id IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::float8, false, 'unjudged'::text,
            'no RFI build to judge against yet: run `rficat rfi build`'::text, '[]'::jsonb, NULL::float8;
        RETURN;
    END IF;
    r := coalesce(b.params -> 'verdict', '{}'::jsonb);
    k := coalesce((r ->> 'k')::integer, 20);
    sim := coalesce(p_similarity, (r ->> 'similarity')::float8, 0.95);
    sim_here := least(sim, coalesce((r ->> 'same_emitter_similarity')::float8, 0.9));
    min_ev := coalesce(p_min_evidence, (r ->> 'min_evidence')::integer, 2);
    min_obs := coalesce((r ->> 'min_observations')::integer, 2);
    min_here := coalesce((r ->> 'here_min_evidence')::integer, 1);
    sigmas := coalesce((r ->> 'drift_sigmas')::float8, 2.0);
    snr_floor := coalesce((r ->> 'snr_floor')::float8, 5.0);
    class_votes := coalesce((r ->> 'class_votes')::integer, 3);
    agreement := coalesce((r ->> 'class_agreement')::float8, 0.6);
    class_min_ref := coalesce(p_class_min_reference, (r ->> 'class_min_reference')::integer, 3);
    tol_ratio := coalesce((r ->> 'class_tolerance_ratio')::float8, 2.0);
    -- one channel over the scan: of the snippet's own observation, else the build's typical one
    floor_hz := coalesce(p_tolerance_floor_hz_s,
        (SELECT abs(o.foff_mhz) * 1e6 / nullif(o.tsamp_s * o.n_integrations, 0) FROM observations o
         WHERE o.id = p_observation_id),
        (b.params ->> 'tolerance_floor_hz_s')::float8);
    tol := rficat_drift_tolerance(floor_hz, p_drift_error_hz_s, sigmas);
    -- drifting beyond its tolerance of zero: evidence only from the same emitter, at its frequency
    drifting := abs(p_drift_rate_hz_s) > tol;
    IF p_drift_rate_hz_s IS NULL OR 'NaN'::float8 = p_drift_rate_hz_s OR tol IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::float8, false, 'unjudged'::text,
            'no drift rate measured: drift consistency cannot be checked'::text, '[]'::jsonb, NULL::float8;
        RETURN;
    END IF;
    IF p_snr < snr_floor THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::float8, false, 'unjudged'::text,
            format('SNR %s is below %s, fainter than the signals the encoder was trained on: its picture cannot be compared',
                   round(p_snr::numeric, 1), snr_floor), '[]'::jsonb, tol;
        RETURN;
    END IF;

    -- the k nearest bank snippets: evidence are those alike, drifting like it, and seen where no
    -- target's signal can be (an OFF scan, or an observation outside any ON role); its class by
    -- local density: enough of them are members of one class, most of the class members there are
    -- of it, the nearest is as close as the class's members are to each other, and they drift like it.
    -- Evidence counts signals: a lookalike of the same observation as a more similar one, on its
    -- track (half the drift span over the scan + 32 channels, the larger of the two), is the same one.
    -- A drifting signal's lookalike counts only at its frequency (half the drift span over the scan
    -- of the faster of the two + 128 channels): RFI drifting alike elsewhere in the band says nothing
    -- of a narrow drifting line, which is what a technosignature looks like too. At its frequency a
    -- lookalike needs only sim_here (0.9): the same emitter seen again need not look as alike as a
    -- stranger does (a wobble's phase, a pulse train's timing differ from scan to scan).
    WITH knn AS (
        SELECT m.snippet_id, m.observation_id, m.f_center_mhz, m.class_id, m.drift_rate_hz_s AS drift,
               coalesce(m.drift_error_hz_s, 0) AS err, 1 - (m.latent <=> p_vector) AS similarity,
               m.latent <=> p_vector AS d
        FROM rfi_bank m WHERE m.build_id = b.id
        ORDER BY m.latent <=> p_vector, m.snippet_id LIMIT k
    ), there AS (  -- and the k most alike at its own frequency beyond those: the same emitter seen
                   -- again is looked for where it is, not only among the most alike of the whole bank
        SELECT m.snippet_id, m.observation_id, m.f_center_mhz, m.class_id, m.drift_rate_hz_s AS drift,
               coalesce(m.drift_error_hz_s, 0) AS err, 1 - (m.latent <=> p_vector) AS similarity,
               m.latent <=> p_vector AS d
        FROM rfi_bank m JOIN observations o ON o.id = m.observation_id
        WHERE m.build_id = b.id AND m.snippet_id NOT IN (SELECT knn.snippet_id FROM knn)
          AND abs(m.f_center_mhz - p_f_center_mhz)
              <= greatest(abs(p_drift_rate_hz_s), abs(coalesce(m.drift_rate_hz_s, 0))) * o.tsamp_s * o.n_integrations / 2 * 1e-6
                 + 128 * abs(o.foff_mhz)
        ORDER BY m.latent <=> p_vector, m.snippet_id LIMIT k
    ), nn AS (
        SELECT knn.*, true AS in_knn FROM knn
        UNION ALL
        SELECT there.*, false FROM there
    ), reach AS (
        SELECT nn.*, abs(coalesce(nn.drift, 0)) * o.tsamp_s * o.n_integrations / 2 * 1e-6
                     + 32 * abs(o.foff_mhz) AS track_mhz,
               abs(o.foff_mhz) * 1e6 / nullif(o.tsamp_s * o.n_integrations, 0) AS floor_hz_s,
               coalesce(abs(nn.f_center_mhz - p_f_center_mhz) <= greatest(abs(p_drift_rate_hz_s), abs(coalesce(nn.drift, 0)))
                        * o.tsamp_s * o.n_integrations / 2 * 1e-6 + 128 * abs(o.foff_mhz), false) AS here
        FROM nn LEFT JOIN observations o ON o.id = nn.observation_id
    ), judged0 AS (
        SELECT nn.*,
               (nn.similarity >= sim OR nn.here AND nn.similarity >= sim_here)
               AND NOT EXISTS (SELECT 1 FROM cadence_members cm WHERE cm.observation_id = nn.observation_id
                               AND cm.role = 'ON')
               AND nn.snippet_id IS DISTINCT FROM p_snippet_id
               AND nn.observation_id IS DISTINCT FROM p_observation_id AS near_elsewhere,
               abs(nn.drift - p_drift_rate_hz_s) <= tol AND nn.err <= tol AS consistent
        FROM reach nn
    ), counted AS (
        SELECT j.*, j.near_elsewhere AND j.consistent AND (NOT drifting OR j.here) AS counts FROM judged0 j
    ), judged AS (
        SELECT j.*, j.counts AND NOT EXISTS (
                   SELECT 1 FROM counted f WHERE f.counts
                   AND f.observation_id = j.observation_id AND (f.d, f.snippet_id) < (j.d, j.snippet_id)
                   AND abs(f.f_center_mhz - j.f_center_mhz) <= greatest(f.track_mhz, j.track_mhz)) AS is_evidence
        FROM counted j
    ), top AS (
        SELECT j.class_id, count(*) AS votes FROM judged j WHERE j.class_id IS NOT NULL AND j.in_knn
        GROUP BY j.class_id ORDER BY count(*) DESC, j.class_id LIMIT 1
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'snippet_id', j.snippet_id, 'observation_id', j.observation_id, 'f_center_mhz', j.f_center_mhz,
               'drift_rate_hz_s', round(j.drift::numeric, 5), 'similarity', round(j.similarity::numeric, 4))
               ORDER BY j.d, j.snippet_id) FILTER (WHERE j.is_evidence), '[]'::jsonb) AS ev,
           count(*) FILTER (WHERE j.is_evidence) AS n_ev,
           count(*) FILTER (WHERE j.is_evidence AND j.here) AS n_here,
           count(DISTINCT j.observation_id) FILTER (WHERE j.is_evidence) AS n_obs,
           count(*) FILTER (WHERE j.near_elsewhere) AS n_near,
           count(*) FILTER (WHERE j.near_elsewhere AND j.consistent) AS n_away,
           count(*) FILTER (WHERE j.class_id IS NOT NULL AND j.in_knn) AS n_classed,
           (SELECT t.class_id FROM top t) AS top_class,
           (SELECT t.votes FROM top t) AS votes,
           min(j.d) FILTER (WHERE j.in_knn AND j.class_id = (SELECT t.class_id FROM top t)) AS nearest,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY j.drift)
               FILTER (WHERE j.in_knn AND j.class_id = (SELECT t.class_id FROM top t)) AS drift_median,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY j.err)
               FILTER (WHERE j.in_knn AND j.class_id = (SELECT t.class_id FROM top t)) AS err_median,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY rficat_drift_tolerance(j.floor_hz_s, j.err, sigmas))
               FILTER (WHERE j.in_knn AND j.class_id = (SELECT t.class_id FROM top t)) AS tol_median
    INTO mc
    FROM judged j;
    ev := mc.ev;
    n_ev := mc.n_ev;
    n_obs := mc.n_obs;
    n_near := mc.n_near;
    n_here := mc.n_here;

    -- a drifting signal joins no class without evidence of its own
    IF p_use_classes AND mc.top_class IS NOT NULL AND (n_ev > 0 OR NOT drifting) THEN
        SELECT c.nn_distance, c.label INTO cls FROM rfi_classes c WHERE c.id = mc.top_class;
        IF mc.votes >= class_votes AND mc.votes >= agreement * mc.n_classed AND mc.nearest <= cls.nn_distance
           AND abs(mc.drift_median - p_drift_rate_hz_s) <= tol AND mc.err_median <= tol
           -- a class is a drift mode: its drift known no more than tol_ratio x as loosely as its members'
           AND tol <= tol_ratio * mc.tol_median THEN
            member_class := mc.top_class;
            member_distance := mc.nearest;
            member_label := cls.label;
            SELECT count(*) INTO n_ref FROM rfi_bank m WHERE m.build_id = b.id AND m.class_id = member_class
              AND NOT EXISTS (SELECT 1 FROM cadence_members cm WHERE cm.observation_id = m.observation_id AND cm.role = 'ON');
            class_text := format('; in RFI class %s%s by local density (distance %s <= the class''s %s), %s of its sampled members in reference observations',
                                 member_class, coalesce(' ''' || member_label || '''', ''),
                                 to_char(member_distance, 'FM0.0000'), to_char(cls.nn_distance, 'FM0.0000'), n_ref);
            IF n_ref >= class_min_ref AND n_ev >= 1 THEN
                v := 'known_rfi';
            END IF;
        END IF;
    END IF;
    IF v = 'candidate' AND n_ev >= min_ev AND n_obs >= min_obs THEN
        v := 'likely_rfi';
    ELSIF v = 'candidate' AND NOT drifting AND n_ev > 0 AND n_here >= min_here THEN
        -- a stationary signal seen again at its own frequency from another pointing: the same
        -- transmitter, as one OFF-scan sighting vetoes a signal (a technosignature drifts)
        v := 'likely_rfi';
        here_text := '; not drifting, and seen again at its own frequency from another pointing: the same '
                     'transmitter, as one OFF-scan sighting vetoes a signal';
    END IF;

    tol_text := CASE WHEN tol <= floor_hz + 1e-12
                     THEN format('+-%s Hz/s (one channel over the scan)', to_char(tol, 'FM0.0000'))
                     ELSE format('+-%s Hz/s (%s x its drift error; one channel over the scan is %s)',
                                 to_char(tol, 'FM0.0000'), sigmas, to_char(floor_hz, 'FM0.0000')) END;
    found := format('%s lookalike(s) (similarity >= %s, at its frequency >= %s) drifting like it (%s Hz/s, within %s) %sin %s reference observation(s)',
                    n_ev, sim, sim_here, to_char(p_drift_rate_hz_s, 'FMS0.000'), tol_text,
                    CASE WHEN drifting THEN 'at its frequency ' ELSE '' END, n_obs)
             || CASE WHEN n_ev > 0 THEN ': drifts ' || (SELECT string_agg(to_char((e ->> 'drift_rate_hz_s')::float8, 'FMS0.000'), ', ')
                                                       FROM (SELECT e FROM jsonb_array_elements(ev) e LIMIT 5) x) || ' Hz/s'
                     ELSE '' END;
    RETURN QUERY SELECT member_class, member_label, member_distance, v = 'known_rfi', v,
        v || ': ' || found
          || CASE WHEN v = 'candidate' AND drifting AND mc.n_away > 0 AND n_ev = 0
                  THEN format('; %s drifting like it at other frequencies: no evidence against a drifting signal (a technosignature drifts too), only the same emitter seen again is', mc.n_away)
                  WHEN v = 'candidate' AND n_near > 0 AND n_ev = 0
                  THEN format('; %s similar in reference observations but none drifting like it', n_near) ELSE '' END
          || here_text || class_text || role_text,
        ev, tol;
END $fn$;
COMMENT ON FUNCTION rficat_classify(vector, integer, double precision, double precision, text, double precision, double precision, bigint, bigint, double precision, boolean, double precision, integer, integer) IS
    'The RFI verdict on a latent vector of the build''s model (current build unless named): candidate, likely_rfi (p_min_evidence or more lookalikes with similarity >= p_similarity in reference observations, i.e. OFF scans or observations outside any ON role, drifting within the tolerance: one channel over the scan or 2 x p_drift_error_hz_s), known_rfi (also a member of an RFI class seen in reference observations, by local density), or unjudged (no drift rate, SNR below the encoder''s training range, no build). Returns the class (by local density; NULL if none), the distance to its nearest member, known_rfi (verdict = known_rfi), the verdict, an explanation, the evidence (snippet, observation, frequency, drift, similarity of each lookalike) and the drift tolerance used. p_observation_id / p_snippet_id: the vector''s own observation and snippet, never their own evidence. Evidence counts signals: lookalikes of one observation on each other''s track (half the drift span over the scan + 32 channels) count once, the most similar standing for them (e.g. a hit kept by rficat vet --store and ingest''s own snippet of it). A drifting signal (drift beyond its tolerance of zero) takes evidence only from lookalikes at its frequency p_f_center_mhz (half the drift span over the scan of the faster of the two + 128 channels: the same emitter seen again; none when p_f_center_mhz is NULL) and joins no class without evidence (migration 0021). A lookalike at the signal''s own frequency (the same reach) needs similarity >= the build''s same_emitter_similarity (0.9; never above p_similarity) rather than p_similarity: the same emitter seen again (migration 0022). A stationary signal (drift within its tolerance of zero) with the build''s here_min_evidence (1) lookalike(s) at its own frequency is likely_rfi whatever the minimums: the same transmitter seen again from another pointing, as one OFF-scan sighting vetoes a signal (migration 0025). Besides its k nearest in the bank, the k most alike of those at its own frequency (the same reach) are examined for evidence (not for its class): the same emitter seen again is looked for where it is (migration 0025). A class member''s drift tolerance is at most the build''s class_tolerance_ratio (2) times the median tolerance of the class members among its k nearest: a class is a drift mode, and a drift known much more loosely than its members'' does not place a signal in it (migration 0026). Thresholds default to the build''s (rfi_builds.params->''verdict''). Before migration 0011 known_rfi meant: inside the nearest class''s radius; rficat_classify(vector) and (vector, build, drift) still work.';
