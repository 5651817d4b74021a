//! Regular expressions exactly as Nix 2.8's `builtins.match` and `builtins.split` see
//! them: libstdc++'s `std::regex` with the POSIX `extended` grammar, run by its
//! depth-first executor, on bytes.
//!
//! No regex crate has these semantics, and they differ from both Perl-style
//! leftmost-first and true POSIX leftmost-longest matching:
//! - at an alternation both sides are tried and the longer match end wins (the first
//!   on a tie), but a greedy repetition that found any match does not try fewer
//!   iterations (`split "a*(b|abc)" "xaabcx"` matches `aab`, not `aabc`);
//! - a repetition may match the empty string twice at one position, which shows in
//!   the groups (`match "(|a)+" "aa"` is `[ "" ]`);
//! - only `.[\()*+?{|^$` may be escaped, `\d`/`\w`/`\b` are errors, brackets take no
//!   escapes, `{` always starts a repetition count;
//! - `.` and bracket expressions match single bytes in the C locale, so a multi-byte
//!   character is several "characters".
//!
//! [`compile`] builds the same NFA states libstdc++ builds; [`exec`] walks them in
//! the same order with an explicit stack (libstdc++ recurses once per character, so
//! long inputs crash Nix; here they only take memory).

mod compile;
mod exec;

/// "No state" in a [`Node`] link.
const INVALID: usize = usize::MAX;

/// A set of bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn full() -> ByteSet {
        ByteSet([u64::MAX; 4])
    }

    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn remove(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] &= !(1 << (b & 63));
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn invert(&mut self) {
        for w in &mut self.0 {
            *w = !*w;
        }
    }

    fn union(&mut self, other: &ByteSet) {
        for (w, o) in self.0.iter_mut().zip(other.0) {
            *w |= o;
        }
    }
}

/// What a state does.
#[derive(Clone, Debug)]
enum Kind {
    /// Consumes this byte.
    Byte(u8),
    /// Consumes a byte of the set.
    Set(Box<ByteSet>),
    /// A greedy loop: `alt` enters the body, `next` leaves.
    Repeat,
    /// An alternation: `alt` is the left side, `next` the right.
    Alt,
    /// Records where a group starts.
    GroupStart(usize),
    /// Records where a group ends (and that it matched).
    GroupEnd(usize),
    /// `^`
    LineBegin,
    /// `$`
    LineEnd,
    /// Does nothing (removed after compiling).
    Dummy,
    /// The match is complete.
    Accept,
}

impl Kind {
    fn has_alt(&self) -> bool {
        matches!(self, Kind::Repeat | Kind::Alt)
    }
}

/// One NFA state.
#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    next: usize,
    alt: usize,
}

/// A compiled pattern.
#[derive(Debug)]
struct Program {
    nodes: Vec<Node>,
    start: usize,
    /// The number of groups, the whole match (group 0) included.
    groups: usize,
    /// The bytes a match can start with, when it cannot be empty or anchored: other
    /// start positions are skipped without running the executor.
    first_bytes: Option<ByteSet>,
}

impl Program {
    /// Links every state past the dummies (like libstdc++'s `_M_eliminate_dummy`).
    fn skip_dummies(&mut self) {
        let target = |nodes: &[Node], mut id: usize| {
            // A chain of dummies is never longer than the state count.
            for _ in 0..nodes.len() {
                match nodes.get(id) {
                    Some(Node {
                        kind: Kind::Dummy,
                        next,
                        ..
                    }) => id = *next,
                    _ => break,
                }
            }
            id
        };
        for i in 0..self.nodes.len() {
            let (next, alt) = (self.nodes[i].next, self.nodes[i].alt);
            let next = target(&self.nodes, next);
            let alt = if self.nodes[i].kind.has_alt() {
                target(&self.nodes, alt)
            } else {
                alt
            };
            self.nodes[i].next = next;
            self.nodes[i].alt = alt;
        }
        self.start = target(&self.nodes, self.start);
    }

    /// The bytes that can start a match, or `None` if a match can be empty or starts
    /// with an anchor.
    fn compute_first_bytes(&self) -> Option<ByteSet> {
        let mut set = ByteSet::default();
        let mut seen = vec![false; self.nodes.len()];
        let mut todo = vec![self.start];
        while let Some(id) = todo.pop() {
            let node = self.nodes.get(id)?;
            if std::mem::replace(seen.get_mut(id)?, true) {
                continue;
            }
            match &node.kind {
                Kind::Byte(b) => set.insert(*b),
                Kind::Set(s) => set.union(s),
                Kind::Repeat | Kind::Alt => todo.extend([node.next, node.alt]),
                Kind::GroupStart(_) | Kind::GroupEnd(_) | Kind::Dummy => todo.push(node.next),
                Kind::LineBegin | Kind::LineEnd | Kind::Accept => return None,
            }
        }
        Some(set)
    }
}

/// The span of a group in the text, `None` when it did not take part in the match.
pub type Span = Option<(usize, usize)>;

/// One match of [`Regex::split`]: its span and its groups' spans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Where the match starts.
    pub start: usize,
    /// Where it ends.
    pub end: usize,
    /// Groups 1…n.
    pub groups: Vec<Span>,
}

/// Why a pattern does not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// libstdc++ rejects it (the text says why).
    #[error("{0}")]
    Invalid(String),
    /// It needs more than libstdc++'s 100,000 states (`error_space`, which Nix reports
    /// as a memory limit).
    #[error("the pattern needs more than 100000 states")]
    TooLarge,
}

/// A compiled POSIX extended regular expression with Nix's semantics.
#[derive(Debug)]
pub struct Regex {
    program: Program,
    /// The executor's buffers, kept between runs (a pattern is usually applied to
    /// many strings).
    scratch: std::cell::RefCell<exec::Scratch>,
}

impl Regex {
    /// Compiles `pattern`; the error says what libstdc++ would reject it for.
    pub fn new(pattern: &[u8]) -> Result<Regex, RegexError> {
        let program = compile::compile(pattern)?;
        let scratch = std::cell::RefCell::new(exec::Scratch::for_program(&program));
        Ok(Regex { program, scratch })
    }

    /// `builtins.match`: the groups if the whole text matches (`std::regex_match`).
    pub fn full_match(&self, text: &[u8]) -> Option<Vec<Span>> {
        let mut scratch = self.scratch.borrow_mut();
        exec::Executor::new(&self.program, text, &mut scratch).full_match()
    }

    /// `builtins.split`: every match in order, as `std::sregex_iterator` finds them.
    pub fn split(&self, text: &[u8]) -> Vec<Found> {
        let mut scratch = self.scratch.borrow_mut();
        exec::Executor::new(&self.program, text, &mut scratch).all_matches()
    }
}

#[cfg(test)]
mod tests;
