//! Rendering an action: the plan's action with every reference replaced by its value, exactly
//! as a connector will run it, and the hash that binds an approval to it.
//!
//! docs/runtime.md, "Approvals are bound to content": a decision records, for each execute it gates,
//! the rendered action and its hash; at write time the runtime renders again and refuses on any
//! difference. So rendering is deterministic, and the hash covers everything that reaches the
//! system: SQL text and bound values, program and arguments, method, URL and body.
//!
//! SQL references are never spliced into the text: each `:reference` outside string literals
//! and comments becomes a positional parameter `?N` and its value is bound by the connector.

use std::collections::BTreeMap;

use serde::Serialize;

use super::value::Value;
use crate::digest::json_sha256;
use crate::plan::{PlanAction, PlanValue};
use crate::syntax::sql::{SqlToken, tokens};
use crate::syntax::template::{self, Piece};

/// An action ready to run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "connector", rename_all = "lowercase")]
pub enum Rendered {
    Sqlite {
        /// The SQL with each reference replaced by `?1`, `?2`, ... in order of appearance.
        sql: String,
        /// The values bound to `?1`, `?2`, ...
        params: Vec<Value>,
    },
    Exec {
        program: String,
        /// Arguments as the program receives them: text as is, other values as JSON.
        args: Vec<String>,
        /// For an execute or rollback program: the file it resolved to and its SHA-256
        /// ([`bind`]); absent for recommend and verify programs (and so from their hash).
        #[serde(skip_serializing_if = "Option::is_none")]
        bound: Option<BoundProgram>,
    },
    Http {
        method: &'static str,
        url: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<serde_json::Value>,
    },
}

impl Rendered {
    /// SHA-256 (64 lowercase hex digits) over `writ-action-v1\n` and the compact JSON of the
    /// rendered action (fields in declaration order; body keys sorted, as serde_json's map is).
    pub fn hash(&self) -> String {
        json_sha256("writ-action-v1\n", self)
    }
}

/// The file an execute or rollback program is, when bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoundProgram {
    /// The canonical path: symlinks resolved.
    pub path: String,
    /// SHA-256 of its bytes, 64 lowercase hex digits.
    pub sha256: String,
}

/// Why a program cannot be bound.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "program `{program}` is not inside the workflow's folder `{folder}`; an execute or \
         rollback program is an absolute path or a path inside that folder (no `PATH` lookup)"
    )]
    Outside { program: String, folder: String },
    #[error("program `{program}` cannot be read: {source}")]
    Unreadable {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// Binds an execute or rollback program to the file it is now: an absolute path as is, any
/// other inside the workflow's `folder` (a bare name too: no `PATH` lookup, so a program
/// placed first on `PATH` cannot stand in for it), symlinks resolved, and its SHA-256. The
/// binding is part of the action's hash, so a script swapped after the approval is refused.
pub fn bind(rendered: Rendered, folder: &std::path::Path) -> Result<Rendered, BindError> {
    let Rendered::Exec { program, args, .. } = rendered else {
        return Ok(rendered);
    };
    let unreadable = |source| BindError::Unreadable {
        program: program.clone(),
        source,
    };
    let given = std::path::Path::new(&program);
    let path = if given.is_absolute() {
        std::fs::canonicalize(given).map_err(unreadable)?
    } else {
        let folder = std::fs::canonicalize(folder).map_err(unreadable)?;
        let path = std::fs::canonicalize(folder.join(given)).map_err(unreadable)?;
        if !path.starts_with(&folder) {
            return Err(BindError::Outside {
                program: program.clone(),
                folder: folder.display().to_string(),
            });
        }
        path
    };
    let sha256 = crate::digest::file_sha256(&path).map_err(unreadable)?;
    Ok(Rendered::Exec {
        program,
        args,
        bound: Some(BoundProgram {
            path: path.display().to_string(),
            sha256,
        }),
    })
}

/// Why an action cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A reference that has no value when the action is rendered.
    #[error("`{reference}` has no value yet")]
    Unbound { reference: String },
    /// SQLite's own parameter syntax (`?`, `@x`, `$x`): the checker refuses it (E0001); refused
    /// here again, because it would collide with the `?N` parameters rendering writes.
    #[error("the SQL holds the SQLite parameter `{parameter}`; writ binds only `:references`")]
    ForeignParameter { parameter: String },
    /// A URL template whose value is null (a URL has no place for "nothing").
    #[error("`{reference}` is null, and a URL cannot hold it")]
    NullInUrl { reference: String },
    /// A URL template the checker would refuse (E0001), met again here.
    #[error("the URL is not a valid template: {why}")]
    BadTemplate { why: &'static str },
}

fn unbound(reference: &str) -> RenderError {
    RenderError::Unbound {
        reference: reference.to_owned(),
    }
}

/// The values a rendering may use, by reference: `name` (inputs), `step.field` (outputs),
/// `before.column` (a rollback's before-image).
pub type Scope = BTreeMap<String, Value>;

pub fn render(action: &PlanAction, scope: &Scope) -> Result<Rendered, RenderError> {
    match action {
        PlanAction::Sqlite { sql, .. } => render_sql(sql, scope),
        PlanAction::Exec { program, args } => Ok(Rendered::Exec {
            program: program.clone(),
            args: args
                .iter()
                .map(|a| value(a, scope).map(|v| argument(&v)))
                .collect::<Result<_, _>>()?,
            bound: None,
        }),
        PlanAction::Http {
            method, url, body, ..
        } => Ok(Rendered::Http {
            method,
            url: render_url(url, scope)?,
            body: match body {
                Some(entries) => {
                    let mut object = serde_json::Map::new();
                    for (key, v) in entries {
                        object.insert(key.clone(), value(v, scope)?);
                    }
                    Some(serde_json::Value::Object(object))
                }
                None => None,
            },
        }),
    }
}

/// A URL template with each `{ref}` replaced by its value, encoded as one path segment or
/// query component (`syntax::template`).
fn render_url(url: &str, scope: &Scope) -> Result<String, RenderError> {
    let mut out = String::with_capacity(url.len());
    for piece in template::pieces(url) {
        match piece {
            Piece::Text(text) => out.push_str(&text),
            Piece::Reference { range, .. } => {
                let reference = url.get(range).unwrap_or_default();
                let json = scope
                    .get(reference)
                    .map(Value::to_json)
                    .ok_or_else(|| unbound(reference))?;
                if json.is_null() {
                    return Err(RenderError::NullInUrl {
                        reference: reference.to_owned(),
                    });
                }
                out.push_str(&template::encode(&argument(&json)));
            }
            Piece::Bad { why, .. } => return Err(RenderError::BadTemplate { why }),
        }
    }
    Ok(out)
}

fn render_sql(sql: &str, scope: &Scope) -> Result<Rendered, RenderError> {
    let mut text = String::with_capacity(sql.len());
    let mut params = Vec::new();
    let mut copied = 0;
    for token in tokens(sql) {
        let range = match token {
            SqlToken::Reference { range, .. } => range,
            SqlToken::ForeignParameter(range) => {
                return Err(RenderError::ForeignParameter {
                    parameter: sql.get(range).unwrap_or("?").to_owned(),
                });
            }
            _ => continue,
        };
        let reference = sql.get(range.start + 1..range.end).unwrap_or("");
        let bound = scope.get(reference).ok_or_else(|| unbound(reference))?;
        text.push_str(sql.get(copied..range.start).unwrap_or(""));
        params.push(bound.clone());
        text.push_str(&format!("?{}", params.len()));
        copied = range.end;
    }
    text.push_str(sql.get(copied..).unwrap_or(""));
    Ok(Rendered::Sqlite { sql: text, params })
}

/// A literal as it is, a reference as its value's JSON.
fn value(v: &PlanValue, scope: &Scope) -> Result<serde_json::Value, RenderError> {
    match v {
        PlanValue::Literal(json) => Ok(json.clone()),
        PlanValue::Reference { reference } => scope
            .get(reference)
            .map(Value::to_json)
            .ok_or_else(|| unbound(reference)),
    }
}

/// A program argument: a string as its text, anything else as JSON (`42`, `1.5`, `true`).
fn argument(json: &serde_json::Value) -> String {
    match json {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::from([
            ("ticket_id".to_owned(), Value::Int(7)),
            (
                "suggest.priority".to_owned(),
                Value::Text("urgent'; DROP TABLE t; --".to_owned()),
            ),
        ])
    }

    #[test]
    fn sql_references_become_bound_parameters_never_text() {
        let action = PlanAction::Sqlite {
            sql: "UPDATE t SET p = :suggest.priority, note = ':not_a_ref' WHERE id = :ticket_id"
                .to_owned(),
            references: vec![],
        };
        let rendered = render(&action, &scope()).expect("bound");
        let Rendered::Sqlite { sql, params } = &rendered else {
            panic!("sqlite")
        };
        assert_eq!(
            sql,
            "UPDATE t SET p = ?1, note = ':not_a_ref' WHERE id = ?2"
        );
        assert_eq!(
            params,
            &[
                Value::Text("urgent'; DROP TABLE t; --".to_owned()),
                Value::Int(7)
            ]
        );
    }

    #[test]
    fn the_hash_changes_with_any_bound_value() {
        let action = PlanAction::Exec {
            program: "p".to_owned(),
            args: vec![PlanValue::Reference {
                reference: "ticket_id".to_owned(),
            }],
        };
        let a = render(&action, &scope()).expect("bound");
        let mut other = scope();
        other.insert("ticket_id".to_owned(), Value::Int(8));
        let b = render(&action, &other).expect("bound");
        assert_eq!(a.hash(), render(&action, &scope()).expect("bound").hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn url_templates_encode_each_value_as_one_component() {
        let url = |template: &str, scope: &Scope| {
            let action = PlanAction::Http {
                method: "GET",
                url: template.to_owned(),
                references: vec![],
                body: None,
            };
            render(&action, scope).map(|r| match r {
                Rendered::Http { url, .. } => url,
                other => format!("{other:?}"),
            })
        };
        let scope = Scope::from([
            ("id".to_owned(), Value::Text("a b/../c?d#e".into())),
            ("n".to_owned(), Value::Int(42)),
            ("none".to_owned(), Value::Null),
        ]);
        assert_eq!(
            url("/leads/{id}/x?n={n}&q={{lit}}", &scope),
            Ok("/leads/a%20b%2F..%2Fc%3Fd%23e/x?n=42&q={lit}".to_owned())
        );
        assert_eq!(
            url("/leads/{missing}", &scope),
            Err(RenderError::Unbound {
                reference: "missing".to_owned()
            })
        );
        assert_eq!(
            url("/leads/{none}", &scope),
            Err(RenderError::NullInUrl {
                reference: "none".to_owned()
            })
        );
    }

    #[test]
    fn sqlite_parameters_are_refused_even_here() {
        let action = PlanAction::Sqlite {
            sql: "UPDATE t SET p = ? WHERE id = :ticket_id".to_owned(),
            references: vec![],
        };
        assert_eq!(
            render(&action, &scope()),
            Err(RenderError::ForeignParameter {
                parameter: "?".to_owned()
            })
        );
    }

    #[test]
    fn http_bodies_bind_references_and_unbound_ones_are_refused() {
        let mut body = BTreeMap::new();
        body.insert(
            "id".to_owned(),
            PlanValue::Reference {
                reference: "ticket_id".to_owned(),
            },
        );
        body.insert("level".to_owned(), PlanValue::Literal(serde_json::json!(2)));
        let action = PlanAction::Http {
            method: "PATCH",
            url: "/t".to_owned(),
            references: vec![],
            body: Some(body),
        };
        let rendered = render(&action, &scope()).expect("bound");
        assert_eq!(
            rendered,
            Rendered::Http {
                method: "PATCH",
                url: "/t".to_owned(),
                body: Some(serde_json::json!({"id": 7, "level": 2}))
            }
        );
        let missing = PlanAction::Exec {
            program: "p".to_owned(),
            args: vec![PlanValue::Reference {
                reference: "nope".to_owned(),
            }],
        };
        assert_eq!(render(&missing, &scope()), Err(unbound("nope")));
    }
}
