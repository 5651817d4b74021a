//! Flake references (`path#name`): the recipe of `hotspots.<name>` from a flake's
//! `outputs`, evaluated without Nix's flake machinery. The inputs are stand-ins: `self`
//! is the outputs themselves (with `outPath` = the flake directory); an input named
//! `nixspot` (as in the flake template) is nixspot's pure outputs (`lib`,
//! `hotspotModules`) from the modules in use; every other input throws when used —
//! `hotspots` is pure, so nothing else is needed.

use std::path::{Path, PathBuf};

use crate::{eval_json, nix_path, parse, Engine, Error, ModulesDir};

/// A parsed `path#name` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlakeRef {
    /// The directory holding `flake.nix`.
    pub dir: PathBuf,
    /// The hotspot's name (`hotspots.<name>`).
    pub name: String,
}

impl FlakeRef {
    /// Parses `PATH#NAME` (`.#demo`, `/src/hotspots#school`); `None` when `text` has no
    /// `#`.
    pub fn parse(text: &str) -> Option<FlakeRef> {
        let (dir, name) = text.split_once('#')?;
        let dir = if dir.is_empty() { "." } else { dir };
        let dir = dir.strip_prefix("path:").unwrap_or(dir);
        Some(FlakeRef {
            dir: PathBuf::from(dir),
            name: name.to_string(),
        })
    }
}

/// The Nix expression for the recipe of `hotspots.<name>` of the flake in `dir` (an
/// absolute path), with nixspot's modules from `modules` for a `nixspot` input.
pub fn recipe_expr(dir: &Path, name: &str, modules: &ModulesDir) -> String {
    let name = serde_json::Value::String(name.to_string()).to_string();
    format!(
        r#"let
  flake = import ({dir} + "/flake.nix");
  stub = input: throw "nixspot: the flake input '${{input}}' is not available when evaluating hotspots without Nix";
  # The pure part of nixspot's own flake outputs (as flake.nix defines them).
  modules = import {modules};
  nixspot = {{
    lib = {{
      inherit (modules) evalHotspot lib;
      mkHotspotImage = import ({modules} + "/image.nix") {{ inherit (modules) evalHotspot; }};
    }};
    inherit (modules) hotspotModules;
  }};
  inputs = builtins.mapAttrs
    (input: _: if input == "nixspot" then nixspot else stub input)
    (builtins.functionArgs flake.outputs);
  self = flake.outputs (inputs // {{ self = self // {{ outPath = {dir}; }}; }});
  hotspots = self.hotspots or (throw "nixspot: the flake has no `hotspots` output");
  name = {name};
in
  if hotspots ? ${{name}} then hotspots.${{name}}.recipe or hotspots.${{name}}.config.build.recipe
  else throw "nixspot: the flake has no hotspots.${{name}} (it has: ${{builtins.concatStringsSep ", " (builtins.attrNames hotspots)}})""#,
        dir = nix_path(dir),
        modules = nix_path(modules.path()),
    )
}

/// Evaluates the recipe of `reference` with `engine` (a `nixspot` input gets the
/// modules [`ModulesDir::locate`] finds).
pub fn manifest(engine: Engine, reference: &FlakeRef) -> Result<serde_json::Value, Error> {
    manifest_with(engine, reference, &ModulesDir::locate(None)?)
}

/// Like [`manifest`], with `modules` serving a `nixspot` input.
pub fn manifest_with(
    engine: Engine,
    reference: &FlakeRef,
    modules: &ModulesDir,
) -> Result<serde_json::Value, Error> {
    let dir = reference.dir.canonicalize().map_err(|error| Error::Io {
        path: reference.dir.clone(),
        error,
    })?;
    let what = format!("{}#{}", dir.display(), reference.name);
    let text = eval_json(
        engine,
        &recipe_expr(&dir, &reference.name, modules),
        &dir,
        &what,
    )?;
    parse(&what, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse() {
        assert_eq!(
            FlakeRef::parse(".#hotspot-demo"),
            Some(FlakeRef {
                dir: PathBuf::from("."),
                name: "hotspot-demo".into()
            })
        );
        assert_eq!(
            FlakeRef::parse("#x").map(|r| r.dir),
            Some(PathBuf::from("."))
        );
        assert_eq!(
            FlakeRef::parse("path:/src#x").map(|r| r.dir),
            Some(PathBuf::from("/src"))
        );
        assert_eq!(FlakeRef::parse("images/x.nix"), None);
    }

    /// The flake template's `nixspot` input is served by nixspot's own modules, with
    /// the same recipe under nixspot-eval and real Nix.
    #[test]
    fn the_template_evaluates_with_a_stand_in_nixspot_input() -> Result<(), Error> {
        let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/default");
        let reference = FlakeRef {
            dir: template,
            name: "my-hotspot".into(),
        };
        let builtin = manifest(Engine::Builtin, &reference)?;
        assert!(builtin.to_string().contains("welcome.txt"), "{builtin:#}");
        assert_eq!(builtin, manifest(Engine::Nix, &reference)?);
        let missing = FlakeRef {
            name: "no-such-hotspot".into(),
            ..reference
        };
        let error = manifest(Engine::Builtin, &missing)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("no-such-hotspot") && error.contains("my-hotspot"),
            "{error}"
        );
        Ok(())
    }
}
