# nixspot's own base image: a Raspberry Pi 3/4/Zero 2 W image made only from pinned Debian
# bookworm arm64 packages (base/base.lock.json, written by `nixspot base lock`) and
# nixspot's on-device programs. Plain data: `nixspot base build` reads it with
# nixspot's evaluator (real Nix gives the same JSON).
{
  name = "nixspot-base";

  mirror = {
    architecture = "arm64";
    # InRelease files must be signed by Debian's bookworm archive keys (pinned in
    # rust/deb/keys); `snapshot` is where each pinned .deb stays fetchable once the
    # pool drops it (the lock records the URL; see SNAPSHOT_DELAY_SECS in rust/deb).
    sources = [
      { url = "https://deb.debian.org/debian"; suite = "bookworm"; components = [ "main" "non-free-firmware" ]; snapshot = "https://snapshot.debian.org/archive/debian"; }
      { url = "https://deb.debian.org/debian"; suite = "bookworm-updates"; components = [ "main" "non-free-firmware" ]; snapshot = "https://snapshot.debian.org/archive/debian"; }
      { url = "https://deb.debian.org/debian-security"; suite = "bookworm-security"; components = [ "main" "non-free-firmware" ]; snapshot = "https://snapshot.debian.org/archive/debian-security"; }
      # Firmware only (bookworm-backports' non-free-firmware holds nothing but
      # firmware-* packages, none with dependencies): the lock takes the highest version
      # of each package among the sources, so this upgrades firmware-brcm80211 alone
      # (raspi-firmware has no backport). bookworm's 20230210 has no WiFi NVRAM for the
      # Pi Zero 2 W; backports' has brcmfmac43430-sdio.raspberrypi,model-zero-2-w.txt
      # (for the boards with the CYW43438, i.e. BCM43430A1, chip; its copyright file
      # comes with it). Signed by the same Debian archive keys.
      { url = "https://deb.debian.org/debian"; suite = "bookworm-backports"; components = [ "non-free-firmware" ]; snapshot = "https://snapshot.debian.org/archive/debian"; }
    ];
    # Never installed: what only maintainer scripts, dpkg/apt, udev, systemd or
    # initramfs-tools need (nothing runs them here), and optional extras of the
    # hotspot programs that pull large closures.
    exclude = [
      "adduser"
      "aria2"
      "debconf"
      "debconf-2.0"
      "dpkg"
      "init-system-helpers"
      "initramfs-tools"
      "kmod"
      "libaria2-0"
      "libnss3-tools"
      "linux-base"
      "openssl"
      "passwd"
      "perl"
      "perl-base"
      "systemd"
      "systemd-sysv"
      "udev"
    ];
  };

  # Requested packages; the lock holds their Depends/Pre-Depends closure.
  packages = [
    "busybox-static"
    "caddy"
    "dnsmasq-base"
    "dropbear-bin"
    "firmware-brcm80211"
    "hostapd"
    "kiwix-tools"
    "linux-image-6.1.0-56-arm64"
    "nftables"
    "raspi-firmware"
    "runit"
    "tzdata"
    # The kernel's regulatory database (/lib/firmware/regulatory.db, signed; cfg80211
    # loads it): without it the kernel stays in the world domain, hostapd waits for a
    # regulatory update that never comes, and `ap.country` is not applied.
    "wireless-regdb"
  ];

  # The kernel package (its version names /lib/modules/<version>).
  kernel = "linux-image-6.1.0-56-arm64";

  # Modules the initramfs loads (with their dependencies), in this order: SD card
  # (bcm2835: the Pi 3's SDHOST; sdhci-iproc: the Pi 4's EMMC2, and the SDHCI QEMU's
  # raspi4b puts the card on), USB (dwc2 needs phy-generic to probe), USB networking
  # (QEMU's usb-net), the root and boot filesystems, the watchdog that makes
  # `poweroff -f` work, the hardware RNGs (Pi 3 and Zero 2 W; Pi 4: the initramfs
  # credits them, so the kernel's CRNG is ready before the services start), and what
  # the hotspot's nftables ruleset uses (loading them on demand through busybox's
  # modprobe takes seconds each under emulation).
  initramfsModules = [
    "bcm2835"
    "sdhci-iproc"
    "phy-generic"
    "dwc2"
    "cdc_ether"
    "crc32c_generic"
    "ext4"
    "vfat"
    "nls_cp437"
    "nls_ascii"
    "bcm2835_wdt"
    "bcm2835-rng"
    "iproc-rng200"
    "nf_tables"
    "nft_chain_nat"
    "nft_nat"
    "nft_masq"
    "nft_ct"
  ];

  # Device trees copied from the kernel package to the boot partition.
  dtbs = [
    "broadcom/bcm2711-rpi-4-b.dtb"
    "broadcom/bcm2837-rpi-3-a-plus.dtb"
    "broadcom/bcm2837-rpi-3-b.dtb"
    "broadcom/bcm2837-rpi-3-b-plus.dtb"
    "broadcom/bcm2837-rpi-cm3-io3.dtb"
    "broadcom/bcm2711-rpi-400.dtb"
    "broadcom/bcm2711-rpi-cm4-io.dtb"
    "broadcom/bcm2837-rpi-zero-2-w.dtb"
  ];

  hostname = "nixspot";

  partitions = {
    boot = { label = "bootfs"; size = 512 * 1024 * 1024; };
    # Minimal size plus room for the runtime's files and logs.
    root = { label = "rootfs"; marginBytes = 64 * 1024 * 1024; };
    data = { label = "data"; size = 64 * 1024 * 1024; };
  };

  # Raspberry Pi firmware configuration (the VideoCore reads it; QEMU ignores it);
  # the build adds `kernel=vmlinuz-<version>` and `initramfs initrd.img-<version>`.
  # The Zero 2 W's device tree is named explicitly: the firmware's own name for the
  # board is bcm2710-rpi-zero-2-w.dtb, and whether its upstream_kernel mapping knows the
  # upstream name (Debian's kernel ships no bcm2710-* file) is unverified.
  configTxt = ''
    arm_64bit=1
    enable_uart=1
    upstream_kernel=1
    disable_overscan=1
    [pi02]
    device_tree=bcm2837-rpi-zero-2-w.dtb
    [all]
  '';

  cmdline = "console=serial0,115200 console=tty1 root=LABEL=rootfs rootfstype=ext4 rootwait";
}
