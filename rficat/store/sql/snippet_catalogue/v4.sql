CREATE OR REPLACE VIEW snippet_catalogue AS
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
