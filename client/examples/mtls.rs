//! Mutual TLS with rustls where every private key stays in keywardd: a CA key issues the
//! server's and the client's certificates (through rcgen), and both sides sign their
//! handshakes in keywardd (the server with ECDSA P-256, the client with RSA-PSS, which TLS 1.3
//! requires of RSA keys). Runs a TLS 1.3 and a TLS 1.2 handshake over a local socket pair.
//!
//! `cargo run -p keyward-client --features rustls,rcgen --example mtls`

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use keyward_client::rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyUsagePurpose, SerialNumber,
};
use keyward_client::rustls::pki_types::{CertificateDer, ServerName};
use keyward_client::rustls::server::WebPkiClientVerifier;
use keyward_client::rustls::sign::{CertifiedKey, SingleCertAndKey};
use keyward_client::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use keyward_client::{BasicClient, ClientError, EccCurve, RcgenKey};

const CA: &str = "example-mtls-ca";
const SERVER: &str = "example-mtls-server";
const CLIENT: &str = "example-mtls-client";

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let keyward = BasicClient::new()?;
    for name in [CA, SERVER, CLIENT] {
        match keyward.destroy_key(name) {
            Ok(()) | Err(ClientError::KeyNotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    keyward.create_ecc_signing_key(CA, EccCurve::P384)?;
    keyward.create_ecc_signing_key(SERVER, EccCurve::P256)?;
    keyward.create_rsa_pss_signing_key(CLIENT, 2048)?;
    let ca_key = RcgenKey::new(keyward.signing_key(CA)?)?;
    let server_key = keyward.signing_key(SERVER)?;
    let client_key = keyward.signing_key(CLIENT)?;

    // The CA certificate, self-signed by the CA key in keywardd.
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Keyward example CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.serial_number = Some(SerialNumber::from(1u64));
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    // End-entity certificates for keys in keywardd, signed by the CA key in keywardd.
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()])?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.serial_number = Some(SerialNumber::from(2u64));
    let server_cert = server_params.signed_by(server_key.public_key(), &issuer)?;
    let mut client_params = CertificateParams::new(vec!["client.example".to_owned()])?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "example-client");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client_params.serial_number = Some(SerialNumber::from(3u64));
    let client_cert = client_params.signed_by(client_key.public_key(), &issuer)?;

    let mut roots = RootCertStore::empty();
    roots.add(ca_cert.der().clone())?;
    let roots = Arc::new(roots);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server_identity = Arc::new(SingleCertAndKey::from(CertifiedKey::new(
        vec![server_cert.der().clone()],
        Arc::new(server_key),
    )));
    let client_identity = Arc::new(SingleCertAndKey::from(CertifiedKey::new(
        vec![client_cert.der().clone()],
        Arc::new(client_key),
    )));

    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone()).build()?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[version])?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(server_identity.clone());
        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[version])?
            .with_root_certificates(roots.clone())
            .with_client_cert_resolver(client_identity.clone());
        let outcome = handshake(Arc::new(server), Arc::new(client))?;
        println!("{outcome}");
    }
    for name in [CA, SERVER, CLIENT] {
        keyward.destroy_key(name)?;
    }
    Ok(())
}

/// One mTLS connection over a socket pair: the server thread answers one line; returns what
/// both sides saw.
fn handshake(server: Arc<ServerConfig>, client: Arc<ClientConfig>) -> Result<String, Error> {
    let (server_end, mut client_end) = UnixStream::pair()?;
    let server_side = std::thread::spawn(move || -> Result<String, Error> {
        let mut connection = rustls::ServerConnection::new(server)?;
        let mut socket = server_end;
        let mut tls = rustls::Stream::new(&mut connection, &mut socket);
        let mut request = [0u8; 5];
        tls.read_exact(&mut request)?;
        tls.write_all(b"pong\n")?;
        tls.flush()?;
        let peer = peer_subject(tls.conn.peer_certificates())?;
        Ok(format!("server saw client certificate {peer}"))
    });
    let mut connection = rustls::ClientConnection::new(client, ServerName::try_from("localhost")?)?;
    let mut tls = rustls::Stream::new(&mut connection, &mut client_end);
    tls.write_all(b"ping\n")?;
    let mut answer = [0u8; 5];
    tls.read_exact(&mut answer)?;
    let version = tls.conn.protocol_version().ok_or("no protocol version")?;
    let suite = tls
        .conn
        .negotiated_cipher_suite()
        .ok_or("no cipher suite")?;
    let peer = peer_subject(tls.conn.peer_certificates())?;
    let server_saw = server_side.join().map_err(|_| "server thread panicked")??;
    if &answer != b"pong\n" {
        return Err("unexpected answer".into());
    }
    Ok(format!(
        "{version:?} mTLS handshake ok ({:?}): client saw server certificate {peer}, {server_saw}",
        suite.suite()
    ))
}

/// The first certificate's subject, found by its CN bytes (enough for this example).
fn peer_subject(chain: Option<&[CertificateDer<'_>]>) -> Result<String, Error> {
    let first = chain
        .and_then(|certs| certs.first())
        .ok_or("no peer certificate")?;
    use keyward_client::der::Decode;
    let cert = keyward_client::x509_cert::Certificate::from_der(first.as_ref())?;
    Ok(cert.tbs_certificate.subject.to_string())
}
