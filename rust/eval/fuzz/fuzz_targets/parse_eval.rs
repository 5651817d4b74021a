//! Feeds arbitrary UTF-8 text to the evaluator as an expression (`-E`) and renders the
//! result strictly as JSON. Any outcome is fine except a panic, an abort or a crash:
//! errors must come back as `Err`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nixspot_eval::{EvalOptions, Evaluator, Source};

/// An empty directory relative paths resolve against, so inputs see no real files
/// through `./…` (absolute paths are still readable: the evaluator only reads).
fn base_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("nixspot-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    // Long inputs only slow the search down without reaching new code.
    if data.len() > 4096 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Big literals (`genList f 9999999`) only make legitimate work slow enough to trip
    // the time limit; they find nothing the small ones don't.
    if has_long_number(text) {
        return;
    }
    let mut evaluator = Evaluator::new(EvalOptions::default());
    let _ = evaluator.eval_to_json(&Source::Expr {
        text: text.to_string(),
        base_dir: base_dir().clone(),
    });
});

/// True when `text` holds a run of five or more digits.
fn has_long_number(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 5 {
            return true;
        }
    }
    false
}
