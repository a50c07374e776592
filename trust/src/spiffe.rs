//! SPIFFE IDs (`spiffe://<trust-domain>/<path>`), validated by the SPIFFE ID rules
//! (SPIFFE-ID.md §2): a lowercase trust domain of `[a-z0-9._-]`, path segments of
//! `[A-Za-z0-9._-]` that are neither empty nor `.` or `..`, and nothing else a URI could carry
//! (port, userinfo, query, fragment, percent-encoding). The character rules are what make two
//! equal-looking IDs equal as strings, so IDs are compared as strings and never normalised.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest SPIFFE ID accepted, in bytes (the SPIFFE ID specification's bound).
pub const MAX_SPIFFE_ID_LEN: usize = 2048;
/// The longest trust domain name accepted, in bytes (a DNS name's bound; ours, not the spec's).
pub const MAX_TRUST_DOMAIN_LEN: usize = 255;

const SCHEME_PREFIX: &str = "spiffe://";

/// Why a string is not a SPIFFE ID (or not a trust domain name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpiffeIdError {
    #[error("the SPIFFE ID is empty")]
    Empty,
    #[error("the SPIFFE ID is {len} bytes long; at most {max} are accepted")]
    TooLong { len: usize, max: usize },
    #[error("a SPIFFE ID starts with \"spiffe://\" (lowercase)")]
    WrongScheme,
    #[error("the trust domain is missing")]
    MissingTrustDomain,
    #[error("the trust domain is {len} bytes long; at most {max} are accepted")]
    TrustDomainTooLong { len: usize, max: usize },
    #[error("the trust domain contains {0:?}; only lowercase letters, digits, '.', '-' and '_' are allowed")]
    BadTrustDomainChar(char),
    #[error("a SPIFFE ID carries no port")]
    Port,
    #[error("a SPIFFE ID carries no userinfo")]
    Userinfo,
    #[error("a SPIFFE ID carries no query")]
    Query,
    #[error("a SPIFFE ID carries no fragment")]
    Fragment,
    #[error("the path has an empty segment")]
    EmptySegment,
    #[error("the path ends with '/'")]
    TrailingSlash,
    #[error("the path has a '.' or '..' segment")]
    DotSegment,
    #[error("the path contains {0:?}; only letters, digits, '.', '-' and '_' are allowed")]
    BadPathChar(char),
}

/// A trust domain name (`example.org`), validated.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrustDomain(String);

impl TrustDomain {
    /// Validates a trust domain name (without scheme).
    pub fn new(name: &str) -> Result<Self, SpiffeIdError> {
        check_trust_domain(name)?;
        Ok(TrustDomain(name.to_owned()))
    }

    /// The name, e.g. `example.org`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TrustDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustDomain({:?})", self.0)
    }
}

impl fmt::Display for TrustDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TrustDomain {
    type Err = SpiffeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrustDomain::new(s)
    }
}

/// A SPIFFE ID, validated: holding one proves the string follows the SPIFFE ID rules.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpiffeId {
    id: String,
    /// Length of the trust domain, which starts right after the scheme.
    trust_domain_len: usize,
}

impl SpiffeId {
    /// Parses and validates `spiffe://<trust-domain>[/<path>]`.
    pub fn parse(id: &str) -> Result<Self, SpiffeIdError> {
        if id.is_empty() {
            return Err(SpiffeIdError::Empty);
        }
        if id.len() > MAX_SPIFFE_ID_LEN {
            return Err(SpiffeIdError::TooLong {
                len: id.len(),
                max: MAX_SPIFFE_ID_LEN,
            });
        }
        let rest = id
            .strip_prefix(SCHEME_PREFIX)
            .ok_or(SpiffeIdError::WrongScheme)?;
        let (trust_domain, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        check_trust_domain(trust_domain)?;
        if let Some(path) = path.strip_prefix('/') {
            check_path(path)?;
        }
        Ok(SpiffeId {
            id: id.to_owned(),
            trust_domain_len: trust_domain.len(),
        })
    }

    /// The whole ID.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The trust domain name (`example.org` in `spiffe://example.org/app`).
    pub fn trust_domain(&self) -> &str {
        &self.id[SCHEME_PREFIX.len()..SCHEME_PREFIX.len() + self.trust_domain_len]
    }

    /// The path, empty or starting with `/` (`/app` in `spiffe://example.org/app`).
    pub fn path(&self) -> &str {
        &self.id[SCHEME_PREFIX.len() + self.trust_domain_len..]
    }

    /// True when the ID belongs to `trust_domain`.
    pub fn is_member_of(&self, trust_domain: &TrustDomain) -> bool {
        self.trust_domain() == trust_domain.as_str()
    }

    /// True when the ID names a workload: it has a path. (`spiffe://example.org` alone names
    /// the trust domain itself, which SVIDs must not carry.)
    pub fn is_workload(&self) -> bool {
        !self.path().is_empty()
    }

    /// True when the ID equals `prefix` or lies below it by whole path segments:
    /// `spiffe://td/apps/web` is under `spiffe://td/apps` and `spiffe://td`, not under
    /// `spiffe://td/app`.
    pub fn is_under(&self, prefix: &SpiffeId) -> bool {
        match self.id.strip_prefix(prefix.as_str()) {
            Some("") => true,
            Some(rest) => rest.starts_with('/'),
            None => false,
        }
    }
}

impl fmt::Debug for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpiffeId({:?})", self.id)
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl FromStr for SpiffeId {
    type Err = SpiffeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpiffeId::parse(s)
    }
}

impl TryFrom<String> for SpiffeId {
    type Error = SpiffeIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        SpiffeId::parse(&s)
    }
}

impl From<SpiffeId> for String {
    fn from(id: SpiffeId) -> String {
        id.id
    }
}

impl AsRef<str> for SpiffeId {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

/// Characters that mean the string carries a URI part a SPIFFE ID must not have; named so the
/// error says what is wrong rather than "bad character".
fn uri_part_error(c: char) -> Option<SpiffeIdError> {
    match c {
        ':' => Some(SpiffeIdError::Port),
        '@' => Some(SpiffeIdError::Userinfo),
        '?' => Some(SpiffeIdError::Query),
        '#' => Some(SpiffeIdError::Fragment),
        _ => None,
    }
}

fn check_trust_domain(name: &str) -> Result<(), SpiffeIdError> {
    if name.is_empty() {
        return Err(SpiffeIdError::MissingTrustDomain);
    }
    for c in name.chars() {
        if let Some(err) = uri_part_error(c) {
            return Err(err);
        }
        if !matches!(c, 'a'..='z' | '0'..='9' | '.' | '-' | '_') {
            return Err(SpiffeIdError::BadTrustDomainChar(c));
        }
    }
    if name.len() > MAX_TRUST_DOMAIN_LEN {
        return Err(SpiffeIdError::TrustDomainTooLong {
            len: name.len(),
            max: MAX_TRUST_DOMAIN_LEN,
        });
    }
    Ok(())
}

/// Checks the path after its leading `/`.
fn check_path(path: &str) -> Result<(), SpiffeIdError> {
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len() - 1;
    for (index, segment) in segments.iter().enumerate() {
        for c in segment.chars() {
            if let Some(err) = uri_part_error(c) {
                return Err(err);
            }
            if !matches!(c, 'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_') {
                return Err(SpiffeIdError::BadPathChar(c));
            }
        }
        match *segment {
            "" if index == last => return Err(SpiffeIdError::TrailingSlash),
            "" => return Err(SpiffeIdError::EmptySegment),
            "." | ".." => return Err(SpiffeIdError::DotSegment),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_parse_into_their_parts() {
        let cases: &[(&str, &str, &str)] = &[
            ("spiffe://example.org", "example.org", ""),
            ("spiffe://example.org/app", "example.org", "/app"),
            ("spiffe://example.org/a/b/c", "example.org", "/a/b/c"),
            (
                "spiffe://td-1_x.y/Ns/App.v2-b_c",
                "td-1_x.y",
                "/Ns/App.v2-b_c",
            ),
            ("spiffe://1/2", "1", "/2"),
            // Dots inside a segment are ordinary characters; only whole "." / ".." are refused.
            ("spiffe://td/...", "td", "/..."),
            ("spiffe://td/.hidden/a..b", "td", "/.hidden/a..b"),
        ];
        for (input, trust_domain, path) in cases {
            let id = SpiffeId::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(id.as_str(), *input);
            assert_eq!(id.trust_domain(), *trust_domain, "{input}");
            assert_eq!(id.path(), *path, "{input}");
            assert_eq!(id.is_workload(), !path.is_empty(), "{input}");
            assert_eq!(id.to_string(), *input);
        }
    }

    #[test]
    fn invalid_ids_are_refused_with_the_reason() {
        use SpiffeIdError::*;
        let long_path = format!("spiffe://td/{}", "a".repeat(MAX_SPIFFE_ID_LEN));
        let long_domain = format!("spiffe://{}", "a".repeat(MAX_TRUST_DOMAIN_LEN + 1));
        let cases: Vec<(&str, SpiffeIdError)> = vec![
            ("", Empty),
            ("spiffe:/td/app", WrongScheme),
            ("SPIFFE://td/app", WrongScheme),
            ("spiffe//td/app", WrongScheme),
            ("https://td/app", WrongScheme),
            (" spiffe://td/app", WrongScheme),
            ("spiffe://", MissingTrustDomain),
            ("spiffe:///app", MissingTrustDomain),
            ("spiffe://Example.org/app", BadTrustDomainChar('E')),
            ("spiffe://exa mple.org", BadTrustDomainChar(' ')),
            ("spiffe://ex%41mple.org", BadTrustDomainChar('%')),
            ("spiffe://exämple.org", BadTrustDomainChar('ä')),
            ("spiffe://td:8080/app", Port),
            ("spiffe://user@td/app", Userinfo),
            ("spiffe://user:pw@td/app", Port),
            ("spiffe://td?x=1", Query),
            ("spiffe://td/app?x=1", Query),
            ("spiffe://td#frag", Fragment),
            ("spiffe://td/app#frag", Fragment),
            ("spiffe://td/", TrailingSlash),
            ("spiffe://td/app/", TrailingSlash),
            ("spiffe://td//app", EmptySegment),
            ("spiffe://td/a//b", EmptySegment),
            ("spiffe://td/.", DotSegment),
            ("spiffe://td/..", DotSegment),
            ("spiffe://td/a/./b", DotSegment),
            ("spiffe://td/a/../b", DotSegment),
            ("spiffe://td/a b", BadPathChar(' ')),
            ("spiffe://td/a%2Fb", BadPathChar('%')),
            ("spiffe://td/a\\b", BadPathChar('\\')),
            ("spiffe://td/a\0b", BadPathChar('\0')),
            ("spiffe://td/ünï", BadPathChar('ü')),
            ("spiffe://td/a+b", BadPathChar('+')),
            (
                long_path.as_str(),
                TooLong {
                    len: long_path.len(),
                    max: MAX_SPIFFE_ID_LEN,
                },
            ),
            (
                long_domain.as_str(),
                TrustDomainTooLong {
                    len: MAX_TRUST_DOMAIN_LEN + 1,
                    max: MAX_TRUST_DOMAIN_LEN,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(SpiffeId::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn length_bound_is_inclusive() {
        let path = "a".repeat(MAX_SPIFFE_ID_LEN - "spiffe://td/".len());
        let at_bound = format!("spiffe://td/{path}");
        assert_eq!(at_bound.len(), MAX_SPIFFE_ID_LEN);
        assert!(SpiffeId::parse(&at_bound).is_ok());
        let domain = "a".repeat(MAX_TRUST_DOMAIN_LEN);
        assert!(TrustDomain::new(&domain).is_ok());
    }

    #[test]
    fn trust_domains_validate_like_the_id_part() {
        assert_eq!(
            TrustDomain::new("example.org").expect("ok").as_str(),
            "example.org"
        );
        for (bad, err) in [
            ("", SpiffeIdError::MissingTrustDomain),
            ("Example.org", SpiffeIdError::BadTrustDomainChar('E')),
            ("example.org/app", SpiffeIdError::BadTrustDomainChar('/')),
            ("example.org:1", SpiffeIdError::Port),
        ] {
            assert_eq!(TrustDomain::new(bad), Err(err), "{bad:?}");
        }
    }

    #[test]
    fn membership_and_prefixes_follow_segments() {
        let id = SpiffeId::parse("spiffe://td/apps/web").expect("id");
        let td = TrustDomain::new("td").expect("td");
        assert!(id.is_member_of(&td));
        assert!(!id.is_member_of(&TrustDomain::new("td2").expect("td")));
        // A trust domain that is a string prefix of another is not the same domain.
        let other = SpiffeId::parse("spiffe://td2/apps/web").expect("id");
        assert!(!other.is_member_of(&td));
        for (prefix, under) in [
            ("spiffe://td", true),
            ("spiffe://td/apps", true),
            ("spiffe://td/apps/web", true),
            ("spiffe://td/app", false),
            ("spiffe://td/apps/we", false),
            ("spiffe://td/apps/web/x", false),
            ("spiffe://t", false),
        ] {
            let prefix = SpiffeId::parse(prefix).expect("prefix");
            assert_eq!(id.is_under(&prefix), under, "{prefix}");
        }
        assert!(!other.is_under(&SpiffeId::parse("spiffe://td").expect("p")));
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let id: SpiffeId = serde_json::from_str("\"spiffe://td/app\"").expect("valid");
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            "\"spiffe://td/app\""
        );
        let err = serde_json::from_str::<SpiffeId>("\"spiffe://td/../x\"").expect_err("dot");
        assert!(err.to_string().contains("'.' or '..'"), "{err}");
        assert!(serde_json::from_str::<SpiffeId>("42").is_err());
    }
}
