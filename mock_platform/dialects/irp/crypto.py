"""The IRP's cryptography: the platform's RSA key for the auth payload, AES-256-ECB with PKCS7 for the session key
(Sek) and every later payload, and RS256 signatures for the signed invoice and QR code (JWTs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class CryptoError(ValueError):
    """A payload that cannot be decrypted or decoded."""


def new_private_key_pem() -> str:
    """A fresh 2048-bit RSA key (PKCS#8 PEM), the platform's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_key_pem(key: rsa.RSAPrivateKey) -> str:
    """The public key clients encrypt their credentials with (SubjectPublicKeyInfo PEM)."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_decrypt(text: str, key: rsa.RSAPrivateKey) -> bytes:
    """Base64 text of an RSA PKCS#1 v1.5 ciphertext, decrypted."""
    try:
        return key.decrypt(base64.b64decode(text, validate=True), asymmetric.PKCS1v15())
    except ValueError as exc:
        raise CryptoError("not decryptable with the platform's key") from exc


def aes_encrypt(plain: bytes, key: bytes) -> str:
    """AES-256-ECB with PKCS7 padding, base64."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # the IRP's documented mode
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def aes_decrypt(text: str, key: bytes) -> bytes:
    """The inverse of :func:`aes_encrypt`."""
    try:
        decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
        padded = decryptor.update(base64.b64decode(text, validate=True)) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise CryptoError("not decryptable with the session key") from exc


def session_key(secret: str, token: str) -> bytes:
    """The Sek of a token: derived (HMAC-SHA256) rather than stored, so a restarted platform and a second process on
    the same ledger know every live token's key."""
    return hmac.new(secret.encode(), f"irp-sek:{token}".encode(), hashlib.sha256).digest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_jwt(payload: dict[str, Any], key: rsa.RSAPrivateKey, key_id: str) -> str:
    """An RS256 JWT of ``payload`` (PKCS#1 v1.5 signatures are deterministic: the same payload, the same JWT)."""
    header = {"alg": "RS256", "kid": key_id, "typ": "JWT"}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode()) for part in (header, payload)
    )
    signature = key.sign(signing_input.encode(), asymmetric.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def key_id(key: rsa.RSAPrivateKey) -> str:
    """A stable id of the platform key (the JWT header's ``kid``)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha1(der).hexdigest().upper()  # an identifier, as NIC's kid
