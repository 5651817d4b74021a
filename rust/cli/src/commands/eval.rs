//! `nixspot eval`: evaluate a Nix expression like `nix-instantiate --eval`.

use anyhow::Context as _;
use nixspot_eval::{AutoArg, EvalOptions, Evaluator, OutputMode, Request, Source};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Evaluate a Nix expression or file with nixspot's built-in evaluator.
#[derive(clap::Args)]
#[command(
    long_about = "Evaluate a Nix expression or file with nixspot's built-in Nix evaluator, \
following `nix-instantiate --eval` conventions. No Nix installation is needed.\n\n\
A function at the top level is called automatically with the --arg/--argstr \
arguments (its defaults fill in the rest). With --json the output is byte-identical to \
`nix-instantiate --eval --strict --json`; the default output is Nix syntax. Errors go \
to standard error with the position, the source line and a trace, and the exit code \
is 1.",
    after_help = "Examples:\n  \
nixspot eval -E '1 + 2'\n  \
nixspot eval --json --strict -E '{ a = [ 1 2 ]; b = \"x\"; }'\n  \
nixspot eval --json hotspots/hotspot-wikipedia.nix -A config.build.recipe\n  \
nixspot eval default.nix --arg enable true --argstr name demo --json\n  \
nixspot eval -I nixspot=./modules -E 'import <nixspot/lib>' --strict\n  \
nixspot eval --raw -E 'builtins.toJSON { a = 1; }'\n\n\
The search path for <name> lookups comes from -I (in order), then NIX_PATH."
)]
pub struct Args {
    /// The file to evaluate (a directory means its default.nix); omit with -E.
    #[arg(value_name = "FILE", required_unless_present = "expr")]
    file: Option<PathBuf>,
    /// Evaluate this expression instead of a file; relative paths resolve against
    /// the current directory.
    #[arg(
        short = 'E',
        long = "expr",
        value_name = "EXPR",
        conflicts_with = "file"
    )]
    expr: Option<String>,
    /// Select an attribute of the result (dot-separated, list indices allowed),
    /// like `nix-instantiate -A`.
    #[arg(short = 'A', long = "attr", value_name = "ATTRPATH")]
    attr: Option<String>,
    /// Print the result as JSON (implies --strict).
    #[arg(long, conflicts_with_all = ["raw", "nix"])]
    json: bool,
    /// Print a string result as is, without quotes or escapes.
    #[arg(long, conflicts_with_all = ["json", "nix"])]
    raw: bool,
    /// Print the result in Nix syntax (the default).
    #[arg(long, conflicts_with_all = ["json", "raw"])]
    nix: bool,
    /// Evaluate the result deeply; without it, unevaluated parts print as <CODE>.
    #[arg(long)]
    strict: bool,
    /// Add a search path entry: `PATH` or `PREFIX=PATH`, for `<PREFIX/…>` lookups.
    #[arg(short = 'I', long = "include", value_name = "PATH")]
    include: Vec<String>,
    /// Pass NAME=EXPR (a Nix expression) to a top-level function.
    #[arg(long = "arg", num_args = 2, value_names = ["NAME", "EXPR"])]
    arg: Vec<String>,
    /// Pass NAME=VALUE (a string) to a top-level function.
    #[arg(long = "argstr", num_args = 2, value_names = ["NAME", "VALUE"])]
    argstr: Vec<String>,
}

/// Parses one search path entry (`PREFIX=PATH` or `PATH`).
fn search_entry(entry: &str) -> (String, PathBuf) {
    match entry.split_once('=') {
        Some((prefix, path)) => (prefix.to_string(), PathBuf::from(path)),
        None => (String::new(), PathBuf::from(entry)),
    }
}

/// Runs `nixspot eval`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut search_path: Vec<(String, PathBuf)> =
        args.include.iter().map(|e| search_entry(e)).collect();
    if let Ok(nix_path) = std::env::var("NIX_PATH") {
        search_path.extend(
            nix_path
                .split(':')
                .filter(|e| !e.is_empty())
                .map(search_entry),
        );
    }
    let mut auto_args = Vec::new();
    for pair in args.arg.chunks(2) {
        if let [name, expr] = pair {
            auto_args.push((name.clone(), AutoArg::Expr(expr.clone())));
        }
    }
    for pair in args.argstr.chunks(2) {
        if let [name, value] = pair {
            auto_args.push((name.clone(), AutoArg::Str(value.clone())));
        }
    }
    let source = match (&args.expr, &args.file) {
        (Some(text), _) => Source::Expr {
            text: text.clone(),
            base_dir: std::env::current_dir().context("reading the current directory")?,
        },
        (None, Some(file)) => Source::File(file.clone()),
        (None, None) => anyhow::bail!("give a FILE or -E EXPR"),
    };
    let output = if args.json {
        OutputMode::Json
    } else if args.raw {
        OutputMode::Raw
    } else {
        OutputMode::Nix
    };
    let mut evaluator = Evaluator::new(EvalOptions {
        search_path,
        auto_args,
    });
    let request = Request {
        attr_path: args.attr.clone(),
        strict: args.strict || args.json,
        output,
    };
    let result = {
        let _evaluating = nixspot_alloc::Evaluating::start();
        evaluator.eval_with(&source, &request)
    };
    // The process ends right after printing: freeing every value the evaluation made
    // would only cost time (like Nix, which never frees them either).
    std::mem::forget(evaluator);
    match result {
        Ok(bytes) => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes).context("writing the result")?;
            // `nix-instantiate --eval` 2.8 ends Nix-syntax output with a newline but
            // prints `--json` output (and raw text) without one.
            if output == OutputMode::Nix {
                stdout.write_all(b"\n").context("writing the result")?;
            }
            stdout.flush().context("writing the result")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
