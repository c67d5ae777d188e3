"""FastZip.write_deflated: a part deflated once (a notice's styles, shared by thousands of township notices) and
written into many archives must give each archive the bytes zipfile's own writestr gives it."""
from __future__ import annotations

import io
import random
import zipfile

from processor.common import DeflatedPart, FastZip

TIME = (1980, 1, 1, 0, 0, 0)


def _parts() -> list[tuple[str, bytes]]:
    rng = random.Random(7)
    return [("word/styles.xml", ("<w:style>样式</w:style>" * 20000).encode()), ("empty.xml", b""),
            ("noise.bin", bytes(rng.randrange(256) for _ in range(70000))), ("[Content_Types].xml", b"<Types/>")]


def _archive(deflated_once: bool) -> bytes:
    out = io.BytesIO()
    with FastZip(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("first.xml", TIME), b"<first/>")  # an ordinary entry before
        for name, blob in _parts():
            entry = zipfile.ZipInfo(name, TIME)
            entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, 0o600 << 16
            if deflated_once:
                archive.write_deflated(entry, DeflatedPart(blob))
            else:
                archive.writestr(entry, blob)
        archive.writestr(zipfile.ZipInfo("last.xml", TIME), b"<last/>")  # and one after
    return out.getvalue()


def test_a_part_deflated_once_gives_the_bytes_writestr_gives() -> None:
    assert _archive(deflated_once=True) == _archive(deflated_once=False)


def test_the_archive_reads_back_whole() -> None:
    with zipfile.ZipFile(io.BytesIO(_archive(deflated_once=True))) as archive:
        assert archive.testzip() is None  # every CRC checks
        assert {n: archive.read(n) for n, _ in _parts()} == dict(_parts())
