//! Benchmark driver for `checks/bench/catalog.sh`.
//!
//! `catalog_bench parse FEED`: streams the OPDS file into a [`Catalog`] and prints the
//! parse time in seconds. `catalog_bench search FEED`: parses it once, then prints the
//! median and 95th-percentile latency of a set of searches, in milliseconds.

use nixspot_catalog::opds::{self, Limits};
use nixspot_catalog::{Catalog, Query};
use std::io::BufReader;
use std::time::Instant;

fn load(path: &str) -> Catalog {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let feed = opds::parse(
        BufReader::new(file),
        "https://library.kiwix.org/catalog/v2/entries?count=-1",
        &Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    Catalog::new("https://library.kiwix.org", feed.entries)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: catalog_bench parse|search FEED");
        std::process::exit(2);
    };
    let start = Instant::now();
    let catalog = load(path);
    let parse = start.elapsed().as_secs_f64();
    match mode.as_str() {
        "parse" => println!("{parse:.4} {}", catalog.entries().len()),
        "search" => {
            let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
            let queries = [
                (
                    "one word",
                    Query {
                        words: words(&["chemistry"]),
                        ..Query::default()
                    },
                ),
                (
                    "two words",
                    Query {
                        words: words(&["wikipedia", "climate"]),
                        ..Query::default()
                    },
                ),
                (
                    "no match",
                    Query {
                        words: words(&["zzzzzz"]),
                        ..Query::default()
                    },
                ),
                (
                    "lang + flavour",
                    Query {
                        lang: Some("fra".into()),
                        flavour: Some("nopic".into()),
                        ..Query::default()
                    },
                ),
                (
                    "word + category + max size",
                    Query {
                        words: words(&["medicine"]),
                        category: Some("wikipedia".into()),
                        max_size: Some(20 << 30),
                        ..Query::default()
                    },
                ),
            ];
            for (label, query) in &queries {
                let mut times: Vec<f64> = (0..200)
                    .map(|_| {
                        let t = Instant::now();
                        let found = catalog.search(query);
                        std::hint::black_box(found.len());
                        t.elapsed().as_secs_f64() * 1000.0
                    })
                    .collect();
                times.sort_by(f64::total_cmp);
                let hits = catalog.search(query).len();
                // Median and 95th percentile: the maximum only measures preemption.
                let (median, p95) = (times[times.len() / 2], times[times.len() * 95 / 100]);
                println!("{label}\t{hits}\t{median:.3}\t{p95:.3}");
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
