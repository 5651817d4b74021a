//! depmod from synthetic ELF modules. The same code was compared with kmod's
//! `depmod -b ROOT 6.1.0-50-arm64` on Debian's real arm64 kernel package (3684
//! modules): modules.dep, modules.alias, modules.softdep and modules.devname were
//! byte-identical.

mod common;

use nixspot_deb::depmod::{
    decompress_module, depmod, is_module_path, module_name_from_path, read_modinfo, read_symbols,
    Module,
};

fn module(path: &str, fields: &[&str]) -> Module {
    let elf = common::elf_module(true, true, fields);
    Module::from_file_bytes(path, &elf).unwrap()
}

#[test]
fn reads_modinfo_from_every_elf_flavour_and_compression() {
    let fields = [
        "license=GPL",
        "depends=usbnet,mii",
        "alias=usb:v*p*",
        "name=cdc_ether",
        "vermagic=6.1.0",
    ];
    for is64 in [true, false] {
        for le in [true, false] {
            let elf = common::elf_module(is64, le, &fields);
            let info = read_modinfo(&elf, "x.ko").unwrap();
            assert_eq!(info.depends(), ["usbnet", "mii"], "is64={is64} le={le}");
            assert_eq!(info.values("alias").collect::<Vec<_>>(), ["usb:v*p*"]);
            assert_eq!(info.fields.len(), 5);
        }
    }
    let elf = common::elf_module(true, true, &fields);
    for (m, name) in [
        ("xz", "a.ko.xz"),
        ("gz", "a.ko.gz"),
        ("zst", "a.ko.zst"),
        ("", "a.ko"),
    ] {
        let packed = common::compress(m, &elf);
        assert_eq!(decompress_module(&packed, name).unwrap(), elf, "{name}");
        assert!(is_module_path(name));
    }
    assert!(!is_module_path("modules.order"));
    assert_eq!(module_name_from_path("kernel/drivers/usb/x-y.ko.xz"), "x_y");
}

#[test]
fn malformed_modules_are_errors() {
    let elf = common::elf_module(true, true, &["depends="]);
    let mut truncated = elf.clone();
    truncated.truncate(elf.len() - 30);
    let mut no_modinfo = elf.clone();
    // Rename ".modinfo" in the string table.
    let pos = no_modinfo
        .windows(8)
        .position(|w| w == b".modinfo")
        .unwrap();
    no_modinfo[pos + 1] = b'X';
    for (bytes, want) in [
        (b"MZ".to_vec(), "not an ELF"),
        (truncated, "past the end"),
        (no_modinfo, "no .modinfo"),
        (elf[..40].to_vec(), "past the end"),
    ] {
        let err = read_modinfo(&bytes, "kernel/bad.ko")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kernel/bad.ko") && err.contains(want), "{err}");
    }
    assert!(decompress_module(b"junk", "x.ko.xz").is_err());
    // Every truncation fails cleanly.
    for cut in 0..elf.len() {
        let _ = read_modinfo(&elf[..cut], "cut.ko");
    }
}

/// A small piece of the real kernel's graph (6.1.0-50-arm64): cdc_ether needs usbnet
/// and usbcore; usbnet needs mii and usbcore; usbcore needs usb-common (`depends=`
/// exactly as in the real modules). kmod wrote:
/// `kernel/drivers/net/usb/cdc_ether.ko: kernel/drivers/net/usb/usbnet.ko
/// kernel/drivers/net/mii.ko kernel/drivers/usb/core/usbcore.ko
/// kernel/drivers/usb/common/usb-common.ko`
#[test]
fn modules_dep_matches_kmod_for_the_usb_network_stack() {
    let modules = vec![
        module(
            "kernel/drivers/usb/common/usb-common.ko",
            &["name=usb_common", "depends="],
        ),
        module("kernel/drivers/net/mii.ko", &["name=mii", "depends="]),
        module(
            "kernel/drivers/usb/core/usbcore.ko",
            &["name=usbcore", "depends=usb-common"],
        ),
        module(
            "kernel/drivers/net/usb/usbnet.ko",
            &["name=usbnet", "depends=usbcore,mii"],
        ),
        module(
            "kernel/drivers/net/usb/cdc_ether.ko",
            &[
                "alias=usb:v*p*d*dc*dsc*dp*ic02isc06ip00in*",
                "name=cdc_ether",
                "depends=usbcore,usbnet",
            ],
        ),
        module(
            "kernel/fs/autofs/autofs4.ko",
            &[
                "alias=devname:autofs",
                "alias=char-major-10-235",
                "name=autofs4",
                "depends=",
            ],
        ),
        module(
            "kernel/fs/ext4/ext4.ko",
            &["softdep=pre: crypto-crc32c", "name=ext4", "depends=ghost"],
        ),
    ];
    let order = "kernel/fs/ext4/ext4.ko\nkernel/drivers/usb/common/usb-common.ko\nkernel/drivers/usb/core/usbcore.ko\n\
kernel/drivers/net/mii.ko\nkernel/drivers/net/usb/usbnet.ko\nkernel/drivers/net/usb/cdc_ether.ko\n";
    let out = depmod(modules, Some(order)).unwrap();
    assert_eq!(
        out.modules_dep,
        "kernel/fs/ext4/ext4.ko:\n\
kernel/drivers/usb/common/usb-common.ko:\n\
kernel/drivers/usb/core/usbcore.ko: kernel/drivers/usb/common/usb-common.ko\n\
kernel/drivers/net/mii.ko:\n\
kernel/drivers/net/usb/usbnet.ko: kernel/drivers/net/mii.ko kernel/drivers/usb/core/usbcore.ko kernel/drivers/usb/common/usb-common.ko\n\
kernel/drivers/net/usb/cdc_ether.ko: kernel/drivers/net/usb/usbnet.ko kernel/drivers/net/mii.ko kernel/drivers/usb/core/usbcore.ko kernel/drivers/usb/common/usb-common.ko\n\
kernel/fs/autofs/autofs4.ko:\n"
    );
    assert!(out
        .modules_alias
        .contains("\nalias usb:v*p*d*dc*dsc*dp*ic02isc06ip00in* cdc_ether\n"));
    assert_eq!(
        out.modules_softdep,
        "# Soft dependencies extracted from modules themselves.\nsoftdep ext4 pre: crypto-crc32c\n"
    );
    assert_eq!(
        out.modules_devname,
        "# Device nodes to trigger on-demand module loading.\nautofs4 autofs c10:235\n"
    );
    assert_eq!(out.missing, [("ext4".to_string(), "ghost".to_string())]);
}

#[test]
fn cycles_and_duplicate_names_are_errors() {
    let a = module("a.ko", &["name=a", "depends=b"]);
    let b = module("b.ko", &["name=b", "depends=a"]);
    let err = depmod(vec![a.clone(), b], None).unwrap_err().to_string();
    assert!(
        err.contains("cycle") && err.contains('a') && err.contains('b'),
        "{err}"
    );
    let dup = module("other/a.ko", &["name=a"]);
    let err = depmod(vec![a, dup], None).unwrap_err().to_string();
    assert!(err.contains("also used by"), "{err}");
}

/// kmod orders dependency lists by a topological sort whose ties depend on the order
/// in which a module first uses each dependency's symbols, not on `depends=`.
#[test]
fn symbol_use_order_breaks_ties_like_kmod() {
    let sym = |path: &str, fields: &[&str], exports: &[&str], undefined: &[&str]| {
        let elf = common::elf_module_with_symbols(true, true, fields, exports, undefined);
        Module::from_file_bytes(path, &elf).unwrap()
    };
    let a = sym(
        "a.ko",
        &["name=a", "depends=y,x"],
        &[],
        &["printk", "x_fn", "y_fn", "x_other"],
    );
    let x = sym(
        "x.ko",
        &["name=x", "depends="],
        &["x_fn", "x_other"],
        &["printk"],
    );
    let y = sym("y.ko", &["name=y", "depends="], &["y_fn"], &[]);
    assert_eq!(a.symbols.undefined, ["printk", "x_fn", "y_fn", "x_other"]);
    assert_eq!(x.symbols.exports, ["x_fn", "x_other"]);
    let out = depmod(vec![a.clone(), x.clone(), y.clone()], None).unwrap();
    assert_eq!(out.modules_dep, "a.ko: y.ko x.ko\nx.ko:\ny.ko:\n");
    // Without symbols the declared order decides.
    let strip = |mut m: Module| {
        m.symbols = Default::default();
        m
    };
    let out = depmod(vec![strip(a), strip(x), strip(y)], None).unwrap();
    assert_eq!(out.modules_dep, "a.ko: x.ko y.ko\nx.ko:\ny.ko:\n");
}

#[test]
fn reads_symbols_in_every_elf_flavour() {
    for is64 in [true, false] {
        for le in [true, false] {
            let elf = common::elf_module_with_symbols(
                is64,
                le,
                &["name=m"],
                &["e1", "e2"],
                &["u1", "u2"],
            );
            let s = read_symbols(&elf, "m.ko").unwrap();
            assert_eq!(s.exports, ["e1", "e2"], "is64={is64} le={le}");
            assert_eq!(s.undefined, ["u1", "u2"], "is64={is64} le={le}");
            assert_eq!(read_modinfo(&elf, "m.ko").unwrap().fields.len(), 1);
        }
    }
}
