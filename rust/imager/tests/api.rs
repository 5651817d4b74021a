//! The Imager's API on SQLite with real components: kiwix-serve as the catalog, a local
//! download server, the SMTP sink. The worker side is driven over HTTP exactly as the
//! protocol says (claim, heartbeat, upload, fail), so these tests need no build.

mod support;

use nixspot_imager::accounts::{self, Role, TokenKind};
use nixspot_imager::server::Server;
use nixspot_testkit::catalog::ZIM_SHA256;
use nixspot_testkit::SmtpSink;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configurations_orders_jobs_downloads_isolation_and_mail() {
    let world = World::new().await;
    let smtp = tokio::task::spawn_blocking(SmtpSink::start)
        .await
        .expect("smtp sink");
    let mut settings = world.settings("data");
    settings.smtp = Some(smtp.url());
    let server = Server::start(settings).await.expect("the server starts");
    let alice = client(&server, "alice", Role::User, Some("alice@example.org")).await;
    let bob = client(&server, "bob", Role::User, None).await;
    let admin = client(&server, "root", Role::Admin, None).await;
    let worker = client(&server, "build-1", Role::Worker, None).await;

    // No token, or an expired one: 401.
    let (status, body) = Api::new(&server.url, None).get("/api/v1/orders").await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("Bearer"),
        "{body}"
    );
    let alice_user = accounts::find_user(&server.state.db, "alice")
        .await
        .unwrap()
        .unwrap();
    let expired = accounts::create_token(&server.state.db, &alice_user, TokenKind::Api, -1)
        .await
        .unwrap();
    let (status, body) = Api::new(&server.url, Some(&expired))
        .get("/api/v1/orders")
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = Api::new(&server.url, Some("not-a-token"))
        .get("/api/v1/orders")
        .await;
    assert_eq!(status, 401);

    // A browser session: log in with the password, use the cookie, log out.
    let anonymous = Api::new(&server.url, None);
    let (status, _) = anonymous
        .post(
            "/api/v1/session",
            json!({"name": "alice", "password": "wrong password"}),
        )
        .await;
    assert_eq!(status, 401);
    let login = anonymous
        .request(reqwest::Method::POST, "/api/v1/session")
        .json(&json!({"name": "alice", "password": "a long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let me = anonymous
        .request(reqwest::Method::GET, "/api/v1/me")
        .header("Cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["name"],
        json!("alice")
    );
    let secret = session.split_once('=').unwrap().1.to_string();
    let logout = Api::new(&server.url, Some(&secret))
        .response(reqwest::Method::DELETE, "/api/v1/session")
        .await;
    assert_eq!(logout.status().as_u16(), 204);
    let (status, _) = Api::new(&server.url, Some(&secret)).get("/api/v1/me").await;
    assert_eq!(status, 401, "a closed session is refused");

    // The catalog, searched by word, language and category.
    let (status, found) = alice
        .get("/api/v1/catalog?q=wikibooks&lang=bel&category=wikibooks")
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["entries"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        found["entries"][0]["package"],
        json!("wikibooks_be_all:nopic")
    );
    let (_, none) = alice.get("/api/v1/catalog?lang=fra").await;
    assert_eq!(none["entries"], json!([]), "{none}");

    // Refused configurations name the option.
    let refused = [
        (
            json!({"hotspot": {"zims": {"x": {"url": "file:///etc/passwd"}}}}),
            "hotspot.zims.x.url",
        ),
        (
            json!({"hotspot": {"zims": {"x": {"url": "https://example.org/x.zim"}}}}),
            "hotspot.zims.x.url",
        ),
        (
            json!({"hotspot": {"base": {"source": "my-own-base"}}}),
            "hotspot.base.source",
        ),
        (
            json!({"hotspot": {"base": {"source": "file:///srv/base.img"}}}),
            "hotspot.base.source",
        ),
        (
            json!({"hotspot": {"lockFile": "/etc/shadow"}}),
            "hotspot.lockFile",
        ),
    ];
    for (body, option) in refused {
        let (status, answer) = alice.post("/api/v1/configurations", body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert_eq!(answer["option"], json!(option), "{body} -> {answer}");
    }
    // The module system's own validation, with its option.
    let mut bad_ssid = school();
    bad_ssid["hotspot"]["ap"]["ssid"] = json!("this SSID is far longer than thirty-two bytes");
    let (status, answer) = alice.post("/api/v1/configurations", bad_ssid).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["option"], json!("hotspot.ap.ssid"), "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("32"), "{answer}");
    assert!(
        !answer["error"].as_str().unwrap().contains("/tmp"),
        "no host paths: {answer}"
    );
    // A package the catalog does not have.
    let mut unknown = school();
    unknown["hotspot"]["zims"]["wikibooks"]["package"] = json!("wikibooks_be_al:nopic");
    let (status, answer) = alice.post("/api/v1/configurations", unknown).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["option"],
        json!("hotspot.zims.wikibooks.package"),
        "{answer}"
    );

    // Logos: a small PNG is accepted (the module system takes it as a branding file);
    // SVG (script-capable) and mislabelled files are refused by option.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let mut branded = school();
    branded["hotspot"]["branding"] = json!({"horizontal-logo-light.png": {"base64": png}});
    let (status, answer) = alice.post("/api/v1/configurations", branded).await;
    assert_eq!(status, 201, "{answer}");
    let mut svg = school();
    svg["hotspot"]["branding"] = json!({"logo.svg": {"base64": "PHN2Zz48c2NyaXB0Lz48L3N2Zz4="}});
    let (status, answer) = alice.post("/api/v1/configurations", svg).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["option"],
        json!("hotspot.branding.\"logo.svg\".base64"),
        "{answer}"
    );

    // A valid configuration.
    let (status, created) = alice.post("/api/v1/configurations", school()).await;
    assert_eq!(status, 201, "{created}");
    let config = created["id"].as_str().unwrap().to_string();
    assert_eq!(config.len(), 32);
    let (status, got) = alice.get(&format!("/api/v1/configurations/{config}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["hotspot"], school()["hotspot"]);
    let module = alice
        .response(
            reqwest::Method::GET,
            &format!("/api/v1/configurations/{config}/module.nix"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        module.contains("package = \"wikibooks_be_all:nopic\";"),
        "{module}"
    );

    // Bob sees none of it: 404, as for an id that does not exist.
    for path in [
        format!("/api/v1/configurations/{config}"),
        format!("/api/v1/configurations/{config}/module.nix"),
        format!("/api/v1/configurations/{config}/lock.json"),
    ] {
        let (status, _) = bob.get(&path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = bob
        .post("/api/v1/orders", json!({"configuration": config}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = bob
        .put(&format!("/api/v1/configurations/{config}"), school())
        .await;
    assert_eq!(status, 404);
    let (_, list) = bob.get("/api/v1/configurations").await;
    assert_eq!(list["configurations"], json!([]));

    // An order freezes the module and its lock.
    let (status, ordered) = alice
        .post("/api/v1/orders", json!({"configuration": config}))
        .await;
    assert_eq!(status, 201, "{ordered}");
    let order = ordered["id"].as_str().unwrap().to_string();
    let (_, state) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(state["state"], json!("queued"), "{state}");
    assert_eq!(state["queue_position"], json!(0), "{state}");
    let (status, _) = bob.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(status, 404);
    let (_, lock) = alice
        .get(&format!("/api/v1/configurations/{config}/lock.json"))
        .await;
    assert_eq!(
        lock["packages"]["wikibooks_be_all:nopic"]["sha256"],
        json!(ZIM_SHA256),
        "{lock}"
    );

    // A user token cannot claim; the worker claims the job.
    let (status, _) = alice
        .post("/api/v1/worker/claim", json!({"worker": "w"}))
        .await;
    assert_eq!(status, 403);
    let (status, claimed) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    assert_eq!(status, 200, "{claimed}");
    let job = &claimed["job"];
    assert_eq!(job["order"], json!(order));
    assert_eq!(job["lease_seconds"], json!(30));
    assert_eq!(job["name"], json!("school-library"));
    assert_eq!(job["module"].as_str().unwrap(), module);
    assert_eq!(job["lock"], lock);
    let job_id = job["id"].as_str().unwrap().to_string();
    let (status, none) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w2"}))
        .await;
    assert_eq!(status, 204, "{none}");

    let (status, beat) = worker.heartbeat(&job_id, "fetch", Some(0.5)).await;
    assert_eq!(status, 200);
    assert_eq!(beat, json!({"lease_seconds": 30}));
    let (_, state) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(state["state"], json!("building"));
    assert_eq!(state["progress"], json!({"step": "fetch", "fraction": 0.5}));
    let (status, workers) = admin.get("/api/v1/workers").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = workers["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["w1", "w2"]);
    assert_eq!(workers["workers"][0]["current_job"], json!(order));
    let (status, _) = alice.get("/api/v1/workers").await;
    assert_eq!(status, 403);

    // Uploads are checked: a wrong sha256 or length is refused and nothing is kept.
    let image: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let digest = sha256(&image);
    let (status, answer) = worker.upload(&job_id, image.clone(), &"0".repeat(64)).await;
    assert_eq!(status, 422, "{answer}");
    let (_, state) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(state["state"], json!("building"));
    // A worker's sparse upload: a record changed on the way is refused by its checksum;
    // a worker of an older nixspot (records without checksums) is told to update.
    use nixspot_imager_worker::sparse;
    let sparse_upload = |content_type: &str, body: Vec<u8>| {
        worker
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/worker/jobs/{job_id}/image"),
            )
            .header("X-Image-Sha256", &digest)
            .header("Content-Type", content_type)
            .header(sparse::SIZE_HEADER, image.len())
            .body(body)
    };
    let mut corrupted = [&sparse::record_header(0, &image)[..], &image].concat();
    corrupted[500] ^= 1;
    let (status, answer) = worker
        .send(sparse_upload(sparse::CONTENT_TYPE, corrupted))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("CRC-32C"),
        "{answer}"
    );
    let (status, answer) = worker
        .send(sparse_upload(sparse::CONTENT_TYPE_FAMILY, Vec::new()))
        .await;
    assert_eq!(status, 415, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("update the worker"),
        "{answer}"
    );
    // Which chunks the server holds: asked by the worker holding the job only, with
    // well-formed digests; none before any sparse upload was stored.
    let chunks = format!("/api/v1/worker/jobs/{job_id}/chunks");
    let named = hex_of(&sparse::digest(&image));
    let (status, answer) = worker
        .post(&chunks, json!({"digests": [named, "not hex"]}))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].to_string().contains("digests[1]"),
        "{answer}"
    );
    let (status, answer) = worker.post(&chunks, json!({"digests": [named]})).await;
    assert_eq!(
        (status, answer["held"].clone()),
        (200, json!([])),
        "{answer}"
    );
    let (status, _) = alice.post(&chunks, json!({"digests": [named]})).await;
    assert_eq!(status, 403);
    let (status, _) = worker
        .post(
            "/api/v1/worker/jobs/no-such-job/chunks",
            json!({"digests": []}),
        )
        .await;
    assert_eq!(status, 409);
    let (_, state) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(state["state"], json!("building"));
    let (status, done) = worker.upload(&job_id, image.clone(), &digest).await;
    assert_eq!(status, 200, "{done}");
    let (_, state) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(state["state"], json!("ready"), "{state}");
    assert_eq!(state["sha256"], json!(digest));
    assert_eq!(state["size"], json!(image.len()));
    assert!(state["expires"].as_i64().unwrap() > nixspot_imager::now());
    let stored: Vec<_> = walk(&world.path("data/storage"));
    // The image's manifest and its chunks, nothing else.
    let manifests = stored
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".img.manifest"))
        .count();
    let chunks = world.path("data/storage/chunks");
    assert_eq!(manifests, 1, "one image is stored: {stored:?}");
    assert_eq!(
        stored.iter().filter(|p| !p.starts_with(&chunks)).count(),
        1,
        "only the image is stored: {stored:?}"
    );

    // Download, whole and by range; never by someone else.
    let path = format!("/api/v1/orders/{order}/image");
    let whole = alice.response(reqwest::Method::GET, &path).await;
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(whole.bytes().await.unwrap().to_vec(), image);
    let ranged = |range: String| {
        alice
            .request(reqwest::Method::GET, &path)
            .header("Range", range)
            .send()
    };
    let part = ranged("bytes=1000-1099".into()).await.unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 1000-1099/{}", image.len())
    );
    assert_eq!(
        part.bytes().await.unwrap().to_vec(),
        image[1000..1100].to_vec()
    );
    let tail = ranged("bytes=-10".into()).await.unwrap();
    assert_eq!(tail.status().as_u16(), 206);
    assert_eq!(
        tail.bytes().await.unwrap().to_vec(),
        image[image.len() - 10..]
    );
    let outside = ranged(format!("bytes={}-", image.len())).await.unwrap();
    assert_eq!(outside.status().as_u16(), 416);
    assert_eq!(
        outside.headers()["content-range"],
        format!("bytes */{}", image.len())
    );
    let (status, _) = bob.get(&path).await;
    assert_eq!(status, 404);

    // The ready e-mail has the link.
    let mails = tokio::task::spawn_blocking(move || (smtp.wait_for(1), smtp))
        .await
        .unwrap();
    let (messages, smtp) = mails;
    assert_eq!(messages[0].rcpt_tos, ["alice@example.org"]);
    assert!(messages[0].subject.contains("ready"), "{:?}", messages[0]);
    assert!(
        messages[0].body.contains(&format!("{}{path}", server.url)),
        "{}",
        messages[0].body
    );
    assert!(messages[0].body.contains(&digest));

    // The lease ended with the upload: the job is nobody's now.
    let (status, _) = worker.heartbeat(&job_id, "x", None).await;
    assert_eq!(status, 409);

    // A second order, cancelled by its owner while building: the worker gets 409.
    // Retried with the same Idempotency-Key, an order is made once.
    let idempotent = || {
        alice
            .request(reqwest::Method::POST, "/api/v1/orders")
            .header("Idempotency-Key", "order-2")
            .json(&json!({"configuration": config}))
    };
    let (status, second) = alice.send(idempotent()).await;
    assert_eq!(status, 201, "{second}");
    let (status, again) = alice.send(idempotent()).await;
    assert_eq!((status, &again["id"]), (200, &second["id"]));
    let second = second["id"].as_str().unwrap().to_string();
    let (_, claimed) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    let lease = claimed["job"]["id"].as_str().unwrap().to_string();
    let (status, _) = bob
        .post(&format!("/api/v1/orders/{second}/cancel"), json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = alice
        .post(&format!("/api/v1/orders/{second}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = worker.heartbeat(&lease, "assemble", Some(0.9)).await;
    assert_eq!(status, 409);
    let (status, _) = worker
        .upload(&lease, b"late".to_vec(), &sha256(b"late"))
        .await;
    assert_eq!(status, 409);
    let (_, state) = alice.get(&format!("/api/v1/orders/{second}")).await;
    assert_eq!(state["state"], json!("failed"));
    assert_eq!(state["error"], json!("cancelled by alice"));
    let messages = tokio::task::spawn_blocking(move || smtp.wait_for(2))
        .await
        .unwrap();
    assert!(messages[1].subject.contains("failed"), "{:?}", messages[1]);
    assert!(messages[1].body.contains("cancelled by alice"));

    // Retry is for administrators; the order is queued again and a worker reports a failure.
    let (status, _) = alice
        .post(&format!("/api/v1/orders/{second}/retry"), json!({}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = admin
        .post(&format!("/api/v1/orders/{second}/retry"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, claimed) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    assert_eq!(claimed["job"]["order"], json!(second));
    let lease = claimed["job"]["id"].as_str().unwrap().to_string();
    let (status, _) = worker
        .post(
            &format!("/api/v1/worker/jobs/{lease}/fail"),
            json!({"error": "no space left"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, state) = alice.get(&format!("/api/v1/orders/{second}")).await;
    assert_eq!(
        (state["state"].clone(), state["error"].clone()),
        (json!("failed"), json!("no space left"))
    );

    // Images expire: the sweeper deletes the file and the order says so.
    sqlx::query("UPDATE orders SET expires = 0 WHERE id = $1")
        .bind(&order)
        .execute(&server.state.db.pool)
        .await
        .unwrap();
    server.state.sweep().await.expect("sweep");
    let (_, state) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(state["state"], json!("expired"));
    assert!(walk(&world.path("data/storage")).is_empty());
    let (status, _) = alice.get(&path).await;
    assert_eq!(status, 409);

    // The admin sees every order; Bob none; deleting a configuration keeps its orders.
    let (_, all) = admin.get("/api/v1/orders").await;
    assert_eq!(all["orders"].as_array().unwrap().len(), 2);
    let (_, none) = bob.get("/api/v1/orders").await;
    assert_eq!(none["orders"], json!([]));
    let deleted = alice
        .response(
            reqwest::Method::DELETE,
            &format!("/api/v1/configurations/{config}"),
        )
        .await;
    assert_eq!(deleted.status().as_u16(), 204);
    let (status, _) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_survive_a_server_restart_and_lapsed_ones_end_in_failure() {
    let world = World::new().await;
    let server = Server::start(world.settings("data")).await.expect("start");
    let alice = client(&server, "alice", Role::User, None).await;
    let worker = client(&server, "build-1", Role::Worker, None).await;
    let (status, created) = alice.post("/api/v1/configurations", school()).await;
    assert_eq!(status, 201, "{created}");
    let config = created["id"].as_str().unwrap().to_string();
    let (_, first) = alice
        .post("/api/v1/orders", json!({"configuration": config}))
        .await;
    let first = first["id"].as_str().unwrap().to_string();
    let (_, claimed) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    let lease = claimed["job"]["id"].as_str().unwrap().to_string();

    // The server restarts mid-build (another port, same data): the lease carries over.
    server.shutdown().await;
    let server = Server::start(world.settings("data"))
        .await
        .expect("restart");
    let worker = worker.at(&server.url);
    let alice = alice.at(&server.url);
    let (status, _) = worker.heartbeat(&lease, "assemble", Some(0.2)).await;
    assert_eq!(status, 200);
    let (status, _) = worker
        .upload(&lease, b"image".to_vec(), &sha256(b"image"))
        .await;
    assert_eq!(status, 200);
    let (_, state) = alice.get(&format!("/api/v1/orders/{first}")).await;
    assert_eq!(state["state"], json!("ready"));

    // A worker that stops renewing: its job is claimed again (attempt 2, 3), the old
    // lease is refused, and after the third lapse the order fails with a reason.
    let (_, second) = alice
        .post("/api/v1/orders", json!({"configuration": config}))
        .await;
    let second = second["id"].as_str().unwrap().to_string();
    let mut old: Option<String> = None;
    for attempt in 1..=3 {
        let (status, claimed) = worker
            .post("/api/v1/worker/claim", json!({"worker": "w1"}))
            .await;
        assert_eq!(status, 200, "attempt {attempt}: {claimed}");
        assert_eq!(claimed["job"]["order"], json!(second));
        let (_, state) = alice.get(&format!("/api/v1/orders/{second}")).await;
        assert_eq!(state["attempts"], json!(attempt));
        if let Some(old) = &old {
            let (status, _) = worker.heartbeat(old, "x", None).await;
            assert_eq!(
                status, 409,
                "a lapsed and re-claimed lease is not held any more"
            );
        }
        old = claimed["job"]["id"].as_str().map(str::to_string);
        // The lease lapses (set in the database rather than waited for).
        sqlx::query("UPDATE orders SET lease_until = 0 WHERE id = $1")
            .bind(&second)
            .execute(&server.state.db.pool)
            .await
            .unwrap();
    }
    let (status, _) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    assert_eq!(status, 204);
    let (_, state) = alice.get(&format!("/api/v1/orders/{second}")).await;
    assert_eq!(state["state"], json!("failed"), "{state}");
    assert!(
        state["error"].as_str().unwrap().contains("3 times"),
        "{state}"
    );
    server.shutdown().await;
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_and_lock_json_within_the_hour_reuse_the_configurations_lock_and_a_saved_change_forgets_it(
) {
    let world = World::new().await;
    let server = Server::start(world.settings("data")).await.expect("start");
    let alice = client(&server, "alice", Role::User, None).await;
    let (status, created) = alice.post("/api/v1/configurations", school()).await;
    assert_eq!(status, 201, "{created}");
    let config = created["id"].as_str().unwrap().to_string();
    let pool = &server.state.db.pool;
    // When the configuration's lock was computed, after moving it `back` seconds back.
    let age_lock = |back: i64| {
        let config = config.clone();
        async move {
            sqlx::query("UPDATE configurations SET locked = locked - $1 WHERE id = $2")
                .bind(back)
                .bind(&config)
                .execute(pool)
                .await
                .expect("aging the lock");
            let row = sqlx::query("SELECT locked FROM configurations WHERE id = $1")
                .bind(&config)
                .fetch_one(pool)
                .await
                .expect("the configuration");
            sqlx::Row::try_get::<Option<i64>, _>(&row, "locked").expect("locked")
        }
    };
    let order = || alice.post("/api/v1/orders", json!({"configuration": config}));
    let (status, first) = order().await;
    assert_eq!(status, 201, "{first}");

    // Ordered again within the hour: the lock is the first order's (not computed again).
    let aged = age_lock(600).await.expect("a lock time");
    let (status, second) = order().await;
    assert_eq!(status, 201, "{second}");
    assert_ne!(first["id"], second["id"]);
    assert_eq!(age_lock(0).await, Some(aged));

    // Past the hour, the next order computes it again.
    let aged = age_lock(3600).await.expect("a lock time");
    let (status, _) = order().await;
    assert_eq!(status, 201);
    let recomputed = age_lock(0).await.expect("a lock time");
    assert!(recomputed >= aged + 3600, "{recomputed} vs {aged}");

    // The configuration's lock.json follows the same rule: what an order would freeze.
    let lock_path = format!("/api/v1/configurations/{config}/lock.json");
    let lock_json = || alice.get(&lock_path);
    let aged = age_lock(600).await.expect("a lock time");
    let (status, _) = lock_json().await;
    assert_eq!(status, 200);
    assert_eq!(age_lock(0).await, Some(aged), "the lock of the hour");
    let aged = age_lock(3600).await.expect("a lock time");
    let (status, _) = lock_json().await;
    assert_eq!(status, 200);
    let recomputed = age_lock(0).await.expect("a lock time");
    assert!(recomputed >= aged + 3600, "{recomputed} vs {aged}");

    // Saving the configuration forgets its lock.
    let (status, body) = alice
        .put(&format!("/api/v1/configurations/{config}"), school())
        .await;
    assert!(status < 300, "{status} {body}");
    assert_eq!(age_lock(0).await, None);
    server.shutdown().await;
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
