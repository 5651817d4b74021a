//! The evaluator's intermediate representation, produced by [`crate::lower`].
//!
//! Variables are resolved at lowering time: lexical bindings become `(depth, slot)`
//! pairs into the environment chain, builtins become constants, and only names that
//! may come from an enclosing `with` stay dynamic ([`Expr::WithVar`]).

use crate::symbol::Symbol;
use crate::value::Value;
use std::rc::Rc;

/// A source position: file id and byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    /// Index into the evaluator's file table; `u32::MAX` when unknown.
    pub file: u32,
    /// Byte offset in the file's text.
    pub offset: u32,
}

impl Pos {
    /// A position that points nowhere.
    pub const NONE: Pos = Pos {
        file: u32::MAX,
        offset: 0,
    };

    /// Whether the position points into a known file.
    pub fn is_known(self) -> bool {
        self.file != u32::MAX
    }
}

/// Shared expression node.
pub type ExprRef = Rc<Expr>;

/// A binary operator that evaluates both operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `==`
    Eq,
    /// `!=`
    Neq,
    /// `<`, and `>` with its operands swapped (`a > b` is `b < a` in Nix).
    Lt,
    /// `>=`, and `<=` with its operands swapped (`a <= b` is `!(b < a)` in Nix).
    Ge,
    /// `++`
    Concat,
    /// `//`
    Update,
}

/// An attribute name in a select, `?` or dynamic binding.
#[derive(Debug)]
pub enum AttrKey {
    /// A name known at lowering time.
    Static(Symbol),
    /// `${expr}` or a string with interpolation.
    Dynamic(ExprRef),
}

/// One part of an interpolated string.
#[derive(Debug)]
pub enum StrPart {
    /// Literal text.
    Lit(Rc<str>),
    /// `${expr}`, with the position of the interpolation.
    Interp(ExprRef, Pos),
}

/// A function's parameter.
#[derive(Debug)]
pub enum Param {
    /// `x: body`: slot 0 holds the argument.
    Ident(Symbol),
    /// `{ a, b ? d, ... } @ x: body`: slots follow `formals`, the `@` binding last.
    Pattern {
        /// Formal names with optional default expressions (lowered in the call's scope).
        formals: Vec<(Symbol, Option<ExprRef>)>,
        /// Where each formal's name is, for `functionArgs` positions.
        formal_pos: Vec<Pos>,
        /// Whether `...` allows other attributes.
        ellipsis: bool,
        /// The `@` name, bound in the slot after the formals.
        bind: Option<Symbol>,
    },
}

/// A function literal.
#[derive(Debug)]
pub struct Lambda {
    /// The name it was bound to (`f = x: …`), for messages.
    pub name: Option<Symbol>,
    /// The parameter.
    pub param: Param,
    /// Number of slots the call frame needs.
    pub slots: usize,
    /// The body, lowered in the call frame's scope.
    pub body: ExprRef,
    /// Where the function starts.
    pub pos: Pos,
}

/// An attribute set literal (also the bindings of `let` and `rec`).
#[derive(Debug)]
pub struct AttrsLit {
    /// Whether the values see a new scope holding the static names (`rec`, `let`).
    pub rec: bool,
    /// Static attributes, sorted by name; for `rec` the index is also the slot.
    pub statics: Vec<(Symbol, ExprRef, Pos)>,
    /// Dynamic attributes, in source order.
    pub dynamics: Vec<(ExprRef, ExprRef, Pos)>,
    /// For `rec { … }`: the index in `statics` of `__overrides`, whose attributes
    /// replace the set's own (also for the other attributes' references to them).
    pub overrides: Option<usize>,
}

/// An expression.
#[derive(Debug)]
pub enum Expr {
    /// A constant (literals, builtins).
    Const(Value),
    /// A list or set literal of constants: its value, shared by every evaluation.
    ConstData(Value),
    /// A lexical variable: walk `depth` frames up, read `slot`.
    Var(u32, u32, Pos),
    /// A name that may come from an enclosing `with`.
    WithVar(Symbol, Pos),
    /// A string with interpolations.
    Str(Vec<StrPart>, Pos),
    /// A path with interpolations: the concatenated text is resolved like a path
    /// literal relative to the directory given.
    InterpPath(Vec<StrPart>, Rc<str>, Pos),
    /// `<name>` looked up in the search path.
    SearchPath(Rc<str>, Pos),
    /// `[ … ]`
    List(Vec<ExprRef>),
    /// `{ … }` and `rec { … }`
    Attrs(AttrsLit),
    /// `let … in body`: the bindings form a new frame.
    Let(AttrsLit, ExprRef),
    /// `e.a.b or default`
    Select(ExprRef, Vec<AttrKey>, Option<ExprRef>, Pos),
    /// `e ? a.b`
    HasAttr(ExprRef, Vec<AttrKey>),
    /// A function literal.
    Lambda(Rc<Lambda>),
    /// `f a b …`, with the position of the application.
    Apply(ExprRef, Vec<ExprRef>, Pos),
    /// `if c then a else b`
    If(ExprRef, ExprRef, ExprRef, Pos),
    /// `assert c; body`, with the condition's source text.
    Assert(ExprRef, ExprRef, Rc<str>, Pos),
    /// `with e; body`: a frame holding the namespace.
    With(ExprRef, ExprRef),
    /// `!e`
    Not(ExprRef, Pos),
    /// `-e`
    Neg(ExprRef, Pos),
    /// `a && b`
    And(ExprRef, ExprRef, Pos),
    /// `a || b`
    Or(ExprRef, ExprRef, Pos),
    /// `a -> b`
    Impl(ExprRef, ExprRef, Pos),
    /// A strict binary operator, with the positions of the expression and of its
    /// right operand.
    BinOp(BinOp, ExprRef, ExprRef, Pos, Pos),
    /// `__curPos`
    CurPos(Pos),
}

impl Drop for Expr {
    /// An expression tree's drop recurses as deep as the tree, which operator chains
    /// make as deep as the file is long.
    fn drop(&mut self) {
        crate::value::drop_deep(|| std::mem::replace(self, Expr::CurPos(Pos::NONE)));
    }
}

impl Expr {
    /// The position errors inside this expression default to.
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Var(_, _, p)
            | Expr::WithVar(_, p)
            | Expr::Str(_, p)
            | Expr::InterpPath(_, _, p)
            | Expr::SearchPath(_, p)
            | Expr::Select(_, _, _, p)
            | Expr::Apply(_, _, p)
            | Expr::If(_, _, _, p)
            | Expr::Assert(_, _, _, p)
            | Expr::Not(_, p)
            | Expr::Neg(_, p)
            | Expr::And(_, _, p)
            | Expr::Or(_, _, p)
            | Expr::Impl(_, _, p)
            | Expr::BinOp(_, _, _, p, _)
            | Expr::CurPos(p) => *p,
            Expr::Lambda(l) => l.pos,
            Expr::Const(_)
            | Expr::ConstData(_)
            | Expr::List(_)
            | Expr::Attrs(_)
            | Expr::Let(_, _)
            | Expr::HasAttr(_, _)
            | Expr::With(_, _) => Pos::NONE,
        }
    }
}
