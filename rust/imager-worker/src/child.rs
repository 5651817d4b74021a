//! Short-lived child processes with limits, for evaluations of modules that users wrote
//! (through the Imager's forms): the server validates configurations in one
//! (`nixspot imager evaluate`), a worker evaluates each job's module in one
//! (`nixspot imager evaluate-job`).
//!
//! Why a child: the evaluator keeps what values that refer to each other in cycles hold
//! (reference counting never frees them: about 2 MiB per hotspot evaluation, measured in
//! BENCHMARKS.md), and a long-running process that evaluates in its own address space
//! shares its fate with the worst input. A child returns all its memory when it exits,
//! and its limits turn a runaway evaluation into an error naming them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;

/// Bounds on one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Address space, in bytes (`RLIMIT_AS`).
    pub memory: u64,
    /// CPU time, in seconds (`RLIMIT_CPU`).
    pub cpu_seconds: u64,
    /// Wall time, in seconds, after which the parent kills the child (pinning asks the
    /// catalog over the network, which CPU time does not bound).
    pub wall_seconds: u64,
}

impl Default for Limits {
    /// 4 GiB of address space (a hotspot's evaluation peaks near 100 MiB of memory, and
    /// the address space also counts the program's mappings and threads' stacks), two
    /// minutes of CPU (a big hotspot evaluates in about a second), five minutes in all.
    fn default() -> Self {
        Limits {
            memory: 4 << 30,
            cpu_seconds: 120,
            wall_seconds: 300,
        }
    }
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} MiB of memory, {} s of CPU, {} s in all",
            self.memory >> 20,
            self.cpu_seconds,
            self.wall_seconds
        )
    }
}

/// A program run once per task, as a child process with [`Limits`]: it reads its task
/// on standard input, calls [`limit_self`] and answers on standard output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The program (`nixspot`).
    pub program: PathBuf,
    /// Its arguments (`imager evaluate`).
    pub args: Vec<OsString>,
    /// Its limits (the parent enforces the wall time; the child sets the others on
    /// itself).
    pub limits: Limits,
}

/// Why a child gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// The program could not be started.
    #[error("starting {program}: {error}")]
    Start {
        /// The program.
        program: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Waiting for it failed.
    #[error("waiting for {program}: {error}")]
    Wait {
        /// The program.
        program: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// It ran past its wall time and was killed.
    #[error("it ran out of time")]
    OutOfTime,
    /// A signal stopped it: its CPU limit (SIGXCPU, then SIGKILL), or its memory limit
    /// (an allocation refused aborts it, a stack that cannot grow faults).
    #[error("it was stopped by signal {signal} ({stderr})")]
    Stopped {
        /// The signal.
        signal: i32,
        /// The last lines it wrote on standard error.
        stderr: String,
    },
    /// It exited unsuccessfully.
    #[error("it exited with {status}: {stderr}")]
    Failed {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The last lines it wrote on standard error.
        stderr: String,
    },
}

impl ChildError {
    /// Whether the child went past its limits (the task's fault, not the program's).
    pub fn over_limits(&self) -> bool {
        matches!(self, ChildError::OutOfTime | ChildError::Stopped { .. })
    }
}

impl Child {
    /// `args` of the running program, default limits. The program is
    /// `/proc/self/exe`, the running binary itself, which stays the same file when its
    /// path is replaced while a long-running server or worker runs (an upgrade, a
    /// rebuild).
    pub fn of_running_program(args: &[&str]) -> std::io::Result<Child> {
        let running = PathBuf::from("/proc/self/exe");
        let program = if running.exists() {
            running
        } else {
            std::env::current_exe()?
        };
        Ok(Child {
            program,
            args: args.iter().map(OsString::from).collect(),
            limits: Limits::default(),
        })
    }

    /// Runs the program with `input` on its standard input; its standard output when
    /// it exits successfully. Dropping the future kills the child.
    pub async fn run(&self, input: &[u8]) -> Result<Vec<u8>, ChildError> {
        let mut child = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| ChildError::Start {
                program: self.program.clone(),
                error,
            })?;
        let mut stdin = child.stdin.take();
        let talk = async move {
            if let Some(stdin) = stdin.as_mut() {
                // A child that died early shows up in its exit status below.
                let _ = stdin.write_all(input).await;
            }
            drop(stdin);
            child.wait_with_output().await
        };
        let wall = Duration::from_secs(self.limits.wall_seconds);
        let output = match tokio::time::timeout(wall, talk).await {
            Ok(output) => output.map_err(|error| ChildError::Wait {
                program: self.program.clone(),
                error,
            })?,
            // `kill_on_drop`: the child went with the future.
            Err(_) => return Err(ChildError::OutOfTime),
        };
        if output.status.success() {
            return Ok(output.stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        let stderr = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        let stderr = stderr.trim().to_string();
        use std::os::unix::process::ExitStatusExt as _;
        Err(match output.status.signal() {
            Some(signal) => ChildError::Stopped { signal, stderr },
            None => ChildError::Failed {
                status: output.status,
                stderr,
            },
        })
    }
}

/// The child's side of a task: reads the request as JSON on standard input, sets the
/// limits it names ([`limit_self`]) before anything else, and writes `answer(request)`
/// as JSON on standard output.
pub fn serve<Request: serde::de::DeserializeOwned, Answer: Serialize>(
    limits_of: impl FnOnce(&Request) -> Limits,
    answer: impl FnOnce(Request) -> Answer,
) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    let invalid = |e| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let request: Request = serde_json::from_slice(&input).map_err(invalid)?;
    limit_self(&limits_of(&request))?;
    let out = serde_json::to_vec(&answer(request)).map_err(invalid)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()
}

/// The child's side: sets `limits` on this process (memory and CPU time; the parent
/// enforces the wall time).
pub fn limit_self(limits: &Limits) -> std::io::Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    let set = |resource, soft: u64, hard: u64| {
        setrlimit(
            resource,
            Rlimit {
                current: Some(soft),
                maximum: Some(hard),
            },
        )
        .map_err(std::io::Error::from)
    };
    set(Resource::As, limits.memory, limits.memory)?;
    // SIGXCPU at the soft limit, SIGKILL a second later if it is ignored.
    set(Resource::Cpu, limits.cpu_seconds, limits.cpu_seconds + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c script` as a child.
    fn shell(script: &str, wall_seconds: u64) -> Child {
        Child {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            limits: Limits {
                wall_seconds,
                ..Limits::default()
            },
        }
    }

    #[tokio::test]
    async fn the_answer_is_what_the_child_writes_after_reading_its_input() {
        let echo = shell("tr a-z A-Z", 60);
        assert_eq!(echo.run(b"task").await.unwrap(), b"TASK");
    }

    #[tokio::test]
    async fn limits_and_failures_are_told_apart() {
        // As the kernel stops a child past RLIMIT_CPU.
        let e = shell("echo 'still going' >&2; kill -s XCPU $$", 60)
            .run(b"")
            .await
            .unwrap_err();
        assert!(e.over_limits(), "{e}");
        assert!(e.to_string().contains("still going"), "{e}");
        // Past the wall time: killed, and the answer comes without waiting for it.
        let started = std::time::Instant::now();
        let e = shell("exec sleep 600", 1).run(b"").await.unwrap_err();
        assert!(matches!(e, ChildError::OutOfTime), "{e}");
        assert!(started.elapsed() < Duration::from_secs(600));
        // A failure of the program itself.
        let e = shell("echo 'no such thing' >&2; exit 3", 60)
            .run(b"")
            .await
            .unwrap_err();
        assert!(!e.over_limits(), "{e}");
        assert!(e.to_string().contains("no such thing"), "{e}");
        let missing = Child {
            program: "/nonexistent/nixspot".into(),
            args: Vec::new(),
            limits: Limits::default(),
        };
        let e = missing.run(b"").await.unwrap_err();
        assert!(e.to_string().contains("/nonexistent/nixspot"), "{e}");
    }
}
