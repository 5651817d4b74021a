//! A running VM (QEMU `raspi3b` or `raspi4b`, see [`Board`]) and the helpers tests drive
//! it with.
//!
//! The command channel is the mini UART `ttyS1` (QEMU's second `-serial`), connected to a
//! Unix socket the driver listens on. The guest must run a root shell on `/dev/ttyS1`
//! (busybox `sh` with `base64` is enough). Each command is sent base64-encoded (so no byte
//! of it can be mangled by the tty), run in a subshell with stdin from `/dev/null` and
//! stderr merged into stdout, and answered as
//!
//! ```text
//! <MARKER>-S
//! <output, base64-encoded>
//! <MARKER>-E <exit status>
//! ```
//!
//! with a marker unique to the command. The markers are typed as `"<MARKER>""-S"`, so the
//! tty's echo of the typed line never matches them, and the output is base64 so that
//! neither the tty's newline translation nor stray kernel messages can corrupt it.
//!
//! Every helper call is a *step*: its error names it (e.g. ``succeed(`uname -a`)``), and
//! the step's failure is reported, with the tail of the serial log, to [`Report`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, SocketAddrV4, TcpListener};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;

use crate::bootfiles::{read_boot_files_for, Board};
use crate::disk::sparse_sd_copy;
use crate::error::{Error, Result};
use crate::http::{self, HttpResponse};

/// Where failure reports (step name, error, serial log tail) go.
#[derive(Debug, Clone, Default)]
pub enum Report {
    /// Standard error (the default).
    #[default]
    Stderr,
    /// A shared buffer (for callers that show reports themselves, and for tests).
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Report {
    fn write(&self, text: &str) {
        match self {
            Report::Stderr => {
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            Report::Buffer(b) => lock(b).extend_from_slice(text.as_bytes()),
        }
    }
}

/// How to start a machine.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// The image to boot (never modified: a sparse copy is booted).
    pub image: PathBuf,
    /// The board to emulate.
    pub board: Board,
    /// A device tree of the boot partition to boot instead of the one `config.txt` or
    /// the board's firmware would pick.
    pub dtb: Option<String>,
    /// The QEMU binary (`None`: [`default_qemu`] for the board).
    pub qemu: Option<PathBuf>,
    /// Guest TCP ports forwarded to random free ports on 127.0.0.1.
    pub guest_ports: Vec<u16>,
    /// Further forwards to a given guest address (in QEMU's 10.0.2.0/24) and port, for
    /// traffic the guest must see addressed elsewhere than its own 10.0.2.15.
    pub address_forwards: Vec<SocketAddrV4>,
    /// Time allowed for everything, from QEMU's start to the last step.
    pub global_timeout: Duration,
    /// Time allowed for the console shell to answer after QEMU starts or reboots.
    pub boot_timeout: Duration,
    /// Time allowed for one `succeed`/`fail` command and one HTTP request.
    pub step_timeout: Duration,
    /// Directory for the temporary directory (SD copy, boot files, console socket);
    /// default: the system's temporary directory. Its path must be short: the console
    /// socket's path is limited to 107 bytes.
    pub work_dir: Option<PathBuf>,
    /// Where to keep the full serial log (default: inside the temporary directory, which
    /// is removed when the machine is dropped).
    pub serial_log: Option<PathBuf>,
    /// Where failure reports go.
    pub report: Report,
}

impl MachineConfig {
    /// Defaults for `image`: a Pi 3 B in `qemu-system-aarch64` from `PATH`, no
    /// forwarded ports, 10 min global, 2 min boot and 1 min step timeouts.
    pub fn new(image: impl Into<PathBuf>) -> MachineConfig {
        MachineConfig {
            image: image.into(),
            board: Board::Raspi3b,
            dtb: None,
            qemu: None,
            guest_ports: Vec::new(),
            address_forwards: Vec::new(),
            global_timeout: Duration::from_secs(600),
            boot_timeout: Duration::from_secs(120),
            step_timeout: Duration::from_secs(60),
            work_dir: None,
            serial_log: None,
            report: Report::Stderr,
        }
    }
}

/// Appended to the image's own command line: the console the command channel uses, and a
/// flag an image's init can test before starting the root shell on it.
pub const APPEND_EXTRA: &str = "console=ttyS1,115200 nixspot.vmtest=1";

/// Environment variable naming the QEMU that runs `raspi4b`.
pub const QEMU_RASPI4B_ENV: &str = "NIXSPOT_QEMU_RASPI4B";

/// Where `.ci/install-deps` unpacks bookworm-backports' QEMU 10 (bookworm's own QEMU 7.2
/// has no `raspi4b`).
pub const QEMU_RASPI4B_DEFAULT: &str = "/opt/qemu-10/usr/bin/qemu-system-aarch64";

/// The QEMU that runs `board`: `qemu-system-aarch64` from `PATH` for the `raspi3b`
/// boards; for `raspi4b`, `$NIXSPOT_QEMU_RASPI4B` or [`QEMU_RASPI4B_DEFAULT`].
pub fn default_qemu(board: Board) -> PathBuf {
    match board {
        Board::Raspi3b | Board::Zero2w => PathBuf::from("qemu-system-aarch64"),
        Board::Raspi4b => std::env::var_os(QEMU_RASPI4B_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(QEMU_RASPI4B_DEFAULT)),
    }
}

/// Kernel arguments the driver adds on `raspi4b`, never written to the image: Debian's
/// kernel panics with a "synchronous external abort" without each of the first two (see
/// `shared/spec/wifi-and-pi4-vm.md` §3), because QEMU leaves blocks of the BCM2711
/// unmapped that a real Pi 4 has; the last keeps the emulated Pi 4 from stalling.
pub const RASPI4B_APPEND: &[&str] = &[
    // clk_disable_unused switches off the clocks no driver claimed, writing clock
    // registers QEMU does not emulate
    "clk_ignore_unused",
    // brcmstb_l2: the HDMI block's level-2 interrupt controller (0xfef00100) is not
    // mapped; brcmstb_i2c: HDMI's DDC I2C controllers, in the same unmapped block
    "initcall_blacklist=brcmstb_l2_driver_init,brcmstb_i2c_driver_init",
    // /dev/console on the PL011 (QEMU's first -serial, not connected), so that the
    // kernel does not open the mini UART (ttyS1, the test shell's) as its console at
    // `console_on_rootfs`: under load, requesting the mini UART's interrupt at that
    // moment stalled QEMU 10's Pi 4 (RCU stall, soft lockups in `__setup_irq`) in most
    // boots while another build ran, and in a `.ci/fresh` run; with this argument,
    // boots under the same load came up. Kernel messages still reach ttyS1 (every
    // `console=` gets them); the test shell opens ttyS1 later, from the init.
    "console=ttyAMA0,115200",
];

/// Edits of the Pi 4 device tree (arguments of `fdtput`) the driver makes on its own copy
/// for `raspi4b`, never in the image. QEMU attaches the SD card to the legacy SDHCI at
/// 0x7e300000, which on a real Pi 4 is the WiFi chip's SDIO slot (the card sits on
/// EMMC2, which QEMU does not emulate); without these edits that controller never
/// probes and the root filesystem is never found.
pub const RASPI4B_DTB_EDITS: &[&[&str]] = &[
    // the slot's power sequence is driven through the firmware's GPIO expander, which
    // QEMU does not emulate: the controller would wait for it forever
    &["-d", "/soc/mmc@7e300000", "mmc-pwrseq"],
    // "non-removable" describes the soldered WiFi chip; the card must be detected as
    // media in a slot
    &["-d", "/soc/mmc@7e300000", "non-removable"],
    // no WiFi chip answers behind it in QEMU: the card is the only function there
    &["-r", "/soc/mmc@7e300000/wifi@1"],
];

/// Applies [`RASPI4B_DTB_EDITS`] to the device tree at `dtb` with `fdtput`.
fn edit_raspi4b_dtb(dtb: &Path) -> Result<()> {
    for args in RASPI4B_DTB_EDITS {
        let out = Command::new("fdtput")
            .arg(dtb)
            .args(args.iter())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Start {
                program: "fdtput".to_string(),
                message: format!("{e} (it comes with Debian's device-tree-compiler package)"),
            })?;
        if !out.status.success() {
            return Err(Error::BootFiles {
                path: dtb.to_path_buf(),
                message: format!(
                    "fdtput {} failed ({}): {}; is it the Pi 4 device tree \
                     (bcm2711-rpi-4-b.dtb)?",
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
    }
    Ok(())
}

/// Length of the base64 pieces a command is typed in (busybox's line editor stops at
/// 1024 bytes per line).
const CHUNK: usize = 512;

/// Lines of the serial log shown when a step fails.
const TAIL_LINES: usize = 60;

/// Time a started QEMU has to connect its console socket.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct ConsoleState {
    buf: Vec<u8>,
    closed: bool,
}

type Shared = Arc<(Mutex<ConsoleState>, Condvar)>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panicking reader thread leaves consistent data behind: keep going
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running VM. QEMU is killed (by PID) when the machine is dropped, including while a
/// panic unwinds; it also dies with the thread that started it (`PR_SET_PDEATHSIG`), so
/// create and drop a machine on the same thread.
pub struct Machine {
    child: Child,
    exit: Option<ExitStatus>,
    stream: UnixStream,
    shared: Shared,
    reader: Option<JoinHandle<()>>,
    dir: tempfile::TempDir,
    serial_log: PathBuf,
    ports: BTreeMap<u16, u16>,
    address_ports: BTreeMap<SocketAddrV4, u16>,
    append: String,
    started: Instant,
    deadline: Instant,
    global_timeout: Duration,
    boot_timeout: Duration,
    step_timeout: Duration,
    console_ready: Option<Duration>,
    cursor: usize,
    nonce: String,
    counter: u64,
    context: Vec<String>,
    report: Report,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("pid", &self.child.id())
            .field("ports", &self.ports)
            .field("serial_log", &self.serial_log)
            .finish_non_exhaustive()
    }
}

/// A short, one-line form of a command for step names.
fn short(cmd: &str) -> String {
    let first = cmd.lines().next().unwrap_or("");
    let mut s: String = first.chars().take(60).collect();
    if s.len() < first.len() || cmd.lines().nth(1).is_some() {
        s.push('…');
    }
    s
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn escape_opt(path: &Path) -> String {
    // QEMU option values separate keys with commas; a literal comma is doubled
    path.to_string_lossy().replace(',', ",,")
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1:0", e))?;
    let port = l
        .local_addr()
        .map_err(|e| Error::io("127.0.0.1:0", e))?
        .port();
    Ok(port)
}

/// Result of parsing a framed answer: `(status, base64 text)`.
type Framed = (i32, String);

/// Finds the answer framed by `id` in `buf` (`None` while incomplete).
fn parse_framed(buf: &[u8], id: &str) -> Option<Framed> {
    let start_marker = format!("{id}-S");
    let end_marker = format!("{id}-E ");
    let s = find(buf, start_marker.as_bytes())?;
    let after_s = s + start_marker.len();
    let body_start = after_s + find(buf.get(after_s..)?, b"\n")? + 1;
    let e = body_start + find(buf.get(body_start..)?, end_marker.as_bytes())?;
    let status_start = e + end_marker.len();
    let rest = buf.get(status_start..)?;
    let eol = rest.iter().position(|&b| b == b'\r' || b == b'\n')?;
    let status = std::str::from_utf8(rest.get(..eol)?)
        .ok()?
        .trim()
        .parse()
        .unwrap_or(-1);
    let body = String::from_utf8_lossy(buf.get(body_start..e)?);
    // keep only lines made of base64 characters: the answer lines; anything else is a
    // stray kernel message or prompt
    let b64: String = body
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        })
        .collect();
    Some((status, b64))
}

impl Machine {
    /// Starts QEMU on a copy of `config.image` and waits until the console shell answers.
    ///
    /// On `raspi4b`, a boot whose console never answers is started once more, when the
    /// global timeout leaves room for it: QEMU's Pi 4 under TCG sometimes stalls the
    /// guest kernel as it opens its console (an RCU stall, then soft lockups in the
    /// console UART's interrupt request under `console_on_rootfs`; seen in CI runs of
    /// 2026-12-05, once recovering after 117 s, once not within 300 s), and a new boot
    /// does not repeat it. The stalled boot's serial tail goes to the report first.
    pub fn start(config: MachineConfig) -> Result<Machine> {
        let timeout = config.boot_timeout;
        let mut m = Machine::launch(config.clone())?;
        if config.board == Board::Raspi4b {
            match m.do_wait_for_shell(timeout) {
                Ok(()) => return Ok(m),
                Err(e @ Error::Timeout { .. })
                    if config.global_timeout.saturating_sub(m.elapsed()) >= timeout =>
                {
                    m.report_error(&e);
                    m.report.write(
                        "vmtest: raspi4b: the emulated boot stalled before its console \
                         answered; booting once more\n",
                    );
                    let mut again = config.clone();
                    again.global_timeout = config.global_timeout.saturating_sub(m.elapsed());
                    drop(m);
                    m = Machine::launch(again)?;
                }
                Err(e) => return m.reported(Err(e)),
            }
        }
        m.wait_for_shell(timeout)?;
        Ok(m)
    }

    /// Starts QEMU on a copy of `config.image` without waiting for the guest.
    pub fn launch(config: MachineConfig) -> Result<Machine> {
        let parent = config.work_dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix("nixspot-vmtest-")
            .tempdir_in(&parent)
            .map_err(|e| Error::io(&parent, e))?;
        let board = config.board;
        let boot = read_boot_files_for(&config.image, board, config.dtb.as_deref())?;
        let write = |name: &str, data: &[u8]| -> Result<PathBuf> {
            let p = dir.path().join(name);
            std::fs::write(&p, data).map_err(|e| Error::io(&p, e))?;
            Ok(p)
        };
        let kernel = write("kernel", &boot.kernel.data)?;
        let dtb = write("dtb", &boot.dtb.data)?;
        if board == Board::Raspi4b {
            edit_raspi4b_dtb(&dtb)?;
        }
        // QEMU must not load the system's modules (a QEMU beside the system's one finds
        // those of another build and warns); no display, audio or block module is used
        let modules = dir.path().join("no-qemu-modules");
        std::fs::create_dir_all(&modules).map_err(|e| Error::io(&modules, e))?;
        let initrd = match &boot.initrd {
            Some(i) => Some(write("initrd", &i.data)?),
            None => None,
        };
        drop(boot.kernel.data);
        let sd = dir.path().join("sd.img");
        sparse_sd_copy(&config.image, &sd)?;
        let mut append = format!("{} {APPEND_EXTRA}", boot.cmdline)
            .trim()
            .to_string();
        if board == Board::Raspi4b {
            for a in RASPI4B_APPEND {
                append.push(' ');
                append.push_str(a);
            }
        }
        let serial_log = config
            .serial_log
            .clone()
            .unwrap_or_else(|| dir.path().join("serial.log"));
        let log = File::create(&serial_log).map_err(|e| Error::io(&serial_log, e))?;
        let sock = dir.path().join("console.sock");
        let qemu_log = dir.path().join("qemu.log");
        let qemu = config.qemu.clone().unwrap_or_else(|| default_qemu(board));
        let program = qemu.to_string_lossy().into_owned();

        // a free port may be taken between probing and QEMU's bind: retry then
        let mut attempt = 0;
        let (child, stream, ports, address_ports, started) = loop {
            attempt += 1;
            let mut ports = BTreeMap::new();
            for &g in &config.guest_ports {
                ports.insert(g, free_port()?);
            }
            let _ = std::fs::remove_file(&sock);
            let listener = UnixListener::bind(&sock).map_err(|e| Error::io(&sock, e))?;
            listener
                .set_nonblocking(true)
                .map_err(|e| Error::io(&sock, e))?;
            let mut address_ports = BTreeMap::new();
            for &g in &config.address_forwards {
                address_ports.insert(g, free_port()?);
            }
            let mut netdev = String::from("user,id=n0");
            for (g, h) in &ports {
                netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{h}-:{g}"));
            }
            for (g, h) in &address_ports {
                netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{h}-{g}"));
            }
            let mut cmd = Command::new(&qemu);
            cmd.args(["-M", board.qemu_machine()]);
            if board.qemu_machine() == "raspi3b" {
                cmd.args(["-m", "1G"]);
            }
            cmd.env("QEMU_MODULE_DIR", &modules)
                .args(["-accel", "tcg,thread=single"])
                .arg("-kernel")
                .arg(&kernel)
                .arg("-dtb")
                .arg(&dtb);
            if let Some(i) = &initrd {
                cmd.arg("-initrd").arg(i);
            }
            cmd.arg("-append")
                .arg(&append)
                .arg("-drive")
                .arg(format!("if=sd,format=raw,file={}", escape_opt(&sd)))
                .arg("-netdev")
                .arg(&netdev)
                .args(["-device", "usb-net,netdev=n0"])
                .args(["-display", "none", "-monitor", "none"])
                .arg("-chardev")
                .arg(format!("socket,id=console,path={}", escape_opt(&sock)))
                .args(["-serial", "null", "-serial", "chardev:console"]);
            let out = File::create(&qemu_log).map_err(|e| Error::io(&qemu_log, e))?;
            let err = out.try_clone().map_err(|e| Error::io(&qemu_log, e))?;
            cmd.stdin(Stdio::null()).stdout(out).stderr(err);
            // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
            unsafe {
                cmd.pre_exec(|| {
                    // QEMU must not outlive a driver killed with SIGKILL (e.g. a CI timeout)
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let started = Instant::now();
            let mut child = cmd.spawn().map_err(|e| Error::Start {
                program: program.clone(),
                message: e.to_string(),
            })?;
            let connected = loop {
                match listener.accept() {
                    Ok((s, _)) => break Ok(s),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => break Err(e.to_string()),
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let text = std::fs::read_to_string(&qemu_log).unwrap_or_default();
                    break Err(format!("QEMU exited ({status}): {}", text.trim()));
                }
                if started.elapsed() > CONNECT_TIMEOUT {
                    break Err(format!(
                        "QEMU did not connect its console to {} within {} s",
                        sock.display(),
                        CONNECT_TIMEOUT.as_secs()
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            match connected {
                Ok(s) => break (child, s, ports, address_ports, started),
                Err(message) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if attempt < 3 && message.contains("host forwarding") {
                        continue;
                    }
                    return Err(Error::Start { program, message });
                }
            }
        };
        stream
            .set_nonblocking(false)
            .map_err(|e| Error::io(&sock, e))?;
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| Error::io(&sock, e))?;
        let shared: Shared = Arc::default();
        let reader = {
            let mut input = stream.try_clone().map_err(|e| Error::io(&sock, e))?;
            let shared = shared.clone();
            let mut log = log;
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    let n = match input.read(&mut buf) {
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Ok(0) | Err(_) => 0,
                        Ok(n) => n,
                    };
                    let (state, cv) = &*shared;
                    let mut st = lock(state);
                    if n == 0 {
                        st.closed = true;
                        cv.notify_all();
                        return;
                    }
                    let chunk = buf.get(..n).unwrap_or(&[]);
                    // the log is best effort: a full disk must not stop the test
                    let _ = log.write_all(chunk);
                    st.buf.extend_from_slice(chunk);
                    cv.notify_all();
                }
            })
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Ok(Machine {
            child,
            exit: None,
            stream,
            shared,
            reader: Some(reader),
            dir,
            serial_log,
            ports,
            address_ports,
            append,
            started,
            deadline: started + config.global_timeout,
            global_timeout: config.global_timeout,
            boot_timeout: config.boot_timeout,
            step_timeout: config.step_timeout,
            console_ready: None,
            cursor: 0,
            nonce: format!("{:x}{:x}", std::process::id(), nanos),
            counter: 0,
            context: Vec::new(),
            report: config.report,
        })
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The host port (on 127.0.0.1) forwarded to `guest_port`, if it was configured.
    pub fn host_port(&self, guest_port: u16) -> Option<u16> {
        self.ports.get(&guest_port).copied()
    }

    /// The kernel command line QEMU was given.
    pub fn append(&self) -> &str {
        &self.append
    }

    /// The full serial log of `ttyS1` (written as output arrives).
    pub fn serial_log_path(&self) -> &Path {
        &self.serial_log
    }

    /// The temporary directory holding the SD copy and the boot files.
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Time since QEMU was started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Time from QEMU's start until the console shell first answered.
    pub fn console_ready_after(&self) -> Option<Duration> {
        self.console_ready
    }

    /// The last `lines` lines of the serial log (carriage returns removed).
    pub fn serial_tail(&self, lines: usize) -> String {
        let st = lock(&self.shared.0);
        let text = String::from_utf8_lossy(&st.buf).replace('\r', "");
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Runs `f` as a named step: steps inside it are named `name > inner step`.
    pub fn step<T>(&mut self, name: &str, f: impl FnOnce(&mut Machine) -> Result<T>) -> Result<T> {
        self.context.push(name.to_string());
        let r = f(self);
        self.context.pop();
        r
    }

    fn step_name(&self, what: String) -> String {
        let mut parts = self.context.clone();
        parts.push(what);
        parts.join(" > ")
    }

    /// An assertion failure in the current step (named by [`Machine::step`]), reported
    /// like any failed step.
    pub fn failure(&self, message: impl Into<String>) -> Error {
        let step = if self.context.is_empty() {
            "check".to_string()
        } else {
            self.context.join(" > ")
        };
        let e = Error::Step {
            step,
            message: message.into(),
        };
        self.report_error(&e);
        e
    }

    /// Reports a failed step (once, at the helper the caller called).
    fn reported<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.report_error(e);
        }
        r
    }

    fn report_error(&self, e: &Error) {
        {
            let step = e.step().unwrap_or("?");
            self.report.write(&format!(
                "vmtest: step `{step}` failed after {:.1} s: {e}\n\
                 vmtest: last {TAIL_LINES} lines of the serial console ({}):\n{}\n\
                 vmtest: end of serial console\n",
                self.elapsed().as_secs_f64(),
                self.serial_log.display(),
                self.serial_tail(TAIL_LINES),
            ));
        }
    }

    fn buf_len(&self) -> usize {
        lock(&self.shared.0).buf.len()
    }

    fn marker(&mut self) -> String {
        self.counter += 1;
        format!("VMT{}x{}", self.nonce, self.counter)
    }

    /// The end of a wait of `timeout` under the global deadline, and whether the global
    /// deadline is what limits it.
    fn end_of(&self, timeout: Duration) -> (Instant, bool) {
        let end = Instant::now() + timeout;
        if end > self.deadline {
            (self.deadline, true)
        } else {
            (end, false)
        }
    }

    fn timeout_error(&self, step: &str, timeout: Duration, global: bool, detail: &str) -> Error {
        let mut detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        let seconds = if global {
            detail.push_str(&format!(
                " (global timeout of {} s reached)",
                self.global_timeout.as_secs()
            ));
            self.global_timeout.as_secs_f64()
        } else {
            timeout.as_secs_f64()
        };
        Error::Timeout {
            step: step.to_string(),
            seconds,
            detail,
        }
    }

    fn exited_error(&mut self, step: &str) -> Error {
        // the console closes when QEMU exits; give the process a moment to be reaped
        let until = Instant::now() + Duration::from_secs(5);
        while self.exit.is_none() && Instant::now() < until {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.exit = Some(s);
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let qemu_log =
            std::fs::read_to_string(self.dir.path().join("qemu.log")).unwrap_or_default();
        let mut status = match self.exit {
            Some(s) => s.to_string(),
            None => "console closed".to_string(),
        };
        if !qemu_log.trim().is_empty() {
            status.push_str(&format!("; QEMU said: {}", qemu_log.trim()));
        }
        Error::QemuExited {
            step: step.to_string(),
            status,
        }
    }

    /// Waits until `f` finds something in the console output, for at most `timeout`.
    fn wait_for<T>(
        &mut self,
        step: &str,
        timeout: Duration,
        mut f: impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<T> {
        let (end, global) = self.end_of(timeout);
        let shared = self.shared.clone();
        let (state, cv) = &*shared;
        let mut st = lock(state);
        loop {
            if let Some(t) = f(&st.buf) {
                return Ok(t);
            }
            if st.closed {
                drop(st);
                return Err(self.exited_error(step));
            }
            let now = Instant::now();
            if now >= end {
                drop(st);
                return Err(self.timeout_error(step, timeout, global, ""));
            }
            st = cv
                .wait_timeout(st, end - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn send(&mut self, step: &str, text: &str) -> Result<()> {
        if self.exit.is_some() || lock(&self.shared.0).closed {
            return Err(self.exited_error(step));
        }
        self.stream
            .write_all(text.as_bytes())
            .map_err(|e| Error::Step {
                step: step.to_string(),
                message: format!("writing to the console socket: {e}"),
            })
    }

    /// Waits until the console shell answers (after boot or reboot), then lowers the
    /// kernel's console log level so kernel messages stay out of command output.
    pub fn wait_for_shell(&mut self, timeout: Duration) -> Result<()> {
        let r = self.do_wait_for_shell(timeout);
        self.reported(r)
    }

    fn do_wait_for_shell(&mut self, timeout: Duration) -> Result<()> {
        let step = self.step_name("wait_for_shell".to_string());
        let (end, global) = self.end_of(timeout);
        loop {
            let id = self.marker();
            let start = self.buf_len();
            // Ctrl-C first: it discards whatever half line (e.g. the tail of a probe sent
            // before the tty was open, with an unbalanced quote) the shell holds
            self.send(&step, &format!("\u{3}echo \"{id}\"\"-R\"\n"))?;
            let want = format!("{id}-R");
            let left = end.saturating_duration_since(Instant::now());
            let probe = left.min(Duration::from_millis(500));
            match self.wait_for(&step, probe, |b| {
                b.get(start..).and_then(|b| find(b, want.as_bytes()))
            }) {
                Ok(_) => break,
                Err(Error::Timeout { .. }) if Instant::now() < end => {}
                Err(Error::Timeout { .. }) => {
                    return Err(self.timeout_error(
                        &step,
                        timeout,
                        global,
                        "no answer from a shell on ttyS1",
                    ))
                }
                Err(e) => return Err(e),
            }
        }
        if self.console_ready.is_none() {
            self.console_ready = Some(self.elapsed());
        }
        let t = self.step_timeout;
        self.run_framed(&step, "dmesg -n 1 2>/dev/null; true", t)?;
        Ok(())
    }

    fn run_framed(&mut self, step: &str, cmd: &str, timeout: Duration) -> Result<(i32, String)> {
        let engine = base64::engine::general_purpose::STANDARD;
        let id = self.marker();
        let b64 = engine.encode(cmd);
        let mut text = String::from("__vmt=\n");
        for chunk in b64.as_bytes().chunks(CHUNK) {
            text.push_str("__vmt=\"$__vmt\"");
            text.push_str(&String::from_utf8_lossy(chunk));
            text.push('\n');
        }
        text.push_str(&format!(
            "__vmt_o=$( (eval \"$(echo \"$__vmt\" | base64 -d)\") </dev/null 2>&1; \
             __vmt_r=$?; echo .; exit $__vmt_r); __vmt_s=$?; echo \"{id}\"\"-S\"; \
             printf '%s' \"$__vmt_o\" | base64; echo \"{id}\"\"-E $__vmt_s\"\n"
        ));
        let start = self.buf_len();
        self.send(step, &text)?;
        let (status, b64) = self.wait_for(step, timeout, |b| parse_framed(b.get(start..)?, &id))?;
        let bytes = engine.decode(b64.as_bytes()).map_err(|e| Error::Step {
            step: step.to_string(),
            message: format!("garbled answer on the console ({e}): {b64:?}"),
        })?;
        let mut out = String::from_utf8_lossy(&bytes).into_owned();
        // the guest appends "." so that trailing newlines survive `$(...)`
        if out.pop() != Some('.') {
            return Err(Error::Step {
                step: step.to_string(),
                message: format!("answer without its end mark: {out:?}"),
            });
        }
        Ok((status, out))
    }

    /// Runs `cmd` in the guest shell; returns its exit status and output (stdout and
    /// stderr merged, trailing newlines kept).
    pub fn execute(&mut self, cmd: &str, timeout: Duration) -> Result<(i32, String)> {
        let step = self.step_name(format!("execute(`{}`)", short(cmd)));
        let r = self.run_framed(&step, cmd, timeout);
        self.reported(r)
    }

    /// Runs `cmd`, which must exit 0; returns its output.
    pub fn succeed(&mut self, cmd: &str) -> Result<String> {
        let step = self.step_name(format!("succeed(`{}`)", short(cmd)));
        let t = self.step_timeout;
        let r = self.run_framed(&step, cmd, t).and_then(|(status, output)| {
            if status == 0 {
                Ok(output)
            } else {
                Err(Error::Command {
                    step: step.clone(),
                    status,
                    expected: "0",
                    output,
                })
            }
        });
        self.reported(r)
    }

    /// Runs `cmd`, which must exit non-zero; returns its output.
    pub fn fail(&mut self, cmd: &str) -> Result<String> {
        let step = self.step_name(format!("fail(`{}`)", short(cmd)));
        let t = self.step_timeout;
        let r = self.run_framed(&step, cmd, t).and_then(|(status, output)| {
            if status != 0 {
                Ok(output)
            } else {
                Err(Error::Command {
                    step: step.clone(),
                    status,
                    expected: "non-zero",
                    output,
                })
            }
        });
        self.reported(r)
    }

    /// Runs `cmd` every half second until it exits 0 (returning its output) or `timeout`
    /// passes.
    pub fn wait_until_succeeds(&mut self, cmd: &str, timeout: Duration) -> Result<String> {
        let step = self.step_name(format!("wait_until_succeeds(`{}`)", short(cmd)));
        let (end, global) = self.end_of(timeout);
        let r = loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.run_framed(&step, cmd, left) {
                Ok((0, out)) => break Ok(out),
                Ok((status, out)) => {
                    if Instant::now() + Duration::from_millis(500) >= end {
                        break Err(self.timeout_error(
                            &step,
                            timeout,
                            global,
                            &format!("last exit status {status}, output: {out:?}"),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(Error::Timeout { .. }) => {
                    break Err(self.timeout_error(&step, timeout, global, "command still running"))
                }
                Err(e) => break Err(e),
            }
        };
        self.reported(r)
    }

    /// Waits for console output matching the regular expression `pattern`, searching the
    /// output of the current boot after the previous match; returns the matched text.
    pub fn wait_for_console(&mut self, pattern: &str, timeout: Duration) -> Result<String> {
        let step = self.step_name(format!("wait_for_console(`{}`)", short(pattern)));
        let r = match regex::bytes::Regex::new(pattern) {
            Err(e) => Err(Error::Step {
                step,
                message: format!("bad pattern: {e}"),
            }),
            Ok(re) => {
                let from = self.cursor;
                self.wait_for(&step, timeout, |b| {
                    let m = re.find(b.get(from..)?)?;
                    Some((
                        from + m.end(),
                        String::from_utf8_lossy(m.as_bytes()).into_owned(),
                    ))
                })
                .map(|(end, text)| {
                    self.cursor = end;
                    text
                })
            }
        };
        self.reported(r)
    }

    fn guest_addr(&self, step: &str, guest_port: u16) -> Result<SocketAddr> {
        match self.ports.get(&guest_port) {
            Some(&h) => Ok(SocketAddr::from(([127, 0, 0, 1], h))),
            None => Err(Error::Step {
                step: step.to_string(),
                message: format!(
                    "guest port {guest_port} is not forwarded (forwarded: {:?})",
                    self.ports.keys().collect::<Vec<_>>()
                ),
            }),
        }
    }

    /// `GET path` with `Host: host` on `guest_port` (through its 127.0.0.1 forward).
    pub fn http_get(&mut self, guest_port: u16, path: &str, host: &str) -> Result<HttpResponse> {
        let step = self.step_name(format!("http_get({guest_port}, `{path}`, `{host}`)"));
        let addr = self.guest_addr(&step, guest_port);
        self.http_get_through(step, addr, path, host)
    }

    /// `GET path` with `Host: host` sent to `guest` (one of
    /// [`MachineConfig::address_forwards`]).
    pub fn http_get_at(
        &mut self,
        guest: SocketAddrV4,
        path: &str,
        host: &str,
    ) -> Result<HttpResponse> {
        let step = self.step_name(format!("http_get_at({guest}, `{path}`, `{host}`)"));
        let addr = match self.address_ports.get(&guest) {
            Some(&h) => Ok(SocketAddr::from(([127, 0, 0, 1], h))),
            None => Err(Error::Step {
                step: step.clone(),
                message: format!(
                    "{guest} is not forwarded (forwarded: {:?})",
                    self.address_ports.keys().collect::<Vec<_>>()
                ),
            }),
        };
        self.http_get_through(step, addr, path, host)
    }

    fn http_get_through(
        &mut self,
        step: String,
        addr: Result<SocketAddr>,
        path: &str,
        host: &str,
    ) -> Result<HttpResponse> {
        let (end, global) = self.end_of(self.step_timeout);
        let r = addr.and_then(|addr| {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timeout_error(&step, self.step_timeout, global, ""));
            }
            http::get(addr, path, host, left).map_err(|message| Error::Step {
                step: step.clone(),
                message: format!("http://{addr}{path} (Host: {host}): {message}"),
            })
        });
        self.reported(r)
    }

    /// Polls `GET /` on `guest_port` until a real HTTP response arrives (slirp accepts
    /// connections before the guest listens) and returns it.
    pub fn wait_for_port(&mut self, guest_port: u16, timeout: Duration) -> Result<HttpResponse> {
        let step = self.step_name(format!("wait_for_port({guest_port})"));
        let (end, global) = self.end_of(timeout);
        // Through QEMU's user network a connection to a port nothing listens on yet is
        // accepted on the host side and then hangs (no reset comes back): each attempt
        // waits up to 5 s for an answer, and a new one starts every 250 ms beside the
        // waiting ones, so the port is seen within a quarter second of answering while a
        // slow first answer still has its 5 s.
        const ATTEMPT: Duration = Duration::from_secs(5);
        const EVERY: Duration = Duration::from_millis(250);
        let r = self.guest_addr(&step, guest_port).and_then(|addr| {
            let (answers, answered) = std::sync::mpsc::channel();
            let mut last = String::from("no attempt ended yet");
            let mut next = Instant::now();
            loop {
                let now = Instant::now();
                if now >= next {
                    let (answers, left) = (answers.clone(), end.saturating_duration_since(now));
                    // Detached: a late answer goes to a closed channel.
                    std::thread::spawn(move || {
                        let _ = answers.send(http::get(addr, "/", "localhost", left.min(ATTEMPT)));
                    });
                    next = now + EVERY;
                }
                match answered.recv_timeout(next.saturating_duration_since(Instant::now())) {
                    Ok(Ok(resp)) => return Ok(resp),
                    Ok(Err(e)) => last = e,
                    Err(_) => {}
                }
                if lock(&self.shared.0).closed {
                    return Err(self.exited_error(&step));
                }
                if Instant::now() >= end {
                    return Err(self.timeout_error(
                        &step,
                        timeout,
                        global,
                        &format!("last attempt: {last}"),
                    ));
                }
            }
        });
        self.reported(r)
    }

    /// Sends `command` after an `echo` of a fresh marker and waits for the marker: proof
    /// that the shell started the command, which may never answer (reboot, power-off).
    fn send_final(&mut self, step: &str, command: &str) -> Result<usize> {
        let id = self.marker();
        let start = self.buf_len();
        // SIGINT is ignored before the marker shows: the Ctrl-C that starts each probe for
        // the next shell must not interrupt the command
        self.send(
            step,
            &format!("trap '' INT; echo \"{id}\"\"-X\"; sync; {command}; trap - INT\n"),
        )?;
        let want = format!("{id}-X");
        let t = self.step_timeout;
        self.wait_for(step, t, |b| {
            b.get(start..)
                .and_then(|s| find(s, want.as_bytes()))
                .map(|p| start + p + want.len())
        })
    }

    /// Reboots the guest (`reboot -f`) and waits for the console shell of the new boot;
    /// fails unless the kernel's boot id changed.
    pub fn reboot(&mut self) -> Result<()> {
        let r = self.do_reboot();
        self.reported(r)
    }

    fn do_reboot(&mut self) -> Result<()> {
        let step = self.step_name("reboot".to_string());
        let t = self.step_timeout;
        let boot_id = "cat /proc/sys/kernel/random/boot_id";
        let before = self.run_framed(&step, boot_id, t)?.1;
        self.cursor = self.send_final(&step, "reboot -f")?;
        let bt = self.boot_timeout;
        self.context.push("reboot".to_string());
        let r = self.do_wait_for_shell(bt);
        self.context.pop();
        r?;
        let after = self.run_framed(&step, boot_id, t)?.1;
        if after.trim().is_empty() || after == before {
            return Err(Error::Step {
                step,
                message: format!("the guest did not reboot (boot id {before:?} then {after:?})"),
            });
        }
        Ok(())
    }

    /// Powers the guest off (`poweroff -f`; QEMU exits when the `bcm2835_wdt` driver is
    /// loaded) and waits for QEMU to exit with status 0.
    pub fn shutdown(&mut self) -> Result<()> {
        let r = self.do_shutdown();
        self.reported(r)
    }

    fn do_shutdown(&mut self) -> Result<()> {
        let step = self.step_name("shutdown".to_string());
        self.send_final(&step, "poweroff -f")?;
        let (end, global) = self.end_of(self.boot_timeout);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.exit = Some(status);
                    if status.success() {
                        return Ok(());
                    }
                    return Err(Error::Step {
                        step,
                        message: format!("QEMU exited with {status}, expected status 0"),
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(Error::Step {
                        step,
                        message: format!("waiting for QEMU: {e}"),
                    })
                }
            }
            if Instant::now() >= end {
                return Err(self.timeout_error(
                    &step,
                    self.boot_timeout,
                    global,
                    "QEMU still running",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// QEMU's exit status, once it has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Ok(Some(s)) = self.child.try_wait() {
                self.exit = Some(s);
            }
        }
        self.exit
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if self.exit_status().is_none() {
            // kill by PID: the child is not reaped yet, so the PID cannot have been reused
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_answer_ignores_echo_prompts_and_kernel_lines() {
        let engine = base64::engine::general_purpose::STANDARD;
        let id = "VMTabcx7";
        let payload = engine.encode("line 1\n'quoted' $x\n\n.");
        let (a, b) = payload.split_at(8);
        let console = format!(
            "/ # echo \"{id}\"\"-S\"; printf ...\r\n{id}-S\r\n{a}\r\n\
             [   12.345678] usb 1-1: new device\r\n{b}\r\n{id}-E 3\r\n/ # "
        );
        let (status, b64) = parse_framed(console.as_bytes(), id).unwrap();
        assert_eq!(status, 3);
        assert_eq!(b64, payload);
    }

    #[test]
    fn framed_answer_waits_for_completion() {
        assert_eq!(parse_framed(b"VMT1-S\r\naGk=\r\nVMT1-E 0", "VMT1"), None);
        assert_eq!(parse_framed(b"echo \"VMT1\"\"-S\"", "VMT1"), None);
        assert_eq!(
            parse_framed(b"VMT1-S\naGk=\nVMT1-E 0\n", "VMT1"),
            Some((0, "aGk=".to_string()))
        );
        // another command's answer does not count
        assert_eq!(parse_framed(b"VMT2-S\naGk=\nVMT2-E 0\n", "VMT1"), None);
    }

    #[test]
    fn short_step_names() {
        assert_eq!(short("uname -a"), "uname -a");
        assert_eq!(short("a\nb"), "a…");
        assert_eq!(short(&"x".repeat(100)).chars().count(), 61);
    }

    /// A device tree with the Pi 4's SDIO slot as Debian's kernel package ships it
    /// (properties trimmed to those the edits touch), compiled by the real `dtc`.
    fn pi4_like_dtb(dir: &Path) -> PathBuf {
        let dts = dir.join("pi4.dts");
        std::fs::write(
            &dts,
            "/dts-v1/;\n/ { soc { mmc@7e300000 { compatible = \"brcm,bcm2835-sdhci\"; \
             mmc-pwrseq = <1>; non-removable; status = \"okay\"; \
             wifi@1 { reg = <1>; compatible = \"brcm,bcm4329-fmac\"; }; }; }; };\n",
        )
        .unwrap();
        let dtb = dir.join("pi4.dtb");
        let out = Command::new("dtc")
            .args(["-I", "dts", "-O", "dtb", "-o"])
            .arg(&dtb)
            .arg(&dts)
            .output()
            .expect("dtc (device-tree-compiler) must be installed");
        assert!(out.status.success(), "{out:?}");
        dtb
    }

    fn fdtget(dtb: &Path, args: &[&str]) -> (bool, String) {
        let out = Command::new("fdtget").arg(dtb).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    }

    #[test]
    fn raspi4b_dtb_edits_free_the_sdio_slot_for_the_card() {
        let dir = tempfile::tempdir().unwrap();
        let dtb = pi4_like_dtb(dir.path());
        let slot = "/soc/mmc@7e300000";
        assert!(fdtget(&dtb, &[slot, "mmc-pwrseq"]).0);
        edit_raspi4b_dtb(&dtb).unwrap();
        let (ok, props) = fdtget(&dtb, &["-p", slot]);
        assert!(ok);
        assert_eq!(props.lines().collect::<Vec<_>>(), ["compatible", "status"]);
        assert_eq!(fdtget(&dtb, &["-l", slot]), (true, String::new()));
    }

    #[test]
    fn raspi4b_dtb_edits_name_a_foreign_device_tree() {
        let dir = tempfile::tempdir().unwrap();
        let dtb = dir.path().join("other.dtb");
        let dts = dir.path().join("other.dts");
        std::fs::write(&dts, "/dts-v1/;\n/ { soc { }; };\n").unwrap();
        let st = Command::new("dtc")
            .args(["-I", "dts", "-O", "dtb", "-o"])
            .arg(&dtb)
            .arg(&dts)
            .status()
            .unwrap();
        assert!(st.success());
        let e = edit_raspi4b_dtb(&dtb).unwrap_err().to_string();
        assert!(e.contains("other.dtb") && e.contains("mmc-pwrseq"), "{e}");
    }

    #[test]
    fn raspi4b_runs_the_backports_qemu() {
        // the environment is the process's: only read it here
        let q = default_qemu(Board::Raspi4b);
        match std::env::var_os(QEMU_RASPI4B_ENV) {
            Some(v) if !v.is_empty() => assert_eq!(q, PathBuf::from(v)),
            _ => assert_eq!(q, PathBuf::from(QEMU_RASPI4B_DEFAULT)),
        }
        assert_eq!(
            default_qemu(Board::Zero2w),
            PathBuf::from("qemu-system-aarch64")
        );
    }

    #[test]
    fn missing_qemu_is_a_start_error() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("none.img");
        let mut cfg = MachineConfig::new(&image);
        cfg.qemu = Some(PathBuf::from("/nonexistent/qemu"));
        // the image is read before QEMU starts: its absence is reported first
        let e = Machine::launch(cfg).unwrap_err().to_string();
        assert!(e.contains("none.img"), "{e}");
    }
}
