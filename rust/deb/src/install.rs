//! Unpacking a whole `.deb` into a [`Tree`]: the glue the image builder calls once per
//! package, in lock order.

use std::io::{self, Read};

use md5::{Digest, Md5};

use crate::deb::{ControlInfo, Deb, EntryMeta};
use crate::error::{Error, Result};
use crate::relation::parse_relation_list;
use crate::tree::{Node, Tree};

/// What [`install_deb`] read from a package.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The control member (for the status file and `info/`).
    pub control: ControlInfo,
    /// The package's paths as it ships them (before usr-merge, as dpkg lists them in
    /// `info/PKG.list`), in archive order.
    pub paths: Vec<String>,
    /// Conffiles with the md5 of their shipped content, as the status file's
    /// `Conffiles` field wants them: `(/etc/x, hex)`, in `conffiles` order.
    pub conffiles: Vec<(String, String)>,
}

/// Hashes everything read through it.
struct Md5Reader<'a> {
    inner: &'a mut dyn Read,
    md5: Md5,
}

impl Read for Md5Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
}

/// Unpacks the `.deb` read from `reader` into `tree`. For every regular file, `store`
/// receives its metadata and a reader of its bytes (read it to the end or not: the
/// rest is skipped) and returns the content handle kept in the tree. The package's
/// `Replaces` field decides file conflicts (see [`crate::tree`]).
pub fn install_deb<T, R, F>(
    tree: &mut Tree<T>,
    reader: R,
    what: &str,
    mut store: F,
) -> Result<Installed>
where
    T: Clone + PartialEq,
    R: Read,
    F: FnMut(&EntryMeta, &mut dyn Read) -> Result<T>,
{
    let deb = Deb::open(reader, what)?;
    let control = deb.control().clone();
    let replaces: Vec<String> = match control.control.get("Replaces") {
        Some(r) => parse_relation_list(r)
            .map_err(|e| Error::Deb {
                what: what.to_string(),
                message: format!("Replaces: {e}"),
            })?
            .into_iter()
            .map(|r| r.name)
            .collect(),
        None => Vec::new(),
    };
    let mut data = deb.into_data()?;
    let mut paths = Vec::new();
    let mut conffile_md5 = std::collections::BTreeMap::new();
    for entry in data.entries()? {
        let mut entry = entry?;
        let meta = entry.meta.clone();
        let node = match crate::tree::non_file_node(&meta, &control.package) {
            Some(n) => n,
            None if control.conffiles.contains(&meta.path) => {
                let mut hashing = Md5Reader {
                    inner: &mut entry,
                    md5: Md5::new(),
                };
                let content = store(&meta, &mut hashing)?;
                // Whatever `store` left unread still counts for the digest.
                io::copy(&mut hashing, &mut io::sink()).map_err(|e| Error::Io {
                    context: format!("{what}: {}", meta.path),
                    source: e,
                })?;
                conffile_md5.insert(meta.path.clone(), hex::encode(hashing.md5.finalize()));
                Node::from_entry(&meta, &control.package, content)
            }
            None => {
                let content = store(&meta, &mut entry)?;
                Node::from_entry(&meta, &control.package, content)
            }
        };
        tree.insert(&meta.path, node, &replaces);
        paths.push(meta.path);
    }
    let conffiles = control
        .conffiles
        .iter()
        .filter_map(|c| conffile_md5.get(c).map(|m| (format!("/{c}"), m.clone())))
        .collect();
    Ok(Installed {
        control,
        paths,
        conffiles,
    })
}
