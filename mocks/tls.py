"""A local certificate authority for the mock fleet, so a store can reach the mocks over HTTPS.

Real logistics plugins call ``https://api.aftership.com`` and friends with certificate checks on.
To impersonate those hosts, the mocks present a certificate for the vendor names signed by a CA
that only the staging store trusts. :func:`issue` writes, into one folder:

- ``ca.pem`` / ``ca-key.pem``: the CA (created once, reused on every later call; key mode 0600),
- ``mocks.pem`` / ``mocks-key.pem``: one server certificate whose subject alternative names cover
  every impersonated host plus ``localhost``, ``127.0.0.1`` and ``::1`` (re-issued only when the
  host list changes or it nears expiry).

Give ``mocks.pem``/``mocks-key.pem`` to ``peakbench mocks serve --tls-cert/--tls-key`` and
``ca.pem`` to the store (``docs/staging-wordpress.md``). The CA key never leaves the folder:
keep it out of version control.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from peakbench.config.fleet import VENDOR_HOSTS as FLEET_VENDOR_HOSTS

VENDOR_HOSTS = tuple(dict.fromkeys(host for hosts in FLEET_VENDOR_HOSTS.values() for host in hosts))
"""Hosts real carrier and aggregator clients call (carriers.md §1, §5; production and sandbox),
the hosts a shared mock port answers for by default: all certified by default."""
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1", "::1")

CA_CERT, CA_KEY = "ca.pem", "ca-key.pem"
HOST_CERT, HOST_KEY = "mocks.pem", "mocks-key.pem"
CA_DAYS = 3650
"""CA validity in days: a staging store trusts it once."""
HOST_DAYS = 397
"""Server certificate validity in days (the CA/Browser Forum ceiling; some clients enforce it)."""
RENEW_DAYS = 30
"""A server certificate expiring within this many days is re-issued."""
_ORG = "peakbench mock carriers (local test CA, never trust in production)"


@dataclass(frozen=True, slots=True)
class Issued:
    """What :func:`issue` left in the folder, and what it had to create."""

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path
    names: tuple[str, ...]
    """Subject alternative names of ``cert`` (DNS names, then IP addresses)."""
    ca_created: bool
    cert_created: bool


def issue(
    folder: Path, hosts: Iterable[str] = VENDOR_HOSTS, now: dt.datetime | None = None
) -> Issued:
    """Create (or reuse) the CA in ``folder`` and a server certificate covering ``hosts``.

    Idempotent: an existing CA is always reused (stores already trust it); the server certificate
    is kept when it already covers exactly these names and is not near expiry.
    """
    now = now or dt.datetime.now(dt.UTC)
    folder.mkdir(parents=True, exist_ok=True)
    names = subject_names(hosts)
    ca_cert_path, ca_key_path = folder / CA_CERT, folder / CA_KEY
    cert_path, key_path = folder / HOST_CERT, folder / HOST_KEY
    ca_created = not (ca_cert_path.exists() and ca_key_path.exists())
    if ca_created:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, now)
        _write_key(ca_key_path, ca_key)
        _write(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    else:
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{ca_key_path}: expected an EC private key")
        ca_key = loaded
    cert_created = ca_created or not _still_good(cert_path, key_path, ca_cert, names, now)
    if cert_created:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _host_certificate(key, names, ca_cert, ca_key, now)
        _write_key(key_path, key)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return Issued(ca_cert_path, ca_key_path, cert_path, key_path, names, ca_created, cert_created)


def subject_names(hosts: Iterable[str]) -> tuple[str, ...]:
    """The SAN list for ``hosts``: DNS names (lower-case, deduplicated, in order), the loopback
    names, then the loopback IP addresses. ValueError on a name that is not a host."""
    dns: list[str] = []
    ips: list[str] = []
    for raw in (*hosts, *LOOPBACK_NAMES, *LOOPBACK_IPS):
        host = raw.strip().lower().rstrip(".")
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if not host or any(c in host for c in "/:@ ") or len(host) > 253:
                raise ValueError(f"not a host name: {raw!r}") from None
            if host not in dns:
                dns.append(host)
        else:
            if str(ip) not in ips:
                ips.append(str(ip))
    return (*dns, *ips)


def next_steps(issued: Issued) -> str:
    """What to do with the files, as printed by ``peakbench mocks ca``."""
    hosts = ", ".join(issued.names)
    return "\n".join(
        [
            "Next:",
            "  1. serve the fleet over HTTPS:",
            f"     peakbench mocks serve --fleet FLEET.yaml --tls-cert {issued.cert} "
            f"--tls-key {issued.key}",
            f"  2. make the store trust {issued.ca_cert} (never the key {issued.ca_key}):",
            "     WordPress: copy it next to wordpress/peakbench-carrier-redirect.php and set "
            "PEAKBENCH_CA_FILE (docs/staging-wordpress.md)",
            f"  3. check: curl --cacert {issued.ca_cert} "
            "--resolve api.aftership.com:PORT:127.0.0.1 https://api.aftership.com:PORT/__admin/health",
            f"Certificate names: {hosts}.",
            "Re-run with the same --dir and other --host names to change them; the CA is kept,",
            "so a store that already trusts it keeps working.",
        ]
    )


def client_context(ca_cert: Path) -> ssl.SSLContext:
    """A client TLS context that trusts only ``ca_cert`` (what a store configured for the mocks
    does); hostname checking stays on."""
    return ssl.create_default_context(cafile=str(ca_cert))


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "peakbench local CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _host_certificate(
    key: ec.EllipticCurvePrivateKey,
    names: Sequence[str],
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
) -> x509.Certificate:
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
        ]
    )
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=HOST_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _still_good(
    cert_path: Path,
    key_path: Path,
    ca_cert: x509.Certificate,
    names: Sequence[str],
    now: dt.datetime,
) -> bool:
    """Whether the server certificate on disk was signed by this CA, covers exactly ``names``
    and has more than :data:`RENEW_DAYS` left."""
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    have = {*san.get_values_for_type(x509.DNSName)}
    have |= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    fresh = cert.not_valid_after_utc - now > dt.timedelta(days=RENEW_DAYS)
    return fresh and have == set(names)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(path, pem, 0o600)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with ``mode`` from the first byte (a key is never world-readable)."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)  # the umask may have narrowed or the file pre-existed
    os.replace(tmp, path)
