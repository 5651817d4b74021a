//! String context builtins and the store-facing ones (`toFile`, `derivation`,
//! `placeholder`), which delegate to [`crate::store_glue`].

use super::{list, make_attrs};
use crate::error::{err, R};
use crate::eval::{attr, Eval};
use crate::ir::Pos;
use crate::symbol::intern;
use crate::value::{Attrs, Context, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

pub(super) fn has_context(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    Ok(Value::Bool(!s.ctx().is_empty()))
}

pub(super) fn discard_context(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    Ok(Value::string(&s[..]))
}

pub(super) fn discard_output_dependency(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    let ctx: Context = s
        .ctx()
        .iter()
        .map(|c| match c.strip_prefix('=') {
            Some(p) => Rc::from(p),
            None => c.clone(),
        })
        .collect();
    Ok(Value::string_ctx(&s[..], ctx))
}

#[derive(Default)]
struct CtxInfo {
    path: bool,
    all_outputs: bool,
    outputs: Vec<String>,
}

pub(super) fn get_context(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    let mut info: BTreeMap<String, CtxInfo> = BTreeMap::new();
    for c in s.ctx().iter() {
        if let Some(drv) = c.strip_prefix('=') {
            info.entry(drv.to_string()).or_default().all_outputs = true;
        } else if let Some(rest) = c.strip_prefix('!') {
            if let Some((out, drv)) = rest.split_once('!') {
                info.entry(drv.to_string())
                    .or_default()
                    .outputs
                    .push(out.to_string());
            }
        } else {
            info.entry(c.to_string()).or_default().path = true;
        }
    }
    let entries = info
        .into_iter()
        .map(|(p, i)| {
            let mut fields = Vec::new();
            if i.all_outputs {
                fields.push(("allOutputs", Value::Bool(true)));
            }
            if !i.outputs.is_empty() {
                fields.push((
                    "outputs",
                    list(i.outputs.into_iter().map(Value::string).collect()),
                ));
            }
            if i.path {
                fields.push(("path", Value::Bool(true)));
            }
            attr(intern(&p), make_attrs(fields))
        })
        .collect();
    Ok(Value::Attrs(Rc::new(Attrs::from_unsorted(entries))))
}

pub(super) fn append_context(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    let a = ev.force_attrs(&args[1], pos)?;
    let mut ctx = s.ctx().clone();
    for e in a.entries().iter() {
        let path = e.name.as_str();
        let path: &str = &path;
        if !path.starts_with("/nix/store/") {
            return Err(err(
                format!("context key '{path}' is not a store path"),
                pos,
            ));
        }
        let info = ev.force_attrs(&e.value.clone(), pos)?;
        if let Some(p) = info.get(intern("path")) {
            if ev.force_bool(&p.value.clone(), pos)? {
                ctx.insert(Rc::from(path));
            }
        }
        if let Some(p) = info.get(intern("allOutputs")) {
            if ev.force_bool(&p.value.clone(), pos)? {
                if !path.ends_with(".drv") {
                    return Err(err(
                        format!("tried to add all-outputs context of {path}, which is not a derivation, to a string"),
                        pos,
                    ));
                }
                ctx.insert(Rc::from(format!("={path}")));
            }
        }
        if let Some(p) = info.get(intern("outputs")) {
            let outs = ev.force_list(&p.value.clone(), pos)?;
            for o in outs.iter() {
                let o = ev.force_str(o, pos)?;
                ctx.insert(Rc::from(format!("!{}!{path}", o.lossy())));
            }
        }
    }
    Ok(Value::string_ctx(&s[..], ctx))
}

pub(super) fn placeholder(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let out = ev.force_str(&args[0], pos)?;
    Ok(Value::string(crate::store_glue::placeholder(&out.lossy())))
}

pub(super) fn to_file(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let name = ev.force_str(&args[0], pos)?;
    let contents = ev.force_str(&args[1], pos)?;
    let path = crate::store_glue::to_file(ev, &name.lossy(), &contents[..], contents.ctx())
        .map_err(|m| err(m, pos))?;
    let mut ctx = Context::new();
    ctx.insert(Rc::from(path.as_str()));
    Ok(Value::string_ctx(path, ctx))
}

pub(super) fn derivation_strict(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let a = ev.force_attrs(&args[0], pos)?;
    crate::store_glue::derivation_strict(ev, &a, pos)
}
