"""Password hashing (analytics/accounts/passwords.py): scrypt, salted, checked in constant time."""

from __future__ import annotations

from analytics.accounts.passwords import hash_password, verify_password


def test_hash_and_verify() -> None:
    stored = hash_password("correct horse")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(salt) == 22 and len(digest) == 43  # 16 and 32 bytes, unpadded base64
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse!", stored)
    assert hash_password("correct horse") != stored  # a fresh salt each time


def test_unreadable_hashes_verify_nothing() -> None:
    stored = hash_password("pw")
    for bad in ("", "plain", stored.replace("scrypt", "bcrypt", 1), stored.replace("$16384$", "$x$"),
                "scrypt$16384$8$1$!!$!!", stored.rsplit("$", 1)[0]):  # fmt: skip
        assert not verify_password("pw", bad), bad


def test_the_parameters_come_from_the_stored_hash() -> None:
    """A hash made with other scrypt parameters (an older release) still verifies."""
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"pw", salt=salt, n=2**10, r=8, p=1, dklen=32)
    b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")  # noqa: E731
    assert verify_password("pw", f"scrypt$1024$8$1${b64(salt)}${b64(digest)}")
