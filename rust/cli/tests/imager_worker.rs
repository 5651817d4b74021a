//! Fault tests of the Imager's workers, all real processes: `nixspot imager serve`
//! (SQLite, or a real PostgreSQL from `nixspot_testkit`), `nixspot imager worker`
//! processes on their own caches, kiwix-serve as the catalog, a local HTTP server for
//! the downloads, curl as the API client. Orders end ready whatever happens to a
//! worker or the server mid-build, and the image is the one `nixspot build` makes from
//! the order's exported module and lock.
//!
//! Waits are on states the API reports (no durations asserted); the servers run with
//! a 15 s lease (`--lease`), which a lapsed lease takes.

mod support;

use nixspot_testkit::Postgres;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use support::imager::{Imager, World};

#[test]
fn a_worker_killed_mid_build_loses_the_job_to_another_which_makes_the_same_image() {
    let world = World::new();
    let imager = Imager::start(&world, "data", None);
    let alice = imager.user("alice", &[]);
    let worker_token = imager.user("build-1", &["--worker"]);
    let (config, orders) = imager.order(&alice, 1);
    let order = &orders[0];

    let cache_first = world.cache("cache-first");
    let mut first = imager.worker(&world, "first", &worker_token, &cache_first);
    imager.wait_for(&alice, order, "building", &[&first]);
    let jobs_left = || {
        std::fs::read_dir(world.path("work-first"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with("nixspot-job-"))
                    .count()
            })
            .unwrap_or(0)
    };
    // Killed once its job folder exists (right after the claim).
    for _ in 0..1200 {
        if jobs_left() > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill();
    // The lease lapses (nobody renews it), the job goes back to the queue, and a second
    // worker on another cache builds it.
    let second = imager.worker(
        &world,
        "second",
        &worker_token,
        &world.cache("cache-second"),
    );
    let ready = imager.wait_for(&alice, order, "ready", &[&second]);
    assert_eq!(ready["attempts"], json!(2), "{ready}");

    let sha = imager.download(&alice, order, &world.path("ordered.img"));
    assert_eq!(
        ready["sha256"],
        json!(sha),
        "the download is the image the order names"
    );
    assert_eq!(
        imager.reference_build(&world, &alice, &config),
        sha,
        "the order's image is nixspot build's of its exported module and lock"
    );
    let leftovers: Vec<_> = std::fs::read_dir(world.path("work-second"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    assert_eq!(
        leftovers,
        Vec::<PathBuf>::new(),
        "the second worker cleaned up"
    );

    // The killed worker left its job folder; restarted on the same work folder, it
    // removes it before claiming anything.
    assert_eq!(jobs_left(), 1, "the killed worker's job folder");
    let restarted = imager.worker(&world, "first", &worker_token, &cache_first);
    for _ in 0..1200 {
        if jobs_left() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(jobs_left(), 0, "{}", restarted.log());
}

#[test]
fn many_orders_through_two_workers_on_postgres_none_lost_none_built_twice() {
    let world = World::new();
    let postgres = Postgres::start();
    let imager = Imager::start(&world, "data", Some(postgres.url()));
    let worker_token = imager.user("build-1", &["--worker"]);
    // One in-progress order per person: four people order at once.
    let people: Vec<(String, String)> = ["ana", "ben", "chloe", "dev"]
        .iter()
        .map(|name| (name.to_string(), imager.user(name, &[])))
        .collect();
    let orders: Vec<(String, String)> = people
        .iter()
        .map(|(_, token)| (token.clone(), imager.order(token, 1).1.remove(0)))
        .collect();
    let a = imager.worker(&world, "a", &worker_token, &world.cache("cache-a"));
    let b = imager.worker(&world, "b", &worker_token, &world.cache("cache-b"));
    let mut shas = BTreeSet::new();
    for (token, order) in &orders {
        let ready = imager.wait_for(token, order, "ready", &[&a, &b]);
        assert_eq!(ready["attempts"], json!(1), "built once: {ready}");
        shas.insert(ready["sha256"].as_str().expect("a sha256").to_string());
    }
    assert_eq!(shas.len(), 1, "one module and lock, one image: {shas:?}");
    let claimed = postgres.psql("SELECT count(*) FROM orders WHERE state = 'ready'");
    assert_eq!(claimed.trim(), "4", "the database holds four ready orders");
    for (name, log) in [("a", a.log()), ("b", b.log())] {
        assert!(!log.contains("panicked"), "worker {name}:\n{log}");
    }
}

#[test]
fn a_worker_rides_out_a_server_restart_mid_build() {
    let world = World::new();
    let mut imager = Imager::start(&world, "data", None);
    let alice = imager.user("alice", &[]);
    let worker_token = imager.user("build-1", &["--worker"]);
    let (_, orders) = imager.order(&alice, 1);
    let order = &orders[0];
    let worker = imager.worker(&world, "w", &worker_token, &world.cache("cache-w"));
    imager.wait_for(&alice, order, "building", &[&worker]);
    imager.restart();
    let ready = imager.wait_for(&alice, order, "ready", &[&worker]);
    assert_eq!(
        ready["attempts"],
        json!(1),
        "the same lease carried on: {ready}"
    );
    let sha = imager.download(&alice, order, &world.path("ordered.img"));
    assert_eq!(ready["sha256"], json!(sha));
}

#[test]
fn a_worker_stopped_by_sigterm_removes_its_files_and_does_not_fail_the_order() {
    let world = World::new();
    let imager = Imager::start(&world, "data", None);
    let alice = imager.user("alice", &[]);
    let worker_token = imager.user("build-1", &["--worker"]);
    let (_, orders) = imager.order(&alice, 1);
    let order = &orders[0];
    let mut worker = imager.worker(&world, "w", &worker_token, &world.cache("cache-w"));
    imager.wait_for(&alice, order, "building", &[&worker]);
    let status = worker.terminate();
    assert!(status.success(), "{status}: {}", worker.log());
    let leftovers: Vec<_> = std::fs::read_dir(world.path("work-w"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    assert_eq!(
        leftovers,
        Vec::<PathBuf>::new(),
        "the job's folder is removed"
    );
    // Not failed: the lease is left to lapse, so the job will be built again.
    let state = imager.state(&alice, order);
    assert_eq!(state["state"], json!("building"), "{state}");
    assert!(
        worker.log().contains("lease will lapse"),
        "{}",
        worker.log()
    );
}
