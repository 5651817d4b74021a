//! Every module-system fixture and every image through real Nix (`nix-instantiate`),
//! against the committed expectations: `checks/modules/*.{json,err}`, the golden recipes
//! `checks/golden/*.{json,yaml}` and `docs/options.md`.

mod common;

use nixspot_hotspot::{Engine, ModulesDir};

#[test]
fn fixtures_match_their_expectations_under_real_nix() {
    let fixtures = common::fixtures();
    assert!(fixtures.len() >= 60, "only {} fixtures", fixtures.len());
    let failures: Vec<String> = fixtures
        .iter()
        .filter_map(|f| {
            common::check(f, &common::nix_instantiate(&f.path))
                .err()
                .map(|why| format!("{}: {why}", f.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_error_fixture_names_a_file_and_an_option() {
    for fixture in common::fixtures() {
        if let common::Expected::Error(needles) = &fixture.expected {
            let joined = needles.join("\n");
            // Assertion messages are the module author's words; everything else is ours
            // and must name the file and the option.
            if joined.contains("Failed assertions") {
                continue;
            }
            assert!(
                joined.contains(".nix"),
                "{}: the expected message must name the defining file",
                fixture.name
            );
            assert!(
                joined.contains('`'),
                "{}: the expected message must name the option",
                fixture.name
            );
        }
    }
}

#[test]
fn images_match_golden_recipes_under_real_nix() -> Result<(), nixspot_hotspot::Error> {
    let modules = ModulesDir::at(&common::repo().join("modules"))?;
    let images = common::images();
    assert!(images.len() >= 4, "{images:?}");
    for (name, path) in images {
        let recipe = nixspot_hotspot::manifest(Engine::Nix, &modules, &path)?;
        let golden = common::repo().join(format!("checks/golden/{name}.json"));
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        assert_eq!(
            nixspot_hotspot::recipe_json(&recipe),
            want,
            "{name}: recipe differs from {}",
            golden.display()
        );
        let golden_yaml = common::repo().join(format!("checks/golden/{name}.yaml"));
        let want_yaml = std::fs::read_to_string(&golden_yaml)
            .unwrap_or_else(|e| panic!("{}: {e}", golden_yaml.display()));
        assert_eq!(
            nixspot_hotspot::recipe_yaml(&recipe)?,
            want_yaml,
            "{name}: YAML differs from {}",
            golden_yaml.display()
        );
    }
    Ok(())
}

#[test]
fn docs_options_md_is_up_to_date() -> Result<(), nixspot_hotspot::Error> {
    let modules = ModulesDir::at(&common::repo().join("modules"))?;
    let options = nixspot_hotspot::options(Engine::Nix, &modules)?;
    let count = options.as_array().map(Vec::len).unwrap_or(0);
    assert!(count >= 100, "only {count} options documented");
    let markdown = nixspot_hotspot::options_markdown(&options)?;
    let file = common::repo().join("docs/options.md");
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == markdown,
        "{} is out of date: run `nixspot options --markdown -o docs/options.md`",
        file.display()
    );
    for record in options.as_array().into_iter().flatten() {
        let name = record.get("name").and_then(|v| v.as_str()).unwrap_or("?");
        let description = record
            .get("description")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        assert!(
            !description.trim().is_empty(),
            "option {name} has no description"
        );
    }
    Ok(())
}

#[test]
fn an_invalid_image_fails_with_every_assertion() -> Result<(), nixspot_hotspot::Error> {
    let modules = ModulesDir::at(&common::repo().join("modules"))?;
    let dir = tempfile::tempdir().map_err(|error| nixspot_hotspot::Error::Io {
        path: "tempdir".into(),
        error,
    })?;
    let image = dir.path().join("bad.nix");
    std::fs::write(
        &image,
        "{ hotspot.ap.passphrase = \"short\"; hotspot.tld = \"test\"; }",
    )
    .map_err(|error| nixspot_hotspot::Error::Io {
        path: image.clone(),
        error,
    })?;
    match nixspot_hotspot::manifest(Engine::Nix, &modules, &image) {
        Ok(recipe) => panic!("an invalid hotspot produced a recipe: {recipe}"),
        Err(error) => {
            let message = error.to_string();
            assert!(message.contains("hotspot.ap.passphrase"), "{message}");
            assert!(message.contains("hotspot.tld"), "{message}");
            assert!(message.contains("bad.nix"), "{message}");
        }
    }
    Ok(())
}
