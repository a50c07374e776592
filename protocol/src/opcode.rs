//! Operation codes and what the protocol says about each, in one table.
//!
//! Every opcode has one row in `opcodes!`: its wire value, whether stock Parsec clients know
//! it (standard) or only extension-aware ones do, whether the core provider or a crypto provider
//! serves it, who may call it ([`Access`]) and how expensive it is to serve ([`Cost`]). The
//! lists that used to be kept by hand (all opcodes, core, admin, heavy, route access) all come
//! from here, so adding an opcode is adding one row.
//!
//! Keyward's own opcodes live at 0x4B00..=0x4BFF ("K"), far from Parsec's 0x0001..=0x0020, so a
//! future Parsec opcode cannot collide with them: 0x4B01..=0x4B0F for identity, trust and
//! administration (docs/identity.md), 0x4B10..=0x4B2F for crypto extensions and introspection. Stock clients never see them: they are only
//! listed or answered for extension-aware requests (see [`crate::header::FLAG_KEYWARD_EXTENSIONS`]).

/// Who may call an operation. Servers check it before decoding the body, in Parsec's order
/// (reference §1.5), and hand the handler a context type that proves the check passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Informational: works without authentication (an identity is still checked when sent).
    Public,
    /// Needs an authenticated caller.
    Authenticated,
    /// Needs a caller configured as an admin.
    Admin,
    /// Needs the connection's peer to be the trusted component configured for this daemon
    /// (checked by `SO_PEERCRED`): the identity provider for keywardd, the orchestrator for the
    /// identity provider.
    TrustedPeer,
    /// Needs the connection's peer credentials only (the caller is identified by the kernel,
    /// e.g. a client application fetching its token).
    Peer,
}

/// Which side of a Parsec service serves an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The core provider (provider ID 0): discovery, administration, identity and trust.
    Core,
    /// A crypto provider (provider ID ≠ 0).
    Crypto,
}

/// How expensive an operation is to serve, which decides where a server runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cost {
    /// Microseconds, no disk: always inline on the async workers.
    Inline,
    /// Writes or scans persistent state (a synchronous commit, a table scan): off the async
    /// workers, on the store's bounded queue.
    Store,
    /// Uses a stored key or the provider: the provider's declared execution for that key and
    /// operation decides (inline for microsecond software operations, its bounded queue else).
    Provider,
    /// Creates or destroys a key: provider work plus a synchronous commit; always on the
    /// provider's queue.
    Lifecycle,
}

macro_rules! opcodes {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, $std:ident, $kind:ident, $access:ident, $cost:ident; )*) => {
        /// Every opcode Keyward knows, with its wire value.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        pub enum Opcode {
            $( $(#[$doc])* $name = $value, )*
        }

        /// All opcodes, in wire order.
        pub const ALL_OPCODES: &[Opcode] = &[$(Opcode::$name,)*];

        impl Opcode {
            /// The opcode for a wire value, if Keyward knows it.
            pub fn from_u32(value: u32) -> Option<Opcode> {
                match value {
                    $( $value => Some(Opcode::$name), )*
                    _ => None,
                }
            }

            /// True for opcodes a stock Parsec client knows (its interface crate's enum).
            /// Everything else may only reach extension-aware clients.
            pub const fn is_parsec_standard(self) -> bool {
                match self {
                    $( Opcode::$name => opcodes!(@std $std), )*
                }
            }

            /// Which provider serves the operation.
            pub const fn kind(self) -> Kind {
                match self {
                    $( Opcode::$name => Kind::$kind, )*
                }
            }

            /// Who may call it.
            pub const fn access(self) -> Access {
                match self {
                    $( Opcode::$name => Access::$access, )*
                }
            }

            /// How expensive it is to serve.
            pub const fn cost(self) -> Cost {
                match self {
                    $( Opcode::$name => Cost::$cost, )*
                }
            }
        }
    };
    (@std standard) => { true };
    (@std extension) => { false };
}

opcodes! {
    Ping = 0x0001, standard, Core, Public, Inline;
    PsaGenerateKey = 0x0002, standard, Crypto, Authenticated, Lifecycle;
    PsaDestroyKey = 0x0003, standard, Crypto, Authenticated, Lifecycle;
    PsaSignHash = 0x0004, standard, Crypto, Authenticated, Provider;
    PsaVerifyHash = 0x0005, standard, Crypto, Authenticated, Provider;
    PsaImportKey = 0x0006, standard, Crypto, Authenticated, Lifecycle;
    PsaExportPublicKey = 0x0007, standard, Crypto, Authenticated, Provider;
    ListProviders = 0x0008, standard, Core, Public, Inline;
    ListOpcodes = 0x0009, standard, Core, Public, Inline;
    PsaAsymmetricEncrypt = 0x000A, standard, Crypto, Authenticated, Provider;
    PsaAsymmetricDecrypt = 0x000B, standard, Crypto, Authenticated, Provider;
    PsaExportKey = 0x000C, standard, Crypto, Authenticated, Provider;
    PsaGenerateRandom = 0x000D, standard, Crypto, Authenticated, Provider;
    ListAuthenticators = 0x000E, standard, Core, Public, Inline;
    PsaHashCompute = 0x000F, standard, Crypto, Authenticated, Provider;
    PsaHashCompare = 0x0010, standard, Crypto, Authenticated, Provider;
    PsaAeadEncrypt = 0x0011, standard, Crypto, Authenticated, Provider;
    PsaAeadDecrypt = 0x0012, standard, Crypto, Authenticated, Provider;
    PsaRawKeyAgreement = 0x0013, standard, Crypto, Authenticated, Provider;
    PsaCipherEncrypt = 0x0014, standard, Crypto, Authenticated, Provider;
    PsaCipherDecrypt = 0x0015, standard, Crypto, Authenticated, Provider;
    /// In Parsec's book and .proto files but not in its interface crate: an extension for us.
    PsaMacCompute = 0x0016, extension, Crypto, Authenticated, Provider;
    /// See [`Opcode::PsaMacCompute`].
    PsaMacVerify = 0x0017, extension, Crypto, Authenticated, Provider;
    PsaSignMessage = 0x0018, standard, Crypto, Authenticated, Provider;
    PsaVerifyMessage = 0x0019, standard, Crypto, Authenticated, Provider;
    ListKeys = 0x001A, standard, Core, Authenticated, Store;
    ListClients = 0x001B, standard, Core, Admin, Store;
    DeleteClient = 0x001C, standard, Core, Admin, Store;
    AttestKey = 0x001E, standard, Crypto, Authenticated, Provider;
    PrepareKeyAttestation = 0x001F, standard, Crypto, Authenticated, Provider;
    CanDoCrypto = 0x0020, standard, Crypto, Authenticated, Inline;
    /// Keyward: a trusted component shares its root or a new intermediate certificate.
    ShareTrustBundle = 0x4B01, extension, Core, TrustedPeer, Store;
    /// Keyward: the orchestrator registers a client application with the identity provider.
    AddClient = 0x4B02, extension, Core, TrustedPeer, Inline;
    /// Keyward: the orchestrator proves a running client's identity to the identity provider.
    ProveClient = 0x4B03, extension, Core, TrustedPeer, Inline;
    /// Keyward: the orchestrator removes a client application from the identity provider.
    RemoveClient = 0x4B04, extension, Core, TrustedPeer, Inline;
    /// Keyward: a client application fetches a short-lived identity token.
    FetchToken = 0x4B05, extension, Core, Peer, Inline;
    /// Keyward: an admin replaces a pinned trust root (recovery after a compromise).
    ReplaceTrustRoot = 0x4B06, extension, Core, Admin, Store;
}

impl Opcode {
    /// Operations served by the core provider (provider 0), as in Parsec.
    pub const fn is_core(self) -> bool {
        matches!(self.kind(), Kind::Core)
    }

    /// Operations only configured admins may call.
    pub const fn is_admin(self) -> bool {
        matches!(self.access(), Access::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_are_unique() {
        for op in ALL_OPCODES {
            assert_eq!(Opcode::from_u32(*op as u32), Some(*op));
        }
        let mut values: Vec<u32> = ALL_OPCODES.iter().map(|op| *op as u32).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), ALL_OPCODES.len());
    }

    #[test]
    fn unknown_values_are_rejected() {
        for value in [0u32, 0x1D, 0x21, 0x4B00, 0x4BFF, u32::MAX] {
            assert_eq!(Opcode::from_u32(value), None, "{value:#x}");
        }
    }

    #[test]
    fn extensions_do_not_collide_with_parsec_range() {
        for op in ALL_OPCODES.iter().filter(|op| !op.is_parsec_standard()) {
            let value = *op as u32;
            assert!(value == 0x16 || value == 0x17 || (0x4B00..=0x4BFF).contains(&value));
        }
    }

    /// Parsec's own lists (reference §1.6: `is_core()` and `is_admin()` of its interface crate),
    /// so the table's columns stay true to the protocol.
    #[test]
    fn columns_match_parsec() {
        use Opcode::*;
        let parsec_core = [
            Ping,
            ListProviders,
            ListOpcodes,
            ListAuthenticators,
            ListKeys,
            ListClients,
            DeleteClient,
        ];
        for op in ALL_OPCODES.iter().filter(|op| op.is_parsec_standard()) {
            assert_eq!(op.is_core(), parsec_core.contains(op), "{op:?}");
            assert_eq!(
                op.is_admin(),
                matches!(op, ListClients | DeleteClient),
                "{op:?}"
            );
        }
        // Core operations never need a crypto provider, and every crypto operation needs an
        // authenticated caller.
        for op in ALL_OPCODES {
            if op.kind() == Kind::Crypto {
                assert_eq!(op.access(), Access::Authenticated, "{op:?}");
            }
        }
        // Keyward's identity operations are all core and all extensions.
        for op in [
            ShareTrustBundle,
            AddClient,
            ProveClient,
            RemoveClient,
            FetchToken,
        ] {
            assert!(op.is_core() && !op.is_parsec_standard(), "{op:?}");
        }
    }
}
