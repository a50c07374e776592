//! PKCS#10 certificate signing requests, signed by a key that never leaves the service.
//!
//! The request is assembled from `x509-cert` types and signed through the RustCrypto traits
//! (`signature::Signer`, `Keypair`, `DynSignatureAlgorithmIdentifier`), so the same code signs
//! with a [`crate::SigningKey`] held by the service or with any local key (as the tests do).

use std::net::IpAddr;
use std::str::FromStr;

use const_oid::db::{rfc4519, rfc5912};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, Ia5String, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Encode, EncodePem};
use signature::{Keypair, Signer};
use spki::{
    DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::attr::{AttributeTypeAndValue, Attributes};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName as SanExtension;
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};

use crate::error::{ClientError, Result};

/// The distinguished-name fields of a request's subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFields {
    /// CN (required).
    pub common_name: String,
    /// O.
    pub organization: Option<String>,
    /// OU.
    pub organizational_unit: Option<String>,
    /// L.
    pub locality: Option<String>,
    /// ST.
    pub state: Option<String>,
    /// C: a two-letter ISO 3166 country code.
    pub country: Option<String>,
    /// serialNumber (of the subject, not of a certificate).
    pub serial_number: Option<String>,
}

impl SubjectFields {
    /// A subject with only a common name.
    pub fn common_name(cn: impl Into<String>) -> Self {
        SubjectFields {
            common_name: cn.into(),
            ..SubjectFields::default()
        }
    }

    /// The X.501 name, most significant RDN first (C, ST, L, O, OU, CN, serialNumber).
    /// Country and serial number are PrintableString as X.520 requires; the rest UTF8String.
    pub fn to_name(&self) -> Result<Name> {
        if self.common_name.is_empty() {
            return Err(ClientError::InvalidArgument(
                "the common name is empty".to_owned(),
            ));
        }
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(ClientError::InvalidArgument(format!(
                    "country {c:?} is not a two-letter code"
                )));
            }
        }
        let utf8 = |text: &str| {
            Utf8StringRef::new(text)
                .and_then(|value| Any::encode_from(&value))
                .map_err(ClientError::encoding("a subject field"))
        };
        let printable = |text: &str| {
            PrintableStringRef::new(text)
                .and_then(|value| Any::encode_from(&value))
                .map_err(|err| ClientError::InvalidArgument(format!("{text:?}: {err}")))
        };
        let fields: [(ObjectIdentifier, Option<&String>, bool); 7] = [
            (rfc4519::C, self.country.as_ref(), true),
            (rfc4519::ST, self.state.as_ref(), false),
            (rfc4519::L, self.locality.as_ref(), false),
            (rfc4519::O, self.organization.as_ref(), false),
            (rfc4519::OU, self.organizational_unit.as_ref(), false),
            (rfc4519::CN, Some(&self.common_name), false),
            (rfc4519::SERIAL_NUMBER, self.serial_number.as_ref(), true),
        ];
        let mut rdns = Vec::new();
        for (oid, value, is_printable) in fields {
            let Some(value) = value else { continue };
            let value = if is_printable {
                printable(value)?
            } else {
                utf8(value)?
            };
            let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])
                .map_err(ClientError::encoding("a subject name"))?;
            rdns.push(RelativeDistinguishedName(set));
        }
        Ok(RdnSequence(rdns))
    }
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAltName {
    /// A DNS name (ASCII; punycode international names).
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// An e-mail address (rfc822Name).
    Email(String),
    /// A URI (e.g. a SPIFFE ID).
    Uri(String),
}

impl FromStr for SubjectAltName {
    type Err = ClientError;

    /// `DNS:name`, `IP:addr`, `EMAIL:addr`, `URI:uri`; without a prefix, an IP address if
    /// it parses as one, else a DNS name.
    fn from_str(text: &str) -> Result<Self> {
        let (kind, value) = match text.split_once(':') {
            Some((kind, value))
                if ["dns", "ip", "email", "uri"].contains(&kind.to_ascii_lowercase().as_str()) =>
            {
                (kind.to_ascii_lowercase(), value)
            }
            _ => match text.parse::<IpAddr>() {
                Ok(ip) => return Ok(SubjectAltName::Ip(ip)),
                Err(_) => ("dns".to_owned(), text),
            },
        };
        if value.is_empty() {
            return Err(ClientError::InvalidArgument(format!(
                "empty SAN in {text:?}"
            )));
        }
        Ok(match kind.as_str() {
            "ip" => SubjectAltName::Ip(value.parse().map_err(|_| {
                ClientError::InvalidArgument(format!("{value:?} is not an IP address"))
            })?),
            "email" => SubjectAltName::Email(value.to_owned()),
            "uri" => SubjectAltName::Uri(value.to_owned()),
            _ => SubjectAltName::Dns(value.to_owned()),
        })
    }
}

impl SubjectAltName {
    fn to_general_name(&self) -> Result<GeneralName> {
        let ia5 = |text: &str| {
            Ia5String::new(text)
                .map_err(|err| ClientError::InvalidArgument(format!("{text:?}: {err}")))
        };
        Ok(match self {
            SubjectAltName::Dns(name) => GeneralName::DnsName(ia5(name)?),
            SubjectAltName::Ip(ip) => GeneralName::from(*ip),
            SubjectAltName::Email(addr) => GeneralName::Rfc822Name(ia5(addr)?),
            SubjectAltName::Uri(uri) => GeneralName::UniformResourceIdentifier(ia5(uri)?),
        })
    }
}

/// Builds and signs a CSR for `signer`'s key: any RustCrypto-style signer, such as a
/// [`crate::SigningKey`] (whose errors come back as the [`ClientError`] they were) or a
/// local `p256`/`rsa` key. SANs go into an extensionRequest attribute.
pub fn build_csr<S, Sig>(
    signer: &S,
    subject: &SubjectFields,
    sans: &[SubjectAltName],
) -> Result<CertReq>
where
    S: Keypair + DynSignatureAlgorithmIdentifier + Signer<Sig>,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let mut attributes = Attributes::new();
    if !sans.is_empty() {
        let names = sans
            .iter()
            .map(SubjectAltName::to_general_name)
            .collect::<Result<Vec<_>>>()?;
        let encoding = ClientError::encoding("the subjectAltName extension");
        let san_der = SanExtension(names).to_der().map_err(encoding)?;
        let extension = Extension {
            extn_id: rfc5912::ID_CE_SUBJECT_ALT_NAME,
            critical: false,
            extn_value: der::asn1::OctetString::new(san_der)
                .map_err(ClientError::encoding("the subjectAltName extension"))?,
        };
        let attribute = ExtensionReq(vec![extension])
            .try_into()
            .map_err(ClientError::encoding("the extensionRequest attribute"))?;
        attributes
            .insert(attribute)
            .map_err(ClientError::encoding("the extensionRequest attribute"))?;
    }
    let public_key =
        SubjectPublicKeyInfoOwned::from_key(signer.verifying_key()).map_err(|err| {
            ClientError::Encoding {
                context: "the signer's public key",
                source: Box::new(err),
            }
        })?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.to_name()?,
        public_key,
        attributes,
    };
    let algorithm =
        signer
            .signature_algorithm_identifier()
            .map_err(|err| ClientError::Encoding {
                context: "the signer's signature algorithm",
                source: Box::new(err),
            })?;
    let to_sign = info
        .to_der()
        .map_err(ClientError::encoding("the request info"))?;
    let signature = signer.try_sign(&to_sign).map_err(from_signature_error)?;
    Ok(CertReq {
        info,
        algorithm,
        signature: signature
            .to_bitstring()
            .map_err(ClientError::encoding("the signature"))?,
    })
}

/// A signer's error back as the [`ClientError`] it wraps when that has a plain shape (a
/// service status, a missing or unsuitable key, a time-out), so CSR callers see the same
/// errors as everywhere else; otherwise [`ClientError::Signer`] keeps it as the source.
pub(crate) fn from_signature_error(err: signature::Error) -> ClientError {
    use std::error::Error;
    let same = err
        .source()
        .and_then(|source| source.downcast_ref::<ClientError>())
        .and_then(ClientError::plain_copy);
    same.unwrap_or(ClientError::Signer(err))
}

/// The `-----BEGIN CERTIFICATE REQUEST-----` PEM of a request.
pub fn to_pem(request: &CertReq) -> Result<String> {
    request
        .to_pem(der::pem::LineEnding::LF)
        .map_err(ClientError::encoding("a CSR PEM"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, DecodePem};
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;

    fn full_subject() -> SubjectFields {
        SubjectFields {
            common_name: "device-42.example.com".to_owned(),
            organization: Some("Keyward Ltd".to_owned()),
            organizational_unit: Some("Édge".to_owned()),
            locality: Some("Cambridge".to_owned()),
            state: Some("Cambs".to_owned()),
            country: Some("GB".to_owned()),
            serial_number: None,
        }
    }

    fn sans() -> Vec<SubjectAltName> {
        [
            "DNS:device-42.example.com",
            "IP:10.0.0.7",
            "::1",
            "uri:spiffe://k/app",
        ]
        .iter()
        .map(|s| s.parse().expect("san"))
        .collect()
    }

    #[test]
    fn p256_csr_decodes_and_verifies() {
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("key");
        let csr =
            build_csr::<_, p256::ecdsa::DerSignature>(&key, &full_subject(), &sans()).expect("csr");
        let pem = to_pem(&csr).expect("pem");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));

        let decoded = CertReq::from_pem(pem.as_bytes()).expect("decodes back");
        assert_eq!(decoded.algorithm.oid, rfc5912::ECDSA_WITH_SHA_256);
        assert_eq!(decoded.algorithm.parameters, None);
        assert_eq!(
            decoded.info.subject.to_string(),
            "CN=device-42.example.com,OU=Édge,O=Keyward Ltd,L=Cambridge,ST=Cambs,C=GB"
        );

        // The signature verifies over the DER request info with the request's own key.
        let spki_der = decoded.info.public_key.to_der().expect("spki");
        let verifying = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der).expect("vk");
        assert_eq!(&verifying, key.verifying_key());
        let sig = p256::ecdsa::Signature::from_der(decoded.signature.raw_bytes()).expect("sig");
        let info_der = decoded.info.to_der().expect("info");
        verifying
            .verify(&info_der, &sig)
            .expect("signature verifies");

        // And it does not verify over anything else.
        let mut tampered = info_der.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(verifying.verify(&tampered, &sig).is_err());

        // The SANs came through in an extensionRequest.
        let attr = decoded
            .info
            .attributes
            .iter()
            .next()
            .expect("one attribute");
        assert_eq!(attr.oid, rfc5912::ID_EXTENSION_REQ);
        let value = attr.values.iter().next().expect("value");
        let extensions: Vec<Extension> = value.decode_as().expect("extensions");
        assert_eq!(extensions[0].extn_id, rfc5912::ID_CE_SUBJECT_ALT_NAME);
        let names = SanExtension::from_der(extensions[0].extn_value.as_bytes()).expect("san");
        assert_eq!(names.0.len(), 4);
        assert_eq!(
            names.0[1],
            GeneralName::from("10.0.0.7".parse::<IpAddr>().expect("ip"))
        );
    }

    #[test]
    fn rsa_csr_decodes_and_verifies() {
        use rsa::pkcs8::DecodePrivateKey;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(include_str!("testdata/rsa2048-test-key.pem"))
            .expect("test key");
        let public = key.to_public_key();
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
        let csr = build_csr::<_, rsa::pkcs1v15::Signature>(
            &signer,
            &SubjectFields::common_name("rsa"),
            &[],
        )
        .expect("csr");
        let decoded = CertReq::from_der(&csr.to_der().expect("der")).expect("decodes");
        assert_eq!(decoded.algorithm.oid, rfc5912::SHA_256_WITH_RSA_ENCRYPTION);
        assert_eq!(decoded.algorithm.parameters, Some(Any::null()));
        assert!(decoded.info.attributes.is_empty());
        let digest = crate::keys::digest(
            keyward_protocol::psa::Hash::Sha256,
            &decoded.info.to_der().expect("info"),
        )
        .expect("digest");
        public
            .verify(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &digest,
                decoded.signature.raw_bytes(),
            )
            .expect("signature verifies");
    }

    #[test]
    fn subject_validation() {
        assert!(SubjectFields::common_name("").to_name().is_err());
        let mut bad_country = SubjectFields::common_name("x");
        bad_country.country = Some("GBR".to_owned());
        assert!(bad_country.to_name().is_err());
        let mut bad_serial = SubjectFields::common_name("x");
        bad_serial.serial_number = Some("no*stars".to_owned());
        assert!(bad_serial.to_name().is_err());
    }

    #[test]
    fn san_parsing() {
        let cases = [
            ("example.com", SubjectAltName::Dns("example.com".to_owned())),
            ("DNS:a.example", SubjectAltName::Dns("a.example".to_owned())),
            (
                "192.0.2.1",
                SubjectAltName::Ip("192.0.2.1".parse().expect("ip")),
            ),
            (
                "ip:2001:db8::1",
                SubjectAltName::Ip("2001:db8::1".parse().expect("ip")),
            ),
            ("email:a@b.c", SubjectAltName::Email("a@b.c".to_owned())),
            (
                "URI:https://x/y",
                SubjectAltName::Uri("https://x/y".to_owned()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                text.parse::<SubjectAltName>().expect(text),
                expected,
                "{text}"
            );
        }
        assert!("IP:not-an-ip".parse::<SubjectAltName>().is_err());
        assert!("DNS:".parse::<SubjectAltName>().is_err());
        // Non-ASCII DNS names must be punycoded by the caller.
        let idn: SubjectAltName = "DNS:bücher.example".parse().expect("parses");
        assert!(idn.to_general_name().is_err());
    }
}
