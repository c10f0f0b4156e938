#!/usr/bin/env python3
"""Independent computation (Python standard library only) of the amount-bound
second PIN vectors in docs/amount-bound-pin.md: HKDF-SHA-256 key, SHA-256
challenge, RFC 6287 OCRA data input, HMAC-SHA-256 and truncation."""
import hashlib
import hmac
import struct

SUITE = b"OCRA-1:HOTP-SHA256-8:QH64-T1M"
seed = bytes(range(20))
prk = hmac.new(b"\x00" * 32, seed, hashlib.sha256).digest()
key = hmac.new(prk, b"dynpin/v1/amount-bound/SHA256\x01", hashlib.sha256).digest()
print(f"| amount-bound key | `{key.hex()}` |")
print()
print("| amount (rials) | payee | Unix time | T | challenge | code |")
print("|---|---|---|---|---|---|")
for amount, payee, t in [(500_000_000, "6037991234567893", 1_800_000_000),
                         (500_000_001, "6037991234567893", 1_800_000_000),
                         (500_000_000, "6037991234567894", 1_800_000_000),
                         (500_000_000, "6037991234567893", 1_800_000_060),
                         (1_000, "Digikala", 20_000_000_000)]:
    challenge = hashlib.sha256(b"dynpin/v1/amount-bound\x00" + struct.pack(">Q", amount) + payee.encode()).hexdigest()
    q = bytes.fromhex(challenge) + b"\x00" * (128 - 32)       # 64 hex digits, right-padded to 128 bytes
    message = SUITE + b"\x00" + q + struct.pack(">Q", t // 60)
    mac = hmac.new(key, message, hashlib.sha256).digest()
    off = mac[-1] & 0x0F
    code = str((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10**8).zfill(8)
    print(f"| {amount} | `{payee}` | {t} | {t // 60} | `{challenge}` | `{code}` |")
