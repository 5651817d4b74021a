//! Boot files read from images written by `nixspot_fs` (no QEMU, no download).

mod common;

use std::collections::BTreeMap;

use nixspot_fs::disk::FatData;
use nixspot_vmtest::bootfiles::read_boot_files;

fn image(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boot.img");
    let files: BTreeMap<String, FatData> = files
        .iter()
        .map(|(n, d)| (n.to_string(), FatData::Bytes(d.as_bytes().to_vec())))
        .collect();
    common::write_boot_image(&path, files);
    (dir, path)
}

#[test]
fn debian_defaults_without_config_txt() {
    let (_d, img) = image(&[
        ("vmlinuz-6.1.0-1-arm64", "old kernel"),
        ("vmlinuz-6.1.0-2-arm64", "kernel"),
        ("initrd.img-6.1.0-2-arm64", "initrd"),
        ("initrd.img-6.1.0-1-arm64", "old initrd"),
        ("bcm2837-rpi-3-b.dtb", "dtb"),
        ("bcm2711-rpi-4-b.dtb", "pi4 dtb"),
        (
            "cmdline.txt",
            "console=tty0 root=LABEL=RASPIROOT rw\nsecond line ignored\n",
        ),
    ]);
    let b = read_boot_files(&img).unwrap();
    assert_eq!(b.partition, 1);
    assert_eq!(
        (b.kernel.name.as_str(), b.kernel.data.as_slice()),
        ("vmlinuz-6.1.0-2-arm64", &b"kernel"[..])
    );
    assert_eq!(b.initrd.unwrap().data, b"initrd");
    assert_eq!(b.dtb.data, b"dtb");
    assert_eq!(b.cmdline, "console=tty0 root=LABEL=RASPIROOT rw");
}

#[test]
fn config_txt_names_win_and_case_is_ignored() {
    let (_d, img) = image(&[
        ("config.txt", "[pi4]\nkernel=wrong\n[all]\nos_prefix=os/\nkernel=Image\ninitramfs initrd.gz followkernel\ndevice_tree=my.dtb\ncmdline=args.txt\n"),
        ("os/image", "the kernel"),
        ("os/initrd.gz", "the initrd"),
        ("os/my.dtb", "the dtb"),
        ("args.txt", "rdinit=/init"),
        ("vmlinuz-6.1.0-2-arm64", "not this"),
    ]);
    let b = read_boot_files(&img).unwrap();
    assert_eq!(b.kernel.data, b"the kernel");
    assert_eq!(b.initrd.unwrap().data, b"the initrd");
    assert_eq!(b.dtb.data, b"the dtb");
    assert_eq!(b.cmdline, "rdinit=/init");
}

#[test]
fn missing_files_are_named() {
    let (_d, img) = image(&[("vmlinuz-6.1.0-2-arm64", "k"), ("cmdline.txt", "x")]);
    let e = read_boot_files(&img).unwrap_err().to_string();
    assert!(
        e.contains("boot.img") && e.contains("bcm2837-rpi-3-b.dtb"),
        "{e}"
    );
    let (_d, img) = image(&[
        ("config.txt", "kernel=zImage\n"),
        ("bcm2837-rpi-3-b.dtb", "d"),
    ]);
    let e = read_boot_files(&img).unwrap_err().to_string();
    assert!(
        e.contains("kernel `zImage`") && e.contains("config.txt kernel="),
        "{e}"
    );
    let (_d, img) = image(&[("bcm2837-rpi-3-b.dtb", "d")]);
    let e = read_boot_files(&img).unwrap_err().to_string();
    assert!(e.contains("vmlinuz-* or kernel8.img"), "{e}");
    // no initrd is fine: QEMU boots without -initrd
    let (_d, img) = image(&[("kernel8.img", "k"), ("bcm2837-rpi-3-b.dtb", "d")]);
    let b = read_boot_files(&img).unwrap();
    assert_eq!((b.initrd, b.cmdline.as_str()), (None, ""));
}

#[test]
fn not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("zeros.img");
    std::fs::write(&p, vec![0u8; 1 << 20]).unwrap();
    let e = read_boot_files(&p).unwrap_err().to_string();
    assert!(e.contains("zeros.img"), "{e}");
}
