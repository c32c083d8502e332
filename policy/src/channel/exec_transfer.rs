//! Which file-transfer server an exec channel's command line starts, in whatever wrapping
//! (issue 11, deliverable 2; R-10-6).
//!
//! `scp -t`, `scp -f`, `sftp-server` and `rsync --server` are what `scp`, `sftp -s` and
//! `rsync` ask the far side to run. An engineer's hand-written client may ask for them in
//! any disguise: `exec scp -t /tmp/`, `"scp" -t`, `/usr/bin/scp`, `env X=1 scp`,
//! `sh -c 'scp -t .'`, `sudo`, `nice`, `timeout 5 …`. The line is read with the risk
//! rules' shell reader ([`crate::risk::shell::read`]), which removes quotes and looks
//! through those wrappers, and every simple command of every `;`, `&&`, `||` and `|` list
//! is looked at.
//!
//! Where the reader can't be sure what runs, the answer is [`ExecTransfer::Uncertain`]:
//! a program named by an expansion (`$X -t`, `${0}`, `$(…)`, a glob, a brace list),
//! `eval`, quotes left open, a shell or interpreter that reads its program from its input
//! (`sh`, `bash -s`, `python -`, `sudo -i`, `sh <<EOF`, `bash <(curl …)`), or more than one
//! transfer server on one channel.
//!
//! What this can't see: a transfer server copied under another name (`cp /usr/bin/scp
//! x; ./x -t`), a script file that runs one (`bash upload.sh`), or a wrapper the reader
//! doesn't know. Those are plain commands here; what bounds them is that a non-pty exec
//! channel's stdin is an upload and its bulk stdout a download ([`super::streams`]).

use crate::risk::shell::{self, Command};

/// The file-transfer server an exec command starts, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecTransfer {
    /// An ordinary command (`ls -l`, `df`, `cat file`, pipelines of them).
    None,
    /// `scp -t`: the legacy SCP protocol receiving files (an upload).
    ScpSink,
    /// `scp -f`: the legacy SCP protocol sending files (a download).
    ScpSource {
        /// The `scp -f …` command alone, its wrappers dropped, each word quoted for a
        /// POSIX shell where it needs it: for the record, and for the SCP inspector to
        /// name the files from.
        command: String,
    },
    /// An SFTP server (`/usr/lib/openssh/sftp-server`, `internal-sftp`, any path and
    /// options): what the `sftp` subsystem runs, asked for as an exec.
    SftpServer,
    /// `rsync --server`: the far side of `rsync`.
    RsyncServer {
        /// `--sender`: the target sends (a download); otherwise it receives (an upload).
        sender: bool,
    },
    /// The reader can't tell with certainty what the line runs (see the module
    /// documentation).
    Uncertain,
}

/// Reads `command` (an exec request's command line) for a file-transfer server.
pub fn exec_transfer(command: &str) -> ExecTransfer {
    let reading = shell::read(command);
    if reading.unbalanced || reading.too_deep || reading.shell_on_input {
        return ExecTransfer::Uncertain;
    }
    let mut found = Vec::new();
    for command in &reading.commands {
        match judge(command) {
            Judged::Plain => {}
            Judged::Uncertain => return ExecTransfer::Uncertain,
            Judged::Transfer(transfer) => found.push(transfer),
        }
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (None, _) => ExecTransfer::None,
        (Some(only), None) => only,
        // Two transfer servers on one channel: no inspector follows one stream that
        // changes protocol halfway.
        (Some(_), Some(_)) => ExecTransfer::Uncertain,
    }
}

/// What one simple command is.
enum Judged {
    Plain,
    Transfer(ExecTransfer),
    Uncertain,
}

/// Characters that make the shell rewrite a word before it runs: parameter, command and
/// arithmetic expansion, globs, brace lists, and `cmd.exe`'s `%VAR%`.
const EXPANDED: &[char] = &['$', '`', '*', '?', '[', '{', '}', '%'];

/// Judges one simple command as the reader gave it (program by its base name).
fn judge(command: &Command) -> Judged {
    let Some(program) = command.program() else {
        // Assignments or redirections alone.
        return Judged::Plain;
    };
    let args = command.args();
    // `xargs` adds words from its input, and `-I {}` puts them anywhere.
    let fed = command.through.iter().any(|w| w == "xargs");
    let placeholder_is_program = command
        .placeholder
        .as_deref()
        .is_some_and(|p| !p.is_empty() && program.contains(p));
    if program.contains(EXPANDED)
        || placeholder_is_program
        || command.through.iter().any(|w| w == "eval")
    {
        return Judged::Uncertain;
    }
    let args_expanded = args.iter().any(|a| a.contains(EXPANDED));
    match program {
        "scp" => match scp_mode(args) {
            Some(ScpMode::Source) => Judged::Transfer(ExecTransfer::ScpSource {
                command: quoted(&command.words),
            }),
            Some(ScpMode::Sink) => Judged::Transfer(ExecTransfer::ScpSink),
            None if args_expanded || fed => Judged::Uncertain,
            None => Judged::Plain,
        },
        "sftp-server" | "internal-sftp" => Judged::Transfer(ExecTransfer::SftpServer),
        "rsync" if args.iter().any(|a| a == "--server") => {
            Judged::Transfer(ExecTransfer::RsyncServer {
                sender: args.iter().any(|a| a == "--sender"),
            })
        }
        "rsync" if args_expanded || fed => Judged::Uncertain,
        // Aliases are expanded by some shells (zsh) even when not interactive.
        "alias" => Judged::Uncertain,
        "source" | "." if args.first().is_some_and(|a| is_input_path(a)) => Judged::Uncertain,
        // `cmd /c` and `powershell -Command` are read as lines by the shell reader; what
        // is left here reads its commands from input, or runs a script or an encoded
        // program the reader doesn't follow.
        "cmd" | "CMD" => Judged::Uncertain,
        "powershell" | "pwsh" if !powershell_runs_file(args) => Judged::Uncertain,
        _ => match interpreter(program) {
            Some(_) if fed => Judged::Uncertain,
            Some(kind) if reads_program_from_input(kind, args) => Judged::Uncertain,
            _ => Judged::Plain,
        },
    }
}

/// The legacy SCP protocol's remote side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScpMode {
    Source,
    Sink,
}

/// `scp`'s own options that take a value (the next word, or the rest of the cluster).
const SCP_VALUE_OPTIONS: &str = "cDFiJlmoPSX";

/// The mode of `scp ARGS`: `-f` (source) or `-t` (sink), in a cluster (`-pt`, `-rf`) or
/// alone, anywhere before `--` (as if the options were permuted, which glibc's getopt
/// does). With both, scp sends: it checks `-f` first.
fn scp_mode(args: &[String]) -> Option<ScpMode> {
    let (mut source, mut sink) = (false, false);
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let Some(cluster) = word.strip_prefix('-').filter(|c| !c.starts_with('-')) else {
            continue;
        };
        for (at, c) in cluster.char_indices() {
            match c {
                'f' => source = true,
                't' => sink = true,
                c if SCP_VALUE_OPTIONS.contains(c) => {
                    if at + c.len_utf8() == cluster.len() {
                        words.next();
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    if source {
        Some(ScpMode::Source)
    } else if sink {
        Some(ScpMode::Sink)
    } else {
        None
    }
}

/// Words joined with spaces, each single-quoted for a POSIX shell unless it is made only
/// of characters no shell treats specially.
fn quoted(words: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c);
    words
        .iter()
        .map(|word| {
            if !word.is_empty() && word.chars().all(plain) {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a path names the process's input or a generated stream rather than a file:
/// `-`, `/dev/stdin`, `/dev/fd/N` (what a process substitution passes), `/proc/…/fd/N`.
fn is_input_path(path: &str) -> bool {
    path == "-"
        || path == "/dev/stdin"
        || path.starts_with("/dev/fd/")
        || (path.starts_with("/proc/") && path.contains("/fd/"))
}

/// A program that runs a program it is given: how it is told where that program is.
#[derive(Debug, Clone, Copy)]
struct Interpreter {
    /// Short options whose value is the program itself, or that name a module to run
    /// (`-c`, `-e`, `-m`): the program is then on the command line.
    inline: &'static str,
    /// Short options that take a value (the next word when last in their cluster).
    valued: &'static str,
    /// Long options that take the next word as value.
    long_valued: &'static [&'static str],
    /// Long options whose value is the program (`--eval`).
    long_inline: &'static [&'static str],
    /// `-s` means "read the program from input" (the shells).
    dash_s_is_input: bool,
}

const SHELL: Interpreter = Interpreter {
    // `sh -c` is read by the shell reader; a `c` left here is a shell it doesn't
    // follow (`csh -c`), whose line is then unknown.
    inline: "",
    valued: "oO",
    long_valued: &["rcfile", "init-file"],
    long_inline: &[],
    dash_s_is_input: true,
};

/// The interpreter `program` is, by its base name (`python3.11` is Python).
fn interpreter(program: &str) -> Option<Interpreter> {
    let family = |prefix: &str| {
        program
            .strip_prefix(prefix)
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    let plain = |inline, valued, long_inline| Interpreter {
        inline,
        valued,
        long_valued: &[],
        long_inline,
        dash_s_is_input: false,
    };
    match program {
        "sh" | "bash" | "rbash" | "dash" | "zsh" | "ksh" | "ksh93" | "mksh" | "ash" | "yash"
        | "posh" | "fish" | "csh" | "tcsh" => Some(SHELL),
        _ if family("python") => Some(plain("cm", "WXQ", &[])),
        _ if family("perl") => Some(plain("eE", "", &[])),
        _ if family("ruby") => Some(plain("e", "rICE", &[])),
        _ if family("php") => Some(plain("r", "cdz", &[])),
        _ if family("lua") || family("luajit") => Some(plain("e", "l", &[])),
        "node" | "nodejs" => Some(plain("ep", "r", &["eval", "print"])),
        "tclsh" | "wish" | "osascript" => Some(plain("e", "", &[])),
        _ => None,
    }
}

/// Whether `kind` run with `args` reads its program from input: no program on the line
/// and no script file, `-` or `/dev/stdin` as the script, `bash -s`, or a program the
/// shell reader doesn't follow (`csh -c`, `powershell -EncodedCommand`).
fn reads_program_from_input(kind: Interpreter, args: &[String]) -> bool {
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "-" && !kind.dash_s_is_input {
            // `python - ARGS`, `perl -`: the program is the input.
            return true;
        }
        if word == "--" || word == "-" {
            // Options end; the script follows, or the input is the program.
            return words.next().is_none_or(|script| is_input_path(script));
        }
        if let Some(long) = word.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            if kind.long_inline.contains(&name) {
                return false;
            }
            if !long.contains('=') && kind.long_valued.contains(&name) {
                words.next();
            }
            continue;
        }
        let Some(cluster) = word.strip_prefix(['-', '+']) else {
            // The script file: its content isn't on the line, but it isn't the input.
            return is_input_path(word);
        };
        for (at, c) in cluster.char_indices() {
            if kind.inline.contains(c) {
                return false;
            }
            if kind.dash_s_is_input && (c == 's' || c == 'c') {
                return true;
            }
            if kind.valued.contains(c) {
                if at + c.len_utf8() == cluster.len() {
                    words.next();
                }
                break;
            }
        }
    }
    true
}

/// Whether `powershell ARGS` runs a script file named on the line (`-File x.ps1`), and
/// neither reads its commands from input nor runs an encoded program
/// (`-EncodedCommand`, `-enc`, `-e`).
fn powershell_runs_file(args: &[String]) -> bool {
    let mut file = false;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let lower = word.to_ascii_lowercase();
        if lower.starts_with("-e") && "-encodedcommand".starts_with(&lower) {
            return false;
        }
        if lower == "-file" || lower == "-f" {
            file = words.next().is_some_and(|script| !is_input_path(script));
        }
    }
    file
}

#[cfg(test)]
mod tests;
