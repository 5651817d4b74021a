//! From a description and its lock to an image file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nixspot_deb::accounts::{Accounts, Group, User};
use nixspot_deb::alternatives::{Alternative, Slave};
use nixspot_deb::depmod::{self, Module};
use nixspot_deb::lock::Lock;
use nixspot_deb::status::{self, InstalledPackage};
use nixspot_deb::tree::{usr_merge_path, Node, NodeKind, Tree};
use nixspot_fetch::Cache;
use nixspot_fs::disk::{self, FatData, ImageSpec, PartitionContent};
use nixspot_fs::ext4::{Entry, EntryKind, Ext4Options, FileData, Meta, Size, SourceRange};
use nixspot_fs::partition::TableKind;
use sha2::{Digest, Sha256};

use crate::config::BaseConfig;
use crate::cpio::{self, CpioEntry, CpioKind};
use crate::download::Downloader;
use crate::error::{Error, Result};

/// The init (PID 1) of the root filesystem.
const INIT: &str = include_str!("files/init");
/// The initramfs `/init`.
const INITRAMFS_INIT: &str = include_str!("files/initramfs-init");
/// udhcpc's event script (busybox ships none).
const UDHCPC_SCRIPT: &str = include_str!("files/udhcpc.script");
/// `/etc/fstab`.
const FSTAB: &str = include_str!("files/fstab");
/// `/etc/modprobe.d/nixspot.conf`.
const MODPROBE_CONF: &str = include_str!("files/modprobe.conf");

/// Every file the build embeds (part of what identifies an image it makes).
pub const EMBEDDED_FILES: [&str; 5] = [INIT, INITRAMFS_INIT, UDHCPC_SCRIPT, FSTAB, MODPROBE_CONF];

/// The `update-alternatives --install` calls of the base's packages' maintainer scripts
/// (which never run here): wireless-regdb's, which make `/lib/firmware/regulatory.db`
/// (and its signature, which the kernel's cfg80211 checks) the Debian-signed database
/// (priority 100) over upstream's (50). Only choices whose files an image has get links.
fn debian_alternatives() -> Vec<Alternative> {
    let regdb = |variant: &str, priority: i64| Alternative {
        name: "regulatory.db".into(),
        link: "/lib/firmware/regulatory.db".into(),
        path: format!("/lib/firmware/regulatory.db-{variant}"),
        priority,
        slaves: vec![Slave {
            name: "regulatory.db.p7s".into(),
            link: "/lib/firmware/regulatory.db.p7s".into(),
            path: format!("/lib/firmware/regulatory.db.p7s-{variant}"),
        }],
    };
    vec![regdb("debian", 100), regdb("upstream", 50)]
}

/// One inode per this many bytes in the ext4 partitions (mke2fs's default).
const BYTES_PER_INODE: u64 = 16384;

/// nixspot's on-device programs, installed in `/usr/bin`.
pub const DEVICE_PROGRAMS: [&str; 3] = ["nixspot-dashboard", "nixspot-portal", "nixspot-runtime"];

/// Where and how to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The download cache (content-addressed, shared with `nixspot fetch`).
    pub cache_dir: PathBuf,
    /// A directory holding [`DEVICE_PROGRAMS`] (static arm64 binaries); without it the
    /// image has no nixspot programs and the init skips the runtime.
    pub device_binaries: Option<PathBuf>,
    /// Scratch directory for unpacked file data (removed by the caller).
    pub work_dir: PathBuf,
    /// SOURCE_DATE_EPOCH; by default the newest file time in the packages.
    pub timestamp: Option<i64>,
    /// Never download: every `.deb` must already be in the cache.
    pub offline: bool,
}

/// What a build made.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Kernel version (`/lib/modules/<version>`).
    pub kernel_version: String,
    /// Packages installed.
    pub packages: usize,
    /// Total size of their `.deb`s.
    pub deb_bytes: u64,
    /// Entries of the root filesystem.
    pub root_entries: usize,
    /// Paths two packages shipped differently (`path: first vs second`).
    pub conflicts: Vec<String>,
    /// Modules in the initramfs, in load order.
    pub initramfs_modules: Vec<String>,
    /// The timestamp used.
    pub timestamp: i64,
    /// Size of the image file.
    pub image_bytes: u64,
    /// Partitions: (start, size) in bytes.
    pub partitions: Vec<(u64, u64)>,
}

/// File content in the spool: equal when the bytes are equal.
#[derive(Debug, Clone, Eq)]
struct Blob {
    sha256: [u8; 32],
    offset: u64,
    len: u64,
}

impl PartialEq for Blob {
    fn eq(&self, other: &Blob) -> bool {
        self.sha256 == other.sha256 && self.len == other.len
    }
}

/// One append-only file holding every regular file's data, so memory stays bounded
/// and the ext4 writer copies ranges of it.
struct Spool {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Spool {
    fn create(path: PathBuf) -> Result<Spool> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Spool { path, file, len: 0 })
    }

    fn add_reader(&mut self, r: &mut dyn Read, what: &str) -> Result<Blob> {
        let offset = self.len;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        self.file
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&self.path, e))?;
        loop {
            let n = r.read(&mut buf).map_err(|e| Error::io(what, e))?;
            if n == 0 {
                break;
            }
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            self.file
                .write_all(chunk)
                .map_err(|e| Error::io(&self.path, e))?;
            self.len += n as u64;
        }
        Ok(Blob {
            sha256: hasher.finalize().into(),
            offset,
            len: self.len - offset,
        })
    }

    fn add(&mut self, bytes: &[u8]) -> Result<Blob> {
        self.add_reader(&mut &bytes[..], "generated file")
    }

    fn read(&mut self, blob: &Blob) -> Result<Vec<u8>> {
        let len = usize::try_from(blob.len)
            .map_err(|_| Error::Content(format!("file of {} bytes too large", blob.len)))?;
        let mut out = vec![0u8; len];
        self.file
            .seek(SeekFrom::Start(blob.offset))
            .map_err(|e| Error::io(&self.path, e))?;
        self.file
            .read_exact(&mut out)
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(out)
    }
}

fn node(kind: NodeKind<Blob>, mode: u32, uid: u64, gid: u64, mtime: u64) -> Node<Blob> {
    Node {
        kind,
        mode,
        uid,
        gid,
        mtime,
        package: String::new(),
    }
}

/// The system users nixspot's services run as (nixspot-runtime's `run-as` finds them by
/// name), `(name, uid = gid, description)`: ids fixed after the packages' own
/// ([`Accounts::hotspot`], up to 103) so every image has the same files. No home and no
/// login: they own nothing in the root filesystem.
pub const SERVICE_USERS: [(&str, u32, &str); 3] = [
    ("kiwix", 104, "kiwix-serve"),
    ("nixspot-portal", 105, "nixspot captive portal"),
    ("nixspot-dashboard", 106, "nixspot dashboard generator"),
];

/// The image's users and groups: the packages' ([`Accounts::hotspot`]) and
/// [`SERVICE_USERS`], each in a group of its own.
pub fn accounts() -> Accounts {
    let mut a = Accounts::hotspot();
    for (name, id, gecos) in SERVICE_USERS {
        a.groups.push(Group {
            name: name.to_string(),
            gid: id,
            members: Vec::new(),
        });
        a.users.push(User {
            name: name.to_string(),
            uid: id,
            gid: id,
            gecos: gecos.to_string(),
            home: "/nonexistent".to_string(),
            shell: "/usr/sbin/nologin".to_string(),
            password: "*".to_string(),
            create_home: false,
        });
    }
    a
}

/// Checks that `lock` was made for this description.
pub fn check_lock(config: &BaseConfig, lock: &Lock) -> Result<()> {
    let sorted = |v: &[String]| -> Vec<String> {
        let mut v = v.to_vec();
        v.sort();
        v.dedup();
        v
    };
    let stale = |what: &str, expected: String, actual: String| {
        Error::Content(format!(
            "the lock is out of date ({what}: the description says {expected}, the lock has {actual}); run `nixspot base lock --update`"
        ))
    };
    if sorted(&config.packages) != lock.requested {
        return Err(stale(
            "packages",
            format!("{:?}", sorted(&config.packages)),
            format!("{:?}", lock.requested),
        ));
    }
    if sorted(&config.mirror.exclude) != lock.exclude {
        return Err(stale(
            "mirror.exclude",
            format!("{:?}", sorted(&config.mirror.exclude)),
            format!("{:?}", lock.exclude),
        ));
    }
    if config.mirror.architecture != lock.architecture {
        return Err(stale(
            "mirror.architecture",
            config.mirror.architecture.clone(),
            lock.architecture.clone(),
        ));
    }
    Ok(())
}

/// Builds the image at `output` (replaced) from `config` and `lock`.
pub fn build(
    config: &BaseConfig,
    lock: &Lock,
    opts: &BuildOptions,
    output: &Path,
) -> Result<Summary> {
    check_lock(config, lock)?;
    let version = config
        .kernel_version()
        .ok_or_else(|| Error::Content(format!("kernel: bad package name {}", config.kernel)))?
        .to_string();
    std::fs::create_dir_all(&opts.work_dir).map_err(|e| Error::io(&opts.work_dir, e))?;
    let cache = Cache::open(&opts.cache_dir)?;
    let dl = Downloader::new()?;
    let mut spool = Spool::create(opts.work_dir.join("spool"))?;
    let mut tree: Tree<Blob> = Tree::new(true);
    let mut installed = Vec::new();
    let mut info = BTreeMap::new();

    // Unpack in lock (name) order: conflicts then resolve the same way every time.
    for (name, pinned) in &lock.packages {
        if opts.offline && cache.lookup(&pinned.sha256).is_none() {
            return Err(Error::Content(format!(
                "{name} ({}) is not in the cache {} and downloads are off (--offline); \
                 run `nixspot base fetch` first, or build without --offline",
                pinned.url,
                opts.cache_dir.display()
            )));
        }
        let path = dl.ensure_package(&cache, pinned)?;
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let what = format!("{name} ({})", pinned.url);
        let inst = nixspot_deb::install::install_deb(
            &mut tree,
            BufReader::with_capacity(1 << 16, file),
            &what,
            |meta, r| {
                spool
                    .add_reader(r, &meta.path)
                    .map_err(|e| nixspot_deb::Error::Config(e.to_string()))
            },
        )?;
        info.extend(status::info_files(
            &inst.control,
            inst.paths.iter().map(String::as_str),
        ));
        installed.push(InstalledPackage {
            control: inst.control.control.clone(),
            conffiles: inst.conffiles,
        });
    }

    let epoch = match opts.timestamp {
        Some(t) => t,
        None => tree.nodes().values().map(|n| n.mtime).max().unwrap_or(0) as i64,
    };
    let t = epoch.max(0) as u64;

    // What dpkg and the maintainer scripts would have written.
    let accounts = accounts();
    accounts.validate()?;
    let shadow_gid = accounts.gid_of("shadow").unwrap_or(0) as u64;
    let mut files: Vec<(&str, Vec<u8>, u32, u64)> = vec![
        ("etc/passwd", accounts.passwd().into_bytes(), 0o644, 0),
        ("etc/group", accounts.group().into_bytes(), 0o644, 0),
        (
            "etc/shadow",
            accounts.shadow().into_bytes(),
            0o640,
            shadow_gid,
        ),
        (
            "etc/gshadow",
            accounts.gshadow().into_bytes(),
            0o640,
            shadow_gid,
        ),
        ("usr/sbin/init", INIT.as_bytes().to_vec(), 0o755, 0),
        ("etc/fstab", FSTAB.as_bytes().to_vec(), 0o644, 0),
        (
            "etc/udhcpc/default.script",
            UDHCPC_SCRIPT.as_bytes().to_vec(),
            0o755,
            0,
        ),
    ];
    let hostname = format!("{}\n", config.hostname);
    let hosts = format!(
        "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n",
        config.hostname
    );
    let interfaces =
        "# written by nixspot-runtime from offspot.yaml\nauto lo\niface lo inet loopback\n";
    let epoch_file = format!("{epoch}\n");
    files.push(("etc/hostname", hostname.into_bytes(), 0o644, 0));
    files.push((
        "etc/modprobe.d/nixspot.conf",
        MODPROBE_CONF.as_bytes().to_vec(),
        0o644,
        0,
    ));
    files.push(("etc/hosts", hosts.into_bytes(), 0o644, 0));
    files.push((
        "etc/network/interfaces",
        interfaces.as_bytes().to_vec(),
        0o644,
        0,
    ));
    files.push((
        "etc/nixspot/source-date-epoch",
        epoch_file.into_bytes(),
        0o644,
        0,
    ));
    for (path, bytes, mode, gid) in files {
        let blob = spool.add(&bytes)?;
        tree.set(path, node(NodeKind::File(blob), mode, 0, gid, t));
    }
    for (home, uid, gid) in accounts.home_directories() {
        let home = home.trim_start_matches('/').to_string();
        let mode = if home == "root" { 0o700 } else { 0o755 };
        tree.set(&home, node(NodeKind::Dir, mode, uid as u64, gid as u64, t));
    }
    let dirs: [(&str, u32); 17] = [
        ("boot/firmware", 0o755),
        ("data", 0o755),
        ("dev", 0o755),
        ("etc/offspot", 0o755),
        ("etc/service", 0o755),
        ("etc/sv", 0o755),
        ("mnt", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("run", 0o755),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("var/lib/misc", 0o755),
        ("var/log", 0o755),
        ("var/tmp", 0o1777),
        ("var/cache", 0o755),
        ("var/spool", 0o755),
    ];
    for (d, mode) in dirs {
        tree.set(d, node(NodeKind::Dir, mode, 0, 0, t));
    }
    let links = [
        ("var/run", "/run"),
        ("var/lock", "/run/lock"),
        (
            "usr/share/udhcpc/default.script",
            "/etc/udhcpc/default.script",
        ),
    ];
    for (path, target) in links {
        tree.set(
            path,
            node(NodeKind::Symlink(target.to_string()), 0o777, 0, 0, t),
        );
    }
    // update-alternatives as the packages' postinst scripts would run it
    let alternatives = nixspot_deb::alternatives::alternatives(&debian_alternatives(), |path| {
        tree.get(&usr_merge_path(path)).is_some()
    })?;
    for link in alternatives.links {
        tree.set(
            &usr_merge_path(&link.path),
            node(NodeKind::Symlink(link.target), 0o777, 0, 0, t),
        );
    }
    for (name, text) in alternatives.admin_files {
        let blob = spool.add(text.as_bytes())?;
        tree.set(
            &format!("var/lib/dpkg/alternatives/{name}"),
            node(NodeKind::File(blob), 0o644, 0, 0, t),
        );
    }
    match tree.get("usr/bin/busybox") {
        Some(n) if matches!(n.kind, NodeKind::File(_)) => {}
        _ => {
            return Err(Error::Content(
                "no /usr/bin/busybox: add busybox-static to packages".into(),
            ))
        }
    }
    if tree.get("usr/bin/sh").is_none() {
        tree.set(
            "usr/bin/sh",
            node(NodeKind::Symlink("busybox".to_string()), 0o777, 0, 0, t),
        );
    }
    if let Some(dir) = &opts.device_binaries {
        for prog in DEVICE_PROGRAMS {
            let p = dir.join(prog);
            let mut f = File::open(&p).map_err(|e| Error::io(&p, e))?;
            let blob = spool.add_reader(&mut f, &p.display().to_string())?;
            tree.set(
                &format!("usr/bin/{prog}"),
                node(NodeKind::File(blob), 0o755, 0, 0, t),
            );
        }
    }

    // depmod
    let moddir = format!("usr/lib/modules/{version}");
    let prefix = format!("{moddir}/");
    let module_blobs: Vec<(String, Blob)> = tree
        .nodes()
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .filter_map(|(p, n)| match &n.kind {
            NodeKind::File(b) => {
                let rel = p.get(prefix.len()..).unwrap_or_default().to_string();
                depmod::is_module_path(&rel).then(|| (rel, b.clone()))
            }
            _ => None,
        })
        .collect();
    if module_blobs.is_empty() {
        return Err(Error::Content(format!(
            "no kernel modules under /{moddir} (is {} in the lock?)",
            config.kernel
        )));
    }
    let mut modules = Vec::with_capacity(module_blobs.len());
    for (rel, blob) in &module_blobs {
        modules.push(Module::from_file_bytes(rel, &spool.read(blob)?)?);
    }
    let order = match tree
        .get(&format!("{moddir}/modules.order"))
        .map(|n| n.kind.clone())
    {
        Some(NodeKind::File(b)) => Some(String::from_utf8_lossy(&spool.read(&b)?).into_owned()),
        _ => None,
    };
    let dep = depmod::depmod(modules, order.as_deref())?;
    for (name, text) in [
        ("modules.dep", &dep.modules_dep),
        ("modules.alias", &dep.modules_alias),
        ("modules.softdep", &dep.modules_softdep),
        ("modules.devname", &dep.modules_devname),
    ] {
        let blob = spool.add(text.as_bytes())?;
        tree.set(
            &format!("{moddir}/{name}"),
            node(NodeKind::File(blob), 0o644, 0, 0, t),
        );
    }

    // the dpkg database
    for (path, bytes) in status::database_files(&installed).into_iter().chain(info) {
        let blob = spool.add(&bytes)?;
        tree.set(&path, node(NodeKind::File(blob), 0o644, 0, 0, t));
    }
    tree.finish(t)?;
    let conflicts = tree
        .conflicts()
        .iter()
        .map(|c| {
            format!(
                "/{}: {} vs {} ({:?})",
                c.path, c.first, c.second, c.resolution
            )
        })
        .collect();

    // p1: boot files
    let mut boot: BTreeMap<String, FatData> = BTreeMap::new();
    let fw_prefix = "usr/lib/raspi-firmware/";
    let fw: Vec<(String, Blob)> = tree
        .nodes()
        .range(fw_prefix.to_string()..)
        .take_while(|(p, _)| p.starts_with(fw_prefix))
        .filter_map(|(p, n)| match &n.kind {
            NodeKind::File(b) => {
                let rel = p.get(fw_prefix.len()..).unwrap_or_default();
                (!rel.contains('/')).then(|| (rel.to_string(), b.clone()))
            }
            _ => None,
        })
        .collect();
    if !fw.iter().any(|(n, _)| n == "start.elf") {
        return Err(Error::Content(format!(
            "no /{fw_prefix}start.elf: add raspi-firmware to packages"
        )));
    }
    for (name, blob) in fw {
        boot.insert(name, FatData::Bytes(spool.read(&blob)?));
    }
    let file_at = |tree: &Tree<Blob>, path: &str| -> Result<Blob> {
        match tree.get(path).map(|n| &n.kind) {
            Some(NodeKind::File(b)) => Ok(b.clone()),
            _ => Err(Error::Content(format!(
                "/{path} is missing from the packages"
            ))),
        }
    };
    let kernel = file_at(&tree, &format!("boot/vmlinuz-{version}"))?;
    boot.insert(
        format!("vmlinuz-{version}"),
        FatData::Bytes(spool.read(&kernel)?),
    );
    for dtb in &config.dtbs {
        let blob = file_at(&tree, &format!("usr/lib/linux-image-{version}/{dtb}"))?;
        let base = dtb.rsplit('/').next().unwrap_or(dtb);
        boot.insert(base.to_string(), FatData::Bytes(spool.read(&blob)?));
    }
    let (initrd, initramfs_modules) =
        initramfs(config, &version, &dep.modules_dep, &tree, &mut spool, epoch)?;
    boot.insert(format!("initrd.img-{version}"), FatData::Bytes(initrd));
    let config_txt = format!(
        "kernel=vmlinuz-{version}\ninitramfs initrd.img-{version} followkernel\n{}",
        config.config_txt
    );
    boot.insert("config.txt".into(), FatData::Bytes(config_txt.into_bytes()));
    boot.insert(
        "cmdline.txt".into(),
        FatData::Bytes(format!("{}\n", config.cmdline).into_bytes()),
    );
    let offspot = format!(
        "# offspot.yaml: settings nixspot-runtime applies at boot (applied keys are removed)\n---\nhostname: {}\n",
        config.hostname
    );
    boot.insert("offspot.yaml".into(), FatData::Bytes(offspot.into_bytes()));

    // p2: the root filesystem
    let mut root_entries = Vec::with_capacity(tree.nodes().len());
    for (path, n) in tree.nodes() {
        let kind = match &n.kind {
            NodeKind::File(b) => EntryKind::File(FileData::Ranges {
                source: spool.path.clone(),
                size: b.len,
                ranges: if b.len == 0 {
                    Vec::new()
                } else {
                    vec![SourceRange {
                        file_offset: 0,
                        source_offset: b.offset,
                        len: b.len,
                    }]
                },
            }),
            NodeKind::Dir => EntryKind::Dir,
            NodeKind::Symlink(target) => EntryKind::Symlink(target.clone().into_bytes()),
            NodeKind::Hardlink(target) => EntryKind::HardLink(PathBuf::from(target)),
            NodeKind::Char { major, minor } => EntryKind::CharDevice {
                major: *major,
                minor: *minor,
            },
            NodeKind::Block { major, minor } => EntryKind::BlockDevice {
                major: *major,
                minor: *minor,
            },
            NodeKind::Fifo => EntryKind::Fifo,
        };
        root_entries.push(Entry {
            path: PathBuf::from(path),
            kind,
            meta: meta(n.mode, n.uid, n.gid, n.mtime as i64)?,
        });
    }
    spool.file.flush().map_err(|e| Error::io(&spool.path, e))?;

    // p3: data
    let data_entries = vec![
        Entry {
            path: "master_fs".into(),
            kind: EntryKind::File(FileData::Bytes(Vec::new())),
            meta: meta(0o644, 0, 0, epoch)?,
        },
        Entry {
            path: "images".into(),
            kind: EntryKind::Dir,
            meta: meta(0o755, 0, 0, epoch)?,
        },
        Entry {
            path: "contents".into(),
            kind: EntryKind::Dir,
            meta: meta(0o755, 0, 0, epoch)?,
        },
    ];

    let seed = |part: &str| format!("{}:{part}", config.name).into_bytes();
    let root_entries_count = root_entries.len();
    let parts = disk::create_image(
        output,
        ImageSpec {
            table: TableKind::Mbr,
            align: 4 << 20,
            seed: seed("disk"),
            timestamp: epoch,
            partitions: vec![
                PartitionContent::Fat32 {
                    size: config.partitions.boot.size,
                    label: config.partitions.boot.label.clone(),
                    files: boot,
                },
                PartitionContent::Ext4 {
                    options: Ext4Options {
                        // Services create files at run time (supervise state, logs,
                        // caches): inodes as dense as mke2fs makes them, not just
                        // enough for the packages.
                        bytes_per_inode: Some(BYTES_PER_INODE),
                        ..disk::ext4_options(
                            &config.partitions.root.label,
                            &seed("rootfs"),
                            epoch,
                            Size::Minimal {
                                margin_bytes: config.partitions.root.margin_bytes,
                                margin_percent: 0,
                            },
                        )
                    },
                    entries: root_entries,
                },
                PartitionContent::Ext4 {
                    options: Ext4Options {
                        bytes_per_inode: Some(BYTES_PER_INODE),
                        ..disk::ext4_options(
                            &config.partitions.data.label,
                            &seed("data"),
                            epoch,
                            Size::Exact(config.partitions.data.size),
                        )
                    },
                    entries: data_entries,
                },
            ],
            bootable: Some(0),
        },
    )?;
    let image_bytes = std::fs::metadata(output)
        .map_err(|e| Error::io(output, e))?
        .len();
    Ok(Summary {
        kernel_version: version,
        packages: lock.packages.len(),
        deb_bytes: lock.total_size(),
        root_entries: root_entries_count,
        conflicts,
        initramfs_modules,
        timestamp: epoch,
        image_bytes,
        partitions: parts.iter().map(|p| (p.start, p.size)).collect(),
    })
}

fn meta(mode: u32, uid: u64, gid: u64, mtime: i64) -> Result<Meta> {
    let id = |v: u64| {
        u32::try_from(v)
            .map_err(|_| Error::Content(format!("owner id {v} does not fit ext4's 32 bits")))
    };
    Ok(Meta {
        mode: (mode & 0o7777) as u16,
        uid: id(uid)?,
        gid: id(gid)?,
        mtime,
        xattrs: Vec::new(),
    })
}

/// `modules.dep` as a map from module name to (path, dependency paths).
fn parse_modules_dep(text: &str) -> BTreeMap<String, (String, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let (path, deps) = l.split_once(':')?;
            let deps = deps.split_whitespace().map(str::to_string).collect();
            Some((
                depmod::module_name_from_path(path),
                (path.to_string(), deps),
            ))
        })
        .collect()
}

/// The initramfs (gzipped newc cpio) and the module paths it loads, in order.
fn initramfs(
    config: &BaseConfig,
    version: &str,
    modules_dep: &str,
    tree: &Tree<Blob>,
    spool: &mut Spool,
    epoch: i64,
) -> Result<(Vec<u8>, Vec<String>)> {
    let deps = parse_modules_dep(modules_dep);
    let mut load: Vec<String> = Vec::new();
    for name in &config.initramfs_modules {
        let key = name.replace('-', "_");
        let (path, ds) = deps.get(&key).ok_or_else(|| {
            Error::Content(format!(
                "initramfsModules: no module {name} in /lib/modules/{version}/modules.dep"
            ))
        })?;
        // modules.dep lists dependencies users-first: load them last-to-first.
        for p in ds.iter().rev().chain(std::iter::once(path)) {
            if !load.contains(p) {
                load.push(p.clone());
            }
        }
    }
    let busybox = match tree.get("usr/bin/busybox").map(|n| &n.kind) {
        Some(NodeKind::File(b)) => spool.read(b)?,
        _ => return Err(Error::Content("no /usr/bin/busybox".into())),
    };
    let mut files: BTreeMap<String, CpioKind> = BTreeMap::new();
    files.insert("bin/busybox".into(), CpioKind::File(busybox));
    files.insert("bin/sh".into(), CpioKind::Symlink("busybox".into()));
    files.insert("dev/console".into(), CpioKind::Char { major: 5, minor: 1 });
    files.insert(
        "init".into(),
        CpioKind::File(INITRAMFS_INIT.as_bytes().to_vec()),
    );
    let load_list: String = load.iter().map(|p| format!("{version}/{p}\n")).collect();
    files.insert(
        "etc/modules.load".into(),
        CpioKind::File(load_list.into_bytes()),
    );
    let wanted: BTreeSet<&String> = load.iter().collect();
    let sub_dep: String = modules_dep
        .lines()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(p, _)| wanted.contains(&p.to_string()))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    files.insert(
        format!("lib/modules/{version}/modules.dep"),
        CpioKind::File(sub_dep.into_bytes()),
    );
    for p in &load {
        let blob = match tree
            .get(&format!("usr/lib/modules/{version}/{p}"))
            .map(|n| &n.kind)
        {
            Some(NodeKind::File(b)) => b.clone(),
            _ => {
                return Err(Error::Content(format!(
                    "module {p} listed in modules.dep is missing"
                )))
            }
        };
        files.insert(
            format!("lib/modules/{version}/{p}"),
            CpioKind::File(spool.read(&blob)?),
        );
    }
    let mut dirs: BTreeSet<String> = ["proc", "sys", "newroot", "dev", "etc", "bin"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for p in files.keys() {
        let mut cur = p.as_str();
        while let Some((parent, _)) = cur.rsplit_once('/') {
            dirs.insert(parent.to_string());
            cur = parent;
        }
    }
    let mut entries: Vec<CpioEntry> = dirs
        .into_iter()
        .map(|d| CpioEntry {
            path: d,
            kind: CpioKind::Dir,
            mode: 0o755,
        })
        .collect();
    for (path, kind) in files {
        let mode = match &kind {
            CpioKind::File(_) if path == "init" || path == "bin/busybox" => 0o755,
            CpioKind::Char { .. } => 0o600,
            CpioKind::Symlink(_) => 0o777,
            _ => 0o644,
        };
        entries.push(CpioEntry { path, kind, mode });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let archive = cpio::newc(&entries, epoch.clamp(0, u32::MAX as i64) as u32);
    let gz = cpio::gzip(&archive).map_err(|e| Error::io("initramfs (gzip)", e))?;
    Ok((gz, load))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regulatory_database_is_debians_when_wireless_regdb_is_unpacked() {
        let shipped = [
            "lib/firmware/regulatory.db-debian",
            "lib/firmware/regulatory.db.p7s-debian",
            "lib/firmware/regulatory.db-upstream",
            "lib/firmware/regulatory.db.p7s-upstream",
        ];
        let out = nixspot_deb::alternatives::alternatives(&debian_alternatives(), |p| {
            shipped.contains(&p)
        })
        .unwrap();
        let links: Vec<(&str, &str)> = out
            .links
            .iter()
            .map(|l| (l.path.as_str(), l.target.as_str()))
            .collect();
        for link in [
            (
                "lib/firmware/regulatory.db",
                "/etc/alternatives/regulatory.db",
            ),
            (
                "etc/alternatives/regulatory.db",
                "/lib/firmware/regulatory.db-debian",
            ),
            (
                "lib/firmware/regulatory.db.p7s",
                "/etc/alternatives/regulatory.db.p7s",
            ),
            (
                "etc/alternatives/regulatory.db.p7s",
                "/lib/firmware/regulatory.db.p7s-debian",
            ),
        ] {
            assert!(links.contains(&link), "{link:?} not in {links:?}");
        }
        // an image without the package gets no dangling link
        let none = nixspot_deb::alternatives::alternatives(&debian_alternatives(), |_| false);
        assert!(none.unwrap().links.is_empty());
    }
}
