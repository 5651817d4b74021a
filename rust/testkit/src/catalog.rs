//! The files of a one-book Kiwix catalog made of the shared fixture ZIM (the tiny
//! Belarusian Wikibooks): its downloads as a mirror serves them (the ZIM with its
//! MirrorBrain `.sha256` and `.meta4` files) and the library XML kiwix-serve serves as
//! the catalog, the book's URL pointing at those downloads. Tests serve the downloads
//! with their own HTTP server and start [`crate::KiwixServe`] on the library.

use std::path::{Path, PathBuf};

/// The real (tiny) Belarusian Wikibooks ZIM of the shared fixtures.
pub const ZIM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
);
/// Its sha256.
pub const ZIM_SHA256: &str = "99465e14effc7f951e9c017b4b3cee91967eb49c556d9f4f0d674adbe80d78c2";
/// Its file name on the download server (`zim/NAME`), as the catalog names it.
pub const ZIM_NAME: &str = "wikibooks_be_all_nopic_2017-02.zim";
/// A 1×1 PNG (the book's illustration, when [`Book::favicon`]).
const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// What the catalog's one book (`wikibooks_be_all:nopic`) comes with.
#[derive(Debug, Clone, Copy)]
pub struct Book {
    /// The download server has the `.meta4` file the catalog's URL names (without it
    /// a client falls back to the `.sha256` file).
    pub meta4: bool,
    /// The catalog carries the book's illustration.
    pub favicon: bool,
}

impl Book {
    /// Writes the downloads below `srv` (`srv/zim/NAME`, `NAME.sha256`, and
    /// `NAME.meta4` when [`Book::meta4`]); serve `srv` at the root of a URL.
    pub fn write_downloads(&self, srv: &Path) {
        let zim = std::fs::read(ZIM).expect("the fixture ZIM");
        let dir = srv.join("zim");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(ZIM_NAME), &zim).expect("write");
        std::fs::write(
            dir.join(format!("{ZIM_NAME}.sha256")),
            format!("{ZIM_SHA256}  {ZIM_NAME}\n"),
        )
        .expect("write");
        if self.meta4 {
            std::fs::write(
                dir.join(format!("{ZIM_NAME}.meta4")),
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metalink xmlns=\"urn:ietf:params:xml:ns:metalink\">\n  \
                     <file name=\"{ZIM_NAME}\">\n    <size>{}</size>\n    <hash type=\"sha-256\">{ZIM_SHA256}</hash>\n  </file>\n</metalink>\n",
                    zim.len()
                ),
            )
            .expect("write");
        }
    }

    /// Writes the library below `lib` (`library.xml` and the ZIM it lists), the book's
    /// download at `downloads` (`http://HOST:PORT` serving [`Book::write_downloads`]'s
    /// folder); returns the path of `library.xml` for [`crate::KiwixServe::start`].
    pub fn write_library(&self, lib: &Path, downloads: &str) -> PathBuf {
        std::fs::create_dir_all(lib).expect("mkdir");
        std::fs::copy(ZIM, lib.join("wb.zim")).expect("copying the fixture ZIM");
        let favicon = if self.favicon {
            format!(" favicon=\"{PNG_B64}\" faviconMimeType=\"image/png\"")
        } else {
            String::new()
        };
        let library = format!(
            "<library version=\"20110515\">\n  <book id=\"6f1d7a2e-0c43-4e0b-9a55-0d5b3c1e0001\" path=\"wb.zim\" \
             url=\"{downloads}/zim/{ZIM_NAME}.meta4\" title=\"Wikibooks (be)\" description=\"Belarusian Wikibooks\" \
             language=\"bel\" creator=\"Wikibooks\" publisher=\"Kiwix\" name=\"wikibooks_be_all\" flavour=\"nopic\" \
             tags=\"wikibooks;_category:wikibooks;nopic\" date=\"2017-02-01\" articleCount=\"10\" mediaCount=\"0\" \
             size=\"149\"{favicon}/>\n</library>\n"
        );
        let path = lib.join("library.xml");
        std::fs::write(&path, library).expect("write");
        path
    }
}
