//! What a rule's pattern is matched against: each simple command (the default), or the
//! whole line, for what lies between commands (`… | base64 -d | sh`, `eval "$(…)"`).

/// What a rule's pattern is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Each simple command of the line as the shell reader gives it
    /// ([`super::simple_commands`]): wrappers looked through, quotes removed.
    #[default]
    Command,
    /// The whole line with quotes and backslashes removed ([`unquoted`]): pipes,
    /// substitutions and process substitutions kept in place, so that a rule can see a
    /// decoder feeding a shell. Nested `sh -c '…'` lines are flattened into it.
    Line,
}

impl Scope {
    /// The names rule files use, `command` and `line`.
    pub fn parse(name: &str) -> Option<Scope> {
        match name {
            "command" => Some(Scope::Command),
            "line" => Some(Scope::Line),
            _ => None,
        }
    }
}

/// `line` without `'`, `"` and `\`, so that `b'a's\e64 -d | "sh"` reads `base64 -d | sh`.
pub fn unquoted(line: &str) -> String {
    line.chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect()
}
