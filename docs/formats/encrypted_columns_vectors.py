#!/usr/bin/python3
"""An independent computation of the test vectors of docs/formats/encrypted-columns.md.

Written from the format document alone, with Python's hmac/hashlib and the `cryptography`
package (Debian python3-cryptography), sharing no code with Parley's C++. The C++ tests
(src/crypto/column_cipher_test.cc, ColumnCipherVectors) assert the same values; run this to
check them again:  /usr/bin/python3 docs/formats/encrypted_columns_vectors.py
"""
import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LABEL = b"parley encrypted-columns v1\0"


def hkdf(ikm, salt, info, length):
    return HKDF(hashes.SHA256(), length, salt or None, info).derive(ikm)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ids(secret, collaboration, preserve_nulls, different_names):
    secret_id = b64(hkdf(secret, b"", LABEL + b"secret-id", 6))
    flags = b"preserve_nulls=%d;different_names=%d" % (preserve_nulls, different_names)
    key_id = b64(hkdf(secret, collaboration, LABEL + b"key-id\0" + flags, 6))
    return secret_id, key_id


def fingerprint(secret, collaboration, column, canonical, preserve_nulls=0, different_names=0):
    if different_names:
        info = LABEL + b"fingerprint\0any column"
    else:
        info = LABEL + b"fingerprint\0column\0" + column.lower()
    key = hkdf(secret, collaboration, info, 32)
    secret_id, key_id = ids(secret, collaboration, preserve_nulls, different_names)
    mac = hmac.new(key, canonical, hashlib.sha256).digest()
    return "pf1.%s.%s.%s" % (secret_id, key_id, b64(mac))


def sealed(secret, collaboration, table, column, value, pad_to, nonce, preserve_nulls=0):
    key = hkdf(secret, collaboration, LABEL + b"sealed\0" + table.lower() + b"\0" + column.lower(), 32)
    secret_id, key_id = ids(secret, collaboration, preserve_nulls, 0)
    plaintext = bytes([1, len(value) >> 8, len(value) & 0xFF]) + value + bytes(pad_to - len(value))
    aad = b"parley sealed v1\0" + table.lower() + b"\0" + column.lower()
    return "ps1.%s.%s.%s" % (secret_id, key_id, b64(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)))


secret = bytes(range(32))
c = b"campaign"
print("secret_id, key_id     ", ids(secret, c, 0, 0))
print("email                 ", fingerprint(secret, c, b"email", "salice@example.com".encode()))
print("customer_id integer 7 ", fingerprint(secret, c, b"customer_id", b"i7"))
print("phone +442079460018   ", fingerprint(secret, c, b"phone", b"s+442079460018"))
print("name text 'café'      ", fingerprint(secret, c, b"name", "scafé".encode()))
print("any-name email        ", fingerprint(secret, c, b"email", b"salice@example.com", 0, 1))
print("sealed retail.name    ", sealed(secret, c, b"retail", b"name", b"Alice", 16, bytes(range(12))))
