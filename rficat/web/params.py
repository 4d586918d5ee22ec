"""Query-string parameters of the lookalike pages: one table, the same filters as ``rficat query``.

Each row names the URL parameter (the CLI flag without dashes), its type, and the
``rficat.catalogue.search.Filters`` field (or search option) it sets; parsing, the filter
form and the links that carry a search along are all derived from it, so a filter is spelled
once. Values are parsed here and reach SQL only as bound parameters of the search functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from rficat.catalogue.search import Filters


class BadParameter(ValueError):
    """A malformed query-string value (the page answers 400)."""


@dataclass(frozen=True)
class Param:
    name: str  # URL parameter, as the CLI flag (--f-min -> f_min)
    kind: str  # "float", "int", "text" or "flag"
    target: str  # Filters field, or "search.<option>"
    label: str
    default: object = None


PARAMS = (
    Param("f_min", "float", "f_min_mhz", "f min (MHz)"),
    Param("f_max", "float", "f_max_mhz", "f max (MHz)"),
    Param("snr_min", "float", "snr_min", "SNR min"),
    Param("snr_max", "float", "snr_max", "SNR max"),
    Param("drift_min", "float", "drift_min_hz_s", "drift min (Hz/s)"),
    Param("drift_max", "float", "drift_max_hz_s", "drift max (Hz/s)"),
    Param("in_cadence", "text", "cadence", "in cadence"),
    Param("observation", "int", "observation_id", "observation id"),
    Param("mjd_min", "float", "mjd_min", "MJD min"),
    Param("mjd_max", "float", "mjd_max", "MJD max"),
    Param("rfi_class", "int", "rfi_class_id", "RFI class"),
    Param("not_known_rfi", "flag", "not_known_rfi", "not known RFI", False),
    Param("not_in_mask", "flag", "not_in_mask", "not in the site's RFI bands", False),
    Param("include_noise", "flag", "include_noise", "include noise windows", False),
    Param("k", "int", "search.k", "matches (k)", 10),
    Param("no_frequency_embedding", "flag", "search.no_frequency_embedding", "morphology only (no frequency embedding)",
          False),
    Param("exact", "flag", "search.exact", "exact scan", False),
    Param("group_mhz", "float", "search.group_mhz", "group within (MHz)"),
)
BY_NAME = {p.name: p for p in PARAMS}
MAX_K = 100
TRUE, FALSE = {"1", "on", "true", "yes"}, {"", "0", "off", "false", "no"}


def parse_value(param: Param, text: str):
    """One value from its text; empty text means 'not given' (forms send empty fields)."""
    text = text.strip()
    if param.kind == "flag":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise BadParameter(f"{param.name}: {text!r} is not on or off")
    if text == "":
        return param.default
    if param.kind == "text":
        if len(text) > 200:
            raise BadParameter(f"{param.name}: longer than 200 characters")
        return text
    try:
        value = int(text) if param.kind == "int" else float(text)
    except ValueError:
        raise BadParameter(f"{param.name}: {text!r} is not {'an integer' if param.kind == 'int' else 'a number'}") \
            from None
    if param.kind == "float" and not math.isfinite(value):
        raise BadParameter(f"{param.name}: {text!r} is not a finite number")
    if param.kind == "int" and not -2**63 <= value < 2**63:
        raise BadParameter(f"{param.name}: {text!r} is out of range")
    return value


def number(name: str, text: str | None, kind: str = "float", required: bool = True):
    """A numeric parameter outside the table (template and window pages)."""
    if text is None or not text.strip():
        if required:
            raise BadParameter(f"{name}: missing")
        return None
    return parse_value(Param(name, kind, name, name), text)


@dataclass
class SearchParams:
    """What a lookalike page searches with: the filters and the search options."""

    filters: Filters = field(default_factory=Filters)
    k: int = 10
    use_frequency: bool = True
    exact: bool = False
    group_mhz: float | None = None
    given: dict = field(default_factory=dict)  # parameter name -> value, as given (non-default only)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> SearchParams:
        values = {p.name: parse_value(p, query[p.name]) for p in PARAMS if p.name in query}
        k = values.get("k") if values.get("k") is not None else 10
        if not 1 <= k <= MAX_K:
            raise BadParameter(f"k: {k} is not between 1 and {MAX_K}")
        if values.get("group_mhz") is not None and values["group_mhz"] < 0:
            raise BadParameter("group_mhz: must not be negative")
        fields = {p.target: values[p.name] for p in PARAMS if p.name in values and not p.target.startswith("search.")
                  and p.target != "include_noise"}
        filters = Filters(**fields, signals_only=not values.get("include_noise", False))
        given = {name: value for name, value in values.items() if value not in (None, BY_NAME[name].default)}
        return cls(filters, k, not values.get("no_frequency_embedding", False), bool(values.get("exact", False)),
                   values.get("group_mhz"), given)

    def query_string(self, **extra) -> str:
        """The parameters as given, for links that keep this search (``extra`` added first)."""
        values = {**extra, **{k: ("on" if v is True else v) for k, v in self.given.items()}}
        return urlencode(values)

    def options(self) -> dict:
        """Keyword arguments of ``rficat.catalogue.search.lookalikes`` / ``query``."""
        return {"use_frequency": self.use_frequency, "exact": self.exact, "group_mhz": self.group_mhz,
                "filters": self.filters}

    def to_dict(self) -> dict:
        return {"k": self.k, "use_frequency": self.use_frequency, "exact": self.exact, "group_mhz": self.group_mhz,
                "filters": {k: v for k, v in vars(self.filters).items()}, "given": dict(self.given)}


def form_fields(params: SearchParams) -> list[dict]:
    """The filter form's fields, each with the value currently searched with."""
    return [{"name": p.name, "kind": p.kind, "label": p.label,
             "value": params.given.get(p.name, p.default if p.name == "k" else None)} for p in PARAMS]
