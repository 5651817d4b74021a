//! No input may panic: deterministic random mutations of valid archives, indexes,
//! lock files and ELF modules must give errors or results, never panics.

mod common;

use std::io::Read;

use common::T;
use nixspot_deb::deb::Deb;

/// xorshift64*: a fixed-seed generator so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        if v.is_empty() {
            break;
        }
        let i = rng.below(v.len());
        match rng.below(4) {
            0 => v[i] = rng.next() as u8,
            1 => v[i] ^= 1 << rng.below(8),
            2 => v.truncate(i),
            _ => v.insert(i, rng.next() as u8),
        }
    }
    v
}

fn unpack_all(bytes: &[u8]) -> nixspot_deb::Result<usize> {
    let deb = Deb::open(bytes, "m.deb")?;
    let mut data = deb.into_data()?;
    let mut n = 0;
    for e in data.entries()? {
        let mut e = e?;
        let mut sink = Vec::new();
        // Bound what a corrupted size field may make us read.
        let _ = (&mut e).take(1 << 20).read_to_end(&mut sink);
        n += 1;
    }
    Ok(n)
}

#[test]
fn mutated_debs_never_panic() {
    let entries = [
        T::Dir("./", 0o755),
        T::File("./usr/bin/x", 0o755, b"binary data here"),
        T::Symlink("./usr/bin/y", "x"),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (cm, dm) in [("", ""), ("gz", "xz"), ("xz", "zst")] {
        let good = common::deb(
            "Package: m\nVersion: 1\nArchitecture: all\n",
            &[("conffiles", b"/etc/m\n")],
            &entries,
            cm,
            dm,
        );
        assert_eq!(unpack_all(&good).unwrap(), 2); // the root entry is skipped
        for _ in 0..400 {
            let _ = unpack_all(&mutate(&mut rng, &good));
        }
    }
}

#[test]
fn mutated_indexes_locks_and_modules_never_panic() {
    let mut rng = Rng(42);
    let packages = format!(
        "{}{}",
        common::stanza(
            "a",
            "1:2.3-4",
            "Depends: b (>= 1) | c, d:any\nProvides: v (= 1)"
        ),
        common::stanza("b", "1~rc1", "Pre-Depends: a (<< 9)")
    );
    let release = "Suite: s\nSHA256:\n 2ddb1737692e8c45c53e8d57c0ce4cd21c78c5703b830c3226b1423566a06c00 8 main/binary-arm64/Packages.xz\n";
    let lock = r#"{"format":1,"architecture":"arm64","requested":["a"],"exclude":[],"indexes":[],"packages":{"a":{"version":"1","architecture":"arm64","url":"http://x/a.deb","sha256":"2ddb1737692e8c45c53e8d57c0ce4cd21c78c5703b830c3226b1423566a06c00","size":1}}}"#;
    nixspot_deb::lock::Lock::from_json(lock, "l").unwrap();
    let elf = common::elf_module_with_symbols(true, true, &["name=m", "depends=x"], &["e"], &["u"]);
    let xz = common::compress("xz", packages.as_bytes());
    for _ in 0..2000 {
        let p = mutate(&mut rng, packages.as_bytes());
        if let Ok(text) = std::str::from_utf8(&p) {
            if let Ok(pk) = nixspot_deb::index::parse_packages(text, "P") {
                let idx = nixspot_deb::index::PackageIndex::new(pk, "arm64");
                let _ =
                    nixspot_deb::resolve::resolve(&idx, &["a".to_string()], &Default::default());
            }
        }
        if let Ok(text) = String::from_utf8(mutate(&mut rng, release.as_bytes())) {
            let _ = nixspot_deb::index::parse_release(&text, "R");
        }
        if let Ok(text) = String::from_utf8(mutate(&mut rng, lock.as_bytes())) {
            let _ = nixspot_deb::lock::Lock::from_json(&text, "l");
        }
        let m = mutate(&mut rng, &elf);
        let _ = nixspot_deb::depmod::read_modinfo(&m, "m.ko");
        let _ = nixspot_deb::depmod::read_symbols(&m, "m.ko");
        let _ = nixspot_deb::index::decompress(&mutate(&mut rng, &xz), "Packages.xz");
    }
}
