//! Interned attribute and variable names.
//!
//! A [`Symbol`] is a pointer to a leaked, interned string: equality and hashing are
//! pointer operations (fast attribute lookups), ordering is by the string itself
//! (Nix orders attributes by name). Names are bytes, like Nix strings: almost always
//! UTF-8, but a name made from a string cut inside a character is kept exactly. The set of distinct names in one process is small
//! compared with the values built from them, so leaking the interned text is cheap.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

/// An interned name: a thin pointer (8 bytes, where a slice would take 16: every
/// attribute of every set holds one).
#[derive(Clone, Copy)]
pub struct Symbol(&'static Name);

/// The leaked text of an interned name, with its first eight bytes as a number that
/// orders like the text (see [`prefix_key`]): most comparisons of two names (sorting
/// and binary-searching the attributes of big sets) end there, without comparing
/// the texts byte by byte.
struct Name(Box<[u8]>, u64);

/// The first eight bytes of `b`, zero-padded, read big-endian: when the keys of two
/// texts differ they order like the texts (a zero pad sorts before any byte, as the
/// end of a shorter text does); when they are equal only the texts can tell.
fn prefix_key(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (slot, byte) in w.iter_mut().zip(b) {
        *slot = *byte;
    }
    u64::from_be_bytes(w)
}

/// The interner's key: hashed and compared as the name's bytes, so that a name can be
/// looked up by a byte slice.
#[derive(Clone, Copy)]
struct Key(&'static Name);

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0 .0.hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0 .0 == other.0 .0
    }
}

impl Eq for Key {}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        &self.0 .0
    }
}

/// The hasher of the evaluator's own tables (rustc's FxHash, version 2): keys are
/// names and pointers. The hash that was written here before it (version 1's, without
/// the final rotation) gave every 8-byte name with the same first three bytes
/// (`opt10000` … `opt19999`) the same low 24 bits, which pick a table's buckets: each
/// interning walked all the others, and 20,000 options took 28 % more instructions
/// per option than 10,000.
pub type FxBuild = rustc_hash::FxBuildHasher;

thread_local! {
    static INTERNER: RefCell<HashSet<Key, FxBuild>> = RefCell::new(HashSet::default());
}

/// Interns `s`, returning its unique [`Symbol`].
pub fn intern(s: &str) -> Symbol {
    intern_bytes(s.as_bytes())
}

/// Interns a name given as bytes (a Nix string's), returning its unique [`Symbol`].
pub fn intern_bytes(b: &[u8]) -> Symbol {
    INTERNER.with(|set| {
        let mut set = set.borrow_mut();
        if let Some(existing) = set.get(b) {
            return Symbol(existing.0);
        }
        let leaked: &'static Name =
            Box::leak(Box::new(Name(b.to_vec().into_boxed_slice(), prefix_key(b))));
        set.insert(Key(leaked));
        Symbol(leaked)
    })
}

impl Symbol {
    /// The name's exact bytes.
    pub fn as_bytes(self) -> &'static [u8] {
        &self.0 .0
    }

    /// The name as text, for messages and comparisons with known names (bytes that are
    /// not UTF-8 shown as U+FFFD).
    pub fn as_str(self) -> std::borrow::Cow<'static, str> {
        String::from_utf8_lossy(&self.0 .0)
    }
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Symbol {}

impl std::hash::Hash for Symbol {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.0 as *const Name as usize).hash(state);
    }
}

impl PartialOrd for Symbol {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Symbol {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self == other {
            return std::cmp::Ordering::Equal;
        }
        match self.0 .1.cmp(&other.0 .1) {
            std::cmp::Ordering::Equal => self.0 .0.cmp(&other.0 .0),
            by_prefix => by_prefix,
        }
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_unique_and_ordered_by_text() {
        let a = intern("alpha");
        let b = intern("beta");
        assert_eq!(a, intern("alpha"));
        assert_ne!(a, b);
        assert!(a < b);
        assert_eq!(b.as_str(), "beta");
    }

    /// The low bits of the hashes (which pick a table's buckets) differ among names
    /// that share all but their last bytes, and among interned names' pointers (which
    /// are aligned): with FxHash version 1, 10,000 names `opt10000` … `opt19999` had
    /// one value in their low 16 bits, and the interner went quadratic.
    #[test]
    fn hashes_spread_over_the_low_bits() {
        use std::hash::BuildHasher;
        let low = |h: u64| h & 0xffff;
        let names: Vec<String> = (10_000..20_000).map(|i| format!("opt{i}")).collect();
        let by_text: HashSet<u64> = names
            .iter()
            .map(|n| low(FxBuild::default().hash_one(n.as_bytes())))
            .collect();
        let by_symbol: HashSet<u64> = names
            .iter()
            .map(|n| low(FxBuild::default().hash_one(intern(n))))
            .collect();
        // 10,000 keys in 65,536 buckets: a uniform hash leaves about 9,300 distinct.
        // Pointers 16-byte aligned leave FxHash version 1 at most 4,096.
        assert!(
            by_text.len() > 8_000,
            "{} distinct low bits of name hashes",
            by_text.len()
        );
        assert!(
            by_symbol.len() > 5_000,
            "{} distinct low bits of symbol hashes",
            by_symbol.len()
        );
    }

    /// Names order like their bytes whether the first eight bytes decide or not:
    /// prefixes of one another, a zero byte against the end of a name, bytes above
    /// 0x7f, long names equal in their first eight bytes.
    #[test]
    fn ordering_by_prefix_is_ordering_by_text() {
        let names: [&[u8]; 14] = [
            b"",
            b"\0",
            b"a",
            b"a\0",
            b"a\0\0",
            b"ab",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefghi",
            b"abcdefgz",
            b"abcdefgzz",
            b"b",
            b"\xff",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\x01",
        ];
        for x in names {
            for y in names {
                assert_eq!(
                    intern_bytes(x).cmp(&intern_bytes(y)),
                    x.cmp(y),
                    "{x:?} against {y:?}"
                );
            }
        }
    }
}
