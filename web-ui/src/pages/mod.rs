//! One handler file per page (STYLE.md §23): each parses the request into typed input,
//! calls one use case in `fumidai_core::ops` (or the store, to read), and renders its
//! template. The layout every page shares is [`Chrome`]; rows shown in tables are made
//! in [`view`], with untrusted text through [`crate::text::visible`].

pub(crate) mod account;
pub(crate) mod account_action;
pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod audit_export;
pub(crate) mod audit_verify;
pub(crate) mod compliance;
pub(crate) mod dashboard;
pub(crate) mod health;
pub(crate) mod language;
pub(crate) mod live;
pub(crate) mod live_kill;
pub(crate) mod live_watch;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod plan;
pub(crate) mod plan_action;
pub(crate) mod plans;
pub(crate) mod playback;
pub(crate) mod playback_data;
pub(crate) mod playback_grant;
pub(crate) mod report;
pub(crate) mod report_confirm;
pub(crate) mod report_document;
pub(crate) mod reports;
pub(crate) mod review;
pub(crate) mod session;
pub(crate) mod sessions;
pub(crate) mod view;

use askama::Template;
use axum::response::Html;
use chrono::{DateTime, Utc};

use crate::error::PageError;
use crate::lang::Lang;
use crate::session::Signed;

/// Which part of the console a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Dashboard,
    Plans,
    Sessions,
    Live,
    Reports,
    Audit,
    Compliance,
    Admin,
    None,
}

/// The person shown in the header: `olga（システム運用担当者）` / `olga (operator)`.
pub(crate) struct User {
    pub(crate) label: String,
}

/// What the layout (`base.html`) needs on every page.
pub(crate) struct Chrome {
    pub(crate) lang: Lang,
    pub(crate) css: &'static str,
    pub(crate) user: Option<User>,
    /// The session's CSRF token, for the forms (sign-out in the header, actions).
    pub(crate) csrf: String,
    pub(crate) section: Section,
    /// The language toggle: `/lang?to=…&back=<this page>`.
    pub(crate) toggle_href: String,
    /// When the page was made, in JST.
    pub(crate) rendered_at: String,
}

impl Chrome {
    /// For a page shown before sign-in.
    pub(crate) fn anonymous(lang: Lang, path: &str) -> Self {
        Self {
            lang,
            css: crate::assets::css_path(),
            user: None,
            csrf: String::new(),
            section: Section::None,
            toggle_href: toggle_href(lang, path),
            rendered_at: crate::text::jst_seconds(&Utc::now()),
        }
    }

    /// For a signed-in person's page.
    pub(crate) fn signed(
        signed: &Signed,
        section: Section,
        path: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            lang: signed.lang,
            css: crate::assets::css_path(),
            user: Some(User {
                label: {
                    let login = &signed.account.login;
                    let role = crate::text::role(signed.account.role, signed.lang);
                    match signed.lang {
                        Lang::Ja => format!("{login}（{role}）"),
                        Lang::En => format!("{login} ({role})"),
                    }
                },
            }),
            csrf: signed.session.csrf_token.clone(),
            section,
            toggle_href: toggle_href(signed.lang, path),
            rendered_at: crate::text::jst_seconds(&now),
        }
    }

    pub(crate) fn at_dashboard(&self) -> bool {
        self.section == Section::Dashboard
    }

    pub(crate) fn at_plans(&self) -> bool {
        self.section == Section::Plans
    }

    pub(crate) fn at_sessions(&self) -> bool {
        self.section == Section::Sessions
    }

    pub(crate) fn at_reports(&self) -> bool {
        self.section == Section::Reports
    }

    pub(crate) fn at_audit(&self) -> bool {
        self.section == Section::Audit
    }

    pub(crate) fn at_compliance(&self) -> bool {
        self.section == Section::Compliance
    }

    pub(crate) fn at_admin(&self) -> bool {
        self.section == Section::Admin
    }

    pub(crate) fn at_live(&self) -> bool {
        self.section == Section::Live
    }
}

/// The toggle's link back to `path` (only a plain path of this console: no open redirect).
fn toggle_href(lang: Lang, path: &str) -> String {
    format!("/lang?to={}&back={}", lang.other().code(), safe_back(path))
}

/// `path` if it is a plain local path (letters, digits, `/-_.`), else `/`.
pub(crate) fn safe_back(path: &str) -> &str {
    let plain = path.starts_with('/')
        && !path.starts_with("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if plain { path } else { "/" }
}

/// Renders a page.
pub(crate) fn render(page: &impl Template) -> Result<Html<String>, PageError> {
    Ok(Html(page.render()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_returns_only_to_local_paths() {
        assert_eq!(safe_back("/plans/abc-1"), "/plans/abc-1");
        assert_eq!(safe_back("//evil.example/"), "/");
        assert_eq!(safe_back("https://evil.example/"), "/");
        assert_eq!(safe_back("/plans?x=<y>"), "/");
        assert_eq!(safe_back(""), "/");
    }
}
