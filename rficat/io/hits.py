"""Hit tables of the pipelines people already run, read by their content (not their name).

Formats:

- ``turboseti_dat``: a turboSETI ``FindDoppler`` ``.dat`` table (turbo-seti 2.x,
  ``find_doppler/file_writers.py`` ``FileWriter``): a ``#`` header naming the data file
  (``File ID``, always ``<name>.h5`` whatever the input was), source, MJD, RA/DEC,
  ``DELTAT``, ``DELTAF(Hz)``, ``max_drift_rate``, ``obs_length``, then one hit per line:
  ``Top_Hit_#``, ``Drift_Rate``, ``SNR``, ``Uncorrected_Frequency``, ``Corrected_Frequency``,
  ``Index``, ``freq_start``, ``freq_end``, ``SEFD``, ``SEFD_freq``, ``Coarse_Channel_Number``,
  ``Full_number_of_hits``. Blank and ``#`` lines among the hits are skipped.
- ``turboseti_events``: the CSV ``find_event_pipeline`` saves (``find_event/find_event.py``
  ``read_dat`` columns plus ``Hit_ID``, ``status``, ``in_n_ons``, ``RFI_in_range``, ``delta_t``;
  the data file is ``FileID``).
- ``hyperseti``: the CSV ``hyperseti.find_et(..., filename_out='hits.csv')`` writes (hyperseti
  1.0.0, ``hyperseti/pipeline.py`` ``dframe.to_csv``; columns documented in
  ``hyperseti/io/hit_db_schema.yml``: ``drift_rate`` Hz/s, ``f_start`` MHz "at first timestep",
  ``snr``, ``channel_idx``, ``n_integration``, ``extent_lower`` / ``extent_upper``, ...). It does
  not name its data file: one table per file.
- ``plain``: any CSV with a file column (``file``, ``filename``, ``path``, ``data_file``) and a
  frequency in MHz (``f_center_mhz``, ``freq_mhz``, ``frequency_mhz``, ``f_mhz``, ``frequency``,
  ``freq``: the track's centre; or ``f_start_mhz``: its start), optionally ``drift_rate_hz_s``
  (or ``drift_hz_s``, ``drift_rate``, ``drift``) and ``snr``.

turboSETI and hyperseti give the frequency at the **start** of the drift track, not its middle:
turboSETI's Taylor tree sums each path from the channel it occupies in the first spectrum
(``find_doppler.py``: ``spectrum = fd.kernels.get_spectrum(tree_findoppler, tsteps, tdwidth,
drift_index)``, one sum per starting channel), and ``file_writers.py`` reports that channel:
``uncorr_freq = chan_freq(header, ind-offset, tdwidth, 0)``. At 4 Hz/s over a 5-minute scan the
start and the centre are ~215 GBT channels apart, almost a whole snippet.
:meth:`HitRow.centre_mhz` moves it to the centre: ``f_start + drift x (n - 1) x tsamp / 2``,
the middle between the first and last spectrum along turboSETI's track.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rficat.errors import RficatError

FORMATS = ("turboseti_dat", "turboseti_events", "hyperseti", "plain")
DETECTORS = {"turboseti_dat": "turboseti", "turboseti_events": "turboseti", "hyperseti": "hyperseti",
             "plain": "table"}

DAT_COLUMNS = ("Top_Hit_#", "Drift_Rate", "SNR", "Uncorrected_Frequency", "Corrected_Frequency", "Index",
               "freq_start", "freq_end", "SEFD", "SEFD_freq", "Coarse_Channel_Number", "Full_number_of_hits")
EVENT_COLUMNS = {"Freq", "DriftRate"}
HYPERSETI_COLUMNS = {"f_start", "drift_rate", "snr"}
FILE_COLUMNS = ("file", "filename", "path", "data_file", "fileid", "file_id")
CENTRE_COLUMNS = ("f_center_mhz", "f_centre_mhz", "freq_mhz", "frequency_mhz", "f_mhz", "frequency", "freq")
START_COLUMNS = ("f_start_mhz",)
DRIFT_COLUMNS = ("drift_rate_hz_s", "drift_hz_s", "drift_rate", "drift")
_SNIFF_BYTES = 1 << 16


@dataclass
class HitRow:
    """One row of a hit table, normalised; ``columns`` keeps the input's own columns."""

    table: Path
    row: int  # 1-based data row of the table
    format: str
    columns: dict[str, Any]
    f_mhz: float  # the table's own frequency
    frequency_at: str  # "start" (of the drift track, turboSETI / hyperseti) or "centre"
    drift_rate_hz_s: float | None = None
    snr: float | None = None
    data_file: str | None = None  # as the table names it (a name or a path)
    event: str | None = None  # find_event_pipeline's Hit_ID
    tsamp_s: float | None = None  # what the table says of its scan, when it says it
    n_integrations: int | None = None
    header: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def detector(self) -> str:
        return DETECTORS[self.format]

    @property
    def label(self) -> str:
        """How a message names the row: the table and the row number."""
        return f"{self.table.name} row {self.row}"

    def centre_mhz(self, n_integrations: int | None = None, tsamp_s: float | None = None) -> float | None:
        """Frequency of the track's centre, MHz: from the data file's timing when given, else the
        table's own; None for a start-referenced drifting hit whose scan length is unknown."""
        if self.frequency_at == "centre" or not self.drift_rate_hz_s:
            return self.f_mhz
        n = n_integrations or self.n_integrations
        tsamp = tsamp_s or self.tsamp_s
        if not n or not tsamp:
            return None
        return track_centre_mhz(self.f_mhz, self.drift_rate_hz_s, n, tsamp)

    @property
    def f_center_mhz(self) -> float | None:
        return self.centre_mhz()


def track_centre_mhz(f_start_mhz: float, drift_rate_hz_s: float, n_integrations: int, tsamp_s: float) -> float:
    """Centre of a drift track that is at ``f_start_mhz`` in the first of ``n_integrations`` spectra."""
    return f_start_mhz + drift_rate_hz_s * (n_integrations - 1) * tsamp_s / 2 * 1e-6


# --- reading ---------------------------------------------------------------------------------------

def _value(text: str) -> Any:
    """A cell as a number when it is one (JSON and CSV output stay typed), else the text."""
    text = text.strip()
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if kind is int or math.isfinite(value) else text
    return text


def _float(value: Any, what: str, label: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RficatError(f"{label}: {what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise RficatError(f"{label}: {what} is {value!r}")
    return number


def _optional_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def sniff(path: str | os.PathLike) -> str:
    """Which of :data:`FORMATS` a table is, from its content; a one-line error when none."""
    path = Path(path)
    if not path.is_file():
        raise RficatError(f"{path}: no such file")
    head = path.open("rb").read(_SNIFF_BYTES)
    if not head.strip():
        raise RficatError(f"{path}: empty file, not a hit table")
    if b"\0" in head or head.startswith(b"\x89HDF"):
        raise RficatError(f"{path}: a binary file, not a hit table (give the hit table; data files go in --files)")
    lines = head.decode("utf-8", errors="replace").splitlines()
    comments = [line for line in lines[:20] if line.lstrip().startswith("#")]
    if any("Top_Hit_#" in line or "DELTAF(Hz)" in line or "File ID:" in line for line in comments):
        return "turboseti_dat"
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    columns = {c.strip() for c in next(csv.reader([first]), [])}
    lower = {c.lower() for c in columns}
    if EVENT_COLUMNS <= columns:
        return "turboseti_events"
    if HYPERSETI_COLUMNS <= columns:
        return "hyperseti"
    if lower & set(FILE_COLUMNS) and lower & {*CENTRE_COLUMNS, *START_COLUMNS}:
        return "plain"
    raise RficatError(
        f"{path}: not a hit table rficat reads (a turboSETI .dat or find_event_pipeline CSV, a hyperseti hits "
        f"CSV, or a CSV with a file and a frequency in MHz); its first line is {first[:80]!r}")


def read_hits(path: str | os.PathLike) -> tuple[str, list[HitRow]]:
    """The format of a hit table and its rows (a table with no hits gives no rows)."""
    path = Path(path)
    kind = sniff(path)
    reader = {"turboseti_dat": _read_dat, "turboseti_events": _read_events, "hyperseti": _read_hyperseti,
              "plain": _read_plain}[kind]
    return kind, reader(path)


def read_dat_header(lines: list[str]) -> dict[str, str]:
    """``key: value`` pairs of a turboSETI .dat header (File ID, Source, MJD, RA, DEC, DELTAT, ...)."""
    header: dict[str, str] = {}
    for line in lines:
        if not line.lstrip().startswith("#") or "Top_Hit_#" in line:
            continue
        for part in line.lstrip()[1:].split("\t"):
            key, sep, value = part.partition(":")
            if sep and key.strip() and not key.strip().startswith("-"):
                header.setdefault(key.strip(), value.strip())
    return header


def _dat_column_names(lines: list[str]) -> list[str]:
    for line in lines:
        if "Top_Hit_#" in line:
            return [c.strip() for c in line.lstrip()[1:].split("\t") if c.strip()]
    return list(DAT_COLUMNS)


def _dat_body(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(line index, fields) of every hit line: blank and ``#`` lines are not hits."""
    return [(i, line.split()) for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]


def _read_dat(path: Path) -> list[HitRow]:
    lines = path.read_text(errors="replace").splitlines()
    header = read_dat_header(lines)
    names = _dat_column_names(lines)
    tsamp = _optional_float(header.get("DELTAT"))
    obs_length = _optional_float(header.get("obs_length"))
    n = int(round(obs_length / tsamp)) if tsamp and obs_length else None
    data_file = header.get("File ID") or None
    rows = []
    for number, (_, fields) in enumerate(_dat_body(lines), start=1):
        label = f"{path.name} row {number}"
        if len(fields) < 4:
            raise RficatError(f"{label}: {len(fields)} fields, a turboSETI hit has {len(DAT_COLUMNS)}")
        columns = {name: _value(v) for name, v in zip(names + [f"column_{i + 1}" for i in range(len(names), len(fields))],
                                                     fields)}
        rows.append(HitRow(path, number, "turboseti_dat", columns,
                           f_mhz=_float(fields[3], "Uncorrected_Frequency", label), frequency_at="start",
                           drift_rate_hz_s=_float(fields[1], "Drift_Rate", label),
                           snr=_optional_float(fields[2]), data_file=data_file, tsamp_s=tsamp, n_integrations=n,
                           header=header))
    return rows


def _csv_rows(path: Path) -> list[dict[str, str]]:
    text = "\n".join(line for line in path.read_text(errors="replace").splitlines()
                     if not line.lstrip().startswith("#"))
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for record in reader:
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # a blank line
        rows.append({("index" if k == "" else k.strip()): v for k, v in record.items() if k is not None})
    return rows


def _read_events(path: Path) -> list[HitRow]:
    rows = []
    for number, record in enumerate(_csv_rows(path), start=1):
        label = f"{path.name} row {number}"
        tsamp = _optional_float(record.get("DELTAT"))
        obs_length = _optional_float(record.get("obs_length"))
        data_file = next((record[k] for k in ("FileID", "filename", "file") if (record.get(k) or "").strip()), None)
        rows.append(HitRow(path, number, "turboseti_events", {k: _value(v or "") for k, v in record.items()},
                           f_mhz=_float(record.get("Freq"), "Freq", label), frequency_at="start",
                           drift_rate_hz_s=_float(record.get("DriftRate"), "DriftRate", label),
                           snr=_optional_float(record.get("SNR")), data_file=data_file and data_file.strip(),
                           event=(record.get("Hit_ID") or "").strip() or None, tsamp_s=tsamp,
                           n_integrations=int(round(obs_length / tsamp)) if tsamp and obs_length else None))
    return rows


def _read_hyperseti(path: Path) -> list[HitRow]:
    rows = []
    for number, record in enumerate(_csv_rows(path), start=1):
        label = f"{path.name} row {number}"
        n = _optional_float(record.get("n_integration"))
        rows.append(HitRow(path, number, "hyperseti", {k: _value(v or "") for k, v in record.items()},
                           f_mhz=_float(record.get("f_start"), "f_start", label), frequency_at="start",
                           drift_rate_hz_s=_float(record.get("drift_rate"), "drift_rate", label),
                           snr=_optional_float(record.get("snr")), n_integrations=int(n) if n else None))
    return rows


def _pick(record: dict[str, str], names: tuple[str, ...]) -> tuple[str | None, str | None]:
    lower = {k.lower(): k for k in record}
    for name in names:
        if name in lower and (record[lower[name]] or "").strip():
            return lower[name], record[lower[name]].strip()
    return None, None


def _read_plain(path: Path) -> list[HitRow]:
    rows = []
    for number, record in enumerate(_csv_rows(path), start=1):
        label = f"{path.name} row {number}"
        _, data_file = _pick(record, FILE_COLUMNS)
        _, centre = _pick(record, CENTRE_COLUMNS)
        _, start = _pick(record, START_COLUMNS)
        _, drift = _pick(record, DRIFT_COLUMNS)
        _, snr = _pick(record, ("snr",))
        if centre is None and start is None:
            raise RficatError(f"{label}: no frequency (one of {', '.join(CENTRE_COLUMNS + START_COLUMNS)})")
        if data_file is None:
            raise RficatError(f"{label}: no data file (one of {', '.join(FILE_COLUMNS)})")
        frequency = _float(centre if centre is not None else start, "frequency", label)
        rows.append(HitRow(path, number, "plain", {k: _value(v or "") for k, v in record.items()},
                           f_mhz=frequency, frequency_at="centre" if centre is not None else "start",
                           drift_rate_hz_s=_float(drift, "drift rate", label) if drift is not None else None,
                           snr=_optional_float(snr), data_file=data_file))
    return rows


# --- writing ---------------------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return value


def write_csv(path: str | os.PathLike, rows: list[dict]) -> None:
    """Rows as a CSV: every key any row has, in first-seen order; lists and dicts as JSON."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(names))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _dat_token(text: str) -> str:
    """One whitespace-free token (turboSETI splits hit lines on whitespace)."""
    return re.sub(r"\s+", "_", str(text).strip()) or "-"


def write_dat(source: str | os.PathLike, path: str | os.PathLike, extra: dict[int, str],
              column: str = "verdict") -> None:
    """A copy of a turboSETI .dat with one more trailing column (``extra``: row number -> value).

    turboSETI's own ``read_dat`` reads a header of exactly nine lines and every later line as a
    hit, so the copy has turboSETI's nine header lines (the column names gain ``column``) and
    only hit lines after them: blank and comment lines among the hits are left out. The extra
    column comes after turboSETI's twelve, where ``read_dat`` (and ``find_event_pipeline``) ignore it.
    """
    lines = Path(source).read_text(errors="replace").splitlines()
    body = _dat_body(lines)
    first_hit = body[0][0] if body else len(lines)
    head = [line for line in lines[:first_hit] if line.lstrip().startswith("#")]

    def find(marker: str, default: str) -> str:
        return next((line for line in head if marker in line), default)

    rule_o = "# -------------------------- o --------------------------"
    rule = "# --------------------------"
    names = find("Top_Hit_#", "# " + " \t".join(DAT_COLUMNS) + " \t").rstrip("\n")
    names = names + ("" if names.endswith("\t") else " \t") + f"{column} \t"
    header = [rule_o, find("File ID:", "# File ID: unknown.h5 "), rule_o, find("Source:", "# Source:unknown"),
              find("MJD:", "# MJD: 0.0\tRA: 0\tDEC: 0"), find("DELTAT:", "# DELTAT: 0\tDELTAF(Hz): 0"),
              rule, names, rule]
    out = []
    for number, (index, _) in enumerate(body, start=1):
        line = lines[index].rstrip("\n")
        out.append(line + ("" if line.endswith("\t") else "\t") + _dat_token(extra.get(number, "-")) + "\t")
    Path(path).write_text("\n".join(header + out) + "\n")
