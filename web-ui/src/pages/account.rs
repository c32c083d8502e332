//! `GET /admin/accounts/{login}`: one account of the ID ledger (R-14-8) with the life-cycle
//! actions the person may take on it — disable or enable, lift a lock-out, re-enrol TOTP
//! after an identity check (break-glass, R-14-3), change a hospital-side role
//! ([`super::account_action::change`]). A new TOTP secret is shown here once, on the
//! response to the reset.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use policy::authority::Action;
use policy::ids::{AccountKind, Login};
use serde::Deserialize;

use super::accounts::AccountRow;
use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::session::Signed;
use crate::text;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    row: AccountRow,
    base: String,
    operator: bool,
    can_manage: bool,
    roles: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    enrolled: Option<(String, String, String)>,
    refusal: Option<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /admin/accounts/{login}`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(login): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    let login: Login = login.parse().map_err(|_| PageError::NotFound)?;
    let lang = signed.lang;
    let notice = match done.done.as_str() {
        "disable" => Some(lang.t(
            "無効にしました。以後ログインできません。",
            "Disabled: logins are refused from now on.",
        )),
        "enable" => Some(lang.t("有効にしました。", "Enabled.")),
        "unlock" => Some(lang.t("ロックを解除しました。", "Unlocked.")),
        "role" => Some(lang.t("役割を変更しました。", "Role changed.")),
        _ => None,
    };
    let shown = Shown {
        notice: notice.map(str::to_owned),
        ..Shown::default()
    };
    show(&state, &signed, &login, shown).await
}

/// What the page shows besides the account: a notice after an action, a new enrolment to
/// show once, or a refusal.
#[derive(Debug, Default)]
pub(crate) struct Shown {
    pub(crate) notice: Option<String>,
    pub(crate) enrolled: Option<(String, String, String)>,
    pub(crate) refusal: Option<String>,
}

/// Renders `login`'s page.
pub(crate) async fn show(
    state: &AppState,
    signed: &Signed,
    login: &Login,
    shown: Shown,
) -> Result<Response, PageError> {
    let Shown {
        notice,
        enrolled,
        refusal,
    } = shown;
    let account = state
        .store
        .account(login)
        .await?
        .ok_or(PageError::NotFound)?;
    let lang = signed.lang;
    let status = if refusal.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let page = AccountPage {
        chrome: Chrome::signed(
            signed,
            Section::Admin,
            &format!("/admin/accounts/{login}"),
            state.now(),
        ),
        base: format!("/admin/accounts/{login}"),
        operator: account.kind == AccountKind::Operator,
        row: AccountRow::new(&account, state.now(), lang),
        can_manage: signed.may(Action::ManageAccounts),
        roles: vec![
            (
                "operator",
                text::role(Some(policy::ids::OperatorRole::Operator), lang),
            ),
            (
                "manager",
                text::role(Some(policy::ids::OperatorRole::Manager), lang),
            ),
            (
                "auditor",
                text::role(Some(policy::ids::OperatorRole::Auditor), lang),
            ),
        ],
        notice,
        enrolled,
        refusal: refusal.map(|r| text::bilingual(&r, lang)),
    };
    Ok((status, render(&page)?).into_response())
}
