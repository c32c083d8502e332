//! Report generation for a plan with 20 sessions of one hour of interactive work each
//! (issue 4's benchmark: under 1 s, under 100 MiB). The recordings are synthetic casts as the
//! recorder writes them: a command every ~6 s, typed key by key with its echo, ten lines of
//! output each. Measured: extracting the commands from all 20 casts, reconciling, building,
//! sealing and rendering (HTML and text). Run: `cargo bench -p fumidai-core --bench report`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: fail loudly"
)]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use ed25519_dalek::SigningKey;
use fumidai_core::report::body::ReportBody;
use fumidai_core::report::facts::{Facts, plan_facts};
use fumidai_core::report::{commands, render};
use policy::ids::{PlanId, SessionId};
use policy::limits::EndReason;
use policy::plan::{Allowances, PlanRequest, PlannedStep, submit};
use policy::reconcile::{SessionEnd, SessionFacts};
use policy::risk::RuleSet;
use recorder::format::asciicast::{
    DataMode, EventCode, FumidaiMeta, Header, SessionKind, write_event, write_header,
};
use recorder::sink::LocalDisk;
use recorder::{FileKind, RecordingId};

const SESSIONS: usize = 20;
const HOUR: f64 = 3600.0;

const WORK: [&str; 8] = [
    "systemctl status pacs",
    "journalctl -u pacs --since today | tail -n 50",
    "df -h /var/lib/pacs",
    "ls -l /var/log/pacs",
    "grep -c ERROR /var/log/pacs/app.log",
    "uptime",
    "pg_dump -Fc his > /tmp/his.dump",
    "sudo systemctl restart pacs",
];

fn write_cast(root: &std::path::Path, session: uuid::Uuid, plan: PlanId) -> usize {
    let started = Utc::now() - TimeDelta::hours(2);
    let path =
        LocalDisk::new(root).path(&RecordingId::channel(session, 0), started, FileKind::Cast);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let header = Header {
        width: 120,
        height: 40,
        timestamp: started,
        command: None,
        title: None,
        env: BTreeMap::new(),
        fumidai: FumidaiMeta {
            session_id: session,
            channel: Some(0),
            engineer: "alice".into(),
            target: "pacs01".into(),
            plan_id: plan.to_string(),
            kind: SessionKind::Shell,
            data: DataMode::Interactive,
        },
    };
    write_header(&mut w, &header).unwrap();
    let prompt = "[alice@pacs01 ~]$ ";
    let mut t = 0.5;
    let mut commands = 0;
    let at = |t: f64| Duration::from_secs_f64(t);
    write_event(&mut w, at(t), EventCode::Output, prompt).unwrap();
    while t < HOUR {
        let line = WORK.get(commands % WORK.len()).copied().unwrap_or("uptime");
        for c in line.chars() {
            t += 0.12;
            let key = c.to_string();
            write_event(&mut w, at(t), EventCode::Input, &key).unwrap();
            write_event(&mut w, at(t + 0.002), EventCode::Output, &key).unwrap();
        }
        t += 0.3;
        write_event(&mut w, at(t), EventCode::Input, "\r").unwrap();
        write_event(&mut w, at(t + 0.002), EventCode::Output, "\r\n").unwrap();
        for i in 0..10 {
            let out =
                format!("{i:>4}  output line of the command, about as long as a log line.....\r\n");
            write_event(&mut w, at(t + 0.01 * f64::from(i)), EventCode::Output, &out).unwrap();
        }
        t += 2.0;
        write_event(&mut w, at(t), EventCode::Output, prompt).unwrap();
        commands += 1;
    }
    w.flush().unwrap();
    commands
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("recordings");
    let now = Utc::now();
    let plan = submit(
        PlanRequest {
            vendor: "acme".parse().unwrap(),
            engineers: vec!["alice".parse().unwrap()],
            targets: vec!["pacs01".parse().unwrap()],
            starts_at: now - TimeDelta::hours(3),
            ends_at: now + TimeDelta::hours(1),
            purpose: "PACS maintenance".into(),
            steps: vec![
                PlannedStep {
                    text: "check the service".into(),
                    expect: vec!["systemctl status *".into(), "journalctl *".into()],
                },
                PlannedStep {
                    text: "restart it".into(),
                    expect: vec!["systemctl restart pacs".into()],
                },
            ],
            allow: Allowances::default(),
            personal_data: None,
            data_deletion: None,
            take_out: None,
        },
        PlanId::generate(),
        "olga",
        now,
    )
    .unwrap();
    let ids: Vec<uuid::Uuid> = (0..SESSIONS).map(|_| uuid::Uuid::now_v7()).collect();
    let written: usize = ids.iter().map(|id| write_cast(&root, *id, plan.id)).sum();
    let bytes: u64 = walk(&root);
    let baseline_rss = peak_rss_kib();

    let start = Instant::now();
    let started = now - TimeDelta::hours(2);
    let days = (started.date_naive(), now.date_naive());
    let mut sessions = Vec::new();
    let mut unechoed = HashMap::new();
    let keystrokes = commands::KeystrokeFilter {
        rules: RuleSet::shipped(),
        expected: Vec::new(),
    };
    for id in &ids {
        let read = commands::of_session(&root, *id, started, days, &keystrokes).unwrap();
        unechoed.insert(SessionId::from_uuid(*id), read.unechoed);
        let commands = read.commands;
        sessions.push(SessionFacts {
            id: SessionId::from_uuid(*id),
            engineer: "alice".parse().unwrap(),
            target: "pacs01".parse().unwrap(),
            personal_data_target: false,
            emergency: false,
            started_at: started,
            end: Some(SessionEnd {
                at: started + TimeDelta::hours(1),
                reason: EndReason::Normal,
                note: None,
            }),
            commands,
            transfers: Vec::new(),
            forwards: Vec::new(),
            violations: Vec::new(),
            resumed_desktop: None,
        });
    }
    let extracted: usize = sessions.iter().map(|s| s.commands.len()).sum();
    let extract_time = start.elapsed();
    let facts = Facts {
        plan: plan_facts(&plan),
        sessions,
        seals: HashMap::new(),
        unechoed,
        watches: HashMap::new(),
    };
    let body = ReportBody::build(&plan, &facts, &RuleSet::shipped(), "1:00", now);
    let key = SigningKey::from_bytes(&[9; 32]);
    let sealed = body.seal(&key).unwrap();
    let html = render::html(&sealed, &body, render::Lang::Ja);
    let text = render::text(&sealed, &body, render::Lang::En);
    let total = start.elapsed();
    let peak = peak_rss_kib();
    println!(
        "report bench: {SESSIONS} sessions x 1 h, {written} commands typed, {} MiB of casts",
        bytes >> 20
    );
    println!(
        "  extracted {extracted} command lines in {:.3} s; whole report (extract, reconcile, build, seal, render) {:.3} s (target < 1 s)",
        extract_time.as_secs_f64(),
        total.as_secs_f64()
    );
    println!(
        "  {} findings, body {} KiB, HTML {} KiB, text {} KiB",
        body.findings.len(),
        sealed.body.len() >> 10,
        html.len() >> 10,
        text.len() >> 10
    );
    println!(
        "  peak RSS {} MiB (before the report: {} MiB; target < 100 MiB)",
        peak >> 10,
        baseline_rss >> 10
    );
    assert_eq!(extracted, written, "every typed command is found");
}

fn walk(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
