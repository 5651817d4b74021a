//! Where configurations are evaluated: the module of a configuration, with its catalog
//! packages pinned, validated or locked — by default in a short-lived child process
//! (`nixspot imager evaluate`) with limits on its memory and CPU time, for the reasons
//! [`nixspot_imager_worker::child`] gives.

use axum::http::StatusCode;
use nixspot_imager_worker::child::{Child, ChildError};
use serde::{Deserialize, Serialize};

use crate::config::{self, Scratch};
use crate::error::ApiError;
use crate::lock::Pinning;

/// What to do with a configuration's module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Pin its catalog packages and evaluate it: is it a hotspot the modules accept?
    Validate,
    /// Compute its full lock (the text `nixspot lock` writes), then evaluate it with it.
    Lock,
}

pub use nixspot_imager_worker::child::Limits;

/// One evaluation: what the server sends the child on its standard input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// What to do.
    pub task: Task,
    /// The configuration's module (`config::module_text`).
    pub module: String,
    /// Modules, catalog and content cache.
    pub pinning: Pinning,
    /// The child's limits (it sets them on itself before evaluating).
    pub limits: Limits,
}

/// What a task gives: the lock's text for [`Task::Lock`], `None` for [`Task::Validate`].
pub type Answer = Result<Option<String>, ApiError>;

/// The child's answer on its standard output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Wire {
    Ok(Option<String>),
    Error {
        status: u16,
        message: String,
        option: Option<String>,
    },
}

impl From<Answer> for Wire {
    fn from(answer: Answer) -> Self {
        match answer {
            Ok(text) => Wire::Ok(text),
            Err(e) => Wire::Error {
                status: e.status.as_u16(),
                message: e.message,
                option: e.option,
            },
        }
    }
}

impl From<Wire> for Answer {
    fn from(wire: Wire) -> Self {
        match wire {
            Wire::Ok(text) => Ok(text),
            Wire::Error {
                status,
                message,
                option,
            } => Err(ApiError {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                message,
                option,
            }),
        }
    }
}

/// Runs `request` in this process (what the child does).
pub fn run(request: &Request) -> Answer {
    let scratch = Scratch::new(&request.module, None)?;
    let pinning = &request.pinning;
    let lock = match request.task {
        Task::Validate => {
            crate::lock::lock_packages(pinning, &scratch.module(), &scratch.lock())
                .map_err(|e| lock_error(&scratch, pinning, &e))?;
            None
        }
        Task::Lock => {
            let lock = crate::lock::lock_module(pinning, &scratch.module(), &scratch.lock())
                .map_err(|e| lock_error(&scratch, pinning, &e))?;
            Some(lock.to_json_string())
        }
    };
    // A lock must also make the module evaluate (e.g. an SD card too small).
    config::evaluate(&scratch, &pinning.modules)?;
    Ok(lock)
}

fn lock_error(scratch: &Scratch, pinning: &Pinning, e: &crate::lock::LockError) -> ApiError {
    let message = scratch.scrub(&e.to_string(), &pinning.modules);
    if e.catalog_unavailable() {
        let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message);
        error.option = config::option_in(&error.message);
        return error;
    }
    ApiError::invalid(config::option_in(&message), message)
}

/// How the server evaluates configurations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluator {
    /// In the server's own process, on a blocking thread (the library's tests, which
    /// have no `nixspot` program to run).
    InProcess,
    /// In a child process (`nixspot imager evaluate`) that runs [`serve_child`].
    Child(Child),
}

impl Evaluator {
    /// `nixspot imager evaluate` of the running `nixspot` program, default limits
    /// ([`Child::of_running_program`]).
    pub fn current_program() -> std::io::Result<Evaluator> {
        Child::of_running_program(&["imager", "evaluate"]).map(Evaluator::Child)
    }

    /// Does `task` on `module`.
    pub async fn evaluate(&self, task: Task, module: String, pinning: Pinning) -> Answer {
        match self {
            Evaluator::InProcess => {
                let request = Request {
                    task,
                    module,
                    pinning,
                    limits: Limits::default(),
                };
                tokio::task::spawn_blocking(move || run(&request))
                    .await
                    .map_err(|e| ApiError::internal(format!("evaluation task: {e}")))?
            }
            Evaluator::Child(child) => {
                let request = Request {
                    task,
                    module,
                    pinning,
                    limits: child.limits,
                };
                in_child(child, &request).await
            }
        }
    }
}

async fn in_child(child: &Child, request: &Request) -> Answer {
    let input = serde_json::to_vec(request)
        .map_err(|e| ApiError::internal(format!("evaluation request: {e}")))?;
    let stdout = child.run(&input).await.map_err(|e| match e {
        e if e.over_limits() => over_limits(&child.limits, &e.to_string()),
        e @ (ChildError::Start { .. } | ChildError::Wait { .. }) => {
            ApiError::internal(e.to_string())
        }
        e => ApiError::internal(format!("the evaluation failed: {e}")),
    })?;
    match serde_json::from_slice::<Wire>(&stdout) {
        Ok(wire) => wire.into(),
        Err(e) => Err(ApiError::internal(format!(
            "the evaluation's answer: {e} ({} bytes)",
            stdout.len()
        ))),
    }
}

/// 422: evaluating the configuration went past the evaluation's limits.
fn over_limits(limits: &Limits, how: &str) -> ApiError {
    ApiError::invalid(
        None,
        format!("evaluating the configuration went past its limits ({limits}): {how}"),
    )
}

/// The child's side (`nixspot imager evaluate`): reads a [`Request`] on standard input,
/// limits itself as it says, runs it, and writes the answer as JSON on standard output.
pub fn serve_child() -> std::io::Result<()> {
    nixspot_imager_worker::child::serve(
        |request: &Request| request.limits,
        |request| Wire::from(run(&request)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_cross_the_pipe_unchanged() {
        let answers: [Answer; 3] = [
            Ok(None),
            Ok(Some("{\"lock\": 1}".into())),
            Err(ApiError::invalid(
                Some("hotspot.ap.ssid".into()),
                "hotspot.ap.ssid: too long",
            )),
        ];
        for answer in answers {
            let text = serde_json::to_string(&Wire::from(answer.clone())).unwrap();
            let back: Answer = serde_json::from_str::<Wire>(&text).unwrap().into();
            assert_eq!(back, answer, "{text}");
        }
    }

    /// An evaluator whose child is `sh -c script`.
    fn shell(script: &str, wall_seconds: u64) -> Evaluator {
        Evaluator::Child(Child {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            limits: Limits {
                wall_seconds,
                ..Limits::default()
            },
        })
    }

    fn pinning() -> Pinning {
        Pinning {
            modules: "/nonexistent/modules".into(),
            catalog: "http://127.0.0.1:9".into(),
            cache_root: "/nonexistent/cache".into(),
        }
    }

    async fn answer_of(evaluator: &Evaluator) -> Answer {
        evaluator
            .evaluate(Task::Validate, "{ }".into(), pinning())
            .await
    }

    #[tokio::test]
    async fn the_childs_answer_is_the_answer() {
        let ok = shell("cat >/dev/null; printf '{\"ok\":\"LOCK\"}'", 60);
        assert_eq!(answer_of(&ok).await, Ok(Some("LOCK".into())));
        let refused = shell(
            "cat >/dev/null; printf '{\"error\":{\"status\":422,\"message\":\"m\",\"option\":\"hotspot.name\"}}'",
            60,
        );
        let e = answer_of(&refused).await.unwrap_err();
        assert_eq!(
            (e.status, e.option.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("hotspot.name"))
        );
    }

    #[tokio::test]
    async fn a_child_stopped_by_its_limits_is_the_configurations_fault_and_says_so() {
        // As the kernel stops a child past RLIMIT_CPU.
        let cpu = shell("echo 'still going' >&2; kill -s XCPU $$", 60);
        let e = answer_of(&cpu).await.unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(e.message.contains("past its limits"), "{e}");
        assert!(e.message.contains("still going"), "{e}");
        // Past the wall time: killed, and the answer comes without waiting for it.
        let slow = shell("exec sleep 600", 1);
        let e = answer_of(&slow).await.unwrap_err();
        assert!(e.message.contains("ran out of time"), "{e}");
    }

    #[tokio::test]
    async fn a_broken_child_is_the_servers_fault() {
        for script in ["echo 'no such thing' >&2; exit 3", "printf 'not json'"] {
            let e = answer_of(&shell(script, 60)).await.unwrap_err();
            assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR, "{script}: {e}");
        }
        let missing = Evaluator::Child(Child {
            program: "/nonexistent/nixspot".into(),
            args: Vec::new(),
            limits: Limits::default(),
        });
        let e = answer_of(&missing).await.unwrap_err();
        assert!(e.message.contains("/nonexistent/nixspot"), "{e}");
    }
}
