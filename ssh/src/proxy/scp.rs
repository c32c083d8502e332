//! Legacy SCP downloads (`scp -O` from the target: the target runs `scp -f`), read as they
//! stream so every file goes on record with its path, size and SHA-256 (R-10-3), like the
//! files of an SFTP channel. Uploads in the legacy protocol are refused before they start
//! (`policy::channel`), so only this direction is inspected.
//!
//! A state machine without I/O: the bridge feeds it what the target sends, forwards the
//! bytes unchanged, and carries out the [`Action`]s. The protocol, as OpenSSH's `scp.c`
//! speaks it: control lines `C<mode> <size> <name>` (a file follows: `size` bytes, then
//! one status byte), `D<mode> 0 <name>` / `E` (enter / leave a directory), `T…` (times),
//! and `\x01`/`\x02` + text (a warning or an error). The engineer's side only answers
//! with status bytes, which pass unread.

use bytes::Bytes;
use recorder::format::transfers::{
    TransferDirection, TransferHasher, TransferOutcome, TransferRecord,
};

use super::sftp::Action;

/// Longer control lines than this are not SCP (OpenSSH's own limit is 2048 bytes plus the
/// name): the channel ends rather than buffer without bound.
const MAX_LINE: usize = 64 * 1024;

/// The stream is not the SCP protocol: the channel ends (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not the scp protocol: {0}")]
pub struct ScpError(&'static str);

/// One `scp -f` channel's reader (or, [`ScpSourceInspector::sink`], the engineer's stream
/// to an `scp -t`, the same protocol the other way).
#[derive(Debug)]
pub struct ScpSourceInspector {
    /// Which way the files move: the stream read is the target's (download) or the
    /// engineer's (upload).
    direction: TransferDirection,
    /// Uploads: the operand names a directory (`-d`, or a trailing `/`).
    into_dir: bool,
    /// The paths the engineer asked for (the command's operands).
    operands: Vec<String>,
    /// The directories entered (`D`) and not yet left (`E`), as full paths.
    dirs: Vec<String>,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Reading a control line (up to its newline).
    Line(Vec<u8>),
    /// A file's bytes are streaming.
    Content {
        path: String,
        remaining: u64,
        hasher: TransferHasher,
    },
    /// The file's bytes are done; its status byte comes next.
    Status {
        path: String,
        hasher: TransferHasher,
    },
    /// After a failed file's status byte: its message, up to the newline.
    Failed {
        path: String,
        hasher: TransferHasher,
        message: Vec<u8>,
    },
}

impl ScpSourceInspector {
    /// A reader for the channel that runs `command` (`scp -f …` on the target).
    pub fn new(command: &str) -> Self {
        Self {
            direction: TransferDirection::Download,
            into_dir: false,
            operands: operands(command),
            dirs: Vec::new(),
            state: State::Line(Vec::new()),
        }
    }

    /// A reader for the engineer's stream to `command` (`scp -t …` on the target, a legacy
    /// upload, let through only when the plan declares every kind): every file on record.
    /// Feed it with [`from_target`](Self::from_target) the engineer's bytes, and swap the
    /// actions' sides (see `inspection`).
    pub fn sink(command: &str) -> Self {
        let operands = operands(command);
        let into_dir = shell_words(command)
            .iter()
            .any(|w| w == "-d" || (w.starts_with('-') && w.contains('d') && w.contains('t')))
            || operands.iter().any(|o| o.ends_with('/'));
        Self {
            direction: TransferDirection::Upload,
            into_dir,
            operands,
            dirs: Vec::new(),
            state: State::Line(Vec::new()),
        }
    }

    /// The engineer's status bytes go to the target unread.
    pub fn from_engineer(&mut self, data: &[u8]) -> Vec<Action> {
        vec![Action::ToTarget(Bytes::copy_from_slice(data))]
    }

    /// What the target sent: forwarded unchanged, and the files it completed on record.
    pub fn from_target(&mut self, data: &[u8]) -> Result<Vec<Action>, ScpError> {
        let mut actions = vec![Action::ToEngineer(Bytes::copy_from_slice(data))];
        let mut rest = data;
        while !rest.is_empty() {
            rest = self.step(rest, &mut actions)?;
        }
        Ok(actions)
    }

    /// The channel ended: a file still streaming goes on record as aborted.
    pub fn finish(&mut self) -> Vec<Action> {
        match std::mem::replace(&mut self.state, State::Line(Vec::new())) {
            State::Line(_) => Vec::new(),
            State::Content { path, hasher, .. }
            | State::Status { path, hasher }
            | State::Failed { path, hasher, .. } => vec![Action::Transfer(record(
                self.direction,
                path,
                hasher,
                TransferOutcome::Aborted,
                Some("channel ended during the transfer".to_owned()),
            ))],
        }
    }

    /// Consumes the start of `data` in the current state; returns what is left.
    fn step<'a>(
        &mut self,
        data: &'a [u8],
        actions: &mut Vec<Action>,
    ) -> Result<&'a [u8], ScpError> {
        match &mut self.state {
            State::Line(line) => {
                let (taken, ended) = match data.iter().position(|&b| b == b'\n') {
                    Some(end) => (end + 1, true),
                    None => (data.len(), false),
                };
                let (head, rest) = data.split_at(taken);
                line.extend_from_slice(head);
                if line.len() > MAX_LINE {
                    return Err(ScpError("control line too long"));
                }
                if ended {
                    let line = std::mem::take(line);
                    self.control(&line)?;
                }
                Ok(rest)
            }
            State::Content {
                remaining, hasher, ..
            } => {
                let take = usize::try_from(*remaining).map_or(data.len(), |r| r.min(data.len()));
                let (head, rest) = data.split_at(take);
                hasher.update(head);
                *remaining -= head.len() as u64;
                if *remaining == 0
                    && let State::Content { path, hasher, .. } =
                        std::mem::replace(&mut self.state, State::Line(Vec::new()))
                {
                    self.state = State::Status { path, hasher };
                }
                Ok(rest)
            }
            State::Status { .. } => {
                let Some((&status, rest)) = data.split_first() else {
                    return Ok(data);
                };
                let State::Status { path, hasher } =
                    std::mem::replace(&mut self.state, State::Line(Vec::new()))
                else {
                    return Ok(rest);
                };
                if status == 0 {
                    actions.push(Action::Transfer(record(
                        self.direction,
                        path,
                        hasher,
                        TransferOutcome::Completed,
                        None,
                    )));
                } else {
                    self.state = State::Failed {
                        path,
                        hasher,
                        message: Vec::new(),
                    };
                }
                Ok(rest)
            }
            State::Failed { message, .. } => {
                let (taken, ended) = match data.iter().position(|&b| b == b'\n') {
                    Some(end) => (end + 1, true),
                    None => (data.len(), false),
                };
                let (head, rest) = data.split_at(taken);
                message.extend_from_slice(head);
                if message.len() > MAX_LINE {
                    return Err(ScpError("error message too long"));
                }
                if ended
                    && let State::Failed {
                        path,
                        hasher,
                        message,
                    } = std::mem::replace(&mut self.state, State::Line(Vec::new()))
                {
                    let why = String::from_utf8_lossy(&message).trim().to_owned();
                    actions.push(Action::Transfer(record(
                        self.direction,
                        path,
                        hasher,
                        TransferOutcome::Aborted,
                        Some(why),
                    )));
                }
                Ok(rest)
            }
        }
    }

    /// One complete control line (with its newline).
    fn control(&mut self, line: &[u8]) -> Result<(), ScpError> {
        let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
        let Some(kind) = text.chars().next() else {
            return Err(ScpError("empty control line"));
        };
        match kind {
            'C' | 'D' => {
                let mut fields = text.get(1..).unwrap_or_default().splitn(3, ' ');
                let (Some(_mode), Some(size), Some(name)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    return Err(ScpError("malformed file or directory line"));
                };
                let size: u64 = size.parse().map_err(|_| ScpError("malformed size"))?;
                let path = self.path_of(name);
                if kind == 'D' {
                    self.dirs.push(path);
                } else if size == 0 {
                    // No bytes follow, only the status byte.
                    self.state = State::Status {
                        path,
                        hasher: TransferHasher::new(),
                    };
                } else {
                    self.state = State::Content {
                        path,
                        remaining: size,
                        hasher: TransferHasher::new(),
                    };
                }
            }
            'E' => {
                self.dirs.pop();
            }
            // Times, and the source's warnings and errors (a file it could not read):
            // forwarded, and the engineer's scp prints them.
            'T' | '\u{1}' | '\u{2}' => {}
            _ => return Err(ScpError("unknown control line")),
        }
        Ok(())
    }

    /// The full path of `name` sent at the current depth. At the top, `scp -f` sends base
    /// names: the operand it came from gives the directory (by its base name, or the only
    /// operand's directory when it was a pattern such as `/var/log/*.log`).
    fn path_of(&self, name: &str) -> String {
        if let Some(dir) = self.dirs.last() {
            return format!("{}/{name}", dir.trim_end_matches('/'));
        }
        if self.direction == TransferDirection::Upload {
            return match self.operands.as_slice() {
                [dir] if self.into_dir => format!("{}/{name}", dir.trim_end_matches('/')),
                [file] => file.clone(),
                _ => name.to_owned(),
            };
        }
        if let Some(operand) = self
            .operands
            .iter()
            .find(|o| base_name(o) == name && !o.contains(['*', '?', '[']))
        {
            return operand.trim_end_matches('/').to_owned();
        }
        match self.operands.as_slice() {
            [only] => match only.trim_end_matches('/').rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/{name}"),
                None => name.to_owned(),
            },
            _ => name.to_owned(),
        }
    }
}

fn record(
    direction: TransferDirection,
    path: String,
    hasher: TransferHasher,
    outcome: TransferOutcome,
    reason: Option<String>,
) -> TransferRecord {
    let (size, digest) = hasher.finish();
    TransferRecord {
        direction,
        path,
        size,
        sha256: Some(digest),
        outcome,
        reason,
    }
}

fn base_name(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    path.rsplit('/').next().unwrap_or(path)
}

/// The operands of `scp [flags] [--] PATH…`, unquoted as the target's shell would, after
/// any wrapper (`exec scp …`, `sh -c 'scp …'`).
fn operands(command: &str) -> Vec<String> {
    let words = shell_words(command);
    let Some(at) = words.iter().position(|w| base_name(w) == "scp") else {
        // A wrapper that takes the command as one word (`sh -c 'scp -t /tmp'`).
        return words
            .iter()
            .find(|w| w.contains(' '))
            .map(|inner| operands(inner))
            .unwrap_or_default();
    };
    let mut rest = words
        .iter()
        .skip(at + 1)
        .skip_while(|w| w.starts_with('-') && *w != "--");
    let mut out: Vec<String> = Vec::new();
    if let Some(first) = rest.next()
        && first != "--"
    {
        out.push(first.clone());
    }
    out.extend(rest.cloned());
    out
}

/// Splits a command line into words with the POSIX shell's quoting: `'…'`, `"…"` (with
/// `\"`, `\\`, `` \` `` and `\$` escapes) and `\` outside quotes. Good enough for the
/// commands OpenSSH's `scp` sends; anything else only names the files less well.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '`' | '$')) => w.push(e),
                            Some('\n') | None => {}
                            Some(other) => {
                                w.push('\\');
                                w.push(other);
                            }
                        },
                        other => w.push(other),
                    }
                }
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                if let Some(e) = chars.next()
                    && e != '\n'
                {
                    w.push(e);
                }
            }
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    words
}

#[cfg(test)]
#[path = "scp/tests.rs"]
mod tests;
