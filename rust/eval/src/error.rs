//! Internal evaluation errors: a message, a position and a trace of frames.

use crate::ir::Pos;

/// What kind of failure an error is; `tryEval` catches only `Thrown` and `Assertion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `throw`
    Thrown,
    /// A failed `assert`.
    Assertion,
    /// `abort`
    Abort,
    /// Any other evaluation error (type errors, missing attributes, …).
    Eval,
    /// A syntax error.
    Parse,
    /// Recursion too deep to continue; its trace would only repeat the same frames,
    /// so it gets none (like Nix's).
    StackOverflow,
    /// Not a failure: `builtins.trace` was called while values were being computed
    /// ahead of time ([`crate::eval::Eval::speculate`]). A trace shows which parts of
    /// a value are still unevaluated, so the evaluation starts over without
    /// speculating, and prints what Nix prints. Nothing catches it.
    Restart,
}

/// An evaluation error with its trace, innermost frame first.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
pub struct EvalError {
    /// The kind of error.
    pub kind: ErrorKind,
    /// The message, without the `error: ` prefix.
    pub msg: String,
    /// Where it happened.
    pub pos: Pos,
    /// `while evaluating …` frames, innermost first.
    pub trace: Vec<(Pos, String)>,
}

/// The most frames kept in a trace; deep recursions would otherwise produce
/// megabytes of repeated frames.
const MAX_TRACE: usize = 32;

impl EvalError {
    /// Adds a trace frame (dropped once the trace is long).
    #[cold]
    pub fn frame(mut self: Box<Self>, pos: Pos, msg: impl FnOnce() -> String) -> Box<Self> {
        if self.trace.len() < MAX_TRACE && self.kind != ErrorKind::StackOverflow {
            self.trace.push((pos, msg()));
        }
        self
    }

    /// Sets the position if the error has none yet.
    #[cold]
    pub fn at(mut self: Box<Self>, pos: Pos) -> Box<Self> {
        if !self.pos.is_known() {
            self.pos = pos;
        }
        self
    }
}

/// The result type of evaluation steps.
pub type R<T> = Result<T, Box<EvalError>>;

/// A plain evaluation error at `pos`. Cold, like every error path: the code that
/// makes errors stays out of the evaluator's hot functions.
#[cold]
pub fn err(msg: impl Into<String>, pos: Pos) -> Box<EvalError> {
    Box::new(EvalError {
        kind: ErrorKind::Eval,
        msg: msg.into(),
        pos,
        trace: Vec::new(),
    })
}

/// An error of a given kind at `pos`.
#[cold]
pub fn err_kind(kind: ErrorKind, msg: impl Into<String>, pos: Pos) -> Box<EvalError> {
    Box::new(EvalError {
        kind,
        msg: msg.into(),
        pos,
        trace: Vec::new(),
    })
}
