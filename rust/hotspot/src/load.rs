//! The one way every command loads a hotspot: a module (`.nix`), a flake reference
//! (`PATH#NAME`, `.#NAME`) or a recipe already evaluated (`.json`, `.yaml`), into the
//! typed recipe. `nixspot manifest`, `fetch`, `lock`, `build` and `size` all go
//! through [`load`], so they accept the same inputs.

use std::path::{Path, PathBuf};

use nixspot_recipe::Recipe;

use crate::flake::FlakeRef;
use crate::{Engine, Error, ModulesDir};

/// What a command was asked to load, classified from its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A hotspot module (any path that is neither a flake reference nor a recipe).
    Module(PathBuf),
    /// `hotspots.<name>` of a flake.
    Flake(FlakeRef),
    /// An image-creator recipe (`.json`, `.yaml`, `.yml`), as `nixspot manifest` prints.
    Recipe(PathBuf),
}

impl Target {
    /// Classifies a command-line argument: a `#` makes a flake reference, a `.json`,
    /// `.yaml` or `.yml` extension a recipe, anything else a module.
    pub fn parse(arg: &Path) -> Target {
        if let Some(reference) = FlakeRef::parse(&arg.to_string_lossy()) {
            return Target::Flake(reference);
        }
        match arg.extension().and_then(|e| e.to_str()) {
            Some("json" | "yaml" | "yml") => Target::Recipe(arg.to_path_buf()),
            _ => Target::Module(arg.to_path_buf()),
        }
    }

    /// The hotspot's short name: the flake attribute, else the file stem (for default
    /// output names such as `hotspot-demo.img`).
    pub fn name(&self) -> String {
        match self {
            Target::Flake(reference) => reference.name.clone(),
            Target::Module(path) | Target::Recipe(path) => path
                .file_stem()
                .map_or_else(|| "hotspot".into(), |s| s.to_string_lossy().into_owned()),
        }
    }

    /// The file relative paths in the recipe are resolved against: the module or
    /// recipe itself, or the flake's `flake.nix`.
    pub fn anchor(&self) -> PathBuf {
        match self {
            Target::Flake(reference) => reference.dir.join("flake.nix"),
            Target::Module(path) | Target::Recipe(path) => path.clone(),
        }
    }
}

/// The lock file of `target`: `explicit` (`--lock`) if given, else the file beside a
/// module or recipe with its extension replaced by `.lock.json`. A flake's hotspots
/// carry their own pins (`hotspot.lockFile`), so a flake reference has none by default.
pub fn lock_path(target: &Target, explicit: Option<&Path>) -> Option<PathBuf> {
    match (explicit, target) {
        (Some(path), _) => Some(path.to_path_buf()),
        (None, Target::Flake(_)) => None,
        (None, Target::Module(path) | Target::Recipe(path)) => {
            Some(path.with_extension("lock.json"))
        }
    }
}

/// A loaded hotspot.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed recipe, validated.
    pub recipe: Recipe,
    /// The recipe as the evaluator gave it (or as the recipe file holds it), for
    /// printing in image-creator's key order ([`crate::recipe_yaml`]).
    pub value: serde_json::Value,
}

/// Loads `target`: evaluates a module with `engine` and the modules
/// [`ModulesDir::locate`] finds from `modules` (with `lock`, when that file exists, as
/// the default of `hotspot.lockFile`), evaluates a flake's `hotspots.<name>`, or reads a
/// recipe file (no modules needed). The lock's pins are not applied: callers decide
/// whether to ([`Recipe::apply_lock`]).
pub fn load(
    target: &Target,
    engine: Engine,
    modules: Option<&Path>,
    lock: Option<&Path>,
) -> Result<Loaded, Error> {
    let (value, name) = match target {
        Target::Module(path) => {
            let modules = ModulesDir::locate(modules)?;
            let value = match lock {
                Some(lock) => crate::manifest_with_lock(engine, &modules, path, lock)?,
                None => crate::manifest(engine, &modules, path)?,
            };
            (value, path.display().to_string())
        }
        Target::Flake(reference) => (
            crate::flake::manifest_with(engine, reference, &ModulesDir::locate(modules)?)?,
            format!("{}#{}", reference.dir.display(), reference.name),
        ),
        Target::Recipe(path) => {
            let recipe = Recipe::load(path)?;
            let value = serde_json::to_value(&recipe).map_err(|error| Error::Json {
                what: path.display().to_string(),
                error,
            })?;
            return Ok(Loaded { recipe, value });
        }
    };
    let recipe = typed(&value, &name)?;
    Ok(Loaded { recipe, value })
}

/// The evaluated JSON value as a validated [`Recipe`], without printing it to text and
/// parsing it again; errors name the key path, as [`Recipe::from_json_str`]'s do.
fn typed(value: &serde_json::Value, name: &str) -> Result<Recipe, Error> {
    let recipe: Recipe = serde_path_to_error::deserialize(value).map_err(|e| {
        nixspot_recipe::RecipeError::Invalid {
            source_name: name.to_string(),
            key: e.path().to_string(),
            message: e.inner().to_string(),
        }
    })?;
    recipe.validate(name)?;
    Ok(recipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_classified() {
        assert!(matches!(Target::parse(Path::new(".#demo")), Target::Flake(r) if r.name == "demo"));
        assert!(matches!(
            Target::parse(Path::new("r.yaml")),
            Target::Recipe(_)
        ));
        assert!(matches!(
            Target::parse(Path::new("r.yml")),
            Target::Recipe(_)
        ));
        assert!(matches!(
            Target::parse(Path::new("r.json")),
            Target::Recipe(_)
        ));
        assert!(matches!(
            Target::parse(Path::new("h.nix")),
            Target::Module(_)
        ));
        assert_eq!(Target::parse(Path::new("/src#school")).name(), "school");
        assert_eq!(Target::parse(Path::new("a/h.nix")).name(), "h");
    }

    #[test]
    fn lock_paths() {
        let module = Target::parse(Path::new("a/h.nix"));
        assert_eq!(
            lock_path(&module, None),
            Some(PathBuf::from("a/h.lock.json"))
        );
        assert_eq!(
            lock_path(&module, Some(Path::new("x.json"))),
            Some(PathBuf::from("x.json"))
        );
        let flake = Target::parse(Path::new(".#h"));
        assert_eq!(lock_path(&flake, None), None);
    }
}
