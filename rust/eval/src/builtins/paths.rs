//! Filesystem builtins: `import`, `readFile`, `readDir`, `pathExists`, path names.

use super::INTERP;
use crate::error::{err, R};
use crate::eval::{attr, Coerce, Eval};
use crate::ir::Pos;
use crate::store::hash::{HashAlgo, Hasher};
use crate::symbol::intern;
use crate::value::{Attrs, Value};
use std::rc::Rc;

const NO_COPY: Coerce = Coerce {
    more: false,
    copy: false,
};

pub(super) fn import(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let path = ev.coerce_to_path(&args[0], pos)?;
    ev.import_path(&path, pos)
}

/// `scopedImport scope path`: imports the file with `scope`'s attributes as variables
/// that shadow the builtins (uncached, as in Nix).
pub(super) fn scoped_import(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let scope = ev.force_attrs(&args[0], pos)?;
    let path = ev.coerce_to_path(&args[1], pos)?;
    ev.import_scoped(&path, &scope, pos)
}

fn io_err(what: &str, path: &str, e: &std::io::Error, pos: Pos) -> Box<crate::error::EvalError> {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
        _ => os_reason(e),
    };
    err(format!("{what} '{path}': {reason}"), pos)
}

/// The system's words for an I/O error, as Nix prints them (`strerror`): without the
/// ` (os error N)` Rust appends.
fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text)
            .to_string(),
        None => text,
    }
}

pub(super) fn read_file(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let path = ev.coerce_to_path(&args[0], pos)?;
    let bytes = std::fs::read(&path).map_err(|e| io_err("opening file", &path, &e, pos))?;
    Ok(Value::string(bytes))
}

/// `hashFile algo path`. The file is streamed through the hasher in 64 KiB reads
/// instead of being read whole first, which cost a buffer the size of the file and the
/// page faults of filling it.
pub(super) fn hash_file(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let algo = ev.force_str(&args[0], pos)?;
    // Nix rejects an unknown algorithm before it evaluates the path.
    let algo = HashAlgo::parse(&algo.lossy()).map_err(|e| err(e.to_string(), pos))?;
    let path = ev.coerce_to_path(&args[1], pos)?;
    let file = std::fs::File::open(&path).map_err(|e| io_err("opening file", &path, &e, pos))?;
    let mut hasher = Hasher::new(algo);
    // The hasher never fails to take bytes: an error is from reading.
    std::io::copy(
        &mut std::io::BufReader::with_capacity(64 * 1024, file),
        &mut hasher,
    )
    .map_err(|e| err(format!("reading from file: {}", os_reason(&e)), pos))?;
    Ok(Value::string(hasher.finish().to_base16()))
}

fn file_type(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_file() {
        "regular"
    } else {
        "unknown"
    }
}

pub(super) fn read_dir(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let path = ev.coerce_to_path(&args[0], pos)?;
    let rd = std::fs::read_dir(&path).map_err(|e| io_err("opening directory", &path, &e, pos))?;
    let mut entries = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| io_err("reading directory", &path, &e, pos))?;
        let ft = entry
            .file_type()
            .map_err(|e| io_err("getting status of", &path, &e, pos))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        entries.push(attr(intern(&name), Value::string(file_type(ft))));
    }
    Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(entries))))
}

pub(super) fn read_file_type(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let path = ev.coerce_to_path(&args[0], pos)?;
    let md = std::fs::symlink_metadata(&path)
        .map_err(|e| io_err("getting status of", &path, &e, pos))?;
    Ok(Value::string(file_type(md.file_type())))
}

pub(super) fn path_exists(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let path = ev.coerce_to_path(&args[0], pos)?;
    Ok(Value::Bool(std::fs::symlink_metadata(&path).is_ok()))
}

pub(super) fn base_name_of(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (s, ctx) = ev.coerce(&args[0], pos, NO_COPY)?;
    let trimmed = s.strip_suffix(b"/").unwrap_or(&s);
    let base = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => trimmed.get(i + 1..).unwrap_or_default(),
        None => trimmed,
    };
    Ok(Value::string_ctx(base, ctx))
}

fn dir_name(s: &[u8]) -> &[u8] {
    match s.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(i) => s.get(..i).unwrap_or_default(),
        None => b".",
    }
}

pub(super) fn dir_of(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let v = ev.force(&args[0])?;
    if let Value::Path(p) = &v {
        let dir = String::from_utf8_lossy(dir_name(p.as_bytes())).into_owned();
        return Ok(Value::Path(Rc::from(dir)));
    }
    let (s, ctx) = ev.coerce(&v, pos, NO_COPY)?;
    Ok(Value::string_ctx(dir_name(&s), ctx))
}

pub(super) fn to_path(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let p = ev.coerce_to_path(&args[0], pos)?;
    Ok(Value::string(crate::lower::canon_path(&p)))
}

pub(super) fn store_path(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (s, _) = ev.coerce(&args[0], pos, INTERP)?;
    let s = String::from_utf8_lossy(&s).into_owned();
    if !s.starts_with("/nix/store/") {
        return Err(err(format!("path '{s}' is not in the Nix store"), pos));
    }
    let mut ctx = crate::value::Context::new();
    ctx.insert(Rc::from(s.as_str()));
    Ok(Value::string_ctx(s, ctx))
}

pub(super) fn filter_source(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let filter = args[0].clone();
    let path = ev.coerce_to_path(&args[1], pos)?;
    crate::store_glue::add_path(ev, &path, None, Some(filter), true, None, pos)
}

pub(super) fn path(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let a = ev.force_attrs(&args[0], pos)?;
    let get = |n: &str| a.get(intern(n)).map(|x| x.value.clone());
    let path = match get("path") {
        Some(p) => ev.coerce_to_path(&p, pos)?,
        None => return Err(err("attribute 'path' missing in call to 'path'", pos)),
    };
    let name = match get("name") {
        Some(n) => Some(ev.force_str(&n, pos)?.lossy().into_owned()),
        None => None,
    };
    let recursive = match get("recursive") {
        Some(r) => ev.force_bool(&r, pos)?,
        None => true,
    };
    let sha256 = match get("sha256") {
        Some(h) => Some(ev.force_str(&h, pos)?.lossy().into_owned()),
        None => None,
    };
    let filter = get("filter");
    crate::store_glue::add_path(ev, &path, name, filter, recursive, sha256, pos)
}

/// `findFile searchPath name`: `<name>` looked up in a search path given as a list of
/// `{ prefix ? "", path }` sets.
pub(super) fn find_file(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let list = ev.force_list(&args[0], pos)?;
    let mut search_path = Vec::with_capacity(list.len());
    for elem in list.iter() {
        let set = ev.force_attrs(elem, pos)?;
        let prefix = match set.get(intern("prefix")) {
            Some(a) => ev.force_str(&a.value, pos)?.lossy().into_owned(),
            None => String::new(),
        };
        let path = match set.get(intern("path")) {
            Some(a) => ev.coerce(&a.value, pos, NO_COPY)?.0,
            None => return Err(err("attribute 'path' missing", pos)),
        };
        search_path.push((
            prefix,
            std::path::PathBuf::from(String::from_utf8_lossy(&path).into_owned()),
        ));
    }
    let name = ev.force_str(&args[1], pos)?.lossy().into_owned();
    crate::eval::find_file(&search_path, &name, pos)
}
