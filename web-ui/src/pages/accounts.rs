//! `GET /admin/accounts`: the ID ledger (ID管理台帳, R-14-8) — every engineer and
//! hospital-side account with its vendor or role, state, lock and whether it must change
//! its password; and, for those who may manage accounts (`policy::authority`), the form
//! to enrol one ([`super::account_action::enrol`]).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use policy::authority::Action;
use store::Account;

use super::{Chrome, Section, render};
use crate::AppState;
use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;
use crate::text::{self, visible};

#[derive(Template)]
#[template(path = "accounts.html")]
pub(crate) struct AccountsPage {
    pub(crate) chrome: Chrome,
    pub(crate) rows: Vec<AccountRow>,
    pub(crate) vendors: Vec<String>,
    pub(crate) can_manage: bool,
    /// A new account's TOTP enrolment, shown once: (login, secret, otpauth URI).
    pub(crate) enrolled: Option<(String, String, String)>,
    pub(crate) refusal: Option<(String, String)>,
}

/// One account as listed.
pub(crate) struct AccountRow {
    pub(crate) href: String,
    pub(crate) login: String,
    pub(crate) kind: &'static str,
    pub(crate) of: String,
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) locked: String,
    pub(crate) must_change: bool,
}

impl AccountRow {
    pub(crate) fn new(a: &Account, now: chrono::DateTime<chrono::Utc>, lang: Lang) -> Self {
        Self {
            href: format!("/admin/accounts/{}", a.login),
            login: a.login.to_string(),
            kind: kind_label(a.kind, lang),
            of: a
                .vendor
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| text::role(a.role, lang).to_owned()),
            name: a.display_name.as_deref().map(visible).unwrap_or_default(),
            enabled: a.enabled,
            locked: a
                .locked_until
                .filter(|until| *until > now)
                .map(|t| text::jst_seconds(&t))
                .unwrap_or_default(),
            must_change: a.must_change_password,
        }
    }
}

/// An account kind in the page's language (the guideline's terms).
pub(crate) fn kind_label(kind: policy::ids::AccountKind, lang: Lang) -> &'static str {
    match kind {
        policy::ids::AccountKind::Engineer => lang.t("保守要員", "engineer"),
        policy::ids::AccountKind::Operator => lang.t("病院側", "hospital staff"),
    }
}

/// `GET /admin/accounts`.
pub(crate) async fn page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, PageError> {
    show(&state, &signed, None, None).await
}

/// The ledger page, with a new enrolment to show once or a refusal.
pub(crate) async fn show(
    state: &AppState,
    signed: &Signed,
    enrolled: Option<(String, String, String)>,
    refusal: Option<String>,
) -> Result<Response, PageError> {
    let now = state.now();
    let accounts = state.store.accounts(None).await?;
    let vendors = state.store.vendors().await?;
    let lang = signed.lang;
    let status = if refusal.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let page = AccountsPage {
        chrome: Chrome::signed(signed, Section::Admin, "/admin/accounts", now),
        rows: accounts
            .iter()
            .map(|a| AccountRow::new(a, now, lang))
            .collect(),
        vendors: vendors.iter().map(|v| v.name.to_string()).collect(),
        can_manage: signed.may(Action::ManageAccounts),
        enrolled,
        refusal: refusal.map(|r| text::bilingual(&r, lang)),
    };
    Ok((status, render(&page)?).into_response())
}
