//! RDP, direct versus through fumidai, against the same xrdp in the same run (issue 5):
//! time to the first drawn desktop, time and bytes for a screen-heavy workload (`ls -lR
//! /usr` in the session's xterm), and the gateway's CPU for it. Run with `bench/run rdp`
//! (release binary; `RDP_BENCH_RUNS`, default 3). Figures are medians; ratios are
//! fumidai / direct.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    missing_docs,
    reason = "a benchmark program: any failure must stop it loudly"
)]

use std::time::{Duration, Instant};

use fumidai_e2e::rdp::{Display, Security, Xfreerdp, XfreerdpConfig, Xrdp, wait_xterm_desktop};
use fumidai_e2e::{Gateway, RdpTunnel};

const PASSWORD: &str = "Crimson-Harbor-Sail-91";
const WORKLOAD: &str = "ls -lR /usr; clear";

struct Run {
    first_frame: Duration,
    workload: Duration,
}

/// Connects, waits for the desktop, runs the workload, waits for the screen to settle.
fn session(display: &Display, config: &XfreerdpConfig) -> Run {
    let start = Instant::now();
    let mut client = Xfreerdp::start(display, config);
    let window = client.wait_connected(Duration::from_secs(30));
    wait_xterm_desktop(display, window);
    let first_frame = start.elapsed();
    let idle = display.wait_stable(window, Duration::from_millis(300), Duration::from_secs(10));
    display.focus(window);
    display.type_text(WORKLOAD, Duration::from_millis(20));
    let begun = Instant::now();
    display.key("Return");
    // `clear` at the end: the screen is the lone prompt again once the listing is over.
    display.wait_screen(window, Duration::from_secs(120), |shot| {
        *shot == idle && begun.elapsed() > Duration::from_millis(500)
    });
    let workload = begun.elapsed();
    drop(client);
    Run {
        first_frame,
        workload,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// User + system CPU seconds of process `pid` so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn recordings_bytes(gw: &Gateway) -> u64 {
    let mut total = 0;
    let mut stack = vec![gw.data.join("recordings")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                total += path.metadata().unwrap().len();
            }
        }
    }
    total
}

fn main() {
    let runs: usize = std::env::var("RDP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let xrdp = Xrdp::start();
    let display = Display::start();

    let mut direct = Vec::new();
    for _ in 0..runs {
        let config = XfreerdpConfig::new(
            xrdp.address(),
            xrdp.user(),
            xrdp.password(),
            xrdp.fingerprint(),
        )
        .security(Security::Tls);
        direct.push(session(&display, &config));
    }

    let mut gw = Gateway::init();
    gw.add_vendor("acme", &[]);
    gw.add_operator("olga", "operator");
    gw.add_rdp_target(
        "win01",
        &xrdp.address().to_string(),
        xrdp.user(),
        xrdp.password(),
        &xrdp.fingerprint().hex(),
    );
    let engineers: Vec<_> = (0..runs)
        .map(|i| {
            let login = format!("eng{i}");
            let e = gw.add_engineer(&login, "acme", PASSWORD);
            gw.plan(&login, "win01", -5, 120, Some("olga"));
            e
        })
        .collect();
    gw.start();
    let pid = gw.pid();
    let mut through = Vec::new();
    let mut cpu = Vec::new();
    let mut bytes = Vec::new();
    for engineer in &engineers {
        let tunnel = RdpTunnel::open(&gw, engineer, "win01").expect("credential");
        let config = tunnel.config(&tunnel.user(), &tunnel.password());
        let (cpu_before, bytes_before) = (cpu_secs(pid), recordings_bytes(&gw));
        let run = session(&display, &config);
        std::thread::sleep(Duration::from_millis(1500));
        cpu.push(cpu_secs(pid) - cpu_before);
        bytes.push((recordings_bytes(&gw) - bytes_before) as f64);
        through.push(run);
    }

    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let first_direct = median(direct.iter().map(|r| ms(&r.first_frame)).collect());
    let first_fumidai = median(through.iter().map(|r| ms(&r.first_frame)).collect());
    let work_direct = median(direct.iter().map(|r| ms(&r.workload)).collect());
    let work_fumidai = median(through.iter().map(|r| ms(&r.workload)).collect());
    let recorded = median(bytes.clone());
    let per_second = recorded / (work_fumidai / 1000.0);
    println!(
        "RDP bench, {runs} runs each, medians (xrdp {}, loopback)",
        xrdp.address()
    );
    println!("| figure | direct | fumidai | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| time to first desktop (ms) | {first_direct:.0} | {first_fumidai:.0} | {:.2}x |",
        first_fumidai / first_direct
    );
    println!(
        "| `{WORKLOAD}` until the screen settles (ms) | {work_direct:.0} | {work_fumidai:.0} | {:.2}x |",
        work_fumidai / work_direct
    );
    println!(
        "| server->client bytes recorded per session (MiB) | - | {:.1} | - |",
        recorded / 1048576.0
    );
    println!(
        "| bytes forwarded per second during the workload (MiB/s) | - | {:.2} | - |",
        per_second / 1048576.0
    );
    println!(
        "| gateway CPU per session, connect + workload (s) | - | {:.2} | {:.2} CPU-s per s of session |",
        median(cpu.clone()),
        median(cpu) / ((first_fumidai + work_fumidai) / 1000.0)
    );
}
