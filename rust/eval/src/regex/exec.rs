//! libstdc++'s depth-first `_Executor` (POSIX flavour), with an explicit stack.
//!
//! Each state is handled like its `_M_handle_*` function: what libstdc++ does after a
//! recursive call returns (restoring a group, trying the other side of an
//! alternation, leaving a repetition) is a [`Task`] pushed before the call's work, and
//! the call itself is made in place: a state's one successor is explored in the same
//! loop rather than pushed and popped again.

use super::{Found, Kind, Program, Span};

/// A group's sub-match as libstdc++ keeps it while searching.
#[derive(Clone, Copy, Debug)]
struct Sub {
    first: Option<usize>,
    second: usize,
    matched: bool,
}

const UNMATCHED: Sub = Sub {
    first: None,
    second: 0,
    matched: false,
};

/// Work left on the stack.
#[derive(Debug)]
enum Task {
    /// Undo a group start.
    RestoreFirst(usize, Option<usize>),
    /// Undo a group end.
    RestoreSub(usize, Sub),
    /// Undo entering a repetition's body.
    RestoreRep(usize, (usize, u8)),
    /// Undo re-entering a repetition's body at the same position.
    UncountRep(usize),
    /// After a repetition's body: leave the loop unless a match was found.
    LeaveRepeat(usize, usize),
    /// Leave a loop over one character at each position from the highest down to the
    /// lowest, while no match was found: what the nested iterations of a loop like
    /// `[a-z]*` leave behind, without a task per character.
    LeaveRepeatDown {
        next: usize,
        low: usize,
        high: usize,
    },
    /// After an alternation's left side: try the right side too.
    AltRight(usize, usize),
    /// After both sides: either found a match.
    AltJoin(bool),
}

/// How one search runs (`regex_constants::match_flag_type`, the flags Nix's calls use).
#[derive(Clone, Copy, Default)]
struct Flags {
    /// The start is not the beginning of the text (`^` cannot match there).
    prev_avail: bool,
    /// An empty match is no match.
    not_null: bool,
    /// Only a match starting at the start position counts.
    continuous: bool,
}

/// The executor's buffers, reusable from one run to the next: every run leaves the
/// repetition counters as it found them and resets the rest.
#[derive(Debug)]
pub(super) struct Scratch {
    /// Per repetition state: where its body was last entered, and how often there.
    reps: Vec<(usize, u8)>,
    cur: Vec<Sub>,
    results: Vec<Sub>,
    tasks: Vec<Task>,
}

impl Scratch {
    pub(super) fn for_program(prog: &Program) -> Scratch {
        Scratch {
            reps: vec![(0, 0); prog.nodes.len()],
            cur: vec![UNMATCHED; prog.groups],
            results: vec![UNMATCHED; prog.groups],
            tasks: Vec::new(),
        }
    }
}

pub(super) struct Executor<'a> {
    prog: &'a Program,
    text: &'a [u8],
    /// Where this attempt started (`_M_begin`).
    begin: usize,
    exact: bool,
    flags: Flags,
    reps: &'a mut Vec<(usize, u8)>,
    cur: &'a mut Vec<Sub>,
    results: &'a mut Vec<Sub>,
    has_sol: bool,
    sol_pos: Option<usize>,
    tasks: &'a mut Vec<Task>,
}

impl<'a> Executor<'a> {
    pub(super) fn new(prog: &'a Program, text: &'a [u8], scratch: &'a mut Scratch) -> Self {
        scratch.results.fill(UNMATCHED);
        Executor {
            prog,
            text,
            begin: 0,
            exact: false,
            flags: Flags::default(),
            reps: &mut scratch.reps,
            cur: &mut scratch.cur,
            results: &mut scratch.results,
            has_sol: false,
            sol_pos: None,
            tasks: &mut scratch.tasks,
        }
    }

    /// `std::regex_match` on the whole text.
    pub(super) fn full_match(mut self) -> Option<Vec<Span>> {
        self.exact = true;
        if !self.run_from(0) {
            return None;
        }
        Some(self.group_spans())
    }

    /// Every match `std::sregex_iterator` visits.
    pub(super) fn all_matches(mut self) -> Vec<Found> {
        let mut out = Vec::new();
        let mut flags = Flags::default();
        let mut found = self.search(0, flags);
        while let Some(m) = found {
            let (start, end) = (m.start, m.end);
            out.push(m);
            let mut from = end;
            if start == end {
                if from == self.text.len() {
                    break;
                }
                // After an empty match, a non-empty one at the same place comes first.
                let retry = Flags {
                    not_null: true,
                    continuous: true,
                    ..flags
                };
                if let Some(m) = self.search(from, retry) {
                    found = Some(m);
                    continue;
                }
                from += 1;
            }
            flags.prev_avail = true;
            found = self.search(from, flags);
        }
        out
    }

    /// `std::regex_search` from `from` to the end of the text.
    fn search(&mut self, from: usize, flags: Flags) -> Option<Found> {
        self.exact = false;
        self.flags = flags;
        self.results.fill(UNMATCHED);
        let mut at = from;
        loop {
            let skip = match (&self.prog.first_bytes, self.text.get(at)) {
                (Some(first), Some(&b)) => !first.contains(b),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !skip && self.run_from(at) {
                let whole = self.results.first().copied().unwrap_or(UNMATCHED);
                return Some(Found {
                    start: whole.first.unwrap_or(at),
                    end: whole.second,
                    groups: self.group_spans(),
                });
            }
            if flags.continuous || at >= self.text.len() {
                return None;
            }
            at += 1;
            self.flags.prev_avail = true;
        }
    }

    fn group_spans(&self) -> Vec<Span> {
        self.results
            .iter()
            .skip(1)
            .map(|s| match (s.matched, s.first) {
                (true, Some(first)) => Some((first, s.second)),
                _ => None,
            })
            .collect()
    }

    /// `_M_main`: one depth-first search from `at`; whether it found a match.
    fn run_from(&mut self, at: usize) -> bool {
        self.begin = at;
        self.has_sol = false;
        self.sol_pos = None;
        self.cur.clone_from(self.results);
        self.tasks.clear();
        self.explore(self.prog.start, at);
        while let Some(task) = self.tasks.pop() {
            self.step(task);
        }
        self.has_sol
    }

    fn step(&mut self, task: Task) {
        match task {
            Task::RestoreFirst(g, first) => {
                if let Some(s) = self.cur.get_mut(g) {
                    s.first = first;
                }
            }
            Task::RestoreSub(g, sub) => {
                if let Some(s) = self.cur.get_mut(g) {
                    *s = sub;
                }
            }
            Task::RestoreRep(id, rep) => {
                if let Some(r) = self.reps.get_mut(id) {
                    *r = rep;
                }
            }
            Task::UncountRep(id) => {
                if let Some(r) = self.reps.get_mut(id) {
                    r.1 -= 1;
                }
            }
            Task::LeaveRepeat(next, pos) => {
                if !self.has_sol {
                    self.explore(next, pos);
                }
            }
            Task::LeaveRepeatDown { next, low, high } => {
                if !self.has_sol {
                    if high > low {
                        self.tasks.push(Task::LeaveRepeatDown {
                            next,
                            low,
                            high: high - 1,
                        });
                    }
                    self.explore(next, high);
                }
            }
            Task::AltRight(next, pos) => {
                let left = self.has_sol;
                self.has_sol = false;
                self.tasks.push(Task::AltJoin(left));
                self.explore(next, pos);
            }
            Task::AltJoin(left) => self.has_sol |= left,
        }
    }

    /// Handles the state `id` at `pos`, then, instead of pushing the one state that
    /// follows as the last task (to be popped right away), goes on with it directly.
    fn explore(&mut self, mut id: usize, mut pos: usize) {
        loop {
            let Some(node) = self.prog.nodes.get(id) else {
                return;
            };
            let (next, alt) = (node.next, node.alt);
            (id, pos) = match &node.kind {
                Kind::Byte(b) => {
                    if self.text.get(pos) != Some(b) {
                        return;
                    }
                    (next, pos + 1)
                }
                Kind::Set(set) => {
                    if !self.text.get(pos).is_some_and(|&b| set.contains(b)) {
                        return;
                    }
                    (next, pos + 1)
                }
                Kind::Repeat => match self.single_byte_loop(id, alt, pos) {
                    // Each iteration consumes one byte and touches no group, so the
                    // iterations' bookkeeping cannot matter: take them all at once. The
                    // longest run is tried right away (no match is known while exploring),
                    // the shorter ones are left on the stack.
                    Some(run) => {
                        if run > 0 {
                            self.tasks.push(Task::LeaveRepeatDown {
                                next,
                                low: pos,
                                high: pos + run - 1,
                            });
                        }
                        (next, pos + run)
                    }
                    None => {
                        self.tasks.push(Task::LeaveRepeat(next, pos));
                        let Some(rep) = self.reps.get_mut(id) else {
                            return;
                        };
                        // The body may match the empty string at most twice in a row.
                        if rep.1 == 0 || rep.0 != pos {
                            let before = *rep;
                            *rep = (pos, 1);
                            self.tasks.push(Task::RestoreRep(id, before));
                        } else if rep.1 < 2 {
                            rep.1 += 1;
                            self.tasks.push(Task::UncountRep(id));
                        } else {
                            return;
                        }
                        (alt, pos)
                    }
                },
                Kind::Alt => {
                    self.tasks.push(Task::AltRight(next, pos));
                    (alt, pos)
                }
                Kind::GroupStart(g) => {
                    if let Some(s) = self.cur.get_mut(*g) {
                        self.tasks.push(Task::RestoreFirst(*g, s.first));
                        s.first = Some(pos);
                    }
                    (next, pos)
                }
                Kind::GroupEnd(g) => {
                    if let Some(s) = self.cur.get_mut(*g) {
                        self.tasks.push(Task::RestoreSub(*g, *s));
                        s.second = pos;
                        s.matched = true;
                    }
                    (next, pos)
                }
                Kind::LineBegin => {
                    if pos != self.begin || self.flags.prev_avail {
                        return;
                    }
                    (next, pos)
                }
                Kind::LineEnd => {
                    if pos != self.text.len() {
                        return;
                    }
                    (next, pos)
                }
                Kind::Dummy => (next, pos),
                Kind::Accept => {
                    self.accept(pos);
                    return;
                }
            };
        }
    }

    /// For a loop whose body is one byte matcher leading straight back to the loop:
    /// how many bytes from `pos` it can consume.
    fn single_byte_loop(&self, repeat: usize, body: usize, pos: usize) -> Option<usize> {
        let node = self.prog.nodes.get(body)?;
        if node.next != repeat {
            return None;
        }
        let rest = self.text.get(pos..)?;
        let run = match &node.kind {
            Kind::Byte(b) => rest.iter().take_while(|&c| c == b).count(),
            Kind::Set(set) => rest.iter().take_while(|&&c| set.contains(c)).count(),
            _ => return None,
        };
        Some(run)
    }

    /// `_M_handle_accept`, POSIX: keep the longest match, the first found on a tie.
    fn accept(&mut self, pos: usize) {
        self.has_sol = if self.exact {
            pos == self.text.len()
        } else {
            true
        };
        if pos == self.begin && self.flags.not_null {
            self.has_sol = false;
        }
        if self.has_sol && self.sol_pos.is_none_or(|best| best < pos) {
            self.sol_pos = Some(pos);
            self.results.clone_from(self.cur);
        }
    }
}
