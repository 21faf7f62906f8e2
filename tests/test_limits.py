"""Zip safety: an import is refused with a 400 naming the limit, before or while it is read,
and a hostile zip never makes the importer's memory grow (peak RSS measured in a subprocess).
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import Instance

from analytics.transfer import imports, limits

HEADER = "date,visitors,pageviews,bounces,visits,visit_duration\n"
ROW = "2026-01-01,1,1,0,1,0\n"

# Import a zip in a fresh process with a 1 GiB address-space cap, so a regression fails
# with MemoryError rather than swapping the machine; print the answer and the peak growth.
SCRIPT = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from analytics.accounts import Accounts
    from analytics.config import Settings
    from analytics.store.sqlite.store import SQLiteStore
    from analytics.transfer import imports

    async def main(path, data_dir):
        settings = Settings(data_dir=data_dir)
        async with Accounts.in_dir(data_dir) as accounts:
            site = await accounts.sites.add("blog.example.org", "UTC")
            store = SQLiteStore(settings.db_path, readers=1)
            await store.open()
            try:
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                try:
                    await imports.import_csv(store, site, path)
                    answer = [200, "imported"]
                except imports.ImportFileError as exc:
                    answer = [exc.status, exc.message]
                grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
                print(json.dumps({"answer": answer, "grown_kib": grown}))
            finally:
                await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def import_in_subprocess(path: Path, data_dir: Path) -> tuple[list[object], int]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path), str(data_dir)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    return out["answer"], out["grown_kib"]


def write_member(path: Path, name: str, chunks: object) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(name, "w", force_zip64=True) as out:
            for chunk in chunks:  # type: ignore[attr-defined]
                out.write(chunk)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1 MB of zip holding one 1 GiB line."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    block = b"a" * (1 << 20)
    write_member(path, "imported_visitors.csv", [HEADER.encode(), b"2026-01-01,", *([block] * 1024)])
    assert path.stat().st_size < 1_200_000
    return path


def test_a_one_line_bomb_is_refused_unread(bomb: Path, tmp_path: Path) -> None:
    answer, grown = import_in_subprocess(bomb, tmp_path / "data")
    assert answer == [400, f"imported_visitors.csv: expands more than {limits.MAX_RATIO} times when unzipped;"
                           " refused as a possible zip bomb"]  # fmt: skip
    assert grown < 16 * 1024, grown


def test_a_long_line_is_refused_after_max_line_bytes(tmp_path: Path) -> None:
    """64 MiB in one line that deflates only about 40 times, so the ratio check lets it through."""
    rng = random.Random(7)
    path = tmp_path / "long.zip"
    chunks = (
        "".join("a" * 149 + rng.choice("bcdefghijklmnopqrstuvwxyz") for _ in range(7000)).encode() for _ in range(64)
    )
    write_member(path, "imported_visitors.csv", [HEADER.encode(), ROW.encode(), b"2026-01-02,", *chunks])
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[0]
        assert info.file_size > 64_000_000 and info.file_size < limits.MAX_RATIO * info.compress_size
    answer, grown = import_in_subprocess(path, tmp_path / "data")
    assert answer == [400, f"imported_visitors.csv, line 3: the line is longer than {limits.MAX_LINE // 1024} KiB"]
    assert grown < 16 * 1024, grown


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


async def test_too_many_members(instance: Instance, site: object) -> None:
    files = {"imported_visitors.csv": HEADER + ROW, **{f"junk/{i}.txt": "" for i in range(limits.MAX_MEMBERS)}}
    with pytest.raises(imports.ImportFileError) as caught:
        await imports.import_csv(instance.store, site, io.BytesIO(_zip(files)), label="many.zip")  # type: ignore[arg-type]
    assert (caught.value.status, caught.value.message) == (400, f"many.zip: holds more than {limits.MAX_MEMBERS} files")


async def test_declared_total_over_the_limit(instance: Instance, site: object) -> None:
    """Two members whose directory entries claim 3 GiB each: refused before a byte is unzipped."""
    data = bytearray(_zip({"imported_visitors.csv": HEADER + ROW, "imported_pages.csv": "date\n"}))
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        data[at + 24 : at + 28] = (3 * 1024**3).to_bytes(4, "little")  # uncompressed size
        at = data.find(b"PK\x01\x02", at + 4)
    with pytest.raises(imports.ImportFileError) as caught:
        await imports.import_csv(instance.store, site, io.BytesIO(bytes(data)), label="big.zip")  # type: ignore[arg-type]
    assert caught.value.message == "big.zip: its CSV files hold more than 4 GiB unzipped"


async def test_an_ordinary_export_still_imports(instance: Instance, site: object) -> None:
    data = _zip({"imported_visitors.csv": HEADER + ROW * 1 + "2026-01-02,2,3,1,2,10\n"})
    summary = await imports.import_csv(instance.store, site, io.BytesIO(data), label="ok.zip")  # type: ignore[arg-type]
    assert (summary.rows, summary.first.isoformat(), summary.last.isoformat()) == (  # type: ignore[union-attr]
        {"imported_visitors": 2}, "2026-01-01", "2026-01-02"
    )  # fmt: skip
