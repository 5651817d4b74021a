//! Sizes as image-creator reads them: an integer of bytes or a humanfriendly string.

use serde::de::{self, Deserializer, Visitor};
use serde::{Serialize, Serializer};
use std::fmt;

/// A byte size written either as an integer or as text such as `"8G"` or `"512 MiB"`.
///
/// The text form is kept so that a recipe serialises back the way it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Size {
    /// A plain integer number of bytes.
    Bytes(u64),
    /// A humanfriendly string and the number of bytes it means.
    Text {
        /// The string as written.
        text: String,
        /// Its value in bytes.
        bytes: u64,
    },
}

impl Size {
    /// The size in bytes.
    pub fn bytes(&self) -> u64 {
        match self {
            Size::Bytes(b) => *b,
            Size::Text { bytes, .. } => *bytes,
        }
    }
}

/// Parses a humanfriendly size: decimal units (`K`, `KB`, `M`, `G`, `T`, `P` = powers of
/// 1000) and binary units (`KiB`, `MiB`, …). Like Python's `humanfriendly.parse_size`
/// with its default `binary=False`, which image-creator uses.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let multiplier: u64 = match unit.as_str() {
        "" | "b" | "byte" | "bytes" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000u64.pow(2),
        "g" | "gb" => 1000u64.pow(3),
        "t" | "tb" => 1000u64.pow(4),
        "p" | "pb" => 1000u64.pow(5),
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "pib" => 1 << 50,
        _ => return None,
    };
    if num.is_empty() {
        return None;
    }
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(multiplier);
    }
    let f: f64 = num.parse().ok()?;
    let v = f * multiplier as f64;
    if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
        return None;
    }
    Some(v as u64)
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Size::Bytes(b) => s.serialize_u64(*b),
            Size::Text { text, .. } => s.serialize_str(text),
        }
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = Size;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size: a non-negative integer of bytes or a string like \"8G\"")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
        Ok(Size::Bytes(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
        u64::try_from(v)
            .map(Size::Bytes)
            .map_err(|_| E::custom(format!("size {v} is negative")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
        parse_size(v)
            .map(|bytes| Size::Text {
                text: v.to_string(),
                bytes,
            })
            .ok_or_else(|| E::custom(format!("invalid size {v:?} (expected e.g. 8G, 512MiB)")))
    }
}

impl<'de> serde::Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        d.deserialize_any(SizeVisitor)
    }
}

/// `output.size`: `auto` (the computed minimum) or a size.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OutputSize {
    /// The smallest size that holds the content.
    #[default]
    Auto,
    /// An explicit size.
    Fixed(Size),
}

impl Serialize for OutputSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OutputSize::Auto => s.serialize_str("auto"),
            OutputSize::Fixed(size) => size.serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for OutputSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OutputSize, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OutputSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"auto\", an integer of bytes or a string like \"8G\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OutputSize, E> {
                SizeVisitor.visit_u64(v).map(OutputSize::Fixed)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OutputSize, E> {
                SizeVisitor.visit_i64(v).map(OutputSize::Fixed)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OutputSize, E> {
                if v.eq_ignore_ascii_case("auto") {
                    Ok(OutputSize::Auto)
                } else {
                    SizeVisitor.visit_str(v).map(OutputSize::Fixed)
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A file's `size`: `-1` (or absent) means unknown, image-creator's default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FileSize {
    /// Unknown; written as `-1`.
    #[default]
    Unknown,
    /// A known size.
    Known(Size),
}

impl FileSize {
    /// The size in bytes when known.
    pub fn bytes(&self) -> Option<u64> {
        match self {
            FileSize::Unknown => None,
            FileSize::Known(s) => Some(s.bytes()),
        }
    }
}

impl Serialize for FileSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FileSize::Unknown => s.serialize_i64(-1),
            FileSize::Known(size) => size.serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for FileSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FileSize, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FileSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("-1, an integer of bytes or a string like \"8G\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FileSize, E> {
                Ok(FileSize::Known(Size::Bytes(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FileSize, E> {
                if v == -1 {
                    Ok(FileSize::Unknown)
                } else {
                    SizeVisitor.visit_i64(v).map(FileSize::Known)
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FileSize, E> {
                SizeVisitor.visit_str(v).map(FileSize::Known)
            }
            fn visit_unit<E: de::Error>(self) -> Result<FileSize, E> {
                Ok(FileSize::Unknown)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanfriendly_units() {
        assert_eq!(parse_size("8G"), Some(8_000_000_000));
        assert_eq!(parse_size("8 GiB"), Some(8 << 30));
        assert_eq!(parse_size("1.5K"), Some(1500));
        assert_eq!(parse_size("42"), Some(42));
        assert_eq!(parse_size("12 apples"), None);
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("99999999999999999999P"), None);
    }
}
