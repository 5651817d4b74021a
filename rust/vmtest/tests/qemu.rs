//! The driver against a real `qemu-system-aarch64 -M raspi3b` booting a real Debian
//! kernel and busybox initramfs (built by `common`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nixspot_vmtest::{run_checks, Error, Machine, MachineConfig, Report};

fn config(report: &Arc<Mutex<Vec<u8>>>) -> MachineConfig {
    let mut c = MachineConfig::new(common::test_image());
    c.guest_ports = vec![80];
    c.report = Report::Buffer(report.clone());
    c
}

fn report_text(report: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&report.lock().unwrap()).into_owned()
}

#[test]
fn command_channel_http_reboot_and_shutdown() {
    let image = common::test_image();
    let image_hash = common::file_sha256(image);
    let report = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let mut m = Machine::start(config(&report)).unwrap();
    let console = m.console_ready_after().unwrap();
    assert!(
        m.append().starts_with(common::CMDLINE) && m.append().contains("console=ttyS1,115200"),
        "{}",
        m.append()
    );

    // boot
    let uname = m.succeed("uname -a").unwrap();
    assert!(
        uname.contains("aarch64") && uname.ends_with('\n'),
        "{uname:?}"
    );
    m.wait_for_console(common::READY, Duration::from_secs(30))
        .unwrap();

    // failing steps: named, with status and output, and reported with the serial log
    match m.succeed("echo broken; exit 7") {
        Err(Error::Command {
            step,
            status,
            output,
            ..
        }) => {
            assert_eq!(status, 7);
            assert_eq!(output, "broken\n");
            assert_eq!(step, "succeed(`echo broken; exit 7`)");
        }
        other => panic!("{other:?}"),
    }
    let text = report_text(&report);
    assert!(
        text.contains("step `succeed(`echo broken; exit 7`)` failed"),
        "{text}"
    );
    assert!(text.contains("lines of the serial console"), "{text}");
    // the serial tail shows the boot: the init's messages are in it
    assert!(text.contains("vmtest-init"), "{text}");
    report.lock().unwrap().clear();

    // HTTP through hostfwd
    let first = m.wait_for_port(80, Duration::from_secs(60)).unwrap();
    let http_ready = m.elapsed();
    assert_eq!(first.status, 200);
    let r = m.http_get(80, "/", "browse.hotspot.example").unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), common::INDEX_HTML);
    assert_eq!(m.http_get(80, "/missing", "x").unwrap().status, 404);
    eprintln!(
        "timings: console ready {:.1} s, HTTP 200 {:.1} s after QEMU started \
         (image preparation {:.1} s)",
        console.as_secs_f64(),
        http_ready.as_secs_f64(),
        (t0.elapsed() - m.elapsed()).as_secs_f64()
    );

    // exit statuses and output
    assert_eq!(
        m.execute("exit 3", Duration::from_secs(30)).unwrap(),
        (3, String::new())
    );
    assert_eq!(m.succeed("true").unwrap(), "");
    assert_eq!(
        m.succeed("printf 'a\\nb\\n\\nc\\n\\n'").unwrap(),
        "a\nb\n\nc\n\n"
    );
    let special = "quotes ' \" ` $HOME \\ ; | & < > ( ) { } [ ] * ? ~ # % ^ ! tab\there é ✓";
    let quoted = special.replace('\'', "'\\''");
    assert_eq!(
        m.succeed(&format!("printf '%s\\n' '{quoted}'")).unwrap(),
        format!("{special}\n")
    );
    assert_eq!(
        m.succeed("for i in 1 2 3; do\n  echo \"line $i\"\ndone\necho out; echo err >&2")
            .unwrap(),
        "line 1\nline 2\nline 3\nout\nerr\n"
    );
    let long = "x".repeat(3000);
    assert_eq!(
        m.succeed(&format!("echo {long}")).unwrap(),
        format!("{long}\n")
    );
    let seq = m.succeed("seq 1 2000").unwrap();
    assert_eq!(seq.lines().count(), 2000);
    assert!(seq.ends_with("1999\n2000\n"));
    // stdin is /dev/null: a command reading it does not eat the channel
    assert_eq!(m.succeed("cat").unwrap(), "");
    assert_eq!(m.fail("false").unwrap(), "");
    assert_eq!(m.fail("echo nope; exit 1").unwrap(), "nope\n");
    assert!(report_text(&report).is_empty(), "{}", report_text(&report));

    let e = m.fail("true").unwrap_err().to_string();
    assert!(e.contains("expected non-zero"), "{e}");
    let e = m
        .wait_for_console("never printed", Duration::from_secs(1))
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    // the ready line was consumed by the earlier wait
    assert!(m
        .wait_for_console(common::READY, Duration::from_millis(500))
        .is_err());
    let e = m
        .step("named step", |m| m.succeed("exit 4"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("step `named step > succeed(`exit 4`)`"),
        "{e}"
    );
    let e = m.http_get(8080, "/", "x").unwrap_err().to_string();
    assert!(e.contains("not forwarded"), "{e}");

    // waiting
    m.succeed("(sleep 2; touch /tmp/flag) >/dev/null 2>&1 &")
        .unwrap();
    m.fail("test -e /tmp/flag").unwrap();
    m.wait_until_succeeds("test -e /tmp/flag", Duration::from_secs(30))
        .unwrap();
    let e = m
        .wait_until_succeeds("echo still; false", Duration::from_secs(2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("timed out") && e.contains("still"), "{e}");

    // the guest boots the power-of-two copy, with the image's own boot partition
    let parts = m.succeed("cat /proc/partitions").unwrap();
    assert!(parts.contains("131072 mmcblk0\n"), "{parts}");
    assert!(parts.contains("mmcblk0p1"), "{parts}");
    let cmdline = m
        .succeed("mount -t vfat -o ro /dev/mmcblk0p1 /mnt && cat /mnt/cmdline.txt; umount /mnt")
        .unwrap();
    assert_eq!(cmdline, format!("{}\n", common::CMDLINE));

    // reboot: a new boot, the same channel and forwards
    m.succeed("touch /tmp/before-reboot").unwrap();
    m.reboot().unwrap();
    m.fail("test -e /tmp/before-reboot").unwrap();
    m.wait_for_console(common::READY, Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        m.wait_for_port(80, Duration::from_secs(60)).unwrap().status,
        200
    );

    // shutdown: QEMU exits 0
    let pid = m.pid();
    m.shutdown().unwrap();
    assert!(m.exit_status().unwrap().success());
    let e = m.succeed("true").unwrap_err();
    assert!(matches!(e, Error::QemuExited { .. }), "{e}");
    drop(m);
    assert!(!common::process_exists(pid));
    assert_eq!(
        common::file_sha256(image),
        image_hash,
        "the image was modified"
    );
}

#[test]
fn qemu_is_killed_on_drop_and_by_the_global_timeout() {
    let report = Arc::new(Mutex::new(Vec::new()));
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().to_string_lossy().into_owned();

    // the global timeout ends the boot wait, and the failed start leaves no QEMU behind
    let mut c = config(&report);
    c.work_dir = Some(work.path().to_path_buf());
    c.global_timeout = Duration::from_secs(2);
    let e = Machine::start(c).unwrap_err().to_string();
    assert!(
        e.contains("wait_for_shell") && e.contains("global timeout of 2 s"),
        "{e}"
    );
    assert!(report_text(&report).contains("step `wait_for_shell` failed"));
    assert_eq!(common::processes_mentioning(&marker), Vec::<u32>::new());

    // a panic while the machine runs kills QEMU too
    let mut c = config(&report);
    c.work_dir = Some(work.path().to_path_buf());
    let pid = Arc::new(Mutex::new(None));
    let seen = pid.clone();
    let r = std::thread::spawn(move || {
        let m = Machine::launch(c).unwrap();
        *seen.lock().unwrap() = Some(m.pid());
        assert!(common::process_exists(m.pid()));
        panic!("test panic with a running machine");
    })
    .join();
    assert!(r.is_err());
    let pid = pid.lock().unwrap().unwrap();
    assert!(
        !common::process_exists(pid),
        "QEMU {pid} survived the panic"
    );
    assert_eq!(common::processes_mentioning(&marker), Vec::<u32>::new());
}

#[test]
fn the_generic_checks_pass_on_the_test_image() {
    // the hotspot checks need a hotspot image: refused before booting this one
    let e = run_checks(
        MachineConfig::new(common::test_image()),
        &["portal".to_string()],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("captured-address"), "{e}");

    let report = Arc::new(Mutex::new(Vec::new()));
    let mut c = MachineConfig::new(common::test_image());
    c.report = Report::Buffer(report.clone());
    let run = run_checks(c, &["boot".to_string(), "http".to_string()]).unwrap();
    let names: Vec<_> = run.outcomes.iter().map(|o| o.name).collect();
    assert_eq!(names, ["boot", "http"]);
    for o in &run.outcomes {
        assert!(o.result.is_ok(), "{}: {:?}", o.name, o.result);
    }
    assert!(run.passed());
    assert!(run.console_ready.is_some());
    assert!(report_text(&report).is_empty(), "{}", report_text(&report));
}
