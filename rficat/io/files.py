"""Which files are observations, and the content fingerprint that identifies each one.

A file is identified by an xxh3-128 hash of all its bytes, header included (``xxh3-128:<hex>``):
two files that differ anywhere differ in fingerprint. The hash is read sequentially in large
chunks and runs at memory speed (several GB/s), a small fraction of detection's cost (see
benchmarks/RESULTS.md). Catalogues made before this kept a cheaper fingerprint, a sha256 of
sampled 1 MiB blocks (``sampled_fingerprint``), which files differing only between the samples
share; it is kept only to recognise those observations until their files are seen again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xxhash

from rficat.errors import RficatError

FILE_SUFFIXES = (".h5", ".fil")
FINGERPRINT_KIND = "xxh3-128"
SAMPLED_KIND = "sampled-sha256"
CHUNK_BYTES = 8 << 20


def observation_files(directory: str | os.PathLike) -> list[str]:
    """The .h5 / .fil files of a directory, sorted."""
    return sorted(str(p) for p in Path(directory).iterdir() if p.is_file() and p.suffix.lower() in FILE_SUFFIXES)


@dataclass(frozen=True)
class FileStat:
    """Where a file is, its size and modification time: the cheap check that it is unchanged."""

    path: str  # absolute, symlinks resolved
    size: int  # bytes
    mtime_ns: int  # st_mtime_ns

    @classmethod
    def of(cls, path: str | os.PathLike) -> FileStat:
        path = Path(path).resolve()
        try:
            stat = path.stat()
        except OSError as exc:
            raise RficatError(f"{path}: {exc.strerror or exc}") from exc
        return cls(str(path), stat.st_size, stat.st_mtime_ns)


def fingerprint(path: str | os.PathLike, chunk_bytes: int = CHUNK_BYTES) -> str:
    """``xxh3-128:<hex>`` of every byte of the file, read front to back."""
    digest = xxhash.xxh3_128()
    buffer = bytearray(chunk_bytes)
    view = memoryview(buffer)
    try:
        with Path(path).open("rb", buffering=0) as handle:
            while n := handle.readinto(buffer):
                digest.update(view[:n])
    except OSError as exc:
        raise RficatError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    return f"{FINGERPRINT_KIND}:{digest.hexdigest()}"


def sampled_fingerprint(path: str | os.PathLike, sample_bytes: int = 1 << 20) -> str:
    """The fingerprint of catalogues made before whole-file hashing: sha256 of the size, the
    head, the tail and 16 evenly spaced 1 MiB samples (the whole file when it is under 18 MiB).
    Only for recognising observations stored with it."""
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        if size <= 18 * sample_bytes:
            digest.update(handle.read())
        else:
            for offset in np.linspace(0, size - sample_bytes, 18).astype(np.int64):
                handle.seek(int(offset))
                digest.update(handle.read(sample_bytes))
    return "sha256:" + digest.hexdigest()
