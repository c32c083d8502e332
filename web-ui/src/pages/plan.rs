//! `GET /plans/{id}`: one plan with its steps, declarations, decision, sessions and
//! report, and the forms to approve, reject or withdraw it when the person may
//! (`policy::authority`) and its state allows (the op decides again on submit).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fumidai_core::ops::plan_view::{self, PlanDetail};
use policy::authority::Action;
use policy::ids::PlanId;
use policy::plan::emergency::{self, Approval};
use policy::plan::{Plan, PlanKind, PlanStatus};
use serde::Deserialize;

use super::view::{SessionRow, status_class};
use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;
use crate::text::{self, visible};

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    chrome: Chrome,
    plan: PlanView,
    sessions: Vec<SessionRow>,
    report: Option<ReportView>,
    /// What the last action did (after its redirect).
    notice: Option<String>,
    /// Why the last action was refused, as the op said it: the page's language first,
    /// then the other.
    refusal: Option<(String, String)>,
    can_approve: bool,
    can_reject: bool,
    can_withdraw: bool,
    action_base: String,
}

/// A plan's facts as shown.
struct PlanView {
    id: String,
    kind: &'static str,
    emergency: bool,
    status: &'static str,
    status_class: &'static str,
    vendor: String,
    engineers: String,
    targets: String,
    window: String,
    purpose: String,
    steps: Vec<(String, String)>,
    allow: String,
    personal_data: String,
    data_deletion: String,
    take_out: String,
    submitted: String,
    decided: String,
    decision_reason: String,
    withdrawal: String,
    attestation: String,
    confirmation: String,
}

struct ReportView {
    produced_at: String,
    sha256: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /plans/{id}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let notice = match done.done.as_str() {
        "approved" => Some(signed.lang.t("承認しました。", "Approved.")),
        "rejected" => Some(signed.lang.t("却下しました。", "Rejected.")),
        "withdrawn" => Some(signed.lang.t("取り下げました。", "Withdrawn.")),
        _ => None,
    };
    show(
        &state,
        &signed,
        &id,
        notice.map(str::to_owned),
        None,
        StatusCode::OK,
    )
    .await
}

/// A plan's ID from the path; anything else is no page.
pub(crate) fn parse_id(text: &str) -> Result<PlanId, PageError> {
    text.parse().map_err(|_| PageError::NotFound)
}

/// Renders plan `id`'s page with `status`, a notice or a refusal.
pub(crate) async fn show(
    state: &AppState,
    signed: &Signed,
    id: &PlanId,
    notice: Option<String>,
    refusal: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let PlanDetail {
        plan,
        sessions,
        report,
    } = plan_view::detail(state.store.as_ref(), id).await?;
    let lang = signed.lang;
    let pending_emergency = emergency::approval(&plan) == Some(Approval::Pending);
    let page = PlanPage {
        chrome: Chrome::signed(signed, Section::Plans, &format!("/plans/{id}"), state.now()),
        can_approve: signed.may(Action::DecidePlan)
            && (plan.status == PlanStatus::Submitted || pending_emergency),
        can_reject: signed.may(Action::DecidePlan)
            && plan.status == PlanStatus::Submitted
            && plan.kind == PlanKind::Planned,
        can_withdraw: signed.may(Action::WithdrawPlan) && plan.status.admits(),
        action_base: format!("/plans/{id}"),
        plan: plan_view(&plan, lang),
        sessions: sessions.iter().map(|s| SessionRow::new(s, lang)).collect(),
        report: report.map(|r| ReportView {
            produced_at: text::jst_seconds(&r.produced_at),
            sha256: r.sha256,
        }),
        notice,
        refusal: refusal.map(|r| text::bilingual(&r, lang)),
    };
    Ok((status, render(&page)?).into_response())
}

fn plan_view(plan: &Plan, lang: Lang) -> PlanView {
    let none = || lang.t("なし", "none").to_owned();
    let opt = |text: &Option<String>| text.as_deref().map_or_else(none, visible);
    let by_at = |by: &str, at: &chrono::DateTime<chrono::Utc>| {
        format!("{} — {}", visible(by), text::jst_seconds(at))
    };
    PlanView {
        id: plan.id.to_string(),
        kind: text::kind(plan.kind, lang),
        emergency: plan.kind == PlanKind::Emergency,
        status: text::status(plan.status, lang),
        status_class: status_class(plan.status),
        vendor: plan.vendor.to_string(),
        engineers: plan
            .engineers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        targets: plan
            .targets
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        window: text::window(&plan.starts_at, &plan.ends_at),
        purpose: visible(&plan.purpose),
        steps: plan
            .steps
            .iter()
            .map(|s| (visible(&s.text), visible(&s.expect.join("  |  "))))
            .collect(),
        allow: allowances(plan, lang),
        personal_data: opt(&plan.personal_data),
        data_deletion: opt(&plan.data_deletion),
        take_out: plan.take_out.as_ref().map_or_else(none, |t| {
            visible(&format!(
                "{}: {} / {}: {} / {}: {} / {}: {}",
                lang.t("目的", "purpose"),
                t.purpose,
                lang.t("件数", "items"),
                t.item_count,
                lang.t("項目", "fields"),
                t.items,
                lang.t("保存環境", "kept in"),
                t.storage
            ))
        }),
        submitted: by_at(&plan.submitted_by, &plan.submitted_at),
        decided: match (&plan.decided_by, &plan.decided_at) {
            (Some(by), Some(at)) => by_at(by, at),
            _ => lang.t("未決定", "not decided").to_owned(),
        },
        decision_reason: opt(&plan.decision_reason),
        withdrawal: plan.withdrawal.as_ref().map_or_else(none, |w| {
            format!("{}: {}", by_at(w.by.as_str(), &w.at), visible(&w.reason))
        }),
        attestation: plan.attestation.as_ref().map_or_else(none, |a| {
            format!("{}: {}", by_at(a.by.as_str(), &a.at), visible(&a.note))
        }),
        confirmation: plan.confirmation.as_ref().map_or_else(none, |c| {
            let note = c.note.as_deref().map(visible).unwrap_or_default();
            format!("{} {}", by_at(&c.by, &c.at), note)
        }),
    }
}

/// What the plan allows, in words.
fn allowances(plan: &Plan, lang: Lang) -> String {
    let described = plan.allow.describe();
    match lang {
        Lang::En => described,
        Lang::Ja if described == "none" => "なし（シェル・コマンド実行のみ）".to_owned(),
        Lang::Ja => described
            .split(", ")
            .map(|word| match word {
                "upload" => "アップロード",
                "download" => "ダウンロード",
                "forward" => "ポート転送",
                other => other,
            })
            .collect::<Vec<_>>()
            .join("、"),
    }
}
