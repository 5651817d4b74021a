//! The Imager on a real PostgreSQL (a throwaway cluster) and a real S3-compatible store
//! (moto): the queue under concurrent claimers, the database going away and coming
//! back, uploads into the bucket and presigned download links, expiry deleting objects.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use nixspot_imager::accounts::Role;
use nixspot_imager::queue;
use nixspot_imager::server::Server;
use nixspot_testkit::{Postgres, S3};
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_jobs_two_claimers_none_lost_none_twice_and_the_database_comes_back() {
    let world = World::new().await;
    let pg = tokio::task::spawn_blocking(Postgres::start)
        .await
        .expect("postgres");
    let mut settings = world.settings("data");
    settings.database = Some(pg.url());
    let server = Server::start(settings)
        .await
        .expect("the server starts on PostgreSQL");
    let (alice, alice_token) = user(&server, "alice", Role::User, None).await;
    let db = server.state.db.clone();

    // Many queued jobs (created directly: the queue is what is tested here).
    let mut orders = BTreeSet::new();
    for i in 0..60 {
        let id = queue::create(
            &db,
            &alice,
            "config",
            &format!("h{i}"),
            "{ ... }: { }",
            "{}",
            None,
        )
        .await
        .expect("an order");
        orders.insert(id);
    }
    // Each queued order knows its place: 0 to 59, each once.
    let mut positions = Vec::new();
    for id in &orders {
        let order = queue::get(&db, &alice, id).await.expect("an order");
        positions.push(order.queue_position.expect("queued orders have a position"));
    }
    positions.sort_unstable();
    assert_eq!(positions, (0..60).collect::<Vec<i64>>());
    // Two claimers racing on separate connections until the queue is empty.
    let claimed = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for name in ["w1", "w2"] {
        let db = db.clone();
        let claimed = claimed.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(job) = queue::claim(&db, name, 30).await.expect("claim") {
                claimed.lock().await.push((name, job.order));
            }
        }));
    }
    for task in tasks {
        task.await.expect("claimer");
    }
    let claimed = claimed.lock().await.clone();
    let ids: Vec<&String> = claimed.iter().map(|(_, id)| id).collect();
    let unique: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(ids.len(), 60, "every job claimed once: {claimed:?}");
    assert_eq!(unique, orders, "none lost, none twice");

    // The database goes away: a clear 503, no crash; it comes back: 200 again.
    let api = Api::new(&server.url, Some(&alice_token));
    let (status, _) = api.get("/api/v1/orders").await;
    assert_eq!(status, 200);
    let pg = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        pg.stop();
        pg
    })
    .await
    .expect("stopping postgres");
    let (status, body) = api.get("/api/v1/orders").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("database is unavailable"),
        "{body}"
    );
    assert_eq!(body["option"], json!(null));
    let (status, body) = api.get("/api/v1/health").await;
    assert_eq!(status, 503, "{body}");
    let pg = tokio::task::spawn_blocking(move || {
        let mut pg = pg;
        pg.start_again();
        pg
    })
    .await
    .expect("starting postgres again");
    let mut recovered = false;
    // The pool reconnects by itself; a few requests may still meet dead connections.
    for _ in 0..20 {
        let (status, _) = api.get("/api/v1/orders").await;
        if status == 200 {
            recovered = true;
            break;
        }
        assert_eq!(status, 503);
    }
    assert!(
        recovered,
        "the server answers again once the database is back"
    );
    let (_, list) = api.get("/api/v1/orders").await;
    assert_eq!(list["orders"].as_array().unwrap().len(), 60);
    server.shutdown().await;
    drop(pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn images_go_to_s3_with_presigned_links_and_expire_from_the_bucket() {
    let world = World::new().await;
    let s3 = tokio::task::spawn_blocking(S3::start).await.expect("moto");
    for (key, value) in s3.env() {
        // The only place this test process sets its environment, before any S3 client.
        std::env::set_var(key, value);
    }
    let mut settings = world.settings("data");
    settings.storage = Some(s3.url());
    let server = Server::start(settings)
        .await
        .expect("the server starts with S3 storage");
    let alice = client(&server, "alice", Role::User, None).await;
    let worker = client(&server, "build-1", Role::Worker, None).await;
    let (status, created) = alice.post("/api/v1/configurations", school()).await;
    assert_eq!(status, 201, "{created}");
    let (_, order) = alice
        .post("/api/v1/orders", json!({"configuration": created["id"]}))
        .await;
    let order = order["id"].as_str().unwrap().to_string();
    let (_, claimed) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    let lease = claimed["job"]["id"].as_str().unwrap().to_string();
    let image: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let (status, _) = worker.upload(&lease, image.clone(), &"f".repeat(64)).await;
    assert_eq!(status, 422);
    assert_eq!(
        s3.keys(),
        Vec::<String>::new(),
        "a refused upload leaves nothing"
    );
    let (status, body) = worker.upload(&lease, image.clone(), &sha256(&image)).await;
    assert_eq!(status, 200, "{body}");
    let keys = s3.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with(&format!("images/{order}/school-library-")),
        "{keys:?}"
    );
    assert_eq!(s3.get(&keys[0]), image);

    // The download is a redirect to an expiring presigned URL that serves the bytes.
    let response = alice
        .response(
            reqwest::Method::GET,
            &format!("/api/v1/orders/{order}/image"),
        )
        .await;
    assert_eq!(response.status().as_u16(), 302);
    let link = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        link.contains("X-Amz-Expires=") && link.contains("X-Amz-Signature="),
        "{link}"
    );
    let fetched = reqwest::get(&link).await.unwrap();
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), image);

    sqlx::query("UPDATE orders SET expires = 0 WHERE id = $1")
        .bind(&order)
        .execute(&server.state.db.pool)
        .await
        .unwrap();
    server.state.sweep().await.expect("sweep");
    assert_eq!(
        s3.keys(),
        Vec::<String>::new(),
        "the expired image is deleted"
    );
    let (_, state) = alice.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(state["state"], json!("expired"));
    server.shutdown().await;
}
