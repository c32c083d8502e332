//! Expected-command patterns of planned steps: what the vendor says a step will run, so
//! that reconciliation can find the step's evidence and tell planned risky commands from
//! unplanned ones (R-10-5).

use std::fmt;

use regex::{Regex, RegexBuilder};

use super::shell::simple_commands;

/// Largest compiled pattern, in bytes: patterns come from vendors' plans.
const SIZE_LIMIT: usize = 1 << 20;

/// Longest pattern text, in characters.
pub const MAX_PATTERN_CHARS: usize = 500;

/// One expected-command pattern of a planned step.
///
/// Two forms:
///
/// - a **glob** (the usual one): `pg_dump -Fc *`, `systemctl restart postgresql*`. `*`
///   stands for any text, `?` for one character; everything else is literal, and runs of
///   blanks match any blanks. The glob is read like a command line first, so wrappers,
///   quotes and directories drop out as they do from commands (`sudo -u postgres
///   /usr/bin/pg_dump *` is the glob `pg_dump *`). It must match a command from its start;
///   further arguments after a complete word are allowed (`pg_dump his` matches
///   `pg_dump his -f /tmp/his.sql`).
/// - a **regular expression**, after `re:` (`re:^pg_dump\s+-t\s+orders\b`), searched in
///   each command as written and as read (see [`super::simple_commands`]).
#[derive(Clone)]
pub struct CommandPattern {
    source: String,
    regex: Regex,
}

/// A pattern that can't be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatternError {
    /// The pattern is blank.
    #[error("an expected-command pattern is empty / 想定コマンドのパターンが空です")]
    Empty,
    /// Longer than [`MAX_PATTERN_CHARS`].
    #[error(
        "an expected-command pattern is longer than {max} characters / 想定コマンドのパターンが{max}文字を超えています"
    )]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A `re:` pattern is not a valid regular expression (or too large).
    #[error(
        "the expected-command pattern {pattern:?} is not a valid regular expression / 想定コマンドの正規表現が不正です: {error}"
    )]
    BadRegex {
        /// The pattern as given.
        pattern: String,
        /// What the regular expression engine said.
        error: regex::Error,
    },
}

impl CommandPattern {
    /// Reads a pattern (see [`CommandPattern`] for the two forms).
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let source = text.trim();
        if source.is_empty() {
            return Err(PatternError::Empty);
        }
        if source.chars().count() > MAX_PATTERN_CHARS {
            return Err(PatternError::TooLong {
                max: MAX_PATTERN_CHARS,
            });
        }
        let expression = match source.strip_prefix("re:") {
            Some(expression) => expression.to_owned(),
            None => glob_expression(source),
        };
        let regex = compile(&expression).map_err(|error| PatternError::BadRegex {
            pattern: source.to_owned(),
            error,
        })?;
        Ok(Self {
            source: source.to_owned(),
            regex,
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches one normalised simple command (an item of
    /// [`super::simple_commands`]).
    pub fn matches_command(&self, command: &str) -> bool {
        self.regex.is_match(command)
    }

    /// Whether the pattern matches a command line: the line as written (trimmed), or any
    /// simple command it runs.
    pub fn matches_line(&self, line: &str) -> bool {
        self.regex.is_match(line.trim())
            || simple_commands(line)
                .iter()
                .any(|command| self.matches_command(command))
    }
}

impl fmt::Debug for CommandPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CommandPattern").field(&self.source).finish()
    }
}

impl fmt::Display for CommandPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for CommandPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for CommandPattern {}

/// Compiles a regular expression with the size limit for untrusted patterns.
pub(super) fn compile(expression: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(expression).size_limit(SIZE_LIMIT).build()
}

/// The anchored regular expression for a glob, read like a command line first.
fn glob_expression(glob: &str) -> String {
    let commands = simple_commands(glob);
    let text = match commands.as_slice() {
        [one] => one.as_str(),
        _ => glob,
    };
    let mut expression = String::from("^");
    let mut blank = false;
    for c in text.chars() {
        if c.is_whitespace() {
            blank = true;
            continue;
        }
        if blank {
            expression.push_str(r"\s+");
            blank = false;
        }
        match c {
            '*' => expression.push_str(".*"),
            '?' => expression.push('.'),
            c => expression.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    expression.push_str(r"(\s.*)?$");
    expression
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_commands_from_their_start() {
        let table: &[(&str, &str, bool)] = &[
            ("pg_dump *", "pg_dump -Fc his > /tmp/his.dump", true),
            ("pg_dump *", "sudo -u postgres /usr/bin/pg_dump his", true),
            ("pg_dump his", "pg_dump his -f /tmp/his.sql", true),
            ("pg_dump his", "pg_dump hisdb", false),
            ("pg_dump", "pg_dumpall", false),
            ("pg_dump *", "echo pg_dump", false),
            ("sudo -u postgres pg_dump *", "pg_dump his", true),
            (
                "systemctl restart postgresql*",
                "systemctl  restart postgresql-16",
                true,
            ),
            (
                "systemctl restart postgresql",
                "systemctl restart postgresql-16",
                false,
            ),
            ("rm -rf /tmp/work?", "rm -rf /tmp/work1", true),
            ("rm -rf /tmp/work?", "rm -rf /tmp/work12", false),
            ("rm -rf /tmp/work*", "cd /tmp && rm -rf /tmp/work.old", true),
            (
                "tar czf /tmp/a.tgz /opt/app",
                "tar czf /tmp/a.tgz /opt/app/../..",
                false,
            ),
            ("cp a.b c", "cp aXb c", false),
            (
                "re:^pg_dump\\s+-t\\s+orders\\b",
                "pg_dump -t orders his",
                true,
            ),
            (
                "re:^pg_dump\\s+-t\\s+orders\\b",
                "pg_dump -t patients his",
                false,
            ),
            ("re:\\| *gzip", "pg_dump his | gzip > x.gz", true),
        ];
        for (pattern, line, expected) in table {
            let p = CommandPattern::parse(pattern).unwrap();
            assert_eq!(p.matches_line(line), *expected, "{pattern:?} on {line:?}");
        }
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(CommandPattern::parse("  "), Err(PatternError::Empty));
        assert_eq!(
            CommandPattern::parse(&"x".repeat(MAX_PATTERN_CHARS + 1)),
            Err(PatternError::TooLong {
                max: MAX_PATTERN_CHARS
            })
        );
        assert!(matches!(
            CommandPattern::parse("re:pg_dump("),
            Err(PatternError::BadRegex { .. })
        ));
        assert!(matches!(
            CommandPattern::parse("re:(a{1000}){1000}"),
            Err(PatternError::BadRegex { .. })
        ));
    }
}
