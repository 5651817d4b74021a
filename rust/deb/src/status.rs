//! The dpkg database files that let tools and people see what an image contains:
//! `/var/lib/dpkg/status` and `/var/lib/dpkg/info/PKG.list`.

use std::collections::BTreeMap;

use crate::deb::ControlInfo;
use crate::deb822::Stanza;

/// A package as installed.
#[derive(Debug, Clone)]
pub struct InstalledPackage {
    /// Its control stanza (from the `.deb`).
    pub control: Stanza,
    /// Conffiles with the md5 of their installed content: `(/etc/x, hex)` (as
    /// [`crate::install::Installed::conffiles`] gives them).
    pub conffiles: Vec<(String, String)>,
}

/// dpkg's field order in the status file; other fields follow in control-file order.
const FIELD_ORDER: [&str; 28] = [
    "Package",
    "Essential",
    "Protected",
    "Status",
    "Priority",
    "Section",
    "Installed-Size",
    "Origin",
    "Maintainer",
    "Bugs",
    "Architecture",
    "Multi-Arch",
    "Source",
    "Version",
    "Config-Version",
    "Replaces",
    "Provides",
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Breaks",
    "Conflicts",
    "Enhances",
    "Conffiles",
    "Description",
    "Triggers-Pending",
    "Triggers-Awaited",
];

/// Renders `/var/lib/dpkg/status` with every package `install ok installed`, sorted by
/// package name, fields in dpkg's order.
pub fn status_file(packages: &[InstalledPackage]) -> String {
    let mut sorted: Vec<&InstalledPackage> = packages.iter().collect();
    sorted.sort_by(|a, b| a.control.get("Package").cmp(&b.control.get("Package")));
    let mut out = String::new();
    for p in sorted {
        let mut fields: Vec<(String, String)> = p
            .control
            .fields
            .iter()
            .filter(|(k, _)| {
                !k.eq_ignore_ascii_case("Status") && !k.eq_ignore_ascii_case("Conffiles")
            })
            .cloned()
            .collect();
        fields.push(("Status".to_string(), "install ok installed".to_string()));
        if !p.conffiles.is_empty() {
            let list: String = p
                .conffiles
                .iter()
                .map(|(path, md5)| format!("\n {path} {md5}"))
                .collect();
            fields.push(("Conffiles".to_string(), list));
        }
        let rank = |k: &str| {
            FIELD_ORDER
                .iter()
                .position(|f| f.eq_ignore_ascii_case(k))
                .unwrap_or(FIELD_ORDER.len())
        };
        // Stable sort: unknown fields keep their control-file order at the end.
        fields.sort_by_key(|(k, _)| rank(k));
        out.push_str(&Stanza { line: 0, fields }.render());
        out.push('\n');
    }
    out
}

/// Renders `/var/lib/dpkg/info/PKG.list` from a package's relative paths (e.g.
/// [`crate::install::Installed::paths`]): `/.` first, then each path with a leading
/// slash.
pub fn file_list<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("/.\n");
    for p in paths {
        out.push('/');
        out.push_str(p);
        out.push('\n');
    }
    out
}

/// The files dpkg keeps in `/var/lib/dpkg/info/` for a package (keys relative to `/`):
/// `NAME.list` from `paths`, and `NAME.md5sums` / `NAME.conffiles` copied from the
/// control member when it has them. `NAME` is `package:arch` for `Multi-Arch: same`
/// packages, as dpkg names them. Maintainer scripts are left out: nothing may run them.
pub fn info_files<'a>(
    control: &ControlInfo,
    paths: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, Vec<u8>> {
    let same = control
        .control
        .get("Multi-Arch")
        .is_some_and(|m| m.eq_ignore_ascii_case("same"));
    let name = if same {
        format!("{}:{}", control.package, control.architecture)
    } else {
        control.package.clone()
    };
    let mut out = BTreeMap::new();
    out.insert(
        format!("var/lib/dpkg/info/{name}.list"),
        file_list(paths).into_bytes(),
    );
    for member in ["md5sums", "conffiles"] {
        if let Some(data) = control.files.get(member) {
            out.insert(format!("var/lib/dpkg/info/{name}.{member}"), data.clone());
        }
    }
    out
}

/// The package-independent dpkg database files (keys relative to `/`):
/// `var/lib/dpkg/status` for `packages` and `var/lib/dpkg/info/format` = `1`, without
/// which dpkg looks for `info/` files under pre-multiarch names.
pub fn database_files(packages: &[InstalledPackage]) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([
        (
            "var/lib/dpkg/status".to_string(),
            status_file(packages).into_bytes(),
        ),
        ("var/lib/dpkg/info/format".to_string(), b"1\n".to_vec()),
    ])
}
