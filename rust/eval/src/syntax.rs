//! Nix's concrete syntax: a lexer and a recursive-descent parser producing a small
//! syntax tree ([`Expr`]) that [`crate::lower`] turns into the IR.
//!
//! It follows Nix 2.8's flex lexer and bison grammar (longest match between
//! identifiers, numbers, paths and URIs; the same operator precedences) and keeps,
//! per node, only what lowering needs: byte offsets and slices of the source. Parsing
//! and lowering a module file through a general-purpose syntax tree cost about twice
//! the evaluation of the module itself.

/// A syntax error: what was wrong and the byte offset where.
#[derive(Debug)]
pub struct SyntaxError {
    /// Nix-style message (`syntax error, unexpected ')'`).
    pub message: String,
    /// Byte offset in the source.
    pub offset: u32,
}

/// Expressions nested deeper than this are refused. Parsing, lowering and evaluation
/// recurse over the tree on a stack that grows on the heap, so the limit only bounds
/// the memory a hostile file can take. Nix 2.8's parser stops at 10,000 entries of
/// Bison's stack: 9,995 nested parentheses, 4,998 lists, 3,331 `let`s, 3,325 `with`s,
/// 2,496 sets `{a={a=…;};}`, 1,999 `if … else` (a level here is about one of those).
const MAX_DEPTH: u32 = 100_000;

/// The offset of a [`SyntaxError`] made where the position is not known yet (a stack
/// overflow), until [`Parser::nested`] gives it the token where parsing stopped.
const UNPLACED: u32 = u32::MAX;

/// Parsing from a stack nearly used up already (a file imported by a deep evaluation):
/// [`crate::eval::with_stack`]'s cap is reached before [`MAX_DEPTH`].
impl crate::eval::StackOverflow for SyntaxError {
    fn stack_overflow() -> Self {
        SyntaxError {
            message: "stack overflow (possible infinite recursion)".to_string(),
            offset: UNPLACED,
        }
    }
}

/// A syntax-tree expression with the offset of its first token.
#[derive(Debug)]
pub struct Expr<'s> {
    /// Byte offset of the expression's first token.
    pub start: u32,
    /// Byte offset just past its last token.
    pub end: u32,
    /// What it is.
    pub kind: Kind<'s>,
}

impl Drop for Expr<'_> {
    /// A tree's drop recurses as deep as the tree, which operator chains make as deep
    /// as the file is long (`1 + 1 + …` nests to the left without a nesting level).
    fn drop(&mut self) {
        crate::value::drop_deep(|| std::mem::replace(&mut self.kind, Kind::CurPos));
    }
}

/// The kinds of expressions.
#[derive(Debug)]
pub enum Kind<'s> {
    /// An integer literal, as written.
    Int(&'s str),
    /// A float literal, as written.
    Float(&'s str),
    /// A URI literal (`https://…`), a string.
    Uri(&'s str),
    /// A variable (`or` included, where Nix allows it as one).
    Ident(&'s str),
    /// `__curPos`
    CurPos,
    /// A string: `indented` for `''…''`.
    Str {
        /// `''…''` rather than `"…"`.
        indented: bool,
        /// Raw text (escapes not processed) and interpolations.
        parts: Vec<Part<'s>>,
    },
    /// A path literal; the raw text pieces include the `/`, `./` or `~/` prefix.
    Path {
        /// How the path starts.
        base: PathBase,
        /// Raw text and interpolations.
        parts: Vec<Part<'s>>,
    },
    /// `<name>`, without the brackets.
    SearchPath(&'s str),
    /// `( e )`
    Paren(Box<Expr<'s>>),
    /// `[ … ]`
    List(Vec<Expr<'s>>),
    /// `f a b …`
    Apply(Box<Expr<'s>>, Vec<Expr<'s>>),
    /// `assert c; body`
    Assert(Box<Expr<'s>>, Box<Expr<'s>>),
    /// `if c then a else b`
    If(Box<Expr<'s>>, Box<Expr<'s>>, Box<Expr<'s>>),
    /// `e.a.b` or `e.a.b or default`
    Select(Box<Expr<'s>>, Vec<Attr<'s>>, Option<Box<Expr<'s>>>),
    /// `e ? a.b`
    HasAttr(Box<Expr<'s>>, Vec<Attr<'s>>),
    /// A function literal.
    Lambda(Box<LambdaSyntax<'s>>),
    /// `let { … }`, the legacy form selecting `body`.
    LegacyLet(Vec<Entry<'s>>),
    /// `let … in body`
    LetIn(Vec<Entry<'s>>, Box<Expr<'s>>),
    /// `{ … }` or `rec { … }`
    AttrSet(bool, Vec<Entry<'s>>),
    /// `!e`
    Not(Box<Expr<'s>>),
    /// `-e`
    Neg(Box<Expr<'s>>),
    /// A binary operator.
    Bin(BinKind, Box<Expr<'s>>, Box<Expr<'s>>),
    /// `with e; body`
    With(Box<Expr<'s>>, Box<Expr<'s>>),
}

/// How a path literal starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathBase {
    /// `/…`
    Absolute,
    /// `./…`, `a/…`: relative to the file's directory.
    Relative,
    /// `~/…`
    Home,
}

/// A piece of a string or path.
#[derive(Debug)]
pub enum Part<'s> {
    /// Raw source text.
    Text(&'s str),
    /// `${ e }`, with the offset of `${`.
    Interp(Box<Expr<'s>>, u32),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinKind {
    /// `->`
    Impl,
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `//`
    Update,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `++`
    Concat,
}

/// An attribute name in a path (`a.b`, `a."b"`, `a.${e}`).
#[derive(Debug)]
pub enum Attr<'s> {
    /// An identifier (or `or`).
    Ident(&'s str),
    /// A double-quoted string's parts, with the offset of its opening quote.
    Str(Vec<Part<'s>>, u32),
    /// `${ e }`
    Dynamic(Box<Expr<'s>>),
}

/// A binding of an attribute set or `let`.
#[derive(Debug)]
pub enum Entry<'s> {
    /// `inherit a b;` or `inherit (e) a b;`
    Inherit {
        /// `e` of `(e)` and the offset just past the `)`.
        from: Option<(Expr<'s>, u32)>,
        /// The names, each with the offset where the whitespace before it begins (Nix
        /// 2.8's position of an inherited attribute).
        attrs: Vec<(Attr<'s>, u32)>,
    },
    /// `a.b.c = value;`, with the offset of the path.
    Value {
        /// Offset of the attribute path.
        start: u32,
        /// The attribute path.
        path: Vec<Attr<'s>>,
        /// The value.
        value: Expr<'s>,
    },
}

/// A function literal's parameter and body.
#[derive(Debug)]
pub struct LambdaSyntax<'s> {
    /// The parameter.
    pub param: ParamSyntax<'s>,
    /// The body.
    pub body: Expr<'s>,
}

/// A function parameter.
#[derive(Debug)]
pub enum ParamSyntax<'s> {
    /// `x: …`
    Ident(&'s str),
    /// `{ a, b ? d, … } @ name: …`
    Pattern {
        /// Formals: name, its offset, its default.
        formals: Vec<(&'s str, u32, Option<Expr<'s>>)>,
        /// `...` present.
        ellipsis: bool,
        /// `@ name` on either side.
        bind: Option<&'s str>,
    },
}

/// Token kinds of the lexer's default state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Id,
    Int,
    Float,
    Path,
    HomePath,
    SearchPath,
    Uri,
    If,
    Then,
    Else,
    Assert,
    With,
    Let,
    In,
    Rec,
    Inherit,
    OrKw,
    Ellipsis,
    EqEq,
    Neq,
    Le,
    Ge,
    AndAnd,
    OrOr,
    Arrow,
    Update,
    Concat,
    PipeRight,
    PipeLeft,
    DollarCurly,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Semi,
    Colon,
    Dot,
    Comma,
    Assign,
    At,
    Question,
    Bang,
    Minus,
    Plus,
    Star,
    Slash,
    Lt,
    Gt,
    DQuote,
    IndOpen,
    Unknown,
    Eof,
}

/// A token: kind, byte range, and where the whitespace right before it begins.
#[derive(Debug, Clone, Copy)]
struct Tok {
    t: T,
    start: u32,
    end: u32,
    ws_start: u32,
}

// Character classes of Nix's lexer, one bit each in `CLASS` (a table lookup per byte:
// identifiers and paths are most of a file's bytes).
const ID_START: u8 = 1;
const ID_CHAR: u8 = 2;
const PATH_CHAR: u8 = 4;
const URI_CHAR: u8 = 8;
const SCHEME_CHAR: u8 = 16;

const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alpha = c.is_ascii_alphabetic();
        let alnum = c.is_ascii_alphanumeric();
        let mut class = 0;
        if alpha || c == b'_' {
            class |= ID_START;
        }
        if alnum || matches!(c, b'_' | b'\'' | b'-') {
            class |= ID_CHAR;
        }
        if alnum || matches!(c, b'.' | b'_' | b'-' | b'+') {
            class |= PATH_CHAR;
        }
        if alnum
            || matches!(
                c,
                b'%' | b'/'
                    | b'?'
                    | b':'
                    | b'@'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
                    | b','
                    | b'-'
                    | b'_'
                    | b'.'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
            )
        {
            class |= URI_CHAR;
        }
        if alnum || matches!(c, b'+' | b'-' | b'.') {
            class |= SCHEME_CHAR;
        }
        table[b] = class;
        b += 1;
    }
    table
};

fn is_id_start(b: u8) -> bool {
    CLASS[b as usize] & ID_START != 0
}

fn is_id_char(b: u8) -> bool {
    CLASS[b as usize] & ID_CHAR != 0
}

fn is_path_char(b: u8) -> bool {
    CLASS[b as usize] & PATH_CHAR != 0
}

fn is_uri_char(b: u8) -> bool {
    CLASS[b as usize] & URI_CHAR != 0
}

fn is_scheme_char(b: u8) -> bool {
    CLASS[b as usize] & SCHEME_CHAR != 0
}

/// Length of `{PATH_CHAR}*(\/{PATH_CHAR}+)+\/?` at the start of `s` (0: no match).
fn path_len(s: &[u8]) -> usize {
    let mut i = s.iter().take_while(|b| is_path_char(**b)).count();
    let mut segments = 0;
    while s.get(i) == Some(&b'/') {
        let n = s[i + 1..].iter().take_while(|b| is_path_char(**b)).count();
        if n == 0 {
            break;
        }
        i += 1 + n;
        segments += 1;
    }
    if segments == 0 {
        return 0;
    }
    if s.get(i) == Some(&b'/') {
        i += 1;
    }
    i
}

/// Length of `{PATH_CHAR}*\/` at the start of `s` (0: no match).
fn path_seg_len(s: &[u8]) -> usize {
    let n = s.iter().take_while(|b| is_path_char(**b)).count();
    if s.get(n) == Some(&b'/') {
        n + 1
    } else {
        0
    }
}

#[derive(Clone, Copy)]
struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Lexer<'s> {
    fn bytes(&self) -> &'s [u8] {
        self.src.as_bytes()
    }

    fn at(&self, i: usize) -> u8 {
        self.bytes().get(i).copied().unwrap_or(0)
    }

    /// Skips whitespace and comments. Returns where the whitespace right before the
    /// next token begins (the token's own offset when a comment or nothing precedes it).
    fn skip_trivia(&mut self) -> Result<usize, SyntaxError> {
        let mut ws_start = None;
        loop {
            let start = self.pos;
            while matches!(self.at(self.pos), b' ' | b'\t' | b'\r' | b'\n') {
                self.pos += 1;
            }
            if self.pos > start {
                ws_start = Some(start);
            }
            match (self.at(self.pos), self.at(self.pos + 1)) {
                (b'#', _) => {
                    let rest = &self.bytes()[self.pos..];
                    self.pos += memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                }
                (b'/', b'*') => match self.src[self.pos + 2..].find("*/") {
                    Some(n) => self.pos += 2 + n + 2,
                    None => {
                        return Err(SyntaxError {
                            message: "unterminated comment".into(),
                            offset: self.pos as u32,
                        })
                    }
                },
                _ => return Ok(ws_start.unwrap_or(self.pos)),
            }
            ws_start = None;
        }
    }

    /// The next token of the default state.
    fn next(&mut self) -> Result<Tok, SyntaxError> {
        let ws = self.skip_trivia()?;
        let start = self.pos;
        let s = &self.bytes()[start..];
        let tok = |t, len: usize| Tok {
            t,
            start: start as u32,
            end: (start + len) as u32,
            ws_start: ws as u32,
        };
        let Some(&c) = s.first() else {
            return Ok(tok(T::Eof, 0));
        };
        // Longest match among identifiers, numbers, paths and URIs (flex's rule); all of
        // them start with a path character (letters, digits, `_`, `.`, …) or `/ ~ <`.
        let word = if is_path_char(c) || matches!(c, b'/' | b'~' | b'<') {
            self.longest_word(s)
        } else {
            None
        };
        let (t, len) = match word {
            Some(w) => w,
            None => {
                let two = (c, s.get(1).copied().unwrap_or(0));
                match two {
                    (b'.', b'.') if s.get(2) == Some(&b'.') => (T::Ellipsis, 3),
                    (b'=', b'=') => (T::EqEq, 2),
                    (b'!', b'=') => (T::Neq, 2),
                    (b'<', b'=') => (T::Le, 2),
                    (b'>', b'=') => (T::Ge, 2),
                    (b'&', b'&') => (T::AndAnd, 2),
                    (b'|', b'|') => (T::OrOr, 2),
                    (b'-', b'>') => (T::Arrow, 2),
                    (b'/', b'/') => (T::Update, 2),
                    (b'+', b'+') => (T::Concat, 2),
                    (b'|', b'>') => (T::PipeRight, 2),
                    (b'<', b'|') => (T::PipeLeft, 2),
                    (b'$', b'{') => (T::DollarCurly, 2),
                    (b'\'', b'\'') => (T::IndOpen, 2),
                    _ => (
                        match c {
                            b'{' => T::LBrace,
                            b'}' => T::RBrace,
                            b'[' => T::LBracket,
                            b']' => T::RBracket,
                            b'(' => T::LParen,
                            b')' => T::RParen,
                            b';' => T::Semi,
                            b':' => T::Colon,
                            b'.' => T::Dot,
                            b',' => T::Comma,
                            b'=' => T::Assign,
                            b'@' => T::At,
                            b'?' => T::Question,
                            b'!' => T::Bang,
                            b'-' => T::Minus,
                            b'+' => T::Plus,
                            b'*' => T::Star,
                            b'/' => T::Slash,
                            b'<' => T::Lt,
                            b'>' => T::Gt,
                            b'"' => T::DQuote,
                            _ => T::Unknown,
                        },
                        self.src[start..].chars().next().map_or(1, char::len_utf8),
                    ),
                }
            }
        };
        self.pos = start + len;
        Ok(tok(t, len))
    }

    /// Identifier, keyword, number, path, search path or URI starting `s`, by longest
    /// match; ties go to the rule flex lists first.
    fn longest_word(&self, s: &[u8]) -> Option<(T, usize)> {
        let c = s[0];
        // Candidates in flex's rule order: (kind, length compared, length taken); a
        // path segment before `${` competes with the `${` it is followed by.
        let mut candidates: [(T, usize, usize); 8] = [(T::Unknown, 0, 0); 8];
        if is_id_start(c) {
            let n = s.iter().take_while(|b| is_id_char(**b)).count();
            // Paths and URIs need a `/` or a `:` right after a run of path characters
            // (URI scheme characters are path characters): without one, the identifier
            // is the longest match (the common case, decided without the other rules).
            let path_chars = s.iter().take_while(|b| is_path_char(**b)).count();
            if !matches!(s.get(path_chars), Some(b'/' | b':')) {
                return Some((keyword_or_id(&s[..n]), n));
            }
            candidates[0] = (keyword_or_id(&s[..n]), n, n);
        }
        let int = s.iter().take_while(|b| b.is_ascii_digit()).count();
        candidates[1] = (T::Int, int, int);
        let float = float_len(s);
        candidates[2] = (T::Float, float, float);
        let seg = path_seg_len(s);
        if seg > 0 && s[seg..].starts_with(b"${") {
            candidates[3] = (T::Path, seg + 2, seg);
        }
        if c == b'~' && s.get(1) == Some(&b'/') && s[2..].starts_with(b"${") {
            candidates[4] = (T::HomePath, 4, 2);
        }
        let path = path_len(s);
        candidates[5] = (T::Path, path, path);
        if c == b'~' && s.get(1) == Some(&b'/') {
            let rest = path_len(&s[1..]);
            if rest > 0 {
                candidates[6] = (T::HomePath, 1 + rest, 1 + rest);
            }
        }
        if c == b'<' {
            let n = s[1..]
                .iter()
                .take_while(|b| is_path_char(**b) || **b == b'/')
                .count();
            let inner = &s[1..1 + n];
            if n > 0
                && s.get(1 + n) == Some(&b'>')
                && inner.split(|b| *b == b'/').all(|seg| !seg.is_empty())
            {
                candidates[7] = (T::SearchPath, n + 2, n + 2);
            }
        } else if c.is_ascii_alphabetic() {
            let scheme = s.iter().take_while(|b| is_scheme_char(**b)).count();
            if s.get(scheme) == Some(&b':') {
                let rest = s[scheme + 1..]
                    .iter()
                    .take_while(|b| is_uri_char(**b))
                    .count();
                if rest > 0 {
                    candidates[7] = (T::Uri, scheme + 1 + rest, scheme + 1 + rest);
                }
            }
        }
        let mut best: Option<(T, usize, usize)> = None;
        for cand in candidates {
            if cand.1 > 0 && best.is_none_or(|b| cand.1 > b.1) {
                best = Some(cand);
            }
        }
        best.map(|(t, _, taken)| (t, taken))
    }
}

/// The keyword `word` is, or [`T::Id`].
fn keyword_or_id(word: &[u8]) -> T {
    match word {
        b"if" => T::If,
        b"then" => T::Then,
        b"else" => T::Else,
        b"assert" => T::Assert,
        b"with" => T::With,
        b"let" => T::Let,
        b"in" => T::In,
        b"rec" => T::Rec,
        b"inherit" => T::Inherit,
        b"or" => T::OrKw,
        _ => T::Id,
    }
}

/// Length of `(([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?` at `s`.
fn float_len(s: &[u8]) -> usize {
    let digits = |from: usize| {
        s[from.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut i = match s.first() {
        Some(b'1'..=b'9') => {
            let n = digits(0);
            if s.get(n) != Some(&b'.') {
                return 0;
            }
            n + 1 + digits(n + 1)
        }
        Some(b'0') if s.get(1) == Some(&b'.') && digits(2) > 0 => 2 + digits(2),
        Some(b'.') if digits(1) > 0 => 1 + digits(1),
        _ => return 0,
    };
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let n = digits(j);
        if n > 0 {
            i = j + n;
        }
    }
    i
}

/// Binding power of a binary operator: (precedence, right-associative, non-associative).
fn binary(t: T) -> Option<(BinKind, u8, bool, bool)> {
    Some(match t {
        T::Arrow => (BinKind::Impl, 1, true, false),
        T::OrOr => (BinKind::Or, 2, false, false),
        T::AndAnd => (BinKind::And, 3, false, false),
        T::EqEq => (BinKind::Eq, 4, false, true),
        T::Neq => (BinKind::Neq, 4, false, true),
        T::Lt => (BinKind::Lt, 5, false, true),
        T::Gt => (BinKind::Gt, 5, false, true),
        T::Le => (BinKind::Le, 5, false, true),
        T::Ge => (BinKind::Ge, 5, false, true),
        T::Update => (BinKind::Update, 6, true, false),
        T::Plus => (BinKind::Add, 8, false, false),
        T::Minus => (BinKind::Sub, 8, false, false),
        T::Star => (BinKind::Mul, 9, false, false),
        T::Slash => (BinKind::Div, 9, false, false),
        T::Concat => (BinKind::Concat, 10, true, false),
        _ => return None,
    })
}

/// Precedence of `!` (its operand binds everything tighter), of `?` and of unary `-`.
const NOT_PREC: u8 = 7;
const HAS_ATTR_PREC: u8 = 11;
const NEGATE_PREC: u8 = 12;

/// Parses a whole file or expression text.
pub fn parse(src: &str) -> Result<Expr<'_>, SyntaxError> {
    let mut p = Parser {
        lex: Lexer { src, pos: 0 },
        tok: Tok {
            t: T::Eof,
            start: 0,
            end: 0,
            ws_start: 0,
        },
        prev_end: 0,
        depth: 0,
    };
    p.bump()?;
    let e = p.expr()?;
    if p.tok.t != T::Eof {
        return Err(p.unexpected());
    }
    Ok(e)
}

struct Parser<'s> {
    lex: Lexer<'s>,
    /// The lookahead token.
    tok: Tok,
    /// End of the last token consumed.
    prev_end: u32,
    depth: u32,
}

type PResult<T> = Result<T, SyntaxError>;

impl<'s> Parser<'s> {
    fn src(&self) -> &'s str {
        self.lex.src
    }

    fn text(&self, t: Tok) -> &'s str {
        &self.lex.src[t.start as usize..t.end as usize]
    }

    /// Consumes the lookahead and lexes the next token.
    fn bump(&mut self) -> PResult<Tok> {
        let t = self.tok;
        self.prev_end = t.end;
        self.tok = self.lex.next()?;
        Ok(t)
    }

    /// The first byte of the token after the lookahead, without consuming anything
    /// (0 at the end, or at an unterminated comment, which lexing that token reports).
    /// Enough to tell `x:` and `x@` from `x`, and `let {` from `let`: `:`, `@` and `{`
    /// start no other token.
    fn peek_byte(&self) -> u8 {
        let mut lex = self.lex;
        match lex.skip_trivia() {
            Ok(_) => lex.at(lex.pos),
            Err(_) => 0,
        }
    }

    fn expect(&mut self, t: T) -> PResult<Tok> {
        if self.tok.t == t {
            self.bump()
        } else {
            Err(self.unexpected())
        }
    }

    fn unexpected(&self) -> SyntaxError {
        let t = self.tok;
        let what = if t.t == T::Eof {
            "end of file".to_string()
        } else {
            let text: String = self.text(t).chars().take(20).collect();
            format!("'{text}'")
        };
        SyntaxError {
            message: format!("syntax error, unexpected {what}"),
            offset: t.start,
        }
    }

    fn node(&self, start: u32, kind: Kind<'s>) -> Expr<'s> {
        Expr {
            start,
            end: self.prev_end,
            kind,
        }
    }

    /// Runs `parse` one nesting level deeper, refusing more than [`MAX_DEPTH`] levels,
    /// on a new stack segment when the stack runs low. Every recursion of the parser
    /// passes through here.
    #[inline]
    fn nested<R>(&mut self, parse: impl FnOnce(&mut Self) -> PResult<R>) -> PResult<R> {
        if self.depth >= MAX_DEPTH {
            return Err(self.too_deep());
        }
        crate::eval::one_level_deeper(
            self,
            |p| &mut p.depth,
            parse,
            |p, mut e| {
                if e.offset == UNPLACED {
                    e.offset = p.tok.start;
                }
                e
            },
        )
    }

    #[cold]
    fn too_deep(&self) -> SyntaxError {
        SyntaxError {
            message: format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            offset: self.tok.start,
        }
    }

    /// `expr_function`: lambdas, `assert`, `with`, `let … in`, then `if` and operators.
    fn expr(&mut self) -> PResult<Expr<'s>> {
        self.nested(Self::expr_function)
    }

    fn expr_function(&mut self) -> PResult<Expr<'s>> {
        let start = self.tok.start;
        match self.tok.t {
            T::Id => {
                let next = self.peek_byte();
                if next == b':' {
                    let t = self.bump()?;
                    let name = self.text(t);
                    self.bump()?;
                    let body = self.expr()?;
                    return Ok(self.lambda(start, ParamSyntax::Ident(name), body));
                }
                if next == b'@' {
                    let t = self.bump()?;
                    let name = self.text(t);
                    self.bump()?;
                    if self.tok.t != T::LBrace {
                        return Err(self.unexpected());
                    }
                    return self.pattern_lambda(start, Some(name));
                }
            }
            T::LBrace if self.starts_formals()? => return self.pattern_lambda(start, None),
            T::Assert => {
                self.bump()?;
                let cond = self.expr()?;
                self.expect(T::Semi)?;
                let body = self.expr()?;
                return Ok(self.node(start, Kind::Assert(Box::new(cond), Box::new(body))));
            }
            T::With => {
                self.bump()?;
                let ns = self.expr()?;
                self.expect(T::Semi)?;
                let body = self.expr()?;
                return Ok(self.node(start, Kind::With(Box::new(ns), Box::new(body))));
            }
            T::Let if self.peek_byte() != b'{' => {
                self.bump()?;
                let binds = self.binds(T::In)?;
                self.expect(T::In)?;
                let body = self.expr()?;
                return Ok(self.node(start, Kind::LetIn(binds, Box::new(body))));
            }
            T::If => {
                self.bump()?;
                let c = self.expr()?;
                self.expect(T::Then)?;
                let a = self.expr()?;
                self.expect(T::Else)?;
                let b = self.expr()?;
                return Ok(self.node(start, Kind::If(Box::new(c), Box::new(a), Box::new(b))));
            }
            _ => {}
        }
        // Not `op`: this is the same nesting level as the `expr` that called it (one
        // level per parenthesis, as Nix counts).
        self.op_inner(0)
    }

    fn lambda(&self, start: u32, param: ParamSyntax<'s>, body: Expr<'s>) -> Expr<'s> {
        self.node(start, Kind::Lambda(Box::new(LambdaSyntax { param, body })))
    }

    /// Whether the `{` ahead opens formals rather than a set: `{ }` followed by `:` or
    /// `@`, `{ ...`, or `{ id` followed by `,`, `?` or `}`.
    fn starts_formals(&self) -> PResult<bool> {
        let mut lex = self.lex;
        let a = lex.next()?;
        Ok(match a.t {
            T::Ellipsis => true,
            T::RBrace => matches!(lex.next()?.t, T::Colon | T::At),
            T::Id => matches!(lex.next()?.t, T::Comma | T::Question | T::RBrace),
            _ => false,
        })
    }

    /// `{ formals } [@ name] : body`, the lookahead at `{`.
    fn pattern_lambda(&mut self, start: u32, mut bind: Option<&'s str>) -> PResult<Expr<'s>> {
        self.expect(T::LBrace)?;
        let mut formals = Vec::new();
        let mut ellipsis = false;
        loop {
            match self.tok.t {
                T::RBrace => break,
                T::Ellipsis => {
                    self.bump()?;
                    ellipsis = true;
                    break;
                }
                T::Id => {
                    let t = self.bump()?;
                    let default = if self.tok.t == T::Question {
                        self.bump()?;
                        Some(self.expr()?)
                    } else {
                        None
                    };
                    formals.push((self.text(t), t.start, default));
                    if self.tok.t == T::Comma {
                        self.bump()?;
                    } else {
                        break;
                    }
                }
                _ => return Err(self.unexpected()),
            }
        }
        self.expect(T::RBrace)?;
        if bind.is_none() && self.tok.t == T::At {
            self.bump()?;
            let t = self.expect(T::Id)?;
            bind = Some(self.text(t));
        }
        self.expect(T::Colon)?;
        let body = self.expr()?;
        Ok(self.lambda(
            start,
            ParamSyntax::Pattern {
                formals,
                ellipsis,
                bind,
            },
            body,
        ))
    }

    /// Operators by precedence climbing; `min` is the lowest precedence taken.
    fn op(&mut self, min: u8) -> PResult<Expr<'s>> {
        self.nested(|p| p.op_inner(min))
    }

    fn op_inner(&mut self, min: u8) -> PResult<Expr<'s>> {
        let start = self.tok.start;
        let mut lhs = match self.tok.t {
            T::Bang => {
                self.bump()?;
                let e = self.op(NOT_PREC + 1)?;
                self.node(start, Kind::Not(Box::new(e)))
            }
            T::Minus => {
                self.bump()?;
                let e = self.op(NEGATE_PREC + 1)?;
                self.node(start, Kind::Neg(Box::new(e)))
            }
            _ => self.app()?,
        };
        let mut last_nonassoc: Option<u8> = None;
        loop {
            // `?` takes an attribute path, not an operand: `a ? b ? c` chains to the left.
            if self.tok.t == T::Question && HAS_ATTR_PREC >= min {
                self.bump()?;
                let path = self.attrpath()?;
                lhs = self.node(start, Kind::HasAttr(Box::new(lhs), path));
                continue;
            }
            let Some((kind, prec, right, nonassoc)) = binary(self.tok.t) else {
                break;
            };
            if prec < min {
                break;
            }
            if nonassoc && last_nonassoc == Some(prec) {
                return Err(self.unexpected());
            }
            self.bump()?;
            let rhs = self.op(if right { prec } else { prec + 1 })?;
            lhs = self.node(start, Kind::Bin(kind, Box::new(lhs), Box::new(rhs)));
            last_nonassoc = nonassoc.then_some(prec);
        }
        Ok(lhs)
    }

    /// Application: a selection followed by arguments.
    fn app(&mut self) -> PResult<Expr<'s>> {
        let start = self.tok.start;
        let f = self.select()?;
        let mut args = Vec::new();
        while self.starts_simple() {
            args.push(self.select()?);
        }
        if args.is_empty() {
            Ok(f)
        } else {
            Ok(self.node(start, Kind::Apply(Box::new(f), args)))
        }
    }

    fn starts_simple(&self) -> bool {
        matches!(
            self.tok.t,
            T::Id
                | T::Int
                | T::Float
                | T::Path
                | T::HomePath
                | T::SearchPath
                | T::Uri
                | T::DQuote
                | T::IndOpen
                | T::LParen
                | T::LBrace
                | T::LBracket
                | T::Rec
                | T::Let
        )
    }

    /// `simple`, `simple.path`, `simple.path or default`, and `simple or` (an
    /// application to the variable `or`, as Nix 2.8 parses it).
    fn select(&mut self) -> PResult<Expr<'s>> {
        let start = self.tok.start;
        let base = self.simple()?;
        if self.tok.t == T::Dot {
            self.bump()?;
            let path = self.attrpath()?;
            let default = if self.tok.t == T::OrKw {
                self.bump()?;
                Some(Box::new(self.nested(Self::select)?))
            } else {
                None
            };
            return Ok(self.node(start, Kind::Select(Box::new(base), path, default)));
        }
        if self.tok.t == T::OrKw {
            let t = self.bump()?;
            let or = Expr {
                start: t.start,
                end: t.end,
                kind: Kind::Ident("or"),
            };
            return Ok(self.node(start, Kind::Apply(Box::new(base), vec![or])));
        }
        Ok(base)
    }

    /// `a.b."c".${d}`
    fn attrpath(&mut self) -> PResult<Vec<Attr<'s>>> {
        let mut path = vec![self.attr()?];
        while self.tok.t == T::Dot {
            self.bump()?;
            path.push(self.attr()?);
        }
        Ok(path)
    }

    fn attr(&mut self) -> PResult<Attr<'s>> {
        match self.tok.t {
            T::Id | T::OrKw => {
                let t = self.bump()?;
                Ok(Attr::Ident(self.text(t)))
            }
            T::DQuote => {
                let start = self.tok.start;
                Ok(Attr::Str(self.string_parts(false)?, start))
            }
            T::DollarCurly => {
                self.bump()?;
                let e = self.expr()?;
                self.expect(T::RBrace)?;
                Ok(Attr::Dynamic(Box::new(e)))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn simple(&mut self) -> PResult<Expr<'s>> {
        let t = self.tok;
        let start = t.start;
        let text = self.text(t);
        let leaf = |kind| Expr {
            start,
            end: t.end,
            kind,
        };
        match t.t {
            T::Id => {
                self.bump()?;
                Ok(leaf(if text == "__curPos" {
                    Kind::CurPos
                } else {
                    Kind::Ident(text)
                }))
            }
            T::Int => {
                self.bump()?;
                Ok(leaf(Kind::Int(text)))
            }
            T::Float => {
                self.bump()?;
                Ok(leaf(Kind::Float(text)))
            }
            T::Uri => {
                self.bump()?;
                Ok(leaf(Kind::Uri(text)))
            }
            T::SearchPath => {
                self.bump()?;
                Ok(leaf(Kind::SearchPath(&text[1..text.len() - 1])))
            }
            T::Path | T::HomePath => self.path(),
            T::DQuote => self.string(false),
            T::IndOpen => self.string(true),
            T::LParen => {
                self.bump()?;
                let e = self.expr()?;
                self.expect(T::RParen)?;
                Ok(self.node(start, Kind::Paren(Box::new(e))))
            }
            T::LBracket => {
                self.bump()?;
                let mut items = Vec::new();
                while self.tok.t != T::RBracket {
                    if !self.starts_simple() {
                        return Err(self.unexpected());
                    }
                    items.push(self.nested(Self::select)?);
                }
                self.bump()?;
                Ok(self.node(start, Kind::List(items)))
            }
            T::LBrace => {
                self.bump()?;
                let binds = self.binds(T::RBrace)?;
                self.expect(T::RBrace)?;
                Ok(self.node(start, Kind::AttrSet(false, binds)))
            }
            T::Rec => {
                self.bump()?;
                self.expect(T::LBrace)?;
                let binds = self.binds(T::RBrace)?;
                self.expect(T::RBrace)?;
                Ok(self.node(start, Kind::AttrSet(true, binds)))
            }
            T::Let => {
                self.bump()?;
                self.expect(T::LBrace)?;
                let binds = self.binds(T::RBrace)?;
                self.expect(T::RBrace)?;
                Ok(self.node(start, Kind::LegacyLet(binds)))
            }
            _ => Err(self.unexpected()),
        }
    }

    /// Bindings up to (not including) `end`.
    fn binds(&mut self, end: T) -> PResult<Vec<Entry<'s>>> {
        let mut entries = Vec::new();
        while self.tok.t != end {
            if self.tok.t == T::Inherit {
                self.bump()?;
                let from = if self.tok.t == T::LParen {
                    self.bump()?;
                    let e = self.expr()?;
                    let close = self.expect(T::RParen)?;
                    Some((e, close.end))
                } else {
                    None
                };
                let mut attrs = Vec::new();
                while self.tok.t != T::Semi {
                    let ws = self.tok.ws_start;
                    attrs.push((self.attr()?, ws));
                }
                self.bump()?;
                entries.push(Entry::Inherit { from, attrs });
            } else {
                let start = self.tok.start;
                let path = self.attrpath()?;
                self.expect(T::Assign)?;
                let value = self.expr()?;
                self.expect(T::Semi)?;
                entries.push(Entry::Value { start, path, value });
            }
        }
        Ok(entries)
    }

    /// `"…"` or `''…''`, the lookahead at the opening quote(s).
    fn string(&mut self, indented: bool) -> PResult<Expr<'s>> {
        let start = self.tok.start;
        let parts = self.string_parts(indented)?;
        Ok(self.node(start, Kind::Str { indented, parts }))
    }

    /// The parts of `"…"` or `''…''`, the lookahead at the opening quote(s): raw text
    /// (escapes kept, for lowering to process) and interpolations.
    fn string_parts(&mut self, indented: bool) -> PResult<Vec<Part<'s>>> {
        let mut pos = self.tok.end as usize;
        let bytes = self.lex.bytes();
        let mut parts = Vec::new();
        let mut text_start = pos;
        loop {
            let Some(&b) = bytes.get(pos) else {
                return Err(SyntaxError {
                    message: "syntax error, unexpected end of file".into(),
                    offset: bytes.len() as u32,
                });
            };
            let next = bytes.get(pos + 1).copied();
            // `''` followed by `$`, `'` or a backslash is an escape in an indented string.
            let quotes = indented && b == b'\'' && next == Some(b'\'');
            let escaped = quotes && matches!(bytes.get(pos + 2), Some(b'$' | b'\'' | b'\\'));
            if (!indented && b == b'"') || (quotes && !escaped) {
                if pos > text_start {
                    parts.push(Part::Text(&self.src()[text_start..pos]));
                }
                pos += if indented { 2 } else { 1 };
                break;
            }
            if escaped {
                pos += 3;
                if bytes[pos - 1] == b'\\' && pos < bytes.len() {
                    pos += self.src()[pos..].chars().next().map_or(1, char::len_utf8);
                }
            } else if b == b'\\' && !indented {
                pos += if next.is_some() { 2 } else { 1 };
            } else if b == b'$' && next == Some(b'{') {
                if pos > text_start {
                    parts.push(Part::Text(&self.src()[text_start..pos]));
                }
                let (e, after) = self.interpolation(pos)?;
                parts.push(Part::Interp(Box::new(e), pos as u32));
                pos = after;
                text_start = pos;
            } else if b == b'$' && next == Some(b'$') {
                // `$$` is two dollars: the second never starts an interpolation.
                pos += 2;
            } else {
                // Plain text up to the next byte that may end it, escape or interpolate.
                let rest = bytes.get(pos + 1..).unwrap_or_default();
                let plain = if indented {
                    memchr::memchr2(b'\'', b'$', rest)
                } else {
                    memchr::memchr3(b'"', b'\\', b'$', rest)
                };
                pos += 1 + plain.unwrap_or(rest.len());
            }
        }
        self.resume(pos)?;
        Ok(parts)
    }

    /// Parses `${ e }` at `at`; returns `e` and the offset after `}`.
    fn interpolation(&mut self, at: usize) -> PResult<(Expr<'s>, usize)> {
        self.lex.pos = at + 2;
        self.bump()?;
        let e = self.expr()?;
        if self.tok.t != T::RBrace {
            return Err(self.unexpected());
        }
        Ok((e, self.tok.end as usize))
    }

    /// Continues lexing the default state at `pos` (after a string or path).
    fn resume(&mut self, pos: usize) -> PResult<()> {
        self.prev_end = pos as u32;
        self.lex.pos = pos;
        self.tok = self.lex.next()?;
        Ok(())
    }

    /// A path, with interpolations (`./a/${b}/c`), the lookahead at its first piece.
    fn path(&mut self) -> PResult<Expr<'s>> {
        let t = self.tok;
        let start = t.start;
        let bytes = self.lex.bytes();
        let text = self.text(t);
        let base = if t.t == T::HomePath {
            PathBase::Home
        } else if text.starts_with('/') {
            PathBase::Absolute
        } else {
            PathBase::Relative
        };
        // After the first piece Nix's lexer stays in a path state: `${…}` and further
        // path text continue the path, which needs an interpolation right after the
        // first such text (`./a//b` is a syntax error), and may not end in `/`.
        let mut pos = t.end as usize;
        let mut parts = vec![Part::Text(&self.src()[start as usize..pos])];
        let mut last_text = start;
        loop {
            if bytes[pos..].starts_with(b"${") {
                let (e, after) = self.interpolation(pos)?;
                parts.push(Part::Interp(Box::new(e), pos as u32));
                pos = after;
                continue;
            }
            let rest = &bytes[pos..];
            let len = path_len(rest)
                .max(path_seg_len(rest))
                .max(rest.iter().take_while(|b| is_path_char(**b)).count());
            if len > 0 {
                if parts.len() == 1 && !rest[len..].starts_with(b"${") {
                    let text: String = self.src()[pos..pos + len].chars().take(20).collect();
                    return Err(SyntaxError {
                        message: format!("syntax error, unexpected '{text}'"),
                        offset: pos as u32,
                    });
                }
                parts.push(Part::Text(&self.src()[pos..pos + len]));
                last_text = pos as u32;
                pos += len;
                continue;
            }
            if matches!(parts.last(), Some(Part::Text(text)) if text.ends_with('/')) {
                return Err(SyntaxError {
                    message: "path has a trailing slash".into(),
                    offset: last_text,
                });
            }
            break;
        }
        self.resume(pos)?;
        Ok(self.node(start, Kind::Path { base, parts }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(src: &str) -> String {
        match parse(src) {
            Ok(e) => format!("{:?}", e.kind).chars().take(400).collect(),
            Err(e) => format!("error: {e:?}"),
        }
    }

    #[test]
    fn operators_follow_nix_precedence() {
        let e = parse("!a + b // c").unwrap();
        assert!(
            matches!(e.kind, Kind::Bin(BinKind::Update, ..)),
            "{}",
            shape("!a + b // c")
        );
        let e = parse("- a ? b").unwrap();
        assert!(matches!(e.kind, Kind::HasAttr(..)));
        let e = parse("{} ? a ? b").unwrap();
        let Kind::HasAttr(inner, _) = &e.kind else {
            panic!()
        };
        assert!(matches!(inner.kind, Kind::HasAttr(..)));
        let e = parse("a -> b -> c").unwrap();
        let Kind::Bin(BinKind::Impl, _, rhs) = &e.kind else {
            panic!()
        };
        assert!(matches!(rhs.kind, Kind::Bin(BinKind::Impl, ..)));
        assert!(parse("a == b == c").is_err());
    }

    #[test]
    fn words_take_the_longest_match() {
        assert!(matches!(parse("x:x").unwrap().kind, Kind::Uri("x:x")));
        assert!(matches!(parse("a/b").unwrap().kind, Kind::Path { .. }));
        assert!(matches!(parse("a-b").unwrap().kind, Kind::Ident("a-b")));
        assert!(matches!(parse("1.5").unwrap().kind, Kind::Float("1.5")));
        assert!(matches!(parse(".5").unwrap().kind, Kind::Float(".5")));
        assert!(matches!(
            parse("<nixpkgs/lib>").unwrap().kind,
            Kind::SearchPath("nixpkgs/lib")
        ));
    }

    #[test]
    fn errors_name_the_offending_token() {
        let e = parse("{ a = 1 }").unwrap_err();
        assert_eq!(e.message, "syntax error, unexpected '}'");
        assert_eq!(e.offset, 8);
        assert_eq!(
            parse("(").unwrap_err().message,
            "syntax error, unexpected end of file"
        );
        assert_eq!(
            parse("./a/").unwrap_err().message,
            "path has a trailing slash"
        );
    }

    #[test]
    fn deep_nesting_is_refused_past_the_limit() {
        let nested = |n| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        // Nix 2.8 stops at 9,995 parentheses; one level is the whole expression.
        assert!(parse(&nested(9_995)).is_ok());
        assert!(parse(&nested(MAX_DEPTH as usize - 1)).is_ok());
        let e = parse(&nested(MAX_DEPTH as usize)).unwrap_err();
        assert_eq!(
            e.message,
            "expression nested too deeply (more than 100000 levels)"
        );
        assert_eq!(e.offset, MAX_DEPTH);
        let n = MAX_DEPTH as usize;
        let strings = format!("{}1{}", r#""${"#.repeat(n), r#"}""#.repeat(n));
        let e = parse(&strings).unwrap_err();
        assert!(e.message.starts_with("expression nested too deeply"));
        // An operator chain nests its tree without nesting levels; its drop must not
        // overflow the stack either.
        assert!(parse(&vec!["1"; 500_000].join(" + ")).is_ok());
    }

    /// Every prefix of a text using most of the syntax, and byte-level mutations of
    /// it, parse or fail with an error, never panic: hostile files get parsed.
    #[test]
    fn mangled_input_never_panics() {
        let sample = r#"let a = "b${c}\"é$$"; f = { x ? 1, ... }@y: x.z or ./p/${a}/q; in
            [ ''
                i ''${a} '''\n ${a}'' <n/p> ~/h http://u.org/?a /* c */ # d
              (rec { inherit (a) b; "c".${d} = !1 + -2 * 3 // 4 ++ 5 -> 6 || 7 && 8; }) ]"#;
        for end in 0..=sample.len() {
            if let Some(prefix) = sample.get(..end) {
                let _ = parse(prefix);
            }
        }
        let alphabet = b"{}[]()\"'$\\/.:;=?@!-+*<>|&~# \nax1";
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut mutated = sample.as_bytes().to_vec();
            let at = (seed % mutated.len() as u64) as usize;
            let byte = alphabet[((seed >> 32) % alphabet.len() as u64) as usize];
            match (seed >> 40) % 3 {
                0 => mutated[at] = byte,
                1 => mutated.insert(at, byte),
                _ => {
                    mutated.remove(at);
                }
            }
            if let Ok(text) = std::str::from_utf8(&mutated) {
                let _ = parse(text);
            }
        }
    }
}
