"""Signal width: each snippet's half-power bandwidth, its class median, in the views.

Width tells a 3 Hz carrier from a 500 Hz broadband burst at a glance, and the RFI database
summarises its classes by drift, width and SNR. Snippets stored before this revision keep a
NULL width (the stored arrays are normalised, so it cannot be measured again from them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CATALOGUE_VIEW = """
CREATE OR REPLACE VIEW snippet_catalogue AS
SELECT s.id AS snippet_id, s.observation_id, o.path, o.source_name, o.mjd_start,
       c.cadence, c.role, c.cadence_position,
       s.coarse_channel, s.f_start_mhz, s.f_stop_mhz, s.f_center_mhz,
       s.snr, s.drift_rate_hz_s, s.statistic, s.is_signal,
       e.model_id, e.latent, e.freq_vector{extra}
FROM snippets s
JOIN observations o ON o.id = s.observation_id AND o.status = 'complete'
JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = rficat_current_model()
LEFT JOIN LATERAL (
    SELECT cd.name AS cadence, cm.role, cm.position AS cadence_position
    FROM cadence_members cm JOIN cadences cd ON cd.id = cm.cadence_id
    WHERE cm.observation_id = s.observation_id ORDER BY cd.id LIMIT 1
) c ON true;
COMMENT ON VIEW snippet_catalogue IS
    'Every searchable snippet with its observation, cadence (name, ON/OFF role, position), signal measures and the current model''s vectors. Start here in a notebook.';
"""

SUMMARY_VIEW = """
CREATE OR REPLACE VIEW rfi_class_summary AS
SELECT c.id AS class_id, c.build_id, c.label, c.notes, c.size, c.n_observations, c.n_cadences,
       c.f_min_mhz, c.f_max_mhz, c.drift_median_hz_s, c.snr_median, c.radius, c.exemplar_ids,
       c.drift_min_hz_s, c.drift_max_hz_s{extra}
FROM rfi_classes c JOIN rfi_builds b ON b.id = c.build_id
WHERE b.is_current;
COMMENT ON VIEW rfi_class_summary IS
    'The RFI morphology classes of the current build, with their user labels, sizes, drift ranges, widths and where they occur.';
"""

CURRENT_MODEL_COMMENT = ("COMMENT ON FUNCTION rficat_current_model() IS 'Id of the model searches use when none is "
                         "named: the one marked models.is_current (the first registered, until the re-encode flow "
                         "makes another current with make_current).'")


def upgrade() -> None:
    op.add_column("snippets", sa.Column(
        "width_hz", sa.Double,
        comment="Half-power width of the dedrifted, time-collapsed signal, Hz (at most the 256-channel window); "
                "NULL for snippets stored before widths were measured."))
    op.add_column("rfi_classes", sa.Column(
        "width_median_hz", sa.Double, comment="Median half-power width of its snippets' signals, Hz."))
    op.execute(CATALOGUE_VIEW.format(extra=", s.width_hz"))
    op.execute(SUMMARY_VIEW.format(extra=", c.width_median_hz"))
    op.execute(CURRENT_MODEL_COMMENT)


def downgrade() -> None:
    op.execute("DROP VIEW rfi_class_summary")
    op.execute(SUMMARY_VIEW.format(extra=""))
    op.execute("DROP VIEW snippet_catalogue")
    op.execute(CATALOGUE_VIEW.format(extra=""))
    op.drop_column("rfi_classes", "width_median_hz")
    op.drop_column("snippets", "width_hz")
