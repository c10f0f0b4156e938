#!/usr/bin/env python3
"""Independent reconstruction of docs/vault-format.md's version-1 fixture and
test vectors with Python libraries only: argon2-cffi (the reference Argon2 C
code), PyNaCl (libsodium's XChaCha20-Poly1305), hashlib and hmac. No dynpin
code is used: this is the format as a second implementer reads it.

usage: vault-vectors.py                  prints the vectors, as lines of the doc
       vault-vectors.py --write FILE     also writes the fixture's bytes to FILE
Needs: pip install argon2-cffi pynacl"""
import hashlib
import hmac
import struct
import sys

from argon2.low_level import Type, hash_secret_raw
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt


def seq(start, n):
    return bytes((start + i) & 0xFF for i in range(n))


# ---- inputs (docs/vault-format.md, "Version-1 fixture") ---------------------
password = "correct horse 1403".encode()
platform_key = seq(0x80, 32)
master_key = seq(0x20, 32)
vault_id = seq(0x10, 16)
m_kib, t, p = 19 * 1024, 2, 1                    # KdfParams::MINIMUM
pw_salt, pw_nonce = b"vault-pw-salt-01", seq(0x40, 24)
pk_salt, pk_nonce = b"vault-pk-salt-01", seq(0x60, 24)
body_nonce = seq(0xA0, 24)
max_attempts, on_limit = 10, 1                   # 10 failures, then wipe
auto_lock = 120

SHA1, SHA256, SHA512 = 1, 2, 3
cards = [
    dict(id=bytes(i * 0x11 & 0xFF for i in range(16)), kind="bank", label="کارت حقوق",
         exportable=False, offset=-30, ceiling=50_000_000, bin=606373, last_four=1234,
         first=(SHA256, 4, 60), second=(SHA256, 8, 60), seed=bytes(range(20))),
    dict(id=bytes(15 - i for i in range(16)), kind="token", label="Example (alice@example.com)",
         exportable=True, offset=0, ceiling=None, alg=SHA1, digits=6, mode=("totp", 30),
         secret=b"12345678901234567890", issuer="Example", account="alice@example.com"),
    dict(id=bytes((0xFF - i * 0x11) & 0xFF for i in range(16)), kind="token", label="Counter",
         exportable=False, offset=0, ceiling=None, alg=SHA256, digits=8, mode=("hotp", 7),
         secret=b"12345678901234567890123456789012", issuer=None, account="bob"),
]


# ---- contents (the plaintext) -----------------------------------------------
def short(b):
    return struct.pack(">H", len(b)) + b


def policy(pol):
    if pol is None:
        return b"\0\0\0"
    alg, digits, period = pol
    return bytes([(alg << 4) | digits]) + struct.pack(">H", period)


def record(c):
    flags = (1 if c["exportable"] else 0) | (2 if c["ceiling"] is not None else 0)
    if c["kind"] == "token" and c["issuer"] is not None:
        flags |= 4
    kind = 1 if c["kind"] == "bank" else 2
    out = c["id"] + bytes([kind, flags]) + struct.pack(">q", c["offset"])
    if c["ceiling"] is not None:
        out += struct.pack(">Q", c["ceiling"])
    out += short(c["label"].encode())
    if c["kind"] == "bank":
        out += struct.pack(">IH", c["bin"], c["last_four"]) + policy(c["first"]) + policy(c["second"])
        out += short(c["seed"])
    else:
        mode = 1 if c["mode"][0] == "totp" else 2
        out += bytes([c["alg"], c["digits"], mode]) + struct.pack(">Q", c["mode"][1])
        out += short(c["secret"])
        if c["issuer"] is not None:
            out += short(c["issuer"].encode())
        out += short(c["account"].encode())
    return struct.pack(">I", len(out)) + out


contents = struct.pack(">II", auto_lock, len(cards)) + b"".join(record(c) for c in cards)

# ---- slots --------------------------------------------------------------------
MAGIC = b"DPNVAULT"
kdf = struct.pack(">III", m_kib, t, p)
pw_kek = hash_secret_raw(password, pw_salt, time_cost=t, memory_cost=m_kib, parallelism=p,
                         hash_len=32, type=Type.ID, version=19)
pw_ad = MAGIC + vault_id + b"\x01" + pw_salt + kdf + pw_nonce
pw_wrapped = crypto_aead_xchacha20poly1305_ietf_encrypt(master_key, pw_ad, pw_nonce, pw_kek)

prk = hmac.new(pk_salt, platform_key, hashlib.sha256).digest()          # HKDF-Extract
pk_kek = hmac.new(prk, b"dynpin/v1/vault/platform-slot\x01", hashlib.sha256).digest()  # Expand, L = 32
pk_ad = MAGIC + vault_id + b"\x02" + pk_salt + pk_nonce
pk_wrapped = crypto_aead_xchacha20poly1305_ietf_encrypt(master_key, pk_ad, pk_nonce, pk_kek)

# ---- header, lockout region, body, trailer ----------------------------------------
header = MAGIC + bytes([1, 0]) + vault_id + bytes([max_attempts, on_limit, 2])
header += b"\x01" + struct.pack(">H", 100) + pw_salt + kdf + pw_nonce + pw_wrapped
header += b"\x02" + struct.pack(">H", 88) + pk_salt + pk_nonce + pk_wrapped
assert len(header) == 29 + 103 + 91

fields = struct.pack(">IqB", 0, 0, 0)                      # no failures, never, not locked
lockout = fields + hashlib.sha256(b"dynpin/v1/vault/lockout" + fields).digest()[:8]

sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(contents, header, body_nonce, master_key)
body = body_nonce + struct.pack(">I", len(sealed)) + sealed
file = header + lockout + body
file += hashlib.sha256(file).digest()

for name, value in [("password-slot KEK", pw_kek), ("password-slot associated data", pw_ad),
                    ("password-slot wrapped key", pw_wrapped), ("platform-slot KEK", pk_kek),
                    ("platform-slot wrapped key", pk_wrapped),
                    ("header (body associated data)", header), ("lockout region", lockout),
                    ("contents (plaintext)", contents)]:
    print(f"| {name} | `{value.hex()}` |")
print(f"| fixture size | {len(file)} bytes |")
print(f"| fixture SHA-256 | `{hashlib.sha256(file).hexdigest()}` |")
h = file.hex()
for i in range(0, len(h), 64):
    print(h[i:i + 64])

if len(sys.argv) == 3 and sys.argv[1] == "--write":
    with open(sys.argv[2], "wb") as f:
        f.write(file)
elif len(sys.argv) != 1:
    sys.exit(__doc__)
