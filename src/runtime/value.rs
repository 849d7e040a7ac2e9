//! Values that flow through a run: inputs, step outputs, before-image columns. Outputs are
//! checked against their step's `yields` (type and `in [...]`) before anything downstream sees
//! them (docs/runtime.md: "the runtime rejects output that does not match").

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plan::{Name, PlanField};

/// One value. `Null` and `Blob` only come from SQL (a column in a before-image).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Number(f64),
    Text(String),
    /// Last: untagged, only an object `{"base64": ...}` reads as one.
    Blob(Blob),
}

/// The bytes of a BLOB column. Recorded as `{"base64": "..."}` (standard alphabet, padded),
/// so a before-image keeps them exactly, and bound back as a BLOB, never as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlobRecord {
    base64: String,
}

impl Blob {
    fn encoded(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }
}

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        BlobRecord {
            base64: self.encoded(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Blob, D::Error> {
        use base64::Engine;
        let record = BlobRecord::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(record.base64.as_bytes())
            .map(Blob)
            .map_err(|e| serde::de::Error::custom(format!("a BLOB's base64 is invalid: {e}")))
    }
}

impl Value {
    /// The value as JSON (a non-finite number, which no input can produce, becomes null).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Number(n) => serde_json::Number::from_f64(*n)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Text(t) => serde_json::Value::String(t.clone()),
            Value::Blob(blob) => serde_json::json!({ "base64": blob.encoded() }),
        }
    }

    /// The type name a message shows.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Number(_) => "number",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }

    /// Reads a value of the declared type `ty` (`text`, `int`, `number`, `bool`) from JSON; an
    /// `int` is accepted where a `number` is declared, nothing else converts.
    pub fn from_json(json: &serde_json::Value, ty: &str) -> Option<Value> {
        match (ty, json) {
            ("text", serde_json::Value::String(s)) => Some(Value::Text(s.clone())),
            ("bool", serde_json::Value::Bool(b)) => Some(Value::Bool(*b)),
            ("int", serde_json::Value::Number(n)) => n.as_i64().map(Value::Int),
            ("number", serde_json::Value::Number(n)) => n
                .as_i64()
                .map(Value::Int)
                .or_else(|| n.as_f64().map(Value::Number)),
            _ => None,
        }
    }

    /// Parses a command-line `--input name=value` by the input's declared type.
    pub fn parse_as(text: &str, ty: &str) -> Option<Value> {
        match ty {
            "text" => Some(Value::Text(text.to_owned())),
            "int" => text.trim().parse().ok().map(Value::Int),
            "number" => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::Number),
            "bool" => match text.trim() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// Why a step's output was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OutputError {
    #[error("the output is not a JSON object")]
    NotAnObject,
    #[error("the output has no field `{field}`")]
    Missing { field: Name },
    #[error("the output field `{field}` is {found}, not the declared `{declared}`")]
    WrongType {
        field: Name,
        declared: &'static str,
        found: String,
    },
    #[error("the output field `{field}` is {value}, which is not among the allowed values")]
    NotAllowed { field: Name, value: String },
}

/// Checks a step's JSON output against its `yields`: every declared field present with its
/// type and, when given, one of its allowed values. Undeclared fields are dropped: downstream
/// steps can only refer to declared ones, and the recommendation is recorded verbatim anyway.
pub fn check_output(
    fields: &[PlanField],
    output: &serde_json::Value,
) -> Result<BTreeMap<Name, Value>, OutputError> {
    let object = output.as_object().ok_or(OutputError::NotAnObject)?;
    let mut values = BTreeMap::new();
    for field in fields {
        let json = object
            .get(field.name.as_str())
            .ok_or_else(|| OutputError::Missing {
                field: field.name.clone(),
            })?;
        let value = Value::from_json(json, field.ty).ok_or_else(|| OutputError::WrongType {
            field: field.name.clone(),
            declared: field.ty,
            found: json.to_string(),
        })?;
        if let Some(allowed) = &field.allowed
            && !allowed
                .iter()
                .any(|a| Value::from_json(a, field.ty).as_ref() == Some(&value))
        {
            return Err(OutputError::NotAllowed {
                field: field.name.clone(),
                value: json.to_string(),
            });
        }
        values.insert(field.name.clone(), value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, ty: &'static str, allowed: Option<Vec<serde_json::Value>>) -> PlanField {
        PlanField {
            name: Name::new(name),
            ty,
            allowed,
        }
    }

    #[test]
    fn outputs_are_checked_against_yields() {
        let fields = [
            field(
                "priority",
                "text",
                Some(vec![json!("low"), json!("urgent")]),
            ),
            field("score", "number", None),
        ];
        let ok = check_output(
            &fields,
            &json!({"priority": "urgent", "score": 3, "extra": true}),
        );
        assert_eq!(ok.map(|v| v.len()), Ok(2));
        assert!(matches!(
            check_output(&fields, &json!({"priority": "high", "score": 1})),
            Err(OutputError::NotAllowed { .. })
        ));
        assert!(matches!(
            check_output(&fields, &json!({"priority": "low"})),
            Err(OutputError::Missing { .. })
        ));
        assert!(matches!(
            check_output(&fields, &json!({"priority": "low", "score": "3"})),
            Err(OutputError::WrongType { .. })
        ));
        assert_eq!(
            check_output(&fields, &json!([1])),
            Err(OutputError::NotAnObject)
        );
    }

    #[test]
    fn inputs_parse_by_declared_type() {
        assert_eq!(Value::parse_as("42", "int"), Some(Value::Int(42)));
        assert_eq!(Value::parse_as("4.5", "int"), None);
        assert_eq!(Value::parse_as("true", "bool"), Some(Value::Bool(true)));
        assert_eq!(Value::parse_as("NaN", "number"), None);
        assert_eq!(
            Value::parse_as("x y", "text"),
            Some(Value::Text("x y".into()))
        );
    }
}
