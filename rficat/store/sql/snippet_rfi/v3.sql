CREATE OR REPLACE VIEW snippet_rfi AS
SELECT a.snippet_id, a.class_id, c.label, a.distance
FROM rfi_assignments a JOIN rfi_builds b ON b.id = a.build_id AND b.is_current
JOIN rfi_classes c ON c.id = a.class_id;
COMMENT ON VIEW snippet_rfi IS
    'Known-RFI snippets: each snippet assigned to a class of the current build, with the class label and its cosine distance to the class centre. A snippet absent here is not known RFI.';
