//! A plan written as a file (TOML or JSON), so vendors can keep templates and submit with
//! `fumidai plan submit --file`. Parsed once at the edge into a [`PlanRequest`]; an invalid
//! file gets an error that names the field (and, for syntax errors, the line).
//!
//! ```toml
//! engineers = ["alice"]
//! targets = ["db01"]
//! start = "2026-12-01T09:00:00+09:00"
//! end = "2026-12-01T12:00:00+09:00"
//! purpose = "apply the December security patches"
//! allow = ["upload"]                          # download, forward, executable, script, macro, archive
//! personal_data = "verify the patient index"  # optional: declared access and why (R-10-2)
//! data_deletion = "delete /tmp/export"        # required with personal_data (R-10-1)
//!
//! [take_out]                                  # required with personal_data and download (§7.1)
//! purpose = "hand the index to the auditor"
//! item_count = 120
//! items = "patient ID, name, date of birth"
//! storage = "encrypted USB stick kept in the vendor's safe"
//!
//! [[steps]]
//! text = "stop the PACS service"
//! expect = ['systemctl stop pacs*']           # optional: commands it runs (glob, or 're:REGEX')
//! ```
//!
//! `steps` may also be a list of plain strings.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Allowances, PlanRequest, PlannedStep, TakeOut};
use crate::ids::{Login, TargetName, VendorName};
use crate::transfer::ContentKind;

/// The file's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl Format {
    /// The format a file name says (`.json` is JSON, anything else TOML).
    pub fn of_name(name: &str) -> Self {
        if name.to_ascii_lowercase().ends_with(".json") {
            Self::Json
        } else {
            Self::Toml
        }
    }
}

/// Why a plan file was not accepted. Messages name the field, in English and Japanese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileError {
    /// Not valid TOML/JSON, or a field of the wrong type, unknown or missing.
    #[error("plan file: {0} / 作業計画ファイルの形式が正しくありません")]
    Syntax(String),
    /// A field's value is not acceptable.
    #[error("plan file: {field}: {problem} / 作業計画ファイルの {field} が正しくありません")]
    Field {
        /// The field, as written in the file (`engineers[1]`).
        field: String,
        /// What is wrong.
        problem: String,
    },
}

/// A plan file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    engineers: Vec<String>,
    targets: Vec<String>,
    start: String,
    end: String,
    purpose: String,
    #[serde(default)]
    steps: Vec<PlannedStep>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    personal_data: Option<String>,
    #[serde(default)]
    data_deletion: Option<String>,
    #[serde(default)]
    take_out: Option<TakeOut>,
}

/// The engineers and targets a plan file names, before the vendor is known: the caller looks
/// the engineers' vendor up, then calls [`ParsedPlanFile::into_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedPlanFile {
    /// Who will connect.
    pub engineers: Vec<Login>,
    /// Which targets.
    pub targets: Vec<TargetName>,
    request: RequestRest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestRest {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    purpose: String,
    steps: Vec<PlannedStep>,
    allow: Allowances,
    personal_data: Option<String>,
    data_deletion: Option<String>,
    take_out: Option<TakeOut>,
}

impl ParsedPlanFile {
    /// The request for `vendor` (the engineers' vendor); [`super::submit`] validates it.
    pub fn into_request(self, vendor: VendorName) -> PlanRequest {
        let r = self.request;
        PlanRequest {
            vendor,
            engineers: self.engineers,
            targets: self.targets,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            purpose: r.purpose,
            steps: r.steps,
            allow: r.allow,
            personal_data: r.personal_data,
            data_deletion: r.data_deletion,
            take_out: r.take_out,
        }
    }
}

/// Reads a plan file's text.
pub fn parse(text: &str, format: Format) -> Result<ParsedPlanFile, PlanFileError> {
    let file: PlanFile = match format {
        Format::Toml => toml::from_str(text).map_err(|e| PlanFileError::Syntax(one_line(&e)))?,
        Format::Json => {
            serde_json::from_str(text).map_err(|e| PlanFileError::Syntax(e.to_string()))?
        }
    };
    let engineers = names::<Login>("engineers", &file.engineers)?;
    let targets = names::<TargetName>("targets", &file.targets)?;
    let starts_at = time("start", &file.start)?;
    let ends_at = time("end", &file.end)?;
    let mut allow = Allowances::default();
    for (i, name) in file.allow.iter().enumerate() {
        match name.trim() {
            "upload" => allow.upload = true,
            "download" => allow.download = true,
            "forward" => allow.forward = true,
            other => match other.parse::<ContentKind>() {
                Ok(kind) => allow.content = allow.content.with(kind),
                Err(_) => {
                    return Err(field(
                        format!("allow[{i}]"),
                        format!(
                            "unknown {other:?}: upload, download, forward, executable, script, macro or archive"
                        ),
                    ));
                }
            },
        }
    }
    Ok(ParsedPlanFile {
        engineers,
        targets,
        request: RequestRest {
            starts_at,
            ends_at,
            purpose: file.purpose,
            steps: file.steps,
            allow,
            personal_data: file.personal_data,
            data_deletion: file.data_deletion,
            take_out: file.take_out,
        },
    })
}

fn names<T: std::str::FromStr>(what: &str, raw: &[String]) -> Result<Vec<T>, PlanFileError>
where
    T::Err: std::fmt::Display,
{
    raw.iter()
        .enumerate()
        .map(|(i, name)| {
            name.trim()
                .parse::<T>()
                .map_err(|e| field(format!("{what}[{i}]"), e.to_string()))
        })
        .collect()
}

fn time(what: &str, text: &str) -> Result<DateTime<Utc>, PlanFileError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            field(
                what.to_owned(),
                format!("{e}: write RFC 3339 with an offset, e.g. 2026-12-01T09:00:00+09:00"),
            )
        })
}

fn field(field: String, problem: String) -> PlanFileError {
    PlanFileError::Field { field, problem }
}

/// TOML errors span several lines (a snippet with a caret): keep them on one.
fn one_line(e: &toml::de::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
