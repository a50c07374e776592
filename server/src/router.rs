//! The route table: one handler per opcode, each receiving a context that proves the access
//! check of its opcode passed, and its own operation's fields.
//!
//! A daemon registers handlers with the constructor for its opcode's access level
//! ([`Router::public`], [`Router::caller`], [`Router::admin`], [`Router::trusted_peer`],
//! [`Router::peer`], [`Router::crypto`]). The level comes from the protocol's opcode table, and
//! registering a handler under the wrong one does not compile. A handler of an authenticated
//! route receives a [`Caller`] holding a `&VerifiedIdentity` (not an `Option`), an admin route an
//! [`Admin`] that only the framework can build, and every handler receives the request struct of
//! its own operation (`keyward_protocol::ops::request::*`), never the whole `Operation` enum.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use keyward_protocol::opcode::{Access, Kind};
use keyward_protocol::ops::{Operation, OperationResult, Request};
use keyward_protocol::{Opcode, RequestHeader, ResponseStatus};
use tokio_util::sync::CancellationToken;

use crate::auth::{AccessPolicy, Authenticators};
use crate::config::Limits;
use crate::error::{DispatchError, WireError};
use crate::exec::{Executor, QueueId};
use crate::identity::{PeerCredentials, VerifiedIdentity};

/// A daemon built on this framework: its state, its errors, what its crypto requests address.
pub trait Daemon: Send + Sync + Sized + 'static {
    /// The daemon's error type: one table from error to wire status.
    type Error: WireError + From<DispatchError>;
    /// What a crypto request (provider ID ≠ 0) addresses: keywardd's providers. A daemon
    /// without crypto operations uses `()` and refuses every provider ID.
    type Target: ?Sized + Send + Sync + 'static;

    /// The route table.
    fn router(&self) -> &Router<Self>;
    /// The configured authenticators.
    fn authenticators(&self) -> &Authenticators;
    /// Admins and the trusted peer.
    fn access(&self) -> &AccessPolicy;
    /// The listener's limits.
    fn limits(&self) -> &Limits;
    /// The daemon's work queues.
    fn executor(&self) -> &Executor;

    /// Resolves the provider ID of an authenticated request, in Parsec's order: an
    /// unconfigured provider, a core operation sent to a crypto provider or a crypto operation
    /// sent to the core provider are refused here. `None` for core operations.
    fn target(&self, header: &RequestHeader) -> Result<Option<Arc<Self::Target>>, Self::Error>;

    /// Where a decoded request runs: inline on the async workers, or on one of the daemon's
    /// queues (see [`crate::exec`]).
    fn placement(&self, request: &Placing<'_, Self>) -> Placement;

    /// Called once per routed request with its outcome (audit logs, metrics).
    fn finished(&self, _outcome: &Finished<'_>) {}
}

/// What [`Daemon::placement`] decides from.
pub struct Placing<'a, D: Daemon> {
    pub header: &'a RequestHeader,
    pub identity: Option<&'a VerifiedIdentity>,
    pub target: Option<&'a D::Target>,
    pub operation: &'a Operation,
    /// Length of the request body as received.
    pub body_len: usize,
}

impl<D: Daemon> std::fmt::Debug for Placing<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placing")
            .field("header", self.header)
            .field("identity", &self.identity)
            .field("operation", self.operation)
            .finish_non_exhaustive()
    }
}

/// Where a request runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the async worker that read it (microseconds of work).
    Inline,
    /// On the blocking pool, through this queue.
    Queue(QueueId),
}

/// A routed request's outcome, for [`Daemon::finished`].
#[derive(Debug)]
pub struct Finished<'a> {
    pub header: &'a RequestHeader,
    pub identity: Option<&'a VerifiedIdentity>,
    pub key_name: Option<&'a str>,
    pub status: ResponseStatus,
}

/// Context of a public route: the caller may or may not have authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Public<'a> {
    pub header: &'a RequestHeader,
    pub identity: Option<&'a VerifiedIdentity>,
}

/// Context of an authenticated route.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub header: &'a RequestHeader,
    pub identity: &'a VerifiedIdentity,
    /// Fires when the client's connection closes before the answer is sent.
    pub cancel: &'a CancellationToken,
}

/// Proof that the admin check passed; only this module can make one.
#[derive(Debug, Clone, Copy)]
pub struct AdminProof(());

/// Context of an admin route.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    pub header: &'a RequestHeader,
    /// A configured admin.
    pub identity: &'a VerifiedIdentity,
    pub proof: AdminProof,
}

/// Proof that the connection's peer is the configured trusted component.
#[derive(Debug, Clone, Copy)]
pub struct TrustedPeerProof(());

/// Context of a trusted-peer route (ShareTrustBundle, the orchestrator's operations).
#[derive(Debug, Clone, Copy)]
pub struct TrustedPeer<'a> {
    pub header: &'a RequestHeader,
    pub peer: &'a PeerCredentials,
    pub identity: Option<&'a VerifiedIdentity>,
    pub proof: TrustedPeerProof,
}

/// Context of a route that identifies the caller by its connection (FetchToken).
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    pub header: &'a RequestHeader,
    pub peer: &'a PeerCredentials,
}

/// Context of a crypto route: an authenticated caller and the provider it addressed.
pub struct Crypto<'a, T: ?Sized> {
    pub header: &'a RequestHeader,
    pub identity: &'a VerifiedIdentity,
    pub target: &'a T,
    /// Fires when the client's connection closes before the answer is sent.
    pub cancel: &'a CancellationToken,
}

impl<T: ?Sized> std::fmt::Debug for Crypto<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crypto")
            .field("header", self.header)
            .field("identity", self.identity)
            .finish_non_exhaustive()
    }
}

/// Which check the framework passed before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granted {
    Public,
    Authenticated,
    Admin,
    TrustedPeer,
    Peer,
}

/// Everything known about a request once it passed its checks (owned, so it can move to a
/// blocking thread with its job).
pub(crate) struct Prepared<D: Daemon> {
    pub header: RequestHeader,
    pub identity: Option<VerifiedIdentity>,
    pub peer: Option<PeerCredentials>,
    pub target: Option<Arc<D::Target>>,
    pub cancel: CancellationToken,
    pub granted: Granted,
    pub body_len: usize,
}

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type Call<D> = Box<
    dyn Fn(
            Arc<D>,
            Prepared<D>,
            Operation,
        ) -> BoxFuture<Result<OperationResult, <D as Daemon>::Error>>
        + Send
        + Sync,
>;

/// The route table of daemon `D`.
pub struct Router<D: Daemon> {
    routes: HashMap<Opcode, Call<D>>,
}

impl<D: Daemon> std::fmt::Debug for Router<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut opcodes: Vec<&Opcode> = self.routes.keys().collect();
        opcodes.sort();
        f.debug_struct("Router").field("routes", &opcodes).finish()
    }
}

impl<D: Daemon> Default for Router<D> {
    fn default() -> Self {
        Router {
            routes: HashMap::new(),
        }
    }
}

/// The handler type of each access level.
pub type PublicHandler<D, R> =
    for<'a, 'b> fn(&'a D, Public<'b>, R) -> Result<<R as Request>::Reply, <D as Daemon>::Error>;
pub type CallerHandler<D, R> =
    for<'a, 'b> fn(&'a D, Caller<'b>, R) -> Result<<R as Request>::Reply, <D as Daemon>::Error>;
pub type AdminHandler<D, R> =
    for<'a, 'b> fn(&'a D, Admin<'b>, R) -> Result<<R as Request>::Reply, <D as Daemon>::Error>;
pub type TrustedPeerHandler<D, R> =
    for<'a, 'b> fn(
        &'a D,
        TrustedPeer<'b>,
        R,
    ) -> Result<<R as Request>::Reply, <D as Daemon>::Error>;
pub type PeerHandler<D, R> =
    for<'a, 'b> fn(&'a D, Peer<'b>, R) -> Result<<R as Request>::Reply, <D as Daemon>::Error>;
pub type CryptoHandler<D, R> =
    for<'a, 'b> fn(
        &'a D,
        Crypto<'b, <D as Daemon>::Target>,
        R,
    ) -> Result<<R as Request>::Reply, <D as Daemon>::Error>;

fn missing<E: From<DispatchError>>(what: &'static str) -> E {
    // Unreachable: the framework grants the route's access level before calling it.
    E::from(DispatchError::Internal(what))
}

impl<D: Daemon> Router<D> {
    /// An empty table.
    pub fn new() -> Self {
        Router::default()
    }

    /// True when `opcode` has a handler.
    pub fn serves(&self, opcode: Opcode) -> bool {
        self.routes.contains_key(&opcode)
    }

    /// The opcodes with handlers, sorted.
    pub fn opcodes(&self) -> Vec<Opcode> {
        let mut opcodes: Vec<Opcode> = self.routes.keys().copied().collect();
        opcodes.sort_unstable();
        opcodes
    }

    pub(crate) fn get(&self, opcode: Opcode) -> Option<&Call<D>> {
        self.routes.get(&opcode)
    }

    fn insert<R: Request>(mut self, call: Call<D>) -> Self {
        let previous = self.routes.insert(R::OPCODE, call);
        assert!(
            previous.is_none(),
            "{:?} is routed twice: a daemon's route table is built once, at start",
            R::OPCODE
        );
        self
    }

    /// A public core route.
    pub fn public<R: Request>(self, handler: PublicHandler<D, R>) -> Self {
        const {
            assert!(
                matches!(R::OPCODE.access(), Access::Public)
                    && matches!(R::OPCODE.kind(), Kind::Core),
                "this opcode is not a public core operation"
            )
        };
        self.insert::<R>(erase::<D, R>(move |d, p, r| {
            handler(
                d,
                Public {
                    header: &p.header,
                    identity: p.identity.as_ref(),
                },
                r,
            )
        }))
    }

    /// An authenticated core route.
    pub fn caller<R: Request>(self, handler: CallerHandler<D, R>) -> Self {
        const {
            assert!(
                matches!(R::OPCODE.access(), Access::Authenticated)
                    && matches!(R::OPCODE.kind(), Kind::Core),
                "this opcode is not an authenticated core operation"
            )
        };
        self.insert::<R>(erase::<D, R>(move |d, p, r| {
            let identity = p.identity.as_ref().ok_or_else(|| missing("identity"))?;
            handler(
                d,
                Caller {
                    header: &p.header,
                    identity,
                    cancel: &p.cancel,
                },
                r,
            )
        }))
    }

    /// An admin core route.
    pub fn admin<R: Request>(self, handler: AdminHandler<D, R>) -> Self {
        const {
            assert!(
                matches!(R::OPCODE.access(), Access::Admin),
                "this opcode is not an admin operation"
            )
        };
        self.insert::<R>(erase::<D, R>(move |d, p, r| {
            let identity = p.identity.as_ref().ok_or_else(|| missing("identity"))?;
            if p.granted != Granted::Admin {
                return Err(missing("admin check"));
            }
            handler(
                d,
                Admin {
                    header: &p.header,
                    identity,
                    proof: AdminProof(()),
                },
                r,
            )
        }))
    }

    /// A route only the configured trusted peer may call.
    pub fn trusted_peer<R: Request>(self, handler: TrustedPeerHandler<D, R>) -> Self {
        const {
            assert!(
                matches!(R::OPCODE.access(), Access::TrustedPeer),
                "this opcode is not a trusted-peer operation"
            )
        };
        self.insert::<R>(erase::<D, R>(move |d, p, r| {
            let peer = p.peer.as_ref().ok_or_else(|| missing("peer"))?;
            if p.granted != Granted::TrustedPeer {
                return Err(missing("trusted peer check"));
            }
            handler(
                d,
                TrustedPeer {
                    header: &p.header,
                    peer,
                    identity: p.identity.as_ref(),
                    proof: TrustedPeerProof(()),
                },
                r,
            )
        }))
    }

    /// A route that identifies its caller by the connection's peer credentials.
    pub fn peer<R: Request>(self, handler: PeerHandler<D, R>) -> Self {
        const {
            assert!(
                matches!(R::OPCODE.access(), Access::Peer),
                "this opcode is not a peer-credential operation"
            )
        };
        self.insert::<R>(erase::<D, R>(move |d, p, r| {
            let peer = p.peer.as_ref().ok_or_else(|| missing("peer"))?;
            handler(
                d,
                Peer {
                    header: &p.header,
                    peer,
                },
                r,
            )
        }))
    }

    /// A crypto route: an authenticated caller and the provider it addressed.
    pub fn crypto<R: Request>(self, handler: CryptoHandler<D, R>) -> Self {
        const {
            assert!(
                matches!(R::OPCODE.kind(), Kind::Crypto)
                    && matches!(R::OPCODE.access(), Access::Authenticated),
                "this opcode is not a crypto operation"
            )
        };
        self.insert::<R>(erase::<D, R>(move |d, p, r| {
            let identity = p.identity.as_ref().ok_or_else(|| missing("identity"))?;
            let target = p.target.as_deref().ok_or_else(|| missing("target"))?;
            handler(
                d,
                Crypto {
                    header: &p.header,
                    identity,
                    target,
                    cancel: &p.cancel,
                },
                r,
            )
        }))
    }
}

/// Turns a typed call into a table entry: convert the decoded operation into the route's
/// request struct, then run the call where the daemon places it.
fn erase<D: Daemon, R: Request>(
    call: impl Fn(&D, &Prepared<D>, R) -> Result<R::Reply, D::Error> + Copy + Send + Sync + 'static,
) -> Call<D> {
    Box::new(
        move |daemon: Arc<D>, prepared: Prepared<D>, operation: Operation| {
            let placement = daemon.placement(&Placing {
                header: &prepared.header,
                identity: prepared.identity.as_ref(),
                target: prepared.target.as_deref(),
                operation: &operation,
                body_len: prepared.body_len,
            });
            let request = match R::try_from(operation) {
                Ok(request) => request,
                Err(_) => {
                    return Box::pin(std::future::ready(Err(missing(
                        "operation decoded for another opcode",
                    ))))
                }
            };
            match placement {
                Placement::Inline => {
                    let result = call(&daemon, &prepared, request).map(Into::into);
                    Box::pin(std::future::ready(result))
                }
                Placement::Queue(queue) => Box::pin(async move {
                    let cancel = prepared.cancel.clone();
                    let worker = daemon.clone();
                    daemon
                        .executor()
                        .run(queue, &cancel, move || {
                            call(&worker, &prepared, request).map(Into::into)
                        })
                        .await
                        .map_err(|err| D::Error::from(DispatchError::Exec(err)))?
                }),
            }
        },
    )
}
