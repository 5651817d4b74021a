//! What `depmod` writes, from the `.modinfo` sections of kernel modules: `modules.dep`
//! (all that busybox `modprobe` needs), `modules.alias`, `modules.softdep` and
//! `modules.devname`. The binary `.bin` indexes (used by kmod's modprobe) are not
//! produced.
//!
//! Dependencies come from each module's `depends=` field (written by the kernel
//! build's modpost from the same symbol tables that depmod reads). Line order follows
//! `modules.order`; dependency lists are in a topological order computed like kmod's
//! (users before the modules they use), so `modprobe` loads them last-to-first.

use std::collections::BTreeMap;
use std::io::Read;

use crate::error::{Error, Result};

/// The `.modinfo` strings of one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// `key=value` pairs in section order.
    pub fields: Vec<(String, String)>,
}

impl ModInfo {
    /// All values of a key, in order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Names from the `depends=` field (comma-separated, may be empty).
    pub fn depends(&self) -> Vec<String> {
        self.values("depends")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn module_err(path: &str, message: impl Into<String>) -> Error {
    Error::Module {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Whether a file name is a kernel module (`.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`).
pub fn is_module_path(path: &str) -> bool {
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

/// The module name from its file name: basename without extensions, `-` → `_`.
pub fn module_name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.split(".ko").next().unwrap_or(base);
    stem.replace('-', "_")
}

/// Decompresses a module file if its name says it is compressed.
pub fn decompress_module(bytes: &[u8], path: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let res = if path.ends_with(".ko.xz") {
        lzma_rust2::XzReader::new(bytes, true).read_to_end(&mut out)
    } else if path.ends_with(".ko.gz") {
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)
    } else if path.ends_with(".ko.zst") {
        ruzstd::decoding::StreamingDecoder::new(bytes)
            .map_err(|e| module_err(path, format!("zstd: {e}")))?
            .read_to_end(&mut out)
    } else {
        return Ok(bytes.to_vec());
    };
    res.map_err(|e| module_err(path, format!("decompressing: {e}")))?;
    Ok(out)
}

struct Elf<'a> {
    data: &'a [u8],
    is64: bool,
    le: bool,
    path: &'a str,
}

impl<'a> Elf<'a> {
    fn bytes(&self, off: u64, len: u64) -> Result<&'a [u8]> {
        let start = usize::try_from(off).ok();
        let end = off.checked_add(len).and_then(|e| usize::try_from(e).ok());
        match (start, end) {
            (Some(s), Some(e)) => self.data.get(s..e).ok_or_else(|| {
                module_err(
                    self.path,
                    format!("ELF data at {off}+{len} is past the end"),
                )
            }),
            _ => Err(module_err(self.path, "ELF offset overflow")),
        }
    }

    fn uint(&self, off: u64, len: u64) -> Result<u64> {
        let b = self.bytes(off, len)?;
        let mut v: u64 = 0;
        for i in 0..b.len() {
            let byte = if self.le { b[b.len() - 1 - i] } else { b[i] };
            v = (v << 8) | u64::from(byte);
        }
        Ok(v)
    }
}

struct Section<'a> {
    name: &'a [u8],
    kind: u64,
    offset: u64,
    size: u64,
    link: u64,
}

/// Lists the section headers of an (uncompressed) ELF file, 32 or 64 bit, either
/// byte order.
fn sections<'a>(elf: &Elf<'a>) -> Result<Vec<Section<'a>>> {
    let path = elf.path;
    let (shoff, shentsize, shnum, shstrndx) = if elf.is64 {
        (
            elf.uint(0x28, 8)?,
            elf.uint(0x3a, 2)?,
            elf.uint(0x3c, 2)?,
            elf.uint(0x3e, 2)?,
        )
    } else {
        (
            elf.uint(0x20, 4)?,
            elf.uint(0x2e, 2)?,
            elf.uint(0x30, 2)?,
            elf.uint(0x32, 2)?,
        )
    };
    let min_ent = if elf.is64 { 64 } else { 40 };
    if shentsize < min_ent {
        return Err(module_err(
            path,
            format!("section header size {shentsize} < {min_ent}"),
        ));
    }
    // (name, type, offset, size, link)
    let header = |i: u64| -> Result<(u64, u64, u64, u64, u64)> {
        let base = i
            .checked_mul(shentsize)
            .and_then(|o| o.checked_add(shoff))
            .ok_or_else(|| module_err(path, "section header offset overflow"))?;
        if elf.is64 {
            Ok((
                elf.uint(base, 4)?,
                elf.uint(base + 4, 4)?,
                elf.uint(base + 24, 8)?,
                elf.uint(base + 32, 8)?,
                elf.uint(base + 40, 4)?,
            ))
        } else {
            Ok((
                elf.uint(base, 4)?,
                elf.uint(base + 4, 4)?,
                elf.uint(base + 16, 4)?,
                elf.uint(base + 20, 4)?,
                elf.uint(base + 24, 4)?,
            ))
        }
    };
    // Extended numbering: counts that do not fit live in section 0.
    let (shnum, shstrndx) = if shoff != 0 && (shnum == 0 || shstrndx == 0xffff) {
        let (_, _, _, size0, link0) = header(0)?;
        (
            if shnum == 0 { size0 } else { shnum },
            if shstrndx == 0xffff { link0 } else { shstrndx },
        )
    } else {
        (shnum, shstrndx)
    };
    if shnum > 1 << 20 {
        return Err(module_err(
            path,
            format!("implausible section count {shnum}"),
        ));
    }
    let (_, _, str_off, str_size, _) = header(shstrndx)?;
    let strtab = elf.bytes(str_off, str_size)?;
    let mut out = Vec::new();
    for i in 0..shnum {
        let (name, kind, offset, size, link) = header(i)?;
        out.push(Section {
            name: cstr(strtab, name),
            kind,
            offset,
            size,
            link,
        });
    }
    Ok(out)
}

/// The NUL-terminated string at `off` of a string table ("" when out of range).
fn cstr(table: &[u8], off: u64) -> &[u8] {
    usize::try_from(off)
        .ok()
        .and_then(|n| table.get(n..))
        .map(|s| s.split(|b| *b == 0).next().unwrap_or(&[]))
        .unwrap_or(&[])
}

fn open_elf<'a>(data: &'a [u8], path: &'a str) -> Result<Elf<'a>> {
    if data.get(0..4) != Some(b"\x7fELF".as_slice()) {
        return Err(module_err(path, "not an ELF file"));
    }
    let is64 = match data.get(4) {
        Some(1) => false,
        Some(2) => true,
        other => return Err(module_err(path, format!("bad ELF class {other:?}"))),
    };
    let le = match data.get(5) {
        Some(1) => true,
        Some(2) => false,
        other => return Err(module_err(path, format!("bad ELF byte order {other:?}"))),
    };
    Ok(Elf {
        data,
        is64,
        le,
        path,
    })
}

/// Reads the `.modinfo` section of an (uncompressed) ELF module, 32 or 64 bit, either
/// byte order.
pub fn read_modinfo(data: &[u8], path: &str) -> Result<ModInfo> {
    let elf = open_elf(data, path)?;
    let secs = sections(&elf)?;
    let sec = secs
        .iter()
        .find(|s| s.name == b".modinfo")
        .ok_or_else(|| module_err(path, "no .modinfo section"))?;
    let raw = elf.bytes(sec.offset, sec.size)?;
    let mut fields = Vec::new();
    for s in raw.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let s = String::from_utf8_lossy(s);
        if let Some((k, v)) = s.split_once('=') {
            fields.push((k.to_string(), v.to_string()));
        }
    }
    Ok(ModInfo { fields })
}

/// Exported and needed symbols of a module, which only decide the *order* of
/// dependency lists (as in kmod, whose graph comes from symbols).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Symbols {
    /// Names from `__ksymtab_strings`.
    pub exports: Vec<String>,
    /// Undefined names of `.symtab`, in table order.
    pub undefined: Vec<String>,
}

/// Reads a module's exported (`__ksymtab_strings`) and undefined (`.symtab`) symbols;
/// empty lists when the sections are absent.
pub fn read_symbols(data: &[u8], path: &str) -> Result<Symbols> {
    let elf = open_elf(data, path)?;
    let secs = sections(&elf)?;
    let mut out = Symbols::default();
    if let Some(s) = secs.iter().find(|s| s.name == b"__ksymtab_strings") {
        out.exports = elf
            .bytes(s.offset, s.size)?
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
    }
    // SHT_SYMTAB = 2; its names are in the section it links to.
    if let Some(symtab) = secs.iter().find(|s| s.kind == 2) {
        let strsec = usize::try_from(symtab.link)
            .ok()
            .and_then(|i| secs.get(i))
            .ok_or_else(|| module_err(path, "symbol table without string table"))?;
        let strtab = elf.bytes(strsec.offset, strsec.size)?;
        let ent: u64 = if elf.is64 { 24 } else { 16 };
        let shndx_off = if elf.is64 { 6 } else { 14 };
        // Entry 0 is the null symbol.
        for i in 1..symtab.size / ent {
            let base = symtab.offset + i * ent;
            if elf.uint(base + shndx_off, 2)? != 0 {
                continue;
            }
            let name = cstr(strtab, elf.uint(base, 4)?);
            if !name.is_empty() {
                out.undefined
                    .push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Ok(out)
}

fn major_minor(s: &str) -> Option<(u32, u32)> {
    let (ma, mi) = s.split_once('-')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

/// One module found under `lib/modules/VERSION/`.
#[derive(Debug, Clone)]
pub struct Module {
    /// Path relative to the modules directory (`kernel/fs/fat/vfat.ko`).
    pub path: String,
    /// Its `.modinfo`.
    pub info: ModInfo,
    /// Its symbols (may be empty: dependency lists then follow `depends=` order).
    pub symbols: Symbols,
}

impl Module {
    /// Reads a module file (`path` relative to the modules directory, compressed or
    /// not).
    pub fn from_file_bytes(path: &str, bytes: &[u8]) -> Result<Module> {
        let elf = decompress_module(bytes, path)?;
        Ok(Module {
            path: path.to_string(),
            info: read_modinfo(&elf, path)?,
            symbols: read_symbols(&elf, path)?,
        })
    }

    /// The module name: `name=` from `.modinfo`, else from the file name.
    pub fn name(&self) -> String {
        self.info
            .values("name")
            .next()
            .map(|n| n.replace('-', "_"))
            .unwrap_or_else(|| module_name_from_path(&self.path))
    }
}

/// Files depmod would write, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepmodOutput {
    /// `modules.dep`
    pub modules_dep: String,
    /// `modules.alias`
    pub modules_alias: String,
    /// `modules.softdep`
    pub modules_softdep: String,
    /// `modules.devname`
    pub modules_devname: String,
    /// `(module, missing dependency)` pairs; depmod only warns about them.
    pub missing: Vec<(String, String)>,
}

/// Computes depmod's text outputs. `modules_order` is the content of the kernel
/// package's `modules.order` (modules it lists come first, in its order; the others
/// follow sorted by path).
pub fn depmod(mut modules: Vec<Module>, modules_order: Option<&str>) -> Result<DepmodOutput> {
    let mut order: BTreeMap<&str, usize> = BTreeMap::new();
    let listed = modules_order.unwrap_or("").lines().map(str::trim);
    for (i, l) in listed.filter(|l| !l.is_empty()).enumerate() {
        order.entry(l).or_insert(i);
    }
    let key = |m: &Module| -> (usize, String) {
        // modules.order names uncompressed `.ko` files.
        let plain = m.path.split(".ko").next().unwrap_or(&m.path).to_string() + ".ko";
        (
            order.get(plain.as_str()).copied().unwrap_or(usize::MAX),
            m.path.clone(),
        )
    };
    modules.sort_by_cached_key(key);
    let names: Vec<String> = modules.iter().map(Module::name).collect();
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(prev) = by_name.insert(n.as_str(), i) {
            return Err(module_err(
                &modules[i].path,
                format!("module name {n:?} also used by {}", modules[prev].path),
            ));
        }
    }
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in modules.iter().enumerate() {
        for sym in &m.symbols.exports {
            owner.entry(sym.as_str()).or_insert(i);
        }
    }
    let mut missing = Vec::new();
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(modules.len());
    for (i, m) in modules.iter().enumerate() {
        let mut declared: Vec<usize> = Vec::new();
        for dep in m.info.depends() {
            let dep = dep.replace('-', "_");
            match by_name.get(dep.as_str()) {
                Some(&j) if !declared.contains(&j) && j != i => declared.push(j),
                Some(_) => {}
                None => missing.push((names[i].clone(), dep)),
            }
        }
        // kmod adds dependencies in the order their symbols are first used; that
        // order decides ties in the topological sort below.
        let mut d: Vec<usize> = Vec::with_capacity(declared.len());
        for sym in &m.symbols.undefined {
            if let Some(&j) = owner.get(sym.as_str()) {
                if declared.contains(&j) && !d.contains(&j) {
                    d.push(j);
                }
            }
        }
        for j in declared {
            if !d.contains(&j) {
                d.push(j);
            }
        }
        deps.push(d);
    }
    // Kahn's algorithm with a stack, as kmod does: modules nobody uses first.
    let n = modules.len();
    let mut users = vec![0usize; n];
    for d in &deps {
        for &j in d {
            users[j] += 1;
        }
    }
    let mut roots: Vec<usize> = (0..n).filter(|&i| users[i] == 0).collect();
    let mut sort_idx = vec![usize::MAX; n];
    let mut sorted = 0;
    while let Some(src) = roots.pop() {
        sort_idx[src] = sorted;
        sorted += 1;
        for &dst in &deps[src] {
            users[dst] -= 1;
            if users[dst] == 0 {
                roots.push(dst);
            }
        }
    }
    if sorted < n {
        let cyclic: Vec<&str> = (0..n)
            .filter(|&i| sort_idx[i] == usize::MAX)
            .map(|i| names[i].as_str())
            .collect();
        return Err(Error::Module {
            path: String::new(),
            message: format!("dependency cycle among: {}", cyclic.join(" ")),
        });
    }
    let mut dep_text = String::new();
    for (i, m) in modules.iter().enumerate() {
        // All transitive dependencies, ordered by topological index.
        let mut all: Vec<usize> = Vec::new();
        let mut stack: Vec<usize> = deps[i].clone();
        while let Some(j) = stack.pop() {
            if !all.contains(&j) {
                all.push(j);
                stack.extend(deps[j].iter().copied());
            }
        }
        all.sort_by_key(|&j| sort_idx[j]);
        dep_text.push_str(&m.path);
        dep_text.push(':');
        for j in all {
            dep_text.push(' ');
            dep_text.push_str(&modules[j].path);
        }
        dep_text.push('\n');
    }
    let mut alias = String::from("# Aliases extracted from modules themselves.\n");
    let mut softdep = String::from("# Soft dependencies extracted from modules themselves.\n");
    let mut devname = String::from("# Device nodes to trigger on-demand module loading.\n");
    for (m, name) in modules.iter().zip(&names) {
        let mut dev_node = None;
        let mut dev_type = None;
        for a in m.info.values("alias") {
            alias.push_str(&format!("alias {a} {name}\n"));
            // kmod takes the first devname and the first numeric major-minor alias.
            if dev_node.is_some() && dev_type.is_some() {
                continue;
            }
            if let Some(d) = a.strip_prefix("devname:") {
                dev_node = Some(d.to_string());
            } else if let Some(mm) = a.strip_prefix("char-major-") {
                dev_type = major_minor(mm).map(|(ma, mi)| ('c', ma, mi)).or(dev_type);
            } else if let Some(mm) = a.strip_prefix("block-major-") {
                dev_type = major_minor(mm).map(|(ma, mi)| ('b', ma, mi)).or(dev_type);
            }
        }
        for s in m.info.values("softdep") {
            softdep.push_str(&format!("softdep {name} {s}\n"));
        }
        if let (Some(node), Some((t, ma, mi))) = (dev_node, dev_type) {
            devname.push_str(&format!("{name} {node} {t}{ma}:{mi}\n"));
        }
    }
    Ok(DepmodOutput {
        modules_dep: dep_text,
        modules_alias: alias,
        modules_softdep: softdep,
        modules_devname: devname,
        missing,
    })
}
