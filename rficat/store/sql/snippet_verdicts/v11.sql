CREATE VIEW snippet_verdicts AS
SELECT a.snippet_id, a.verdict, a.explanation, a.evidence_ids, a.class_id, c.label, a.distance,
       a.drift_tolerance_hz_s, a.build_id
FROM rfi_assignments a JOIN rfi_builds b ON b.id = a.build_id AND b.is_current
LEFT JOIN rfi_classes c ON c.id = a.class_id;
COMMENT ON VIEW snippet_verdicts IS
    'The current RFI build''s verdict on every signal snippet it judged (at the build or at ingest since): candidate, likely_rfi, known_rfi or unjudged, with the explanation, the evidence snippet ids, the class (by local density) and the drift tolerance used.';
