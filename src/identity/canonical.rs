//! RFC 8785 (JSON Canonicalization Scheme) for the statements people sign.

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A number JCS cannot represent exactly (writ's statements use integers within 2^53).
    #[error("the number `{0}` has no exact canonical form")]
    Number(String),
}

/// The canonical UTF-8 bytes of `value`: object members sorted by their UTF-16 code units,
/// no insignificant white space, strings and numbers serialised as ECMAScript does.
pub fn to_canonical(value: &serde_json::Value) -> Result<Vec<u8>, CanonicalError> {
    let _ = value;
    todo!("identity helper")
}

/// Whether `bytes` are exactly the canonical form of the JSON they hold (a statement that is
/// not canonical is refused: two byte strings must never mean the same decision).
pub fn is_canonical(bytes: &[u8]) -> bool {
    let _ = bytes;
    todo!("identity helper")
}
