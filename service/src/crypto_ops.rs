//! Crypto-provider operations. Each handler receives its own request's fields and the provider
//! the request addressed, and hands the work to that provider's family trait; the key
//! lifecycle (look up in the caller's namespace, check the policy, create-then-record with
//! roll-back) is written once, here.

use keyward_protocol::ops::{reply, request};
use keyward_protocol::psa::{AsymmetricSignature, Hash, KeyAttributes};
use keyward_protocol::Opcode;
use keyward_providers::policy::{self, KeyUse};
use keyward_providers::{ImportedKey, KeyManagement, KeyRef, Provider, ProviderError};
use keyward_server::Crypto;

use crate::error::ServiceError;
use crate::key_store::{KeyRecord, StoreError};
use crate::service::Service;

type Ctx<'a> = Crypto<'a, dyn Provider>;

fn family<'a, T: ?Sized>(family: Option<&'a T>, name: &str) -> Result<&'a T, ProviderError> {
    family.ok_or_else(|| {
        ProviderError::not_supported(format!("this provider has no {name} operations"))
    })
}

/// Refuses names that are empty, too long or contain control characters.
fn check_key_name(service: &Service, name: &str) -> Result<(), ServiceError> {
    let max = service.keys.max_key_name_len;
    if name.is_empty() || name.len() > max {
        return Err(ServiceError::InvalidArgument(format!(
            "key names must be 1 to {max} bytes long"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::InvalidArgument(
            "key names must not contain control characters".into(),
        ));
    }
    Ok(())
}

/// Runs `f` on a key of the caller, held by the addressed provider, once the PSA policy allows
/// `key_use` (`None`: no policy applies, e.g. public-key export).
fn with_key<R>(
    service: &Service,
    ctx: &Ctx<'_>,
    name: &str,
    key_use: Option<KeyUse>,
    f: impl FnOnce(&dyn Provider, KeyRef<'_>) -> Result<R, ProviderError>,
) -> Result<R, ServiceError> {
    let record = service
        .store
        .get(ctx.identity, name)?
        .ok_or(ServiceError::KeyDoesNotExist)?;
    // As in Parsec, a key is addressed through the provider that holds it.
    if record.provider != ctx.target.id() {
        return Err(ServiceError::KeyDoesNotExist);
    }
    if let Some(key_use) = key_use {
        policy::authorize(key_use, &record.attributes)?;
    }
    let key = KeyRef {
        handle: &record.handle,
        attributes: &record.attributes,
    };
    Ok(f(ctx.target, key)?)
}

/// The key creation transaction: make the key in the provider, record it, and destroy it
/// again if recording fails — or if the client has gone away meanwhile, since nobody could
/// learn the key exists — so a key is either fully there and reported, or not at all.
fn create_key(
    service: &Service,
    ctx: &Ctx<'_>,
    name: &str,
    attributes: &KeyAttributes,
    make: impl FnOnce(&dyn KeyManagement) -> Result<ImportedKey, ProviderError>,
) -> Result<(), ServiceError> {
    check_key_name(service, name)?;
    // Cheap early answer; the insert below is what really guarantees uniqueness.
    if service.store.get(ctx.identity, name)?.is_some() {
        return Err(StoreError::AlreadyExists.into());
    }
    policy::validate_attributes(attributes)?;
    let created = make(family(
        ctx.target.families().key_management,
        "key management",
    )?)?;
    let record = KeyRecord {
        provider: ctx.target.id(),
        handle: created.handle.0,
        attributes: created.attributes,
    };
    if ctx.cancel.is_cancelled() {
        destroy_provider_object(service, name, &record);
        tracing::info!(
            key = name,
            "client went away during key creation; the key was rolled back"
        );
        return Err(keyward_server::DispatchError::Exec(
            keyward_server::exec::ExecError::Cancelled,
        )
        .into());
    }
    if let Err(err) = service.store.insert(
        ctx.identity,
        name,
        &record,
        service.keys.max_keys_per_identity,
    ) {
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
        tracing::warn!(key = name, error = %keyward_server::ErrorChain(&err), "provider failed to destroy a deleted key");
    }
}

pub fn generate_key(
    s: &Service,
    ctx: Ctx<'_>,
    request: request::GenerateKey,
) -> Result<reply::GenerateKey, ServiceError> {
    let attributes = request.attributes;
    create_key(s, &ctx, &request.key_name, &attributes, |keys| {
        keys.generate_key(&attributes)
            .map(|handle| ImportedKey { handle, attributes })
    })?;
    Ok(reply::GenerateKey {})
}

pub fn import_key(
    s: &Service,
    ctx: Ctx<'_>,
    request: request::ImportKey,
) -> Result<reply::ImportKey, ServiceError> {
    create_key(s, &ctx, &request.key_name, &request.attributes, |keys| {
        keys.import_key(&request.attributes, &request.data)
    })?;
    Ok(reply::ImportKey {})
}

pub fn destroy_key(
    s: &Service,
    ctx: Ctx<'_>,
    request: request::DestroyKey,
) -> Result<reply::DestroyKey, ServiceError> {
    match s.store.get(ctx.identity, &request.key_name)? {
        Some(record) if record.provider == ctx.target.id() => {}
        _ => return Err(ServiceError::KeyDoesNotExist),
    }
    let record = s
        .store
        .remove(ctx.identity, &request.key_name)?
        .ok_or(ServiceError::KeyDoesNotExist)?;
    destroy_provider_object(s, &request.key_name, &record);
    Ok(reply::DestroyKey {})
}

/// Handlers of operations that use one key through one family, written as a table: handler,
/// request (the key name first, then the fields the call uses), the key use the policy must
/// allow, family, call, reply.
macro_rules! key_operations {
    ($($name:ident: $req:ident { $key:ident $(, $field:ident)* } $(if ($($use:tt)*))? via $family:ident
        => |$fam:ident, $k:ident| $call:expr => |$out:pat_param| $result:expr;)*) => {$(
        pub fn $name(s: &Service, ctx: Ctx<'_>, request: request::$req) -> Result<reply::$req, ServiceError> {
            let request::$req { $key, $($field,)* .. } = &request;
            let key_use: Option<KeyUse> = None $(.or(Some(KeyUse::$($use)*)))?;
            let $out = with_key(s, &ctx, $key, key_use, |p, $k| {
                let $fam = family(p.families().$family, stringify!($family))?;
                $call
            })?;
            Ok($result)
        }
    )*};
}

key_operations! {
    export_public_key: ExportPublicKey { key_name } via key_management => |f, key| f.export_public_key(key) => |data| reply::ExportPublicKey { data };
    export_key: ExportKey { key_name } if (Export) via key_management => |f, key| f.export_key(key) => |data| reply::ExportKey { data };
    sign_hash: SignHash { key_name, alg, hash } if (SignHash(*alg)) via sign => |f, key| f.sign_hash(key, *alg, hash) => |signature| reply::SignHash { signature };
    verify_hash: VerifyHash { key_name, alg, hash, signature } if (VerifyHash(*alg)) via sign => |f, key| f.verify_hash(key, *alg, hash, signature) => |()| reply::VerifyHash {};
    asymmetric_encrypt: AsymmetricEncrypt { key_name, alg, plaintext, salt } if (AsymmetricEncrypt(*alg)) via asymmetric_crypt => |f, key| f.asymmetric_encrypt(key, *alg, plaintext, salt.as_deref()) => |ciphertext| reply::AsymmetricEncrypt { ciphertext };
    asymmetric_decrypt: AsymmetricDecrypt { key_name, alg, ciphertext, salt } if (AsymmetricDecrypt(*alg)) via asymmetric_crypt => |f, key| f.asymmetric_decrypt(key, *alg, ciphertext, salt.as_deref()) => |plaintext| reply::AsymmetricDecrypt { plaintext };
    aead_encrypt: AeadEncrypt { key_name, alg, nonce, additional_data, plaintext } if (AeadEncrypt(*alg)) via aead => |f, key| f.aead_encrypt(key, *alg, nonce, additional_data, plaintext) => |ciphertext| reply::AeadEncrypt { ciphertext };
    aead_decrypt: AeadDecrypt { key_name, alg, nonce, additional_data, ciphertext } if (AeadDecrypt(*alg)) via aead => |f, key| f.aead_decrypt(key, *alg, nonce, additional_data, ciphertext) => |plaintext| reply::AeadDecrypt { plaintext };
    cipher_encrypt: CipherEncrypt { key_name, alg, plaintext } if (CipherEncrypt(*alg)) via cipher => |f, key| f.cipher_encrypt(key, *alg, plaintext) => |ciphertext| reply::CipherEncrypt { ciphertext };
    cipher_decrypt: CipherDecrypt { key_name, alg, ciphertext } if (CipherDecrypt(*alg)) via cipher => |f, key| f.cipher_decrypt(key, *alg, ciphertext) => |plaintext| reply::CipherDecrypt { plaintext };
    mac_compute: MacCompute { key_name, alg, input } if (MacCompute(*alg)) via mac => |f, key| f.mac_compute(key, *alg, input) => |mac| reply::MacCompute { mac };
    mac_verify: MacVerify { key_name, alg, input, mac } if (MacVerify(*alg)) via mac => |f, key| f.mac_verify(key, *alg, input, mac) => |()| reply::MacVerify {};
    raw_key_agreement: RawKeyAgreement { private_key_name, alg, peer_key } if (RawKeyAgreement(*alg)) via key_agreement => |f, key| f.raw_key_agreement(key, *alg, peer_key) => |shared_secret| reply::RawKeyAgreement { shared_secret };
}

/// The digest a message signature signs, computed by the service for providers that only sign
/// hashes (see [`Service::provider_opcodes`]).
fn message_digest(alg: AsymmetricSignature, message: &[u8]) -> Result<Vec<u8>, ProviderError> {
    use aws_lc_rs::digest;
    let hash = alg
        .hash()
        .ok_or_else(|| ProviderError::invalid("a message signature needs a specific hash"))?;
    let algorithm = match hash {
        Hash::Sha224 => &digest::SHA224,
        Hash::Sha256 => &digest::SHA256,
        Hash::Sha384 => &digest::SHA384,
        Hash::Sha512 => &digest::SHA512,
        Hash::Sha3_256 => &digest::SHA3_256,
        Hash::Sha3_384 => &digest::SHA3_384,
        Hash::Sha3_512 => &digest::SHA3_512,
        other => {
            return Err(ProviderError::not_supported(format!(
                "message signatures with {other:?} on a provider that only signs hashes"
            )))
        }
    };
    Ok(digest::digest(algorithm, message).as_ref().to_vec())
}

pub fn sign_message(
    s: &Service,
    ctx: Ctx<'_>,
    request: request::SignMessage,
) -> Result<reply::SignMessage, ServiceError> {
    let request::SignMessage {
        key_name,
        alg,
        message,
    } = &request;
    let native = s.serves_natively(ctx.target, Opcode::PsaSignMessage);
    let signature = with_key(
        s,
        &ctx,
        key_name,
        Some(KeyUse::SignMessage(*alg)),
        |p, key| {
            let sign = family(p.families().sign, "sign")?;
            if native {
                sign.sign_message(key, *alg, message)
            } else {
                sign.sign_hash(key, *alg, &message_digest(*alg, message)?)
            }
        },
    )?;
    Ok(reply::SignMessage { signature })
}

pub fn verify_message(
    s: &Service,
    ctx: Ctx<'_>,
    request: request::VerifyMessage,
) -> Result<reply::VerifyMessage, ServiceError> {
    let request::VerifyMessage {
        key_name,
        alg,
        message,
        signature,
    } = &request;
    let native = s.serves_natively(ctx.target, Opcode::PsaVerifyMessage);
    with_key(
        s,
        &ctx,
        key_name,
        Some(KeyUse::VerifyMessage(*alg)),
        |p, key| {
            let sign = family(p.families().sign, "sign")?;
            if native {
                sign.verify_message(key, *alg, message, signature)
            } else {
                sign.verify_hash(key, *alg, &message_digest(*alg, message)?, signature)
            }
        },
    )?;
    Ok(reply::VerifyMessage {})
}

pub fn hash_compute(
    _: &Service,
    ctx: Ctx<'_>,
    request: request::HashCompute,
) -> Result<reply::HashCompute, ServiceError> {
    let hash =
        family(ctx.target.families().hash, "hash")?.hash_compute(request.alg, &request.input)?;
    Ok(reply::HashCompute { hash })
}

pub fn hash_compare(
    _: &Service,
    ctx: Ctx<'_>,
    request: request::HashCompare,
) -> Result<reply::HashCompare, ServiceError> {
    family(ctx.target.families().hash, "hash")?.hash_compare(
        request.alg,
        &request.input,
        &request.hash,
    )?;
    Ok(reply::HashCompare {})
}

pub fn generate_random(
    s: &Service,
    ctx: Ctx<'_>,
    request: request::GenerateRandom,
) -> Result<reply::GenerateRandom, ServiceError> {
    // Refuse before allocating: the size comes from the client.
    let size = usize::try_from(request.size)
        .ok()
        .filter(|size| *size <= s.limits.max_response_len as usize)
        .ok_or(keyward_server::DispatchError::ResponseTooLarge(
            s.limits.max_response_len,
        ))?;
    let random_bytes = family(ctx.target.families().random, "random")?.generate_random(size)?;
    Ok(reply::GenerateRandom { random_bytes })
}

pub fn can_do_crypto(
    _: &Service,
    ctx: Ctx<'_>,
    request: request::CanDoCrypto,
) -> Result<reply::CanDoCrypto, ServiceError> {
    if ctx.target.can_do(request.check_type, &request.attributes) {
        Ok(reply::CanDoCrypto {})
    } else {
        Err(ProviderError::not_supported("such keys").into())
    }
}
