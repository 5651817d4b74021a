//! POSIX extended regular expressions compiled to an NFA the way libstdc++'s
//! `std::regex` (flag `extended`, what Nix 2.8 uses) builds it: the same tokens, the
//! same accepted and rejected patterns, and the same states, so that the executor's
//! depth-first search visits paths in the same order.

use super::{ByteSet, Kind, Node, Program, RegexError, INVALID};

/// libstdc++'s `_GLIBCXX_REGEX_STATE_LIMIT`: more states is `error_space`.
const STATE_LIMIT: usize = 100_000;

/// Characters with a meaning outside brackets in the extended grammar; only these may
/// be escaped (escaping another character is `error_escape` in Nix's build).
const SPECIAL: &[u8] = b".[\\()*+?{|^$";

/// A lexical token (libstdc++'s `_ScannerBase::_TokenT`, the extended subset).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    OrdChar(u8),
    AnyChar,
    LineBegin,
    LineEnd,
    Star,
    Plus,
    Opt,
    Or,
    GroupBegin,
    GroupEnd,
    BracketBegin,
    BracketNegBegin,
    BracketEnd,
    BracketDash,
    /// `[:name:]`
    ClassName(Vec<u8>),
    /// `[=name=]`
    EquivName(Vec<u8>),
    /// `[.name.]`
    CollateName(Vec<u8>),
    IntervalBegin,
    IntervalEnd,
    DupCount(Vec<u8>),
    Comma,
    Eof,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScanState {
    Normal,
    Bracket,
    Brace,
}

/// The scanner: one token of lookahead, its mode switched by the tokens it reads.
struct Scanner<'a> {
    input: &'a [u8],
    at: usize,
    state: ScanState,
    at_bracket_start: bool,
    token: Token,
}

impl<'a> Scanner<'a> {
    fn new(input: &'a [u8]) -> Result<Self, Failure> {
        let mut s = Scanner {
            input,
            at: 0,
            state: ScanState::Normal,
            at_bracket_start: false,
            token: Token::Eof,
        };
        s.advance()?;
        Ok(s)
    }

    fn next_byte(&mut self) -> Option<u8> {
        let b = self.input.get(self.at).copied();
        if b.is_some() {
            self.at += 1;
        }
        b
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn advance(&mut self) -> Result<(), Failure> {
        if self.at >= self.input.len() {
            self.token = Token::Eof;
            return Ok(());
        }
        match self.state {
            ScanState::Normal => self.scan_normal(),
            ScanState::Bracket => self.scan_in_bracket(),
            ScanState::Brace => self.scan_in_brace(),
        }
    }

    fn scan_normal(&mut self) -> Result<(), Failure> {
        let Some(c) = self.next_byte() else {
            self.token = Token::Eof;
            return Ok(());
        };
        if !SPECIAL.contains(&c) {
            self.token = Token::OrdChar(c);
            return Ok(());
        }
        self.token = match c {
            b'\\' => match self.next_byte() {
                None => return Err("a trailing backslash".into()),
                Some(d) if SPECIAL.contains(&d) => Token::OrdChar(d),
                Some(d) => {
                    return Err(format!(
                        "'\\{}' escapes a character that is not special",
                        d as char
                    )
                    .into())
                }
            },
            b'(' => Token::GroupBegin,
            b')' => Token::GroupEnd,
            b'[' => {
                self.state = ScanState::Bracket;
                self.at_bracket_start = true;
                if self.peek() == Some(b'^') {
                    self.at += 1;
                    Token::BracketNegBegin
                } else {
                    Token::BracketBegin
                }
            }
            b'{' => {
                self.state = ScanState::Brace;
                Token::IntervalBegin
            }
            b'^' => Token::LineBegin,
            b'$' => Token::LineEnd,
            b'.' => Token::AnyChar,
            b'*' => Token::Star,
            b'+' => Token::Plus,
            b'?' => Token::Opt,
            _ => Token::Or,
        };
        Ok(())
    }

    fn scan_in_bracket(&mut self) -> Result<(), Failure> {
        let Some(c) = self.next_byte() else {
            return Err("an unclosed bracket expression".into());
        };
        self.token = match c {
            b'-' => Token::BracketDash,
            b'[' => match self.peek() {
                None => return Err("an unclosed bracket expression".into()),
                Some(k @ (b'.' | b':' | b'=')) => {
                    self.at += 1;
                    let name = self.eat_class(k)?;
                    match k {
                        b'.' => Token::CollateName(name),
                        b':' => Token::ClassName(name),
                        _ => Token::EquivName(name),
                    }
                }
                Some(_) => Token::OrdChar(b'['),
            },
            // In POSIX, a `]` first in the brackets is an ordinary character.
            b']' if !self.at_bracket_start => {
                self.state = ScanState::Normal;
                Token::BracketEnd
            }
            c => Token::OrdChar(c),
        };
        self.at_bracket_start = false;
        Ok(())
    }

    /// Reads a `[:name:]`-style name up to `kind` followed by `]`.
    fn eat_class(&mut self, kind: u8) -> Result<Vec<u8>, Failure> {
        let start = self.at;
        while self.peek().is_some_and(|b| b != kind) {
            self.at += 1;
        }
        let name = self.input.get(start..self.at).unwrap_or_default().to_vec();
        if self.next_byte().is_none() || self.next_byte() != Some(b']') {
            return Err(format!("an unclosed '[{}'", kind as char).into());
        }
        Ok(name)
    }

    fn scan_in_brace(&mut self) -> Result<(), Failure> {
        let Some(c) = self.next_byte() else {
            return Err("an unclosed '{'".into());
        };
        self.token = match c {
            b'0'..=b'9' => {
                let mut digits = vec![c];
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    digits.push(d);
                    self.at += 1;
                }
                Token::DupCount(digits)
            }
            b',' => Token::Comma,
            b'}' => {
                self.state = ScanState::Normal;
                Token::IntervalEnd
            }
            _ => return Err("a bad repetition count".into()),
        };
        Ok(())
    }
}

/// A fragment of the NFA: its first state and the state whose `next` continues it.
#[derive(Clone, Copy)]
struct Seq {
    start: usize,
    end: usize,
}

/// What the last bracket term left behind (libstdc++'s `_BracketState`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LastTerm {
    None,
    Char(u8),
    Class,
}

/// The compiler: recursive descent over the tokens, building states like libstdc++.
struct Compiler<'a> {
    scanner: Scanner<'a>,
    nodes: Vec<Node>,
    stack: Vec<Seq>,
    groups: usize,
}

/// Compiles a POSIX extended regular expression; `Err` says what is wrong with it.
pub(super) fn compile(pattern: &[u8]) -> Result<Program, RegexError> {
    compile_program(pattern).map_err(|e| match e {
        Failure::TooLarge => RegexError::TooLarge,
        Failure::Invalid(why) => RegexError::Invalid(why),
    })
}

/// Compilation failures inside the compiler; plain messages convert to `Invalid`.
enum Failure {
    Invalid(String),
    TooLarge,
}

/// Nesting too deep even for the stack grown on the heap: the pattern is too big.
impl crate::eval::StackOverflow for Failure {
    fn stack_overflow() -> Self {
        Failure::TooLarge
    }
}

impl From<String> for Failure {
    fn from(why: String) -> Self {
        Failure::Invalid(why)
    }
}

impl From<&str> for Failure {
    fn from(why: &str) -> Self {
        Failure::Invalid(why.to_string())
    }
}

fn compile_program(pattern: &[u8]) -> Result<Program, Failure> {
    let mut c = Compiler {
        scanner: Scanner::new(pattern)?,
        nodes: Vec::new(),
        stack: Vec::new(),
        groups: 1,
    };
    let begin = c.insert(Kind::GroupStart(0))?;
    let mut whole = Seq {
        start: begin,
        end: begin,
    };
    c.disjunction()?;
    if c.scanner.token != Token::Eof {
        return Err("an unmatched parenthesis or misplaced repetition".into());
    }
    let body = c.pop()?;
    c.append(&mut whole, body.start, body.end);
    let end = c.insert(Kind::GroupEnd(0))?;
    c.append(&mut whole, end, end);
    let accept = c.insert(Kind::Accept)?;
    c.append(&mut whole, accept, accept);
    let mut program = Program {
        nodes: c.nodes,
        start: whole.start,
        groups: c.groups,
        first_bytes: None,
    };
    program.skip_dummies();
    program.first_bytes = program.compute_first_bytes();
    Ok(program)
}

impl Compiler<'_> {
    fn insert(&mut self, kind: Kind) -> Result<usize, Failure> {
        self.insert_node(Node {
            kind,
            next: INVALID,
            alt: INVALID,
        })
    }

    fn insert_node(&mut self, node: Node) -> Result<usize, Failure> {
        if self.nodes.len() > STATE_LIMIT {
            return Err(Failure::TooLarge);
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    /// Appends the fragment `start..end` to `seq`.
    fn append(&mut self, seq: &mut Seq, start: usize, end: usize) {
        if let Some(n) = self.nodes.get_mut(seq.end) {
            n.next = start;
        }
        seq.end = end;
    }

    fn pop(&mut self) -> Result<Seq, Failure> {
        self.stack
            .pop()
            .ok_or_else(|| "a repetition with nothing to repeat".into())
    }

    fn accept(&mut self, t: &Token) -> Result<bool, Failure> {
        if &self.scanner.token == t {
            self.scanner.advance()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn disjunction(&mut self) -> Result<(), Failure> {
        self.alternative()?;
        while self.accept(&Token::Or)? {
            let first = self.pop()?;
            self.alternative()?;
            let second = self.pop()?;
            let end = self.insert(Kind::Dummy)?;
            for s in [first, second] {
                if let Some(n) = self.nodes.get_mut(s.end) {
                    n.next = end;
                }
            }
            // The executor tries `alt` (the left side) before `next`.
            let alt = self.insert_node(Node {
                kind: Kind::Alt,
                next: second.start,
                alt: first.start,
            })?;
            self.stack.push(Seq { start: alt, end });
        }
        Ok(())
    }

    /// libstdc++'s `_M_alternative` is right-recursive (a term, then the alternative
    /// after it): here a loop over the terms, then the same appends from the last term
    /// to the first, so that a long pattern does not take a stack frame per term.
    fn alternative(&mut self) -> Result<(), Failure> {
        let mut terms = Vec::new();
        while self.term()? {
            terms.push(self.pop()?);
        }
        let d = self.insert(Kind::Dummy)?;
        let mut rest = Seq { start: d, end: d };
        while let Some(mut seq) = terms.pop() {
            self.append(&mut seq, rest.start, rest.end);
            rest = seq;
        }
        self.stack.push(rest);
        Ok(())
    }

    fn term(&mut self) -> Result<bool, Failure> {
        if self.assertion()? {
            return Ok(true);
        }
        if self.atom()? {
            while self.quantifier()? {}
            return Ok(true);
        }
        Ok(false)
    }

    fn push_single(&mut self, kind: Kind) -> Result<(), Failure> {
        let id = self.insert(kind)?;
        self.stack.push(Seq { start: id, end: id });
        Ok(())
    }

    fn assertion(&mut self) -> Result<bool, Failure> {
        if self.accept(&Token::LineBegin)? {
            self.push_single(Kind::LineBegin)?;
        } else if self.accept(&Token::LineEnd)? {
            self.push_single(Kind::LineEnd)?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    fn atom(&mut self) -> Result<bool, Failure> {
        match self.scanner.token.clone() {
            Token::AnyChar => {
                self.scanner.advance()?;
                // `.` matches every character but NUL in POSIX mode.
                let mut set = ByteSet::full();
                set.remove(0);
                self.push_single(Kind::Set(Box::new(set)))?;
            }
            Token::OrdChar(c) => {
                self.scanner.advance()?;
                self.push_single(Kind::Byte(c))?;
            }
            Token::GroupBegin => {
                self.scanner.advance()?;
                let group = self.groups;
                self.groups += 1;
                let begin = self.insert(Kind::GroupStart(group))?;
                let mut seq = Seq {
                    start: begin,
                    end: begin,
                };
                // Groups nest as deep as the pattern says: through the stack check.
                crate::eval::with_stack(|| self.disjunction())?;
                if !self.accept(&Token::GroupEnd)? {
                    return Err("an unclosed parenthesis".into());
                }
                let body = self.pop()?;
                self.append(&mut seq, body.start, body.end);
                let end = self.insert(Kind::GroupEnd(group))?;
                self.append(&mut seq, end, end);
                self.stack.push(seq);
            }
            Token::BracketBegin | Token::BracketNegBegin => {
                let negated = self.scanner.token == Token::BracketNegBegin;
                self.scanner.advance()?;
                let set = self.bracket(negated)?;
                self.push_single(Kind::Set(Box::new(set)))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A repetition state looping to `body` (tried first: greedy), leaving by `next`.
    fn repeat(&mut self, body: usize, next: usize) -> Result<usize, Failure> {
        self.insert_node(Node {
            kind: Kind::Repeat,
            next,
            alt: body,
        })
    }

    fn quantifier(&mut self) -> Result<bool, Failure> {
        if self.accept(&Token::Star)? {
            let e = self.pop()?;
            let r = self.repeat(e.start, INVALID)?;
            if let Some(n) = self.nodes.get_mut(e.end) {
                n.next = r;
            }
            self.stack.push(Seq { start: r, end: r });
        } else if self.accept(&Token::Plus)? {
            let mut e = self.pop()?;
            let r = self.repeat(e.start, INVALID)?;
            self.append(&mut e, r, r);
            self.stack.push(e);
        } else if self.accept(&Token::Opt)? {
            let mut e = self.pop()?;
            let end = self.insert(Kind::Dummy)?;
            let r = self.repeat(e.start, INVALID)?;
            self.append(&mut e, end, end);
            if let Some(n) = self.nodes.get_mut(r) {
                n.next = end;
            }
            self.stack.push(Seq { start: r, end });
        } else if self.accept(&Token::IntervalBegin)? {
            self.interval()?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    fn count(&mut self) -> Result<Option<usize>, Failure> {
        let Token::DupCount(digits) = self.scanner.token.clone() else {
            return Ok(None);
        };
        self.scanner.advance()?;
        let mut v: usize = 0;
        for d in digits {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(usize::from(d - b'0')))
                .ok_or("a repetition count that is too large")?;
        }
        Ok(Some(v))
    }

    /// `{m}`, `{m,}`, `{m,n}`: `m` copies, then a loop or `n - m` optional copies.
    fn interval(&mut self) -> Result<(), Failure> {
        if self.stack.is_empty() {
            return Err("a repetition with nothing to repeat".into());
        }
        let min = self.count()?.ok_or("a bad repetition count")?;
        let r = self.pop()?;
        let first = self.insert(Kind::Dummy)?;
        let mut e = Seq {
            start: first,
            end: first,
        };
        let mut infinite = false;
        let mut extra = 0;
        if self.accept(&Token::Comma)? {
            match self.count()? {
                Some(max) => {
                    extra = max
                        .checked_sub(min)
                        .ok_or("a repetition range whose end is before its start")?
                }
                None => infinite = true,
            }
        }
        if !self.accept(&Token::IntervalEnd)? {
            return Err("an unclosed '{'".into());
        }
        for _ in 0..min {
            let c = self.clone_seq(r)?;
            self.append(&mut e, c.start, c.end);
        }
        if infinite {
            let mut c = self.clone_seq(r)?;
            let s = self.repeat(c.start, INVALID)?;
            self.append(&mut c, s, s);
            self.append(&mut e, s, s);
        } else {
            let end = self.insert(Kind::Dummy)?;
            for _ in 0..extra {
                let c = self.clone_seq(r)?;
                // Entering the copy is tried first; leaving goes straight to `end`.
                let alt = self.repeat(c.start, end)?;
                self.append(&mut e, alt, c.end);
            }
            self.append(&mut e, end, end);
        }
        self.stack.push(e);
        Ok(())
    }

    /// A copy of the states of `seq` (the same group numbers).
    fn clone_seq(&mut self, seq: Seq) -> Result<Seq, Failure> {
        let mut map: std::collections::BTreeMap<usize, usize> = Default::default();
        let mut todo = vec![seq.start];
        while let Some(u) = todo.pop() {
            if map.contains_key(&u) {
                continue;
            }
            let node = self.nodes.get(u).cloned().ok_or("a broken pattern state")?;
            let id = self.insert_node(node.clone())?;
            map.insert(u, id);
            if node.kind.has_alt() && node.alt != INVALID && !map.contains_key(&node.alt) {
                todo.push(node.alt);
            }
            if u != seq.end && node.next != INVALID && !map.contains_key(&node.next) {
                todo.push(node.next);
            }
        }
        for &id in map.values() {
            let Some(n) = self.nodes.get(id) else {
                continue;
            };
            let (next, alt, has_alt) = (n.next, n.alt, n.kind.has_alt());
            let next = map.get(&next).copied().unwrap_or(next);
            let alt = if has_alt {
                map.get(&alt).copied().unwrap_or(alt)
            } else {
                alt
            };
            if let Some(n) = self.nodes.get_mut(id) {
                n.next = next;
                n.alt = alt;
            }
        }
        match (map.get(&seq.start), map.get(&seq.end)) {
            (Some(&start), Some(&end)) => Ok(Seq { start, end }),
            _ => Err("a broken pattern state".into()),
        }
    }

    /// A bracket expression after its `[` or `[^`, up to and including its `]`.
    fn bracket(&mut self, negated: bool) -> Result<ByteSet, Failure> {
        let mut set = ByteSet::default();
        let mut last = LastTerm::None;
        if let Token::OrdChar(c) = self.scanner.token {
            self.scanner.advance()?;
            last = LastTerm::Char(c);
        } else if self.accept(&Token::BracketDash)? {
            last = LastTerm::Char(b'-');
        }
        while self.bracket_term(&mut last, &mut set)? {}
        if let LastTerm::Char(c) = last {
            set.insert(c);
        }
        if negated {
            set.invert();
        }
        Ok(set)
    }

    fn bracket_term(&mut self, last: &mut LastTerm, set: &mut ByteSet) -> Result<bool, Failure> {
        fn push_char(last: &mut LastTerm, set: &mut ByteSet, c: u8) {
            if let LastTerm::Char(p) = *last {
                set.insert(p);
            }
            *last = LastTerm::Char(c);
        }
        fn push_class(last: &mut LastTerm, set: &mut ByteSet) {
            if let LastTerm::Char(p) = *last {
                set.insert(p);
            }
            *last = LastTerm::Class;
        }
        let token = self.scanner.token.clone();
        match token {
            Token::BracketEnd => {
                self.scanner.advance()?;
                return Ok(false);
            }
            Token::CollateName(name) => {
                self.scanner.advance()?;
                let c = collating_element(&name)?;
                push_char(last, set, c);
            }
            Token::EquivName(name) => {
                self.scanner.advance()?;
                let c = collating_element(&name)?.to_ascii_lowercase();
                push_class(last, set);
                for b in 0..=255u8 {
                    if b.to_ascii_lowercase() == c {
                        set.insert(b);
                    }
                }
            }
            Token::ClassName(name) => {
                self.scanner.advance()?;
                push_class(last, set);
                let class = CharClass::named(&name).ok_or_else(|| {
                    format!(
                        "an unknown character class '[:{}:]'",
                        String::from_utf8_lossy(&name)
                    )
                })?;
                for b in 0..=255u8 {
                    if class.contains(b) {
                        set.insert(b);
                    }
                }
            }
            Token::OrdChar(c) => {
                self.scanner.advance()?;
                push_char(last, set, c);
            }
            Token::BracketDash => {
                self.scanner.advance()?;
                if self.accept(&Token::BracketEnd)? {
                    // `-]`: the dash is an ordinary character.
                    push_char(last, set, b'-');
                    return Ok(false);
                }
                let LastTerm::Char(from) = *last else {
                    return Err("a range in brackets without a start character".into());
                };
                let to = match self.scanner.token {
                    Token::OrdChar(c) => c,
                    Token::BracketDash => b'-',
                    _ => return Err("a range in brackets without an end character".into()),
                };
                self.scanner.advance()?;
                add_range(set, from, to)?;
                *last = LastTerm::None;
            }
            _ => return Err("an unclosed bracket expression".into()),
        }
        Ok(true)
    }
}

/// Adds the range `from-to`. libstdc++ compares C `char`s, which are signed on x86_64
/// (the Nix build this follows), so bytes from 0x80 sort before ASCII.
fn add_range(set: &mut ByteSet, from: u8, to: u8) -> Result<(), Failure> {
    let (lo, hi) = (from as i8, to as i8);
    if lo > hi {
        return Err(format!(
            "the range '{}-{}' ends before it starts",
            from as char, to as char
        )
        .into());
    }
    for b in 0..=255u8 {
        if (lo..=hi).contains(&(b as i8)) {
            set.insert(b);
        }
    }
    Ok(())
}

/// libstdc++'s collating element names for the C locale (`[.name.]`, `[=name=]`): the
/// POSIX names of the 128 ASCII characters (letters name themselves; digits do not).
const COLLATE_NAMES: [&str; 128] = [
    "NUL",
    "SOH",
    "STX",
    "ETX",
    "EOT",
    "ENQ",
    "ACK",
    "alert",
    "backspace",
    "tab",
    "newline",
    "vertical-tab",
    "form-feed",
    "carriage-return",
    "SO",
    "SI",
    "DLE",
    "DC1",
    "DC2",
    "DC3",
    "DC4",
    "NAK",
    "SYN",
    "ETB",
    "CAN",
    "EM",
    "SUB",
    "ESC",
    "IS4",
    "IS3",
    "IS2",
    "IS1",
    "space",
    "exclamation-mark",
    "quotation-mark",
    "number-sign",
    "dollar-sign",
    "percent-sign",
    "ampersand",
    "apostrophe",
    "left-parenthesis",
    "right-parenthesis",
    "asterisk",
    "plus-sign",
    "comma",
    "hyphen",
    "period",
    "slash",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "colon",
    "semicolon",
    "less-than-sign",
    "equals-sign",
    "greater-than-sign",
    "question-mark",
    "commercial-at",
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "I",
    "J",
    "K",
    "L",
    "M",
    "N",
    "O",
    "P",
    "Q",
    "R",
    "S",
    "T",
    "U",
    "V",
    "W",
    "X",
    "Y",
    "Z",
    "left-square-bracket",
    "backslash",
    "right-square-bracket",
    "circumflex",
    "underscore",
    "grave-accent",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "v",
    "w",
    "x",
    "y",
    "z",
    "left-curly-bracket",
    "vertical-line",
    "right-curly-bracket",
    "tilde",
    "DEL",
];

fn collating_element(name: &[u8]) -> Result<u8, Failure> {
    COLLATE_NAMES
        .iter()
        .position(|n| n.as_bytes() == name)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| {
            format!(
                "an unknown collating element '{}'",
                String::from_utf8_lossy(name)
            )
            .into()
        })
}

/// A character class of the C locale (`[:alpha:]`…; `d`, `w`, `s` too, as libstdc++).
#[derive(Clone, Copy)]
enum CharClass {
    Alnum,
    Alpha,
    Blank,
    Cntrl,
    Digit,
    Graph,
    Lower,
    Print,
    Punct,
    Space,
    Upper,
    Xdigit,
    Word,
}

impl CharClass {
    /// Looks a class name up, ignoring case like libstdc++.
    fn named(name: &[u8]) -> Option<CharClass> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"alnum" => CharClass::Alnum,
            b"alpha" => CharClass::Alpha,
            b"blank" => CharClass::Blank,
            b"cntrl" => CharClass::Cntrl,
            b"digit" | b"d" => CharClass::Digit,
            b"graph" => CharClass::Graph,
            b"lower" => CharClass::Lower,
            b"print" => CharClass::Print,
            b"punct" => CharClass::Punct,
            b"space" | b"s" => CharClass::Space,
            b"upper" => CharClass::Upper,
            b"xdigit" => CharClass::Xdigit,
            b"w" => CharClass::Word,
            _ => return None,
        })
    }

    fn contains(self, b: u8) -> bool {
        match self {
            CharClass::Alnum => b.is_ascii_alphanumeric(),
            CharClass::Alpha => b.is_ascii_alphabetic(),
            CharClass::Blank => b == b' ' || b == b'\t',
            CharClass::Cntrl => b.is_ascii_control(),
            CharClass::Digit => b.is_ascii_digit(),
            CharClass::Graph => b.is_ascii_graphic(),
            CharClass::Lower => b.is_ascii_lowercase(),
            CharClass::Print => b.is_ascii_graphic() || b == b' ',
            CharClass::Punct => b.is_ascii_punctuation(),
            CharClass::Space => matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
            CharClass::Upper => b.is_ascii_uppercase(),
            CharClass::Xdigit => b.is_ascii_hexdigit(),
            CharClass::Word => b.is_ascii_alphanumeric() || b == b'_',
        }
    }
}
