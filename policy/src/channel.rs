//! What may pass through a proxied SSH channel.

/// Whether an environment variable from the engineer's client is passed to the target.
/// Only the locale and the terminal type: anything else (`LD_PRELOAD`, `PATH`, …) could
/// change what runs on the target behind the recording's back.
pub fn env_forwarded(name: &str) -> bool {
    name == "LANG"
        || name == "TERM"
        || name
            .strip_prefix("LC_")
            .is_some_and(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_locale_and_terminal_pass() {
        for (name, passes) in [
            ("LANG", true),
            ("LC_ALL", true),
            ("LC_CTYPE", true),
            ("TERM", true),
            ("LC_", false),
            ("LD_PRELOAD", false),
            ("PATH", false),
            ("lang", false),
            ("TERMINFO", false),
            ("", false),
        ] {
            assert_eq!(env_forwarded(name), passes, "{name}");
        }
    }
}
