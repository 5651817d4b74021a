//! `nixspot imager serve` end to end: users and tokens made with the command line, a
//! configuration of a catalog ZIM (a real kiwix-serve catalog, downloads from a local
//! server) ordered through the API, built by the embedded worker, downloaded — and the
//! image is byte-identical to `nixspot build` of the configuration's exported
//! `module.nix` and `lock.json`.

mod support;

use nixspot_testkit::catalog::{Book, ZIM};
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use support::*;

/// The server process, killed when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `curl` with a bearer token: (status, body).
fn curl(
    token: &str,
    method: &str,
    url: &str,
    body: Option<&str>,
    out: Option<&Path>,
) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .args(["-w", "\n%{http_code}"]);
    if let Some(body) = body {
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ]);
    }
    if let Some(out) = out {
        cmd.arg("-o").arg(out);
    }
    let output = cmd
        .arg(url)
        .output()
        .expect("curl is required (apt-get install curl)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn an_order_is_built_by_the_embedded_worker_as_nixspot_build_builds_its_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    // Downloads (the ZIM with its .sha256, no .meta4) and the catalog pointing at them.
    let zim = std::fs::read(ZIM).expect("fixture ZIM");
    let book = Book {
        meta4: false,
        favicon: true,
    };
    book.write_downloads(&work.join("srv"));
    let downloads = HttpServer::serve_dir(&work.join("srv"));
    let library = book.write_library(&work.join("lib"), &downloads.base);
    let catalog = nixspot_testkit::KiwixServe::start(&library);
    // One content cache for the service and for `nixspot build`, holding the base.
    let cache = work.join("cache");
    seed_base_debs(&cache);
    let data = work.join("data");

    // Accounts from the command line.
    let mut add = nixspot()
        .args([
            "imager",
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--email",
            "alice@example.org",
            "--data-dir",
        ])
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nixspot imager user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse battery\n")
        .expect("password");
    let out = add.wait_with_output().expect("user add");
    assert!(out.status.success(), "user add:\n{}", text(&out));
    let out = run(nixspot()
        .args([
            "imager",
            "token",
            "create",
            "--user",
            "alice",
            "--ttl",
            "1d",
            "--data-dir",
        ])
        .arg(&data));
    assert!(out.status.success(), "token create:\n{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout
        .lines()
        .last()
        .expect("the token on the last line")
        .trim()
        .to_string();
    assert_eq!(token.len(), 64, "{stdout}");

    // The service with one embedded worker.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(work.join("serve.log")).expect("log");
    let _serve = Serve(
        nixspot()
            .args(["imager", "serve", "--data-dir"])
            .arg(&data)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--catalog",
                &catalog.url,
                "--cache-dir",
            ])
            .arg(&cache)
            .env("SOURCE_DATE_EPOCH", "0")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nixspot imager serve"),
    );
    let serve_log = || std::fs::read_to_string(work.join("serve.log")).unwrap_or_default();
    let mut up = false;
    for _ in 0..600 {
        if curl(&token, "GET", &format!("{base}/api/v1/health"), None, None).0 == 200 {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "the server did not come up:\n{}", serve_log());

    let configuration = serde_json::json!({"hotspot": {
        "name": "School Library", "domain": "library", "ap": {"ssid": "School Library"},
        "base": {"source": "nixspot:base"},
        "zims": {"wikibooks": {"package": "wikibooks_be_all:nopic"}},
    }});
    let (status, body) = curl(
        &token,
        "POST",
        &format!("{base}/api/v1/configurations"),
        Some(&configuration.to_string()),
        None,
    );
    assert_eq!(status, 201, "{body}\n{}", serve_log());
    let config = json(&body)["id"].as_str().expect("id").to_string();
    let order_body = serde_json::json!({ "configuration": config }).to_string();
    let (status, body) = curl(
        &token,
        "POST",
        &format!("{base}/api/v1/orders"),
        Some(&order_body),
        None,
    );
    assert_eq!(status, 201, "{body}\n{}", serve_log());
    let order = json(&body)["id"].as_str().expect("id").to_string();

    // Wait for the order to end (the limit only keeps a broken build from hanging).
    let mut state = serde_json::Value::Null;
    let mut steps = Vec::new();
    for _ in 0..3000 {
        let (status, body) = curl(
            &token,
            "GET",
            &format!("{base}/api/v1/orders/{order}"),
            None,
            None,
        );
        assert_eq!(status, 200, "{body}");
        state = json(&body);
        if let Some(step) = state["progress"]["step"].as_str() {
            if steps.last().map(String::as_str) != Some(step) {
                steps.push(step.to_string());
            }
        }
        if state["state"] == "ready" || state["state"] == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(state["state"], "ready", "{state}\n{}", serve_log());

    // The image, and the build of its export by the command line.
    let served = work.join("served.img");
    let (status, _) = curl(
        &token,
        "GET",
        &format!("{base}/api/v1/orders/{order}/image"),
        None,
        Some(&served),
    );
    assert_eq!(status, 200);
    assert_eq!(
        sha256_file(&served),
        state["sha256"].as_str().expect("sha256")
    );
    assert_eq!(
        std::fs::metadata(&served).expect("image").len(),
        state["size"].as_u64().expect("size")
    );
    let export = work.join("export");
    std::fs::create_dir_all(&export).expect("mkdir");
    for (file, path) in [
        ("module.nix", "module.nix"),
        ("module.lock.json", "lock.json"),
    ] {
        let (status, _) = curl(
            &token,
            "GET",
            &format!("{base}/api/v1/configurations/{config}/{path}"),
            None,
            Some(&export.join(file)),
        );
        assert_eq!(status, 200, "{path}");
    }
    let built = work.join("cli.img");
    let out = run(nixspot()
        .arg("build")
        .arg(export.join("module.nix"))
        .arg("--lock")
        .arg(export.join("module.lock.json"))
        .args(["--locked", "--quiet", "--cache-dir"])
        .arg(&cache)
        .arg("-o")
        .arg(&built)
        .env("SOURCE_DATE_EPOCH", "0"));
    assert!(
        out.status.success(),
        "nixspot build of the export:\n{}",
        text(&out)
    );
    assert_eq!(
        sha256_file(&built),
        sha256_file(&served),
        "the order's image is byte-identical to nixspot build of its exported module and lock"
    );
    // The image holds the catalog's ZIM (named after its publisher, name and flavour).
    let parts = sfdisk_partitions(&served);
    let zim_in_image = debugfs_cat(
        &served,
        parts[2].start,
        "/contents/zims/Kiwix_wikibooks_be_all_nopic.zim",
    );
    assert!(
        zim_in_image == zim,
        "the ZIM in the image differs from the catalog's ({} bytes, expected {})",
        zim_in_image.len(),
        zim.len()
    );
}

/// `nixspot imager evaluate` (the server's evaluation child) given `request` on its
/// standard input: its output.
fn evaluate_child(request: &nixspot_imager::evaluator::Request) -> std::process::Output {
    run_child("evaluate", &serde_json::to_vec(request).expect("request"))
}

/// `nixspot imager SUBCOMMAND` given `input` on its standard input: its output.
fn run_child(subcommand: &str, input: &[u8]) -> std::process::Output {
    let mut child = nixspot()
        .args(["imager", subcommand])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nixspot imager evaluate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("request to the child");
    child.wait_with_output().expect("nixspot imager evaluate")
}

#[test]
fn a_workers_evaluation_child_answers_the_recipe_of_nixspot_build_and_keeps_to_its_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../modules");
    let module = nixspot_imager::config::module_text(&serde_json::json!({
        "hotspot": {"name": "School", "ap": {"ssid": "School"}}
    }));
    std::fs::write(dir.path().join("module.nix"), &module).expect("module");
    let request = |memory: u64| {
        serde_json::to_vec(&serde_json::json!({
            "dir": dir.path(),
            "modules": modules,
            "limits": {"memory": memory, "cpu_seconds": 120, "wall_seconds": 300},
        }))
        .expect("request")
    };
    let out = run_child("evaluate-job", &request(4 << 30));
    assert!(out.status.success(), "{}", text(&out));
    let answer = json(&String::from_utf8_lossy(&out.stdout));
    // The recipe `nixspot build` evaluates from the same module.
    let out = run(nixspot()
        .arg("manifest")
        .arg(dir.path().join("module.nix"))
        .arg("--modules")
        .arg(&modules)
        .arg("--json"));
    assert!(out.status.success(), "{}", text(&out));
    let typed = |json: &str| {
        nixspot_recipe::Recipe::from_json_str(json, "recipe")
            .expect("a recipe")
            .to_json()
    };
    assert_eq!(
        typed(&answer["recipe"].to_string()),
        typed(&String::from_utf8_lossy(&out.stdout)),
        "the child's recipe differs from `nixspot manifest`'s"
    );

    // A module that does not evaluate: the module system's message, not a crash.
    std::fs::write(
        dir.path().join("module.nix"),
        module.replace("\"School\"", "\"S\" + 1"),
    )
    .expect("module");
    let out = run_child("evaluate-job", &request(4 << 30));
    assert!(out.status.success(), "{}", text(&out));
    let answer = json(&String::from_utf8_lossy(&out.stdout));
    assert!(answer["error"].is_string(), "{answer}");

    // Under a memory limit the evaluation cannot live with, the child stops instead of
    // answering: the limit is set on the child itself.
    std::fs::write(dir.path().join("module.nix"), &module).expect("module");
    let out = run_child("evaluate-job", &request(24 << 20));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
}

#[test]
fn the_evaluation_child_answers_with_the_module_systems_errors_and_keeps_to_its_limits() {
    use nixspot_imager::evaluator::{Limits, Request, Task};
    let dir = tempfile::tempdir().expect("tempdir");
    let request = |hotspot: serde_json::Value, limits: Limits| Request {
        task: Task::Validate,
        module: nixspot_imager::config::module_text(&serde_json::json!({ "hotspot": hotspot })),
        pinning: nixspot_imager::lock::Pinning {
            modules: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../modules"),
            // No catalog content: the catalog is never asked.
            catalog: "http://127.0.0.1:9".into(),
            cache_root: dir.path().join("cache"),
        },
        limits,
    };
    let school = serde_json::json!({"name": "School", "ap": {"ssid": "School"}});
    let out = evaluate_child(&request(school.clone(), Limits::default()));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        json(&String::from_utf8_lossy(&out.stdout)),
        serde_json::json!({"ok": null})
    );

    // The module system's error, naming its option.
    let long_ssid = serde_json::json!({"name": "School", "ap": {"ssid": "S".repeat(40)}});
    let out = evaluate_child(&request(long_ssid, Limits::default()));
    assert!(out.status.success(), "{}", text(&out));
    let answer = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(answer["error"]["status"], 422, "{answer}");
    assert_eq!(answer["error"]["option"], "hotspot.ap.ssid", "{answer}");

    // Under a memory limit the evaluation cannot live with, the child stops instead of
    // answering (the server turns that into an error naming the limits): the limit is
    // set on the child itself.
    let tight = Limits {
        memory: 24 << 20,
        ..Limits::default()
    };
    let out = evaluate_child(&request(school, tight));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
}
