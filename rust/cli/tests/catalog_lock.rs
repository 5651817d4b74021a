//! Catalog packages end to end: a real `kiwix-serve --library` (Debian's kiwix-tools)
//! serves the OPDS catalog, a local HTTP server the ZIM with its MirrorBrain
//! `.sha256`/`.meta4` files; `nixspot lock` resolves and pins a hotspot's
//! `hotspot.zims.<name>.package` without downloading the ZIM, and `nixspot build`
//! puts exactly that ZIM into the image.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::*;

const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);
/// sha256 of the fixture ZIM (also pinned by hotspots/hotspot-demo.nix).
const ZIM_SHA256: &str = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
/// What the lying `.sha256` beside `badsum_be_all` claims.
const WRONG_SHA256: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// A 1×1 PNG, the books' illustration.
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

use nixspot_testkit::KiwixServe;

/// The world of one test: downloads, catalog, base image, cache.
struct World {
    dir: tempfile::TempDir,
    downloads: HttpServer,
    catalog: KiwixServe,
}

fn meta4(name: &str, size: u64, sha256: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">\n  \
         <generator>MirrorBrain/2.19.0</generator>\n  <file name=\"{name}\">\n    <size>{size}</size>\n    \
         <hash type=\"md5\">00000000000000000000000000000000</hash>\n    <hash type=\"sha-256\">{sha256}</hash>\n  \
         </file>\n</metalink>\n"
    )
}

fn book(id: &str, name: &str, date: &str, url: &str) -> String {
    format!(
        "  <book id=\"{id}\" path=\"wb.zim\" url=\"{url}.meta4\" title=\"Wikibooks ({name})\" \
         description=\"Belarusian Wikibooks\" language=\"bel\" creator=\"Wikibooks\" publisher=\"Kiwix\" \
         name=\"{name}\" flavour=\"nopic\" tags=\"wikibooks;_category:wikibooks;nopic\" date=\"{date}\" \
         articleCount=\"10\" mediaCount=\"0\" size=\"149\" favicon=\"{PNG_B64}\" faviconMimeType=\"image/png\"/>\n"
    )
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let zim = std::fs::read(ZIM).expect("fixture ZIM");
        let srv = dir.path().join("srv/zim");
        std::fs::create_dir_all(&srv).expect("mkdir");
        let put = |name: &str, sha256: &str| {
            std::fs::write(srv.join(name), &zim).expect("write");
            std::fs::write(
                srv.join(format!("{name}.sha256")),
                format!("{sha256}  {name}\n"),
            )
            .expect("write");
            std::fs::write(
                srv.join(format!("{name}.meta4")),
                meta4(name, zim.len() as u64, sha256),
            )
            .expect("write");
        };
        put("wikibooks_be_all_nopic_2017-02.zim", ZIM_SHA256);
        put("wikibooks_be_all_nopic_2016-01.zim", ZIM_SHA256);
        // A mirror whose checksum files disagree with the bytes it serves.
        put("badsum_be_all_nopic_2017-02.zim", WRONG_SHA256);
        let downloads = HttpServer::serve_dir(&dir.path().join("srv"));
        let file = |name: &str| format!("{}/zim/{name}", downloads.base);

        // The catalog: every book points at the same local ZIM (kiwix-serve lists only
        // books whose file exists); the acquisition links point at the download server.
        let lib = dir.path().join("lib");
        std::fs::create_dir_all(&lib).expect("mkdir");
        std::fs::write(lib.join("wb.zim"), &zim).expect("write");
        let library = format!(
            "<library version=\"20110515\">\n{}{}{}</library>\n",
            book(
                "6f1d7a2e-0c43-4e0b-9a55-0d5b3c1e0001",
                "wikibooks_be_all",
                "2017-02-01",
                &file("wikibooks_be_all_nopic_2017-02.zim")
            ),
            // An older version the lock must not choose.
            book(
                "6f1d7a2e-0c43-4e0b-9a55-0d5b3c1e0002",
                "wikibooks_be_all",
                "2016-01-01",
                &file("wikibooks_be_all_nopic_2016-01.zim")
            ),
            book(
                "6f1d7a2e-0c43-4e0b-9a55-0d5b3c1e0003",
                "badsum_be_all",
                "2017-02-01",
                &file("badsum_be_all_nopic_2017-02.zim")
            ),
        );
        std::fs::write(lib.join("library.xml"), library).expect("write");
        let catalog = KiwixServe::start(&lib.join("library.xml"));
        offspot_like_base(&dir.path().join("base.img"));
        World {
            dir,
            downloads,
            catalog,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A hotspot module naming `package`, written as `<name>.nix`.
    fn module(&self, name: &str, package: &str) -> PathBuf {
        let path = self.path(&format!("{name}.nix"));
        std::fs::write(
            &path,
            format!(
                "{{ hotspot = {{\n  name = \"Catalog test\";\n  ap.ssid = \"Catalog test\";\n  \
                 base.source = \"file://{base}\";\n  base.rootfsSize = 134217728;\n  \
                 base.providesInternalServices = true;\n  zims.wb.package = \"{package}\";\n}}; }}\n",
                base = self.path("base.img").display()
            ),
        )
        .expect("write module");
        path
    }

    fn nixspot(&self, args: &[&str], cache: &str) -> Output {
        self.run(
            nixspot()
                .args(args)
                .arg("--cache-dir")
                .arg(self.path(cache)),
        )
    }

    fn run(&self, cmd: &mut Command) -> Output {
        run(cmd
            .env("NIXSPOT_CATALOG", &self.catalog.url)
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", self.path("xdg"))
            .env_remove("NIXSPOT_MODULES"))
    }

    fn zim_downloads(&self) -> usize {
        self.downloads
            .requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| p.ends_with(".zim"))
            .count()
    }
}

fn lock_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("lock file")).expect("lock JSON")
}

#[test]
fn lock_pins_from_the_checksum_files_and_the_build_holds_that_zim() {
    let w = World::new();
    let module = w.module("hotspot", "wikibooks_be_all:nopic");
    let m = module.display().to_string();
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert!(out.status.success(), "lock failed:\n{}", text(&out));
    assert_eq!(w.zim_downloads(), 0, "lock downloaded the ZIM itself");
    let lock = lock_json(&w.path("hotspot.lock.json"));
    let p = &lock["packages"]["wikibooks_be_all:nopic"];
    assert_eq!(p["sha256"], ZIM_SHA256, "{lock:#}");
    assert_eq!(p["size"], 152_865);
    assert_eq!(p["date"], "2017-02-01", "the latest version");
    assert_eq!(p["catalog"], w.catalog.url.as_str());
    assert_eq!(p["publisher"], "Kiwix");
    assert_eq!(p["languages"], serde_json::json!(["bel"]));
    assert_eq!(p["icon"], PNG_B64, "the illustration, inlined");
    assert_eq!(
        p["url"],
        format!(
            "{}/zim/wikibooks_be_all_nopic_2017-02.zim",
            w.downloads.base
        )
    );

    // The size the module would need, from the pinned size alone.
    let out = w.run(nixspot().args(["size", &m, "--json"]));
    assert!(out.status.success(), "size failed:\n{}", text(&out));
    let size: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(size["content"].as_u64().unwrap() >= 152_865, "{size:#}");
    assert_eq!(size["card"]["name"], "8GB");

    let image = w.path("hotspot.img");
    let out = w.nixspot(
        &[
            "build",
            &m,
            "-o",
            &image.display().to_string(),
            "--locked",
            "--quiet",
        ],
        "cache",
    );
    assert!(out.status.success(), "build failed:\n{}", text(&out));
    let parts = sfdisk_partitions(&image);
    let data = parts.last().expect("data partition");
    let zim = debugfs_cat(
        &image,
        data.start,
        "/contents/zims/Kiwix_wikibooks_be_all_nopic.zim",
    );
    let digest: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(&zim)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(digest, ZIM_SHA256);
}

#[test]
fn a_checksum_file_that_disagrees_with_the_download_caches_nothing() {
    let w = World::new();
    let m = w.module("bad", "badsum_be_all:nopic").display().to_string();
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert!(out.status.success(), "lock failed:\n{}", text(&out));
    let image = w.path("bad.img").display().to_string();
    let out = w.nixspot(&["build", &m, "-o", &image, "--locked", "--quiet"], "cache");
    assert!(
        !out.status.success(),
        "a ZIM with the wrong hash was built in"
    );
    let err = text(&out);
    assert!(
        err.contains(WRONG_SHA256) && err.contains(ZIM_SHA256),
        "{err}"
    );
    let cached = w
        .path("cache/content")
        .join(&ZIM_SHA256[..2])
        .join(ZIM_SHA256);
    assert!(!cached.exists(), "the mismatching download was cached");
    assert!(!Path::new(&image).exists());
}

#[test]
fn a_package_the_catalog_lacks_is_named_with_the_closest_names() {
    let w = World::new();
    let m = w
        .module("typo", "wikibooks_be_al:nopic")
        .display()
        .to_string();
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = text(&out);
    assert!(err.contains("hotspot.zims.wb.package"), "{err}");
    assert!(err.contains("wikibooks_be_al:nopic"), "{err}");
    assert!(
        err.contains("wikibooks_be_all"),
        "closest name missing: {err}"
    );
    assert!(!w.path("typo.lock.json").exists(), "a lock was written");
}

#[test]
fn an_unreachable_catalog_falls_back_to_the_cached_copy_else_exit_4() {
    let mut w = World::new();
    let m = w
        .module("hotspot", "wikibooks_be_all:nopic")
        .display()
        .to_string();
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert!(out.status.success(), "lock failed:\n{}", text(&out));
    std::fs::remove_file(w.path("hotspot.lock.json")).expect("rm lock");
    // The catalog goes away.
    w.catalog.stop();
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert!(
        out.status.success(),
        "lock from the cached copy failed:\n{}",
        text(&out)
    );
    assert!(
        text(&out).contains("cached copy"),
        "not said: {}",
        text(&out)
    );
    assert_eq!(
        lock_json(&w.path("hotspot.lock.json"))["packages"]["wikibooks_be_all:nopic"]["sha256"],
        ZIM_SHA256
    );
    // No copy in a fresh cache: exit 4, as for any unreachable content.
    std::fs::remove_file(w.path("hotspot.lock.json")).expect("rm lock");
    let out = w.nixspot(&["lock", &m, "--quiet"], "fresh-cache");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains(&w.catalog.url), "{}", text(&out));
}

#[test]
fn versions_are_kept_until_asked_for_and_update_moves_to_the_latest() {
    let w = World::new();
    let module = w.module("hotspot", "wikibooks_be_all:nopic");
    let m = module.display().to_string();
    let lock_file = w.path("hotspot.lock.json");
    let date = || lock_json(&lock_file)["packages"]["wikibooks_be_all:nopic"]["date"].clone();
    // An older version, asked for by the module.
    let original = std::fs::read_to_string(&module).expect("read");
    std::fs::write(
        &module,
        original.replace(
            "zims.wb.package",
            "zims.wb.version = \"2016-01\";\n  zims.wb.package",
        ),
    )
    .expect("write");
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert!(out.status.success(), "lock failed:\n{}", text(&out));
    assert_eq!(date(), "2016-01-01");
    assert_eq!(
        lock_json(&lock_file)["packages"]["wikibooks_be_all:nopic"]["version"],
        "2016-01"
    );
    // The module no longer asks for a version: the lock entry does not answer it.
    std::fs::write(&module, &original).expect("write");
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert!(out.status.success(), "lock failed:\n{}", text(&out));
    assert_eq!(date(), "2017-02-01");
    // A pin that is still valid for the request is kept without --update ...
    let mut lock = lock_json(&lock_file);
    lock["packages"]["wikibooks_be_all:nopic"]["date"] = "2017-01-31".into();
    std::fs::write(
        &lock_file,
        serde_json::to_string_pretty(&lock).expect("json"),
    )
    .expect("write");
    let out = w.nixspot(&["lock", &m, "--quiet"], "cache");
    assert!(out.status.success(), "lock failed:\n{}", text(&out));
    assert_eq!(date(), "2017-01-31");
    // ... and moved to the catalog's latest with it.
    let out = w.nixspot(&["lock", &m, "--quiet", "--update"], "cache");
    assert!(
        out.status.success(),
        "lock --update failed:\n{}",
        text(&out)
    );
    assert_eq!(date(), "2017-02-01");
}
