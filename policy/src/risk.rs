//! Command-risk rules: which commands typed on a target deserve a second look in the
//! reconciliation report (R-10-5) — data export, destructive commands, account and
//! privilege changes, log and history tampering, transfers to or from elsewhere, disabling
//! security tools, onward connections.
//!
//! Rules live in a TOML file; [`RuleSet::shipped`] is fumidai's default
//! (`risk/default_rules.toml`), and a hospital may bring its own ([`RuleSet::parse`]).
//! Each rule names a regular expression, a [`Category`], a [`Severity`], the requirement
//! it serves and a title in Japanese and English, and carries examples it must match and
//! counter-examples it must not: a rule file is refused unless its own examples hold, so a
//! rule can't silently stop matching what its author meant.
//!
//! ```toml
//! [[rule]]
//! id = "pg-dump"
//! category = "data-export"
//! severity = "high"
//! requirement = "R-10-2"
//! title_ja = "PostgreSQL のデータを出力"
//! title_en = "PostgreSQL data exported"
//! pattern = '^pg_dump(all)?(\s|$)'
//! unless = '--schema-only'          # optional: no match when this matches too
//! examples = ["sudo -u postgres pg_dump his > /tmp/his.sql"]
//! counter_examples = ["pg_restore -l his.dump"]
//! ```
//!
//! A rule with `scope = "line"` is matched against the whole line instead, quotes
//! removed ([`Scope::Line`]): for what lies between commands, such as a decoder feeding a
//! shell (`obfuscated-execution`).
//!
//! A pattern is matched against each simple command of a line, as
//! [`simple_commands`] reads it: split on `;`, `&&`, `||`, `|`, with `sudo`, `env`,
//! `nohup`, `xargs`, `sh -c` and the like looked through, so `sudo rm -rf /var/lib/pgsql`
//! is `rm -rf /var/lib/pgsql` and `^rm\s` finds it.

mod category;
mod pattern;
mod scope;
pub mod shell;

use std::fmt;

use regex::Regex;
use serde::Deserialize;

pub use category::{Category, Severity, UnknownName};
pub use pattern::{CommandPattern, MAX_PATTERN_CHARS, PatternError};
pub use scope::{Scope, unquoted};
pub use shell::simple_commands;

use crate::ids::{NameError, name_type};
use crate::requirement;

/// The rule file fumidai ships.
pub const SHIPPED_RULES: &str = include_str!("risk/default_rules.toml");

name_type!(
    /// A rule's short name, quoted in findings (`pg-dump`, `rm-recursive`).
    RuleId,
    "rule id",
    64
);

/// One risk rule, checked when its file was read.
#[derive(Debug, Clone)]
pub struct Rule {
    id: RuleId,
    category: Category,
    severity: Severity,
    requirement: &'static str,
    title_ja: String,
    title_en: String,
    pattern: Regex,
    unless: Option<Regex>,
    scope: Scope,
    examples: Vec<String>,
    counter_examples: Vec<String>,
}

impl Rule {
    /// The rule's short name.
    pub fn id(&self) -> &RuleId {
        &self.id
    }

    /// What kind of risk it finds.
    pub fn category(&self) -> Category {
        self.category
    }

    /// How much a match matters.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The requirement it serves (one of [`requirement::ALL`]).
    pub fn requirement(&self) -> &'static str {
        self.requirement
    }

    /// The title in Japanese.
    pub fn title_ja(&self) -> &str {
        &self.title_ja
    }

    /// The title in English.
    pub fn title_en(&self) -> &str {
        &self.title_en
    }

    /// Command lines the rule matches, from its file.
    pub fn examples(&self) -> &[String] {
        &self.examples
    }

    /// Command lines the rule must not match, from its file.
    pub fn counter_examples(&self) -> &[String] {
        &self.counter_examples
    }

    /// Whether the rule matches one normalised simple command (an item of
    /// [`simple_commands`]).
    pub fn matches_command(&self, command: &str) -> bool {
        self.pattern.is_match(command) && !self.unless.as_ref().is_some_and(|u| u.is_match(command))
    }

    /// Whether the rule matches a command line: any simple command of it, or the line
    /// itself for [`Scope::Line`].
    pub fn matches_line(&self, line: &str) -> bool {
        self.first_match(line).is_some()
    }

    /// What the rule first matches in `line`: a simple command, or the unquoted line.
    fn first_match(&self, line: &str) -> Option<String> {
        match self.scope {
            Scope::Command => simple_commands(line)
                .into_iter()
                .find(|command| self.matches_command(command)),
            Scope::Line => Some(unquoted(line)).filter(|text| self.matches_command(text)),
        }
    }
}

/// One rule's match on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskMatch {
    /// The rule that matched.
    pub rule: RuleId,
    /// Its category.
    pub category: Category,
    /// Its severity.
    pub severity: Severity,
    /// The requirement it serves.
    pub requirement: &'static str,
    /// Its title in Japanese.
    pub title_ja: String,
    /// Its title in English.
    pub title_en: String,
    /// The simple command it matched, as read (`rm -rf /var/lib/pgsql` from
    /// `sudo rm -rf /var/lib/pgsql`).
    pub command: String,
}

/// A checked set of risk rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

/// Where in a rule file a problem is: the rule's place (from 1) and its id when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleAt {
    /// The rule's place in the file, counting from 1.
    pub index: usize,
    /// Its id, when it has one.
    pub id: Option<String>,
}

impl fmt::Display for RuleAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "rule {} ({id})", self.index),
            None => write!(f, "rule {}", self.index),
        }
    }
}

/// Why a rule file was refused. Each names the rule and the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// Not TOML, or an unknown key or a value of the wrong type (the message names the key
    /// and the line).
    #[error("the risk rule file is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A required field is missing or blank.
    #[error("{at}: `{field}` is missing or empty")]
    Missing {
        /// Which rule.
        at: RuleAt,
        /// Which field.
        field: &'static str,
    },
    /// The id is not a valid name.
    #[error("{at}: `id` is not valid: {error}")]
    BadId {
        /// Which rule.
        at: RuleAt,
        /// Why.
        error: NameError,
    },
    /// Two rules share an id.
    #[error("{at}: `id` is used by an earlier rule too")]
    DuplicateId {
        /// Which rule.
        at: RuleAt,
    },
    /// `category`, `severity` or `requirement` names something unknown.
    #[error("{at}: `{field}` = {value:?} is not one of {expected}")]
    UnknownValue {
        /// Which rule.
        at: RuleAt,
        /// Which field.
        field: &'static str,
        /// The value given.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// `pattern` or `unless` is not a valid regular expression.
    #[error("{at}: `{field}` is not a valid regular expression: {error}")]
    BadPattern {
        /// Which rule.
        at: RuleAt,
        /// Which field.
        field: &'static str,
        /// What the regular expression engine said.
        error: regex::Error,
    },
    /// An example the rule does not match.
    #[error("{at}: `examples` holds {example:?}, which the rule does not match")]
    ExampleMissed {
        /// Which rule.
        at: RuleAt,
        /// The example.
        example: String,
    },
    /// A counter-example the rule matches.
    #[error("{at}: `counter_examples` holds {example:?}, which the rule matches")]
    CounterExampleHit {
        /// Which rule.
        at: RuleAt,
        /// The counter-example.
        example: String,
    },
}

impl RuleSet {
    /// Reads and checks a rule file: every field present and valid, ids unique,
    /// requirement IDs from the requirements list, patterns compiled, at least one example,
    /// every example matched and no counter-example matched.
    pub fn parse(toml_text: &str) -> Result<RuleSet, RuleError> {
        let file: RawFile = toml::from_str(toml_text)?;
        let mut rules: Vec<Rule> = Vec::with_capacity(file.rule.len());
        for (i, raw) in file.rule.into_iter().enumerate() {
            let rule = raw.check(i + 1)?;
            if rules.iter().any(|r| r.id == rule.id) {
                return Err(RuleError::DuplicateId {
                    at: RuleAt {
                        index: i + 1,
                        id: Some(rule.id.to_string()),
                    },
                });
            }
            rules.push(rule);
        }
        Ok(RuleSet { rules })
    }

    /// fumidai's default rules ([`SHIPPED_RULES`]).
    pub fn shipped() -> RuleSet {
        // Checked by the test `shipped_rules_hold_their_examples`; an empty set (never
        // reached) would only mean no command is flagged, not a crash.
        Self::parse(SHIPPED_RULES).unwrap_or(RuleSet { rules: Vec::new() })
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn rule(&self, id: &RuleId) -> Option<&Rule> {
        self.rules.iter().find(|r| &r.id == id)
    }

    /// The rules a command line matches: for each simple command in order, each rule in
    /// file order; a rule appears once, with the first command it matched.
    pub fn classify(&self, command_line: &str) -> Vec<RiskMatch> {
        let mut matches: Vec<RiskMatch> = Vec::new();
        let mut texts = simple_commands(command_line);
        texts.push(unquoted(command_line));
        for (at, command) in texts.iter().enumerate() {
            let line = at + 1 == texts.len();
            for rule in &self.rules {
                let in_scope = (rule.scope == Scope::Line) == line;
                if in_scope
                    && rule.matches_command(command)
                    && !matches.iter().any(|m| m.rule == rule.id)
                {
                    matches.push(RiskMatch {
                        rule: rule.id.clone(),
                        category: rule.category,
                        severity: rule.severity,
                        requirement: rule.requirement,
                        title_ja: rule.title_ja.clone(),
                        title_en: rule.title_en.clone(),
                        command: command.clone(),
                    });
                }
            }
        }
        matches
    }
}

/// The file as TOML holds it: `[[rule]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<RawRule>,
}

/// One `[[rule]]` table before it is checked; fields are optional here so that a missing
/// one is reported with the rule's place and id.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    requirement: Option<String>,
    title_ja: Option<String>,
    title_en: Option<String>,
    pattern: Option<String>,
    unless: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counter_examples: Vec<String>,
}

impl RawRule {
    /// Checks the rule at `index` (from 1).
    fn check(self, index: usize) -> Result<Rule, RuleError> {
        let at = RuleAt {
            index,
            id: self.id.clone(),
        };
        let required = |value: Option<String>, field: &'static str| match value {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
            _ => Err(RuleError::Missing {
                at: at.clone(),
                field,
            }),
        };
        let unknown =
            |field: &'static str, value: String, expected: &'static str| RuleError::UnknownValue {
                at: at.clone(),
                field,
                value,
                expected,
            };
        let bad_pattern = |field: &'static str| {
            let at = at.clone();
            move |error| RuleError::BadPattern { at, field, error }
        };

        let id: RuleId = required(self.id, "id")?
            .parse()
            .map_err(|error| RuleError::BadId {
                at: at.clone(),
                error,
            })?;
        let category = required(self.category, "category")?;
        let category = category.parse::<Category>().map_err(|_| {
            unknown(
                "category",
                category.clone(),
                "data-export, destructive, account-change, log-tampering, outbound-transfer, security-disabled, remote-access, obfuscated-execution",
            )
        })?;
        let severity = required(self.severity, "severity")?;
        let severity = severity.parse::<Severity>().map_err(|_| {
            unknown(
                "severity",
                severity.clone(),
                "info, low, medium, high, critical",
            )
        })?;
        let requirement_id = required(self.requirement, "requirement")?;
        let requirement = requirement::known(&requirement_id).ok_or_else(|| {
            unknown(
                "requirement",
                requirement_id.clone(),
                "the requirement IDs of the requirements list (R-10-2, R-17-2, …)",
            )
        })?;
        let title_ja = required(self.title_ja, "title_ja")?;
        let title_en = required(self.title_en, "title_en")?;
        let pattern = pattern::compile(&required(self.pattern, "pattern")?)
            .map_err(bad_pattern("pattern"))?;
        let unless = match self.unless {
            Some(u) if !u.trim().is_empty() => {
                Some(pattern::compile(&u).map_err(bad_pattern("unless"))?)
            }
            Some(_) => {
                return Err(RuleError::Missing {
                    at,
                    field: "unless",
                });
            }
            None => None,
        };
        let scope = match self.scope {
            None => Scope::Command,
            Some(name) => Scope::parse(name.trim())
                .ok_or_else(|| unknown("scope", name.clone(), "command, line"))?,
        };
        if self.examples.is_empty() {
            return Err(RuleError::Missing {
                at,
                field: "examples",
            });
        }
        let rule = Rule {
            id,
            category,
            severity,
            requirement,
            title_ja,
            title_en,
            pattern,
            unless,
            scope,
            examples: self.examples,
            counter_examples: self.counter_examples,
        };
        if let Some(example) = rule.examples.iter().find(|e| !rule.matches_line(e)) {
            return Err(RuleError::ExampleMissed {
                at,
                example: example.clone(),
            });
        }
        if let Some(example) = rule.counter_examples.iter().find(|e| rule.matches_line(e)) {
            return Err(RuleError::CounterExampleHit {
                at,
                example: example.clone(),
            });
        }
        Ok(rule)
    }
}

#[cfg(test)]
mod tests;
