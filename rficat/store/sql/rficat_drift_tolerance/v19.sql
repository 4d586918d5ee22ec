CREATE FUNCTION rficat_drift_tolerance(
    p_floor_hz_s double precision,
    p_drift_error_hz_s double precision DEFAULT NULL,
    p_drift_sigmas double precision DEFAULT 2.0)
RETURNS double precision
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT greatest(p_floor_hz_s, p_drift_sigmas * coalesce(p_drift_error_hz_s, 0))
$fn$;
COMMENT ON FUNCTION rficat_drift_tolerance(double precision, double precision, double precision) IS
    'The verdict rule''s drift tolerance, Hz/s (rficat.catalogue.verdicts.tolerance): one channel over the scan (p_floor_hz_s), or p_drift_sigmas times the drift''s standard error where larger. Two signals drift alike when their drift rates differ by no more than the tolerance of the one judged and the other''s error is no larger than it. Used by rficat_classify (lookalike evidence, classes) and rficat_cadence_events (the OFF veto).';
