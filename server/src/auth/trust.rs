//! The trust-store seam: where a daemon keeps the certificates a trusted component shared with
//! it (`ShareTrustBundle`: a root once, then rotating intermediates), and where whatever
//! verifies that component's signatures (the JWT authenticator, the identity provider's payload
//! checks) looks up the key to verify with.
//!
//! The contract and its implementation live in `keyward-trust` (certificate building and
//! verification, `PinnedTrustStore`, JWS and JWT verification); they are re-exported here so
//! the framework's authenticators and the daemons name one trait. The dependency points this
//! way (server → trust) because the JWT authenticator, which only this crate may write (it
//! makes `VerifiedIdentity` values), verifies tokens with `keyward-trust`.

pub use keyward_trust::{Shared, TrustError, TrustStore, TrustedKey};
