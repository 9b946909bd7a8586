"""S/MIME-signed test messages, signed by cryptography with a throwaway certificate."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from . import mailfactory as mf


def signer(email: str = "alice@example.com", *, kind: str = "ec"):
    """(certificate, private key) of a self-signed S/MIME certificate for ``email``."""
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Test signer"),
            x509.NameAttribute(NameOID.EMAIL_ADDRESS, email),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def signed_message(
    content: bytes, cert, key, *, attributes: bool = True, subject: str = "Signed"
) -> bytes:
    """multipart/signed: ``content`` (a MIME part, CRLF) and its detached signature."""
    options = [pkcs7.PKCS7Options.DetachedSignature]
    if not attributes:
        options.append(pkcs7.PKCS7Options.NoAttributes)
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, options)
    )
    signature_part = mf.attachment_part(signature, "smime.p7s", "application/pkcs7-signature")
    boundary = "=_signed_boundary"
    body = (
        mf.header_block(
            [
                (
                    "Content-Type",
                    'multipart/signed; protocol="application/pkcs7-signature"; '
                    f'micalg=sha-256; boundary="{boundary}"',
                )
            ]
        )
        + b"\r\n"
        + b"--"
        + boundary.encode()
        + b"\r\n"
        + content
        + b"\r\n--"
        + boundary.encode()
        + b"\r\n"
        + signature_part
        + b"\r\n--"
        + boundary.encode()
        + b"--\r\n"
    )
    return mf.message(body, subject=subject, from_="Alice <alice@example.com>")
