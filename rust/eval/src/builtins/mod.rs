//! The builtins table and the general-purpose builtins.
//!
//! Each builtin is a plain function `fn(&mut Eval, &[Value], Pos) -> R<Value>`
//! registered with its arity; themed groups live in submodules.

mod attrs;
mod context;
mod json;
mod lists;
mod paths;
mod regex;
mod strings;

use crate::error::{err, err_kind, ErrorKind, R};
use crate::eval::{attr, Coerce, Eval};
use crate::ir::{Param, Pos};
use crate::symbol::intern;
use crate::value::{Attr, Attrs, PrimOpApp, PrimOpDef, ThunkState, Value};
use std::rc::Rc;

macro_rules! prim {
    ($name:expr, $arity:expr, $f:path) => {
        PrimOpDef {
            name: $name,
            arity: $arity,
            func: $f,
        }
    };
}

/// Every builtin function, by name.
static PRIMOPS: &[PrimOpDef] = &[
    prim!("abort", 1, abort),
    prim!("add", 2, add),
    prim!("addErrorContext", 2, add_error_context),
    prim!("all", 2, lists::all),
    prim!("any", 2, lists::any),
    prim!("appendContext", 2, context::append_context),
    prim!("attrNames", 1, attrs::attr_names),
    prim!("attrValues", 1, attrs::attr_values),
    prim!("baseNameOf", 1, paths::base_name_of),
    prim!("bitAnd", 2, bit_and),
    prim!("bitOr", 2, bit_or),
    prim!("bitXor", 2, bit_xor),
    prim!("catAttrs", 2, attrs::cat_attrs),
    prim!("ceil", 1, ceil),
    prim!("compareVersions", 2, strings::compare_versions),
    prim!("concatLists", 1, lists::concat_lists),
    prim!("concatMap", 2, lists::concat_map),
    prim!("concatStringsSep", 2, strings::concat_strings_sep),
    prim!("deepSeq", 2, deep_seq),
    prim!("derivationStrict", 1, context::derivation_strict),
    prim!("dirOf", 1, paths::dir_of),
    prim!("div", 2, div),
    prim!("elem", 2, lists::elem),
    prim!("elemAt", 2, lists::elem_at),
    prim!("fetchGit", 1, fetcher),
    prim!("fetchMercurial", 1, fetcher),
    prim!("fetchTarball", 1, fetcher),
    prim!("fetchTree", 1, fetcher),
    prim!("fetchurl", 1, fetcher),
    prim!("filter", 2, lists::filter),
    prim!("filterSource", 2, paths::filter_source),
    prim!("findFile", 2, paths::find_file),
    prim!("floor", 1, floor),
    prim!("foldl'", 3, lists::foldl),
    prim!("fromJSON", 1, json::from_json),
    prim!("fromTOML", 1, json::from_toml),
    prim!("functionArgs", 1, function_args),
    prim!("genList", 2, lists::gen_list),
    prim!("genericClosure", 1, lists::generic_closure),
    prim!("getAttr", 2, attrs::get_attr),
    prim!("getContext", 1, context::get_context),
    prim!("getEnv", 1, get_env),
    prim!("groupBy", 2, lists::group_by),
    prim!("hasAttr", 2, attrs::has_attr),
    prim!("hasContext", 1, context::has_context),
    prim!("hashFile", 2, paths::hash_file),
    prim!("hashString", 2, strings::hash_string),
    prim!("head", 1, lists::head),
    prim!("import", 1, paths::import),
    prim!("intersectAttrs", 2, attrs::intersect_attrs),
    prim!("isAttrs", 1, is_attrs),
    prim!("isBool", 1, is_bool),
    prim!("isFloat", 1, is_float),
    prim!("isFunction", 1, is_function),
    prim!("isInt", 1, is_int),
    prim!("isList", 1, is_list),
    prim!("isNull", 1, is_null),
    prim!("isPath", 1, is_path),
    prim!("isString", 1, is_string),
    prim!("length", 1, lists::length),
    prim!("lessThan", 2, less_than),
    prim!("listToAttrs", 1, attrs::list_to_attrs),
    prim!("map", 2, lists::map),
    prim!("mapAttrs", 2, attrs::map_attrs),
    prim!("match", 2, regex::match_),
    prim!("mul", 2, mul),
    prim!("parseDrvName", 1, strings::parse_drv_name),
    prim!("partition", 2, lists::partition),
    prim!("path", 1, paths::path),
    prim!("pathExists", 1, paths::path_exists),
    prim!("placeholder", 1, context::placeholder),
    prim!("readDir", 1, paths::read_dir),
    prim!("readFile", 1, paths::read_file),
    prim!("readFileType", 1, paths::read_file_type),
    prim!("removeAttrs", 2, attrs::remove_attrs),
    prim!("replaceStrings", 3, strings::replace_strings),
    prim!("scopedImport", 2, paths::scoped_import),
    prim!("seq", 2, seq),
    prim!("sort", 2, lists::sort),
    prim!("split", 2, regex::split),
    prim!("splitVersion", 1, strings::split_version),
    prim!("storePath", 1, paths::store_path),
    prim!("stringLength", 1, strings::string_length),
    prim!("sub", 2, sub),
    prim!("substring", 3, strings::substring),
    prim!("tail", 1, lists::tail),
    prim!("throw", 1, throw),
    prim!("toFile", 2, context::to_file),
    prim!("toJSON", 1, json::to_json),
    prim!("toPath", 1, paths::to_path),
    prim!("toString", 1, to_string),
    prim!("toXML", 1, json::to_xml),
    prim!("trace", 2, trace),
    prim!("tryEval", 1, try_eval),
    prim!("typeOf", 1, type_of),
    prim!(
        "unsafeDiscardOutputDependency",
        1,
        context::discard_output_dependency
    ),
    prim!("unsafeDiscardStringContext", 1, context::discard_context),
    prim!("unsafeGetAttrPos", 2, attrs::unsafe_get_attr_pos),
    prim!("zipAttrsWith", 2, attrs::zip_attrs_with),
];

/// Builtins that are also visible without the `builtins.` prefix.
const GLOBAL_NAMES: &[&str] = &[
    "abort",
    "baseNameOf",
    "derivationStrict",
    "dirOf",
    "fetchGit",
    "fetchMercurial",
    "fetchTarball",
    "fetchTree",
    "fromTOML",
    "import",
    "isNull",
    "map",
    "placeholder",
    "removeAttrs",
    "scopedImport",
    "throw",
    "toString",
];

fn prim_value(def: &'static PrimOpDef) -> Value {
    Value::PrimOp(Rc::new(PrimOpApp {
        op: def,
        args: Vec::new(),
    }))
}

/// Installs the global names and the `builtins` set into `ev`.
pub fn install(ev: &mut Eval) {
    let mut entries: Vec<Attr> = Vec::new();
    for def in PRIMOPS {
        entries.push(attr(intern(def.name), prim_value(def)));
    }
    let system = format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS);
    let consts: Vec<(&str, Value)> = vec![
        ("currentSystem", Value::string(system)),
        ("langVersion", Value::Int(6)),
        ("nixVersion", Value::string("2.8.0")),
        ("storeDir", Value::string("/nix/store")),
        ("true", Value::Bool(true)),
        ("false", Value::Bool(false)),
        ("null", Value::Null),
        ("nixPath", Value::list(Vec::new())),
    ];
    let search: Vec<Value> = ev
        .search_path
        .iter()
        .map(|(prefix, path)| {
            Value::attrs(vec![
                attr(
                    intern("path"),
                    Value::string(path.to_string_lossy().to_string()),
                ),
                attr(intern("prefix"), Value::string(prefix.clone())),
            ])
        })
        .collect();
    for (name, v) in consts {
        let v = if name == "nixPath" {
            Value::list(search.clone())
        } else {
            v
        };
        entries.push(attr(intern(name), v));
    }
    // `builtins.builtins` is the set itself: a thunk filled in once the set exists.
    let self_ref = ev.thunks.make(ThunkState::Blackhole);
    entries.push(attr(intern("builtins"), Value::Thunk(self_ref.clone())));
    // `derivation` is Nix code (as in Nix itself), evaluated once the globals exist.
    let drv_ref = ev.thunks.make(ThunkState::Blackhole);
    entries.push(attr(intern("derivation"), Value::Thunk(drv_ref.clone())));
    let builtins = Rc::new(Attrs::from_unsorted(entries));
    self_ref.set(ThunkState::Done(Value::Attrs(builtins.clone())));
    for a in builtins.entries() {
        let name = a.name.as_str();
        let name: &str = &name;
        if name == "builtins" || name == "derivation" {
            continue;
        }
        if !matches!(name, "true" | "false" | "null") {
            ev.globals
                .insert(intern(&format!("__{name}")), a.value.clone());
        }
        if GLOBAL_NAMES.contains(&name) || matches!(name, "true" | "false" | "null" | "derivation")
        {
            ev.globals.insert(a.name, a.value.clone());
        }
    }
    ev.globals
        .insert(intern("builtins"), Value::Attrs(builtins));
    let drv = ev
        .parse(
            crate::store_glue::DERIVATION_NIX,
            "<nix/derivation.nix>".to_string(),
            "/",
        )
        .and_then(|e| ev.eval(&e, &crate::value::Env::empty(None)));
    let drv = match drv {
        Ok(v) => v,
        Err(e) => Value::string(format!("internal error: {}", e.msg)),
    };
    drv_ref.set(ThunkState::Done(drv.clone()));
    ev.globals.insert(intern("derivation"), drv.clone());
    ev.globals.insert(intern("__derivation"), drv);
}

// ----- helpers shared by the submodules -----

/// Coercion rules of `toString`.
pub(crate) const TO_STRING: Coerce = Coerce {
    more: true,
    copy: true,
};

/// Coercion rules of string interpolation.
pub(crate) const INTERP: Coerce = Coerce {
    more: false,
    copy: true,
};

/// A set built from unsorted `(name, value)` pairs.
pub(crate) fn make_attrs(pairs: Vec<(&str, Value)>) -> Value {
    Value::Attrs(Rc::new(Attrs::from_unsorted(
        pairs.into_iter().map(|(n, v)| attr(intern(n), v)).collect(),
    )))
}

/// A list value.
pub(crate) fn list(items: Vec<Value>) -> Value {
    Value::list(items)
}

// ----- general builtins -----

fn abort(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (s, _) = ev.coerce(&args[0], pos, TO_STRING)?;
    let s = String::from_utf8_lossy(&s);
    Err(err_kind(
        ErrorKind::Abort,
        format!("evaluation aborted with the following error message: '{s}'"),
        pos,
    ))
}

fn throw(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (s, _) = ev.coerce(&args[0], pos, TO_STRING)?;
    Err(err_kind(
        ErrorKind::Thrown,
        String::from_utf8_lossy(&s).into_owned(),
        pos,
    ))
}

fn fetcher(_: &mut Eval, _: &[Value], pos: Pos) -> R<Value> {
    Err(err(
        "network fetchers (fetchurl, fetchTarball, fetchGit, fetchTree) are not supported by nixspot-eval (network fetchers are disabled)",
        pos,
    ))
}

fn add_error_context(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    match ev.force(&args[1]) {
        Ok(v) => Ok(v),
        Err(e) => {
            let msg = match ev.coerce(&args[0], pos, TO_STRING) {
                Ok((s, _)) => String::from_utf8_lossy(&s).into_owned(),
                Err(restart) if restart.kind == ErrorKind::Restart => return Err(restart),
                Err(_) => return Err(e),
            };
            Err(e.frame(Pos::NONE, || msg))
        }
    }
}

fn arith(ev: &mut Eval, op: crate::ir::BinOp, args: &[Value], pos: Pos) -> R<Value> {
    let a = ev.force(&args[0])?;
    let b = ev.force(&args[1])?;
    ev.arith(op, a, b, pos)
}

fn add(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    arith(ev, crate::ir::BinOp::Add, args, pos)
}

fn sub(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    arith(ev, crate::ir::BinOp::Sub, args, pos)
}

fn mul(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    arith(ev, crate::ir::BinOp::Mul, args, pos)
}

fn div(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    arith(ev, crate::ir::BinOp::Div, args, pos)
}

fn bit_and(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    Ok(Value::Int(
        ev.force_int(&args[0], pos)? & ev.force_int(&args[1], pos)?,
    ))
}

fn bit_or(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    Ok(Value::Int(
        ev.force_int(&args[0], pos)? | ev.force_int(&args[1], pos)?,
    ))
}

fn bit_xor(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    Ok(Value::Int(
        ev.force_int(&args[0], pos)? ^ ev.force_int(&args[1], pos)?,
    ))
}

fn ceil(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    Ok(Value::Int(ev.force_float(&args[0], pos)?.ceil() as i64))
}

fn floor(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    Ok(Value::Int(ev.force_float(&args[0], pos)?.floor() as i64))
}

fn less_than(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    Ok(Value::Bool(ev.less_than(&args[0], &args[1], pos)?))
}

fn seq(ev: &mut Eval, args: &[Value], _pos: Pos) -> R<Value> {
    ev.force(&args[0])?;
    ev.force(&args[1])
}

fn deep_seq(ev: &mut Eval, args: &[Value], _pos: Pos) -> R<Value> {
    ev.deep_force(&args[0])?;
    ev.force(&args[1])
}

fn trace(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    if ev.speculate {
        return Err(err_kind(ErrorKind::Restart, "trace while speculating", pos));
    }
    let v = ev.force(&args[0])?;
    let mut out = b"trace: ".to_vec();
    match &v {
        Value::String(s) => out.extend_from_slice(&s[..]),
        other => ev.write_nix(other, false, &mut out)?,
    }
    out.push(b'\n');
    // Bytes as they are, like Nix; a closed stderr is not the evaluation's problem.
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), &out);
    ev.force(&args[1])
}

fn try_eval(ev: &mut Eval, args: &[Value], _pos: Pos) -> R<Value> {
    match ev.force(&args[0]) {
        Ok(v) => Ok(make_attrs(vec![
            ("success", Value::Bool(true)),
            ("value", v),
        ])),
        Err(e) if matches!(e.kind, ErrorKind::Thrown | ErrorKind::Assertion) => {
            Ok(make_attrs(vec![
                ("success", Value::Bool(false)),
                ("value", Value::Bool(false)),
            ]))
        }
        Err(e) => Err(e),
    }
}

fn type_of(ev: &mut Eval, args: &[Value], _pos: Pos) -> R<Value> {
    Ok(Value::string(ev.force(&args[0])?.type_of()))
}

fn is_type(ev: &mut Eval, v: &Value, f: fn(&Value) -> bool) -> R<Value> {
    Ok(Value::Bool(f(&ev.force(v)?)))
}

fn is_attrs(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::Attrs(_)))
}

fn is_bool(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::Bool(_)))
}

fn is_float(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::Float(_)))
}

fn is_function(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| {
        matches!(v, Value::Lambda(_) | Value::PrimOp(_))
    })
}

fn is_int(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::Int(_)))
}

fn is_list(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::List(_)))
}

fn is_null(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::Null))
}

fn is_path(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::Path(_)))
}

fn is_string(ev: &mut Eval, args: &[Value], _: Pos) -> R<Value> {
    is_type(ev, &args[0], |v| matches!(v, Value::String(_)))
}

fn to_string(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (s, ctx) = ev.coerce(
        &args[0],
        pos,
        Coerce {
            more: true,
            copy: false,
        },
    )?;
    Ok(Value::string_ctx(s, ctx))
}

fn get_env(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let name = ev.force_str(&args[0], pos)?;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let value = std::env::var_os(std::ffi::OsStr::from_bytes(&name[..]));
    Ok(Value::string(
        value.map(OsStringExt::into_vec).unwrap_or_default(),
    ))
}

fn function_args(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    match &ev.force(&args[0])? {
        Value::Lambda(c) => match &c.lambda.param {
            Param::Ident(_) => Ok(make_attrs(Vec::new())),
            Param::Pattern {
                formals,
                formal_pos,
                ..
            } => Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(
                formals
                    .iter()
                    .zip(formal_pos)
                    .map(|((n, d), p)| crate::value::Attr {
                        name: *n,
                        value: Value::Bool(d.is_some()),
                        pos: *p,
                    })
                    .collect(),
            )))),
        },
        Value::PrimOp(_) => Ok(make_attrs(Vec::new())),
        other => Err(err(
            format!(
                "'functionArgs' requires a function, got {}",
                other.show_type()
            ),
            pos,
        )),
    }
}
