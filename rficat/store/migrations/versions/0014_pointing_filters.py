"""Search filters on what was observed: source name, telescope and a cone on the sky.

``rficat_lookalikes`` and ``rficat_lookalikes_of_vector`` gain ``p_source``, ``p_telescope`` and
``p_near_ra_deg`` / ``p_near_dec_deg`` / ``p_near_radius_deg`` (great-circle distance of each
observation's pointing, ``observations.ra_deg`` / ``dec_deg`` from 0008), appended after the
existing parameters so positional calls keep working.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from alembic import op

from rficat.store import sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FILTERS_V4 = ("double precision, double precision, bigint, text, double precision, double precision, double precision,"
              " double precision, double precision, double precision, boolean, double precision")
OLD = {"rficat_lookalikes": f"bigint, integer, boolean, integer, boolean, {FILTERS_V4}, bigint, boolean",
       "rficat_lookalikes_of_vector": f"vector, integer, boolean, integer, boolean, {FILTERS_V4}, bigint, bigint, boolean"}
NEW_TAIL = ", text, text, double precision, double precision, double precision"


def _replace(version: int, drop_tail: str) -> None:
    for name, arguments in OLD.items():
        op.execute(f"DROP FUNCTION IF EXISTS {name}({arguments}{drop_tail})")
    for name in ("rficat_lookalikes_of_vector", "rficat_lookalikes"):
        op.execute(sql.load(name, version))


def upgrade() -> None:
    _replace(14, "")


def downgrade() -> None:
    _replace(4, NEW_TAIL)
