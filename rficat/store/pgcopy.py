"""PostgreSQL binary ``COPY`` built by numpy, a chunk of rows at a time.

psycopg's ``write_row`` formats each row in Python, which caps a snippet COPY near 10k rows/s.
Every column here has a fixed width, so a chunk of rows is one numpy structured array with
big-endian fields (the layout of "COPY ... Binary Format" in the PostgreSQL manual), filled by
vectorised assignment, conversions included (float32 snippets become float16 bytea in place).
One small buffer is reused for every chunk: libpq copies what it is given, and fresh large
allocations would cost more in page faults than the conversion itself. While numpy fills the
next chunk the server is already storing the previous one. No column may be NULL.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import psycopg

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
CHUNK_ROWS = 256

_SCALARS = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float4": ">f4", "float8": ">f8", "bool": "u1"}

# A column: (postgres type, values) or, for bytea, (bytea, values, stored element dtype);
# bytea values are (n, ...) arrays written as their raw bytes in that dtype.
Column = tuple


def _field(column: Column) -> tuple[np.dtype, np.ndarray]:
    """The payload dtype of one column and values that numpy can assign to it."""
    pg_type, values = column[0], column[1]
    if pg_type in _SCALARS:
        return np.dtype(_SCALARS[pg_type]), np.asarray(values)
    if pg_type == "bytea":
        values = np.asarray(values)
        element = np.dtype(column[2]) if len(column) > 2 else values.dtype
        return np.dtype((element, values.shape[1:])), values
    if pg_type == "vector":  # pgvector: int16 dim, int16 unused, float4[dim]
        values = np.asarray(values, dtype=np.float32)
        return np.dtype([("dim", ">i2"), ("unused", ">i2"), ("x", ">f4", (values.shape[1],))]), values
    raise ValueError(f"no binary COPY encoding for type {pg_type!r}")


def copy_rows(copy: psycopg.Copy, columns: Sequence[Column], chunk_rows: int = CHUNK_ROWS) -> int:
    """Write len(columns[0][1]) rows to a ``COPY ... FROM STDIN (FORMAT BINARY)``; returns the count."""
    fields = [_field(c) for c in columns]
    n = len(fields[0][1])
    if any(len(values) != n for _, values in fields):
        raise ValueError(f"columns differ in length: {[len(v) for _, v in fields]}")
    layout = [("nfields", ">i2")]
    for i, (dtype, _) in enumerate(fields):
        layout += [(f"len{i}", ">i4"), (f"v{i}", dtype)]
    rows = np.empty(min(n, chunk_rows) or 1, np.dtype(layout))
    rows["nfields"] = len(fields)
    for i, (dtype, _) in enumerate(fields):
        rows[f"len{i}"] = dtype.itemsize
    copy.write(HEADER)
    for start in range(0, n, chunk_rows):
        m = min(chunk_rows, n - start)
        for i, (dtype, values) in enumerate(fields):
            if dtype.names:  # vector
                rows[f"v{i}"][:m]["dim"] = dtype["x"].shape[0]
                rows[f"v{i}"][:m]["unused"] = 0
                rows[f"v{i}"][:m]["x"] = values[start:start + m]
            else:
                rows[f"v{i}"][:m] = values[start:start + m]
        copy.write(memoryview(rows[:m].view(np.uint8)))  # a contiguous prefix: no copy
    copy.write(TRAILER)
    return n
