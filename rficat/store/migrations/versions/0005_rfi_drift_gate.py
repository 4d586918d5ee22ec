"""RFI classes gate on drift rate: a snippet joins a class only if its drift lies in the class's range.

The latent space does not keep a drifting carrier apart from a stationary one reliably enough
for a technosignature search, which must never flag a drifting signal as known stationary RFI.
Each class now stores the drift range of its clustered members (widened by the build's
tolerance); assignment and ``rficat_classify`` take the nearest class whose range admits the
snippet's drift. Classes of earlier builds have no range and do not gate.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DRIFT_ADMITS = ("({d} IS NULL OR {c}.drift_min_hz_s IS NULL"
                " OR {d} BETWEEN {c}.drift_min_hz_s AND {c}.drift_max_hz_s)")

SUMMARY_COLUMNS = """c.id AS class_id, c.build_id, c.label, c.notes, c.size, c.n_observations, c.n_cadences,
       c.f_min_mhz, c.f_max_mhz, c.drift_median_hz_s, c.snr_median, c.radius, c.exemplar_ids"""

SUMMARY_VIEW = """
CREATE OR REPLACE VIEW rfi_class_summary AS
SELECT {columns}
FROM rfi_classes c JOIN rfi_builds b ON b.id = c.build_id
WHERE b.is_current;
COMMENT ON VIEW rfi_class_summary IS
    'The RFI morphology classes of the current build, with their user labels, sizes, drift ranges and where they occur.';
"""

CLASSIFY = r"""
CREATE FUNCTION rficat_classify(p_vector vector, p_build_id integer DEFAULT NULL,
                                p_drift_rate_hz_s double precision DEFAULT NULL)
RETURNS TABLE (class_id bigint, label text, distance double precision, known_rfi boolean)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.label, c.centroid <=> p_vector, (c.centroid <=> p_vector) <= c.radius
    FROM rfi_classes c
    WHERE c.build_id = coalesce(p_build_id, (SELECT id FROM rfi_builds WHERE is_current))
      AND {admits}
    ORDER BY c.centroid <=> p_vector
    LIMIT 1
$$;
COMMENT ON FUNCTION rficat_classify(vector, integer, double precision) IS
    'The nearest RFI class (of the current build unless named) to a latent vector of the build''s model, among the classes whose drift range admits p_drift_rate_hz_s (NULL: any class); its cosine distance, and whether the vector lies within the class radius (known_rfi).';
""".format(admits=DRIFT_ADMITS.format(d="p_drift_rate_hz_s", c="c"))

CLASSIFY_0003 = r"""
CREATE FUNCTION rficat_classify(p_vector vector, p_build_id integer DEFAULT NULL)
RETURNS TABLE (class_id bigint, label text, distance double precision, known_rfi boolean)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.label, c.centroid <=> p_vector, (c.centroid <=> p_vector) <= c.radius
    FROM rfi_classes c
    WHERE c.build_id = coalesce(p_build_id, (SELECT id FROM rfi_builds WHERE is_current))
    ORDER BY c.centroid <=> p_vector
    LIMIT 1
$$;
COMMENT ON FUNCTION rficat_classify(vector, integer) IS
    'The nearest RFI class (of the current build unless named) to a latent vector of the build''s model, its cosine distance, and whether the vector lies within the class radius (known_rfi).';
"""

ASSIGN = r"""
CREATE OR REPLACE FUNCTION rficat_assign_rfi(p_observation_id bigint DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    WITH build AS (SELECT id, model_id FROM rfi_builds WHERE is_current),
    nearest AS (
        SELECT e.snippet_id, b.id AS build_id, n.id AS class_id, n.distance, n.radius
        FROM build b JOIN embeddings e ON e.model_id = b.model_id
        JOIN snippets s ON s.id = e.snippet_id AND s.is_signal
        CROSS JOIN LATERAL (
            SELECT c.id, c.centroid <=> e.latent AS distance, c.radius FROM rfi_classes c
            WHERE c.build_id = b.id AND {admits}
            ORDER BY c.centroid <=> e.latent LIMIT 1) n
        WHERE (p_observation_id IS NULL OR s.observation_id = p_observation_id)
          AND NOT EXISTS (SELECT 1 FROM rfi_assignments a WHERE a.snippet_id = e.snippet_id AND a.build_id = b.id)
    ), done AS (
        INSERT INTO rfi_assignments (snippet_id, build_id, class_id, distance)
        SELECT snippet_id, build_id, class_id, distance FROM nearest WHERE distance <= radius
        RETURNING 1
    )
    SELECT count(*) FROM done
$$;
COMMENT ON FUNCTION rficat_assign_rfi(bigint) IS
    'Assign the signal snippets of one observation (or, with NULL, all not yet assigned) to the nearest class of the current build whose drift range admits the snippet''s drift, when within its radius; returns how many became known RFI. Ingest calls it for each new observation.';
"""


def upgrade() -> None:
    op.add_column("rfi_classes", sa.Column(
        "drift_min_hz_s", sa.Double,
        comment="Lowest drift rate a snippet may have to join the class, Hz/s (5th percentile of its clustered "
                "members less the build's drift tolerance); NULL: no drift gate."))
    op.add_column("rfi_classes", sa.Column(
        "drift_max_hz_s", sa.Double,
        comment="Highest drift rate a snippet may have to join the class, Hz/s (95th percentile of its clustered "
                "members plus the build's drift tolerance); NULL: no drift gate."))
    op.execute("COMMENT ON COLUMN rfi_classes.radius IS 'Cosine distance from the centroid within which a snippet "
               "belongs to the class (a high quantile of its clustered members'' distances; the build''s params "
               "name it).'")
    op.execute(SUMMARY_VIEW.format(columns=SUMMARY_COLUMNS + ", c.drift_min_hz_s, c.drift_max_hz_s"))
    op.execute("DROP FUNCTION rficat_classify(vector, integer)")
    op.execute(CLASSIFY)
    op.execute(ASSIGN.format(admits=DRIFT_ADMITS.format(d="s.drift_rate_hz_s", c="c")))


def downgrade() -> None:
    op.execute(ASSIGN.format(admits="true"))  # as 0003: nearest class by latent alone
    op.execute("COMMENT ON FUNCTION rficat_assign_rfi(bigint) IS 'Assign the signal snippets of one observation "
               "(or, with NULL, all not yet assigned) to the nearest class of the current build when within its "
               "radius; returns how many became known RFI. Ingest calls it for each new observation.'")
    op.execute("DROP FUNCTION rficat_classify(vector, integer, double precision)")
    op.execute(CLASSIFY_0003)
    op.execute("DROP VIEW rfi_class_summary")
    op.execute(SUMMARY_VIEW.format(columns=SUMMARY_COLUMNS))
    op.drop_column("rfi_classes", "drift_max_hz_s")
    op.drop_column("rfi_classes", "drift_min_hz_s")
