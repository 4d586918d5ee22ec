CREATE VIEW snippet_rfi AS
SELECT a.snippet_id, a.class_id, c.label, a.distance, a.verdict, a.explanation, a.evidence_ids
FROM rfi_assignments a JOIN rfi_builds b ON b.id = a.build_id AND b.is_current
LEFT JOIN rfi_classes c ON c.id = a.class_id
WHERE a.verdict IN ('likely_rfi', 'known_rfi');
COMMENT ON VIEW snippet_rfi IS
    'Snippets the current RFI build judges RFI (verdict likely_rfi or known_rfi: drift-consistent lookalikes seen in OFF scans or observations outside any ON role), with their class when they belong to one by local density, the distance to its nearest member, the explanation and the evidence snippet ids. A snippet absent here is not RFI by the current build. (Before migration 0011: every snippet inside a class radius.)';
