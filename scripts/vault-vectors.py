#!/usr/bin/env python3
"""Independent reconstruction of docs/vault-format.md's version-1 and
version-2 fixtures and test vectors with Python libraries only: argon2-cffi
(the reference Argon2 C code), PyNaCl (libsodium's XChaCha20-Poly1305),
hashlib and hmac. No dynpin code is used: this is the format as a second
implementer reads it.

usage: vault-vectors.py                              prints the vectors, as lines of the doc
       vault-vectors.py --write FILE [--write-v2 FILE2]  also writes the fixtures' bytes
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

def hkdf_sha256(salt, ikm, info, length=32):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()                 # Extract
    out, block = b"", b""
    for i in range((length + 31) // 32):                              # Expand
        block = hmac.new(prk, block + info + bytes([i + 1]), hashlib.sha256).digest()
        out += block
    return out[:length]


# ---- slots --------------------------------------------------------------------
MAGIC = b"DPNVAULT"
kdf = struct.pack(">III", m_kib, t, p)
pw_kek = hash_secret_raw(password, pw_salt, time_cost=t, memory_cost=m_kib, parallelism=p,
                         hash_len=32, type=Type.ID, version=19)
pw_ad = MAGIC + vault_id + b"\x01" + pw_salt + kdf + pw_nonce
pw_wrapped = crypto_aead_xchacha20poly1305_ietf_encrypt(master_key, pw_ad, pw_nonce, pw_kek)

pk_kek = hkdf_sha256(pk_salt, platform_key, b"dynpin/v1/vault/platform-slot")
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


# ---- version 2 (docs/vault-format.md, "Version-2 fixture") ------------------
generation = 7
device_secret = seq(0xC0, 32)
device_blob = b"device-wrapped-secret-01"
app_blob = b"keystore-wrapped-platform-key-01"


def blob(b):
    return struct.pack(">H", len(b)) + b


v2_argon2 = pw_kek                                # the same Argon2id inputs as version 1
v2_pw_kek = hkdf_sha256(pw_salt, v2_argon2 + device_secret, b"dynpin/v2/vault/device-password-slot")
v2_pw_fields = pw_salt + kdf + pw_nonce + blob(device_blob)
v2_pw_ad = MAGIC + vault_id + b"\x03" + v2_pw_fields
v2_pw_wrapped = crypto_aead_xchacha20poly1305_ietf_encrypt(master_key, v2_pw_ad, pw_nonce, v2_pw_kek)
v2_pk_fields = pk_salt + pk_nonce + blob(app_blob)
v2_pk_ad = MAGIC + vault_id + b"\x04" + v2_pk_fields
v2_pk_wrapped = crypto_aead_xchacha20poly1305_ietf_encrypt(master_key, v2_pk_ad, pk_nonce, pk_kek)

v2_header = MAGIC + bytes([2, 0]) + vault_id + struct.pack(">Q", generation)
v2_header += bytes([max_attempts, on_limit, 2])
v2_header += b"\x03" + struct.pack(">H", len(v2_pw_fields) + 48) + v2_pw_fields + v2_pw_wrapped
v2_header += b"\x04" + struct.pack(">H", len(v2_pk_fields) + 48) + v2_pk_fields + v2_pk_wrapped
v2_lockout = lockout                               # no failures, never, state 0
v2_sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(contents, v2_header, body_nonce, master_key)
v2_file = v2_header + v2_lockout + body_nonce + struct.pack(">I", len(v2_sealed)) + v2_sealed
v2_file += hashlib.sha256(v2_file).digest()

def print_vectors(rows, prefix, whole):
    """The doc's lines: a table row per value, the file's size and hash, its hex."""
    for name, value in rows:
        print(f"| {prefix}{name} | `{value.hex()}` |")
    print(f"| {prefix}fixture size | {len(whole)} bytes |")
    print(f"| {prefix}fixture SHA-256 | `{hashlib.sha256(whole).hexdigest()}` |")
    h = whole.hex()
    for i in range(0, len(h), 64):
        print(h[i:i + 64])


print_vectors([("password-slot KEK", pw_kek), ("password-slot associated data", pw_ad),
               ("password-slot wrapped key", pw_wrapped), ("platform-slot KEK", pk_kek),
               ("platform-slot wrapped key", pk_wrapped),
               ("header (body associated data)", header), ("lockout region", lockout),
               ("contents (plaintext)", contents)], "", file)
print_vectors([("Argon2id output", v2_argon2), ("password-slot KEK", v2_pw_kek),
               ("password-slot associated data", v2_pw_ad),
               ("password-slot wrapped key", v2_pw_wrapped),
               ("platform-slot KEK", pk_kek),
               ("platform-slot associated data", v2_pk_ad),
               ("platform-slot wrapped key", v2_pk_wrapped),
               ("header (body associated data)", v2_header),
               ("lockout region", v2_lockout), ("contents (plaintext)", contents)], "v2 ", v2_file)

args = sys.argv[1:]
writes = {"--write": file, "--write-v2": v2_file}
if len(args) % 2 or any(a not in writes for a in args[::2]):
    sys.exit(__doc__)
for flag, path in zip(args[::2], args[1::2]):
    with open(path, "wb") as f:
        f.write(writes[flag])
