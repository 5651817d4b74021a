//! nixspot renders the same recipe as offspot's own builder: the hotspot of
//! `shared/fixtures/recipes/make-offspot-config-demo.py`, written as a module
//! (`checks/offspot-config/demo.nix`), evaluated with real Nix, must equal the recipe
//! offspot-config 2.10.5 produced, up to what offspot leaves to chance (the order of
//! Python sets: `oci_images`, `SERVICES`; the order of `files`) and the dashboard file's
//! syntax (nixspot writes JSON, which is YAML: the parsed content must be equal).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use nixspot_hotspot::{Engine, ModulesDir};
use serde_json::Value;

fn files_by_target(recipe: &Value) -> BTreeMap<String, Value> {
    recipe["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (f["to"].as_str().unwrap_or("").to_string(), f.clone()))
        .collect()
}

fn parsed_content(file: &Value) -> Value {
    let text = file["content"].as_str().unwrap_or("");
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}): {text}"))
}

#[test]
fn nixspot_renders_what_offspot_config_renders() -> Result<(), nixspot_hotspot::Error> {
    let fixture = common::repo().join("../shared/fixtures/recipes/offspot-config-2.10.5-demo.yaml");
    let text =
        std::fs::read_to_string(&fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let mut theirs: Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let modules = ModulesDir::at(&common::repo().join("modules"))?;
    let mut ours = nixspot_hotspot::manifest(
        Engine::Nix,
        &modules,
        &common::repo().join("checks/offspot-config/demo.nix"),
    )?;

    assert_eq!(ours["base"], theirs["base"]);
    assert_eq!(ours["output"], theirs["output"]);
    assert_eq!(ours["write_config"], theirs["write_config"]);

    let images = |r: &Value| -> BTreeSet<String> {
        r["oci_images"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i.to_string())
            .collect()
    };
    assert_eq!(images(&ours), images(&theirs));

    let mut our_files = files_by_target(&ours);
    let mut their_files = files_by_target(&theirs);
    let dashboard = "/data/contents/dashboard.yaml";
    let (Some(our_dash), Some(their_dash)) =
        (our_files.remove(dashboard), their_files.remove(dashboard))
    else {
        panic!("both recipes must write {dashboard}");
    };
    assert_eq!(parsed_content(&our_dash), parsed_content(&their_dash));
    assert_eq!(our_files, their_files);

    let services = |r: &mut Value| -> BTreeSet<String> {
        let env =
            &mut r["offspot"]["containers"]["services"]["reverse-proxy"]["environment"]["SERVICES"];
        let set = env
            .as_str()
            .unwrap_or("")
            .split(',')
            .map(String::from)
            .collect();
        *env = Value::Null;
        set
    };
    assert_eq!(services(&mut ours), services(&mut theirs));
    assert_eq!(ours["offspot"], theirs["offspot"]);
    Ok(())
}
