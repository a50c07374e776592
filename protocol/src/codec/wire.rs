//! The conversion traits between the typed model and the generated protobuf types, with their
//! impls for scalars, strings, bytes and secrets.
//!
//! Decoding is on untrusted input: every conversion returns [`CodecError`] rather than
//! panicking, and names the offending field.

use zeroize::{Zeroize, Zeroizing};

use super::CodecError;
use crate::ops::Secret;

/// How a model value travels in one field of its parent protobuf message.
///
/// `Pb` is the field's generated type: `String`, `Vec<u8>`, a number, `i32` for enums,
/// `Option<M>` for a singular message, `Vec<M>` for a repeated one.
pub(super) trait WireField: Sized {
    type Pb;

    /// Converts a decoded field; `field` names it in errors.
    fn from_pb(pb: Self::Pb, field: &'static str) -> Result<Self, CodecError>;

    /// Converts a model value for encoding.
    fn to_pb(&self) -> Self::Pb;

    /// Clears secret material from a field value once it has been encoded. A no-op except
    /// for secrets, whose protobuf copy would otherwise be freed without being wiped.
    fn wipe(_pb: &mut Self::Pb) {}
}

/// A model type whose wire form is a whole protobuf message.
pub(super) trait WireMessage: Sized {
    type Msg;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError>;

    fn to_msg(&self) -> Self::Msg;
}

/// A singular message field. proto3 cannot make a message field required, but every such
/// field in Parsec's contracts is, so an absent one is an error.
impl<T: WireMessage> WireField for T {
    type Pb = Option<T::Msg>;

    fn from_pb(pb: Option<T::Msg>, field: &'static str) -> Result<Self, CodecError> {
        T::from_msg(required(pb, field)?)
    }

    fn to_pb(&self) -> Option<T::Msg> {
        Some(self.to_msg())
    }
}

/// A repeated message field.
impl<T: WireMessage> WireField for Vec<T> {
    type Pb = Vec<T::Msg>;

    fn from_pb(pb: Vec<T::Msg>, _field: &'static str) -> Result<Self, CodecError> {
        pb.into_iter().map(T::from_msg).collect()
    }

    fn to_pb(&self) -> Vec<T::Msg> {
        self.iter().map(T::to_msg).collect()
    }
}

/// The value of a oneof or message field that must be present.
pub(super) fn required<T>(pb: Option<T>, field: &'static str) -> Result<T, CodecError> {
    pb.ok_or(CodecError::MissingField { field })
}

/// Calls the wipe step of `T`, naming `T` through a model value.
pub(super) fn wipe_like<T: WireField>(_model: &T, pb: &mut T::Pb) {
    T::wipe(pb);
}

/// Types that are carried unchanged.
macro_rules! same_on_wire {
    (copy: $($copy:ty),*; clone: $($clone:ty),*) => {
        $(
            impl WireField for $copy {
                type Pb = $copy;
                fn from_pb(pb: $copy, _field: &'static str) -> Result<Self, CodecError> {
                    Ok(pb)
                }
                fn to_pb(&self) -> $copy {
                    *self
                }
            }
        )*
        $(
            impl WireField for $clone {
                type Pb = $clone;
                fn from_pb(pb: $clone, _field: &'static str) -> Result<Self, CodecError> {
                    Ok(pb)
                }
                fn to_pb(&self) -> $clone {
                    self.clone()
                }
            }
        )*
    };
}

same_on_wire!(copy: bool, u32, u64; clone: String, Vec<u8>, Vec<u32>, Vec<String>);

/// IDs and version numbers the model keeps in a byte travel as `uint32`.
impl WireField for u8 {
    type Pb = u32;

    fn from_pb(pb: u32, field: &'static str) -> Result<Self, CodecError> {
        u8::try_from(pb).map_err(|_| CodecError::InvalidValue { field })
    }

    fn to_pb(&self) -> u32 {
        u32::from(*self)
    }
}

/// Secret bytes: moved out of the decoded message without a copy, and wiped from the
/// protobuf message after encoding.
impl WireField for Secret {
    type Pb = Vec<u8>;

    fn from_pb(pb: Vec<u8>, _field: &'static str) -> Result<Self, CodecError> {
        Ok(Zeroizing::new(pb))
    }

    fn to_pb(&self) -> Vec<u8> {
        self.to_vec()
    }

    fn wipe(pb: &mut Vec<u8>) {
        pb.zeroize();
    }
}

/// An optional byte string (the asymmetric-encryption salt): proto3 has no presence for
/// `bytes`, so an empty value means "none", as in Parsec.
impl WireField for Option<Vec<u8>> {
    type Pb = Vec<u8>;

    fn from_pb(pb: Vec<u8>, _field: &'static str) -> Result<Self, CodecError> {
        Ok(if pb.is_empty() { None } else { Some(pb) })
    }

    fn to_pb(&self) -> Vec<u8> {
        self.clone().unwrap_or_default()
    }
}

/// Maps a model enum onto a generated protobuf enum, variant by variant. The protobuf zero
/// value ("unspecified") and numbers the contract does not define decode to
/// [`CodecError::InvalidValue`].
macro_rules! wire_enum {
    ($model:ident <=> $pb:ident { $($m:ident <=> $p:ident),+ $(,)? }) => {
        impl $crate::codec::wire::WireField for $model {
            type Pb = i32;

            fn from_pb(
                pb: i32,
                field: &'static str,
            ) -> Result<Self, $crate::codec::CodecError> {
                match $pb::try_from(pb) {
                    $(Ok($pb::$p) => Ok($model::$m),)+
                    _ => Err($crate::codec::CodecError::InvalidValue { field }),
                }
            }

            fn to_pb(&self) -> i32 {
                match self {
                    $($model::$m => $pb::$p as i32,)+
                }
            }
        }
    };
}
pub(super) use wire_enum;

/// Maps a model struct onto a generated message whose fields have the same names, each field
/// through its [`WireField`] impl. Both struct literals are exhaustive, so a field added on
/// either side without the other fails to compile.
macro_rules! wire_struct {
    ($model:ident <=> $pb:path { $($f:ident),+ $(,)? }) => {
        impl $crate::codec::wire::WireMessage for $model {
            type Msg = $pb;

            fn from_msg(msg: $pb) -> Result<Self, $crate::codec::CodecError> {
                use $crate::codec::wire::WireField;
                Ok($model {
                    $($f: WireField::from_pb(
                        msg.$f,
                        concat!(stringify!($model), ".", stringify!($f)),
                    )?,)+
                })
            }

            fn to_msg(&self) -> $pb {
                use $crate::codec::wire::WireField;
                $pb {
                    $($f: WireField::to_pb(&self.$f),)+
                }
            }
        }
    };
}
pub(super) use wire_struct;
