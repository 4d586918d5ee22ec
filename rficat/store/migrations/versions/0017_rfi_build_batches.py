"""RFI builds in resumable batches: a build's state and how far it has judged.

`rfi build` no longer writes a whole catalogue's verdicts in one transaction (issue 18): a
build is stored first as ``building`` with its classes and bank, judges the catalogue in
batches of snippet ids (each batch its own transaction, ``judged_through`` the resume point),
and becomes ``complete`` and current in one last short transaction. A killed build is resumed
by the next `rfi build` with the same parameters, or discarded. When a build becomes current
the previous one is ``retired`` and its verdicts (``rfi_assignments``) are purged, in batches;
its classes (and their labels) stay. A check keeps a build that is not complete from ever
being current.

Revision ID: 0017
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rfi_builds", sa.Column(
        "status", sa.Text, nullable=False, server_default="complete",
        comment="building (judging in batches; never current), complete, or retired (an earlier current build; "
                "its verdicts are purged, its classes and labels kept)."))
    op.add_column("rfi_builds", sa.Column(
        "judged_through", sa.BigInteger,
        comment="Highest snippet id the build has judged so far (where an interrupted build resumes); NULL: none yet."))
    op.add_column("rfi_builds", sa.Column(
        "n_judged", sa.BigInteger, nullable=False, server_default="0",
        comment="Signal snippets the build has given a verdict so far."))
    op.create_check_constraint("ck_rfi_builds_status", "rfi_builds",
                               "status IN ('building', 'complete', 'retired')")
    op.create_check_constraint("ck_rfi_builds_current_complete", "rfi_builds",
                               "NOT is_current OR status = 'complete'")
    op.execute("UPDATE rfi_builds SET status = 'retired' WHERE NOT is_current")
    op.execute("UPDATE rfi_builds b SET n_judged = (SELECT count(*) FROM rfi_assignments a WHERE a.build_id = b.id)")


def downgrade() -> None:
    op.execute("DELETE FROM rfi_builds WHERE status = 'building'")  # never complete: nothing to keep
    op.drop_constraint("ck_rfi_builds_current_complete", "rfi_builds", type_="check")
    op.drop_constraint("ck_rfi_builds_status", "rfi_builds", type_="check")
    for column in ("n_judged", "judged_through", "status"):
        op.drop_column("rfi_builds", column)
