"""TLS of our Fabric gateway client, against a real gRPC TLS server on loopback.

The channel `open_channel` builds must reach a peer only over TLS, only when the peer's
certificate chains to the organisation's own TLS CA and names the expected host, and must present
the client certificate when the peer asks for mutual TLS. The server here has no services, so a
call that gets through the handshake is answered UNIMPLEMENTED, and one that does not is
UNAVAILABLE with nothing reaching the server. (Against a Fabric peer, tests/fabric_gateway.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.ledger.fabric import protos as pb
from services.ledger.fabric.connection import OrgEndpoint
from services.ledger.fabric.gateway import open_channel

PEER_NAME = "peer0.warehouse.pledgewatch.test"


@dataclass(frozen=True)
class Issued:
    """A key and the PEM certificate a CA issued for it."""

    key_pem: bytes
    cert_pem: bytes


class TestCA:
    """A throwaway TLS CA, as each Fabric organisation has one."""

    __test__ = False

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"tlsca.{name}")])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, host: str, *, client: bool = False) -> Issued:
        """A server (or client) certificate for host, with localhost addresses as well."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        names: list[x509.GeneralName] = [x509.DNSName(host)]
        if not client:
            names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        usage = x509.ExtendedKeyUsageOID.CLIENT_AUTH if client else None
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
        )
        if usage is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            cert.public_bytes(serialization.Encoding.PEM),
        )


class Recorder(grpc.GenericRpcHandler):
    """Records every method that reached the server; serves none of them."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> None:
        """Note the call and leave it unhandled (UNIMPLEMENTED)."""
        self.seen.append(handler_call_details.method)


@dataclass
class Peer:
    """A gRPC server on loopback and what reached it."""

    port: int
    recorder: Recorder


@pytest.fixture
def org_ca() -> TestCA:
    """The warehouse organisation's TLS CA."""
    return TestCA("warehouse.pledgewatch.test")


def serve(credentials: grpc.ServerCredentials | None) -> Iterator[Peer]:
    """A server with TLS credentials (or plaintext when None), stopped afterwards."""
    recorder = Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[recorder])
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield Peer(port, recorder)
    finally:
        server.stop(grace=None)


@pytest.fixture
def tls_peer(org_ca: TestCA) -> Iterator[Peer]:
    """A TLS peer whose certificate the warehouse CA issued."""
    issued = org_ca.issue(PEER_NAME)
    yield from serve(grpc.ssl_server_credentials([(issued.key_pem, issued.cert_pem)]))


@pytest.fixture
def mutual_tls_peer(org_ca: TestCA) -> Iterator[Peer]:
    """A TLS peer that also requires a client certificate from the warehouse CA."""
    issued = org_ca.issue(PEER_NAME)
    yield from serve(
        grpc.ssl_server_credentials(
            [(issued.key_pem, issued.cert_pem)],
            root_certificates=org_ca.pem,
            require_client_auth=True,
        )
    )


@pytest.fixture
def plaintext_peer() -> Iterator[Peer]:
    """A peer that speaks gRPC without TLS."""
    yield from serve(None)


def endpoint(
    folder: Path,
    port: int,
    ca_pem: bytes,
    server_name: str = PEER_NAME,
    client: Issued | None = None,
) -> OrgEndpoint:
    """The warehouse organisation's endpoint as a connection profile would give it."""
    ca_file = folder / "tlsca.pem"
    ca_file.write_bytes(ca_pem)
    cert_file = key_file = None
    if client is not None:
        cert_file, key_file = folder / "client.crt", folder / "client.key"
        cert_file.write_bytes(client.cert_pem)
        key_file.write_bytes(client.key_pem)
    return OrgEndpoint(
        msp_id="WarehouseMSP",
        peer_address=f"127.0.0.1:{port}",
        tls_ca_cert=ca_file,
        user_msp=folder,
        tls_server_name=server_name,
        client_tls_cert=cert_file,
        client_tls_key=key_file,
    )


def call_evaluate(target: OrgEndpoint) -> grpc.StatusCode:
    """One Gateway Evaluate call over the channel open_channel builds; its status code."""
    channel = open_channel(target)
    try:
        pb.gateway_grpc.GatewayStub(channel).Evaluate(pb.gateway.EvaluateRequest(), timeout=5)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    finally:
        channel.close()
    raise AssertionError("a server with no services answered a call")


def test_a_peer_certified_by_the_orgs_tls_ca_is_reached(
    tls_peer: Peer, org_ca: TestCA, tmp_path: Path
) -> None:
    code = call_evaluate(endpoint(tmp_path, tls_peer.port, org_ca.pem))

    assert code is grpc.StatusCode.UNIMPLEMENTED
    assert tls_peer.recorder.seen == ["/gateway.Gateway/Evaluate"]


def test_a_peer_certified_by_another_ca_is_refused_before_any_call(
    tls_peer: Peer, tmp_path: Path
) -> None:
    impostor_ca = TestCA("bank1.pledgewatch.test")

    code = call_evaluate(endpoint(tmp_path, tls_peer.port, impostor_ca.pem))

    assert code is grpc.StatusCode.UNAVAILABLE
    assert tls_peer.recorder.seen == []


def test_a_peer_whose_certificate_names_another_host_is_refused(
    tls_peer: Peer, org_ca: TestCA, tmp_path: Path
) -> None:
    code = call_evaluate(
        endpoint(tmp_path, tls_peer.port, org_ca.pem, server_name="peer0.bank1.pledgewatch.test")
    )

    assert code is grpc.StatusCode.UNAVAILABLE
    assert tls_peer.recorder.seen == []


def test_mutual_tls_needs_the_client_certificate_from_the_profile(
    mutual_tls_peer: Peer, org_ca: TestCA, tmp_path: Path
) -> None:
    without = call_evaluate(endpoint(tmp_path, mutual_tls_peer.port, org_ca.pem))
    assert without is grpc.StatusCode.UNAVAILABLE
    assert mutual_tls_peer.recorder.seen == []

    client = org_ca.issue("user1.warehouse.pledgewatch.test", client=True)
    with_cert = call_evaluate(endpoint(tmp_path, mutual_tls_peer.port, org_ca.pem, client=client))

    assert with_cert is grpc.StatusCode.UNIMPLEMENTED
    assert mutual_tls_peer.recorder.seen == ["/gateway.Gateway/Evaluate"]


def test_the_client_never_falls_back_to_plaintext(
    plaintext_peer: Peer, org_ca: TestCA, tmp_path: Path
) -> None:
    code = call_evaluate(endpoint(tmp_path, plaintext_peer.port, org_ca.pem))

    assert code is grpc.StatusCode.UNAVAILABLE
    assert plaintext_peer.recorder.seen == []
