//! The trust store: what a trusting daemon keeps of one trusted component (ShareTrustBundle's
//! rules in `docs/identity.md`): a **pinned root** (the first certificate shared with the root
//! flag; the same public key again is an idempotent success, another key `RootAlreadyShared`)
//! and the **current intermediate** (verified against the root, replacing the previous one at
//! once; the same one again is an idempotent success). [`TrustStore::epoch`] changes on every
//! change, so caches of verified signatures can be dropped.
//!
//! State survives restarts through [`TrustPersistence`], which the daemon implements
//! (keywardd: its SQLite key store; the IdP: [`crate::persist::FilePersistence`] in its state
//! directory). Every change is persisted *before* it becomes visible, and a failed write
//! changes nothing: a pinned root is on disk before anyone is told it is pinned, so a restart
//! cannot be raced by another root. Loading re-checks everything, the intermediate's validity
//! included.
//!
//! Reads take a read lock for a few pointer copies (or, for [`TrustStore::epoch`], no lock);
//! writers are serialised by their own mutex so a slow disk never blocks verification.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use crate::cert::{
    verify_intermediate, CertError, CertPolicy, RootCertificate, VerifiedIntermediate,
};
use crate::key::Kid;
use crate::Refusal;

/// A verification key the trust store currently accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key's identifier as signatures name it (JWS/JWT `kid`).
    pub kid: Kid,
    /// The public key, DER `SubjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    /// Signatures by this key are not valid after this instant (the certificate's notAfter).
    pub not_after: SystemTime,
    /// The store's epoch when this key was read. Read together with the key, so a result
    /// cached under it can never outlive the key (reading the epoch separately could pair a
    /// superseded key with the new epoch).
    pub epoch: u64,
}

/// Why a shared certificate was refused, or the store could not change.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("a root with a different public key is already pinned")]
    RootAlreadyShared,
    #[error("no root has been shared yet")]
    NoRootYet,
    #[error("the intermediate has expired")]
    Stale(#[source] CertError),
    #[error("certificate refused")]
    Refused(#[source] CertError),
    #[error("persisting the trust state failed")]
    Persistence(#[source] PersistError),
}

impl TrustError {
    /// The wire refusal this maps to (see [`Refusal`]).
    pub fn refusal(&self) -> Refusal {
        match self {
            TrustError::RootAlreadyShared => Refusal::RootAlreadyShared,
            TrustError::NoRootYet => Refusal::NoRootYet,
            TrustError::Stale(_) => Refusal::StaleIntermediate,
            TrustError::Refused(_) => Refusal::TrustVerificationFailed,
            TrustError::Persistence(_) => Refusal::Internal,
        }
    }

    fn from_cert(err: CertError) -> Self {
        if err.is_stale() {
            TrustError::Stale(err)
        } else {
            TrustError::Refused(err)
        }
    }
}

/// What a successful share did (for the audit log and the sharer's healing loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// The root was pinned (the first root).
    RootPinned,
    /// The root was already pinned with this public key: nothing changed.
    RootUnchanged,
    /// The intermediate was verified and replaced the previous one (or was the first).
    IntermediateReplaced,
    /// The intermediate is the current one and still valid: nothing changed.
    IntermediateUnchanged,
}

/// Trust anchors shared by one trusted component: the seam between ShareTrustBundle and
/// whatever verifies that component's signatures (keywardd's JWT authenticator, the IdP's
/// payload checks). One value serves both sides, so an intermediate that is replaced stops
/// verifying anything at once.
///
/// (Moved here from `keyward-server`, which re-exports it: the JWT authenticator in the
/// server crate verifies with this crate, so the trait must live below both.)
pub trait TrustStore: Send + Sync {
    /// Accepts a root certificate or an intermediate verified against the root (the rules
    /// above).
    fn share(&self, certificate_der: &[u8], is_root: bool) -> Result<Shared, TrustError>;

    /// The key currently trusted under `kid`: the current intermediate's, or none (unknown or
    /// superseded kid, no intermediate yet). Verifiers still check its `not_after`.
    fn verifying_key(&self, kid: &str) -> Option<TrustedKey>;

    /// Changes every time the set of trusted keys changes.
    fn epoch(&self) -> u64;
}

/// A persistence failure, from the daemon's storage.
pub type PersistError = Box<dyn std::error::Error + Send + Sync>;

/// The public state a trust store persists: the pinned root and the last accepted
/// intermediate, as DER.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersistedTrust {
    pub root: Option<Vec<u8>>,
    pub intermediate: Option<Vec<u8>>,
}

/// Where a trust store keeps its state across restarts; implemented by each daemon. Calls are
/// serialised by the store. Only public certificates pass through it.
pub trait TrustPersistence: Send + Sync {
    /// The persisted state; empty on first start.
    fn load(&self) -> Result<PersistedTrust, PersistError>;
    /// Replaces the persisted state; must be durable when it returns `Ok`.
    fn save(&self, state: &PersistedTrust) -> Result<(), PersistError>;
}

/// What [`PinnedTrustStore::open`] found (for the daemon's start-up log).
#[derive(Debug)]
pub struct LoadReport {
    /// A pinned root was loaded.
    pub root: bool,
    /// What became of the persisted intermediate.
    pub intermediate: IntermediateLoad,
}

/// The fate of a persisted intermediate at start-up.
#[derive(Debug)]
pub enum IntermediateLoad {
    /// None was persisted.
    None,
    /// It verified and is current again.
    Loaded(Kid),
    /// It no longer verifies (usually: expired while the daemon was down); it was dropped and
    /// the trusted peer will share a new one.
    Dropped(CertError),
}

/// Where "now" comes from; a parameter so tests can move time.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Default)]
struct State {
    root: Option<Arc<RootCertificate>>,
    intermediate: Option<Arc<VerifiedIntermediate>>,
    epoch: u64,
}

/// The [`TrustStore`] implementation: pinned root, current intermediate, persistence.
pub struct PinnedTrustStore {
    state: RwLock<State>,
    /// Mirrors `state.epoch` for lock-free [`TrustStore::epoch`].
    epoch: AtomicU64,
    /// Serialises changes (verify → persist → swap), so persistence order is change order.
    writer: Mutex<()>,
    persistence: Box<dyn TrustPersistence>,
    policy: CertPolicy,
    clock: Clock,
}

impl std::fmt::Debug for PinnedTrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("PinnedTrustStore")
            .field("root", &state.root)
            .field(
                "intermediate",
                &state.intermediate.as_ref().map(|i| i.kid().clone()),
            )
            .field("epoch", &state.epoch)
            .finish_non_exhaustive()
    }
}

impl PinnedTrustStore {
    /// Opens the store from persisted state, with the system clock.
    pub fn open(
        persistence: Box<dyn TrustPersistence>,
        policy: CertPolicy,
    ) -> Result<(Self, LoadReport), TrustError> {
        Self::open_with_clock(persistence, policy, Arc::new(SystemTime::now))
    }

    /// Opens the store with a given clock. A persisted root that no longer parses is an error
    /// (the daemon must not silently forget its pin); a persisted intermediate that no longer
    /// verifies is dropped and reported.
    pub fn open_with_clock(
        persistence: Box<dyn TrustPersistence>,
        policy: CertPolicy,
        clock: Clock,
    ) -> Result<(Self, LoadReport), TrustError> {
        let persisted = persistence.load().map_err(TrustError::Persistence)?;
        let mut state = State {
            epoch: 1,
            ..State::default()
        };
        let mut report = LoadReport {
            root: false,
            intermediate: IntermediateLoad::None,
        };
        if let Some(der) = &persisted.root {
            let root = RootCertificate::from_der(der, &policy).map_err(TrustError::Refused)?;
            state.root = Some(Arc::new(root));
            report.root = true;
        }
        if let (Some(root), Some(der)) = (&state.root, &persisted.intermediate) {
            match verify_intermediate(der, root, clock(), &policy) {
                Ok(verified) => {
                    report.intermediate = IntermediateLoad::Loaded(verified.kid().clone());
                    state.intermediate = Some(Arc::new(verified));
                }
                Err(err) => report.intermediate = IntermediateLoad::Dropped(err),
            }
        }
        let store = PinnedTrustStore {
            epoch: AtomicU64::new(state.epoch),
            state: RwLock::new(state),
            writer: Mutex::new(()),
            persistence,
            policy,
            clock,
        };
        Ok((store, report))
    }

    /// The pinned root, if any.
    pub fn root(&self) -> Option<Arc<RootCertificate>> {
        self.read().root.clone()
    }

    /// The current intermediate, if any.
    pub fn intermediate(&self) -> Option<Arc<VerifiedIntermediate>> {
        self.read().intermediate.clone()
    }

    /// ReplaceTrustRoot (admin-only, logged by the caller): pins `certificate_der` as the new
    /// root whatever was pinned, and drops the intermediate (the trusted component shares a
    /// new one, issued by the new root).
    pub fn replace_root(&self, certificate_der: &[u8]) -> Result<(), TrustError> {
        let root = RootCertificate::from_der(certificate_der, &self.policy)
            .map_err(TrustError::Refused)?;
        let _writer = self.lock_writer();
        self.persist_and_swap(Some(Arc::new(root)), None)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-written (it is replaced by
        // whole values), so a poisoned lock is still consistent.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Persists the new state, then makes it visible with a new epoch. Caller holds `writer`.
    fn persist_and_swap(
        &self,
        root: Option<Arc<RootCertificate>>,
        intermediate: Option<Arc<VerifiedIntermediate>>,
    ) -> Result<(), TrustError> {
        let persisted = PersistedTrust {
            root: root.as_ref().map(|r| r.der().to_vec()),
            intermediate: intermediate.as_ref().map(|i| i.der().to_vec()),
        };
        self.persistence
            .save(&persisted)
            .map_err(TrustError::Persistence)?;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.root = root;
        state.intermediate = intermediate;
        state.epoch += 1;
        self.epoch.store(state.epoch, Ordering::Release);
        Ok(())
    }

    fn share_root(&self, certificate_der: &[u8]) -> Result<Shared, TrustError> {
        let root = RootCertificate::from_der(certificate_der, &self.policy)
            .map_err(TrustError::Refused)?;
        let _writer = self.lock_writer();
        let current = self.read().root.clone();
        match current {
            Some(pinned) if pinned.same_key(&root) => Ok(Shared::RootUnchanged),
            Some(_) => Err(TrustError::RootAlreadyShared),
            None => {
                self.persist_and_swap(Some(Arc::new(root)), None)?;
                Ok(Shared::RootPinned)
            }
        }
    }

    fn share_intermediate(&self, certificate_der: &[u8]) -> Result<Shared, TrustError> {
        if certificate_der.len() > self.policy.max_len {
            // Checked before anything else so an oversized blob costs nothing, root or not.
            return Err(TrustError::Refused(CertError::TooLarge {
                len: certificate_der.len(),
                max: self.policy.max_len,
            }));
        }
        let now = (self.clock)();
        let (root, current) = {
            let state = self.read();
            (state.root.clone(), state.intermediate.clone())
        };
        let root = root.ok_or(TrustError::NoRootYet)?;
        // The cheap "are you still there" probe: the current intermediate again.
        if let Some(current) = &current {
            if current.der() == certificate_der {
                current
                    .check_validity(now, self.policy.leeway)
                    .map_err(TrustError::from_cert)?;
                return Ok(Shared::IntermediateUnchanged);
            }
        }
        let verified = verify_intermediate(certificate_der, &root, now, &self.policy)
            .map_err(TrustError::from_cert)?;
        let _writer = self.lock_writer();
        // The root may have been replaced while we verified; verify against the one we swap
        // under, never a stale one.
        let pinned = self.read().root.clone();
        match pinned {
            Some(pinned) if Arc::ptr_eq(&pinned, &root) => {
                self.persist_and_swap(Some(pinned), Some(Arc::new(verified)))?;
                Ok(Shared::IntermediateReplaced)
            }
            Some(pinned) => {
                let verified = verify_intermediate(certificate_der, &pinned, now, &self.policy)
                    .map_err(TrustError::from_cert)?;
                self.persist_and_swap(Some(pinned), Some(Arc::new(verified)))?;
                Ok(Shared::IntermediateReplaced)
            }
            None => Err(TrustError::NoRootYet),
        }
    }
}

impl TrustStore for PinnedTrustStore {
    fn share(&self, certificate_der: &[u8], is_root: bool) -> Result<Shared, TrustError> {
        if is_root {
            self.share_root(certificate_der)
        } else {
            self.share_intermediate(certificate_der)
        }
    }

    fn verifying_key(&self, kid: &str) -> Option<TrustedKey> {
        let state = self.read();
        let current = state.intermediate.as_ref()?;
        (current.kid() == kid).then(|| TrustedKey {
            kid: current.kid().clone(),
            spki_der: current.public_key_spki().to_vec(),
            not_after: current.not_after(),
            epoch: state.epoch,
        })
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests;
