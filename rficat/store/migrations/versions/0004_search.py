"""Search: the current model, the snippet_catalogue view, lookalike and cadence functions,
template search results, and a read-only role for notebook users.

Every function takes its inputs as parameters. The only SQL built from text is the
per-model index expression (an integer model id and dimension read from ``models``), because
PostgreSQL picks a partial expression index only when the query spells out the same
expression with literals.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB

from rficat.store import sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOW = sa.text("now()")

def upgrade() -> None:
    op.add_column("models", sa.Column(
        "is_current", sa.Boolean, nullable=False, server_default=sa.false(),
        comment="True for the model searches use by default (at most one)."))
    op.create_index("uq_models_current", "models", ["is_current"], unique=True, postgresql_where=sa.text("is_current"))
    op.execute("UPDATE models SET is_current = true WHERE id = (SELECT min(id) FROM models)")

    op.create_table(
        "template_searches",
        sa.Column("id", sa.BigInteger, primary_key=True, comment="Template search id."),
        sa.Column("job", sa.Text, comment="Name of the batch job (template-search flow run) that made it, if any."),
        sa.Column("template", JSONB, nullable=False, comment="Template parameters: shape, drift_hz_s, width_hz, snr, f_center_mhz."),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False, comment="Model that encoded the template."),
        sa.Column("vector", Vector(), nullable=False, comment="The template's vector (latent, or frequency-embedded when f_center_mhz was given)."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW, comment="When the search ran."),
        comment="A synthetic template (setigen) encoded and searched against the catalogue.",
    )
    op.create_table(
        "template_matches",
        sa.Column("search_id", sa.BigInteger, sa.ForeignKey("template_searches.id", ondelete="CASCADE"), primary_key=True, comment="Template search id."),
        sa.Column("rank", sa.Integer, primary_key=True, comment="1 for the best match."),
        sa.Column("snippet_id", sa.BigInteger, sa.ForeignKey("snippets.id", ondelete="CASCADE"), nullable=False, comment="Matching snippet."),
        sa.Column("similarity", sa.Double, nullable=False, comment="Cosine similarity to the template."),
        comment="The best matches of each template search, kept for later SQL.",
    )
    for name in ("rficat_current_model", "snippet_catalogue", "rficat_lookalikes_of_vector", "rficat_lookalikes",
                 "rficat_cadence_events", "rficat_reader"):
        op.execute(sql.load(name, 4))


def downgrade() -> None:
    op.execute("DROP FUNCTION rficat_lookalikes(bigint, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, boolean)")
    op.execute("DROP FUNCTION rficat_lookalikes_of_vector(vector, integer, boolean, integer, boolean, double precision, double precision, bigint, text, double precision, double precision, double precision, double precision, double precision, double precision, boolean, double precision, bigint, bigint, boolean)")
    op.execute("DROP FUNCTION rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, double precision, integer)")
    op.execute("DROP VIEW snippet_catalogue")
    op.execute("DROP FUNCTION rficat_current_model()")
    op.drop_table("template_matches")
    op.drop_table("template_searches")
    op.drop_index("uq_models_current", table_name="models")
    op.drop_column("models", "is_current")
