//! A minimal bootable Raspberry Pi image for the driver's tests, built from two pinned
//! Debian bookworm arm64 packages: the kernel (with its modules and the Pi 3 B device
//! tree) and busybox. The initramfs mounts the basics, loads the modules the emulated
//! board needs, configures usb0 by DHCP, serves HTTP on port 80 and runs a root shell on
//! ttyS1 for the command channel.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use nixspot_fs::disk::{create_image, FatData, ImageSpec, PartitionContent};
use nixspot_fs::partition::TableKind;
use sha2::{Digest, Sha256};

/// A pinned `.deb`: mirrors holding it, and its SHA-256.
pub struct Pin {
    /// Package name (for messages).
    pub name: &'static str,
    /// Debian version (for messages and the report).
    pub version: &'static str,
    /// Download locations, tried in order (all serve the same bytes).
    pub urls: &'static [&'static str],
    /// SHA-256 of the `.deb`.
    pub sha256: &'static str,
}

// THE pins. Debian drops superseded kernels from the mirror: to bump, take Filename and
// SHA256 of the newest `linux-image-6.1.0-*-arm64` from
// http://deb.debian.org/debian/dists/bookworm/main/binary-arm64/Packages.xz (pool/main) or
// http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-arm64/Packages.xz
// (pool/updates/main) and edit only these two entries; the kernel version is read from
// the unpacked package.
pub const KERNEL: Pin = Pin {
    name: "linux-image-6.1.0-50-arm64",
    version: "6.1.176-1",
    urls: &[
        "http://deb.debian.org/debian/pool/main/l/linux-signed-arm64/linux-image-6.1.0-50-arm64_6.1.176-1_arm64.deb",
        "http://deb.debian.org/debian-security/pool/updates/main/l/linux-signed-arm64/linux-image-6.1.0-50-arm64_6.1.176-1_arm64.deb",
    ],
    sha256: "914f75b57a8e165d85fb910c3e2dcc7000a05a9fea3f42f90b26e8dd590d5f06",
};
pub const BUSYBOX: Pin = Pin {
    name: "busybox-static",
    version: "1:1.35.0-4+deb12u1+b1",
    urls: &["http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1.35.0-4+deb12u1+b1_arm64.deb"],
    sha256: "732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5",
};

/// Modules the emulated board needs (shared/spec/raspi3b-qemu.md), in load order; their
/// dependencies are loaded first.
const MODULES: &[&str] = &[
    "bcm2835",
    "usb_common",
    "usbcore",
    "udc_core",
    "roles",
    "phy_generic",
    "dwc2",
    "mii",
    "usbnet",
    "cdc_ether",
    "crc16",
    "crc32c_generic",
    "mbcache",
    "jbd2",
    "ext4",
    "fat",
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "bcm2835_wdt",
];

/// Body of `GET /` on the guest's port 80.
pub const INDEX_HTML: &str = "nixspot vmtest ok\n";

/// The test image's `cmdline.txt`.
pub const CMDLINE: &str = "rdinit=/init loglevel=6";

/// Printed on the console when init has started everything.
pub const READY: &str = "vmtest-init: ready";

const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t devtmpfs devtmpfs /dev
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mkdir -p /mnt
echo "vmtest-init: loading modules"
while read -r m; do
    insmod "/lib/modules/$m.ko" || echo "vmtest-init: insmod $m failed"
done </etc/modules
hostname vmtest
ip link set lo up
i=0
while [ ! -e /sys/class/net/usb0 ] && [ "$i" -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
udhcpc -i usb0 -s /etc/udhcpc.script -n -q -t 20 -T 1 || echo "vmtest-init: no DHCP lease"
httpd -p 80 -h /www
echo "vmtest-init: ready"
# the root shell for nixspot-vmtest's command channel, only when the driver booted us
if grep -q 'nixspot.vmtest=1' /proc/cmdline; then
    while true; do
        setsid sh -c 'exec sh -i </dev/ttyS1 >/dev/ttyS1 2>&1'
    done
fi
while true; do sleep 3600; done
"#;

const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
case "$1" in
    deconfig) ip link set "$interface" up; ip addr flush dev "$interface" ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
        ;;
esac
exit 0
"#;

/// `target/vmtest-cache`: downloads keyed by SHA-256, and built test images.
pub fn cache_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/vmtest-cache");
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

fn sha256_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    format!("{:x}", h.finalize())
}

/// The pinned `.deb`, downloaded once (with `curl`) into the cache and verified.
pub fn fetch(pin: &Pin) -> PathBuf {
    let dir = cache_dir();
    let path = dir.join(format!("{}.deb", pin.sha256));
    if path.exists() && sha256_file(&path) == pin.sha256 {
        return path;
    }
    let tmp = dir.join(format!("{}.part.{}", pin.sha256, std::process::id()));
    let mut errors = Vec::new();
    for url in pin.urls {
        let out = Command::new("curl")
            .args(["-fsSL", "--retry", "3", "--connect-timeout", "30", "-o"])
            .arg(&tmp)
            .arg(url)
            .output()
            .unwrap_or_else(|e| panic!("curl (apt package curl) is required: {e}"));
        if !out.status.success() {
            errors.push(format!(
                "{url}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            continue;
        }
        let got = sha256_file(&tmp);
        if got != pin.sha256 {
            errors.push(format!("{url}: sha256 {got}, expected {}", pin.sha256));
            continue;
        }
        std::fs::rename(&tmp, &path).unwrap();
        return path;
    }
    let _ = std::fs::remove_file(&tmp);
    panic!(
        "cannot download {} {} (bump the pin in {}): {}",
        pin.name,
        pin.version,
        file!(),
        errors.join("; ")
    );
}

fn dpkg_extract(deb: &Path, dest: &Path) {
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(dest)
        .output()
        .unwrap_or_else(|e| panic!("dpkg-deb (apt package dpkg) is required: {e}"));
    assert!(
        out.status.success(),
        "dpkg-deb -x {}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A module's bytes, decompressed when the package ships `.ko.xz`.
fn module_bytes(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "xz") {
        let mut out = Vec::new();
        xz2::read::XzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out
    } else {
        raw
    }
}

/// `depends=` of a module's `.modinfo` (names normalised to `_`).
fn module_depends(ko: &[u8]) -> Vec<String> {
    let key = b"depends=";
    let Some(p) = ko
        .windows(key.len())
        .enumerate()
        .position(|(i, w)| w == key && (i == 0 || ko[i - 1] == 0))
    else {
        return Vec::new();
    };
    let rest = &ko[p + key.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace('-', "_"))
        .collect()
}

fn walk(dir: &Path, out: &mut BTreeMap<String, PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
            let base = name
                .strip_suffix(".ko")
                .or_else(|| name.strip_suffix(".ko.xz"));
            if let Some(base) = base {
                out.insert(base.replace('-', "_"), p.clone());
            }
        }
    }
}

/// Modules in load order (dependencies first) with their bytes.
fn resolve_modules(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut index = BTreeMap::new();
    walk(root, &mut index);
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    fn visit(
        name: &str,
        index: &BTreeMap<String, PathBuf>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<(String, Vec<u8>)>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        let path = index
            .get(name)
            .unwrap_or_else(|| panic!("module {name} is not in the kernel package"));
        let bytes = module_bytes(path);
        for d in module_depends(&bytes) {
            visit(&d, index, seen, order);
        }
        order.push((name.to_string(), bytes));
    }
    for m in MODULES {
        visit(m, &index, &mut seen, &mut order);
    }
    order
}

/// A `newc` cpio archive, as the kernel unpacks an initramfs.
struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let header = format!(
            "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while self.out.len() % 4 != 0 {
            self.out.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, b"", (0, 0));
    }

    fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100000 | perm, data, (0, 0));
    }

    fn finish(mut self) -> Vec<u8> {
        self.ino = 0;
        self.entry("TRAILER!!!", 0, b"", (0, 0));
        self.out
    }
}

/// The test image's parts, unpacked.
struct Parts {
    version: String,
    kernel: PathBuf,
    dtb: PathBuf,
    initrd: Vec<u8>,
}

fn build_parts(work: &Path) -> Parts {
    let k = work.join("kernel");
    let b = work.join("busybox");
    dpkg_extract(&fetch(&KERNEL), &k);
    dpkg_extract(&fetch(&BUSYBOX), &b);
    let mut versions: Vec<String> = std::fs::read_dir(k.join("lib/modules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        versions.len(),
        1,
        "kernel versions in the package: {versions:?}"
    );
    let version = versions.remove(0);
    let modules = resolve_modules(&k.join("lib/modules").join(&version).join("kernel"));

    let mut c = Cpio {
        out: Vec::new(),
        ino: 0,
    };
    for d in [
        "bin",
        "dev",
        "etc",
        "lib",
        "lib/modules",
        "mnt",
        "proc",
        "sbin",
        "sys",
        "tmp",
        "usr",
        "usr/bin",
        "usr/sbin",
        "www",
    ] {
        c.dir(d);
    }
    // the kernel opens /dev/console for init before devtmpfs is mounted
    c.entry("dev/console", 0o020600, b"", (5, 1));
    c.file(
        "bin/busybox",
        0o755,
        &std::fs::read(b.join("bin/busybox")).unwrap(),
    );
    c.file("init", 0o755, INIT.as_bytes());
    c.file("etc/udhcpc.script", 0o755, UDHCPC_SCRIPT.as_bytes());
    c.file("www/index.html", 0o644, INDEX_HTML.as_bytes());
    let mut list = String::new();
    for (name, bytes) in &modules {
        c.file(&format!("lib/modules/{name}.ko"), 0o644, bytes);
        list.push_str(name);
        list.push('\n');
    }
    c.file("etc/modules", 0o644, list.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&c.finish()).unwrap();
    Parts {
        kernel: k.join("boot").join(format!("vmlinuz-{version}")),
        dtb: k
            .join("usr/lib")
            .join(format!("linux-image-{version}"))
            .join("broadcom/bcm2837-rpi-3-b.dtb"),
        initrd: gz.finish().unwrap(),
        version,
    }
}

/// Writes an MBR image with one FAT32 `bootfs` partition holding `files`.
pub fn write_boot_image(path: &Path, files: BTreeMap<String, FatData>) {
    let spec = ImageSpec {
        table: TableKind::Mbr,
        align: 4 << 20,
        seed: b"nixspot-vmtest".to_vec(),
        timestamp: 1_700_000_000,
        partitions: vec![PartitionContent::Fat32 {
            size: 64 << 20,
            label: "bootfs".to_string(),
            files,
        }],
        bootable: Some(0),
    };
    create_image(path, spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The bootable test image (built once per input set and kept in the cache).
pub fn test_image() -> &'static Path {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let cache = cache_dir();
        // the image depends on the pins and on this builder: key it by both
        let mut h = Sha256::new();
        h.update(include_str!("mod.rs"));
        let key = format!("{:x}", h.finalize());
        let out = cache.join(format!("test-image-{}.img", &key[..16]));
        if out.exists() {
            return out;
        }
        let work = tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(&cache)
            .unwrap();
        let parts = build_parts(work.path());
        let v = &parts.version;
        let config = format!(
            "# nixspot-vmtest test image (Debian raspi-firmware layout)\n\
             arm_64bit=1\nenable_uart=1\nupstream_kernel=1\n\n\
             kernel=vmlinuz-{v}\ninitramfs initrd.img-{v}\n"
        );
        let files = BTreeMap::from([
            (format!("vmlinuz-{v}"), FatData::Host(parts.kernel.clone())),
            (
                format!("initrd.img-{v}"),
                FatData::Bytes(parts.initrd.clone()),
            ),
            (
                "bcm2837-rpi-3-b.dtb".to_string(),
                FatData::Host(parts.dtb.clone()),
            ),
            (
                "cmdline.txt".to_string(),
                FatData::Bytes(format!("{CMDLINE}\n").into_bytes()),
            ),
            (
                "config.txt".to_string(),
                FatData::Bytes(config.into_bytes()),
            ),
        ]);
        let tmp = work.path().join("image.img");
        write_boot_image(&tmp, files);
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
}

/// Whether a process with this PID exists (zombies included).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// PIDs of processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(needle) {
                out.push(pid);
            }
        }
    }
    out
}

/// SHA-256 of a file, for "the image stays pristine".
pub fn file_sha256(path: &Path) -> String {
    sha256_file(path)
}
