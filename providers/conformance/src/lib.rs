//! The provider conformance suite: one set of cases run against any [`Provider`] (software now,
//! PKCS#11 and TPM later, unchanged), so every backend is held to the same answers.
//!
//! * Known-answer vectors (`vectors/kat.txt`, sources in `vectors/README.md`).
//! * Cross-checks with independent implementations (RustCrypto `p256`, `p384`, `rsa`,
//!   `aes-gcm`, `hmac`, `sha2`): what the provider signs or encrypts, they verify or decrypt,
//!   and the other way round.
//! * Policy refusals: keys whose usage flags or permitted algorithm forbid an operation are
//!   refused (as the service does, [`policy::authorize`] before the provider), CanDoCrypto says
//!   no without usage flags, invalid attributes are `InvalidArgument`.
//!
//! The suite creates keys only through the provider's own `generate_key` / `import_key`, never
//! looks inside a handle, and destroys what it creates. A case the provider cannot do (its
//! opcode is not in [`Provider::opcodes`], [`Provider::can_do`] says no, or it answers
//! `NotSupported`) is **skipped** with the reason, never counted as passed.
#![forbid(unsafe_code)]

mod cases;
mod vectors;

use keyward_protocol::ops::CheckType;
use keyward_protocol::psa::KeyAttributes;
use keyward_protocol::Opcode;
use keyward_providers::{KeyHandle, KeyRef, Provider, ProviderError};

/// What the suite found: case names, with the reason for failures and skips.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub passed: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<(String, String)>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for name in &self.passed {
            writeln!(f, "PASSED  {name}")?;
        }
        for (name, why) in &self.skipped {
            writeln!(f, "SKIPPED {name}: {why}")?;
        }
        for (name, why) in &self.failed {
            writeln!(f, "FAILED  {name}: {why}")?;
        }
        write!(
            f,
            "conformance: {} passed, {} failed, {} skipped",
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )
    }
}

/// Runs every case against `provider`.
pub fn run(provider: &dyn Provider) -> Report {
    let mut suite = Suite {
        provider,
        report: Report::default(),
    };
    cases::all(&mut suite);
    suite.report
}

/// Why a case did not pass.
#[derive(Debug)]
pub(crate) enum Stop {
    Skip(String),
    Fail(String),
}

pub(crate) type Outcome = Result<(), Stop>;

pub(crate) fn fail(why: impl Into<String>) -> Stop {
    Stop::Fail(why.into())
}

/// `NotSupported` becomes a skip, any other error a failure.
pub(crate) fn provider_error(what: &str, err: ProviderError) -> Stop {
    match err {
        ProviderError::NotSupported(why) => Stop::Skip(format!("{what}: not supported ({why})")),
        other => Stop::Fail(format!("{what}: {other:?}")),
    }
}

/// Turns a provider result into the suite's: `NotSupported` skips.
pub(crate) trait Check<T> {
    fn check(self, what: &str) -> Result<T, Stop>;
}

impl<T> Check<T> for Result<T, ProviderError> {
    fn check(self, what: &str) -> Result<T, Stop> {
        self.map_err(|err| provider_error(what, err))
    }
}

pub(crate) struct Suite<'a> {
    pub provider: &'a dyn Provider,
    report: Report,
}

impl<'a> Suite<'a> {
    /// Runs one case and records its outcome.
    pub(crate) fn case(&mut self, name: &str, body: impl FnOnce(&Suite<'a>) -> Outcome) {
        let outcome = body(self);
        let name = name.to_string();
        match outcome {
            Ok(()) => self.report.passed.push(name),
            Err(Stop::Skip(why)) => self.report.skipped.push((name, why)),
            Err(Stop::Fail(why)) => self.report.failed.push((name, why)),
        }
    }

    /// Skips unless the provider serves every opcode in `opcodes`.
    pub(crate) fn needs(&self, opcodes: &[Opcode]) -> Outcome {
        let served = self.provider.opcodes();
        match opcodes.iter().find(|op| !served.contains(op)) {
            Some(op) => Err(Stop::Skip(format!(
                "{op:?} is not in the provider's opcodes"
            ))),
            None => Ok(()),
        }
    }

    /// Skips unless CanDoCrypto says yes.
    pub(crate) fn can_do(&self, check: CheckType, attributes: &KeyAttributes) -> Outcome {
        if self.provider.can_do(check, attributes) {
            Ok(())
        } else {
            Err(Stop::Skip(format!(
                "CanDoCrypto({check:?}) says no for {:?} {} bits {:?}",
                attributes.key_type, attributes.bits, attributes.policy.permitted_algorithms
            )))
        }
    }

    /// Generates a key (after CanDoCrypto agreed), destroyed when the guard drops.
    pub(crate) fn generate(&self, attributes: KeyAttributes) -> Result<Key<'a>, Stop> {
        self.needs(&[Opcode::PsaGenerateKey])?;
        self.can_do(CheckType::Generate, &attributes)?;
        let km = self.key_management()?;
        let handle = km.generate_key(&attributes).check("generate_key")?;
        Ok(Key {
            provider: self.provider,
            handle,
            attributes,
        })
    }

    /// Imports a key (after CanDoCrypto agreed), destroyed when the guard drops.
    pub(crate) fn import(&self, attributes: KeyAttributes, data: &[u8]) -> Result<Key<'a>, Stop> {
        self.needs(&[Opcode::PsaImportKey])?;
        self.can_do(CheckType::Import, &attributes)?;
        let km = self.key_management()?;
        let imported = km.import_key(&attributes, data).check("import_key")?;
        Ok(Key {
            provider: self.provider,
            handle: imported.handle,
            attributes: imported.attributes,
        })
    }

    fn key_management(&self) -> Result<&'a dyn keyward_providers::KeyManagement, Stop> {
        self.provider
            .families()
            .key_management
            .ok_or_else(|| Stop::Skip("no key-management family".into()))
    }
}

/// A key the suite created; destroyed (through the provider) on drop, also when a case fails.
pub(crate) struct Key<'a> {
    provider: &'a dyn Provider,
    pub handle: KeyHandle,
    pub attributes: KeyAttributes,
}

impl Key<'_> {
    pub(crate) fn r(&self) -> KeyRef<'_> {
        KeyRef {
            handle: &self.handle.0,
            attributes: &self.attributes,
        }
    }
}

impl Drop for Key<'_> {
    fn drop(&mut self) {
        if let Some(km) = self.provider.families().key_management {
            // A failure to destroy cannot be reported from a destructor; hardware suites see
            // leftovers in the token, which their own tests check.
            let _ = km.destroy_key(self.r());
        }
    }
}
