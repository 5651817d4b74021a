//! The VM checks (checks/vm/): the test hotspot `checks/vm/hotspot.nix` built by
//! `nixspot build` on nixspot's own base image (byte-reproducible: built twice from
//! separate caches), then booted in QEMU's raspi3b by `nixspot vm-test`, which runs
//! every check — boot, http, timeline, runtime, storage, portal, content, privileges, wifi,
//! captive, isolation, persistence — and prints the serial log of a failing step.

use crate::image::build;
use crate::support::*;

#[test]
fn the_test_hotspot_is_reproducible_and_passes_every_vm_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = build(&dir.path().join("a"));
    let second = build(&dir.path().join("b"));
    assert_eq!(
        sha256_file(&first),
        sha256_file(&second),
        "two builds of the test hotspot differ"
    );
    std::fs::remove_file(&second).expect("rm");

    let out = run(nixspot().arg("vm-test").arg(&first).args([
        "--timeout",
        "2400",
        "--boot-timeout",
        "240",
    ]));
    let report = text(&out);
    eprintln!("{report}");
    assert!(out.status.success(), "the VM checks failed:\n{report}");
    for check in [
        "boot",
        "http",
        "timeline",
        "runtime",
        "storage",
        "portal",
        "content",
        "privileges",
        "wifi",
        "captive",
        "isolation",
        "persistence",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("ok    {check} "))),
            "check {check} did not pass:\n{report}"
        );
    }
    // the test hotspot's deliberately invalid key is the only one kept
    assert!(
        report.contains("kept and reported: timezone\n")
            || report.contains("kept and reported: timezone\r"),
        "{report}"
    );
    assert!(report.contains("\"Wikibooks\""), "{report}");
}
