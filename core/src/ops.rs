//! The use cases ("ops"): what a person at the hospital does in their own name, in one
//! place that the `fumidai` command line calls now and the web console calls next. Each
//! takes the store, an authenticated [`Person`] and typed input, and returns typed output
//! or an [`OpError`]; the rules are `policy`'s, the records the store's, and nothing here
//! reads a terminal or a socket.
//!
//! - [`person`]: signing in (password + TOTP through the same [`Authenticator`] as the
//!   front door) and the authority check for the action (R-14-1, R-14-4).
//! - [`plan_decision`]: approve or reject a submitted plan (R-10.1-APPROVE, four eyes,
//!   personal-data take-out by a planning manager).
//! - [`plan_withdrawal`]: withdraw an approved or active plan.
//! - [`report_confirmation`]: the planning manager confirms a report (R-10-5).
//! - [`dashboard`], [`plan_view`]: what the web console reads (issue 15).
//! - [`live_view`]: the live sessions, here and on other nodes; [`session_watch`]: watch
//!   one's terminal read-only, each watch on record.
//! - [`session_kill`]: ask the gateway holding a session or login-only connection to end
//!   it, optionally barring the engineer from the plan.
//!
//! [`Authenticator`]: crate::auth::Authenticator

pub mod account_enrolment;
pub mod account_lifecycle;
pub mod account_review;
pub mod audit;
pub mod compliance_evidence;
pub mod dashboard;
mod error;
pub mod health;
pub mod live_view;
pub mod person;
pub mod plan_decision;
pub mod plan_submission;
pub mod plan_view;
pub mod plan_withdrawal;
pub mod playback;
pub mod recordings;
pub mod report_confirmation;
pub mod report_view;
pub mod session_kill;
pub mod session_list;
pub mod session_view;
pub mod session_watch;
pub mod target_admin;

pub use error::OpError;
pub use person::{Person, SignIn, confirm, sign_in};
