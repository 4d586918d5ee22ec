CREATE FUNCTION rficat_cadence_events(
    p_cadence text,
    p_model_id integer DEFAULT NULL,
    p_on_similarity double precision DEFAULT 0.7,
    p_off_similarity double precision DEFAULT 0.7,
    p_common_similarity double precision DEFAULT NULL,
    p_common_min integer DEFAULT NULL,
    p_drift_tolerance double precision DEFAULT 0.25,
    p_class_min_observations integer DEFAULT NULL,
    p_use_classes boolean DEFAULT true,
    p_use_verdicts boolean DEFAULT true,
    p_off_drift_consistent boolean DEFAULT true,
    p_on_track boolean DEFAULT true,
    p_local_rfi boolean DEFAULT true,
    p_pool_evidence boolean DEFAULT true,
    p_cadence_track boolean DEFAULT true,
    p_max_missing_on integer DEFAULT NULL,
    p_off_on_track boolean DEFAULT true,
    p_missing_on_faint_only boolean DEFAULT true,
    p_zero_drift boolean DEFAULT true)
RETURNS TABLE (rank integer, snippet_id bigint, f_center_mhz double precision, drift_rate_hz_s double precision,
               snr double precision, on_snippet_ids bigint[], min_on_similarity double precision,
               off_scans_checked integer, best_off_similarity double precision, best_off_snippet_id bigint,
               n_lookalikes_elsewhere integer, likely_rfi boolean, explanation text,
               rfi_class_id bigint, rfi_label text, verdict text, evidence jsonb, judged_snippet_id bigint)
LANGUAGE plpgsql STABLE AS $fn$
#variable_conflict use_column
DECLARE
    model integer := coalesce(p_model_id, rficat_current_model());
    n_on integer;
    -- ON scans an event may be missing from (p_max_missing_on; NULL: one where the cadence has three or more)
    missing_on integer;
    -- the verdict rule's drift tolerance (rficat_drift_tolerance) with the current build's sigmas
    sigmas double precision := coalesce((SELECT (rb.params -> 'verdict' ->> 'drift_sigmas')::float8
                                         FROM rfi_builds rb WHERE rb.is_current), 2.0);
    -- the verdict rule's evidence minimums (rficat.catalogue.verdicts.Rules), for evidence pooled over an event
    min_evidence integer := coalesce(p_common_min, (SELECT (rb.params -> 'verdict' ->> 'min_evidence')::integer
                                                    FROM rfi_builds rb WHERE rb.is_current), 2);
    min_observations integer := coalesce((SELECT (rb.params -> 'verdict' ->> 'min_observations')::integer
                                          FROM rfi_builds rb WHERE rb.is_current), 2);
    -- (p_cadence_track) how far, in channels, an ON appearance may lie off the line through the others
    -- (positions are the windows' centres, on the signal) and how many channels over the ON scans'
    -- span a drift may differ from the line's slope and still be the same signal
    line_channels constant double precision := 8;
    -- (p_missing_on_faint_only) an event may be missing from an ON scan only when it is fainter than this where
    -- seen (SNR): energy detection finds 94-100 % of signals this bright (bench_recall.py), so a brighter one
    -- missing from a scan was not missed there, it was not there on its track (a random walk at SNR 44)
    faint_snr constant double precision := 20;
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
    missing_on := least(greatest(coalesce(p_max_missing_on, CASE WHEN n_on >= 3 THEN 1 ELSE 0 END), 0), n_on - 1);
    RETURN QUERY
    WITH scans AS (
        SELECT cm.position, cm.role, o.id AS observation_id, o.mjd_start, abs(o.foff_mhz) * 256 AS window_mhz,
               abs(o.foff_mhz) AS channel_mhz,
               o.tsamp_s * o.n_integrations AS duration_s,
               abs(o.foff_mhz) * 1e6 / nullif(o.tsamp_s * o.n_integrations, 0) AS floor_hz_s
        FROM cadences c JOIN cadence_members cm ON cm.cadence_id = c.id JOIN observations o ON o.id = cm.observation_id
        WHERE c.name = p_cadence AND o.status = 'complete'
    ), first_ons AS (  -- the ON scans an event's first appearance can be in: the first, or, where an event may
                       -- be missing from missing_on ON scans (detection missed a faint or flickering signal
                       -- there), the first missing_on + 1
        SELECT * FROM scans WHERE role = 'ON' ORDER BY position LIMIT missing_on + 1
    ), candidates AS (
        SELECT s.id, s.f_center_mhz, s.drift_rate_hz_s, s.snr, e.latent, f.mjd_start AS t0, f.window_mhz, f.position,
               rficat_drift_tolerance(f.floor_hz_s, s.drift_error_hz_s, sigmas) AS drift_tol
        FROM first_ons f JOIN snippets s ON s.observation_id = f.observation_id AND s.is_signal
        JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = model
    ), expected AS (  -- where a transmitter drifting steadily would be in every other scan
        SELECT c.id AS candidate, sc.role, sc.position, sc.observation_id, sc.channel_mhz, sc.floor_hz_s,
               (sc.mjd_start - c.t0) * 86400 AS elapsed_s,
               c.f_center_mhz + c.drift_rate_hz_s * (sc.mjd_start - c.t0) * 86400 * 1e-6 AS f_expected,
               c.window_mhz + CASE WHEN sc.role = 'ON'
                   THEN p_drift_tolerance * abs(c.drift_rate_hz_s * (sc.mjd_start - c.t0) * 86400 * 1e-6)
                   ELSE abs(c.drift_rate_hz_s) * sc.duration_s * 1e-6 END AS tolerance_mhz
        FROM candidates c JOIN scans sc ON sc.position <> c.position
    ), best_on AS (  -- in each other ON scan, the most similar signal near that frequency, and (p_on_track)
                     -- the signal on the track itself: drifting like it (the verdict rule's tolerance) and
                     -- where its drift, within that tolerance, puts it (+- 32 channels)
        SELECT x.candidate, x.role, x.position, m.id AS match_id, m.similarity, m.snr AS match_snr, t.id AS track_id,
               t.similarity AS track_similarity, t.snr AS track_snr
        FROM expected x JOIN candidates c ON c.id = x.candidate
        LEFT JOIN LATERAL (
            SELECT s2.id, 1 - (e2.latent <=> c.latent) AS similarity, s2.snr
            FROM snippets s2 JOIN embeddings e2 ON e2.snippet_id = s2.id AND e2.model_id = model
            WHERE s2.observation_id = x.observation_id AND s2.is_signal
              AND s2.f_center_mhz BETWEEN x.f_expected - x.tolerance_mhz AND x.f_expected + x.tolerance_mhz
            ORDER BY e2.latent <=> c.latent LIMIT 1
        ) m ON true
        LEFT JOIN LATERAL (
            SELECT s2.id, 1 - (e2.latent <=> c.latent) AS similarity, s2.snr
            FROM snippets s2 JOIN embeddings e2 ON e2.snippet_id = s2.id AND e2.model_id = model
            WHERE p_on_track AND s2.observation_id = x.observation_id AND s2.is_signal
              AND abs(s2.f_center_mhz - x.f_expected) <= c.drift_tol * abs(x.elapsed_s) * 1e-6 + 32 * x.channel_mhz
              AND abs(s2.drift_rate_hz_s - c.drift_rate_hz_s) <= c.drift_tol
              AND coalesce(s2.drift_error_hz_s, 0) <= c.drift_tol
            ORDER BY abs(s2.f_center_mhz - x.f_expected), s2.id LIMIT 1
        ) t ON true
        WHERE x.role = 'ON'
    ), chosen_on AS (  -- an ON scan's appearance: the signal on the track when there is one, else the most similar
        SELECT b.candidate, b.role, b.position, b.track_id IS NOT NULL AS on_track,
               CASE WHEN b.track_id IS NOT NULL THEN b.track_id ELSE b.match_id END AS match_id,
               CASE WHEN b.track_id IS NOT NULL THEN b.track_similarity ELSE b.similarity END AS similarity,
               b.track_id IS NOT NULL OR coalesce(b.similarity, -1) >= p_on_similarity AS on_ok,
               NULL::bigint AS local_id, NULL::float8 AS local_similarity, NULL::boolean AS local_on_track,
               CASE WHEN b.track_id IS NOT NULL THEN b.track_snr ELSE b.match_snr END AS app_snr
        FROM best_on b
    ), event_drift AS (  -- the event's drift: that of its ON appearance measured best (smallest tolerance),
                         -- of those on its track: an appearance found by similarity alone, drifting otherwise,
                         -- may be the RFI the signal crosses (a comb under a -0.9 Hz/s line), whose drift and
                         -- OFF-scan twin then vetoed the line
        SELECT DISTINCT ON (a.candidate) a.candidate, s.drift_rate_hz_s AS drift,
               rficat_drift_tolerance(sc.floor_hz_s, s.drift_error_hz_s, sigmas) AS drift_tol
        FROM (SELECT c.id AS candidate, c.id AS snippet_id FROM candidates c
              UNION ALL SELECT o.candidate, o.match_id FROM chosen_on o WHERE o.on_ok AND o.on_track) a
        JOIN snippets s ON s.id = a.snippet_id JOIN scans sc ON sc.observation_id = s.observation_id
        WHERE s.drift_rate_hz_s IS NOT NULL
        ORDER BY a.candidate, rficat_drift_tolerance(sc.floor_hz_s, s.drift_error_hz_s, sigmas) NULLS LAST, s.id
    ), best_off AS (  -- in each OFF scan, the most similar signal near that frequency that is the same kind
                      -- of signal: drifting like the event (p_off_drift_consistent, the verdict rule's test)
        SELECT x.candidate, x.role, x.position, false AS on_track, m.id AS match_id, m.similarity, true AS on_ok,
               l.id AS local_id, l.similarity AS local_similarity,
               -- (p_off_on_track) whether it is the event's own signal in that OFF scan: on the event's track
               -- (within line_channels of where its drift puts it there), its drift not shown to differ (by more
               -- than the event's tolerance and its own together; a wandering carrier's is measured a little
               -- otherwise in each scan, a burst's hardly at all)
               p_off_on_track AND abs(l.f_center_mhz - x.f_expected) <= line_channels * x.channel_mhz
                   AND NOT coalesce(abs(l.drift - d.drift)
                                    > d.drift_tol + rficat_drift_tolerance(x.floor_hz_s, l.drift_error, sigmas), false)
                   AS local_on_track,
               NULL::float8 AS app_snr
        FROM expected x JOIN candidates c ON c.id = x.candidate LEFT JOIN event_drift d ON d.candidate = x.candidate
        LEFT JOIN LATERAL (
            SELECT s2.id, 1 - (e2.latent <=> c.latent) AS similarity
            FROM snippets s2 JOIN embeddings e2 ON e2.snippet_id = s2.id AND e2.model_id = model
            WHERE s2.observation_id = x.observation_id AND s2.is_signal
              AND s2.f_center_mhz BETWEEN x.f_expected - x.tolerance_mhz AND x.f_expected + x.tolerance_mhz
              AND (NOT p_off_drift_consistent OR d.drift_tol IS NULL
                   OR (abs(s2.drift_rate_hz_s - d.drift) <= d.drift_tol
                       AND coalesce(s2.drift_error_hz_s, 0) <= d.drift_tol))
            ORDER BY e2.latent <=> c.latent LIMIT 1
        ) m ON true
        LEFT JOIN LATERAL (  -- the most similar OFF signal there whatever its drift: RFI sharing the event's picture
                             -- (p_local_rfi), or a veto of an event missing from an ON scan
            SELECT s2.id, 1 - (e2.latent <=> c.latent) AS similarity, s2.f_center_mhz, s2.drift_rate_hz_s AS drift,
                   s2.drift_error_hz_s AS drift_error
            FROM snippets s2 JOIN embeddings e2 ON e2.snippet_id = s2.id AND e2.model_id = model
            WHERE (p_local_rfi OR missing_on > 0) AND s2.observation_id = x.observation_id AND s2.is_signal
              AND s2.f_center_mhz BETWEEN x.f_expected - x.tolerance_mhz AND x.f_expected + x.tolerance_mhz
            ORDER BY e2.latent <=> c.latent LIMIT 1
        ) l ON true
        WHERE x.role = 'OFF'
    ), chosen AS (
        SELECT * FROM chosen_on UNION ALL SELECT * FROM best_off
    ), all_events AS (
        SELECT c.id, c.position, c.f_center_mhz, c.drift_rate_hz_s, c.snr,
               array_prepend(c.id, array_agg(b.match_id ORDER BY b.position) FILTER (WHERE b.role = 'ON' AND b.on_ok))
                   AS on_ids,
               array_agg(b.position ORDER BY b.position) FILTER (WHERE b.role = 'ON' AND NOT b.on_ok) AS missed,
               min(coalesce(b.similarity, -1)) FILTER (WHERE b.role = 'ON' AND b.on_ok) AS min_on,
               count(*) FILTER (WHERE b.role = 'ON' AND b.on_track AND coalesce(b.similarity, -1) < p_on_similarity)::integer
                   AS on_by_track,
               count(*) FILTER (WHERE b.role = 'OFF')::integer AS off_checked,
               max(b.similarity) FILTER (WHERE b.role = 'OFF') AS best_off,
               (array_agg(b.match_id ORDER BY b.similarity DESC NULLS LAST) FILTER (WHERE b.role = 'OFF'))[1] AS best_off_id,
               -- (p_local_rfi) the most similar OFF signal near the track, unless it is on the track (p_off_on_track)
               CASE WHEN p_local_rfi AND NOT coalesce((array_agg(b.local_on_track ORDER BY b.local_similarity DESC NULLS LAST)
                                                       FILTER (WHERE b.role = 'OFF'))[1], false)
                    THEN max(b.local_similarity) FILTER (WHERE b.role = 'OFF') END AS local_off,
               CASE WHEN p_local_rfi THEN (array_agg(b.local_id ORDER BY b.local_similarity DESC NULLS LAST)
                                           FILTER (WHERE b.role = 'OFF'))[1] END AS local_off_id
        FROM candidates c JOIN chosen b ON b.candidate = c.id
        GROUP BY c.id, c.f_center_mhz, c.drift_rate_hz_s, c.snr, c.position
        -- seen in every ON scan but missing_on at most; a signal seen in an earlier ON scan is that scan's event;
        -- no drift-consistent lookalike in an OFF scan, and where it is missing from an ON scan, no lookalike
        -- near its track in an OFF scan whatever its drift (weaker evidence of an ON-only signal asks for clean
        -- OFF scans: RFI that wanders, a random walk measured +0.1 Hz/s in one scan and -0.1 in the next, is in
        -- every scan where it was, its OFF twins drifting otherwise)
        HAVING count(*) FILTER (WHERE b.role = 'ON' AND NOT b.on_ok) <= missing_on
           AND NOT coalesce(bool_or(b.on_ok) FILTER (WHERE b.role = 'ON' AND b.position < c.position), false)
           AND coalesce(max(b.similarity) FILTER (WHERE b.role = 'OFF'), -1) < p_off_similarity
           AND (count(*) FILTER (WHERE b.role = 'ON' AND NOT b.on_ok) = 0
                OR coalesce(max(b.local_similarity) FILTER (WHERE b.role = 'OFF'), -1) < p_off_similarity)
           -- (p_missing_on_faint_only) and only when it is faint where seen: detection does not miss a bright one
           AND (count(*) FILTER (WHERE b.role = 'ON' AND NOT b.on_ok) = 0 OR NOT p_missing_on_faint_only
                OR greatest(c.snr, max(b.app_snr) FILTER (WHERE b.role = 'ON' AND b.on_ok)) < faint_snr)
    ), events AS (  -- one event per signal: a later ON scan's event whose first snippet is an appearance of an
                    -- earlier scan's event is that one (tracks are searched within tolerances of each end's drift)
        SELECT ev.* FROM all_events ev
        WHERE NOT EXISTS (SELECT 1 FROM all_events e2 WHERE e2.position < ev.position AND ev.id = ANY(e2.on_ids))
    ), appearances AS (  -- (p_cadence_track) each ON appearance: where (Hz) and when (s, mid-scan) it was
                         -- seen, its drift and its tolerance (the verdict rule's), and whether its drift is
                         -- measured beyond that tolerance (drifting)
        SELECT ev.id AS event_id, s.id AS snippet_id, s.observation_id, s.f_center_mhz, s.drift_rate_hz_s AS drift,
               s.f_center_mhz * 1e6 AS f_hz, (sc.mjd_start * 86400 + sc.duration_s / 2) AS t_s, sc.channel_mhz * 1e6 AS ch_hz,
               tol, abs(s.drift_rate_hz_s) > tol AS drifting
        FROM events ev CROSS JOIN LATERAL unnest(ev.on_ids) a(id)
        JOIN snippets s ON s.id = a.id JOIN scans sc ON sc.observation_id = s.observation_id
        CROSS JOIN LATERAL rficat_drift_tolerance(sc.floor_hz_s, s.drift_error_hz_s, sigmas) tol
        WHERE p_cadence_track AND s.drift_rate_hz_s IS NOT NULL
    ), cadence_line AS (  -- the line through the appearances' positions: the signal's drift across the cadence
        SELECT event_id, regr_slope(f_hz, t_s) AS slope, regr_intercept(f_hz, t_s) AS intercept,
               max(t_s) - min(t_s) AS span_s, max(ch_hz) AS ch_hz, count(DISTINCT observation_id) AS n_scans
        FROM appearances GROUP BY event_id
    ), cadence_fit AS (  -- whether the positions lie on that line (each within line_channels), and whether the
                         -- line stays put (slope within line_channels over the span: the signal does not
                         -- move across the cadence, whatever one appearance's drift within its scan)
        SELECT l.event_id, l.slope, l.span_s, l.ch_hz, l.on_line, l.appearances,
               l.on_line AND abs(l.slope) <= line_channels * l.ch_hz / l.span_s AS still
        FROM (SELECT l.*, l.n_scans >= 3 AND l.span_s > 0
                          AND bool_and(abs(a.f_hz - (l.intercept + l.slope * a.t_s)) <= line_channels * l.ch_hz) AS on_line,
                     jsonb_agg(jsonb_build_object('snippet_id', a.snippet_id, 'observation_id', a.observation_id,
                                                  'f_center_mhz', a.f_center_mhz,
                                                  'drift_rate_hz_s', round(a.drift::numeric, 5),
                                                  'drift_tolerance_hz_s', round(a.tol::numeric, 5), 'similarity', NULL)
                               ORDER BY a.t_s) AS appearances
              FROM cadence_line l JOIN appearances a ON a.event_id = l.event_id
              GROUP BY l.event_id, l.slope, l.intercept, l.span_s, l.ch_hz, l.n_scans) l
    ), cadence_track AS (  -- an event that drifts within its scans but not across them: at least two appearances
                           -- drifting beyond their tolerance, none of them within it (+ line_channels over the
                           -- span) of the slope of the line its positions lie on (each within line_channels)
        SELECT l.event_id, l.slope, l.span_s, l.ch_hz, l.appearances,
               max(abs(a.drift)) FILTER (WHERE a.drifting) AS drift,
               min(abs(a.drift - l.slope) - a.tol) FILTER (WHERE a.drifting) AS margin_hz_s
        FROM cadence_fit l JOIN appearances a ON a.event_id = l.event_id
        WHERE l.on_line
        GROUP BY l.event_id, l.slope, l.span_s, l.ch_hz, l.appearances
        HAVING count(*) FILTER (WHERE a.drifting) >= 2
           AND NOT bool_or(a.drifting AND abs(a.drift - l.slope) <= a.tol + line_channels * l.ch_hz / l.span_s)
    ), judged AS (  -- the event's best picture: its ON snippet of highest SNR
        SELECT ev.*, (SELECT s.id FROM snippets s WHERE s.id = ANY(ev.on_ids)
                      ORDER BY s.snr DESC NULLS LAST, s.id LIMIT 1) AS judged_id
        FROM events ev
    ), judged_alone AS (  -- one verdict, the same everywhere (rficat_verdict -> rficat_classify)
        SELECT j.*, v.verdict AS alone_verdict, v.explanation AS alone_why, v.evidence AS alone_evidence, v.class_id,
               v.label AS class_label
        FROM judged j CROSS JOIN LATERAL (
            SELECT * FROM rficat_verdict(j.judged_id, NULL, p_use_classes, p_common_similarity, p_common_min,
                                         p_class_min_observations) WHERE p_use_verdicts
            UNION ALL
            SELECT NULL, NULL, NULL, false, 'candidate', 'candidate: verdicts off (ON/OFF test only)', '[]'::jsonb, NULL
            WHERE NOT p_use_verdicts) v
    ), pooled AS (  -- (p_pool_evidence) the evidence against each of the event's other ON appearances that
                    -- drift like its judged one (within the larger of their tolerances): the same signal seen
                    -- again, whose lookalikes in reference observations are evidence against the event too.
                    -- A drifting event (judged drift beyond its tolerance) takes only lookalikes at the
                    -- appearance's own frequency (the rule's same-emitter reach: half the drift span over
                    -- the lookalike's scan, of the faster of the two, + 128 channels), as the rule does: an
                    -- appearance whose own drift is poorly measured is judged as if stationary, with
                    -- lookalikes from anywhere, which say nothing of a drifting signal. (p_cadence_track) An
                    -- event whose appearances stay put across the cadence (cadence_fit.still) is not drifting,
                    -- however its judged appearance's drift within its scan came out: its positions over the
                    -- whole cadence measure its drift to a few hundredths of what one scan can
        SELECT ja.id, a.id AS appearance_id, x.e
        FROM judged_alone ja LEFT JOIN cadence_fit cf ON cf.event_id = ja.id
        JOIN snippets sj ON sj.id = ja.judged_id JOIN scans scj ON scj.observation_id = sj.observation_id
        CROSS JOIN LATERAL rficat_drift_tolerance(scj.floor_hz_s, sj.drift_error_hz_s, sigmas) judged_tol
        CROSS JOIN LATERAL unnest(ja.on_ids) a(id)
        JOIN snippets sa ON sa.id = a.id JOIN scans sca ON sca.observation_id = sa.observation_id
        CROSS JOIN LATERAL rficat_verdict(a.id, NULL, p_use_classes, p_common_similarity, p_common_min,
                                          p_class_min_observations) va
        CROSS JOIN LATERAL jsonb_array_elements(va.evidence) x(e)
        JOIN observations oe ON oe.id = (x.e ->> 'observation_id')::integer
        WHERE p_pool_evidence AND p_use_verdicts AND ja.alone_verdict = 'candidate' AND a.id <> ja.judged_id
          AND abs(sa.drift_rate_hz_s - sj.drift_rate_hz_s)
              <= greatest(rficat_drift_tolerance(sca.floor_hz_s, sa.drift_error_hz_s, sigmas), judged_tol)
          AND (abs(sj.drift_rate_hz_s) <= judged_tol OR coalesce(cf.still, false)
               OR abs((x.e ->> 'f_center_mhz')::float8 - sa.f_center_mhz)
                  <= greatest(abs(coalesce((x.e ->> 'drift_rate_hz_s')::float8, 0)), abs(sa.drift_rate_hz_s))
                     * oe.tsamp_s * oe.n_integrations / 2 * 1e-6 + 128 * abs(oe.foff_mhz))
    ), pooled_evidence AS (  -- with the judged appearance's own, one piece per lookalike snippet: the events
                             -- whose pooled evidence reaches the rule's minimums
        SELECT u.id, jsonb_agg(u.e ORDER BY (u.e ->> 'similarity')::float8 DESC, (u.e ->> 'snippet_id')::bigint) AS evidence,
               count(DISTINCT u.e ->> 'observation_id')::integer AS n_obs,
               array_agg(DISTINCT u.appearance_id) FILTER (WHERE u.appearance_id IS NOT NULL) AS appearances
        FROM (SELECT DISTINCT ON (p.id, p.e ->> 'snippet_id') p.id, p.appearance_id, p.e
              FROM (SELECT id, appearance_id, e FROM pooled
                    UNION ALL
                    SELECT ja.id, NULL::bigint, x.e FROM judged_alone ja
                    CROSS JOIN LATERAL jsonb_array_elements(ja.alone_evidence) x(e)
                    WHERE ja.id IN (SELECT id FROM pooled)) p
              ORDER BY p.id, p.e ->> 'snippet_id', p.appearance_id NULLS FIRST) u
        GROUP BY u.id
        HAVING count(DISTINCT u.e ->> 'observation_id') >= min_observations AND count(*) >= min_evidence
    ), judged_verdicts AS (
        SELECT ja.*,
               CASE WHEN pe.id IS NOT NULL THEN 'likely_rfi' ELSE ja.alone_verdict END AS rule_verdict,
               CASE WHEN pe.id IS NOT NULL
                    THEN format('likely_rfi: %s lookalike(s) in %s reference observation(s), pooled over its ON '
                                'appearances drifting like it (evidence against snippet(s) %s too: the same signal '
                                'seen again); judged alone: %s', jsonb_array_length(pe.evidence), pe.n_obs,
                                array_to_string(pe.appearances, ', '), ja.alone_why)
                    ELSE ja.alone_why END AS rule_why,
               CASE WHEN pe.id IS NOT NULL THEN pe.evidence ELSE ja.alone_evidence END AS evidence
        FROM judged_alone ja LEFT JOIN pooled_evidence pe ON pe.id = ja.id
    ), local_verdicts AS (  -- (p_local_rfi) lookalikes of a picture the OFF scans also show there, drifting otherwise,
                            -- are evidence against that RFI, not against the ON-only signal on it: it stays a candidate
        SELECT jv.*, CASE WHEN local_rfi THEN 'candidate' ELSE jv.rule_verdict END AS local_verdict,
               CASE WHEN local_rfi THEN format(
                   'candidate: its picture is also in an OFF scan near its track (snippet %s, similarity %s), drifting '
                   'otherwise (off its track, or beyond its tolerance and that signal''s together), so the lookalikes '
                   'describe that RFI, not this ON-only signal on it (the rule alone: %s)',
                   jv.local_off_id, round(jv.local_off::numeric, 3), jv.rule_why)
                    ELSE jv.rule_why END AS local_why
        FROM (SELECT j2.*, p_local_rfi AND j2.rule_verdict IN ('likely_rfi', 'known_rfi')
                           AND coalesce(j2.local_off, -1) >= p_off_similarity AS local_rfi
              FROM judged_verdicts j2) jv
    ), verdicts AS (  -- (p_cadence_track) a candidate that drifts within its scans but stays put across them
                      -- (no OFF scan showing its picture near its track: its ON appearances are its own)
                      -- is likely RFI: a transmitter at the target drifting steadily keeps drifting between scans;
                      -- (p_zero_drift) so is any other candidate that stays put across the cadence (cadence_fit.still:
                      -- within line_channels over the ON span, 0.019 Hz/s at GBT's resolution over three ON scans):
                      -- no drift relative to the telescope
        SELECT lv.*, CASE WHEN ct.event_id IS NOT NULL OR zd.event_id IS NOT NULL THEN 'likely_rfi'
                          ELSE lv.local_verdict END AS verdict,
               CASE WHEN ct.event_id IS NOT NULL THEN format(
                   'likely_rfi: it drifts within its ON scans (up to %s Hz/s; each appearance''s drift is beyond its '
                   'tolerance), but its %s ON appearances lie on one line (within %s channels) moving %s Hz/s across '
                   'the cadence, %s Hz/s or more beyond the tolerance of every drift measured in them: a transmitter at the target '
                   'drifting steadily would keep drifting between scans (%s channels over the %s s from the first ON '
                   'scan to the last), this one starts each scan anew, as RFI does (the evidence lists the '
                   'appearances; the rule alone: %s)',
                   round(ct.drift::numeric, 3), jsonb_array_length(ct.appearances), line_channels,
                   round(ct.slope::numeric, 4), round(ct.margin_hz_s::numeric, 3),
                   round((ct.drift * ct.span_s / ct.ch_hz)::numeric, 0), round(ct.span_s::numeric, 0), lv.local_why)
                    WHEN zd.event_id IS NOT NULL THEN format(
                   'likely_rfi: its %s ON appearances stay put across the cadence (on one line within %s channels, '
                   'moving %s Hz/s: within %s channels over the %s s from the first ON scan to the last), no drift '
                   'relative to the telescope, as RFI from the ground shows (turboSETI drops zero-drift hits by '
                   'default); a transmitter at the target drifts with the rotation of the Earth and of its own planet '
                   '(the evidence lists the appearances; the rule alone: %s)',
                   jsonb_array_length(zd.appearances), line_channels, round(zd.slope::numeric, 4), line_channels,
                   round(zd.span_s::numeric, 0), lv.local_why)
                    ELSE lv.local_why END AS why,
               CASE WHEN ct.event_id IS NOT NULL THEN ct.appearances WHEN zd.event_id IS NOT NULL THEN zd.appearances
                    ELSE lv.evidence END AS verdict_evidence
        FROM local_verdicts lv LEFT JOIN cadence_track ct
             ON ct.event_id = lv.id AND lv.local_verdict = 'candidate' AND coalesce(lv.local_off, -1) < p_off_similarity
        LEFT JOIN cadence_fit zd ON zd.event_id = lv.id AND p_zero_drift AND p_use_verdicts AND zd.still
             AND lv.local_verdict = 'candidate'
    )
    SELECT (row_number() OVER (ORDER BY vd.verdict IN ('likely_rfi', 'known_rfi'), vd.verdict = 'unjudged',
                                        vd.missed IS NOT NULL,
                                        jsonb_array_length(vd.verdict_evidence), vd.snr DESC))::integer,
           vd.id, vd.f_center_mhz, vd.drift_rate_hz_s, vd.snr, vd.on_ids, vd.min_on, vd.off_checked,
           vd.best_off, vd.best_off_id, jsonb_array_length(vd.evidence), vd.verdict IN ('likely_rfi', 'known_rfi'),
           format('%s (min similarity %s%s); %s OFF scans checked, best %sOFF similarity %s; judged on snippet %s: %s',
                  CASE WHEN vd.missed IS NULL THEN format('in all %s ON scans', n_on)
                       ELSE format('in %s of %s ON scans (none on its track in the scan at cadence position %s: a '
                                   'signal too faint or flickering to detect there, or one that stopped; no OFF scan '
                                   'shows a lookalike near its track, whatever its drift)',
                                   n_on - cardinality(vd.missed), n_on, array_to_string(vd.missed, ', ')) END,
                  round(coalesce(vd.min_on, 1)::numeric, 3),
                  CASE WHEN vd.on_by_track > 0 THEN format('; %s below %s but on its drift track', vd.on_by_track,
                                                          p_on_similarity) ELSE '' END, vd.off_checked,
                  CASE WHEN p_off_drift_consistent THEN 'drift-consistent ' ELSE '' END,
                  coalesce(round(vd.best_off::numeric, 3)::text, 'none near'), vd.judged_id, vd.why),
           vd.class_id, vd.class_label, vd.verdict, vd.verdict_evidence, vd.judged_id
    FROM verdicts vd
    ORDER BY 1;
END $fn$;
COMMENT ON FUNCTION rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, double precision, integer, boolean, boolean, boolean, boolean, boolean, boolean, boolean, integer, boolean, boolean, boolean) IS
    'Candidate events of an ON/OFF cadence: signals found again (latent similarity >= p_on_similarity) in every other ON scan but p_max_missing_on (NULL: one where the cadence has three ON scans or more, else none; before migration 0028 none) at the frequency their drift predicts, an event starting at its first ON appearance and reported once (the explanation names the ON scans it is missing from; complete events rank first among candidates; an event missing from an ON scan is vetoed by any similar OFF signal near its track, whatever its drift), with no similar signal (>= p_off_similarity) that drifts like it (within the verdict rule''s tolerance, rficat_drift_tolerance: one channel over the scan or 2 x the drift error) near the drift-consistent frequency of any OFF scan; p_off_drift_consistent false lets any similar OFF signal veto, whatever its drift (the rule before migration 0019); the event''s drift is that of its ON appearance measured best, of those on its track (before migration 0027: of all its ON appearances, also those found by similarity alone). An ON scan''s appearance is the signal on the event''s track (p_on_track, default: drifting like it within that tolerance, within the tolerance x elapsed time + 32 channels of where its drift puts it) whatever its similarity, else the most similar near there (>= p_on_similarity); p_on_track false: similarity alone (before 0019). Each event is judged on its highest-SNR ON snippet by rficat_verdict: verdict (candidate, likely_rfi, known_rfi, unjudged), explanation and evidence (the drift-consistent lookalikes in reference observations); likely_rfi is true for likely_rfi and known_rfi, n_lookalikes_elsewhere counts the evidence. p_common_similarity, p_common_min and p_class_min_observations override the build''s similarity, minimum evidence and class reference minimum (NULL: the build''s); p_use_classes false judges on evidence alone, p_use_verdicts false skips verdicts (the ON/OFF test only). p_local_rfi (default, migration 0020): an event judged RFI whose picture an OFF scan also shows near its track (similarity >= p_off_similarity) with another drift, so not a veto, stays a candidate: its lookalikes describe the RFI it sits on, not the ON-only signal; the explanation says so and keeps the rule''s own words and evidence; since migration 0029 (p_off_on_track, default) not where that OFF signal lies on the event''s track (within 8 channels of where its drift puts it): that is the event''s own signal seen in an OFF scan, whatever drift is measured in it (RFI whose drift is measured a little otherwise in each scan). p_missing_on_faint_only (default, migration 0030): an event may be missing from an ON scan only when its SNR is below 20 in every ON scan it is seen in (energy detection finds 94-100 percent of signals that bright, so a brighter signal missing from a scan was not there on its track; false: the rule of 0028-0029). p_zero_drift (default, migration 0031; not with p_use_verdicts false): a candidate event whose ON appearances (every ON scan) stay put across the cadence, on one line within 8 channels whose slope is within 8 channels over the ON span, is likely_rfi, whatever its drift within a scan and whatever an OFF scan shows near it: no drift relative to the telescope, as RFI from the ground (turboSETI drops zero-drift hits by default; a transmitter at the target drifts with the rotation of the Earth and of its planet); the evidence lists the appearances; false: such an event is left to the rules before (before 0031). p_pool_evidence (default, migration 0023): an event its judged snippet leaves a candidate is likely_rfi when the evidence against its ON appearances that drift like the judged one (within the larger of their tolerances), pooled, reaches the rule''s minimums (min_evidence lookalikes in min_observations reference observations): the same signal seen again in another ON scan, its lookalikes are evidence against the event; false: judged on one snippet (before 0023). p_cadence_track (default, migration 0024): a candidate event whose ON appearances drift within their scans (two or more beyond their drift tolerance) but lie on one line across the cadence (each within 8 channels) whose slope none of those drifts matches (within its tolerance + 8 channels over the ON span) is likely_rfi, unless an OFF scan shows its picture near its track: a transmitter at the target drifting steadily keeps drifting between scans; the evidence lists the ON appearances (positions, drifts, tolerances), n_lookalikes_elsewhere still counts the lookalike evidence; and an event whose ON appearances stay put across the cadence (on one line of slope within 8 channels over the ON span) pools evidence as a stationary signal, whatever its judged appearance''s drift within its scan. Ranked candidates first, then by evidence and SNR. (Before migration 0011 likely_rfi meant 3 or more lookalikes >= 0.95 whatever their drift, or a class seen in OFF scans.)';
