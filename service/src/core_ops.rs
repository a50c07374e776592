//! Core-provider operations: discovery (ping, providers, opcodes, authenticators), the
//! caller's keys, and admin operations on clients.

use keyward_protocol::header::{VERSION_MAJOR, VERSION_MINOR};
use keyward_protocol::opcode::{Kind, ALL_OPCODES};
use keyward_protocol::ops::{reply, request, KeyInfo, ProviderInfo};
use keyward_protocol::{Opcode, ProviderId};
use keyward_server::{Admin, Caller, Daemon, Public};

use crate::error::ServiceError;
use crate::service::Service;

/// Our core provider's identity in ListProviders (our own UUID, not Parsec's).
pub const CORE_PROVIDER_UUID: &str = "0d3b9f4e-6c1a-4b8e-9f2d-5a7c3e1b8d40";

pub fn ping(_: &Service, _: Public<'_>, _: request::Ping) -> Result<reply::Ping, ServiceError> {
    Ok(reply::Ping {
        wire_protocol_version_maj: VERSION_MAJOR,
        wire_protocol_version_min: VERSION_MINOR,
    })
}

fn core_info() -> ProviderInfo {
    let version = |index: usize| {
        env!("CARGO_PKG_VERSION")
            .split('.')
            .nth(index)
            .and_then(|part| part.parse().ok())
            .unwrap_or(0)
    };
    ProviderInfo {
        uuid: CORE_PROVIDER_UUID.into(),
        description: "Keyward core provider: discovery and administration (no cryptography)".into(),
        vendor: "Keyward".into(),
        version_maj: version(0),
        version_min: version(1),
        version_rev: version(2),
        id: ProviderId::Core as u8,
    }
}

pub fn list_providers(
    service: &Service,
    _: Public<'_>,
    _: request::ListProviders,
) -> Result<reply::ListProviders, ServiceError> {
    // Parsec lists providers in priority order with core last; clients take entry 0.
    let mut providers: Vec<ProviderInfo> = service.providers.iter().map(|p| p.info()).collect();
    providers.push(core_info());
    Ok(reply::ListProviders { providers })
}

pub fn list_opcodes(
    service: &Service,
    ctx: Public<'_>,
    request: request::ListOpcodes,
) -> Result<reply::ListOpcodes, ServiceError> {
    let id = ProviderId::from_u8(request.provider_id).ok_or(ServiceError::InvalidArgument(
        format!("no provider {}", request.provider_id),
    ))?;
    let router = service.router();
    let mut opcodes: Vec<Opcode> = match id {
        ProviderId::Core => ALL_OPCODES
            .iter()
            .copied()
            .filter(|op| op.kind() == Kind::Core && router.serves(*op))
            .collect(),
        id => service
            .served_opcodes(
                service
                    .provider(id)
                    .ok_or(ServiceError::ProviderNotRegistered(request.provider_id))?
                    .as_ref(),
            )
            .iter()
            .copied()
            .filter(|op| router.serves(*op))
            .collect(),
    };
    // Stock clients reject opcodes they do not know, even inside this list.
    if !ctx.header.extensions {
        opcodes.retain(|op| op.is_parsec_standard());
    }
    opcodes.sort_unstable();
    opcodes.dedup();
    Ok(reply::ListOpcodes {
        opcodes: opcodes.into_iter().map(|op| op as u32).collect(),
    })
}

pub fn list_authenticators(
    service: &Service,
    _: Public<'_>,
    _: request::ListAuthenticators,
) -> Result<reply::ListAuthenticators, ServiceError> {
    Ok(reply::ListAuthenticators {
        authenticators: service.authenticators.infos(),
    })
}

pub fn list_keys(
    service: &Service,
    ctx: Caller<'_>,
    _: request::ListKeys,
) -> Result<reply::ListKeys, ServiceError> {
    let keys = service
        .store
        .list(ctx.identity)?
        .into_iter()
        .map(|(name, record)| KeyInfo {
            provider_id: record.provider as u8,
            name,
            attributes: record.attributes,
        })
        .collect();
    Ok(reply::ListKeys { keys })
}

/// Clients are listed within the admin's own authenticator namespace, so names are never
/// ambiguous between authenticators and the list stays Parsec-compatible.
pub fn list_clients(
    service: &Service,
    ctx: Admin<'_>,
    _: request::ListClients,
) -> Result<reply::ListClients, ServiceError> {
    Ok(reply::ListClients {
        clients: service.store.clients(ctx.identity.namespace())?,
    })
}

/// Deletes every key of a client (same namespace rule as ListClients): rows first, so no key
/// stays usable, then the provider objects.
pub fn delete_client(
    service: &Service,
    ctx: Admin<'_>,
    request: request::DeleteClient,
) -> Result<reply::DeleteClient, ServiceError> {
    let admin = ctx.identity;
    let removed = service
        .store
        .remove_client(admin.namespace(), &request.client)?;
    let count = removed.len();
    for (name, record) in removed {
        crate::crypto_ops::destroy_provider_object(service, &name, &record);
    }
    tracing::info!(target: "keyward::audit", admin = %admin, client = %request.client, keys = count, "client deleted");
    Ok(reply::DeleteClient {})
}
