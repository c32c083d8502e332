//! Printing results: text for people, `--json` for scripts.

use serde::Serialize;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    /// `--json` was given.
    pub(crate) json: bool,
}

impl Output {
    /// Prints `value` as JSON when `--json`, else the text `human` renders.
    pub(crate) fn print<T: Serialize>(
        self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            let text = human(value);
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
        Ok(())
    }
}
