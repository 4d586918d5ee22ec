"""The site's RFI mask as a search filter; evidence counts signals, not snippets.

``rficat_lookalikes`` and ``rficat_lookalikes_of_vector`` gain ``p_not_in_mask`` (appended, default
false, so existing calls keep working): only snippets whose centre frequency lies in none of the
site's RFI bands (``rfi_mask_bands``, from ``rficat rfi mask --import``), in the search's own SQL,
so ``rficat query``, ``rficat template`` and the viewer filter the same way and still return k rows.

``rficat_classify`` counts lookalikes of one observation that lie on each other's track as one
piece of evidence (a hit kept by ``rficat vet --store`` and ingest's own snippet of the same
signal), as ``rficat.catalogue.verdicts`` does.

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-27
"""

from alembic import op

from rficat.store import sql

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None

FILTERS_V14 = ("double precision, double precision, bigint, text, double precision, double precision, double precision,"
               " double precision, double precision, double precision, boolean, double precision")
POINTING = ", text, text, double precision, double precision, double precision"
V14 = {"rficat_lookalikes": f"bigint, integer, boolean, integer, boolean, {FILTERS_V14}, bigint, boolean{POINTING}",
       "rficat_lookalikes_of_vector": f"vector, integer, boolean, integer, boolean, {FILTERS_V14}, bigint, bigint, "
                                      f"boolean{POINTING}"}
CLASSIFY = ("rficat_classify(vector, integer, double precision, double precision, text, double precision, "
            "double precision, bigint, bigint, double precision, boolean, double precision, integer, integer)")


def _lookalikes(version: int, drop_tail: str) -> None:
    for name, arguments in V14.items():
        op.execute(f"DROP FUNCTION IF EXISTS {name}({arguments}{drop_tail})")
    for name in ("rficat_lookalikes_of_vector", "rficat_lookalikes"):
        op.execute(sql.load(name, version))


def upgrade() -> None:
    _lookalikes(15, "")
    op.execute(sql.load("rficat_classify", 15))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {CLASSIFY}")
    op.execute(sql.load("rficat_classify", 11))
    _lookalikes(14, ", boolean")
