"""Limits on an import, so a small upload cannot unzip into a flood (a zip bomb).

The limits are checked on the zip's own figures before anything is read (member
count, declared sizes and ratios), and again on the bytes actually read while
streaming, since a zip's headers may lie. Lines are read with a bounded
`readline`, so one endless line is refused after `MAX_LINE` bytes instead of
being read into memory. They are constants rather than settings: an export
from Plausible or from this service is far inside each of them.

- `MAX_MEMBERS`: entries in the zip (Plausible's export has about a dozen).
- `MAX_UNCOMPRESSED`: bytes of CSV across the zip's importable files.
- `MAX_RATIO`: how many times a file larger than `RATIO_FLOOR` may expand
  (CSV deflates about 5 to 20 times; deflate itself tops out near 1000).
- `MAX_LINE`: bytes in one line of a CSV file (a row's text cells are capped at
  2000 characters each).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import IO, Any

from analytics.errors import BadRequest

MAX_MEMBERS = 1000
MAX_UNCOMPRESSED = 4 * 1024**3
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024
MAX_LINE = 256 * 1024

Progress = Callable[[int], None]  # called with the number of bytes just read


class ImportFileError(BadRequest):
    """A file in the import is unusable: `.file`, `.line` (1-based, or None) and `.reason`."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


def declared_entries(fp: IO[bytes]) -> int:
    """The entry count in a zip's end record, read from its tail (0 when there is none).

    Checked before `zipfile` parses the central directory, which it holds in
    memory whole: a directory of millions of entries is refused unread.
    """
    fp.seek(0, io.SEEK_END)
    size = fp.tell()
    tail = min(size, 22 + 0xFFFF)  # the end record, and its comment of at most 64 KiB
    fp.seek(size - tail)
    data = fp.read(tail)
    fp.seek(0)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < 22:
        return 0  # not a zip: zipfile says so
    return int.from_bytes(data[at + 10 : at + 12], "little")  # 0xFFFF: a zip64 count, too many either way


def check_archive(label: str, entries: int) -> None:
    if entries > MAX_MEMBERS:
        raise ImportFileError(label, None, f"holds more than {MAX_MEMBERS} files")


def check_declared(label: str, infos: list[zipfile.ZipInfo], names: list[str]) -> None:
    """The importable members' figures from the zip's directory: total size, encryption, ratio."""
    if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
        raise ImportFileError(label, None, _TOTAL)
    for info, name in zip(infos, names, strict=True):
        if info.flag_bits & 0x1:  # zipfile would raise RuntimeError on open
            raise ImportFileError(name, None, "is encrypted; export it again without a password")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportFileError(name, None, _RATIO)


_RATIO = f"expands more than {MAX_RATIO} times when unzipped; refused as a possible zip bomb"
_TOTAL = f"its CSV files hold more than {MAX_UNCOMPRESSED // 1024**3} GiB unzipped"


class Budget:
    """Bytes unzipped so far across the whole import, against `MAX_UNCOMPRESSED`."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > MAX_UNCOMPRESSED:
            raise ImportFileError(self.label, None, _TOTAL)


class LimitedStream(io.RawIOBase):
    """A member's bytes as read, counted against the budget and the member's compressed size."""

    def __init__(
        self, raw: IO[bytes], name: str, compressed: int | None, budget: Budget | None, progress: Progress | None
    ) -> None:
        self.raw = raw
        self.name = name
        self.compressed = compressed  # None: not from a zip
        self.budget = budget
        self.progress = progress
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.read_bytes += n
        if self.budget is not None:
            self.budget.spend(n)
        if (
            self.compressed is not None
            and self.read_bytes > RATIO_FLOOR
            and self.read_bytes > MAX_RATIO * max(self.compressed, 1)
        ):
            raise ImportFileError(self.name, None, _RATIO)
        if self.progress is not None and n:
            self.progress(n)
        return n


def read_line(stream: io.BufferedReader, name: str, number: int) -> bytes:
    """The next line (b"" at the end), refused when longer than `MAX_LINE` without reading the rest."""
    raw = stream.readline(MAX_LINE + 1)
    if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
        raise ImportFileError(name, number, f"the line is longer than {MAX_LINE // 1024} KiB")
    return raw
