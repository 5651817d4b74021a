//! Real block devices: loop devices (`losetup`, as root) standing in for SD cards.
//!
//! Partitions of a loop device are added with `partx -u` after `losetup -P`: some kernels
//! (this project's CI machines among them) lack the MBR parser that would add them.

use nixspot_flash::{
    flash, target, Exclusion, FlashError, Image, NoProgress, Options, Policy, Resolved, Roots,
    Target,
};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const ALLOW_LOOP: Policy = Policy { allow_loop: true };

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A loop device over a file, detached when dropped.
struct Loop {
    dev: PathBuf,
}

impl Loop {
    fn attach(backing: &Path, partitions: bool) -> Loop {
        let mut cmd = Command::new("losetup");
        cmd.args(["--find", "--show"]);
        if partitions {
            cmd.arg("--partscan");
        }
        let dev = PathBuf::from(run(cmd.arg(backing)));
        if partitions {
            run(Command::new("partx").arg("-u").arg(&dev));
        }
        Loop { dev }
    }

    fn partition(&self, n: u32) -> PathBuf {
        PathBuf::from(format!("{}p{n}", self.dev.display()))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// A mounted filesystem, unmounted when dropped.
struct Mounted {
    dir: tempfile::TempDir,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn image_bytes() -> Vec<u8> {
    (0..(9u32 << 20) + 77)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8)
        .collect()
}

fn backing(dir: &Path, len: usize, fill: u8) -> PathBuf {
    let path = dir.join("card.backing");
    std::fs::write(&path, vec![fill; len]).expect("backing file");
    path
}

fn zst_image(dir: &Path, data: &[u8]) -> Image {
    let path = dir.join("hotspot.img.zst");
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).expect("zstd");
    enc.write_all(data).expect("zstd");
    std::fs::write(&path, enc.finish().expect("zstd")).expect("write");
    Image::open(&path).expect("open")
}

fn options<'a>() -> Options<'a> {
    Options {
        verify: true,
        progress: &NoProgress,
        cancel: None,
        before_verify: None,
    }
}

#[test]
fn flashes_a_loop_device_every_byte_and_nothing_past_the_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let backing = backing(dir.path(), 16 << 20, 0xaa);
    let card = Loop::attach(&backing, false);
    let roots = Roots::default();
    // Refused by default: a loop device is not a card.
    let err = target(&roots, &card.dev, Policy::default()).expect_err("loop refused");
    match &err {
        FlashError::Refused { reasons, .. } => assert_eq!(reasons, &[Exclusion::Loop]),
        other => panic!("expected Refused, got {other:?}"),
    }
    let target = target(&roots, &card.dev, ALLOW_LOOP).expect("allowed");
    let Target::Device { device, .. } = &target else {
        panic!("a device: {target:?}");
    };
    assert_eq!(device.size, 16 << 20);
    let image = zst_image(dir.path(), &data);
    let outcome = flash(&image, &target, &options()).expect("flash");
    assert!(outcome.verified);
    assert_eq!(outcome.bytes, data.len() as u64);
    let mut written = Vec::new();
    std::fs::File::open(&backing)
        .expect("backing")
        .read_to_end(&mut written)
        .expect("read");
    assert!(written[..data.len()] == data[..], "the image's bytes");
    assert!(
        written[data.len()..].iter().all(|b| *b == 0xaa),
        "nothing written past the image"
    );
}

#[test]
fn an_image_larger_than_the_device_is_refused_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backing = backing(dir.path(), 4 << 20, 0xaa);
    let card = Loop::attach(&backing, false);
    let target = target(&Roots::default(), &card.dev, ALLOW_LOOP).expect("allowed");
    let plain = dir.path().join("hotspot.img");
    std::fs::write(&plain, image_bytes()).expect("image");
    let err = flash(&Image::open(&plain).expect("open"), &target, &options()).expect_err("big");
    assert!(
        matches!(err, FlashError::TooSmall { capacity, written: 0, .. } if capacity == 4 << 20),
        "{err:?}"
    );
    let untouched = std::fs::read(&backing).expect("backing");
    assert!(untouched.iter().all(|b| *b == 0xaa));
}

/// A 16 MiB card with one ext4 partition, attached with its partition.
fn partitioned_card(dir: &Path) -> Loop {
    let backing = backing(dir, 16 << 20, 0);
    let mut sfdisk = Command::new("sfdisk")
        .arg("-q")
        .arg(&backing)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sfdisk");
    sfdisk
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"label: dos\nstart=2048, type=83\n")
        .expect("table");
    assert!(sfdisk.wait().expect("sfdisk").success());
    let card = Loop::attach(&backing, true);
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(card.partition(1)));
    card
}

#[test]
fn a_loop_device_with_a_mounted_partition_is_refused_naming_the_mount_point() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = partitioned_card(dir.path());
    let mounted = Mounted {
        dir: tempfile::tempdir().expect("mount point"),
    };
    run(Command::new("mount")
        .arg(card.partition(1))
        .arg(mounted.dir.path()));
    let err = target(&Roots::default(), &card.dev, ALLOW_LOOP).expect_err("mounted");
    let mount_point = mounted.dir.path().display().to_string();
    assert!(err.to_string().contains(&mount_point), "{err}");
    match &err {
        FlashError::Refused { reasons, .. } => assert!(
            matches!(&reasons[..], [Exclusion::Mounted { mount }] if mount.mount_point == mount_point),
            "{reasons:?}"
        ),
        other => panic!("expected Refused, got {other:?}"),
    }
    // Past the checks, the kernel's exclusive open refuses too.
    let Resolved::Device(device) =
        nixspot_flash::resolve(&Roots::default(), &card.dev, ALLOW_LOOP).expect("resolve")
    else {
        panic!("a device");
    };
    let forced = Target::Device {
        path: card.dev.clone(),
        device,
    };
    let image_path = dir.path().join("small.img");
    std::fs::write(&image_path, [1u8; 4096]).expect("image");
    let err = flash(
        &Image::open(&image_path).expect("open"),
        &forced,
        &options(),
    )
    .expect_err("busy");
    assert!(matches!(err, FlashError::Busy { .. }), "{err:?}");
}

#[test]
fn a_partition_is_refused_naming_its_whole_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let card = partitioned_card(dir.path());
    let err = target(&Roots::default(), &card.partition(1), ALLOW_LOOP).expect_err("partition");
    let whole = card
        .dev
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    match &err {
        FlashError::Partition { whole: w, .. } => assert_eq!(*w, whole),
        other => panic!("expected Partition, got {other:?}"),
    }
    assert!(err.to_string().contains(&format!("/dev/{whole}")), "{err}");
}

#[test]
fn verification_reads_the_card_not_the_page_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let backing = backing(dir.path(), 16 << 20, 0);
    let card = Loop::attach(&backing, false);
    let target = target(&Roots::default(), &card.dev, ALLOW_LOOP).expect("allowed");
    let image = zst_image(dir.path(), &data);
    // The device's page cache is filled with the good bytes by a buffered read, then
    // the card changes underneath it (through the loop device's backing file): only a
    // read that bypasses the cache sees the change.
    let hook = |dev: &Path| -> std::io::Result<()> {
        let mut cached = std::fs::File::open(dev)?;
        let mut sink = Vec::new();
        cached.seek(SeekFrom::Start(0))?;
        (&mut cached).take(9 << 20).read_to_end(&mut sink)?;
        let file = std::fs::OpenOptions::new().write(true).open(&backing)?;
        file.write_all_at(&[!data[(8 << 20) + 5]], (8 << 20) + 5)?;
        file.sync_all()
    };
    let opts = Options {
        before_verify: Some(&hook),
        ..options()
    };
    let err = flash(&image, &target, &opts).expect_err("damage seen");
    assert!(
        matches!(err, FlashError::Mismatch { offset, .. } if offset == 8 << 20),
        "{err:?}"
    );
}
