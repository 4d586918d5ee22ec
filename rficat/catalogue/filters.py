"""Search filters as data: one table gives the ``Filters`` dataclass, the CLI flags, the checks
and the SQL call's named parameters (``p_<name>``), so a filter is spelled once (as datasette's
``filters.py`` keeps its filters).

A filter named ``x`` is the SQL parameter ``p_x`` of ``rficat_lookalikes`` /
``rficat_lookalikes_of_vector``; None (or the default) means no restriction.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from rficat.errors import RficatError


@dataclass(frozen=True)
class Filter:
    name: str  # Filters field; SQL parameter p_<name>
    flag: str  # CLI option
    type: type
    help: str
    metavar: str | None = None
    default: object = None
    inverted_flag: bool = False  # a store_true flag that sets the field to False (--include-noise)


FILTERS = (
    Filter("f_min_mhz", "--f-min", float, "lowest centre frequency", "MHZ"),
    Filter("f_max_mhz", "--f-max", float, "highest centre frequency", "MHZ"),
    Filter("observation_id", "--observation", int, "only matches in this observation", "ID"),
    Filter("cadence", "--in-cadence", str, "only matches in this cadence", "NAME"),
    Filter("snr_min", "--snr-min", float, "lowest SNR"),
    Filter("snr_max", "--snr-max", float, "highest SNR"),
    Filter("drift_min_hz_s", "--drift-min", float, "lowest drift rate", "HZ_S"),
    Filter("drift_max_hz_s", "--drift-max", float, "highest drift rate", "HZ_S"),
    Filter("mjd_min", "--mjd-min", float, "earliest observation start (MJD)"),
    Filter("mjd_max", "--mjd-max", float, "latest observation start (MJD)"),
    Filter("signals_only", "--include-noise", bool, "also match stored noise windows", default=True,
           inverted_flag=True),
    Filter("rfi_class_id", "--rfi-class", int, "only snippets of this RFI class", "CLASS"),
    Filter("not_known_rfi", "--not-known-rfi", bool, "only snippets the current RFI build does not judge RFI",
           default=False),
    Filter("source", "--source", str, "only observations of this source name", "NAME"),
    Filter("telescope", "--telescope", str, "only observations by this telescope (e.g. GBT)", "NAME"),
    Filter("near_ra_deg", "--near", float, "only observations pointed within RADIUS_DEG of (RA, Dec), degrees",
           "RA,DEC,RADIUS_DEG"),
    Filter("near_dec_deg", "", float, "(set by --near)"),
    Filter("near_radius_deg", "", float, "(set by --near)"),
    Filter("not_in_mask", "--not-in-mask", bool,
           "leave out snippets inside the site's RFI bands (rficat rfi mask --import)", default=False),
)
CONE = ("near_ra_deg", "near_dec_deg", "near_radius_deg")  # one CLI option, --near RA,DEC,RADIUS_DEG
RANGES = (("f_min_mhz", "f_max_mhz"), ("snr_min", "snr_max"), ("drift_min_hz_s", "drift_max_hz_s"),
          ("mjd_min", "mjd_max"))

Filters = dataclasses.make_dataclass(
    "Filters", [(f.name, f.type | None if f.default is None else f.type, dataclasses.field(default=f.default))
                for f in FILTERS],
    namespace={"__doc__": "Restrictions on the matches of a lookalike search; None means no restriction.",
               "params": lambda self: {f"p_{f.name}": getattr(self, f.name) for f in FILTERS}},
)
Filters.__module__ = __name__


def check_ranges(values: dict) -> None:
    """Refuse an inverted range, which could match nothing (one line naming filter and flag)."""
    by_name = {f.name: f for f in FILTERS}
    for low, high in RANGES:
        lo, hi = values.get(low), values.get(high)
        if lo is not None and hi is not None and lo > hi:
            raise RficatError(f"{low} ({by_name[low].flag}) {lo:g} is above {high} ({by_name[high].flag}) {hi:g}: "
                              "nothing can match")


def sql_arguments() -> str:
    """The named arguments every search call passes, bound as parameters."""
    return ", ".join(f"p_{f.name} => :p_{f.name}" for f in FILTERS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The filters as a CLI option group."""
    group = parser.add_argument_group("filters")
    for f in FILTERS:
        if not f.flag:
            continue
        if f.name == CONE[0]:
            group.add_argument(f.flag, dest="near", type=_cone, default=None, metavar=f.metavar, help=f.help)
        elif f.type is bool:
            group.add_argument(f.flag, dest=f.name, action="store_false" if f.inverted_flag else "store_true",
                               help=f.help)
        else:
            group.add_argument(f.flag, dest=f.name, type=f.type, default=None, metavar=f.metavar, help=f.help)


def from_arguments(args: argparse.Namespace):
    """Filters from parsed CLI arguments (the CLI checks them before opening the catalogue, the
    searches again)."""
    values = {f.name: getattr(args, f.name, None) for f in FILTERS}
    values.update(zip(CONE, getattr(args, "near", None) or (None, None, None)))
    return Filters(**values)


def _cone(text: str) -> tuple[float, float, float]:
    """``--near RA,DEC,RADIUS_DEG`` (degrees): argparse reports a ValueError as one line."""
    try:
        ra, dec, radius = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected RA,DEC,RADIUS_DEG in degrees, got {text!r}") from None
    if not (-90 <= dec <= 90 and radius > 0):
        raise argparse.ArgumentTypeError(f"Dec must be within +-90 and the radius positive, got {text!r}")
    return ra % 360, dec, radius
