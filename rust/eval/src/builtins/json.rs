//! Serialisation builtins: `toJSON`, `fromJSON`, `fromTOML`, `toXML`.

use super::list;
use crate::error::{err, R};
use crate::eval::{attr, with_stack, Eval};
use crate::ir::{Param, Pos};
use crate::symbol::{intern, intern_bytes, Symbol};
use crate::value::{Attr, Attrs, Context, Value, SHORT_BYTES};
use std::fmt::Write;
use std::rc::Rc;

pub(super) fn to_json(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let mut out = Vec::new();
    let mut ctx = Context::new();
    ev.write_json(&args[0], pos, &mut out, &mut ctx)?;
    Ok(Value::string_ctx(out, ctx))
}

/// A JSON parser following nlohmann::json (which Nix 2.8 uses): integers that fit
/// 64 bits unsigned wrap to signed like Nix's cast, `-0` is the integer 0, floats
/// that overflow are an error.
struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
    /// Elements of the arrays being parsed, innermost last: each array takes its
    /// elements from the end when it closes, in one allocation of the right size.
    items: Vec<Value>,
    /// Attributes of the objects being parsed, likewise.
    entries: Vec<Attr>,
    /// The bytes of the object key or string being read (no allocation per key, no
    /// growth per string).
    key: Vec<u8>,
    /// Short strings made so far, by a hash of their bytes: a document repeats its
    /// short values (tags, kinds, states) many times, and strings are immutable, so a
    /// repeat shares the first one's allocation instead of making its own (tens of MB
    /// on a big document). The shortest take no allocation and are not kept here.
    /// Direct-mapped, a later string replaces an earlier one of the same hash: bounded
    /// memory, no hash-map iteration order anywhere.
    short: Vec<Option<Value>>,
    /// Object keys read so far, by a hash of their bytes (direct-mapped like
    /// [`JsonParser::short`]): a document repeats its keys in every record, and
    /// finding a repeat here costs less than the interner's lookup.
    keys: Vec<Option<Symbol>>,
}

/// Strings up to this many bytes, and longer than a string value holds in place
/// ([`SHORT_BYTES`]), are looked up in [`JsonParser::short`].
const SHORT_STRING: usize = 16;
/// Most entries of [`JsonParser::short`] and [`JsonParser::keys`], for documents of
/// 64 KiB and more; smaller ones get fewer (a power of two, at least 16), one per 64
/// bytes: the tables are made and zeroed at every call, which cost `fromJSON "1"` ten
/// times Nix's whole call at this size.
const SHORT_STRINGS: usize = 1024;

/// The number of entries of the string tables for a document of `len` bytes.
fn table_size(len: usize) -> usize {
    (len / 64).next_power_of_two().clamp(16, SHORT_STRINGS)
}

/// A JSON integer (`-?[0-9]+`, already checked) as Nix reads it: an `i64` when it
/// fits, a `u64` beyond that wrapped to `i64` (Nix's cast), `None` past both (then
/// it is read as a float). Computed from the digits: most numbers of a document are
/// small integers, and this is a fraction of `str::parse`'s cost.
fn json_integer(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let mut n: u64 = 0;
    for &d in digits {
        n = n
            .checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))?;
    }
    if !negative {
        return Some(n as i64);
    }
    // `-N` fits in an i64 down to -2^63; a negative beyond that is no u64 either.
    (n <= 1 << 63).then(|| (n as i64).wrapping_neg())
}

/// The length of the run of printable ASCII other than `"` and `\\` that `bytes`
/// starts with: string text that is copied as it is.
#[inline]
fn ascii_run(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))
        .unwrap_or(bytes.len())
}

/// FNV-1a of a string's bytes, the index of its entry in a table of `size` entries
/// (a power of two), [`JsonParser::short`] or [`JsonParser::keys`].
fn short_slot(bytes: &[u8], size: usize) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h as usize & (size - 1)
}

impl JsonParser<'_> {
    /// The 1-based line and column of the current byte.
    fn line_column(&self) -> (usize, usize) {
        let before = self.s.get(..self.i).unwrap_or(&[]);
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let col = self.i
            - before
                .iter()
                .rposition(|&c| c == b'\n')
                .map(|p| p + 1)
                .unwrap_or(0)
            + 1;
        (line, col)
    }

    fn fail(&self, what: &str) -> String {
        let (line, col) = self.line_column();
        let got = match self.s.get(self.i) {
            None => "end of input".to_string(),
            Some(c) => format!("'{}'", *c as char),
        };
        format!("[json.exception.parse_error.101] parse error at line {line}, column {col}: syntax error while parsing {what} - unexpected {got}")
    }

    /// nlohmann::json's error for a string holding bytes that are not UTF-8.
    fn ill_formed_utf8(&self) -> String {
        let (line, col) = self.line_column();
        // nlohmann counts the byte it stopped at as read.
        let col = col + 1;
        format!("[json.exception.parse_error.101] parse error at line {line}, column {col}: syntax error while parsing value - invalid string: ill-formed UTF-8 byte")
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        with_stack(|| self.value_inner())
    }

    fn value_inner(&mut self) -> Result<Value, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Value::attrs(Vec::new()));
                }
                let start = self.entries.len();
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.fail("object key"));
                    }
                    let name = self.read_string(Self::key_symbol)?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return Err(self.fail("object separator"));
                    }
                    self.i += 1;
                    let v = self.value()?;
                    self.entries.push(attr(name, v));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.fail("object")),
                    }
                }
                let entries: Vec<Attr> = self.entries.drain(start..).collect();
                Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(entries))))
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(list(Vec::new()));
                }
                let start = self.items.len();
                loop {
                    let v = self.value()?;
                    self.items.push(v);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.fail("array")),
                    }
                }
                Ok(Value::list(self.items.drain(start..).collect()))
            }
            Some(b'"') => self.read_string(Self::string_value),
            Some(b't') if self.s.get(self.i..self.i + 4) == Some(b"true") => {
                self.i += 4;
                Ok(Value::Bool(true))
            }
            Some(b'f') if self.s.get(self.i..self.i + 5) == Some(b"false") => {
                self.i += 5;
                Ok(Value::Bool(false))
            }
            Some(b'n') if self.s.get(self.i..self.i + 4) == Some(b"null") => {
                self.i += 4;
                Ok(Value::Null)
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.fail("value")),
        }
    }

    /// The interned name of an object key, remembered for the keys that follow.
    fn key_symbol(&mut self, bytes: &[u8]) -> Symbol {
        let slot = short_slot(bytes, self.keys.len());
        if let Some(Some(name)) = self.keys.get(slot) {
            if name.as_bytes() == bytes {
                return *name;
            }
        }
        let name = intern_bytes(bytes);
        if let Some(entry) = self.keys.get_mut(slot) {
            *entry = Some(name);
        }
        name
    }

    /// A string value of `bytes`, shared with an earlier equal one if short.
    fn string_value(&mut self, bytes: &[u8]) -> Value {
        // Up to SHORT_BYTES, a string value holds its bytes itself: nothing to share.
        if bytes.len() > SHORT_STRING || bytes.len() <= SHORT_BYTES {
            return Value::string(bytes);
        }
        let slot = short_slot(bytes, self.short.len());
        if let Some(Some(v @ Value::String(s))) = self.short.get(slot) {
            if **s == *bytes {
                return v.clone();
            }
        }
        let v = Value::string(bytes);
        if let Some(entry) = self.short.get_mut(slot) {
            *entry = Some(v.clone());
        }
        v
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let st = p.i;
            while matches!(p.s.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > st
        };
        if !digits(self) {
            return Err(self.fail("value"));
        }
        let mut float = false;
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            float = true;
            if !digits(self) {
                return Err(self.fail("value"));
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            float = true;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.fail("value"));
            }
        }
        let bytes = self.s.get(start..self.i).unwrap_or_default();
        if !float {
            if let Some(i) = json_integer(bytes) {
                return Ok(Value::Int(i));
            }
        }
        let text = std::str::from_utf8(bytes).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!(
                "[json.exception.out_of_range.406] number overflow parsing '{text}'"
            )),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.fail("string"))?;
        let h = std::str::from_utf8(h).map_err(|_| self.fail("string"))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.fail("string"))?;
        self.i += 4;
        Ok(v)
    }

    /// Reads a string (a key or a value) and makes `make` of its bytes: a plain one where
    /// it lies, one with escapes through the reused buffer (no allocation per string).
    fn read_string<T>(&mut self, make: fn(&mut Self, &[u8]) -> T) -> Result<T, String> {
        if let Some((from, to)) = self.plain_string() {
            let text = self.s.get(from..to).unwrap_or_default();
            return Ok(make(self, text));
        }
        let mut buf = std::mem::take(&mut self.key);
        buf.clear();
        let read = self.string_into(&mut buf).map(|()| make(self, &buf));
        self.key = buf;
        read
    }

    /// A string of printable ASCII without escapes (most keys and values) read where it
    /// lies: the range of its text in the input, the position moved past its closing
    /// quote. `None` (the position unmoved) for any other string.
    #[inline]
    fn plain_string(&mut self) -> Option<(usize, usize)> {
        let from = self.i + 1;
        let rest = self.s.get(from..)?;
        let run = ascii_run(rest);
        if rest.get(run) != Some(&b'"') {
            return None;
        }
        self.i = from + run + 1;
        Some((from, from + run))
    }

    /// Appends a string's bytes to `out`: escapes decoded, other bytes kept as they are.
    fn string_into(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        self.i += 1;
        loop {
            // Plain ASCII is copied a run at a time.
            let rest = self.s.get(self.i..).unwrap_or_default();
            let run = ascii_run(rest);
            out.extend_from_slice(rest.get(..run).unwrap_or_default());
            self.i += run;
            match self.s.get(self.i) {
                None => return Err(self.fail("string")),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.s.get(self.i).copied();
                    self.i += 1;
                    match c {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'b') => out.push(8),
                        Some(b'f') => out.push(12),
                        Some(b'n') => out.push(b'\n'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'u') => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000
                                    + ((cp - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.fail("string")),
                    }
                }
                Some(&c) if c < 0x20 => return Err(self.fail("string")),
                Some(&c) if c < 0x80 => {
                    out.push(c);
                    self.i += 1;
                }
                Some(&c) => {
                    // Like nlohmann::json: only well-formed UTF-8 (RFC 3629).
                    let width = match c {
                        0xc2..=0xdf => 2,
                        0xe0..=0xef => 3,
                        0xf0..=0xf4 => 4,
                        _ => 1,
                    };
                    let seq = self.s.get(self.i..self.i + width).unwrap_or_default();
                    if width == 1 || std::str::from_utf8(seq).is_err() {
                        return Err(self.ill_formed_utf8());
                    }
                    out.extend_from_slice(seq);
                    self.i += width;
                }
            }
        }
        Ok(())
    }
}

pub(super) fn from_json(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    let mut p = JsonParser {
        s: &s[..],
        i: 0,
        items: Vec::new(),
        entries: Vec::new(),
        key: Vec::new(),
        short: vec![None; table_size(s.len())],
        keys: vec![None; table_size(s.len())],
    };
    let v = p.value().map_err(|m| err(m, pos))?;
    p.ws();
    if p.i < p.s.len() {
        return Err(err(p.fail("value"), pos));
    }
    Ok(v)
}

fn from_toml_value(v: toml::Value) -> Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => Value::string(s),
        toml::Value::Integer(i) => Value::Int(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(_) => return Err("Dates and times are not supported".to_string()),
        toml::Value::Array(a) => list(
            a.into_iter()
                .map(from_toml_value)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        toml::Value::Table(t) => {
            let mut entries = Vec::with_capacity(t.len());
            for (k, v) in t {
                entries.push(attr(intern(&k), from_toml_value(v)?));
            }
            Value::Attrs(Rc::new(Attrs::from_unsorted(entries)))
        }
    })
}

pub(super) fn from_toml(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    let text = std::str::from_utf8(&s[..]).map_err(|e| {
        err(
            format!(
                "while parsing a TOML string: not UTF-8 at byte {}",
                e.valid_up_to()
            ),
            pos,
        )
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        err(format!("while parsing a TOML string: {}", e.message()), pos)
    })?;
    from_toml_value(toml::Value::Table(table))
        .map_err(|m| err(format!("while parsing a TOML string: {m}"), pos))
}

fn xml_escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Output state of `toXML`: the text, the collected context, derivations already shown.
struct Xml {
    out: String,
    ctx: Context,
    drvs_seen: std::collections::HashSet<String>,
}

fn xml_attrs(ev: &mut Eval, a: &Attrs, depth: usize, x: &mut Xml, pos: Pos) -> R<()> {
    for at in a.entries().iter() {
        indent(&mut x.out, depth);
        x.out.push_str("<attr name=\"");
        xml_escape(&mut x.out, &at.name.as_str());
        x.out.push_str("\">\n");
        xml_value(ev, &at.value, depth + 1, x, pos)?;
        indent(&mut x.out, depth);
        x.out.push_str("</attr>\n");
    }
    Ok(())
}

fn xml_value(ev: &mut Eval, v: &Value, depth: usize, x: &mut Xml, pos: Pos) -> R<()> {
    with_stack(|| {
        let v = ev.force(v)?;
        let out = &mut x.out;
        match &v {
            Value::Null => {
                indent(out, depth);
                out.push_str("<null />\n");
            }
            Value::Bool(b) => {
                indent(out, depth);
                let _ = writeln!(out, "<bool value=\"{b}\" />");
            }
            Value::Int(i) => {
                indent(out, depth);
                let _ = writeln!(out, "<int value=\"{i}\" />");
            }
            Value::Float(f) => {
                indent(out, depth);
                let _ = writeln!(out, "<float value=\"{}\" />", crate::print::fmt_g(*f));
            }
            Value::String(s) => {
                x.ctx.extend(s.ctx().iter().cloned());
                let out = &mut x.out;
                indent(out, depth);
                out.push_str("<string value=\"");
                xml_escape(out, &s.lossy());
                out.push_str("\" />\n");
            }
            Value::Path(p) => {
                indent(out, depth);
                out.push_str("<path value=\"");
                xml_escape(out, p);
                out.push_str("\" />\n");
            }
            Value::List(l) => {
                indent(out, depth);
                out.push_str("<list>\n");
                for item in l.iter() {
                    xml_value(ev, item, depth + 1, x, pos)?;
                }
                indent(&mut x.out, depth);
                x.out.push_str("</list>\n");
            }
            Value::Attrs(a) => {
                if ev.is_derivation(a)? {
                    indent(out, depth);
                    out.push_str("<derivation");
                    let mut drv_path = String::new();
                    for key in ["drvPath", "outPath"] {
                        if let Some(at) = a.get(intern(key)) {
                            let xv = ev.force(&at.value.clone())?;
                            if let Value::String(s) = &xv {
                                let out = &mut x.out;
                                let _ = write!(out, " {key}=\"");
                                xml_escape(out, &s.lossy());
                                out.push('"');
                                if key == "drvPath" {
                                    drv_path = s.lossy().into_owned();
                                }
                            }
                        }
                    }
                    x.out.push_str(">\n");
                    if !drv_path.is_empty() && x.drvs_seen.insert(drv_path) {
                        xml_attrs(ev, a, depth + 1, x, pos)?;
                    } else {
                        indent(&mut x.out, depth + 1);
                        x.out.push_str("<repeated />\n");
                    }
                    indent(&mut x.out, depth);
                    x.out.push_str("</derivation>\n");
                    return Ok(());
                }
                indent(out, depth);
                out.push_str("<attrs>\n");
                xml_attrs(ev, a, depth + 1, x, pos)?;
                indent(&mut x.out, depth);
                x.out.push_str("</attrs>\n");
            }
            Value::Lambda(c) => {
                indent(out, depth);
                match &c.lambda.param {
                    Param::Ident(n) => {
                        out.push_str("<function>\n");
                        indent(out, depth + 1);
                        out.push_str("<varpat name=\"");
                        xml_escape(out, &n.as_str());
                        out.push_str("\" />\n");
                    }
                    Param::Pattern {
                        formals,
                        ellipsis,
                        bind,
                        ..
                    } => {
                        out.push_str("<function>\n");
                        indent(out, depth + 1);
                        out.push_str("<attrspat");
                        if *ellipsis {
                            out.push_str(" ellipsis=\"1\"");
                        }
                        if let Some(b) = bind {
                            out.push_str(" name=\"");
                            xml_escape(out, &b.as_str());
                            out.push('"');
                        }
                        out.push_str(">\n");
                        let mut names: Vec<_> = formals.iter().map(|f| f.0).collect();
                        names.sort();
                        for n in names {
                            indent(out, depth + 2);
                            out.push_str("<attr name=\"");
                            xml_escape(out, &n.as_str());
                            out.push_str("\" />\n");
                        }
                        indent(out, depth + 1);
                        out.push_str("</attrspat>\n");
                    }
                }
                indent(out, depth);
                out.push_str("</function>\n");
            }
            Value::PrimOp(_) => {
                indent(out, depth);
                out.push_str("<unevaluated />\n");
            }
            Value::Thunk(_) => {
                indent(out, depth);
                out.push_str("<unevaluated />\n");
            }
        }
        Ok(())
    })
}

pub(super) fn to_xml(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let mut x = Xml {
        out: String::from("<?xml version='1.0' encoding='utf-8'?>\n<expr>\n"),
        ctx: Context::new(),
        drvs_seen: Default::default(),
    };
    xml_value(ev, &args[0], 1, &mut x, pos)?;
    x.out.push_str("</expr>\n");
    Ok(Value::string_ctx(x.out, x.ctx))
}

#[cfg(test)]
mod tests {
    use super::{short_slot, table_size, SHORT_STRINGS};

    /// Tables are powers of two from 16 to [`SHORT_STRINGS`] entries, and every slot
    /// falls inside the table it was computed for.
    #[test]
    fn string_tables_grow_with_the_document_and_slots_stay_inside() {
        assert_eq!(table_size(0), 16);
        assert_eq!(table_size(3), 16);
        assert_eq!(table_size(64 * 100), 128);
        assert_eq!(table_size(20 << 20), SHORT_STRINGS);
        for len in [0, 1, 1000, 5000, 70_000, 1 << 30] {
            let size = table_size(len);
            assert!(size.is_power_of_two());
            for word in ["kind", "abcdefghijklmnop", "", "x"] {
                assert!(short_slot(word.as_bytes(), size) < size);
            }
        }
    }
}
