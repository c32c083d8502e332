//! The sealed report rendered for people: HTML (print-ready A4) or plain text, Japanese by
//! default or English. Rendered from the sealed body only, with its digest printed, so a
//! printed report can be matched with the audit chain.

use policy::jst;
use store::StoredReport;

use super::body::{
    CommandEntry, FindingEntry, ReportBody, SessionEntry, WatchEntry, WithheldEntry,
};
use super::terms;

/// The report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 日本語 (default): the guideline's terms.
    Ja,
    /// English.
    En,
}

/// Labels in one language.
struct Words {
    title: &'static str,
    plan: &'static str,
    status: &'static str,
    vendor: &'static str,
    engineers: &'static str,
    targets: &'static str,
    window: &'static str,
    purpose: &'static str,
    allow: &'static str,
    personal_data: &'static str,
    take_out: &'static str,
    deletion: &'static str,
    attested: &'static str,
    not_attested: &'static str,
    approval: &'static str,
    submitted: &'static str,
    other_plans: &'static str,
    severity: &'static str,
    finding: &'static str,
    requirement: &'static str,
    sessions: &'static str,
    none: &'static str,
    commands: &'static str,
    transfers: &'static str,
    forwards: &'static str,
    recordings: &'static str,
    steps: &'static str,
    no_evidence: &'static str,
    findings: &'static str,
    clean: &'static str,
    seal: &'static str,
    produced: &'static str,
    head: &'static str,
    confirm: &'static str,
    confirmed: &'static str,
    uncertain: &'static str,
    unechoed: &'static str,
    /// What a clean report does not prove: what a shell can still move (issue 11).
    limits: &'static str,
}

const JA: Words = Words {
    title: "リモートメンテナンス作業報告書（作業計画との照合）",
    plan: "作業計画",
    status: "状態",
    vendor: "保守事業者",
    engineers: "作業者",
    targets: "接続先",
    window: "作業時間帯",
    purpose: "作業目的",
    allow: "許可",
    personal_data: "個人情報へのアクセス",
    take_out: "個人情報の持出し（目的・件数・項目・保存環境）",
    deletion: "データ消去の手順",
    attested: "消去報告",
    not_attested: "未報告",
    approval: "承認",
    submitted: "申請",
    other_plans: "この作業時間帯に他の作業計画で行われたセッション（その計画の報告書で照合）",
    severity: "重要度",
    finding: "指摘内容",
    requirement: "要件",
    sessions: "アクセス記録（セッション）",
    none: "なし",
    commands: "実行コマンド",
    transfers: "ファイル転送",
    forwards: "ポート転送",
    recordings: "録画（封印済みファイル）",
    steps: "作業手順と実績",
    no_evidence: "該当する操作なし（目視確認が必要）",
    findings: "指摘事項",
    clean: "指摘事項はありません。",
    seal: "封印 SHA-256",
    produced: "作成日時",
    head: "監査ログの先頭",
    confirm: "企画管理者の確認",
    confirmed: "確認済み",
    uncertain: "不確実",
    unechoed: "エコーなし",
    limits: "注記: 端末セッションでは、入力・貼り付けした文字列や画面に表示された内容、接続先自身が到達できる先との通信はファイル転送として検査できません。fumidai はそれらをすべて録画し、入力された各行（エコーなしを含む）を危険操作の規則と作業手順に照らして上の指摘事項に挙げています。",
};

const EN: Words = Words {
    title: "Remote maintenance report: work reconciled with its plan",
    plan: "Work plan",
    status: "Status",
    vendor: "Vendor",
    engineers: "Engineers",
    targets: "Targets",
    window: "Window",
    purpose: "Purpose",
    allow: "Allowed",
    personal_data: "Personal-data access",
    take_out: "Personal-data take-out (purpose, count, items, storage)",
    deletion: "Data-deletion step",
    attested: "Deletion attested",
    not_attested: "not attested",
    approval: "Approval",
    submitted: "Submitted",
    other_plans: "Sessions in this window admitted by another plan (reconciled in that plan's report)",
    severity: "Severity",
    finding: "Finding",
    requirement: "Requirement",
    sessions: "Access log (sessions)",
    none: "none",
    commands: "Commands",
    transfers: "File transfers",
    forwards: "Port forwards",
    recordings: "Recordings (sealed files)",
    steps: "Planned steps and evidence",
    no_evidence: "no matching command (check by hand)",
    findings: "Findings",
    clean: "No findings.",
    seal: "Seal SHA-256",
    produced: "Produced",
    head: "Audit chain head",
    confirm: "Planning manager's confirmation",
    confirmed: "confirmed",
    uncertain: "uncertain",
    unechoed: "unechoed",
    limits: "Note: in a terminal session, text typed or pasted, what the screen shows, and whatever the target itself can reach can't be inspected as file transfers. fumidai records all of it and checks every input line (unechoed ones too) against the risk rules and the planned steps for the findings above.",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

/// Plain text.
pub fn text(report: &StoredReport, body: &ReportBody, lang: Lang) -> String {
    let w = words(lang);
    let mut s = format!("{}\n{}\n\n", w.title, "=".repeat(60));
    for (label, value) in header_rows(body, lang) {
        s.push_str(&format!("{label}: {value}\n"));
    }
    s.push_str(&format!("\n## {}\n", w.findings));
    if body.findings.is_empty() {
        s.push_str(&format!("{}\n", w.clean));
    }
    for f in &body.findings {
        s.push_str(&format!(
            "- [{}] {} ({}){}{}\n",
            terms::severity(&f.severity, lang),
            message(f, lang),
            f.requirement,
            where_(f),
            mark(f.unechoed, w.unechoed)
        ));
    }
    s.push_str(&format!("\n{}\n", w.limits));
    s.push_str(&format!("\n## {}\n", w.steps));
    for st in &body.steps {
        s.push_str(&format!("{}. {}\n", st.number, st.text));
        if st.evidence.is_empty() {
            s.push_str(&format!("   ({})\n", w.no_evidence));
        }
        for (session, offset, text) in &st.evidence {
            s.push_str(&format!(
                "   {} +{offset:.0}s  {text}{}\n",
                session,
                mark(typed_unechoed(body, session, *offset, text), w.unechoed)
            ));
        }
    }
    s.push_str(&format!("\n## {}\n", w.sessions));
    if body.sessions.is_empty() {
        s.push_str(&format!("{}\n", w.none));
    }
    for se in &body.sessions {
        s.push_str(&format!(
            "\n### {} {} → {}  {} – {} ({})\n",
            se.id,
            se.engineer,
            se.target,
            jst::format(se.started_at),
            se.ended_at.map(jst::format).unwrap_or_default(),
            ended(se, lang),
        ));
        for watch in &se.watched_by {
            s.push_str(&format!("{}\n", watched(watch, lang)));
        }
        s.push_str(&format!("{}:\n", w.commands));
        for c in &se.commands {
            s.push_str(&format!(
                "  +{:.0}s  {}{}{}\n",
                c.offset,
                c.text,
                mark(c.uncertain, w.uncertain),
                mark(c.unechoed, w.unechoed)
            ));
        }
        for u in &se.unechoed_withheld {
            s.push_str(&format!("  {}\n", withheld(u, lang)));
        }
        s.push_str(&format!("{}:\n", w.transfers));
        for t in &se.transfers {
            s.push_str(&format!(
                "  +{:.0}s  {} {} {} B {} {}{}\n",
                t.offset,
                t.direction,
                t.path,
                t.size.unwrap_or_default(),
                t.sha256.as_deref().unwrap_or("-"),
                t.outcome,
                t.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
            ));
        }
        for f in &se.forwards {
            s.push_str(&format!(
                "  {}: +{:.0}s {} {}\n",
                w.forwards, f.offset, f.destination, f.outcome
            ));
        }
        s.push_str(&format!("{}:\n", w.recordings));
        for r in &se.recordings {
            s.push_str(&format!("  {r}\n"));
        }
    }
    if !body.under_other_plans.is_empty() {
        s.push_str(&format!("\n## {}\n", w.other_plans));
        for o in &body.under_other_plans {
            s.push_str(&format!(
                "- {} {} → {}  {}  ({} {})\n",
                o.id,
                o.engineer,
                o.target,
                jst::format(o.started_at),
                w.plan,
                o.plan
            ));
        }
    }
    s.push_str(&format!(
        "\n{}: {}\n{}: {}\n{}: {}\n",
        w.seal,
        report.sha256,
        w.head,
        body.audit_head,
        w.produced,
        jst::format(body.produced_at)
    ));
    s
}

/// HTML, one self-contained page for A4 printing.
pub fn html(report: &StoredReport, body: &ReportBody, lang: Lang) -> String {
    let w = words(lang);
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {}</title>\n<style>{CSS}</style></head><body>\n<h1>{}</h1>\n<table class=\"kv\">",
        match lang {
            Lang::Ja => "ja",
            Lang::En => "en",
        },
        esc(w.title),
        body.plan.id,
        esc(w.title)
    );
    for (label, value) in header_rows(body, lang) {
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(label),
            esc(&value)
        ));
    }
    s.push_str("</table>\n");
    s.push_str(&format!("<h2>{}</h2>\n", esc(w.findings)));
    if body.findings.is_empty() {
        s.push_str(&format!("<p class=\"clean\">{}</p>\n", esc(w.clean)));
    } else {
        s.push_str(&format!(
            "<table class=\"findings\"><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(w.severity),
            esc(w.finding),
            esc(w.requirement)
        ));
        for (i, f) in body.findings.iter().enumerate() {
            s.push_str(&format!(
                "<tr class=\"sev-{}\"><td>{}</td><td>{}</td><td>{}<br><small>{}</small>{}</td><td>{}</td></tr>",
                esc(&f.severity),
                i + 1,
                esc(terms::severity(&f.severity, lang)),
                esc(&message(f, lang)),
                esc(&where_(f)),
                html_mark(f.unechoed, w.unechoed),
                esc(&f.requirement)
            ));
        }
        s.push_str("</table>\n");
    }
    s.push_str(&format!("<p class=\"limits\">{}</p>\n", esc(w.limits)));
    s.push_str(&format!("<h2>{}</h2>\n<ol>", esc(w.steps)));
    for st in &body.steps {
        s.push_str(&format!("<li>{}", esc(&st.text)));
        if st.evidence.is_empty() {
            s.push_str(&format!(" <em>({})</em>", esc(w.no_evidence)));
        }
        s.push_str("<ul>");
        for (session, offset, text) in &st.evidence {
            s.push_str(&format!(
                "<li><code>{}</code>{} {} +{offset:.0}s</li>",
                esc(text),
                html_mark(typed_unechoed(body, session, *offset, text), w.unechoed),
                esc(session)
            ));
        }
        s.push_str("</ul></li>");
    }
    s.push_str("</ol>\n");
    s.push_str(&format!("<h2>{}</h2>\n", esc(w.sessions)));
    if body.sessions.is_empty() {
        s.push_str(&format!("<p>{}</p>", esc(w.none)));
    }
    if !body.under_other_plans.is_empty() {
        s.push_str(&format!(
            "<p class=\"other-plans\"><b>{}</b></p><ul>",
            esc(w.other_plans)
        ));
        for o in &body.under_other_plans {
            s.push_str(&format!(
                "<li>{} → {} {} <small>{}</small> ({} {})</li>",
                esc(&o.engineer),
                esc(&o.target),
                esc(&jst::format(o.started_at)),
                esc(&o.id),
                esc(w.plan),
                esc(&o.plan)
            ));
        }
        s.push_str("</ul>");
    }
    for se in &body.sessions {
        s.push_str(&format!(
            "<section class=\"session\"><h3>{} → {} <small>{}</small></h3><p>{} – {} ({})</p>",
            esc(&se.engineer),
            esc(&se.target),
            esc(&se.id),
            esc(&jst::format(se.started_at)),
            esc(&se.ended_at.map(jst::format).unwrap_or_default()),
            esc(&ended(se, lang))
        ));
        for watch in &se.watched_by {
            s.push_str(&format!(
                "<p class=\"watched\">{}</p>",
                esc(&watched(watch, lang))
            ));
        }
        s.push_str(&format!(
            "<h4>{}</h4><table class=\"cmds\">",
            esc(w.commands)
        ));
        for c in &se.commands {
            s.push_str(&format!(
                "<tr><td>+{:.0}s</td><td><code>{}</code>{}{}</td></tr>",
                c.offset,
                esc(&c.text),
                html_mark(c.uncertain, w.uncertain),
                html_mark(c.unechoed, w.unechoed)
            ));
        }
        s.push_str("</table>");
        for u in &se.unechoed_withheld {
            s.push_str(&format!(
                "<p class=\"unechoed\">{}</p>",
                esc(&withheld(u, lang))
            ));
        }
        if !se.transfers.is_empty() {
            s.push_str(&format!(
                "<h4>{}</h4><table class=\"cmds\">",
                esc(w.transfers)
            ));
            for t in &se.transfers {
                s.push_str(&format!(
                    "<tr><td>+{:.0}s</td><td>{}</td><td><code>{}</code></td><td>{} B</td><td>{}</td><td><code class=\"hash\">{}</code></td></tr>",
                    t.offset,
                    esc(&t.direction),
                    esc(&t.path),
                    t.size.unwrap_or_default(),
                    esc(&t.outcome),
                    esc(t.sha256.as_deref().unwrap_or("-"))
                ));
            }
            s.push_str("</table>");
        }
        if !se.forwards.is_empty() {
            s.push_str(&format!("<h4>{}</h4><ul>", esc(w.forwards)));
            for f in &se.forwards {
                s.push_str(&format!(
                    "<li>+{:.0}s {} {}</li>",
                    f.offset,
                    esc(&f.destination),
                    esc(&f.outcome)
                ));
            }
            s.push_str("</ul>");
        }
        s.push_str(&format!(
            "<h4>{}</h4><ul class=\"hash\">",
            esc(w.recordings)
        ));
        for r in &se.recordings {
            s.push_str(&format!("<li><code>{}</code></li>", esc(r)));
        }
        s.push_str("</ul></section>\n");
    }
    s.push_str(&format!(
        "<footer><p>{}: <code>{}</code><br>{}: <code>{}</code><br>{}: {}</p>\n<table class=\"sign\"><tr><th>{}</th><td></td></tr></table></footer>\n</body></html>\n",
        esc(w.seal),
        esc(&report.sha256),
        esc(w.head),
        esc(&body.audit_head),
        esc(w.produced),
        esc(&jst::format(body.produced_at)),
        esc(w.confirm)
    ));
    s
}

/// The HTML form's style sheet (inline in the document; the console allows exactly this
/// text by its hash).
pub const CSS: &str = "@page{size:A4;margin:15mm}body{font-family:'Noto Sans CJK JP','Hiragino Sans',sans-serif;font-size:10pt;color:#000}\
h1{font-size:15pt;border-bottom:2px solid #000}h2{font-size:12pt;margin-top:1.2em;border-bottom:1px solid #666}\
h3{font-size:11pt}table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:2px 4px;vertical-align:top;text-align:left}\
table.kv th{width:28%;background:#eee}code{font-size:9pt;word-break:break-all}.hash{font-size:8pt}\
.sev-high td,.sev-critical td{background:#fdd}.sev-medium td{background:#ffd}.clean{font-weight:bold}\
section.session{page-break-inside:avoid}table.sign{margin-top:2em;width:60%}table.sign td{height:3em}";

/// The plan's facts, labelled.
fn header_rows(body: &ReportBody, lang: Lang) -> Vec<(&'static str, String)> {
    let w = words(lang);
    let p = &body.plan;
    let list = |items: Vec<String>| items.join(", ");
    let mut rows = vec![
        (w.plan, format!("{} ({})", p.id, terms::kind(p.kind, lang))),
        (w.status, terms::status(p.status, lang).to_owned()),
        (w.vendor, p.vendor.to_string()),
        (
            w.engineers,
            list(p.engineers.iter().map(ToString::to_string).collect()),
        ),
        (
            w.targets,
            list(p.targets.iter().map(ToString::to_string).collect()),
        ),
        (w.window, jst::format_window(p.starts_at, p.ends_at)),
        (w.purpose, p.purpose.clone()),
        (w.allow, terms::allowances(&p.allow, lang)),
        (
            w.personal_data,
            p.personal_data.clone().unwrap_or_else(|| w.none.to_owned()),
        ),
    ];
    if let Some(t) = &p.take_out {
        // §7.1: what leaves, how much, why and where it is kept.
        rows.push((
            w.take_out,
            format!(
                "{} / {} / {} / {}",
                t.purpose, t.item_count, t.items, t.storage
            ),
        ));
    }
    if let Some(step) = &p.data_deletion {
        rows.push((w.deletion, step.clone()));
        rows.push((
            w.attested,
            p.attestation.as_ref().map_or_else(
                || w.not_attested.to_owned(),
                |a| format!("{} {}: {}", a.by, jst::format(a.at), a.note),
            ),
        ));
    }
    rows.push((
        w.submitted,
        format!("{} {}", p.submitted_by, jst::format(p.submitted_at)),
    ));
    rows.push((
        w.approval,
        match (&p.decided_by, p.decided_at) {
            (Some(by), Some(at)) => format!("{by} {}", jst::format(at)),
            _ => w.none.to_owned(),
        },
    ));
    if let Some(c) = &p.confirmation {
        rows.push((
            w.confirm,
            format!(
                "{} {} {}{}",
                w.confirmed,
                c.by,
                jst::format(c.at),
                c.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
        ));
    }
    rows
}

fn message(f: &FindingEntry, lang: Lang) -> String {
    match lang {
        Lang::Ja => f.message_ja.clone(),
        Lang::En => f.message_en.clone(),
    }
}

fn where_(f: &FindingEntry) -> String {
    match (&f.session, f.offset) {
        (Some(s), Some(o)) => format!(" — {} +{o:.0}s {}", s, f.subject),
        (Some(s), None) => format!(" — {} {}", s, f.subject),
        _ if !f.subject.is_empty() => format!(" — {}", f.subject),
        _ => String::new(),
    }
}

/// ` [label]` when `on`.
fn mark(on: bool, label: &str) -> String {
    if on {
        format!(" [{label}]")
    } else {
        String::new()
    }
}

/// ` <em>[label]</em>` when `on`.
fn html_mark(on: bool, label: &str) -> String {
    if on {
        format!(" <em>[{}]</em>", esc(label))
    } else {
        String::new()
    }
}

/// Whether the command at `offset` in `session` reading `text` (a step's evidence) was
/// typed without echo, as its session's command list says.
fn typed_unechoed(body: &ReportBody, session: &str, offset: f64, text: &str) -> bool {
    body.sessions
        .iter()
        .filter(|s| s.id == session)
        .flat_map(|s| &s.commands)
        .any(|c: &CommandEntry| c.unechoed && c.offset == offset && c.text == text)
}

/// The line counting what was typed without echo and left out.
fn withheld(u: &WithheldEntry, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "エコーなしで入力された行: {} 行（記録 {} を参照）",
            u.lines, u.recording
        ),
        Lang::En => format!(
            "{} {} typed without echo; see the recording at {}",
            u.lines,
            if u.lines == 1 { "line" } else { "lines" },
            u.recording
        ),
    }
}

/// A watch at the console: "watched by olga from … to …" (R-10.2-REVIEW).
fn watched(watch: &WatchEntry, lang: Lang) -> String {
    let from = jst::format_seconds(watch.from);
    match (lang, watch.to) {
        (Lang::Ja, Some(to)) => format!(
            "ライブ監視: {} が {from} から {} まで閲覧",
            watch.by,
            jst::format_seconds(to)
        ),
        (Lang::Ja, None) => format!(
            "ライブ監視: {} が {from} から閲覧（終了の記録なし）",
            watch.by
        ),
        (Lang::En, Some(to)) => format!(
            "watched live by {} from {from} to {}",
            watch.by,
            jst::format_seconds(to)
        ),
        (Lang::En, None) => format!(
            "watched live by {} from {from} (end not recorded)",
            watch.by
        ),
    }
}

/// Why a session ended, in the reader's language, with the operator's kill reason.
fn ended(se: &SessionEntry, lang: Lang) -> String {
    let reason = se
        .end_reason
        .as_deref()
        .map_or("-", |r| terms::end_reason(r, lang));
    match &se.end_note {
        Some(note) => format!("{reason}: {note}"),
        None => reason.to_owned(),
    }
}

/// HTML-escapes text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
