#!/usr/bin/env python3
"""Independent (Python standard library) computation of dynpin's card-derivation
vectors: HKDF-SHA-256 (RFC 5869) from the master seed, then TOTP (RFC 6238).
Prints the Markdown tables used in docs/card-derivation.md."""
import hashlib
import hmac
import struct

HASHES = {"SHA1": (hashlib.sha1, 20), "SHA256": (hashlib.sha256, 32), "SHA512": (hashlib.sha512, 64)}


def hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()  # salt absent = HashLen zeros
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def hotp(key: bytes, counter: int, digits: int, alg: str) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), HASHES[alg][0]).digest()
    off = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


seed = bytes(range(20))
print("Master seed (hex): `" + seed.hex() + "`\n")
print("| info | derived key (hex) |")
print("|---|---|")
for purpose in ("first-pin", "second-pin"):
    for alg, (_, size) in HASHES.items():
        info = f"dynpin/v1/{purpose}/{alg}"
        print(f"| `{info}` | `{hkdf_sha256(seed, info.encode(), size).hex()}` |")

print()
print("| PIN | algorithm | digits | period | Unix time | step | code |")
print("|---|---|---|---|---|---|---|")
cases = [("first", "SHA256", 4, 60), ("second", "SHA256", 8, 60), ("first", "SHA1", 6, 30), ("second", "SHA512", 10, 60)]
for purpose, alg, digits, period in cases:
    key = hkdf_sha256(seed, f"dynpin/v1/{purpose}-pin/{alg}".encode(), HASHES[alg][1])
    for t in (59, 60, 1_800_000_000, 20_000_000_000):
        step = t // period
        print(f"| {purpose} | {alg} | {digits} | {period} | {t} | {step} | `{hotp(key, step, digits, alg)}` |")
