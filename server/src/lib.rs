//! keyward-server: the daemon framework keywardd and keyward-idp share.
//!
//! A daemon implements [`Daemon`] (its state, error type, route table and where each request
//! runs) and hands a bound socket to [`serve`]. The framework does the rest, the same way for
//! every daemon: per-user connection and memory shares ([`tenants`]), frame reading that never
//! allocates what a client only announced ([`conn`]), time-outs, the order of checks before a
//! handler runs ([`dispatch`]), authenticators producing [`VerifiedIdentity`] ([`auth`]), typed
//! routes ([`router`]), bounded queues for slow work ([`exec`]), and socket and path setup
//! ([`paths`]). It knows no provider and no key store.
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
mod conn;
mod dispatch;
pub mod error;
pub mod exec;
pub mod identity;
mod listener;
pub mod paths;
pub mod router;
pub mod tenants;
#[cfg(test)]
mod tests;

pub use auth::{AccessPolicy, Authenticators, TrustStore};
#[cfg(any(test, feature = "test-support"))]
pub use dispatch::handle_for_tests;
pub use error::{DispatchError, ErrorChain, WireError};
pub use exec::{Executor, QueueId};
pub use identity::{config_name, PeerCredentials, VerifiedIdentity};
pub use listener::{serve, tenants_for};
pub use router::{
    Admin, Caller, Crypto, Daemon, Finished, Peer, Placement, Placing, Public, Router, TrustedPeer,
};
