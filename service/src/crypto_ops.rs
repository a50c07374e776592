//! Crypto-provider operations. Each handler unpacks its operation and hands the work to the
//! addressed provider's family trait; the key lifecycle (look up in the caller's namespace,
//! check the policy, create-then-record with roll-back) is written once, here.

use keyward_protocol::ops::{Operation, OperationResult};
use keyward_protocol::psa::{KeyAttributes, KeyType};
use keyward_providers::{
    policy, ImportedKey, KeyManagement, KeyRef, KeyUse, Provider, ProviderError,
};

use crate::dispatch::{Context, Service, INLINE_BODY_LIMIT};
use crate::error::ServiceError;
use crate::key_store::KeyRecord;
use crate::server::run_off_async_workers;

fn unexpected(op: &Operation) -> ServiceError {
    ServiceError::Internal(format!("handler called with {:?}", op.opcode()))
}

fn unsupported(family: &str) -> ServiceError {
    ServiceError::Provider(ProviderError::NotSupported(format!(
        "this provider has no {family} operations"
    )))
}

/// Refuses names that are empty, too long or contain control characters.
fn check_key_name(service: &Service, name: &str) -> Result<(), ServiceError> {
    if name.is_empty() || name.len() > service.limits.max_key_name_len {
        return Err(ServiceError::InvalidArgument(format!(
            "key names must be 1 to {} bytes long",
            service.limits.max_key_name_len
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::InvalidArgument(
            "key names must not contain control characters".into(),
        ));
    }
    Ok(())
}

/// Runs `f` on a key of the caller after the PSA policy check for `op`.
fn with_key<R>(
    service: &Service,
    ctx: &Context<'_>,
    op: &Operation,
    name: &str,
    f: impl FnOnce(&dyn Provider, KeyRef<'_>) -> Result<R, ProviderError>,
) -> Result<R, ServiceError> {
    let caller = ctx.caller()?;
    let provider = ctx.provider()?;
    let record = service
        .store
        .get(caller, name)?
        .ok_or(ServiceError::KeyDoesNotExist)?;
    // As in Parsec, a key is addressed through the provider that holds it.
    if record.provider != provider.id() {
        return Err(ServiceError::KeyDoesNotExist);
    }
    if let Some(use_) = KeyUse::of(op) {
        policy::authorize(use_, &record.attributes)?;
    }
    let key = KeyRef {
        handle: &record.handle,
        attributes: &record.attributes,
    };
    if is_slow(&record.attributes) {
        Ok(run_off_async_workers(|| f(provider, key))?)
    } else {
        Ok(f(provider, key)?)
    }
}

/// Keys whose operations take hundreds of microseconds or more (RSA and finite-field DH private
/// keys) run off the async workers; the others run inline (see `Service::is_heavy`).
fn is_slow(attributes: &KeyAttributes) -> bool {
    matches!(
        attributes.key_type,
        KeyType::RsaKeyPair | KeyType::DhKeyPair { .. }
    )
}

/// The key creation transaction: make the key in the provider, record it, and destroy it
/// again if recording fails, so a key is either fully there or not at all.
fn create_key(
    service: &Service,
    ctx: &Context<'_>,
    name: &str,
    attributes: KeyAttributes,
    make: impl FnOnce(&dyn Provider) -> Result<ImportedKey, ProviderError>,
) -> Result<(), ServiceError> {
    check_key_name(service, name)?;
    let caller = ctx.caller()?;
    let provider = ctx.provider()?;
    // Cheap early answer; the insert below is what really guarantees uniqueness.
    if service.store.get(caller, name)?.is_some() {
        return Err(crate::key_store::StoreError::AlreadyExists.into());
    }
    policy::validate_attributes(&attributes)?;
    let created = make(provider)?;
    let record = KeyRecord {
        provider: provider.id(),
        handle: created.handle.0,
        attributes: created.attributes,
    };
    if let Err(err) =
        service
            .store
            .insert(caller, name, &record, service.limits.max_keys_per_identity)
    {
        destroy_provider_object(service, name, &record);
        return Err(err.into());
    }
    Ok(())
}

/// Destroys a key's provider object after its row is gone; failures leave an orphan that the
/// provider's start-up clean-up removes, never a visible key.
pub fn destroy_provider_object(service: &Service, name: &str, record: &KeyRecord) {
    let Some(provider) = service.provider(record.provider) else {
        tracing::warn!(key = name, provider = ?record.provider, "provider of a deleted key is not configured; its object is left to clean-up");
        return;
    };
    let Some(keys) = provider.families().key_management else {
        return;
    };
    let key = KeyRef {
        handle: &record.handle,
        attributes: &record.attributes,
    };
    if let Err(err) = keys.destroy_key(key) {
        tracing::warn!(key = name, error = %err, "provider failed to destroy a deleted key");
    }
}

fn key_management(provider: &dyn Provider) -> Result<&dyn KeyManagement, ProviderError> {
    provider
        .families()
        .key_management
        .ok_or_else(|| ProviderError::not_supported("key management"))
}

pub fn generate_key(
    s: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::GenerateKey {
        key_name,
        attributes,
    } = &op
    else {
        return Err(unexpected(&op));
    };
    create_key(s, ctx, key_name, *attributes, |p| {
        key_management(p)?
            .generate_key(attributes)
            .map(|handle| ImportedKey {
                handle,
                attributes: *attributes,
            })
    })?;
    Ok(OperationResult::GenerateKey)
}

pub fn import_key(
    s: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::ImportKey {
        key_name,
        attributes,
        data,
    } = &op
    else {
        return Err(unexpected(&op));
    };
    create_key(s, ctx, key_name, *attributes, |p| {
        key_management(p)?.import_key(attributes, data)
    })?;
    Ok(OperationResult::ImportKey)
}

pub fn destroy_key(
    s: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::DestroyKey { key_name } = &op else {
        return Err(unexpected(&op));
    };
    let caller = ctx.caller()?;
    let provider = ctx.provider()?;
    match s.store.get(caller, key_name)? {
        Some(record) if record.provider == provider.id() => {}
        _ => return Err(ServiceError::KeyDoesNotExist),
    }
    let record = s
        .store
        .remove(caller, key_name)?
        .ok_or(ServiceError::KeyDoesNotExist)?;
    destroy_provider_object(s, key_name, &record);
    Ok(OperationResult::DestroyKey)
}

/// Handlers of operations that use one key through one family, written as a table: handler,
/// operation fields (the key name first), family, call, result.
macro_rules! key_operations {
    ($($name:ident: $variant:ident { $key:ident $(, $field:ident)* } via $family:ident
        => |$fam:ident, $k:ident| $call:expr => |$out:pat_param| $result:expr;)*) => {$(
        pub fn $name(s: &Service, ctx: &Context<'_>, op: Operation) -> Result<OperationResult, ServiceError> {
            let Operation::$variant { $key, $($field,)* .. } = &op else { return Err(unexpected(&op)) };
            let $out = with_key(s, ctx, &op, $key, |p, $k| {
                let $fam = p.families().$family.ok_or_else(|| ProviderError::NotSupported(stringify!($family).into()))?;
                $call
            })?;
            Ok($result)
        }
    )*};
}

key_operations! {
    export_public_key: ExportPublicKey { key_name } via key_management => |f, key| f.export_public_key(key) => |data| OperationResult::ExportPublicKey { data };
    export_key: ExportKey { key_name } via key_management => |f, key| f.export_key(key) => |data| OperationResult::ExportKey { data };
    sign_hash: SignHash { key_name, alg, hash } via sign => |f, key| f.sign_hash(key, *alg, hash) => |signature| OperationResult::SignHash { signature };
    verify_hash: VerifyHash { key_name, alg, hash, signature } via sign => |f, key| f.verify_hash(key, *alg, hash, signature) => |()| OperationResult::VerifyHash;
    sign_message: SignMessage { key_name, alg, message } via sign => |f, key| f.sign_message(key, *alg, message) => |signature| OperationResult::SignMessage { signature };
    verify_message: VerifyMessage { key_name, alg, message, signature } via sign => |f, key| f.verify_message(key, *alg, message, signature) => |()| OperationResult::VerifyMessage;
    asymmetric_encrypt: AsymmetricEncrypt { key_name, alg, plaintext, salt } via asymmetric_crypt => |f, key| f.asymmetric_encrypt(key, *alg, plaintext, salt.as_deref()) => |ciphertext| OperationResult::AsymmetricEncrypt { ciphertext };
    asymmetric_decrypt: AsymmetricDecrypt { key_name, alg, ciphertext, salt } via asymmetric_crypt => |f, key| f.asymmetric_decrypt(key, *alg, ciphertext, salt.as_deref()) => |plaintext| OperationResult::AsymmetricDecrypt { plaintext };
    aead_encrypt: AeadEncrypt { key_name, alg, nonce, additional_data, plaintext } via aead => |f, key| f.aead_encrypt(key, *alg, nonce, additional_data, plaintext) => |ciphertext| OperationResult::AeadEncrypt { ciphertext };
    aead_decrypt: AeadDecrypt { key_name, alg, nonce, additional_data, ciphertext } via aead => |f, key| f.aead_decrypt(key, *alg, nonce, additional_data, ciphertext) => |plaintext| OperationResult::AeadDecrypt { plaintext };
    cipher_encrypt: CipherEncrypt { key_name, alg, plaintext } via cipher => |f, key| f.cipher_encrypt(key, *alg, plaintext) => |ciphertext| OperationResult::CipherEncrypt { ciphertext };
    cipher_decrypt: CipherDecrypt { key_name, alg, ciphertext } via cipher => |f, key| f.cipher_decrypt(key, *alg, ciphertext) => |plaintext| OperationResult::CipherDecrypt { plaintext };
    mac_compute: MacCompute { key_name, alg, input } via mac => |f, key| f.mac_compute(key, *alg, input) => |mac| OperationResult::MacCompute { mac };
    mac_verify: MacVerify { key_name, alg, input, mac } via mac => |f, key| f.mac_verify(key, *alg, input, mac) => |()| OperationResult::MacVerify;
    raw_key_agreement: RawKeyAgreement { private_key_name, alg, peer_key } via key_agreement => |f, key| f.raw_key_agreement(key, *alg, peer_key) => |shared_secret| OperationResult::RawKeyAgreement { shared_secret };
}

pub fn hash_compute(
    _: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::HashCompute { alg, input } = &op else {
        return Err(unexpected(&op));
    };
    let hash = ctx
        .provider()?
        .families()
        .hash
        .ok_or_else(|| unsupported("hash"))?
        .hash_compute(*alg, input)?;
    Ok(OperationResult::HashCompute { hash })
}

pub fn hash_compare(
    _: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::HashCompare { alg, input, hash } = &op else {
        return Err(unexpected(&op));
    };
    ctx.provider()?
        .families()
        .hash
        .ok_or_else(|| unsupported("hash"))?
        .hash_compare(*alg, input, hash)?;
    Ok(OperationResult::HashCompare)
}

pub fn generate_random(
    s: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::GenerateRandom { size } = &op else {
        return Err(unexpected(&op));
    };
    // Refuse before allocating: the size comes from the client.
    let size = usize::try_from(*size)
        .ok()
        .filter(|size| *size <= s.limits.max_response_len as usize)
        .ok_or(ServiceError::ResponseTooLarge(s.limits.max_response_len))?;
    let random = ctx
        .provider()?
        .families()
        .random
        .ok_or_else(|| unsupported("random"))?;
    let random_bytes = if size > INLINE_BODY_LIMIT {
        run_off_async_workers(|| random.generate_random(size))?
    } else {
        random.generate_random(size)?
    };
    Ok(OperationResult::GenerateRandom { random_bytes })
}

pub fn can_do_crypto(
    _: &Service,
    ctx: &Context<'_>,
    op: Operation,
) -> Result<OperationResult, ServiceError> {
    let Operation::CanDoCrypto {
        check_type,
        attributes,
    } = &op
    else {
        return Err(unexpected(&op));
    };
    if ctx.provider()?.can_do(*check_type, attributes) {
        Ok(OperationResult::CanDoCrypto)
    } else {
        Err(unsupported("such"))
    }
}
