//! `nixspot flash` end to end: a scratch file and loop devices (as root, `losetup`)
//! standing in for SD cards; `--list`; the refusals a user meets.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn nixspot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nixspot"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run nixspot")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn image_bytes() -> Vec<u8> {
    let mut data: Vec<u8> = (0..(5u32 << 20) + 333)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    data[(1 << 20)..(3 << 20)].fill(0);
    data
}

/// Compressed by the real `zstd` program (which records the size in the frame).
fn zst_image(dir: &Path, data: &[u8]) -> PathBuf {
    let plain = dir.join("hotspot.img");
    std::fs::write(&plain, data).expect("write");
    let status = Command::new("zstd")
        .args(["-q", "-f", "--rm"])
        .arg(&plain)
        .status()
        .expect("zstd (in .ci/install-deps)");
    assert!(status.success());
    dir.join("hotspot.img.zst")
}

fn xz_image(dir: &Path, data: &[u8]) -> PathBuf {
    let path = dir.join("hotspot.img.xz");
    let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
    enc.write_all(data).expect("xz");
    std::fs::write(&path, enc.finish().expect("xz")).expect("write");
    path
}

/// A loop device over a file, detached when dropped.
struct Loop {
    dev: PathBuf,
}

impl Loop {
    fn attach(backing: &Path) -> Loop {
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(backing)
            .output()
            .expect("losetup (util-linux; the tests run as root)");
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Loop {
            dev: PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        }
    }

    fn path(&self) -> &str {
        self.dev.to_str().expect("utf-8 device path")
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

#[test]
fn flash_to_a_scratch_file_writes_the_decompressed_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let image = xz_image(dir.path(), &data);
    let card = dir.path().join("copy.img");
    // A file is not a card: no confirmation needed, even without a terminal.
    let out = nixspot(&[
        "flash",
        image.to_str().expect("utf-8"),
        card.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read(&card).expect("copy") == data);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("wrote {}", data.len())),
        "{stdout}"
    );
    assert!(stdout.contains("verified"), "{stdout}");
}

#[test]
fn a_loop_device_is_written_only_with_yes_and_allow_loop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let image = zst_image(dir.path(), &data);
    let backing = dir.path().join("card.backing");
    std::fs::write(&backing, vec![0x55u8; 8 << 20]).expect("backing");
    let card = Loop::attach(&backing);
    let image = image.to_str().expect("utf-8");

    let out = nixspot(&["flash", image, card.path(), "--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("a loop device, not a card"),
        "{}",
        text(&out)
    );

    let out = nixspot(&["flash", image, card.path(), "--allow-loop"]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("not a terminal") && msg.contains("--yes"),
        "refused without a terminal: {msg}"
    );
    assert!(
        std::fs::read(&backing)
            .expect("backing")
            .iter()
            .all(|b| *b == 0x55),
        "untouched after the refusals"
    );

    let out = nixspot(&["flash", image, card.path(), "--allow-loop", "--yes"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("the card can be removed"),
        "{}",
        text(&out)
    );
    let written = std::fs::read(&backing).expect("backing");
    assert!(
        written[..data.len()] == data[..],
        "the image's bytes on the card"
    );
    assert!(written[data.len()..].iter().all(|b| *b == 0x55));
}

#[test]
fn list_shows_loop_devices_only_when_allowed_and_says_why_with_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backing = dir.path().join("card.backing");
    std::fs::write(&backing, vec![0u8; 4 << 20]).expect("backing");
    let card = Loop::attach(&backing);
    let name = card.path();

    let out = nixspot(&["flash", "--list", "--all"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    let excluded = listing
        .split("not writable:")
        .nth(1)
        .unwrap_or_else(|| panic!("an excluded section: {listing}"));
    assert!(excluded.contains(name), "{listing}");
    assert!(excluded.contains("a loop device, not a card"), "{listing}");

    let out = nixspot(&["flash", "--list", "--allow-loop"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} listed as a candidate: {listing}"));
    assert!(line.contains("4.2 MB") && line.contains("loop"), "{line}");
    assert!(!listing.contains("not writable:"), "only with --all");
}

#[test]
fn refusals_name_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let image = zst_image(dir.path(), &data);
    let image = image.to_str().expect("utf-8");

    let out = nixspot(&["flash", image, "/dev/nixspot-no-such-card", "--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("nixspot flash --list"),
        "{}",
        text(&out)
    );
    assert!(!Path::new("/dev/nixspot-no-such-card").exists());

    let out = nixspot(&["flash", image, "/dev/null", "--yes"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("a character device"), "{}", text(&out));

    let out = nixspot(&["flash", image, image]);
    assert!(!out.status.success());
    assert!(text(&out).contains("is the image itself"), "{}", text(&out));
    assert!(Path::new(image).metadata().expect("image").len() > 0);

    let out = nixspot(&["flash", "--list", image]);
    assert!(
        !out.status.success(),
        "--list takes no IMAGE: {}",
        text(&out)
    );
}

#[test]
fn ctrl_c_while_writing_says_the_card_is_incomplete() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    // 4 GiB of zeros as 1024 concatenated zstd frames (a few hundred kB on disk): the
    // write takes seconds, so the signal, sent once writing has begun, lands mid-way.
    let frame = std::fs::read(zst_image(dir.path(), &vec![0u8; 4 << 20])).expect("frame");
    let image = dir.path().join("big.img.zst");
    std::fs::write(&image, frame.repeat(1024)).expect("image");
    let card = dir.path().join("card.img");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nixspot"))
        .arg("flash")
        .arg(&image)
        .arg(&card)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nixspot");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first line");
    assert!(line.starts_with("writing "), "{line}");
    // The handler is in place before that line is printed.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    let status = child.wait().expect("wait");
    assert!(!status.success());
    assert!(
        rest.contains("interrupted after writing") && rest.contains("is incomplete"),
        "{rest}"
    );
    assert!(!card.exists(), "the incomplete copy is removed");
}

/// Runs `nixspot` on a pseudo-terminal (util-linux's `script`), answering `answer`.
fn on_a_terminal(args: &str, answer: &str) -> Output {
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_nixspot")))
        .arg("/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (bsdutils)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("answer");
    child.wait_with_output().expect("script")
}

#[test]
fn on_a_terminal_the_card_is_shown_and_only_yes_writes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let image = zst_image(dir.path(), &data);
    let backing = dir.path().join("card.backing");
    std::fs::write(&backing, vec![0x55u8; 8 << 20]).expect("backing");
    let card = Loop::attach(&backing);
    let args = format!("flash {} {} --allow-loop", image.display(), card.path());

    let out = on_a_terminal(&args, "no\n");
    assert!(!out.status.success());
    let shown = text(&out);
    for expected in [
        format!("to {}:", card.path()),
        "size    8.4 MB (8388608 bytes)".to_string(),
        "serial  (unknown)".to_string(),
        "via     loop".to_string(),
        "Type \"yes\" to continue".to_string(),
        format!("{} was not touched", card.path()),
    ] {
        assert!(shown.contains(&expected), "{expected:?} in {shown}");
    }
    assert!(std::fs::read(&backing)
        .expect("backing")
        .iter()
        .all(|b| *b == 0x55));

    let out = on_a_terminal(&args, "yes\n");
    assert!(out.status.success(), "{}", text(&out));
    let written = std::fs::read(&backing).expect("backing");
    assert!(written[..data.len()] == data[..]);
}
