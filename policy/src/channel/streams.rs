//! How much a channel may carry outside a file-transfer protocol before it counts as a
//! transfer (issue 11, deliverable 3; R-10-6, R-10-2).
//!
//! A command run without a pty (`ssh gw 'cat > /tmp/t' < elf`, `ssh gw cat
//! /srv/patients.csv`) moves files as well as `scp` does. Its stdin is therefore an upload
//! and its bulk stdout a download; a pty's input is typing, and an environment variable
//! is a small setting, each bounded here.

use super::env_forwarded;

/// Bytes of stdin a non-pty exec channel may carry when the plan has no `upload`; past
/// this the channel is closed with a reason.
///
/// 64 KiB holds what maintenance without a file transfer legitimately sends this way: a
/// here-doc of a configuration snippet, a SQL statement, a shell script of some hundred
/// lines piped to `sh` (`ssh gw sh < check.sh`). It is far less than anything worth
/// smuggling as a file: a statically linked tool, an installer or a patch is hundreds of
/// KiB at least, and the smallest useful ELF binaries built for the purpose still pass
/// 64 KiB once they do anything. Smaller payloads (a script) are no different from what
/// the engineer could type into a shell, which is recorded and reported.
pub const EXEC_STDIN_UNPLANNED_MAX: u64 = 64 * 1024;

/// Bytes of stdout past which a non-pty exec channel's output is recorded as a transfer
/// of direction `download` (size, SHA-256), and reported as a finding when the plan has
/// no `download`.
///
/// 1 MiB is well above what a command's answer is (`df`, `ps aux`, `journalctl -n 1000`,
/// a `grep` of a log are tens of KiB), and well below a database dump or a directory of
/// patient files. Output up to it is still in the session's recording.
pub const EXEC_STDOUT_BULK: u64 = 1024 * 1024;

/// The longest environment variable value passed to the target (`LANG`, `LC_*`, `TERM`),
/// in bytes.
///
/// A locale (`ja_JP.UTF-8`) or a terminal type (`xterm-256color`) is under 32 bytes; 1
/// KiB leaves room for any real one. An `LC_*` value of 26 KB carried the base64 of an
/// ELF past the recording (issue 11, reproduction 6).
pub const ENV_VALUE_MAX: usize = 1024;

/// Whether an environment variable from the engineer's client is passed to the target:
/// its name is one of the locale and terminal variables ([`env_forwarded`]) and its value
/// no longer than [`ENV_VALUE_MAX`].
pub fn env_value_forwarded(name: &str, value: &[u8]) -> bool {
    env_forwarded(name) && value.len() <= ENV_VALUE_MAX
}

/// Bytes per second of pty input beyond which it is not typing.
///
/// A fast typist makes about 10 keystrokes a second, keyboard auto-repeat 30 to 40; a
/// keystroke is at most a few bytes (an arrow key is 3, a kanji from the input method 3
/// per character, committed a phrase at a time). Typing stays well under 200 bytes a
/// second. 4 KiB is twenty times that, and also larger than the few lines an engineer
/// pastes from the plan (a command, a `sed` expression), so what passes it is a paste of
/// a file's worth of text: a possible upload.
pub const PASTE_BYTES_PER_SECOND: u64 = 4 * 1024;

/// Whether `bytes_in_window` bytes of pty input within `window_ms` milliseconds is a
/// paste beyond typing speed and size: more than [`PASTE_BYTES_PER_SECOND`] per second,
/// counted over at least one second (so a short burst of a few hundred bytes, such as a
/// pasted command line, is not one).
pub fn paste_suspected(bytes_in_window: u64, window_ms: u64) -> bool {
    let window_ms = window_ms.max(1000);
    bytes_in_window.saturating_mul(1000) > PASTE_BYTES_PER_SECOND.saturating_mul(window_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_capped() {
        let long = vec![b'A'; ENV_VALUE_MAX + 1];
        let max = vec![b'A'; ENV_VALUE_MAX];
        let table: &[(&str, &[u8], bool)] = &[
            ("LANG", b"ja_JP.UTF-8", true),
            ("LC_ALL", &max, true),
            ("LC_ALL", &long, false),
            ("LC_PAYLOAD", &long, false),
            ("TERM", b"xterm-256color", true),
            ("LD_PRELOAD", b"/tmp/x.so", false),
            ("TERM", b"", true),
        ];
        for (name, value, passes) in table {
            assert_eq!(
                env_value_forwarded(name, value),
                *passes,
                "{name} {}",
                value.len()
            );
        }
    }

    #[test]
    fn pastes_are_told_from_typing() {
        let table = [
            // Typing, even fast, even over a long window.
            (15, 1000, false),
            (200, 1000, false),
            (12_000, 60_000, false),
            // A pasted command line or a few, in one burst.
            (600, 5, false),
            (4096, 1000, false),
            // A file's worth.
            (4097, 1000, true),
            (4097, 0, true),
            (64 * 1024, 200, true),
            (50_000, 10_000, true),
            (40_000, 10_000, false),
            (u64::MAX, u64::MAX, false),
            (u64::MAX, 1000, true),
        ];
        for (bytes, window_ms, suspected) in table {
            assert_eq!(
                paste_suspected(bytes, window_ms),
                suspected,
                "{bytes} in {window_ms} ms"
            );
        }
    }
}
