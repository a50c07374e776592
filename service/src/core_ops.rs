//! Core-provider operations: discovery (ping, providers, opcodes, authenticators), the
//! caller's keys, and admin operations on clients.

use keyward_protocol::header::{VERSION_MAJOR, VERSION_MINOR};
use keyward_protocol::ops::{KeyInfo, Operation, OperationResult, ProviderInfo};
use keyward_protocol::{Opcode, ProviderId};

use crate::dispatch::{route, Context, Service};
use crate::error::ServiceError;

/// Our core provider's identity in ListProviders (our own UUID, not Parsec's).
pub const CORE_PROVIDER_UUID: &str = "0d3b9f4e-6c1a-4b8e-9f2d-5a7c3e1b8d40";

fn unexpected(op: &Operation) -> ServiceError {
    ServiceError::Internal(format!("handler called with {:?}", op.opcode()))
}

pub fn ping(_: &Service, _: &Context<'_>, _: Operation) -> Result<OperationResult, ServiceError> {
    Ok(OperationResult::Ping {
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
    _: &Context<'_>,
    _: Operation,
) -> Result<OperationResult, ServiceError> {
    // Parsec lists providers in priority order with core last; clients take entry 0.
    let mut providers: Vec<ProviderInfo> = service.providers.iter().map(|p| p.info()).collect();
    providers.push(core_info());
    Ok(OperationResult::ListProviders { providers })
}

pub fn list_opcodes(
    service: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::ListOpcodes { provider_id } = op else {
        return Err(unexpected(&op));
    };
    let id = ProviderId::from_u8(provider_id).ok_or(ServiceError::InvalidArgument(format!(
        "no provider {provider_id}"
    )))?;
    let mut opcodes: Vec<Opcode> = match id {
        ProviderId::Core => keyward_protocol::opcode::ALL_OPCODES
            .iter()
            .copied()
            .filter(|op| op.is_core() && route(*op).is_some())
            .collect(),
        id => service
            .provider(id)
            .ok_or(ServiceError::ProviderNotRegistered(provider_id))?
            .families()
            .opcodes()
            .into_iter()
            .filter(|op| route(*op).is_some())
            .collect(),
    };
    // Stock clients reject opcodes they do not know, even inside this list.
    if !ctx.header.extensions {
        opcodes.retain(|op| op.is_parsec_standard());
    }
    opcodes.sort_unstable();
    opcodes.dedup();
    Ok(OperationResult::ListOpcodes {
        opcodes: opcodes.into_iter().map(|op| op as u32).collect(),
    })
}

pub fn list_authenticators(
    service: &Service,
    _: &Context<'_>,
    _: Operation,
) -> Result<OperationResult, ServiceError> {
    Ok(OperationResult::ListAuthenticators {
        authenticators: service.authenticators.infos(),
    })
}

pub fn list_keys(
    service: &Service,
    ctx: &Context<'_>,
    _: Operation,
) -> Result<OperationResult, ServiceError> {
    let keys = service
        .store
        .list(ctx.caller()?)?
        .into_iter()
        .map(|(name, record)| KeyInfo {
            provider_id: record.provider as u8,
            name,
            attributes: record.attributes,
        })
        .collect();
    Ok(OperationResult::ListKeys { keys })
}

/// Clients are listed within the admin's own authenticator namespace, so names are never
/// ambiguous between authenticators and the list stays Parsec-compatible.
pub fn list_clients(
    service: &Service,
    ctx: &Context<'_>,
    _: Operation,
) -> Result<OperationResult, ServiceError> {
    let admin = ctx.caller()?;
    Ok(OperationResult::ListClients {
        clients: service.store.clients(admin.authenticator())?,
    })
}

/// Deletes every key of a client (same namespace rule as ListClients): rows first, so no key
/// stays usable, then the provider objects.
pub fn delete_client(
    service: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::DeleteClient { client } = op else {
        return Err(unexpected(&op));
    };
    let admin = ctx.caller()?;
    let removed = service
        .store
        .remove_client(admin.authenticator(), &client)?;
    let count = removed.len();
    for (name, record) in removed {
        crate::crypto_ops::destroy_provider_object(service, &name, &record);
    }
    tracing::info!(target: "keyward::audit", admin = %admin, client = %client, keys = count, "client deleted");
    Ok(OperationResult::DeleteClient)
}
