//! Partition tables, FAT32 and whole images against sfdisk, sgdisk, fsck.vfat, mtools,
//! e2fsck.

mod common;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;

use common::*;
use nixspot_fs::disk::{self, FatData, ImageSpec, PartitionContent};
use nixspot_fs::ext4::{Ext4Reader, Size};
use nixspot_fs::fat::{self, Fat, FatSpec};
use nixspot_fs::partition::{self, PartitionSpec, PartitionType, TableKind, TableSpec};

const MIB: u64 = 1 << 20;

fn rw(path: &std::path::Path) -> std::fs::File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap()
}

fn pi_spec(kind: TableKind, disk: u64) -> TableSpec {
    TableSpec {
        kind,
        disk_size: disk,
        align: 4 * MIB,
        seed: b"disk".to_vec(),
        mbr_disk_signature: None,
        partitions: vec![
            PartitionSpec {
                start: None,
                size: Some(64 * MIB),
                kind: PartitionType::Fat32,
                name: "bootfs".into(),
                bootable: false,
            },
            PartitionSpec {
                start: None,
                size: Some(100 * MIB),
                kind: PartitionType::Linux,
                name: "rootfs".into(),
                bootable: false,
            },
            PartitionSpec {
                start: None,
                size: None,
                kind: PartitionType::Linux,
                name: "data".into(),
                bootable: false,
            },
        ],
    }
}

#[test]
fn mbr_table_matches_sfdisk_and_grows() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("mbr.img");
    let f = rw(&img);
    let parts = partition::write_table(&f, &pi_spec(TableKind::Mbr, 256 * MIB)).unwrap();
    assert_eq!(parts[0].start, 4 * MIB);
    let (rc, d) = run("sfdisk", &["-d", img.to_str().unwrap()]);
    assert_eq!(rc, 0, "{d}");
    assert!(d.contains("label: dos"), "{d}");
    assert!(
        d.contains("start=        8192, size=      131072, type=c"),
        "{d}"
    );
    assert!(
        d.contains("start=      139264, size=      204800, type=83"),
        "{d}"
    );
    // p3 starts at 168 MiB (aligned) and runs to the end
    assert!(
        d.contains("start=      344064, size=      180224, type=83"),
        "{d}"
    );
    let sig = partition::read_table(&img).unwrap().disk_signature.unwrap();
    assert!(d.contains(&format!("label-id: 0x{sig:08x}")), "{d}");
    // same seed → same signature; the table reads back as written
    let t2 = partition::read_table(&img).unwrap();
    assert_eq!(t2.partitions, parts);
    let grown = partition::grow_last_partition(&img, 512 * MIB).unwrap();
    assert_eq!(grown.number, 3);
    assert_eq!(grown.start + grown.size, 512 * MIB);
    let (_, d) = run("sfdisk", &["-d", img.to_str().unwrap()]);
    assert!(
        d.contains("start=      344064, size=      704512, type=83"),
        "{d}"
    );
    // keeping a base image's layout and disk signature (PARTUUID=1234abcd-02 stays valid)
    let img2 = t.path().join("kept.img");
    let mut spec = pi_spec(TableKind::Mbr, 256 * MIB);
    spec.mbr_disk_signature = Some(0x1234_abcd);
    spec.partitions[1].start = Some(70 * MIB + 512);
    spec.partitions[1].size = Some(1000 * 512);
    partition::write_table(&rw(&img2), &spec).unwrap();
    let (_, d) = run("sfdisk", &["-d", img2.to_str().unwrap()]);
    assert!(d.contains("label-id: 0x1234abcd"), "{d}");
    assert!(
        d.contains("start=      143361, size=        1000, type=83"),
        "{d}"
    );
    // overlapping starts are refused
    spec.partitions[1].start = Some(MIB);
    assert!(partition::write_table(&rw(&img2), &spec).is_err());
}

#[test]
fn gpt_table_matches_sgdisk_and_grows() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("gpt.img");
    let f = rw(&img);
    let parts = partition::write_table(&f, &pi_spec(TableKind::Gpt, 256 * MIB)).unwrap();
    drop(f);
    let (rc, p) = run("sgdisk", &["-v", img.to_str().unwrap()]);
    assert_eq!(rc, 0, "{p}");
    assert!(p.contains("No problems found"), "{p}");
    let (rc, p) = run("sgdisk", &["-p", img.to_str().unwrap()]);
    assert_eq!(rc, 0, "{p}");
    assert!(
        p.contains("8192          139263   64.0 MiB    0700  bootfs"),
        "{p}"
    );
    assert!(p.contains("8300  data"), "{p}");
    let guid = partition::read_table(&img).unwrap().disk_guid.unwrap();
    assert!(p.to_lowercase().contains(&guid.to_string()), "{p}");
    let back = partition::read_table(&img).unwrap();
    assert_eq!(back.partitions, parts);
    let grown = partition::grow_last_partition(&img, 512 * MIB).unwrap();
    assert_eq!(grown.start + grown.size, 512 * MIB - 33 * 512);
    let (rc, p) = run("sgdisk", &["-v", img.to_str().unwrap()]);
    assert_eq!(rc, 0, "{p}");
    assert!(p.contains("No problems found"), "{p}");
}

#[test]
fn fat32_with_lowercase_label_reads_back_with_mtools() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("fat.img");
    let f = rw(&img);
    let off = 4 * MIB;
    let size = 64 * MIB;
    let spec = FatSpec {
        label: "bootfs".into(),
        seed: b"s".to_vec(),
        timestamp: 1_700_000_000,
        bytes_per_cluster: None,
    };
    fat::format(&f, off, size, &spec).unwrap();
    let fs = Fat::open(&f, off, size, spec.timestamp).unwrap();
    let mut files = BTreeMap::new();
    files.insert("config.txt".to_string(), b"arm_64bit=1\n".to_vec());
    files.insert(
        "overlays/a-long-overlay-name.dtbo".to_string(),
        vec![7u8; 100_000],
    );
    files.insert("Z-upper.txt".to_string(), b"z".to_vec());
    files.insert("cmdline.txt".to_string(), b"console=serial0\n".to_vec());
    fs.write_files(&files).unwrap();
    assert_eq!(fs.label(), "bootfs");
    fs.close().unwrap();
    let (rc, out) =
        run(
            "sh",
            &[
                "-c",
                &format!(
        "dd if={} of={}/p.img bs=1M skip=4 count=64 2>/dev/null && fsck.vfat -n {}/p.img",
        img.display(), t.path().display(), t.path().display()),
            ],
        );
    assert_eq!(rc, 0, "fsck.vfat:\n{out}");
    let spec_img = format!("{}@@{off}", img.display());
    let (rc, out) = run("mdir", &["-i", &spec_img, "::"]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Volume in drive : is bootfs"), "{out}");
    assert!(out.contains("config.txt"), "{out}");
    // sorted by bytes: Z-upper.txt, cmdline.txt, config.txt, overlays
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} missing:\n{out}"));
    assert!(pos("Z-upper.txt") < pos("cmdline.txt"), "{out}");
    assert!(
        pos("cmdline.txt") < pos("config.txt") && pos("config.txt") < pos("overlays"),
        "{out}"
    );
    let (rc, out) = run(
        "mcopy",
        &[
            "-n",
            "-i",
            &spec_img,
            "::overlays/a-long-overlay-name.dtbo",
            "-",
        ],
    );
    assert_eq!(rc, 0);
    assert_eq!(out.len(), 100_000);
    let (rc, out) = run("mdir", &["-i", &spec_img, "::cmdline.txt"]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("2023-11-14  22:13"),
        "timestamps from the epoch: {out}"
    );
    // deterministic: same spec → same bytes
    let img2 = t.path().join("fat2.img");
    let f2 = rw(&img2);
    fat::format(&f2, off, size, &spec).unwrap();
    let fs2 = Fat::open(&f2, off, size, spec.timestamp).unwrap();
    fs2.write_files(&files).unwrap();
    fs2.close().unwrap();
    assert_eq!(std::fs::read(&img).unwrap(), std::fs::read(&img2).unwrap());
}

#[test]
fn replacing_offspot_yaml_touches_only_the_needed_bytes() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("boot.img");
    let f = rw(&img);
    let (off, size) = (4 * MIB, 64 * MIB);
    f.set_len(off + size + 4 * MIB).unwrap();
    f.write_all_at(b"outside", off + size + 100).unwrap();
    let spec = FatSpec {
        label: "bootfs".into(),
        seed: b"s".to_vec(),
        timestamp: 1_700_000_000,
        bytes_per_cluster: None,
    };
    fat::format(&f, off, size, &spec).unwrap();
    let fs = Fat::open(&f, off, size, 1).unwrap();
    fs.write_file("config.txt", b"x").unwrap();
    fs.write_file("offspot.yaml", b"old: 1\n").unwrap();
    fs.close().unwrap();
    let before = std::fs::read(&img).unwrap();
    let yaml = b"hostname: kiwix\nap:\n  ssid: Kiwix Hotspot\n".repeat(200);
    fat::replace_file(&f, off, size, "offspot.yaml", &yaml, 1_700_000_000).unwrap();
    let after = std::fs::read(&img).unwrap();
    assert_eq!(before.len(), after.len());
    let changed: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert!(changed
        .iter()
        .all(|&i| (off as usize..(off + size) as usize).contains(&i)));
    // content (~9 KiB) + a few FAT entries (both FATs) + the dir entry + FSInfo
    assert!(
        changed.len() < yaml.len() + 200,
        "{} bytes changed",
        changed.len()
    );
    let fs = Fat::open(&f, off, size, 0).unwrap();
    assert_eq!(fs.read_file("offspot.yaml").unwrap(), yaml);
    assert_eq!(fs.read_file("config.txt").unwrap(), b"x");
    drop(fs);
    let (rc, out) = run(
        "mcopy",
        &[
            "-n",
            "-i",
            &format!("{}@@{off}", img.display()),
            "::offspot.yaml",
            "-",
        ],
    );
    assert_eq!(rc, 0);
    assert_eq!(out.as_bytes(), &yaml[..]);
}

#[test]
fn offspot_shaped_image_from_a_spec() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("base.img");
    let mut boot = BTreeMap::new();
    boot.insert(
        "config.txt".into(),
        FatData::Bytes(b"kernel=vmlinuz\n".to_vec()),
    );
    boot.insert("offspot.yaml".into(), FatData::Bytes(b"{}\n".to_vec()));
    let spec = ImageSpec {
        table: TableKind::Mbr,
        align: 4 * MIB,
        seed: b"base".to_vec(),
        timestamp: 1_700_000_000,
        bootable: None,
        partitions: vec![
            PartitionContent::Fat32 {
                size: 64 * MIB,
                label: "bootfs".into(),
                files: boot,
            },
            PartitionContent::Ext4 {
                options: disk::ext4_options(
                    "rootfs",
                    b"root",
                    1_700_000_000,
                    Size::Minimal {
                        margin_bytes: 0,
                        margin_percent: 0,
                    },
                ),
                entries: vec![dir("etc"), file("etc/hostname", b"offspot\n")],
            },
            PartitionContent::Ext4 {
                options: disk::ext4_options("data", b"data", 1_700_000_000, Size::Exact(32 * MIB)),
                entries: vec![dir("master_fs"), file("images/x.tar", &[1u8; 10_000])],
            },
        ],
    };
    let parts = disk::create_image(&img, spec.clone()).unwrap();
    let (rc, d) = run("sfdisk", &["-d", img.to_str().unwrap()]);
    assert_eq!(rc, 0, "{d}");
    assert!(
        d.contains("type=c") && d.matches("type=83").count() == 2,
        "{d}"
    );
    let (rc, out) = run(
        "mdir",
        &[
            "-i",
            &format!("{}@@{}", img.display(), parts[0].start),
            "::",
        ],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("bootfs") && out.contains("offspot.yaml"),
        "{out}"
    );
    for (p, label) in [(&parts[1], "rootfs"), (&parts[2], "data")] {
        let r = Ext4Reader::open(&img, p.start).unwrap();
        assert_eq!(r.label(), label);
        let part = t.path().join(format!("{label}.img"));
        let (rc, out) = run(
            "sh",
            &[
                "-c",
                &format!(
                    "dd if={} of={} bs=512 skip={} count={} conv=sparse 2>/dev/null",
                    img.display(),
                    part.display(),
                    p.start / 512,
                    p.size / 512
                ),
            ],
        );
        assert_eq!(rc, 0, "{out}");
        e2fsck_clean(&part);
    }
    // byte-reproducible
    let img2 = t.path().join("base2.img");
    disk::create_image(&img2, spec).unwrap();
    assert_eq!(std::fs::read(&img).unwrap(), std::fs::read(&img2).unwrap());
    // the assembler's flow: carry p1 over, add offspot.yaml in place, carry the data files
    let out_img = t.path().join("out.img");
    let src = std::fs::File::open(&img).unwrap();
    let dst = rw(&out_img);
    disk::copy_partition(&src, &parts[0], &dst, parts[0].start).unwrap();
    fat::replace_file(
        &dst,
        parts[0].start,
        parts[0].size,
        "offspot.yaml",
        b"new: 1\n",
        0,
    )
    .unwrap();
    let fs = Fat::open(&dst, parts[0].start, parts[0].size, 0).unwrap();
    assert_eq!(fs.read_file("offspot.yaml").unwrap(), b"new: 1\n");
    assert_eq!(fs.read_file("config.txt").unwrap(), b"kernel=vmlinuz\n");
    drop(fs);
    let r = Ext4Reader::open(&img, parts[2].start).unwrap();
    let carried: Vec<_> = r
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.into_entry())
        .collect();
    assert_eq!(carried.len(), 3);
    let copy = build(t.path(), "carried.img", carried, opts());
    e2fsck_clean(&copy);
    let r2 = Ext4Reader::open(&copy, 0).unwrap();
    let x = r2
        .entries()
        .unwrap()
        .into_iter()
        .find(|e| e.path.ends_with("x.tar"))
        .unwrap();
    assert_eq!(r2.read_file(x.ino).unwrap(), vec![1u8; 10_000]);
}
