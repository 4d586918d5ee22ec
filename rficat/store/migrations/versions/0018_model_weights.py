"""Model weights in the catalogue: Dask workers on other machines encode without a copy of the files.

``model_weights`` keeps each registered model's ``encoder.weights.h5`` (about 0.7 MB for the
shipped model) and ``metadata.json``, written when a model is registered or first used by a
machine that has its files; a worker that lacks them reads them once into
``$RFICAT_HOME/models/.catalogue/<fingerprint>`` (rficat.catalogue.models.encoder_for).

Revision ID: 0018
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_weights",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE",
                                                        name="fk_model_weights_model_id_models"),
                  primary_key=True, comment="Model id."),
        sa.Column("encoder_weights", sa.LargeBinary, nullable=False,
                  comment="The model's encoder.weights.h5 file, byte for byte (its sha256 is models.fingerprint)."),
        sa.Column("metadata", JSONB, nullable=False, comment="The model's metadata.json."),
        sa.Column("stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False,
                  comment="When the weights were stored."),
        sa.PrimaryKeyConstraint("model_id", name="pk_model_weights"),
        comment="Encoder weights of registered models, so that workers without the model's files can encode "
                "(read once into $RFICAT_HOME/models/.catalogue).",
    )


def downgrade() -> None:
    op.drop_table("model_weights")
