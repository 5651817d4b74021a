//! Catalog packages through both evaluators: the lock beside a module (given as the
//! default of `hotspot.lockFile`) fills the same recipe under real Nix and nixspot's
//! evaluator, a module's own `hotspot.lockFile` wins, and the package requests `nixspot
//! lock` reads evaluate without any lock.

mod common;

use nixspot_hotspot::{Engine, ModulesDir};
use serde_json::Value;
use std::path::Path;

fn real_nix(expr: &str, dir: &Path) -> Value {
    let out = nixspot_testkit::nix("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expr])
        .current_dir(dir)
        .output()
        .expect("nix-instantiate (apt-get install nix-bin)");
    assert!(
        out.status.success(),
        "real Nix failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn ours(expr: &str, dir: &Path) -> Value {
    let text =
        nixspot_hotspot::eval_json(Engine::Builtin, expr, dir, "test").expect("nixspot-eval");
    serde_json::from_str(&text).expect("JSON")
}

const MODULE: &str = r#"{ hotspot = {
  ap.ssid = "Packages";
  base.source = "nixspot:base";
  zims.wp.package = "wikipedia_en_climate_change:nopic";
  zims.gg = { package = "openZIM:grimgrains_en_all:"; version = "2024-01"; };
}; }
"#;

#[test]
fn the_lock_beside_a_module_gives_the_same_recipe_in_both_evaluators() {
    let modules = ModulesDir::at(&common::repo().join("modules")).expect("modules");
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("hotspot.nix");
    std::fs::write(&module, MODULE).expect("write");
    let lock = dir.path().join("hotspot.lock.json");
    std::fs::copy(
        common::fixtures_dir().join("mods/hotspot-packages.lock.json"),
        &lock,
    )
    .expect("copy lock");

    let expr = nixspot_hotspot::recipe_expr_with_lock(&modules, &module, &lock);
    let nix = real_nix(&expr, dir.path());
    assert_eq!(nix, ours(&expr, dir.path()));
    let zim = nix["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["to"] == "/data/contents/zims/openZIM_wikipedia_en_climate_change_nopic.zim")
        .unwrap_or_else(|| panic!("no ZIM in {nix:#}"));
    assert_eq!(
        zim["url"],
        "https://download.kiwix.org/zim/wikipedia/wikipedia_en_climate_change_nopic_2024-06.zim"
    );
    assert_eq!(zim["size"], 14_130_838);
    assert_eq!(
        zim["checksum"]["value"],
        "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2"
    );
    // The library function reads the same.
    let via_api = nixspot_hotspot::manifest_with_lock(Engine::Builtin, &modules, &module, &lock)
        .expect("manifest");
    assert_eq!(via_api, nix);

    // The module's own lock file wins over the one given as default: an empty lock
    // leaves the packages unresolved.
    let own = dir.path().join("own.lock.json");
    std::fs::write(&own, "{\"version\": 1}\n").expect("write");
    let with_own = dir.path().join("with-own.nix");
    std::fs::write(
        &with_own,
        "{ imports = [ ./hotspot.nix ]; hotspot.lockFile = ./own.lock.json; }\n",
    )
    .expect("write");
    let err = nixspot_hotspot::manifest_with_lock(Engine::Builtin, &modules, &with_own, &lock)
        .expect_err("resolved from the wrong lock")
        .to_string();
    assert!(err.contains("own.lock.json: run `nixspot lock`"), "{err}");
}

#[test]
fn package_requests_evaluate_without_a_lock_in_both_evaluators() {
    let modules = ModulesDir::at(&common::repo().join("modules")).expect("modules");
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("hotspot.nix");
    std::fs::write(&module, MODULE).expect("write");
    let expr = nixspot_hotspot::packages_expr(&modules, &module);
    let nix = real_nix(&expr, dir.path());
    assert_eq!(nix, ours(&expr, dir.path()));
    let requests =
        nixspot_hotspot::package_requests(Engine::Builtin, &modules, &module).expect("requests");
    assert_eq!(requests.lock_file, None);
    let got: Vec<(&str, &str, Option<&str>)> = requests
        .packages
        .iter()
        .map(|r| (r.zim.as_str(), r.package.as_str(), r.version.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("gg", "openZIM:grimgrains_en_all:", Some("2024-01")),
            ("wp", "wikipedia_en_climate_change:nopic", None)
        ]
    );
}
