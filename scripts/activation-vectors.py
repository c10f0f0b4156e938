#!/usr/bin/env python3
"""Independent reconstruction of docs/activation-format.md's test vector with
Python libraries only: argon2-cffi (the reference Argon2 C code), PyNaCl
(libsodium's XChaCha20-Poly1305), hashlib and hmac. A bank backend in any
language can follow the same steps.

usage: activation-vectors.py          prints the vector's intermediate values
Needs: pip install argon2-cffi pynacl"""
import base64
import hashlib
import hmac
import struct

from argon2.low_level import Type, hash_secret_raw
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

# ---- inputs ---------------------------------------------------------------
code = b"1234567890123456"          # the activation code, ASCII digits
version, flags = 1, 0x00             # not exportable, no label
bin_, last_four = 606373, 1234       # Mehr Iran, card ending 1234
issued_at, valid_for = 1_800_000_000, 86_400
activation_id = bytes.fromhex("a1a2a3a4a5a6a7a8")
m_mib, t, p = 19, 2, 1               # Argon2id: 19 MiB, 2 passes, 1 lane
salt = b"dynpin-salt-0001"
first = (2, 4, 60)                   # SHA256, 4 digits, 60 s
second = (2, 8, 60)                  # SHA256, 8 digits, 60 s
seed = bytes(range(20))

# ---- header (associated data) -----------------------------------------------
header = bytes([version, flags]) + bin_.to_bytes(3, "big") + struct.pack(">HQI", last_four, issued_at, valid_for)
header += activation_id + struct.pack(">HBB", m_mib, t, p) + salt
assert len(header) == 47


def policy(alg, digits, period):
    return bytes([(alg << 4) | digits]) + struct.pack(">H", period)


plaintext = policy(*first) + policy(*second) + seed

# ---- key and nonce ----------------------------------------------------------
okm = hash_secret_raw(code, salt, time_cost=t, memory_cost=m_mib * 1024, parallelism=p, hash_len=56,
                      type=Type.ID, version=19)
key, nonce = okm[:32], okm[32:]
sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, header, nonce, key)
body = header + sealed
checksum = hashlib.sha256(body).digest()[:4]
text = "DPIN:" + base64.b32encode(body + checksum).decode().rstrip("=")

# ---- confirmation code ------------------------------------------------------
prk = hmac.new(b"\x00" * 32, seed, hashlib.sha256).digest()
conf_key = hmac.new(prk, b"dynpin/v1/activation-confirmation/SHA256" + b"\x01", hashlib.sha256).digest()
mac = hmac.new(conf_key, activation_id, hashlib.sha256).digest()
off = mac[-1] & 0x0F
confirmation = str((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10**6).zfill(6)

for name, value in [("header (AD)", header.hex()), ("plaintext", plaintext.hex()),
                    ("Argon2id output", okm.hex()), ("key", key.hex()), ("nonce", nonce.hex()),
                    ("ciphertext+tag", sealed.hex()), ("checksum", checksum.hex())]:
    print(f"| {name} | `{value}` |")
print(f"| payload text ({len(text)} chars) | `{text}` |")
print(f"| confirmation code | `{confirmation}` |")
