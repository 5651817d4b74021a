//! Typed reading of YAML values with messages that name the option, the expected type
//! and the actual value.

use serde_yaml::{Mapping, Value};

/// A value that does not fit its option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}: {message}")]
pub struct Invalid {
    /// The option, e.g. `ap.passphrase`.
    pub option: String,
    /// What is wrong: expected vs actual.
    pub message: String,
}

/// Builds an [`Invalid`].
pub fn invalid(option: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        option: option.into(),
        message: message.into(),
    }
}

/// A short description of a value for messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// A mapping option (e.g. `ap`) whose sub-options are read by name.
pub struct Section<'a> {
    name: &'a str,
    map: Option<&'a Mapping>,
    /// Sub-options present but not known, for a warning.
    pub unknown: Vec<String>,
}

impl<'a> Section<'a> {
    /// `value` must be a mapping (or null/absent = all defaults).
    pub fn new(name: &'a str, value: &'a Value, known: &[&str]) -> Result<Self, Invalid> {
        let map = match value {
            Value::Mapping(m) => Some(m),
            Value::Null => None,
            other => {
                return Err(invalid(
                    name,
                    format!("expected a mapping, got {}", describe(other)),
                ))
            }
        };
        let mut unknown = Vec::new();
        for k in map.into_iter().flat_map(|m| m.keys()) {
            match k.as_str() {
                Some(s) if known.contains(&s) => {}
                Some(s) => unknown.push(format!("{name}.{s}")),
                None => {
                    return Err(invalid(
                        name,
                        format!("keys must be strings, got {}", describe(k)),
                    ))
                }
            }
        }
        Ok(Section { name, map, unknown })
    }

    /// The full name of sub-option `key`.
    pub fn option(&self, key: &str) -> String {
        format!("{}.{key}", self.name)
    }

    /// The raw value of `key` (null counts as absent).
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map
            .and_then(|m| m.get(key))
            .filter(|v| !matches!(v, Value::Null))
    }

    /// The first present key among `keys` (aliases such as `channel_24`/`channel-24`).
    pub fn raw_any(&self, keys: &[&str]) -> Option<(&'a Value, String)> {
        keys.iter()
            .find_map(|k| self.raw(k).map(|v| (v, self.option(k))))
    }

    /// A string; numbers are accepted as their text (YAML reads `12345678` as a number).
    pub fn string(&self, key: &str) -> Result<Option<String>, Invalid> {
        self.raw(key)
            .map(|v| scalar_string(&self.option(key), v))
            .transpose()
    }

    /// A boolean.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, Invalid> {
        self.raw(key)
            .map(|v| match v {
                Value::Bool(b) => Ok(*b),
                other => Err(invalid(
                    self.option(key),
                    format!("expected true or false, got {}", describe(other)),
                )),
            })
            .transpose()
    }

    /// An unsigned integer.
    pub fn integer(&self, key: &str) -> Result<Option<u64>, Invalid> {
        self.raw(key)
            .map(|v| integer(&self.option(key), v))
            .transpose()
    }

    /// A list of strings (a single string is accepted as a one-item list).
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, Invalid> {
        self.raw(key)
            .map(|v| strings(&self.option(key), v))
            .transpose()
    }
}

/// A scalar as text.
pub fn scalar_string(option: &str, v: &Value) -> Result<String, Invalid> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(invalid(
            option,
            format!("expected a string, got {}", describe(other)),
        )),
    }
}

/// An unsigned integer.
pub fn integer(option: &str, v: &Value) -> Result<u64, Invalid> {
    v.as_u64().ok_or_else(|| {
        invalid(
            option,
            format!("expected a non-negative integer, got {}", describe(v)),
        )
    })
}

/// A list of strings.
pub fn strings(option: &str, v: &Value) -> Result<Vec<String>, Invalid> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| scalar_string(&format!("{option}[{i}]"), item))
            .collect(),
        Value::String(s) => Ok(vec![s.clone()]),
        other => Err(invalid(
            option,
            format!("expected a list of strings, got {}", describe(other)),
        )),
    }
}
