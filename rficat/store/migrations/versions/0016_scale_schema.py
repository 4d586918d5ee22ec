"""A schema for 10^9 snippets: arrays out of line, embeddings partitioned, band HNSW graphs.

Measured in benchmarks/RESULTS.md (bench_scale.py):

- Snippet arrays (4 KiB) were kept in the row (STORAGE MAIN, toast_tuple_target 8160); two such
  rows never fit in an 8 KiB page, so each snippet cost ~8 KiB and every scan of snippet
  metadata read the arrays too. They move to their own table, ``snippet_array_parts``: the first
  3,992 bytes out of line (STORAGE EXTERNAL: exactly two TOAST chunks of 1,996 bytes, four chunks
  to a page; quantised noise does not compress, so no compression) and the last 104 in the row:
  ~4.2 KiB a snippet. A whole 4,096-byte value out of line would take three chunks, and the short
  third one breaks the packing: 5,534 bytes measured. The view ``snippet_arrays`` (snippet_id,
  data) reads them whole and stores what is inserted or copied into it.
- ``embeddings`` is partitioned: by ``indexed`` (``embeddings_pending``, the small partition
  ingest writes to, and ``embeddings_indexed``), then by model (``embeddings_m<id>``, created by
  ``rficat_index_model``). ``rficat_index_pending`` moves each vector once from the pending
  partition into its model's partition, so flipping ``indexed`` never rewrites (or leaves dead)
  rows of the large table. The B-trees on ``model_id`` (all rows, and the pending ones) are gone:
  the partitions answer both.
- Each model partition has HNSW indexes over all its vectors (a search without a band filter
  walks one graph) and, partial on the new ``f_center_mhz`` column, per frequency band of
  ``models.band_mhz`` (100 MHz by default): a search inside one band walks that band's graph.
  Sub-partitions per band were measured too: a search without a band filter then merges one
  graph walk per band (Merge Append), 11x slower with 10 bands.

Downgrade restores 0011's layout (one table, partial HNSW per model, arrays in the row).

Revision ID: 0016
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from rficat.store import sql

revision = "0016"
down_revision = "0019"
branch_labels = None
depends_on = None

PARTS_COMMENT = ("The array of each snippet as stored (read it as snippet_arrays.data = head || tail): 3,992 bytes "
                 "out of line (two TOAST chunks, four to a page) and the last 104 in the row, ~4.2 KiB a snippet.")
PARTS_COLUMNS = {"snippet_id": "Snippet id.",
                 "head": "The first 3,992 bytes of the array (STORAGE EXTERNAL: uncompressed, out of line).",
                 "tail": "The rest of the array (104 bytes of a 16 x 256 uint8 array), in the row."}
OLD_DATA_COMMENT = ("Normalised 16 x 256 snippet quantised to uint8 (value = byte / 255), row-major (time, frequency); "
                    "4 KiB, stored in the row.")
TABLE_COMMENT = ("Vectors of each snippet under each model, partitioned: embeddings_pending (indexed = false: "
                 "new vectors, searched exactly) and embeddings_indexed, one partition per model (embeddings_m<id>) "
                 "with HNSW cosine indexes over all its vectors and per frequency band.")
OLD_TABLE_COMMENT = "Vectors of each snippet under each model. Each model has its own partial HNSW cosine indexes."
COLUMN_COMMENTS = {
    "snippet_id": "Snippet id.",
    "model_id": "Model id.",
    "latent": "Encoder mean (morphology only).",
    "freq_vector": "Latent vector plus the sinusoidal frequency embedding.",
    "indexed": "True once the vector is in its model's HNSW indexes (partition embeddings_indexed); false while it "
               "waits in embeddings_pending for rficat_index_pending() (search scans those exactly).",
    "f_center_mhz": "Centre frequency of the snippet, MHz (copied from snippets when the vector is indexed; may be "
                    "NULL while pending): the key of the per-band HNSW indexes.",
}
# rficat_lookalikes_of_vector before and after 0015 (p_not_in_mask); v16 has 0015's arguments
OF_VECTOR = ("rficat_lookalikes_of_vector(vector, integer, boolean, integer, boolean, double precision, double precision,"
             " bigint, text, double precision, double precision, double precision, double precision, double precision,"
             " double precision, boolean, double precision, bigint, bigint, boolean, text, text, double precision,"
             " double precision, double precision")
BAND_COMMENT = ("Width of the frequency bands this model's vectors get their own HNSW indexes for, MHz "
                "(rficat_index_band); a search inside one band walks that band's graph.")


def _model_ids() -> list[int]:
    return [int(m) for m in op.get_bind().execute(sa.text("SELECT id FROM models ORDER BY id")).scalars()]


def _compact_snippets() -> None:
    """Rewrite snippets (CLUSTER in id order: the rows are in that order already), so the bytes of a
    dropped or replaced column are given back now rather than left in every page."""
    op.execute("CLUSTER snippets USING pk_snippets")
    op.execute("ALTER TABLE snippets SET WITHOUT CLUSTER")


def _arrays_out() -> None:
    op.execute("""
        CREATE TABLE snippet_array_parts (
            snippet_id bigint NOT NULL,
            head bytea NOT NULL,
            tail bytea NOT NULL,
            CONSTRAINT pk_snippet_array_parts PRIMARY KEY (snippet_id),
            CONSTRAINT fk_snippet_array_parts_snippet_id_snippets FOREIGN KEY (snippet_id)
                REFERENCES snippets (id) ON DELETE CASCADE
        )""")
    op.execute("ALTER TABLE snippet_array_parts ALTER COLUMN head SET STORAGE EXTERNAL")
    op.execute(f"COMMENT ON TABLE snippet_array_parts IS '{PARTS_COMMENT}'")
    for column, comment in PARTS_COLUMNS.items():
        op.execute(f"COMMENT ON COLUMN snippet_array_parts.{column} IS '{comment}'")
    op.execute("INSERT INTO snippet_array_parts (snippet_id, head, tail) SELECT id, substring(data FROM 1 FOR 3992),"
               " substring(data FROM 3993) FROM snippets ORDER BY id")
    op.drop_column("snippets", "data")
    op.execute("ALTER TABLE snippets RESET (toast_tuple_target)")
    _compact_snippets()
    op.execute(sql.load("snippet_arrays", 16))


def _arrays_in() -> None:
    op.execute("DROP VIEW snippet_arrays")
    op.execute("DROP FUNCTION rficat_store_snippet_array()")
    op.execute("ALTER TABLE snippets SET (toast_tuple_target = 8160)")
    op.add_column("snippets", sa.Column("data", sa.LargeBinary, comment=OLD_DATA_COMMENT))
    op.execute("ALTER TABLE snippets ALTER COLUMN data SET STORAGE MAIN")
    op.execute("UPDATE snippets s SET data = p.head || p.tail FROM snippet_array_parts p WHERE p.snippet_id = s.id")
    op.alter_column("snippets", "data", nullable=False, existing_type=sa.LargeBinary)
    op.drop_table("snippet_array_parts")
    _compact_snippets()


def upgrade() -> None:
    op.execute("DROP VIEW snippet_catalogue")
    _arrays_out()
    op.add_column("models", sa.Column("band_mhz", sa.Double, nullable=False, server_default=sa.text("100"),
                                      comment=BAND_COMMENT))

    models = _model_ids()
    for m in models:
        op.execute(f"DROP INDEX IF EXISTS embeddings_latent_hnsw_m{m}")
        op.execute(f"DROP INDEX IF EXISTS embeddings_freq_hnsw_m{m}")
    op.drop_index("ix_embeddings_pending", table_name="embeddings")
    op.drop_index("ix_embeddings_model_id", table_name="embeddings")
    op.execute("ALTER TABLE embeddings RENAME TO embeddings_v11")
    op.execute("ALTER TABLE embeddings_v11 RENAME CONSTRAINT pk_embeddings TO pk_embeddings_v11")
    op.execute("""
        CREATE TABLE embeddings (
            snippet_id bigint NOT NULL,
            model_id integer NOT NULL,
            latent vector NOT NULL,
            freq_vector vector NOT NULL,
            indexed boolean NOT NULL DEFAULT false,
            f_center_mhz double precision,
            CONSTRAINT pk_embeddings PRIMARY KEY (snippet_id, model_id, indexed),
            CONSTRAINT fk_embeddings_snippet_id_snippets FOREIGN KEY (snippet_id)
                REFERENCES snippets (id) ON DELETE CASCADE,
            CONSTRAINT fk_embeddings_model_id_models FOREIGN KEY (model_id)
                REFERENCES models (id) ON DELETE CASCADE
        ) PARTITION BY LIST (indexed)""")
    op.execute("CREATE TABLE embeddings_pending PARTITION OF embeddings FOR VALUES IN (false)")
    op.execute("CREATE TABLE embeddings_indexed PARTITION OF embeddings FOR VALUES IN (true) PARTITION BY LIST (model_id)")
    op.execute(f"COMMENT ON TABLE embeddings IS '{TABLE_COMMENT}'")
    op.execute("COMMENT ON TABLE embeddings_pending IS 'Vectors not yet in their model''s HNSW indexes (indexed = false, "
               "a partition of embeddings): ingest writes here, rficat_index_pending() moves them on.'")
    op.execute("COMMENT ON TABLE embeddings_indexed IS 'Vectors in their model''s HNSW indexes (indexed = true, a "
               "partition of embeddings), one partition per model: embeddings_m<id>.'")
    for column, comment in COLUMN_COMMENTS.items():
        op.execute(f"COMMENT ON COLUMN embeddings.{column} IS '{comment.replace(chr(39), chr(39) * 2)}'")

    op.execute(f"DROP FUNCTION IF EXISTS {OF_VECTOR})")  # a catalogue without 0015's p_not_in_mask
    for name in ("rficat_index_band", "rficat_index_model", "rficat_index_pending", "rficat_lookalikes_of_vector"):
        op.execute(sql.load(name, 16))
    for m in models:  # the partitions first, the indexes after the rows: one bulk build per index
        op.execute(f"CREATE TABLE embeddings_m{m} PARTITION OF embeddings_indexed FOR VALUES IN ({m})")
    op.execute("""
        INSERT INTO embeddings (snippet_id, model_id, latent, freq_vector, indexed, f_center_mhz)
        SELECT e.snippet_id, e.model_id, e.latent, e.freq_vector, e.indexed, s.f_center_mhz
        FROM embeddings_v11 e JOIN snippets s ON s.id = e.snippet_id""")
    op.execute("DROP TABLE embeddings_v11")
    for m in models:
        op.execute(f"SELECT rficat_index_model({m})")
    op.execute(sql.load("snippet_catalogue", 6))
    op.execute(sql.load("rficat_reader", 4))


def downgrade() -> None:
    op.execute("DROP VIEW snippet_catalogue")
    op.execute("ALTER TABLE embeddings RENAME TO embeddings_v16")
    op.execute("ALTER TABLE embeddings_v16 RENAME CONSTRAINT pk_embeddings TO pk_embeddings_v16")
    op.execute("""
        CREATE TABLE embeddings (
            snippet_id bigint NOT NULL,
            model_id integer NOT NULL,
            latent vector NOT NULL,
            freq_vector vector NOT NULL,
            indexed boolean NOT NULL DEFAULT false,
            CONSTRAINT pk_embeddings PRIMARY KEY (snippet_id, model_id),
            CONSTRAINT fk_embeddings_snippet_id_snippets FOREIGN KEY (snippet_id)
                REFERENCES snippets (id) ON DELETE CASCADE,
            CONSTRAINT fk_embeddings_model_id_models FOREIGN KEY (model_id)
                REFERENCES models (id) ON DELETE CASCADE
        )""")
    op.execute("""
        INSERT INTO embeddings (snippet_id, model_id, latent, freq_vector, indexed)
        SELECT snippet_id, model_id, latent, freq_vector, indexed FROM embeddings_v16""")
    op.execute("DROP TABLE embeddings_v16")  # its partitions and their indexes with it
    op.execute(f"COMMENT ON TABLE embeddings IS '{OLD_TABLE_COMMENT}'")
    for column, comment in COLUMN_COMMENTS.items():
        if column != "f_center_mhz":
            old = ("True once the vector is in its model's HNSW indexes; false while it waits for "
                   "rficat_index_pending() (search scans those exactly).") if column == "indexed" else comment
            op.execute(f"COMMENT ON COLUMN embeddings.{column} IS '{old.replace(chr(39), chr(39) * 2)}'")
    op.create_index("ix_embeddings_model_id", "embeddings", ["model_id"])
    op.create_index("ix_embeddings_pending", "embeddings", ["model_id"], postgresql_where=sa.text("NOT indexed"))
    op.execute("DROP FUNCTION rficat_index_band(integer, double precision)")
    op.execute(sql.load("rficat_index_model", 2))
    op.execute(sql.load("rficat_index_pending", 2))
    op.execute(f"DROP FUNCTION {OF_VECTOR}, boolean)")
    previous = max(v for v in sql.versions("rficat_lookalikes_of_vector") if v < 16)  # 0015's, or 0014's before it
    op.execute(sql.load("rficat_lookalikes_of_vector", previous))
    for m in _model_ids():
        op.execute(f"SELECT rficat_index_model({m})")
    op.drop_column("models", "band_mhz")
    _arrays_in()
    op.execute(sql.load("snippet_catalogue", 6))
    op.execute(sql.load("rficat_reader", 4))
