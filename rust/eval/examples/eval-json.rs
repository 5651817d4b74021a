//! `eval-json FILE`: prints what `nix-instantiate --eval --strict --json FILE` prints,
//! with no CLI around the evaluator. `checks/bench/eval.sh` measures it when the
//! `nixspot` binary cannot be built (another crate of the workspace mid-change) and
//! runs it under callgrind, where the CLI's start-up would only add noise.
use std::io::Write;
use std::process::ExitCode;

use nixspot_eval::{EvalOptions, Evaluator, OutputMode, Request, Source};

/// The allocator of the `nixspot` binary, so that this example measures what `nixspot
/// eval` runs: mimalloc while evaluating, the system allocator otherwise.
#[global_allocator]
static GLOBAL: nixspot_alloc::EvalAlloc = nixspot_alloc::EvalAlloc;

fn main() -> ExitCode {
    let Some(file) = std::env::args_os().nth(1) else {
        eprintln!("usage: eval-json FILE");
        return ExitCode::FAILURE;
    };
    // Forgotten below, not dropped.
    let mut evaluator = Evaluator::new(EvalOptions::default());
    let request = Request {
        attr_path: None,
        strict: true,
        output: OutputMode::Json,
    };
    let result = {
        let _evaluating = nixspot_alloc::Evaluating::start();
        evaluator.eval_with(&Source::File(file.into()), &request)
    };
    // Like `nixspot eval`: the process ends here, freeing the values would only cost time.
    std::mem::forget(evaluator);
    match result {
        Ok(bytes) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(&bytes)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
