//! A PKCS#10 certificate request from `x509-cert`'s own `RequestBuilder`, signed by a key that
//! stays in keywardd: the key handle is all the builder needs (`Signer`, `Keypair`,
//! `DynSignatureAlgorithmIdentifier`). Prints the PEM; check it with `openssl req -verify`.
//!
//! `cargo run -p keyward-client --example csr -- [ecdsa|rsa-pss] | openssl req -verify -noout`

use std::str::FromStr;

use keyward_client::x509_cert::builder::{Builder, RequestBuilder};
use keyward_client::x509_cert::ext::pkix::name::GeneralName;
use keyward_client::x509_cert::ext::pkix::SubjectAltName;
use keyward_client::x509_cert::name::Name;
use keyward_client::{BasicClient, ClientError, Signature};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ecdsa".to_owned());
    let client = BasicClient::new()?;
    let name = format!("example-csr-{kind}");
    match client.destroy_key(&name) {
        Ok(()) | Err(ClientError::KeyNotFound(_)) => {}
        Err(err) => return Err(err.into()),
    }
    match kind.as_str() {
        "ecdsa" => client.create_signing_key(&name)?,
        "rsa-pss" => client.create_rsa_pss_signing_key(&name, 2048)?,
        other => return Err(format!("unknown key kind {other:?}: ecdsa or rsa-pss").into()),
    }
    let key = client.signing_key(&name)?;

    let subject = Name::from_str("CN=service.example.com,O=Example")?;
    let mut builder = RequestBuilder::new(subject, &key)?;
    builder.add_extension(&SubjectAltName(vec![GeneralName::DnsName(
        keyward_client::der::asn1::Ia5String::new("service.example.com")?,
    )]))?;
    let request = builder.build::<Signature>()?;

    use keyward_client::der::EncodePem;
    print!(
        "{}",
        request.to_pem(keyward_client::der::pem::LineEnding::LF)?
    );
    client.destroy_key(&name)?;
    Ok(())
}
