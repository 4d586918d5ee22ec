"""Whole-file fingerprints, where each file was seen, sky positions, and files that failed.

Fingerprints were a sha256 of sampled 1 MiB blocks, so two files that differed only between the
samples looked alike and the second was skipped as already ingested. New observations carry an
xxh3-128 hash of all their bytes; the rows stored before keep their sampled fingerprint, marked
``fingerprint_kind = 'sampled-sha256'``, until ingest finds their file again and re-hashes it.
Each observation records the path, size and modification time its file had, so a file already
seen is found again without reading it (``cadence add``, repeated landing-directory runs).
``ra_deg`` / ``dec_deg`` hold the pointing in degrees (filled here from stored .h5 headers,
whose ``src_raj`` is in hours). ``ingest_failures`` remembers files that could not be ingested,
so the landing schedule retries one only when it changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_FINGERPRINT = ("Content fingerprint (sha256 of header and sampled data blocks); the same file is never "
                   "ingested twice.")
NEW_FINGERPRINT = ("Content fingerprint: 'xxh3-128:<hex>' of every byte of the file (header included), or, for "
                   "rows stored before whole-file hashing, 'sha256:<hex>' of sampled blocks (see fingerprint_kind); "
                   "the same file is never ingested twice.")
OLD_PATH = "File path at ingest time."
NEW_PATH = "Absolute file path at ingest time; updated when the file is found again after its old path vanished."


def _number(key: str) -> str:
    return f"CASE WHEN jsonb_typeof(header->'{key}') = 'number' THEN (header->>'{key}')::float8 END"


def upgrade() -> None:
    op.add_column("observations", sa.Column(
        "fingerprint_kind", sa.Text, nullable=False, server_default="xxh3-128",
        comment="How fingerprint was made: xxh3-128 (the whole file) or sampled-sha256 (sampled blocks, rows "
                "stored before whole-file hashing; replaced when ingest sees the file again)."))
    op.execute("UPDATE observations SET fingerprint_kind = 'sampled-sha256' WHERE fingerprint LIKE 'sha256:%'")
    op.create_check_constraint("ck_observations_fingerprint_kind", "observations",
                               "fingerprint_kind IN ('xxh3-128', 'sampled-sha256')")
    op.add_column("observations", sa.Column(
        "file_size", sa.BigInteger, comment="Size of the file in bytes when last seen (NULL: not recorded)."))
    op.add_column("observations", sa.Column(
        "file_mtime_ns", sa.BigInteger,
        comment="Modification time of the file when last seen, ns since the Unix epoch (st_mtime_ns); with path "
                "and file_size it finds the fingerprint of a file already seen without reading it."))
    op.add_column("observations", sa.Column(
        "ra_deg", sa.Double, comment="Right ascension of the pointing, degrees (header src_raj)."))
    op.add_column("observations", sa.Column(
        "dec_deg", sa.Double, comment="Declination of the pointing, degrees (header src_dej)."))
    op.execute(f"UPDATE observations SET ra_deg = ({_number('src_raj')}) * 15, dec_deg = {_number('src_dej')}")
    op.alter_column("observations", "fingerprint", existing_type=sa.Text, existing_nullable=False,
                    comment=NEW_FINGERPRINT, existing_comment=OLD_FINGERPRINT)
    op.alter_column("observations", "path", existing_type=sa.Text, existing_nullable=False,
                    comment=NEW_PATH, existing_comment=OLD_PATH)
    op.create_index("ix_observations_path", "observations", ["path"])
    op.create_table(
        "ingest_failures",
        sa.Column("path", sa.Text, primary_key=True, comment="Absolute path of the file that failed."),
        sa.Column("file_size", sa.BigInteger, nullable=False, comment="Its size in bytes when it failed."),
        sa.Column("file_mtime_ns", sa.BigInteger, nullable=False,
                  comment="Its modification time when it failed, ns since the Unix epoch (st_mtime_ns)."),
        sa.Column("fingerprint", sa.Text, comment="Its fingerprint when it failed, if ingest got that far."),
        sa.Column("error", sa.Text, nullable=False, comment="The one-line error."),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1",
                  comment="How many ingests of it failed."),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now(),
                  comment="When it last failed."),
        comment="Files that could not be ingested: the landing schedule retries one only when its size, "
                "modification time or content changes. A later successful ingest removes the row.",
    )


def downgrade() -> None:
    op.drop_table("ingest_failures")
    op.drop_index("ix_observations_path", "observations")
    op.alter_column("observations", "path", existing_type=sa.Text, existing_nullable=False,
                    comment=OLD_PATH, existing_comment=NEW_PATH)
    op.alter_column("observations", "fingerprint", existing_type=sa.Text, existing_nullable=False,
                    comment=OLD_FINGERPRINT, existing_comment=NEW_FINGERPRINT)
    for column in ("dec_deg", "ra_deg", "file_mtime_ns", "file_size"):
        op.drop_column("observations", column)
    op.drop_constraint("ck_observations_fingerprint_kind", "observations", type_="check")
    op.drop_column("observations", "fingerprint_kind")
