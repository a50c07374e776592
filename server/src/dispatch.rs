//! The path of one request after its frame was read, in Parsec's order of checks (reference
//! §1.5) so error statuses match its behaviour: header → authentication → provider (the
//! daemon's target) → route → access → body decode → memory for the reply → handler (inline or
//! queued) → encode. Every error becomes a status here; nothing is left to the handlers.

use std::sync::Arc;

use keyward_protocol::codec::{decode_operation, encode_result};
use keyward_protocol::header::WireHeader;
use keyward_protocol::opcode::Access;
use keyward_protocol::{RequestHeader, ResponseStatus};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::conn::{Frame, READ_BUFFER_LEN};
use crate::error::{DispatchError, ErrorChain, WireError};
use crate::identity::PeerCredentials;
use crate::router::{Daemon, Finished, Granted, Prepared};
use crate::tenants::{Reservation, Tenant, Tenants};

/// A response ready to be written, and the budget its body holds until then.
pub(crate) struct Response {
    pub header: WireHeader,
    pub body: Zeroizing<Vec<u8>>,
    pub _reservation: Option<Reservation>,
}

impl Response {
    pub(crate) fn from_status(status: ResponseStatus) -> Self {
        Response {
            header: WireHeader::response_from_status(status),
            body: Zeroizing::new(Vec::new()),
            _reservation: None,
        }
    }

    fn to_request(header: &RequestHeader, status: ResponseStatus) -> Self {
        Response {
            header: WireHeader::response_to(header, status, 0),
            body: Zeroizing::new(Vec::new()),
            _reservation: None,
        }
    }
}

/// Handles one request completely; never fails: every error becomes a status.
pub(crate) async fn handle<D: Daemon>(
    daemon: &Arc<D>,
    frame: Frame,
    peer: Option<PeerCredentials>,
    tenants: &Arc<Tenants>,
    tenant: &Arc<Tenant>,
    cancel: &CancellationToken,
) -> Response {
    let header = match frame.header.validate_request() {
        Ok(header) => header,
        Err(status) => return Response::from_status(status),
    };
    match serve(daemon, header, frame, peer, tenants, tenant, cancel).await {
        Ok(response) => response,
        Err(err) => {
            tracing::debug!(opcode = ?header.opcode, error = %ErrorChain(&err), "request failed");
            Response::to_request(&header, err.status())
        }
    }
}

async fn serve<D: Daemon>(
    daemon: &Arc<D>,
    header: RequestHeader,
    frame: Frame,
    peer: Option<PeerCredentials>,
    tenants: &Arc<Tenants>,
    tenant: &Arc<Tenant>,
    cancel: &CancellationToken,
) -> Result<Response, D::Error> {
    let Frame {
        body,
        auth,
        reservation: _body_reservation,
        ..
    } = frame;
    let identity = daemon
        .authenticators()
        .authenticate(header.auth_type, &auth, peer)
        .map_err(DispatchError::from)?;
    drop(auth);
    let target = daemon.target(&header)?;
    let call = daemon
        .router()
        .get(header.opcode)
        .ok_or(DispatchError::NotServed(header.opcode))?;
    let policy = daemon.access();
    let granted = match header.opcode.access() {
        Access::Public => Granted::Public,
        Access::Authenticated => {
            identity.as_ref().ok_or(DispatchError::NotAuthenticated)?;
            Granted::Authenticated
        }
        Access::Admin => {
            let caller = identity.as_ref().ok_or(DispatchError::NotAuthenticated)?;
            if !policy.is_admin(caller) {
                return Err(DispatchError::NotAdmin.into());
            }
            Granted::Admin
        }
        Access::TrustedPeer => {
            let peer = peer.as_ref().ok_or(DispatchError::NoPeerCredentials)?;
            if !policy.is_trusted_peer(peer) {
                return Err(DispatchError::NotTrustedPeer { uid: peer.uid }.into());
            }
            Granted::TrustedPeer
        }
        Access::Peer => {
            peer.as_ref().ok_or(DispatchError::NoPeerCredentials)?;
            Granted::Peer
        }
    };
    let body_len = body.len();
    let operation = decode_operation(header.opcode, &body).map_err(DispatchError::from)?;
    // The decoded operation holds its own copies; the raw bytes go (wiped) now, while their
    // reservation stays until the request ends, covering those copies.
    drop(body);
    let limits = daemon.limits();
    let max_response = limits.max_response_len as usize;
    let bound = operation.reply_bound(max_response);
    let mut reply_reservation = if bound > READ_BUFFER_LEN {
        Some(
            tenants
                .reserve(tenant, bound, limits.queue_timeout())
                .await
                .map_err(DispatchError::from)?,
        )
    } else {
        None
    };
    let key_name = operation.key_name().map(str::to_owned);
    let prepared = Prepared {
        header,
        identity: identity.clone(),
        peer,
        target,
        cancel: cancel.clone(),
        granted,
        body_len,
    };
    let outcome = call(daemon.clone(), prepared, operation).await;
    let encoded = outcome.and_then(|result| {
        let body = Zeroizing::new(encode_result(&result));
        if body.len() > max_response {
            return Err(D::Error::from(DispatchError::ResponseTooLarge(
                limits.max_response_len,
            )));
        }
        Ok(body)
    });
    daemon.finished(&Finished {
        header: &header,
        identity: identity.as_ref(),
        key_name: key_name.as_deref(),
        status: match &encoded {
            Ok(_) => ResponseStatus::Success,
            Err(err) => err.status(),
        },
    });
    let body = encoded?;
    if let Some(held) = reply_reservation.as_mut() {
        held.shrink_to(body.len());
    }
    let body_len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    Ok(Response {
        header: WireHeader::response_to(&header, ResponseStatus::Success, body_len),
        body,
        _reservation: reply_reservation,
    })
}

/// Runs one request through the whole pipeline without a socket (for daemons' unit tests of
/// the order of checks); `peer` stands for the connection's credentials.
#[cfg(any(test, feature = "test-support"))]
pub async fn handle_for_tests<D: Daemon>(
    daemon: &Arc<D>,
    header: WireHeader,
    body: Vec<u8>,
    auth: Vec<u8>,
    peer: Option<PeerCredentials>,
) -> (WireHeader, Vec<u8>) {
    let tenants = crate::tenants_for(daemon.limits());
    let uid = peer.map_or(u32::MAX, |p| p.uid);
    let slot = match tenants.connect(uid) {
        Ok(slot) => slot,
        Err(_) => {
            return (
                WireHeader::response_from_status(ResponseStatus::Busy),
                Vec::new(),
            )
        }
    };
    let frame = Frame {
        header,
        body: Zeroizing::new(body),
        auth: Zeroizing::new(auth),
        reservation: None,
    };
    let cancel = CancellationToken::new();
    let response = handle(daemon, frame, peer, &tenants, slot.tenant(), &cancel).await;
    (response.header, response.body.to_vec())
}
