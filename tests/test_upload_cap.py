"""An import upload is capped on the bytes actually read: a chunked body (no Content-Length)
past the cap gets a 413 after at most the cap plus one chunk, and nothing is imported."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from conftest import Instance
from web_support import DOMAIN, get_token, setup_admin

from analytics.web import site_settings

CAP = 1024 * 1024  # the real cap is 512 MiB; the test lowers it to keep the upload small
CHUNK = 64 * 1024
BOUNDARY = "capboundary"


async def test_chunked_upload_over_the_cap_is_cut_off(
    instance: Instance, site: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_settings, "MAX_UPLOAD", CAP)
    sent = 0
    async with instance.client() as client:
        await setup_admin(client)
        token = await get_token(client, f"/sites/{DOMAIN}/settings")

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            head = (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.zip"\r\n'
                "Content-Type: application/zip\r\n\r\n"
            ).encode()
            sent += len(head)
            yield head
            for _ in range(8 * CAP // CHUNK):  # eight times the cap, if nobody stops reading
                sent += CHUNK
                yield b"z" * CHUNK
            tail = f"\r\n--{BOUNDARY}--\r\n".encode()
            sent += len(tail)
            yield tail

        r = await client.post(
            f"/sites/{DOMAIN}/imports",
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
    assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "The upload is too large." in r.text
    assert CAP < sent <= CAP + CHUNK
    assert await instance.store.list_imports(site.id) == []  # type: ignore[attr-defined]
