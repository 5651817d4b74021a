//! The safety policy over a fake sysfs/procfs/dev tree laid out as the kernel lays out
//! real ones (devices under /sys/devices, /sys/block and /sys/dev/block as links).

use nixspot_flash::devices::{list, resolve_number};
use nixspot_flash::{BlockDevice, Exclusion, FlashError, Policy, Roots, Transport};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

struct Fake {
    _dir: tempfile::TempDir,
    roots: Roots,
}

/// One fake disk: where it hangs in /sys/devices, its attributes and partitions.
struct Disk<'a> {
    name: &'a str,
    parent: &'a str,
    dev: &'a str,
    sectors: u64,
    removable: bool,
    ro: bool,
    attrs: &'a [(&'a str, &'a str)],
    partitions: &'a [(&'a str, &'a str)],
    holders: &'a [(&'a str, &'a str)],
}

const DISK: Disk<'static> = Disk {
    name: "",
    parent: "",
    dev: "",
    sectors: 62_521_344,
    removable: false,
    ro: false,
    attrs: &[],
    partitions: &[],
    holders: &[],
};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, format!("{text}\n")).expect("write");
}

impl Fake {
    fn new(mountinfo: &str, swaps: &str) -> Fake {
        let dir = tempfile::tempdir().expect("tempdir");
        let roots = Roots {
            sys: dir.path().join("sys"),
            proc: dir.path().join("proc"),
            dev: dir.path().join("dev"),
        };
        for sub in ["sys/block", "sys/dev/block", "proc/self", "dev"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        write(&roots.proc.join("self/mountinfo"), mountinfo);
        write(
            &roots.proc.join("swaps"),
            &format!("Filename\tType\tSize\tUsed\tPriority\n{swaps}"),
        );
        Fake { _dir: dir, roots }
    }

    fn disk(&self, disk: &Disk<'_>) {
        let real = self
            .roots
            .sys
            .join("devices")
            .join(disk.parent)
            .join(disk.name);
        write(&real.join("dev"), disk.dev);
        write(&real.join("size"), &disk.sectors.to_string());
        write(
            &real.join("removable"),
            if disk.removable { "1" } else { "0" },
        );
        write(&real.join("ro"), if disk.ro { "1" } else { "0" });
        std::fs::create_dir_all(real.join("holders")).expect("holders");
        for (attr, value) in disk.attrs {
            write(&real.join(attr), value);
        }
        symlink(&real, self.roots.sys.join("block").join(disk.name)).expect("link");
        symlink(&real, self.roots.sys.join("dev/block").join(disk.dev)).expect("link");
        std::fs::write(self.roots.dev.join(disk.name), b"").expect("dev node");
        for (part, dev) in disk.partitions {
            let dir = real.join(part);
            write(&dir.join("dev"), dev);
            write(&dir.join("partition"), "1");
            std::fs::create_dir_all(dir.join("holders")).expect("holders");
            symlink(&dir, self.roots.sys.join("dev/block").join(dev)).expect("link");
            std::fs::write(self.roots.dev.join(part), b"").expect("dev node");
        }
        for (on, holder) in disk.holders {
            let base = if *on == disk.name {
                real.clone()
            } else {
                real.join(on)
            };
            symlink(
                self.roots.sys.join("block").join(holder),
                base.join("holders").join(holder),
            )
            .expect("holder link");
        }
    }

    fn device(&self, list: &[BlockDevice], name: &str) -> BlockDevice {
        list.iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("{name} not listed"))
            .clone()
    }
}

const USB_HOST: &str = "pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block";

fn usb_reader() -> Fake {
    let fake = Fake::new(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
         30 22 8:33 / /media/my\\040card rw,nosuid - vfat /dev/sdc1 rw\n\
         31 22 254:0 / /srv rw - ext4 /dev/mapper/vg-srv rw\n\
         32 22 0:45 /@ /data rw - btrfs /dev/sdg1 rw\n\
         33 22 0:22 / /proc rw - proc proc rw",
        "/dev/sda2\tpartition\t999\t0\t-2\n/swapfile\tfile\t100\t0\t-3\n",
    );
    // The USB device above the SCSI disk holds the serial, as real USB readers do.
    let usb_dev = fake
        .roots
        .sys
        .join("devices/pci0000:00/0000:00:14.0/usb1/1-2");
    write(&usb_dev.join("idVendor"), "0bda");
    write(&usb_dev.join("serial"), "000000001206");
    fake.disk(&Disk {
        name: "sdb",
        parent: USB_HOST,
        dev: "8:16",
        attrs: &[
            ("device/vendor", "Generic "),
            ("device/model", "STORAGE DEVICE  "),
        ],
        partitions: &[("sdb1", "8:17"), ("sdb2", "8:18")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "sdc",
        parent: "pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/host7/target7:0:0/7:0:0:0/block",
        dev: "8:32",
        removable: true,
        partitions: &[("sdc1", "8:33")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "sda",
        parent: "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block",
        dev: "8:0",
        partitions: &[("sda1", "8:1"), ("sda2", "8:2")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "mmcblk0",
        parent: "platform/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa/block",
        dev: "179:0",
        attrs: &[
            ("device/type", "SD"),
            ("device/name", "SC32G"),
            ("device/serial", "0x1a2b3c4d"),
        ],
        partitions: &[("mmcblk0p1", "179:1")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "mmcblk1",
        parent: "platform/fe330000.mmc/mmc_host/mmc1/mmc1:0001/block",
        dev: "179:32",
        attrs: &[("device/type", "MMC")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "mmcblk1boot0",
        parent: "platform/fe330000.mmc/mmc_host/mmc1/mmc1:0001/block",
        dev: "179:64",
        attrs: &[("device/type", "MMC")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "loop0",
        parent: "virtual/block",
        dev: "7:0",
        sectors: 16384,
        ..DISK
    });
    fake.disk(&Disk {
        name: "loop1",
        parent: "virtual/block",
        dev: "7:1",
        sectors: 0,
        ..DISK
    });
    fake.disk(&Disk {
        name: "dm-0",
        parent: "virtual/block",
        dev: "254:0",
        ..DISK
    });
    std::fs::create_dir_all(fake.roots.dev.join("mapper")).expect("mapper");
    symlink("../dm-0", fake.roots.dev.join("mapper/vg-srv")).expect("mapper link");
    fake.disk(&Disk {
        name: "sdd",
        parent: "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host8/target8:0:0/8:0:0:0/block",
        dev: "8:48",
        partitions: &[("sdd1", "8:49")],
        holders: &[("sdd1", "dm-0")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "sde",
        parent: "pci0000:00/0000:00:14.0/usb2/2-2/2-2:1.0/host9/target9:0:0/9:0:0:0/block",
        dev: "8:64",
        sectors: 0,
        removable: true,
        ..DISK
    });
    fake.disk(&Disk {
        name: "sdf",
        parent: "pci0000:00/0000:00:14.0/usb2/2-3/2-3:1.0/host10/target10:0:0/10:0:0:0/block",
        dev: "8:80",
        ro: true,
        ..DISK
    });
    fake.disk(&Disk {
        name: "sdg",
        parent: "pci0000:00/0000:00:14.0/usb2/2-4/2-4:1.0/host11/target11:0:0/11:0:0:0/block",
        dev: "8:96",
        partitions: &[("sdg1", "8:97")],
        ..DISK
    });
    fake.disk(&Disk {
        name: "sdh",
        parent: "pci0000:00/0000:00:1f.2/host12/target12:0:0/12:0:0:0/block",
        dev: "8:112",
        removable: true,
        ..DISK
    });
    fake.disk(&Disk {
        name: "nvme0n1",
        parent: "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/block",
        dev: "259:0",
        ..DISK
    });
    fake
}

fn mount(device: &str, mount_point: &str) -> nixspot_flash::devices::Mount {
    nixspot_flash::devices::Mount {
        device: device.into(),
        mount_point: mount_point.into(),
    }
}

#[test]
fn usb_reader_reporting_not_removable_is_a_candidate_with_its_usb_serial() {
    let fake = usb_reader();
    let all = list(&fake.roots, Policy::default()).expect("list");
    let sdb = fake.device(&all, "sdb");
    assert!(sdb.is_candidate(), "{:?}", sdb.exclusions);
    assert!(!sdb.removable);
    assert_eq!(sdb.transport, Transport::Usb);
    assert_eq!(sdb.dev, (8, 16));
    assert_eq!(sdb.size, 62_521_344 * 512);
    assert_eq!(sdb.description(), "Generic STORAGE DEVICE");
    assert_eq!(sdb.serial.as_deref(), Some("000000001206"));
}

#[test]
fn sd_slot_is_a_candidate_and_emmc_is_not() {
    let fake = usb_reader();
    let all = list(&fake.roots, Policy::default()).expect("list");
    let sd = fake.device(&all, "mmcblk0");
    assert!(sd.is_candidate(), "{:?}", sd.exclusions);
    assert_eq!(
        sd.transport,
        Transport::Mmc {
            kind: Some("SD".into())
        }
    );
    assert_eq!(sd.model.as_deref(), Some("SC32G"));
    assert_eq!(sd.serial.as_deref(), Some("0x1a2b3c4d"));
    for emmc in ["mmcblk1", "mmcblk1boot0"] {
        assert_eq!(
            fake.device(&all, emmc).exclusions,
            [Exclusion::Emmc],
            "{emmc}"
        );
    }
}

#[test]
fn mounted_partition_excludes_its_disk_naming_the_mount_point() {
    let fake = usb_reader();
    let all = list(&fake.roots, Policy::default()).expect("list");
    let sdc = fake.device(&all, "sdc");
    assert_eq!(
        sdc.exclusions,
        [Exclusion::Mounted {
            mount: mount("sdc1", "/media/my card")
        }]
    );
    assert!(sdc.exclusions[0].to_string().contains("/media/my card"));
    // btrfs reports an anonymous device number: matched by the mount's source.
    let sdg = fake.device(&all, "sdg");
    assert_eq!(
        sdg.exclusions,
        [Exclusion::Mounted {
            mount: mount("sdg1", "/data")
        }]
    );
}

#[test]
fn system_disk_is_excluded_for_every_reason() {
    let fake = usb_reader();
    let all = list(&fake.roots, Policy::default()).expect("list");
    let sda = fake.device(&all, "sda");
    assert_eq!(
        sda.exclusions,
        [
            Exclusion::NotRemovable {
                transport: Transport::Ata
            },
            Exclusion::Swap {
                device: "sda2".into()
            },
            Exclusion::SystemDisk {
                mount: mount("sda1", "/")
            },
        ]
    );
    assert_eq!(
        fake.device(&all, "nvme0n1").exclusions,
        [Exclusion::NotRemovable {
            transport: Transport::Nvme
        }]
    );
}

#[test]
fn a_disk_under_a_mounted_device_mapper_stack_is_excluded() {
    let fake = usb_reader();
    let all = list(&fake.roots, Policy::default()).expect("list");
    let sdd = fake.device(&all, "sdd");
    assert_eq!(
        sdd.exclusions,
        [
            Exclusion::Held {
                device: "sdd1".into(),
                holder: "dm-0".into()
            },
            Exclusion::Mounted {
                mount: mount("dm-0", "/srv")
            },
        ]
    );
    assert_eq!(fake.device(&all, "dm-0").exclusions[0], Exclusion::Virtual);
}

#[test]
fn no_medium_read_only_and_removable_scsi() {
    let fake = usb_reader();
    let all = list(&fake.roots, Policy::default()).expect("list");
    assert_eq!(fake.device(&all, "sde").exclusions, [Exclusion::NoMedium]);
    assert_eq!(fake.device(&all, "sdf").exclusions, [Exclusion::ReadOnly]);
    let sdh = fake.device(&all, "sdh");
    assert!(
        sdh.is_candidate(),
        "removable=1 on any transport: {:?}",
        sdh.exclusions
    );
    assert_eq!(sdh.transport, Transport::Other);
}

#[test]
fn loop_devices_only_when_allowed() {
    let fake = usb_reader();
    let all = list(&fake.roots, Policy::default()).expect("list");
    assert_eq!(fake.device(&all, "loop0").exclusions, [Exclusion::Loop]);
    let allowed = list(&fake.roots, Policy { allow_loop: true }).expect("list");
    assert!(fake.device(&allowed, "loop0").is_candidate());
    assert_eq!(
        fake.device(&allowed, "loop1").exclusions,
        [Exclusion::NoMedium],
        "an unbound loop device has no medium"
    );
}

#[test]
fn list_is_sorted_and_complete() {
    let fake = usb_reader();
    let names: Vec<String> = list(&fake.roots, Policy::default())
        .expect("list")
        .into_iter()
        .map(|d| d.name)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 15);
}

#[test]
fn a_partition_is_refused_naming_its_whole_device() {
    let fake = usb_reader();
    let err = resolve_number(
        &fake.roots,
        Path::new("/dev/sdb1"),
        (8, 17),
        Policy::default(),
    )
    .expect_err("a partition");
    match &err {
        FlashError::Partition {
            partition, whole, ..
        } => {
            assert_eq!(partition, "sdb1");
            assert_eq!(whole, "sdb");
        }
        other => panic!("expected Partition, got {other:?}"),
    }
    assert!(err.to_string().contains("give /dev/sdb"), "{err}");
    let whole = resolve_number(
        &fake.roots,
        Path::new("/dev/sdb"),
        (8, 16),
        Policy::default(),
    )
    .expect("whole");
    assert!(whole.is_candidate());
}

#[test]
fn malformed_sysfs_is_an_error_naming_the_file_not_a_panic() {
    let fake = usb_reader();
    let size: PathBuf = fake.roots.sys.join("block/sdb/size");
    std::fs::write(&size, "lots\n").expect("write");
    let err = list(&fake.roots, Policy::default()).expect_err("malformed");
    let text = err.to_string();
    assert!(text.contains("size") && text.contains("lots"), "{text}");
}
