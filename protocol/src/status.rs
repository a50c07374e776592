//! Response status codes: Parsec's table (reference §1.7) plus Keyward's own range.
//!
//! Keyward's own statuses (0x4B00..) are only sent to extension-aware clients; a stock
//! client receives [`ResponseStatus::for_stock_client`] instead, because stock clients reject
//! any status they do not know.

macro_rules! statuses {
    ($( $(#[$doc:meta])* $name:ident = $value:expr, $text:literal; )*) => {
        /// A wire status code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum ResponseStatus {
            $( $(#[$doc])* $name = $value, )*
        }

        /// Every status, for table tests and lookups.
        pub const ALL_STATUSES: &[ResponseStatus] = &[$(ResponseStatus::$name,)*];

        impl ResponseStatus {
            /// The status for a wire value, if known.
            pub fn from_u16(value: u16) -> Option<ResponseStatus> {
                match value {
                    $( $value => Some(ResponseStatus::$name), )*
                    _ => None,
                }
            }

            /// A short human-readable description.
            pub fn description(self) -> &'static str {
                match self {
                    $( ResponseStatus::$name => $text, )*
                }
            }
        }
    };
}

statuses! {
    Success = 0, "successful operation";
    WrongProviderId = 1, "requested provider ID does not match that of the backend";
    ContentTypeNotSupported = 2, "requested content type is not supported";
    AcceptTypeNotSupported = 3, "requested accept type is not supported";
    WireProtocolVersionNotSupported = 4, "requested wire protocol version is not supported";
    ProviderNotRegistered = 5, "no provider registered for the requested provider ID";
    ProviderDoesNotExist = 6, "no provider defined for the requested provider ID";
    DeserializingBodyFailed = 7, "failed to deserialize the operation";
    SerializingBodyFailed = 8, "failed to serialize the operation";
    OpcodeDoesNotExist = 9, "requested operation is not defined";
    ResponseTooLarge = 10, "response size exceeds allowed limits";
    AuthenticationError = 11, "authentication failed";
    AuthenticatorDoesNotExist = 12, "authenticator not supported";
    AuthenticatorNotRegistered = 13, "authenticator not supported";
    KeyInfoManagerError = 14, "internal error in the key info manager";
    ConnectionError = 15, "generic input/output error";
    InvalidEncoding = 16, "invalid value for this data type";
    InvalidHeader = 17, "constant fields in header are invalid";
    WrongProviderUuid = 18, "the UUID vector needs to only contain 16 bytes";
    NotAuthenticated = 19, "request did not provide a required authentication";
    BodySizeExceedsLimit = 20, "request length specified in the header is above defined limit";
    AdminOperation = 21, "the operation requires admin privilege";
    DeprecatedPrimitive = 22, "the key template contains a deprecated type or algorithm";
    PsaErrorGenericError = 1132, "an error occurred that does not correspond to any defined failure cause";
    PsaErrorNotPermitted = 1133, "the requested action is denied by a policy";
    PsaErrorNotSupported = 1134, "the requested operation or a parameter is not supported";
    PsaErrorInvalidArgument = 1135, "the parameters passed to the function are invalid";
    PsaErrorInvalidHandle = 1136, "the key handle is not valid";
    PsaErrorBadState = 1137, "the requested action cannot be performed in the current state";
    PsaErrorBufferTooSmall = 1138, "an output buffer is too small";
    PsaErrorAlreadyExists = 1139, "asking for an item that already exists";
    PsaErrorDoesNotExist = 1140, "asking for an item that doesn't exist";
    PsaErrorInsufficientMemory = 1141, "there is not enough runtime memory";
    PsaErrorInsufficientStorage = 1142, "there is not enough persistent storage";
    PsaErrorInsufficientData = 1143, "insufficient data when attempting to read from a resource";
    PsaErrorCommunicationFailure = 1145, "there was a communication failure inside the implementation";
    PsaErrorStorageFailure = 1146, "there was a storage failure that may have led to data loss";
    PsaErrorHardwareFailure = 1147, "a hardware failure was detected";
    PsaErrorInsufficientEntropy = 1148, "there is not enough entropy to generate random data";
    PsaErrorInvalidSignature = 1149, "the signature, MAC or hash is incorrect";
    PsaErrorInvalidPadding = 1150, "the decrypted padding is incorrect";
    PsaErrorCorruptionDetected = 1151, "a tampering attempt was detected";
    PsaErrorDataCorrupt = 1152, "stored data has been corrupted";
    PsaErrorDataInvalid = 1153, "data read from storage is not valid for the implementation";
    /// Keyward: a root certificate was already shared; roots are shared exactly once.
    RootAlreadyShared = 0x4B01, "a root trust bundle has already been shared";
    /// Keyward: a trust bundle or signed payload failed verification.
    TrustVerificationFailed = 0x4B02, "the certificate or signed payload failed verification";
    /// Keyward: the caller is not the identity configured to perform this operation.
    NotTrustedSharer = 0x4B03, "the caller is not allowed to perform this trust operation";
    /// Keyward: a configured count limit (keys, clients, connections) was reached.
    LimitExceeded = 0x4B04, "a configured limit was reached";
    /// Keyward: the work queue for this request is full or did not start it in time.
    Busy = 0x4B05, "the service is busy; retry later";
    /// Keyward: an intermediate was shared before any root.
    NoRootYet = 0x4B06, "no root trust bundle has been shared yet";
    /// Keyward: signed by an intermediate that is expired, superseded or unknown.
    StaleIntermediate = 0x4B07, "the signing intermediate is expired, superseded or unknown";
    /// Keyward: the caller is not a known client application.
    UnknownClient = 0x4B08, "the caller is not a known client application";
    /// Keyward: the caller's client is registered but its instance is not proven yet.
    ClientPending = 0x4B09, "the client application is not proven yet; retry shortly";
    /// Keyward: the measured process does not match the client's definition.
    SelectorMismatch = 0x4B0A, "the process does not match the client definition";
    /// Keyward: a signed payload is malformed, oversized or refers to something invalid.
    InvalidPayload = 0x4B0B, "the signed payload is malformed or invalid";
    /// Keyward: the identity provider cannot issue tokens yet (no accepted intermediate).
    NotReady = 0x4B0C, "the identity provider is not ready; retry shortly";
}

impl ResponseStatus {
    /// True for statuses a stock Parsec client knows.
    pub fn is_parsec_standard(self) -> bool {
        (self as u16) < 0x4B00
    }

    /// The status to send a stock client: ours are replaced by the closest Parsec status.
    pub fn for_stock_client(self) -> ResponseStatus {
        match self {
            ResponseStatus::RootAlreadyShared => ResponseStatus::PsaErrorAlreadyExists,
            ResponseStatus::TrustVerificationFailed => ResponseStatus::AuthenticationError,
            ResponseStatus::NotTrustedSharer => ResponseStatus::PsaErrorNotPermitted,
            ResponseStatus::LimitExceeded => ResponseStatus::PsaErrorInsufficientStorage,
            ResponseStatus::Busy => ResponseStatus::PsaErrorInsufficientMemory,
            ResponseStatus::NoRootYet
            | ResponseStatus::ClientPending
            | ResponseStatus::NotReady => ResponseStatus::PsaErrorBadState,
            ResponseStatus::StaleIntermediate => ResponseStatus::AuthenticationError,
            ResponseStatus::UnknownClient | ResponseStatus::SelectorMismatch => {
                ResponseStatus::PsaErrorNotPermitted
            }
            ResponseStatus::InvalidPayload => ResponseStatus::PsaErrorInvalidArgument,
            standard => standard,
        }
    }
}

impl std::fmt::Display for ResponseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({}): {}", self, *self as u16, self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_status() {
        for status in ALL_STATUSES {
            assert_eq!(ResponseStatus::from_u16(*status as u16), Some(*status));
        }
        assert_eq!(ResponseStatus::from_u16(1144), None);
        assert_eq!(ResponseStatus::from_u16(23), None);
    }

    #[test]
    fn stock_clients_only_get_parsec_statuses() {
        for status in ALL_STATUSES {
            assert!(status.for_stock_client().is_parsec_standard(), "{status}");
        }
    }

    #[test]
    fn parsec_values_match_reference() {
        assert_eq!(ResponseStatus::PsaErrorGenericError as u16, 1132);
        assert_eq!(ResponseStatus::PsaErrorDataInvalid as u16, 1153);
        assert_eq!(ResponseStatus::AdminOperation as u16, 21);
        assert_eq!(ResponseStatus::InvalidHeader as u16, 17);
    }
}
