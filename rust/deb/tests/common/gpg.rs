//! `gpg`-made OpenPGP keys and clear signatures for tests (also used by the CLI's
//! `nixspot base lock` tests through `#[path]`).
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;

/// A throw-away GnuPG home with signing keys, for real OpenPGP signatures made by
/// `gpg` (the tool Debian's archive software signs with). Keys and signatures use a
/// frozen clock (`--faked-system-time`), so tests verify at a fixed [`GPG_NOW`].
pub struct Gpg {
    home: tempfile::TempDir,
    // One gpg at a time per home: each call stops the agent the next one needs.
    busy: std::sync::Mutex<()>,
}

/// The time tests verify at: 2025-01-01, a year after the test keys were made.
pub const GPG_NOW: u64 = 1_735_689_600;

impl Gpg {
    /// A new empty GnuPG home.
    pub fn new() -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Gpg {
            home,
            busy: std::sync::Mutex::new(()),
        }
    }

    fn run(&self, time: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        use std::process::{Command, Stdio};
        let _busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--yes", "--quiet", "--pinentry-mode", "loopback"])
            .args(["--passphrase", "", "--faked-system-time", time])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg (apt install gnupg)");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        // gpg leaves an agent running for the home: stop it after every call, so no
        // process outlives the test (even for homes kept in a static).
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Makes an ed25519 signing key on 2024-01-01 that expires after `expire`
    /// (`never`, `2d`…), with a signing subkey expiring after `subkey` if given;
    /// returns the fingerprint of the key that signs (the subkey if any).
    pub fn key(&self, uid: &str, expire: &str, subkey: Option<&str>) -> String {
        let t = "20240101T000000!";
        self.run(t, &["--quick-gen-key", uid, "ed25519", "sign", expire], b"");
        let fprs = |gpg: &Gpg| -> Vec<String> {
            let out = gpg.run(t, &["--with-colons", "--list-keys", uid], b"");
            String::from_utf8(out)
                .unwrap()
                .lines()
                .filter_map(|l| l.strip_prefix("fpr:::::::::"))
                .map(|l| l.trim_end_matches(':').to_string())
                .collect()
        };
        let primary = fprs(self)[0].clone();
        let Some(sub_expire) = subkey else {
            return primary;
        };
        self.run(
            t,
            &["--quick-add-key", &primary, "ed25519", "sign", sub_expire],
            b"",
        );
        fprs(self)[1].clone()
    }

    /// Clear-signs `text` with the (sub)key `fpr` on 2024-01-02.
    pub fn clearsign(&self, fpr: &str, text: &str) -> String {
        let user = format!("{fpr}!");
        let out = self.run(
            "20240102T000000!",
            &[
                "--digest-algo",
                "SHA256",
                "--local-user",
                &user,
                "--clearsign",
            ],
            text.as_bytes(),
        );
        String::from_utf8(out).unwrap()
    }

    /// The public keys of this home, binary (`gpg --export`).
    pub fn export_binary(&self) -> Vec<u8> {
        self.run("20240101T000000!", &["--export"], b"")
    }

    /// The armoured public keys of this home (all of them, or those matching `who`).
    pub fn export(&self, who: &[&str]) -> String {
        let mut args = vec!["--armor", "--export"];
        args.extend_from_slice(who);
        String::from_utf8(self.run("20240101T000000!", &args, b"")).unwrap()
    }
}
