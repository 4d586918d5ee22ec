"""Snippets stored inline as uint8; HNSW indexing deferred out of the ingest transaction.

Two measured bottlenecks of the store stage (benchmarks/RESULTS.md):

- a float16 snippet is 8 KiB, just over what fits in a page, so every row went through TOAST
  (five chunks and five index entries): ~16k rows/s. Quantised to uint8 (step 1/255, far below
  the noise of a normalised log-power snippet) it is 4 KiB and stays in the row: ~40k rows/s,
  and 6 % smaller on disk.
- HNSW maintenance costs ~1 ms per vector, so inserting vectors into indexed rows ran at
  ~900 rows/s. Vectors now arrive with ``indexed = false``, outside the partial HNSW indexes,
  and ``rficat_index_pending()`` adds them afterwards in its own transactions. Search scans
  the (few) pending vectors exactly, so a new observation is searchable the moment it commits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import numpy as np
import sqlalchemy as sa
from alembic import op

from rficat.store import sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DATA_COMMENT = ("Normalised 16 x 256 snippet quantised to uint8 (value = byte / 255), row-major (time, frequency); "
                "4 KiB, stored in the row.")
OLD_DATA_COMMENT = "Normalised 16 x 256 snippet, float16 little-endian, row-major (time, frequency)."

def _convert_data(to_uint8: bool, batch: int = 2000) -> None:
    """Rewrite every stored snippet in the other encoding, in batches."""
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.text("SELECT id, data FROM snippets WHERE id > :last ORDER BY id LIMIT :n"),
                            {"last": last, "n": batch}).all()
        if not rows:
            return
        if to_uint8:
            x = np.stack([np.frombuffer(r.data, "<f2").astype(np.float32) for r in rows])
            new = np.rint(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)
        else:
            x = np.stack([np.frombuffer(r.data, np.uint8) for r in rows])
            new = (x.astype(np.float32) / 255).astype("<f2")
        conn.execute(sa.text("UPDATE snippets SET data = :data WHERE id = :id"),
                     [{"id": r.id, "data": v.tobytes()} for r, v in zip(rows, new)])
        last = rows[-1].id


def _reindex_models() -> None:
    conn = op.get_bind()
    for (model_id,) in conn.execute(sa.text("SELECT id FROM models")).all():
        op.execute(f"DROP INDEX IF EXISTS embeddings_latent_hnsw_m{int(model_id)}")
        op.execute(f"DROP INDEX IF EXISTS embeddings_freq_hnsw_m{int(model_id)}")
        conn.execute(sa.text("SELECT rficat_index_model(:m)"), {"m": model_id})


def upgrade() -> None:
    _convert_data(to_uint8=True)
    op.execute("ALTER TABLE snippets ALTER COLUMN data SET STORAGE MAIN")
    op.execute("ALTER TABLE snippets SET (toast_tuple_target = 8160)")
    op.alter_column("snippets", "data", comment=DATA_COMMENT, existing_comment=OLD_DATA_COMMENT,
                    existing_type=sa.LargeBinary, existing_nullable=False)

    # existing vectors are already in the indexes: true for them, false for what comes next
    op.add_column("embeddings", sa.Column(
        "indexed", sa.Boolean, nullable=False, server_default=sa.true(),
        comment="True once the vector is in its model's HNSW indexes; false while it waits for rficat_index_pending() (search scans those exactly)."))
    op.alter_column("embeddings", "indexed", server_default=sa.false(), existing_type=sa.Boolean, existing_nullable=False)
    op.create_index("ix_embeddings_pending", "embeddings", ["model_id"], postgresql_where=sa.text("NOT indexed"))
    op.execute(sql.load("rficat_index_model", 2))
    op.execute(sql.load("rficat_index_pending", 2))
    _reindex_models()


def downgrade() -> None:
    op.execute("SELECT rficat_index_pending(2147483647)")
    op.execute("DROP FUNCTION rficat_index_pending(integer)")
    op.execute(sql.load("rficat_index_model", 1))
    op.drop_index("ix_embeddings_pending", table_name="embeddings")
    op.drop_column("embeddings", "indexed")
    _reindex_models()
    op.execute("ALTER TABLE snippets RESET (toast_tuple_target)")
    op.execute("ALTER TABLE snippets ALTER COLUMN data SET STORAGE EXTERNAL")
    _convert_data(to_uint8=False)
    op.alter_column("snippets", "data", comment=OLD_DATA_COMMENT, existing_comment=DATA_COMMENT,
                    existing_type=sa.LargeBinary, existing_nullable=False)
