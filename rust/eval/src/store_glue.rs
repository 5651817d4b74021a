//! The bridge between evaluation and the store primitives (`crate::store`):
//! store paths of copied sources, `toFile`, `builtins.path`, derivations.
//!
//! Nothing is written anywhere: paths are computed exactly as Nix 2.8 would compute
//! them. Derivations created during an evaluation are remembered (with their hash
//! modulo and references) so later derivations can depend on them.

use crate::error::{err, R};
use crate::eval::{Coerce, Eval};
use crate::ir::Pos;
use crate::store::derivation::{Derivation, DerivationOutput};
use crate::store::hash::{Hash, HashAlgo};
use crate::store::nar::NodeKind;
use crate::store::paths::{self, Ingestion, SourcePathError};
use crate::symbol::intern;
use crate::value::{Attr, Attrs, Context, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;

/// What the evaluator knows about store objects it computed: references (for closures
/// of `=drv` contexts) and, for derivations, the derivation and its hash modulo.
#[derive(Default)]
pub struct StoreState {
    /// References of every `.drv` and `toFile` path computed so far.
    pub refs: BTreeMap<String, BTreeSet<String>>,
    /// The output names of every derivation by `.drv` path, with its (unmasked) hash
    /// modulo: all that later derivations need of it. (Keeping whole derivations, with
    /// their environments, took a few KB each.)
    pub drvs: BTreeMap<String, (BTreeSet<String>, Hash)>,
}

fn dump_err<E: std::fmt::Display>(path: &str, e: SourcePathError<E>) -> String {
    match e {
        SourcePathError::Dump(crate::store::nar::DumpError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            format!("getting status of '{path}': No such file or directory")
        }
        other => other.to_string(),
    }
}

/// The store path `path` (a source file or directory) is copied to by `"${path}"`.
/// Paths already inside the store stay as they are, like in Nix.
pub fn path_to_store(path: &str) -> Result<String, String> {
    if paths::to_store_path(path).is_some() {
        return Ok(path.to_string());
    }
    paths::source_path(Path::new(path), None).map_err(|e| dump_err(path, e))
}

/// `builtins.path` / `filterSource`: the store path of `path` (recursive NAR hash, or
/// flat file hash), filtered by a Nix function `filter path type`.
pub fn add_path(
    ev: &mut Eval,
    path: &str,
    name: Option<String>,
    filter: Option<Value>,
    recursive: bool,
    sha256: Option<String>,
    pos: Pos,
) -> R<Value> {
    let name = name.unwrap_or_else(|| {
        Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let store_path = if recursive {
        match filter {
            None => paths::source_path(Path::new(path), Some(&name))
                .map_err(|e| err(dump_err(path, e), pos))?,
            Some(f) => {
                let f = ev.force_fn(&f, pos)?;
                let mut eval_err = None;
                let mut cb = |p: &Path, kind: NodeKind| -> Result<bool, String> {
                    let r = ev
                        .call_n(
                            &f,
                            &[
                                Value::string(p.to_string_lossy().into_owned()),
                                Value::string(kind.name()),
                            ],
                            pos,
                        )
                        .and_then(|v| ev.force_bool(&v, pos));
                    match r {
                        Ok(b) => Ok(b),
                        Err(e) => {
                            let msg = e.msg.clone();
                            eval_err = Some(e);
                            Err(msg)
                        }
                    }
                };
                let r = paths::source_path_filtered(Path::new(path), Some(&name), &mut cb);
                if let Some(e) = eval_err {
                    return Err(e);
                }
                r.map_err(|e| err(dump_err(path, e), pos))?
            }
        }
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| err(format!("opening file '{path}': {}", io_reason(&e)), pos))?;
        let h = Hash::digest(HashAlgo::Sha256, &bytes);
        paths::fixed_output_path(Ingestion::Flat, &h, &name).map_err(|e| err(e.to_string(), pos))?
    };
    if let Some(expected) = sha256 {
        let want =
            Hash::parse(&expected, Some(HashAlgo::Sha256)).map_err(|e| err(e.to_string(), pos))?;
        let method = if recursive {
            Ingestion::Recursive
        } else {
            Ingestion::Flat
        };
        let want_path =
            paths::fixed_output_path(method, &want, &name).map_err(|e| err(e.to_string(), pos))?;
        if want_path != store_path {
            return Err(err(
                format!("store path mismatch in file downloaded from '{path}':\n  wanted: {want_path}\n  got:    {store_path}"),
                pos,
            ));
        }
    }
    let mut ctx = Context::new();
    ctx.insert(Rc::from(store_path.as_str()));
    Ok(Value::string_ctx(store_path, ctx))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
        _ => e.to_string(),
    }
}

/// `builtins.toFile`: a text path whose references are the context's plain paths.
pub fn to_file(
    ev: &mut Eval,
    name: &str,
    contents: &[u8],
    ctx: &Context,
) -> Result<String, String> {
    let mut refs = BTreeSet::new();
    for c in ctx {
        if !c.starts_with('/') {
            return Err(format!(
                "in 'toFile': the file named '{name}' must not contain a reference to a derivation but contains ({c})"
            ));
        }
        refs.insert(c.to_string());
    }
    let p = paths::text_path(name, contents, &refs).map_err(|e| e.to_string())?;
    ev.store.refs.insert(p.clone(), refs);
    Ok(p)
}

/// `builtins.placeholder`.
pub fn placeholder(output: &str) -> String {
    paths::placeholder(output)
}

/// Everything `path` refers to, transitively, including itself.
fn closure(ev: &Eval, path: &str, out: &mut BTreeSet<String>) {
    let mut stack = vec![path.to_string()];
    while let Some(p) = stack.pop() {
        if !out.insert(p.clone()) {
            continue;
        }
        if let Some(refs) = ev.store.refs.get(&p) {
            stack.extend(refs.iter().cloned());
        }
    }
}

const STRICT: Coerce = Coerce {
    more: true,
    copy: true,
};

/// `derivationStrict`, following Nix 2.8's `prim_derivationStrict`.
pub fn derivation_strict(ev: &mut Eval, attrs: &Attrs, pos: Pos) -> R<Value> {
    let name_v = match attrs.get(ev.syms.name) {
        Some(a) => a.value.clone(),
        None => return Err(err("required attribute 'name' missing", pos)),
    };
    let drv_name = ev.force_str(&name_v, pos)?.lossy().into_owned();
    let get_bool = |ev: &mut Eval, n: &str| -> R<bool> {
        match attrs.get(intern(n)) {
            Some(a) => ev.force_bool(&a.value.clone(), pos),
            None => Ok(false),
        }
    };
    let ignore_nulls = get_bool(ev, "__ignoreNulls")?;
    let structured = get_bool(ev, "__structuredAttrs")?;

    let mut drv = Derivation::default();
    let mut ctx = Context::new();
    let mut outputs: Vec<String> = vec!["out".to_string()];
    let mut output_hash: Option<String> = None;
    let mut output_hash_algo: Option<String> = None;
    let mut recursive = false;
    let mut json = b"{".to_vec();
    let mut json_first = true;
    let mut have_builder = false;
    let mut have_system = false;

    let handle_outputs = |ss: Vec<String>, pos: Pos| -> R<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for s in ss {
            if out.contains(&s) {
                return Err(err(format!("duplicate derivation output '{s}'"), pos));
            }
            if s == "drv" {
                return Err(err("invalid derivation output name 'drv'", pos));
            }
            out.push(s);
        }
        if out.is_empty() {
            return Err(err("derivation cannot have an empty set of outputs", pos));
        }
        Ok(out)
    };

    for a in attrs.entries().iter() {
        let key = a.name.as_str();
        let key: &str = &key;
        if key == "__ignoreNulls" {
            continue;
        }
        let with_frame = |e: Box<crate::error::EvalError>| {
            e.frame(a.pos, || {
                format!("while evaluating the attribute '{key}' of the derivation '{drv_name}'")
            })
        };
        if ignore_nulls && matches!(ev.force(&a.value).map_err(with_frame)?, Value::Null) {
            continue;
        }
        if structured {
            if key == "__structuredAttrs" {
                continue;
            }
            if !json_first {
                json.push(b',');
            }
            json_first = false;
            crate::print::json_string(&mut json, key.as_bytes());
            json.push(b':');
            ev.write_json(&a.value, a.pos, &mut json, &mut ctx)
                .map_err(with_frame)?;
            match key {
                "builder" => {
                    drv.builder = ev
                        .force_str(&a.value, pos)
                        .map_err(with_frame)?
                        .lossy()
                        .into_owned();
                    have_builder = true;
                }
                "system" => {
                    drv.platform = ev
                        .force_str(&a.value, pos)
                        .map_err(with_frame)?
                        .lossy()
                        .into_owned();
                    have_system = true;
                }
                "outputHash" => {
                    output_hash = Some(
                        ev.force_str(&a.value, pos)
                            .map_err(with_frame)?
                            .lossy()
                            .into_owned(),
                    )
                }
                "outputHashAlgo" => {
                    output_hash_algo = Some(
                        ev.force_str(&a.value, pos)
                            .map_err(with_frame)?
                            .lossy()
                            .into_owned(),
                    )
                }
                "outputHashMode" => {
                    let m = ev.force_str(&a.value, pos).map_err(with_frame)?;
                    recursive = hash_mode(&m.lossy(), pos)?;
                }
                "outputs" => {
                    let l = ev.force_list(&a.value, pos).map_err(with_frame)?;
                    let mut ss = Vec::new();
                    for x in l.iter() {
                        ss.push(ev.force_str(x, pos)?.lossy().into_owned());
                    }
                    outputs = handle_outputs(ss, pos)?;
                }
                _ => {}
            }
            continue;
        }
        if key == "args" {
            let l = ev.force_list(&a.value, pos).map_err(with_frame)?;
            for x in l.iter() {
                let mut s = Vec::new();
                ev.coerce_into(x, pos, STRICT, &mut s, &mut ctx)
                    .map_err(with_frame)?;
                drv.args.push(String::from_utf8_lossy(&s).into_owned());
            }
            continue;
        }
        let mut s = Vec::new();
        ev.coerce_into(&a.value, pos, STRICT, &mut s, &mut ctx)
            .map_err(with_frame)?;
        let s = String::from_utf8_lossy(&s).into_owned();
        match key {
            "builder" => {
                drv.builder = s.clone();
                have_builder = true;
            }
            "system" => {
                drv.platform = s.clone();
                have_system = true;
            }
            "outputHash" => output_hash = Some(s.clone()),
            "outputHashAlgo" => output_hash_algo = Some(s.clone()),
            "outputHashMode" => recursive = hash_mode(&s, pos)?,
            "outputs" => {
                outputs = handle_outputs(s.split_whitespace().map(str::to_string).collect(), pos)?
            }
            _ => {}
        }
        drv.env.insert(key.to_string(), s);
    }
    if structured {
        json.push(b'}');
        drv.env.insert(
            "__json".to_string(),
            String::from_utf8_lossy(&json).into_owned(),
        );
    }

    for c in &ctx {
        if let Some(p) = c.strip_prefix('=') {
            let mut refs = BTreeSet::new();
            closure(ev, p, &mut refs);
            for r in refs {
                if let Some((outs, _)) = ev.store.drvs.get(&r) {
                    drv.input_drvs.insert(r.clone(), outs.clone());
                }
                drv.input_srcs.insert(r);
            }
        } else if let Some(rest) = c.strip_prefix('!') {
            if let Some((out, p)) = rest.split_once('!') {
                drv.input_drvs
                    .entry(p.to_string())
                    .or_default()
                    .insert(out.to_string());
            }
        } else {
            drv.input_srcs.insert(c.to_string());
        }
    }

    if !have_builder {
        return Err(err("required attribute 'builder' missing", pos));
    }
    if !have_system {
        return Err(err("required attribute 'system' missing", pos));
    }
    if drv_name.ends_with(".drv") {
        return Err(err(
            "derivation names are not allowed to end in '.drv'",
            pos,
        ));
    }

    let store_err = |e: crate::store::StoreError| err(e.to_string(), pos);
    if let Some(h) = &output_hash {
        if outputs.len() != 1 || outputs.first().map(String::as_str) != Some("out") {
            return Err(err(
                "multiple outputs are not supported in fixed-output derivations",
                pos,
            ));
        }
        let algo = match &output_hash_algo {
            Some(a) if !a.is_empty() => Some(HashAlgo::parse(a).map_err(store_err)?),
            _ => None,
        };
        let hash = Hash::parse(h, algo).map_err(store_err)?;
        let method = if recursive {
            Ingestion::Recursive
        } else {
            Ingestion::Flat
        };
        let out = DerivationOutput::fixed(method, &hash, &drv_name).map_err(store_err)?;
        drv.env.insert("out".to_string(), out.path.clone());
        drv.outputs.insert("out".to_string(), out);
    } else {
        for o in &outputs {
            drv.env.insert(o.clone(), String::new());
            drv.outputs.insert(o.clone(), DerivationOutput::default());
        }
    }

    let known = &ev.store.drvs;
    let mut lookup = |p: &str| known.get(p).map(|(_, h)| h.clone());
    let drv_path = drv.finish(&drv_name, &mut lookup).map_err(store_err)?;
    let modulo = drv.hash_modulo(false, &mut lookup).map_err(store_err)?;
    let refs: BTreeSet<String> = drv
        .input_srcs
        .iter()
        .chain(drv.input_drvs.keys())
        .cloned()
        .collect();
    ev.store.refs.insert(drv_path.clone(), refs);

    let mut entries = Vec::with_capacity(drv.outputs.len() + 1);
    let mut dctx = Context::new();
    dctx.insert(Rc::from(format!("={drv_path}")));
    entries.push(Attr {
        name: ev.syms.drv_path,
        value: Value::string_ctx(drv_path.clone(), dctx),
        pos,
    });
    for (name, out) in &drv.outputs {
        let mut octx = Context::new();
        octx.insert(Rc::from(format!("!{name}!{drv_path}")));
        entries.push(Attr {
            name: intern(name),
            value: Value::string_ctx(out.path.clone(), octx),
            pos,
        });
    }
    let output_names = drv.outputs.into_keys().collect();
    ev.store.drvs.insert(drv_path, (output_names, modulo));
    Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(entries))))
}

fn hash_mode(s: &str, pos: Pos) -> R<bool> {
    match s {
        "recursive" => Ok(true),
        "flat" => Ok(false),
        other => Err(err(
            format!("invalid value '{other}' for 'outputHashMode' attribute"),
            pos,
        )),
    }
}

/// Nix 2.8's `derivation` (its `derivation.nix`), evaluated by this evaluator so that
/// laziness and attribute layout are exactly Nix's.
pub const DERIVATION_NIX: &str = r#"drvAttrs @ { outputs ? [ "out" ], ... }:
let
  strict = derivationStrict drvAttrs;
  commonAttrs = drvAttrs // (builtins.listToAttrs outputsList) //
    { all = map (x: x.value) outputsList;
      inherit drvAttrs;
    };
  outputToAttrListElement = outputName:
    { name = outputName;
      value = commonAttrs // {
        outPath = builtins.getAttr outputName strict;
        drvPath = strict.drvPath;
        type = "derivation";
        inherit outputName;
      };
    };
  outputsList = map outputToAttrListElement outputs;
in (builtins.head outputsList).value
"#;
