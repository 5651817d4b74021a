//! Every golden recipe obeys image-creator's recipe rules (offspot-formats.md §1.1: keys,
//! types, `to` under /data without duplicates, `via`, checksums) and the runtime's rules
//! for `offspot.containers` (§3). The validator is checked against a recipe rendered by
//! offspot-config itself, and against broken recipes it must reject.

mod common;

use std::collections::BTreeSet;

use serde_json::{json, Value};

const VIAS: [&str; 7] = ["direct", "base64", "bztar", "gztar", "tar", "xztar", "zip"];
const ALGOS: [(&str, usize); 7] = [
    ("sha-1", 40),
    ("sha-224", 56),
    ("sha-256", 64),
    ("sha-384", 96),
    ("sha-512", 128),
    ("md5", 32),
    ("adler32", 8),
];

fn is_size(v: &Value) -> bool {
    v.as_i64().is_some_and(|n| n >= 0)
        || v.as_str().is_some_and(|s| {
            let digits: String = s
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            !digits.is_empty()
                && s[digits.len()..]
                    .trim()
                    .chars()
                    .all(|c| "kKMGTPiBb".contains(c))
        })
}

fn is_version(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 5
        && b[0].is_ascii_digit()
        && b[1] == b'.'
        && b[2].is_ascii_digit()
        && b[3] == b'.'
        && b[4].is_ascii_digit()
}

fn is_url(s: &str) -> bool {
    ["http://", "https://", "file://"]
        .iter()
        .any(|p| s.starts_with(p) && s.len() > p.len())
}

fn check_checksum(c: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(o) = c.as_object() else {
        errors.push(format!("{at}: checksum must be a mapping"));
        return;
    };
    for key in o.keys() {
        if !["algo", "value", "kind"].contains(&key.as_str()) {
            errors.push(format!("{at}: unknown checksum key {key}"));
        }
    }
    let algo = o.get("algo").and_then(Value::as_str).unwrap_or("");
    let value = o.get("value").and_then(Value::as_str).unwrap_or("");
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("digest");
    match ALGOS.iter().find(|(name, _)| *name == algo) {
        None => errors.push(format!("{at}: unsupported checksum algo {algo:?}")),
        Some((_, len)) => match kind {
            "digest" if value.len() != *len || !value.chars().all(|c| c.is_ascii_hexdigit()) => {
                errors.push(format!(
                    "{at}: {algo} digest must be {len} hex digits, got {value:?}"
                ))
            }
            "url" if !is_url(value) => errors.push(format!("{at}: checksum URL {value:?}")),
            "digest" | "url" => {}
            other => errors.push(format!("{at}: checksum kind {other:?}")),
        },
    }
}

/// Every violation of image-creator's recipe rules (empty = valid).
fn validate(recipe: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(top) = recipe.as_object() else {
        return vec!["recipe must be a mapping".into()];
    };
    for key in top.keys() {
        if ![
            "base",
            "output",
            "oci_images",
            "files",
            "write_config",
            "offspot",
        ]
        .contains(&key.as_str())
        {
            errors.push(format!("unknown top-level key {key}"));
        }
    }
    match top.get("base").and_then(Value::as_object) {
        None => errors.push("base: required mapping".into()),
        Some(base) => {
            let source = base.get("source").and_then(Value::as_str).unwrap_or("");
            if !(is_version(source) || is_url(source) || source == "nixspot:base") {
                errors.push(format!(
                    "base.source {source:?}: not a version, URL or nixspot:base"
                ));
            }
            if !base.get("rootfs_size").is_some_and(is_size) {
                errors.push("base.rootfs_size: int or size string required".into());
            }
            if let Some(c) = base.get("checksum") {
                check_checksum(c, "base.checksum", &mut errors);
            }
            for key in base.keys() {
                if !["source", "rootfs_size", "checksum"].contains(&key.as_str()) {
                    errors.push(format!("base: unknown key {key}"));
                }
            }
        }
    }
    if let Some(output) = top.get("output") {
        let size = output.get("size");
        if !size.is_some_and(|s| s == "auto" || is_size(s)) {
            errors.push(format!("output.size: auto or a size, got {size:?}"));
        }
        if output.get("compress").is_some_and(|c| !c.is_boolean()) {
            errors.push("output.compress: bool".into());
        }
    }
    for (i, image) in top
        .get("oci_images")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let ident = image.get("ident").and_then(Value::as_str).unwrap_or("");
        if ident.is_empty() || !(ident.contains(':') || ident.contains('@')) {
            errors.push(format!(
                "oci_images[{i}].ident {ident:?}: needs a tag or digest"
            ));
        }
        for key in ["filesize", "fullsize"] {
            if image.get(key).and_then(Value::as_i64).is_none_or(|n| n < 0) {
                errors.push(format!("oci_images[{i}].{key}: non-negative int"));
            }
        }
    }
    let mut targets = BTreeSet::new();
    if top.get("write_config") == Some(&Value::Bool(true)) {
        targets.insert("/data/image.yaml".to_string());
    }
    for (i, file) in top
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("files[{i}]");
        let to = file.get("to").and_then(Value::as_str).unwrap_or("");
        if !to.starts_with("/data/") || to.split('/').any(|c| c == "..") {
            errors.push(format!("{at}.to {to:?}: must be under /data"));
        }
        if !targets.insert(to.to_string()) {
            errors.push(format!("{at}.to {to:?}: duplicate target"));
        }
        let via = file.get("via").and_then(Value::as_str).unwrap_or("direct");
        if !VIAS.contains(&via) {
            errors.push(format!("{at}.via {via:?}"));
        }
        match (file.get("url"), file.get("content")) {
            (Some(url), None) => {
                if !url.as_str().is_some_and(is_url) {
                    errors.push(format!("{at}.url {url}"));
                }
            }
            (None, Some(content)) => {
                if !content.is_string() {
                    errors.push(format!("{at}.content must be a string"));
                }
                if !["direct", "base64"].contains(&via) {
                    errors.push(format!("{at}: inline content cannot be {via}"));
                }
            }
            _ => errors.push(format!("{at}: exactly one of url and content")),
        }
        if !file
            .get("size")
            .is_none_or(|s| s.as_i64().is_some() || is_size(s))
        {
            errors.push(format!("{at}.size"));
        }
        if let Some(c) = file.get("checksum") {
            check_checksum(c, &format!("{at}.checksum"), &mut errors);
        }
    }
    if top.get("write_config").is_some_and(|w| !w.is_boolean()) {
        errors.push("write_config: bool".into());
    }
    match top.get("offspot").and_then(Value::as_object) {
        None => errors.push("offspot: mapping required".into()),
        Some(offspot) => {
            if let Some(services) = offspot.get("containers").and_then(|c| c.get("services")) {
                let Some(services) = services.as_object().filter(|s| !s.is_empty()) else {
                    errors.push("offspot.containers.services: non-empty mapping".into());
                    return errors;
                };
                let mut port80 = false;
                for (name, svc) in services {
                    if !svc.get("image").is_some_and(Value::is_string) || svc.get("build").is_some()
                    {
                        errors.push(format!("service {name}: string image, no build"));
                    }
                    let ports: Vec<&str> = svc
                        .get("ports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    if !ports.is_empty() && svc.get("network_mode") == Some(&json!("host")) {
                        errors.push(format!("service {name}: ports with host networking"));
                    }
                    port80 |= ports.iter().any(|p| p.starts_with("80:"));
                }
                if !port80 {
                    errors.push("offspot.containers: no service publishes port 80".into());
                }
            }
            if let Some(ssid) = offspot
                .get("ap")
                .and_then(|ap| ap.get("ssid"))
                .and_then(Value::as_str)
            {
                if ssid.is_empty()
                    || ssid.len() > 32
                    || ssid.contains(['+', ']', '/', '"', '\t'])
                    || ssid.starts_with(['!', '#', ';'])
                {
                    errors.push(format!("offspot.ap.ssid {ssid:?}"));
                }
            }
        }
    }
    errors
}

#[test]
fn every_golden_recipe_is_a_valid_image_creator_recipe() {
    let images = common::images();
    assert!(images.len() >= 4);
    for (name, _) in images {
        let path = common::repo().join(format!("checks/golden/{name}.yaml"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let recipe: Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let errors = validate(&recipe);
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn the_validator_accepts_offspot_configs_own_recipe() {
    let path = common::repo().join("../shared/fixtures/recipes/offspot-config-2.10.5-demo.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let recipe: Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(validate(&recipe), Vec::<String>::new());
}

#[test]
fn the_validator_rejects_broken_recipes() {
    let path = common::repo().join("checks/golden/hotspot-demo.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let good: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    type Breaker = Box<dyn Fn(&mut Value)>;
    let broken: Vec<(&str, Breaker)> = vec![
        (
            "under /data",
            Box::new(|r| r["files"][0]["to"] = json!("/etc/x")),
        ),
        (
            "duplicate target",
            Box::new(|r| r["files"][1]["to"] = r["files"][0]["to"].clone()),
        ),
        ("via", Box::new(|r| r["files"][0]["via"] = json!("rar"))),
        (
            "unsupported checksum algo",
            Box::new(|r| r["files"][1]["checksum"]["algo"] = json!("sha256")),
        ),
        (
            "hex digits",
            Box::new(|r| r["files"][1]["checksum"]["value"] = json!("abc")),
        ),
        (
            "exactly one of url and content",
            Box::new(|r| r["files"][0]["url"] = json!("https://x/y")),
        ),
        ("unknown top-level key", Box::new(|r| r["extra"] = json!(1))),
        (
            "base.source",
            Box::new(|r| r["base"]["source"] = json!("ftp://x")),
        ),
        (
            "port 80",
            Box::new(|r| {
                r["offspot"]["containers"]["services"]["reverse-proxy"]["ports"] = json!([])
            }),
        ),
        (
            "ssid",
            Box::new(|r| r["offspot"]["ap"]["ssid"] = json!("#bad")),
        ),
    ];
    assert!(validate(&good).is_empty());
    for (needle, breaker) in broken {
        let mut recipe = good.clone();
        breaker(&mut recipe);
        let errors = validate(&recipe);
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "expected an error about {needle}, got {errors:?}"
        );
    }
}
