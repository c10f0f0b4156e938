#!/usr/bin/env python3
"""Independent reconstruction of docs/bank-store.md's sealed-card vector with
Python libraries only: PyNaCl (libsodium's XChaCha20-Poly1305) and struct. No
dynpin code is used: this is the layout as a second implementer reads it.

usage: bank-store-vectors.py    prints the vector, as lines of the doc
Needs: pip install pynacl"""
import struct

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt


def seq(start, n):
    return bytes((start + i) & 0xFF for i in range(n))


kek = seq(0x40, 32)
key_id = b"kek-2026"
card_id = bytes.fromhex("00112233445566778899aabbccddeeff")
nonce = seq(0xA0, 24)
seed = seq(0x01, 20)
label = "Salary".encode()
activation_id = seq(0x01, 8)
SHA256 = 2
EXPORTABLE, FIRST, SECOND, ACTIVATION = 1, 2, 4, 8

plaintext = (
    struct.pack(">BIHB", 1, 610433, 1234, FIRST | SECOND | ACTIVATION)
    + struct.pack(">BBH", SHA256, 4, 60)
    + struct.pack(">BBH", SHA256, 8, 60)
    + activation_id
    + bytes([len(label)]) + label
    + bytes([len(seed)]) + seed
)
aad = b"dynpin-bank card v1\x00" + card_id + key_id
sealed = nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, kek)

print(f"kek       = {kek.hex()}")
print(f"key id    = {key_id.decode()}")
print(f"card id   = {card_id.hex()}")
print(f"plaintext = {plaintext.hex()}")
print(f"aad       = {aad.hex()}")
print(f"sealed    = {sealed.hex()}")
