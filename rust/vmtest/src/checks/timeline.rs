//! The `timeline` check: where a boot's time went, read inside the guest once the
//! hotspot answers on port 80 — the init's stages (`/run/nixspot/boot-times`), when each
//! supervised service started and how much CPU it used, and how busy the emulated CPUs
//! were. What `checks/bench/vm.sh` and BENCHMARKS.md's boot-time breakdown are read
//! from.

use std::fmt::Write as _;
use std::time::Duration;

use super::Hotspot;
use crate::error::Result;
use crate::machine::Machine;

/// Prints, in guest seconds since the kernel started: `up T` (now), `stage T TEXT` per
/// init stage, `service NAME START CPU` per supervised service (its process now: a run
/// script that `exec`s keeps one process) and the `cpu` line of `/proc/stat`. Busybox
/// sh and awk only; clock ticks are 1/100 s on Debian's arm64 kernel (`USER_HZ`).
const PROBE: &str = r#"read -r up _ </proc/uptime; echo "up $up"
sed 's/^/stage /' /run/nixspot/boot-times
for d in /etc/service/*/; do
	n=${d%/}; n=${n##*/}
	p=$(cat "$d/supervise/pid" 2>/dev/null) || continue
	s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
	echo "${s##*) }" | awk -v n="$n" '{ printf "service %s %.2f %.2f\n", n, $20 / 100, ($12 + $13 + $14 + $15) / 100 }'
done
head -1 /proc/stat"#;

/// One supervised service: when its process started and the CPU it (and its waited-for
/// children) used, in seconds.
struct Service {
    name: String,
    started: f64,
    cpu: f64,
}

pub(super) fn check_timeline(m: &mut Machine, _: &Hotspot) -> Result<String> {
    m.wait_for_port(80, Duration::from_secs(180))?;
    let out = m.succeed(PROBE)?;
    let mut up = None;
    let mut stages = Vec::new();
    let mut services = Vec::new();
    let mut cpu = None;
    for line in out.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("up") => up = words.next().and_then(|w| w.parse::<f64>().ok()),
            Some("stage") => {
                let at = words.next().and_then(|w| w.parse::<f64>().ok());
                let text = words.collect::<Vec<_>>().join(" ");
                match at {
                    Some(at) => stages.push((at, text)),
                    None => return Err(m.failure(format!("a stage without a time: {line:?}"))),
                }
            }
            Some("service") => {
                let fields: Vec<&str> = words.collect();
                if let [name, started, used] = fields[..] {
                    if let (Ok(started), Ok(cpu)) = (started.parse(), used.parse()) {
                        services.push(Service {
                            name: name.to_string(),
                            started,
                            cpu,
                        });
                    }
                }
            }
            Some("cpu") => {
                let ticks: Vec<u64> = words.filter_map(|w| w.parse().ok()).collect();
                cpu = (ticks.len() >= 5).then_some(ticks);
            }
            _ => {}
        }
    }
    let Some(up) = up else {
        return Err(m.failure(format!("no uptime in the guest's answer:\n{out}")));
    };
    if stages.is_empty() {
        return Err(m.failure(format!(
            "/run/nixspot/boot-times has no stage (the init writes them):\n{out}"
        )));
    }
    if services.is_empty() {
        return Err(m.failure(format!("no supervised service is running:\n{out}")));
    }
    services.sort_by(|a, b| a.started.total_cmp(&b.started));
    let mut summary = format!("port 80 answers at {up:.1} s of guest uptime");
    if let Some(t) = cpu {
        // user nice system idle iowait [irq softirq …]: busy is everything but idle and
        // iowait, summed over the four emulated cores.
        let total: u64 = t.iter().sum();
        let (idle, iowait) = (t[3], t[4]);
        let percent = |x: u64| 100.0 * x as f64 / total.max(1) as f64;
        let _ = write!(
            summary,
            "; emulated CPUs since boot: {:.0} % busy, {:.0} % idle, {:.0} % waiting for I/O",
            percent(total - idle - iowait),
            percent(idle),
            percent(iowait)
        );
    }
    for (at, text) in &stages {
        let _ = write!(summary, "\n  {at:>6.1} s  {text}");
    }
    for s in &services {
        let _ = write!(
            summary,
            "\n  {:>6.1} s  {} started (CPU {:.1} s so far)",
            s.started, s.name, s.cpu
        );
    }
    Ok(summary)
}
