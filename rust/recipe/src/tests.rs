use super::*;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/recipes/offspot-config-2.10.5-demo.yaml"
);

fn err(yaml: &str) -> String {
    Recipe::from_yaml_str(yaml, "r.yaml")
        .unwrap_err()
        .to_string()
}

const BASE: &str = "base: {source: 1.4.2, rootfs_size: 3716153344}\n";

#[test]
fn offspot_config_recipe_parses_and_round_trips() {
    let r = Recipe::load(Path::new(FIXTURE)).unwrap();
    assert_eq!(r.oci_images.len(), 7);
    assert!(r.write_config);
    let (url, ck) = r.base.resolved();
    assert_eq!(
        url,
        "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img"
    );
    assert!(ck.is_none(), "a URL source has no implied checksum");
    let zim = &r.files[1];
    assert_eq!(
        zim.pin(),
        Some((
            "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2",
            152865
        ))
    );
    // Inline content is stripped; base64 is decoded.
    assert_eq!(r.files[0].inline_bytes().unwrap(), b"-");
    let png = r.files.iter().find(|f| f.to.ends_with("dark.png")).unwrap();
    assert!(png.inline_bytes().unwrap().starts_with(b"\x89PNG"));
    // The offspot mapping keeps its key order and the aliases' values.
    let o = r.offspot.as_ref().unwrap().as_mapping().unwrap();
    let keys: Vec<&str> = o.keys().filter_map(|k| k.as_str()).collect();
    assert_eq!(&keys[..3], &["timezone", "hostname", "ethernet"]);
    // Stable: YAML → recipe → YAML → recipe is a fixed point, and JSON agrees.
    let y = r.to_yaml();
    let r2 = Recipe::from_yaml_str(&y, "again").unwrap();
    assert_eq!(r, r2);
    assert_eq!(y, r2.to_yaml());
    let r3 = Recipe::from_json_str(&r.to_json(), "j").unwrap();
    assert_eq!(r3, r);
    assert!(y.find("base:").unwrap() < y.find("files:").unwrap());
    assert!(y.contains("algo: sha-256"), "spelling kept");
}

#[test]
fn offspot_version_rule() {
    let r = Recipe::from_yaml_str(BASE, "r").unwrap();
    let (url, ck) = r.base.resolved();
    assert_eq!(
        url,
        "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img"
    );
    let ck = ck.unwrap();
    assert_eq!((ck.algo, ck.kind), (HashAlgo::Md5, ChecksumKind::Url));
    assert_eq!(ck.value, format!("{url}.md5"));
    assert!(is_offspot_version("1.2.0-rc.1"));
    assert!(!is_offspot_version("1.2"));
    assert!(!is_offspot_version("1.2.0X"));
    let r = Recipe::from_yaml_str(
        "base: {source: 'file:///x/b.img.xz', rootfs_size: 8G}\noutput: {size: 16GiB}\n",
        "r",
    )
    .unwrap();
    assert_eq!(r.base.rootfs_size.bytes(), 8_000_000_000);
    assert_eq!(
        r.output.size,
        OutputSize::Fixed(Size::Text {
            text: "16GiB".into(),
            bytes: 16 << 30
        })
    );
    assert!(r.to_yaml().contains("size: 16GiB"));
}

#[test]
fn errors_name_the_key_path() {
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, content: x}}\n- {{to: /etc/x, content: y}}\n"
    ));
    assert!(e.contains("files[1].to"), "{e}");
    assert!(e.contains("under /data"), "{e}");
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, content: x}}\n- {{to: /data//a, content: y}}\n"
    ));
    assert!(e.contains("files[1].to: duplicate target /data/a"), "{e}");
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/../etc, content: x}}\n"
    ));
    assert!(e.contains("files[0].to"), "{e}");
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, content: x, via: rar}}\n"
    ));
    assert!(e.contains("files[0].via") && e.contains("rar"), "{e}");
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, url: 'http://x/a', checksum: {{algo: crc9, value: ab}}}}\n"
    ));
    assert!(e.contains("files[0].checksum") && e.contains("crc9"), "{e}");
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, url: 'http://x/a', checksum: {{algo: md5, value: ab}}}}\n"
    ));
    assert!(
        e.contains("files[0].checksum.value: expected 32 hex digits for md5"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, url: 'http://x', content: y}}\n"
    ));
    assert!(e.contains("files[0]: has both url and content"), "{e}");
    let e = err(&format!("{BASE}files:\n- {{to: /data/a}}\n"));
    assert!(e.contains("files[0]: has neither"), "{e}");
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, content: '!!', via: base64}}\n"
    ));
    assert!(e.contains("files[0].content: is not valid base64"), "{e}");
    let e = err(&format!(
        "{BASE}files:\n- {{to: /data/a, content: x, via: zip}}\n"
    ));
    assert!(e.contains("files[0].via"), "{e}");
    let e = err(&format!(
        "{BASE}write_config: true\nfiles:\n- {{to: /data/image.yaml, content: x}}\n"
    ));
    assert!(e.contains("write_config adds"), "{e}");
    let e = err("base: {source: 'ftp://x', rootfs_size: 1}\n");
    assert!(e.contains("base.source"), "{e}");
    let e = err("base: {source: 1.2.3, rootfs_size: lots}\n");
    assert!(e.contains("base.rootfs_size") && e.contains("lots"), "{e}");
    let e = err("base: {source: 1.2.3}\n");
    assert!(e.contains("rootfs_size"), "{e}");
    let e = err(&format!("{BASE}output: {{size: -5}}\n"));
    assert!(e.contains("output.size"), "{e}");
    let e = err(&format!("{BASE}oci_images:\n- {{ident: 'Bad/Name:1'}}\n"));
    assert!(e.contains("oci_images[0].ident"), "{e}");
    let e = err(&format!(
        "{BASE}oci_images:\n- {{ident: 'a/b:1'}}\n- {{ident: 'a/b:1'}}\n"
    ));
    assert!(e.contains("oci_images[1].ident: duplicate"), "{e}");
    let e = err(&format!("{BASE}colour: blue\n"));
    assert!(e.contains("colour"), "{e}");
    let e = err(&format!("{BASE}offspot: [1]\n"));
    assert!(e.contains("offspot"), "{e}");
    let e = err(&format!("{BASE}offspot: {{ap: {{1: x}}}}\n"));
    assert!(
        e.contains("offspot.ap.Number(1): mapping keys must be strings"),
        "{e}"
    );
    let e = Recipe::from_json_str("{\"base\": {\"source\": 1}}", "r.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("r.json: base.source:"), "{e}");
    let e = err("base: [\n");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn lock_pins_and_unpinned_list() {
    let yaml = format!(
        "{BASE}files:\n\
         - {{to: /data/a.zim, url: 'https://h/a.zim'}}\n\
         - {{to: /data/b, url: 'https://h/b.tar', via: tar, size: 10}}\n\
         - {{to: /data/c, content: hi}}\n\
         oci_images:\n- {{ident: 'ghcr.io/o/x:1', filesize: 1, fullsize: 1, url: null}}\n"
    );
    let mut r = Recipe::from_yaml_str(&yaml, "r").unwrap();
    let missing: Vec<String> = r.unpinned().iter().map(|u| u.to_string()).collect();
    assert_eq!(
        missing,
        vec![
            "base (https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img): no sha256 checksum",
            "files[0] (https://h/a.zim): no sha256 checksum and exact size",
            "files[1] (https://h/b.tar): no sha256 checksum",
            "oci_images[0] (ghcr.io/o/x:1): no @sha256 digest",
        ]
    );
    let mut lock = Lock::default();
    for (u, c) in [
        (
            "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img",
            'a',
        ),
        ("https://h/a.zim", 'b'),
        ("https://h/b.tar", 'c'),
    ] {
        lock.files.insert(
            u.into(),
            LockedFile {
                sha256: c.to_string().repeat(64),
                size: 7,
            },
        );
    }
    let digest = format!("sha256:{}", "d".repeat(64));
    lock.oci.insert(
        "ghcr.io/o/x:1".into(),
        LockedOci {
            archive_sha256: "e".repeat(64),
            digest: digest.clone(),
            filesize: 20,
            fullsize: 19,
        },
    );
    r.apply_lock(&lock);
    assert_eq!(r.unpinned(), vec![]);
    assert_eq!(r.files[0].pin(), Some((&*"b".repeat(64), 7)));
    assert_eq!(
        r.files[1].size.bytes(),
        Some(10),
        "archive size is the expanded size"
    );
    assert_eq!(r.oci_images[0].ident, format!("ghcr.io/o/x:1@{digest}"));
    assert_eq!(r.oci_images[0].filesize, Some(20));
    // A pinned recipe serialises and reads back with its pins.
    let again = Recipe::from_yaml_str(&r.to_yaml(), "r").unwrap();
    assert_eq!(again.unpinned(), vec![]);
}
