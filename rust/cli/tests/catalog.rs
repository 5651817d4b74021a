//! `nixspot catalog search|show|update` against a real `kiwix-serve --library` (Debian's
//! kiwix-tools) on 127.0.0.1, its library built by `kiwix-manage` from the fixture ZIM
//! plus hand-written books pointing at the same file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);

/// (uuid, name, flavour, date, size in KiB): two versions of one name, UUID order ≠ date order.
const BOOKS: &[(&str, &str, &str, &str, u64)] = &[
    (
        "00000000-0000-4000-8000-000000000001",
        "wikipedia_en_climate_change",
        "nopic",
        "2024-01-03",
        60,
    ),
    (
        "00000000-0000-4000-8000-000000000002",
        "wikipedia_en_climate_change",
        "nopic",
        "2024-05-12",
        61,
    ),
    (
        "00000000-0000-4000-8000-000000000003",
        "wikipedia_en_climate_change",
        "maxi",
        "2024-05-12",
        9000,
    ),
];

fn library(dir: &Path) -> PathBuf {
    let xml = dir.join("library.xml");
    let zim = Path::new(ZIM).canonicalize().expect("fixture ZIM");
    let status = Command::new("kiwix-manage")
        .arg(&xml)
        .arg("add")
        .arg(&zim)
        .arg("--url=http://127.0.0.1:9/zim/wikibooks_be_all_nopic_2017-02.zim.meta4")
        .stdout(Stdio::null())
        .status()
        .expect("kiwix-manage (apt: kiwix-tools)");
    assert!(status.success());
    let mut books = String::new();
    for (id, name, flavour, date, kib) in BOOKS {
        books.push_str(&format!(
            "<book id=\"{id}\" path=\"{}\" url=\"http://127.0.0.1:9/zim/{name}_{flavour}_{}.zim.meta4\" \
             title=\"Climate Change\" description=\"Wikipedia articles about climate change\" \
             language=\"eng\" creator=\"Wikipedia\" publisher=\"openZIM\" name=\"{name}\" \
             flavour=\"{flavour}\" tags=\"wikipedia;_category:wikipedia\" date=\"{date}\" \
             articleCount=\"10\" mediaCount=\"2\" size=\"{kib}\" />\n",
            zim.display(),
            &date[..7]
        ));
    }
    let text = std::fs::read_to_string(&xml).unwrap();
    std::fs::write(
        &xml,
        text.replace("</library>", &format!("{books}</library>")),
    )
    .unwrap();
    xml
}

fn nixspot(cache: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nixspot"));
    cmd.arg("catalog").args(args).arg("--cache-dir").arg(cache);
    // The catalog comes from the test's flags or environment only.
    cmd.env_remove("NIXSPOT_CATALOG");
    cmd
}

fn run(mut cmd: impl std::borrow::BorrowMut<Command>) -> Output {
    let cmd = cmd.borrow_mut();
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn search_show_update_and_offline() {
    let dir = tempfile::tempdir().unwrap();
    let server = nixspot_testkit::KiwixServe::start(&library(dir.path()));
    let cache = dir.path().join("cache");
    let url = server.url.clone();

    // A readable table: header, then one row per matching entry.
    let out = run(nixspot(
        &cache,
        &["search", "climate", "--flavour", "nopic", "--catalog", &url],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for column in ["NAME", "FLAVOUR", "TITLE", "LANGUAGE", "SIZE", "DATE"] {
        assert!(lines[0].contains(column), "{table}");
    }
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "wikipedia_en_climate_change",
            "nopic",
            "Climate",
            "Change",
            "eng",
            "61.0",
            "KiB",
            "2024-05-12"
        ],
        "{table}"
    );
    // Columns line up: every row has its date where the header has DATE.
    let date_column = lines[0].find("DATE").unwrap();
    assert!(
        lines
            .iter()
            .skip(1)
            .all(|l| l.find("2024-") == Some(date_column)),
        "{table}"
    );
    assert!(lines[2].ends_with("2024-01-03"), "{table}");

    // --json: one object per line; NIXSPOT_CATALOG names the catalog.
    let out =
        run(nixspot(&cache, &["search", "--lang", "bel", "--json"]).env("NIXSPOT_CATALOG", &url));
    assert!(out.status.success(), "{}", stderr(&out));
    let objects: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["name"], "kiwix.wikibooks_be_all");
    assert_eq!(objects[0]["length"], 152_576);
    let out = run(nixspot(
        &cache,
        &["search", "--max-size", "62464", "--json", "--catalog", &url],
    ));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));

    // show: every field of every version, newest first.
    let out = run(nixspot(
        &cache,
        &[
            "show",
            "wikipedia_en_climate_change:nopic",
            "--catalog",
            &url,
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    let first = shown.find("2024-05-12").unwrap();
    let second = shown.find("2024-01-03").unwrap();
    assert!(first < second, "{shown}");
    for field in [
        "name",
        "flavour",
        "title",
        "summary",
        "languages",
        "category",
        "tags",
        "publisher",
        "author",
        "date",
        "issued",
        "articles",
        "media",
        "size",
        "url",
        "icon",
        "preview",
        "id",
    ] {
        assert_eq!(
            shown
                .lines()
                .filter(|l| l.split_whitespace().next() == Some(field))
                .count(),
            2,
            "{field}: {shown}"
        );
    }
    assert!(
        shown.contains("http://127.0.0.1:9/zim/wikipedia_en_climate_change_nopic_2024-05.zim\n"),
        "{shown}"
    );

    // An unknown name: an error naming it and the closest names.
    let out = run(nixspot(
        &cache,
        &["show", "wikipedia_en_climat_change", "--catalog", &url],
    ));
    assert_eq!(out.status.code(), Some(1));
    let error = stderr(&out);
    assert!(
        error.contains("wikipedia_en_climat_change: not in catalog"),
        "{error}"
    );
    assert!(
        error.contains("closest names: wikipedia_en_climate_change"),
        "{error}"
    );

    let out = run(nixspot(&cache, &["update", "--catalog", &url]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("4 entries"), "{}", stderr(&out));

    // Unreachable: the cached copy answers, and says so.
    drop(server);
    let out = run(nixspot(&cache, &["search", "wikibooks", "--catalog", &url]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("kiwix.wikibooks_be_all"));
    assert!(
        stderr(&out).contains("using the cached copy"),
        "{}",
        stderr(&out)
    );
    let out = run(nixspot(&cache, &["search", "--offline", "--catalog", &url]));
    assert!(
        out.status.success() && stderr(&out).contains("offline"),
        "{}",
        stderr(&out)
    );
    // update cannot refresh: exit 4, the copy is kept.
    let out = run(nixspot(&cache, &["update", "--catalog", &url]));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));

    // Unreachable and no copy: exit 4 with a clear message.
    let empty = dir.path().join("empty");
    let out = run(nixspot(&empty, &["search", "climate", "--catalog", &url]));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unreachable") && stderr(&out).contains("no cached copy"),
        "{}",
        stderr(&out)
    );
}
