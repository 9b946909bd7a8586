"""S/MIME detached signatures (``multipart/signed`` with ``smime.p7s``): does the
signature match the signed part, made with the key of the certificate it carries?

Only that: the certificate's trust (its issuer, expiry, revocation) is not checked, so
a match says the message was not changed since the holder of that certificate's key
signed it, not who that holder is. ``cryptography`` has no CMS verification, so the
few fields needed are read from the DER here (RFC 5652 SignedData) and the signature
is checked with ``cryptography``'s RSA (PKCS #1 v1.5) and ECDSA.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtensionOID, NameOID

# DER contents of the digest algorithm OIDs we accept.
_DIGESTS = {
    bytes.fromhex("608648016503040201"): hashes.SHA256,
    bytes.fromhex("608648016503040202"): hashes.SHA384,
    bytes.fromhex("608648016503040203"): hashes.SHA512,
    bytes.fromhex("2b0e03021a"): hashes.SHA1,
}
_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")  # 1.2.840.113549.1.9.4
_RSASSA_PSS = bytes.fromhex("2a864886f70d01010a")


@dataclass(frozen=True)
class Check:
    status: str  # "verified", "invalid" (does not match) or "unchecked"
    signer: str = ""  # the e-mail address (or name) in the signing certificate


class _Bad(Exception):
    pass


def _tlv(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """(tag, start of the whole element, start of its contents, end) at ``pos``."""
    if pos + 2 > len(data):
        raise _Bad("truncated")
    tag, length = data[pos], data[pos + 1]
    head = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or head + count > len(data):
            raise _Bad("bad length")
        length = int.from_bytes(data[head : head + count], "big")
        head += count
    end = head + length
    if end > len(data):
        raise _Bad("truncated")
    return tag, pos, head, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    out = []
    pos = start
    while pos < end:
        item = _tlv(data, pos)
        out.append(item)
        pos = item[3]
    return out


def canonical(content: bytes) -> bytes:
    """The signed entity with CRLF line ends (RFC 8551 canonical form)."""
    return content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def verify_detached(content: bytes, signature: bytes) -> Check:
    """Check a detached CMS signature over ``content``. Never raises."""
    try:
        return _verify(canonical(content), signature)
    except Exception:  # noqa: BLE001 - anything we cannot read is simply not checked
        return Check("unchecked")


def _verify(content: bytes, der: bytes) -> Check:
    certificates = pkcs7.load_der_pkcs7_certificates(der)
    _, _, head, end = _tlv(der, 0)  # ContentInfo
    info = _children(der, head, end)
    explicit = info[1]  # [0] EXPLICIT SignedData
    _, _, head, end = _tlv(der, explicit[2])
    signed_data = _children(der, head, end)
    signer_infos = signed_data[-1]
    infos = _children(der, signer_infos[2], signer_infos[3])
    if not infos:
        return Check("unchecked")
    fields = _children(der, infos[0][2], infos[0][3])
    sid, digest_alg = fields[1], fields[2]
    algorithm = _DIGESTS.get(_oid_of(der, digest_alg))
    if algorithm is None:
        return Check("unchecked")
    cert = _signer_certificate(der, sid, certificates)
    if cert is None:
        return Check("unchecked")
    index = 3
    signed_attrs = None
    if fields[index][0] == 0xA0:
        signed_attrs = fields[index]
        index += 1
    signature_alg, signature = fields[index], fields[index + 1]
    if _oid_of(der, signature_alg) == _RSASSA_PSS:
        return Check("unchecked", _who(cert))
    digest = hashes.Hash(algorithm())
    digest.update(content)
    content_digest = digest.finalize()
    if signed_attrs is None:
        to_verify = content
    else:
        if _message_digest(der, signed_attrs) != content_digest:
            return Check("invalid", _who(cert))
        # The signature covers the attributes as a SET (tag 0x31), not as [0].
        to_verify = b"\x31" + der[signed_attrs[1] + 1 : signed_attrs[3]]
    value = der[signature[2] : signature[3]]
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, to_verify, padding.PKCS1v15(), algorithm())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(value, to_verify, ec.ECDSA(algorithm()))
        else:
            return Check("unchecked", _who(cert))
    except InvalidSignature:
        return Check("invalid", _who(cert))
    return Check("verified", _who(cert))


def _oid_of(der: bytes, algorithm_identifier: tuple[int, int, int, int]) -> bytes:
    first = _tlv(der, algorithm_identifier[2])
    if first[0] != 0x06:
        raise _Bad("no OID")
    return der[first[2] : first[3]]


def _signer_certificate(der: bytes, sid, certificates: list[x509.Certificate]):
    if sid[0] == 0x30:  # IssuerAndSerialNumber
        parts = _children(der, sid[2], sid[3])
        serial = int.from_bytes(der[parts[1][2] : parts[1][3]], "big", signed=True)
        issuer = der[parts[0][1] : parts[0][3]]
        for cert in certificates:
            if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
                return cert
        return None
    if sid[0] == 0x80:  # [0] SubjectKeyIdentifier
        key_id = der[sid[2] : sid[3]]
        for cert in certificates:
            try:
                ski = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == key_id:
                return cert
    return None


def _message_digest(der: bytes, signed_attrs) -> bytes | None:
    for attribute in _children(der, signed_attrs[2], signed_attrs[3]):
        oid, values = _children(der, attribute[2], attribute[3])[:2]
        if der[oid[2] : oid[3]] == _MESSAGE_DIGEST:
            value = _children(der, values[2], values[3])[0]
            return der[value[2] : value[3]]
    return None


def _who(cert: x509.Certificate) -> str:
    try:
        names = cert.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        ).value.get_values_for_type(x509.RFC822Name)
        if names:
            return str(names[0])[:320]
    except x509.ExtensionNotFound:
        pass
    for oid in (NameOID.EMAIL_ADDRESS, NameOID.COMMON_NAME):
        found = cert.subject.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)[:320]
    return ""
