CREATE VIEW rfi_class_summary AS
SELECT c.id AS class_id, c.build_id, c.label, c.notes, c.size, c.n_observations, c.n_cadences,
       c.f_min_mhz, c.f_max_mhz, c.drift_median_hz_s, c.snr_median, c.radius, c.exemplar_ids,
       c.drift_min_hz_s, c.drift_max_hz_s, c.width_median_hz, c.nn_distance, c.n_reference
FROM rfi_classes c JOIN rfi_builds b ON b.id = c.build_id
WHERE b.is_current;
COMMENT ON VIEW rfi_class_summary IS
    'The RFI morphology classes of the current build, with their user labels, sizes, drift ranges, widths, local scale (nn_distance), members seen in reference observations (n_reference) and where they occur.';
