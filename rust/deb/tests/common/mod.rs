//! Builders for synthetic test data: tar/ar/.deb archives, Packages indexes, ELF
//! kernel modules. Everything is made in memory so tests run offline.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;

use sha2::{Digest, Sha256};

pub mod gpg;

/// A tar entry to write.
pub enum T<'a> {
    Dir(&'a str, u32),
    File(&'a str, u32, &'a [u8]),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str, u32, u32),
    Fifo(&'a str),
}

/// Builds a GNU tar with owner root:root except where `owner` says otherwise.
pub fn tar(entries: &[T<'_>], owner: Option<(u64, u64, &str, &str)>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (uid, gid, un, gn) = owner.unwrap_or((0, 0, "root", "root"));
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_username(un).unwrap();
        h.set_groupname(gn).unwrap();
        h.set_mtime(1_700_000_000);
        let (path, data): (&str, &[u8]) = match e {
            T::Dir(p, mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                (p, b"")
            }
            T::File(p, mode, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                (p, data)
            }
            T::Symlink(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_link_name_literal(target).unwrap();
                (p, b"")
            }
            T::Hardlink(p, target) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_mode(0o644);
                h.set_link_name_literal(target).unwrap();
                (p, b"")
            }
            T::Char(p, major, minor) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_mode(0o600);
                h.set_device_major(*major).unwrap();
                h.set_device_minor(*minor).unwrap();
                (p, b"")
            }
            T::Fifo(p) => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(0o644);
                (p, b"")
            }
        };
        h.set_size(data.len() as u64);
        // Write the raw name so "./" prefixes and ".." survive (set_path refuses "..").
        let name = path.as_bytes();
        assert!(name.len() < 100);
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Compresses with the named method: "", "gz", "xz" or "zst".
pub fn compress(method: &str, data: &[u8]) -> Vec<u8> {
    match method {
        "" => data.to_vec(),
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut w =
                lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1))
                    .unwrap();
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "zst" => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
        other => panic!("unknown method {other}"),
    }
}

/// Builds an ar archive.
pub fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            name,
            0,
            0,
            0,
            "100644",
            data.len()
        );
        assert_eq!(header.len(), 60);
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// Builds a .deb: control member from `control` + extra control files, data member
/// from `data` entries, each compressed with the given method.
pub fn deb(
    control: &str,
    extra_control: &[(&str, &[u8])],
    data: &[T<'_>],
    control_method: &str,
    data_method: &str,
) -> Vec<u8> {
    let mut centries = vec![
        T::Dir("./", 0o755),
        T::File("./control", 0o644, control.as_bytes()),
    ];
    let names: Vec<String> = extra_control
        .iter()
        .map(|(n, _)| format!("./{n}"))
        .collect();
    for ((_, bytes), name) in extra_control.iter().zip(&names) {
        centries.push(T::File(name, 0o755, bytes));
    }
    let ctar = compress(control_method, &tar(&centries, None));
    let dtar = compress(data_method, &tar(data, None));
    let ext = |m: &str| {
        if m.is_empty() {
            String::new()
        } else {
            format!(".{m}")
        }
    };
    let cname = format!("control.tar{}", ext(control_method));
    let dname = format!("data.tar{}", ext(data_method));
    ar(&[
        ("debian-binary", b"2.0\n"),
        (&cname, &ctar),
        (&dname, &dtar),
    ])
}

/// sha256 hex.
pub fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A Packages stanza with the mandatory fields; `extra` lines are appended.
pub fn stanza(name: &str, version: &str, extra: &str) -> String {
    let file = format!("pool/main/{name}_{version}_arm64.deb");
    let mut s = format!(
        "Package: {name}\nVersion: {version}\nArchitecture: arm64\nFilename: {file}\nSize: {}\nSHA256: {}\n",
        100 + name.len(),
        sha256(file.as_bytes())
    );
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        s.push_str(line.trim());
        s.push('\n');
    }
    s.push('\n');
    s
}

/// A minimal relocatable ELF (64- or 32-bit, either byte order) with a `.modinfo`
/// section holding `fields` and a `.shstrtab`.
pub fn elf_module(is64: bool, le: bool, fields: &[&str]) -> Vec<u8> {
    elf_module_with_symbols(is64, le, fields, &[], &[])
}

/// Like [`elf_module`], plus `__ksymtab_strings` (exports) and a `.symtab`/`.strtab`
/// whose undefined symbols are `undefined`, in order (after one defined symbol).
pub fn elf_module_with_symbols(
    is64: bool,
    le: bool,
    fields: &[&str],
    exports: &[&str],
    undefined: &[&str],
) -> Vec<u8> {
    let strings = |list: &[&str]| {
        let mut v = Vec::new();
        for f in list {
            v.extend_from_slice(f.as_bytes());
            v.push(0);
        }
        v
    };
    let modinfo = strings(fields);
    let ksymtab_strings = strings(exports);
    // .strtab: "\0local\0" then the undefined names.
    let mut strtab = b"\0local\0".to_vec();
    let mut name_offs = Vec::new();
    for u in undefined {
        name_offs.push(strtab.len() as u64);
        strtab.extend_from_slice(u.as_bytes());
        strtab.push(0);
    }
    let put = |buf: &mut Vec<u8>, off: usize, len: usize, v: u64| {
        for i in 0..len {
            let byte = (v >> (8 * i)) as u8;
            let idx = if le { off + i } else { off + len - 1 - i };
            buf[idx] = byte;
        }
    };
    let symsize = if is64 { 24 } else { 16 };
    let mut symtab = vec![0u8; symsize * (2 + undefined.len())];
    let (shndx_off, name_off) = (if is64 { 6 } else { 14 }, 0);
    // Symbol 1: "local", defined in section 1.
    put(&mut symtab, symsize + name_off, 4, 1);
    put(&mut symtab, symsize + shndx_off, 2, 1);
    for (k, off) in name_offs.iter().enumerate() {
        put(&mut symtab, (2 + k) * symsize + name_off, 4, *off);
    }
    let shstrtab = b"\0.modinfo\0.shstrtab\0__ksymtab_strings\0.symtab\0.strtab\0".to_vec();
    // (name offset in shstrtab, type, data, link)
    let secs: Vec<(u64, u64, Vec<u8>, u64)> = vec![
        (1, 1, modinfo, 0),
        (10, 3, shstrtab.clone(), 0),
        (20, 1, ksymtab_strings, 0),
        (38, 2, symtab, 5),
        (46, 3, strtab, 0),
    ];
    let ehsize = if is64 { 64 } else { 52 };
    let shentsize: usize = if is64 { 64 } else { 40 };
    let mut offsets = Vec::new();
    let mut pos = ehsize;
    for (_, _, data, _) in &secs {
        offsets.push(pos);
        pos += data.len();
    }
    let shoff = (pos + 7) & !7;
    let shnum = secs.len() + 1;
    let mut out = vec![0u8; shoff + shnum * shentsize];
    out[0..4].copy_from_slice(b"\x7fELF");
    out[4] = if is64 { 2 } else { 1 };
    out[5] = if le { 1 } else { 2 };
    out[6] = 1;
    put(&mut out, 16, 2, 1); // ET_REL
    put(&mut out, 18, 2, 183); // EM_AARCH64
    if is64 {
        put(&mut out, 0x28, 8, shoff as u64);
        put(&mut out, 0x34, 2, ehsize as u64);
        put(&mut out, 0x3a, 2, shentsize as u64);
        put(&mut out, 0x3c, 2, shnum as u64);
        put(&mut out, 0x3e, 2, 2);
    } else {
        put(&mut out, 0x20, 4, shoff as u64);
        put(&mut out, 0x28, 2, ehsize as u64);
        put(&mut out, 0x2e, 2, shentsize as u64);
        put(&mut out, 0x30, 2, shnum as u64);
        put(&mut out, 0x32, 2, 2);
    }
    for (i, ((name, kind, data, link), off)) in secs.iter().zip(&offsets).enumerate() {
        out[*off..off + data.len()].copy_from_slice(data);
        let base = shoff + (i + 1) * shentsize;
        put(&mut out, base, 4, *name);
        put(&mut out, base + 4, 4, *kind);
        if is64 {
            put(&mut out, base + 24, 8, *off as u64);
            put(&mut out, base + 32, 8, data.len() as u64);
            put(&mut out, base + 40, 4, *link);
        } else {
            put(&mut out, base + 16, 4, *off as u64);
            put(&mut out, base + 20, 4, data.len() as u64);
            put(&mut out, base + 24, 4, *link);
        }
    }
    out
}
