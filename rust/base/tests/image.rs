//! Builds the base image from the committed lock (downloading the pinned `.deb`s into a
//! cache under `target/`, reused across runs) and checks it with the real tools:
//! sfdisk, fsck.vfat, e2fsck, debugfs, cpio, and a boot in QEMU raspi3b; then builds it
//! again and compares hashes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use nixspot_base::{BaseConfig, BuildOptions, DEVICE_PROGRAMS};
use nixspot_deb::lock::Lock;
use sha2::{Digest, Sha256};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (is the tool installed? see .ci/install-deps)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256_file(p: &Path) -> String {
    let mut f = File::open(p).unwrap();
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

/// Copies bytes `[start, start+len)` of `src` to a new sparse file.
fn extract(src: &Path, start: u64, len: u64, dst: &Path) {
    let mut s = File::open(src).unwrap();
    s.seek(SeekFrom::Start(start)).unwrap();
    let mut d = File::create(dst).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = buf.len().min(left as usize);
        s.read_exact(&mut buf[..n]).unwrap();
        if buf[..n].iter().all(|&b| b == 0) {
            d.seek(SeekFrom::Current(n as i64)).unwrap();
        } else {
            d.write_all(&buf[..n]).unwrap();
        }
        left -= n as u64;
    }
    d.set_len(len).unwrap();
}

fn debugfs(image: &Path, offset: u64, request: &str) -> String {
    run(Command::new("debugfs")
        .arg("-R")
        .arg(request)
        .arg(format!("{}?offset={offset}", image.display())))
}

fn build(
    config: &BaseConfig,
    lock: &Lock,
    dir: &Path,
    bins: &Path,
    name: &str,
) -> (PathBuf, nixspot_base::Summary) {
    let out = dir.join(name);
    let opts = BuildOptions {
        cache_dir: PathBuf::from(ROOT).join("target/nixspot-test-cache/base-debs"),
        device_binaries: Some(bins.to_path_buf()),
        work_dir: dir.join(format!("{name}.work")),
        timestamp: None,
        offline: false,
    };
    let summary = nixspot_base::build(config, lock, &opts, &out).unwrap();
    std::fs::remove_dir_all(&opts.work_dir).unwrap();
    (out, summary)
}

#[test]
fn base_image_from_the_committed_lock_is_valid_and_reproducible() {
    let config = BaseConfig::load(&PathBuf::from(ROOT).join("base/base.nix")).unwrap();
    let lock = Lock::read(&PathBuf::from(ROOT).join("base/base.lock.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bins = dir.path().join("bins");
    std::fs::create_dir(&bins).unwrap();
    for p in DEVICE_PROGRAMS {
        std::fs::write(bins.join(p), format!("#!/bin/sh\necho {p}\n")).unwrap();
    }

    let (img, summary) = build(&config, &lock, dir.path(), &bins, "a.img");
    let version = summary.kernel_version.clone();
    eprintln!(
        "base image: {} bytes, {} packages, {} root entries, conflicts: {:#?}",
        summary.image_bytes, summary.packages, summary.root_entries, summary.conflicts
    );

    // partition table
    let table = run(Command::new("sfdisk").arg("-d").arg(&img));
    let parts: Vec<&str> = table.lines().filter(|l| l.contains("start=")).collect();
    assert_eq!(parts.len(), 3, "{table}");
    for (line, ty) in parts.iter().zip(["type=c", "type=83", "type=83"]) {
        assert!(line.contains(ty), "expected {ty}: {table}");
    }
    assert!(parts[0].contains("bootable"), "{table}");
    let [(p1s, p1l), (p2s, p2l), (p3s, p3l)] = summary.partitions[..] else {
        panic!("{:?}", summary.partitions)
    };

    // p1: FAT32 boot partition
    let p1 = dir.path().join("p1");
    extract(&img, p1s, p1l, &p1);
    run(Command::new("fsck.vfat").arg("-n").arg(&p1));
    let listing = run(Command::new("mdir").args(["-b", "-i"]).arg(&p1).arg("::/"));
    for f in [
        "bootcode.bin".to_string(),
        "start.elf".to_string(),
        "fixup.dat".to_string(),
        "config.txt".to_string(),
        "cmdline.txt".to_string(),
        "offspot.yaml".to_string(),
        "bcm2837-rpi-3-b.dtb".to_string(),
        "bcm2711-rpi-4-b.dtb".to_string(),
        "bcm2837-rpi-zero-2-w.dtb".to_string(),
        format!("vmlinuz-{version}"),
        format!("initrd.img-{version}"),
    ] {
        assert!(
            listing.contains(&format!("::/{f}")),
            "{f} missing from the boot partition:\n{listing}"
        );
    }
    let config_txt = run(Command::new("mtype")
        .arg("-i")
        .arg(&p1)
        .arg("::/config.txt"));
    assert!(
        config_txt.starts_with(&format!(
            "kernel=vmlinuz-{version}\ninitramfs initrd.img-{version} followkernel\n"
        )),
        "{config_txt}"
    );
    // the Zero 2 W's firmware is told its upstream device tree (its own name for the
    // board is bcm2710-rpi-zero-2-w.dtb, which Debian's kernel does not ship)
    assert!(
        config_txt.contains("\n[pi02]\ndevice_tree=bcm2837-rpi-zero-2-w.dtb\n[all]\n"),
        "{config_txt}"
    );
    run(Command::new("mcopy")
        .arg("-i")
        .arg(&p1)
        .arg(format!("::/initrd.img-{version}"))
        .arg(dir.path().join("initrd.gz")));
    let mut cpio_bytes = Vec::new();
    flate2::read::GzDecoder::new(File::open(dir.path().join("initrd.gz")).unwrap())
        .read_to_end(&mut cpio_bytes)
        .unwrap();
    std::fs::write(dir.path().join("initrd.cpio"), &cpio_bytes).unwrap();
    let members = run(Command::new("cpio")
        .args(["-it", "--quiet", "-F"])
        .arg(dir.path().join("initrd.cpio")));
    for m in [
        "init",
        "bin/busybox",
        "etc/modules.load",
        &format!("lib/modules/{version}/modules.dep"),
    ] {
        assert!(
            members.lines().any(|l| l == m),
            "{m} missing from the initramfs:\n{members}"
        );
    }
    for m in [
        "bcm2835.ko",
        "dwc2.ko",
        "phy-generic.ko",
        "cdc_ether.ko",
        "usbnet.ko",
        "ext4.ko",
        "jbd2.ko",
        "vfat.ko",
        "bcm2835_wdt.ko",
        // the Pi 4's SD card (EMMC2) and QEMU raspi4b's
        "sdhci-iproc.ko",
        // hardware RNGs of the Pi 3/Zero 2 W and of the Pi 4
        "bcm2835-rng.ko",
        "iproc-rng200.ko",
    ] {
        assert!(
            members.lines().any(|l| l.ends_with(&format!("/{m}"))),
            "{m} missing from the initramfs:\n{members}"
        );
    }
    // dependencies come before their users
    let load = &summary.initramfs_modules;
    let pos = |m: &str| {
        load.iter()
            .position(|p| p.ends_with(&format!("/{m}")))
            .unwrap_or_else(|| panic!("{m} not loaded: {load:?}"))
    };
    assert!(
        pos("jbd2.ko") < pos("ext4.ko")
            && pos("usbnet.ko") < pos("cdc_ether.ko")
            && pos("fat.ko") < pos("vfat.ko"),
        "{load:?}"
    );

    // p2: root filesystem
    run(Command::new("e2fsck")
        .arg("-fn")
        .arg(format!("{}?offset={p2s}", img.display())));
    let init = debugfs(&img, p2s, "cat /usr/sbin/init");
    assert!(
        init.contains("runsvdir -P /etc/service") && init.contains("nixspot-runtime apply"),
        "{init}"
    );
    let sbin = debugfs(&img, p2s, "stat /sbin");
    assert!(
        sbin.contains("Type: symlink") && sbin.contains("usr/sbin"),
        "{sbin}"
    );
    // WiFi NVRAM under the name brcmfmac asks for on a Zero 2 W (bookworm-backports'
    // firmware-brcm80211: a link to the Pi 3 B's), with the package's licence
    let nvram = debugfs(
        &img,
        p2s,
        "stat \"/usr/lib/firmware/brcm/brcmfmac43430-sdio.raspberrypi,model-zero-2-w.txt\"",
    );
    assert!(nvram.contains("Type: symlink"), "{nvram}");
    let copyright = debugfs(&img, p2s, "cat /usr/share/doc/firmware-brcm80211/copyright");
    assert!(
        copyright.contains("Broadcom"),
        "firmware-brcm80211's copyright file"
    );
    let modprobe_conf = debugfs(&img, p2s, "cat /etc/modprobe.d/nixspot.conf");
    assert!(
        modprobe_conf.contains("\nblacklist hci_uart\n"),
        "{modprobe_conf}"
    );
    let hostapd = debugfs(&img, p2s, "stat /usr/sbin/hostapd");
    assert!(hostapd.contains("Type: regular"), "{hostapd}");
    let dep = debugfs(
        &img,
        p2s,
        &format!("cat /usr/lib/modules/{version}/modules.dep"),
    );
    assert!(
        dep.lines()
            .any(|l| l.starts_with("kernel/drivers/net/usb/cdc_ether.ko:")
                && l.contains("usbnet.ko")),
        "modules.dep lacks cdc_ether"
    );
    let passwd = debugfs(&img, p2s, "cat /etc/passwd");
    assert!(
        passwd.starts_with("root:x:0:0:")
            && passwd.contains("\ndnsmasq:x:100:")
            && passwd.contains("\ncaddy:x:101:"),
        "{passwd}"
    );
    let status = debugfs(&img, p2s, "cat /var/lib/dpkg/status");
    assert!(
        status.contains("Package: hostapd\n") && status.contains("Status: install ok installed"),
        "dpkg status"
    );
    let runtime = debugfs(&img, p2s, "cat /usr/bin/nixspot-runtime");
    assert_eq!(runtime, "#!/bin/sh\necho nixspot-runtime\n");
    let _ = p2l;

    // p3: data
    run(Command::new("e2fsck")
        .arg("-fn")
        .arg(format!("{}?offset={p3s}", img.display())));
    let data = debugfs(&img, p3s, "ls -p /");
    for name in ["/master_fs/", "/images/", "/contents/"] {
        assert!(data.contains(name), "{name} missing from data: {data}");
    }
    assert_eq!(p3l, config.partitions.data.size);

    // it boots in QEMU raspi3b (kernel, dtb, initrd and command line from p1), with the
    // test shell on ttyS1, the root and data partitions mounted, and the runtime run
    let mut vm = nixspot_vmtest::Machine::start(nixspot_vmtest::MachineConfig::new(&img))
        .expect("boot to the test shell");
    let uname = vm.succeed("uname -r").unwrap();
    assert_eq!(uname.trim(), version);
    let mounts = vm.succeed("cat /proc/mounts").unwrap();
    for m in [
        " / ext4 ",
        " /boot/firmware vfat ",
        " /data ext4 ",
        " /proc proc ",
        " /run tmpfs ",
    ] {
        assert!(mounts.contains(m), "{m:?} not mounted:\n{mounts}");
    }
    vm.succeed("test -d /run/busybox && test -e /etc/service")
        .unwrap();
    // the initramfs credited the SoC's RNG: the kernel's CRNG does not wait for
    // interrupt entropy (the portal blocks in getrandom until it is ready)
    let quality = vm
        .succeed("cat /sys/class/misc/hw_random/rng_current /sys/class/misc/hw_random/rng_quality")
        .unwrap();
    assert!(quality.ends_with("\n1000\n"), "{quality:?}");
    vm.shutdown().unwrap();

    // same inputs, same bytes
    let first = sha256_file(&img);
    std::fs::remove_file(&img).unwrap();
    let (again, _) = build(&config, &lock, dir.path(), &bins, "b.img");
    assert_eq!(
        first,
        sha256_file(&again),
        "two builds from the same lock differ"
    );
}
