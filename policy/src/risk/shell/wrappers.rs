//! The programs that merely run another command (`sudo`, `env`, `nohup`, `xargs`, `sh -c`,
//! `su -c`, `find -exec`, …), and how each one's own options are skipped to reach it.

/// What a leading program does with the words after it.
pub(super) enum Unwrap {
    /// It runs these words as a command (`sudo`, `nohup`, …).
    Command(Vec<String>),
    /// It runs these words as a command with words of its own input added: `xargs`, whose
    /// replace string (`-I {}`), when given, stands for input anywhere in the words.
    Fed {
        /// The command's words as written.
        words: Vec<String>,
        /// `-I R`, `-i`, `--replace[=R]`: where the input goes.
        placeholder: Option<String>,
    },
    /// It runs this text as a shell line (`sh -c`, `su -c`, `eval`, `watch`, …).
    Line(String),
    /// It starts a shell that reads its commands from its input, not from this line
    /// (`sudo -i`, `su -`, `sh -c` whose line `xargs` supplies).
    Shell,
    /// It runs no command here (`sudo -l`, `env` alone).
    Nothing,
    /// It is the command itself.
    Itself,
}

/// Words that open or close a compound command, skipped before the program.
pub(super) const RESERVED: &[&str] = &[
    "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until",
];

/// A program's base name, without directory or `.exe`. A word with an expansion in it
/// (`$X`, `$'\x73cp'`, `` `…` ``) is kept whole: what it names is known only when it runs.
pub(super) fn program(word: &str) -> String {
    if word.contains(['$', '`']) {
        return word.to_owned();
    }
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    let stem = base
        .len()
        .checked_sub(4)
        .filter(|at| {
            base.get(*at..)
                .is_some_and(|ext| ext.eq_ignore_ascii_case(".exe"))
        })
        .and_then(|at| base.get(..at));
    stem.unwrap_or(base).to_owned()
}

/// `NAME=value` (also `NAME+=value`, `NAME[i]=value`).
pub(super) fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let name = name.strip_suffix('+').unwrap_or(name);
    let name = match name.split_once('[') {
        Some((base, index)) if index.ends_with(']') => base,
        Some(_) => return false,
        None => name,
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The options before a wrapped command: which short flags and long options were given,
/// and where the command starts.
struct Options<'a> {
    short: String,
    long: Vec<&'a str>,
    rest: &'a [String],
}

/// Skips leading options. `short_args` are the short options taking an argument (attached
/// `-upostgres` or as the next word); `long_args` the long ones taking the next word
/// (`--user postgres`; `--user=postgres` is one word anyway). `--` ends the options.
fn options<'a>(words: &'a [String], short_args: &str, long_args: &[&str]) -> Options<'a> {
    let mut opts = Options {
        short: String::new(),
        long: Vec::new(),
        rest: words,
    };
    while let Some((first, rest)) = opts.rest.split_first() {
        if first == "--" {
            opts.rest = rest;
            break;
        }
        if !first.starts_with('-') || first == "-" {
            break;
        }
        opts.rest = rest;
        if let Some(long) = first.strip_prefix("--") {
            opts.long.push(long);
            if !long.contains('=') && long_args.contains(&long) {
                opts.rest = opts.rest.get(1..).unwrap_or_default();
            }
            continue;
        }
        let cluster: Vec<char> = first.chars().skip(1).collect();
        for (at, c) in cluster.iter().enumerate() {
            opts.short.push(*c);
            if short_args.contains(*c) {
                if at + 1 == cluster.len() {
                    opts.rest = opts.rest.get(1..).unwrap_or_default();
                }
                break;
            }
        }
    }
    opts
}

/// Decides what `program` does with `rest`.
pub(super) fn unwrap(program: &str, rest: &[String]) -> Unwrap {
    let command = |words: &[String]| {
        if words.is_empty() {
            Unwrap::Nothing
        } else {
            Unwrap::Command(words.to_vec())
        }
    };
    // Windows names are case-insensitive (`CMD.EXE /C`).
    match program.to_ascii_lowercase().as_str() {
        "cmd" => {
            return match rest.split_first() {
                Some((flag, line))
                    if flag.eq_ignore_ascii_case("/c") || flag.eq_ignore_ascii_case("/k") =>
                {
                    Unwrap::Line(line.join(" "))
                }
                _ => Unwrap::Itself,
            };
        }
        "powershell" | "pwsh" => {
            let at = rest.iter().position(|w| {
                let w = w.to_ascii_lowercase();
                w == "-c" || (w.len() >= 3 && "-command".starts_with(&w))
            });
            return match at.and_then(|at| rest.get(at + 1..)) {
                Some(line) if !line.is_empty() => Unwrap::Line(line.join(" ")),
                _ => Unwrap::Itself,
            };
        }
        _ => {}
    }
    match program {
        "sudo" | "doas" => {
            let o = options(
                rest,
                "ughpCDrtTUa",
                &[
                    "user",
                    "group",
                    "host",
                    "prompt",
                    "close-from",
                    "chdir",
                    "role",
                    "type",
                ],
            );
            let long = |name: &str| o.long.contains(&name);
            if o.short.contains(['l', 'v', 'K', 'V']) || long("list") || long("validate") {
                Unwrap::Nothing
            } else if o.short.contains('e') || long("edit") {
                let mut edit = vec!["sudoedit".to_owned()];
                edit.extend(o.rest.iter().cloned());
                Unwrap::Command(edit)
            } else {
                let assignments = o.rest.iter().take_while(|w| is_assignment(w)).count();
                let words = o.rest.get(assignments..).unwrap_or_default();
                let shell = o.short.contains(['i', 's']) || long("login") || long("shell");
                if words.is_empty() && shell {
                    Unwrap::Shell
                } else {
                    command(words)
                }
            }
        }
        "runuser" | "su" => {
            // `su [options] [-] [user] [-c command]`: the command is a shell line.
            let mut words = rest.iter();
            while let Some(word) = words.next() {
                if let Some(line) = word.strip_prefix("--command=") {
                    return Unwrap::Line(line.to_owned());
                }
                let short_c =
                    word.starts_with('-') && !word.starts_with("--") && word.ends_with('c');
                if word == "--command" || short_c {
                    return words
                        .next()
                        .map_or(Unwrap::Shell, |l| Unwrap::Line(l.clone()));
                }
            }
            let o = options(rest, "ugG", &["user", "group", "supp-group"]);
            if program == "runuser" && (o.short.contains('u') || o.long.contains(&"user")) {
                // `runuser -u USER COMMAND…`.
                match command(o.rest) {
                    Unwrap::Nothing => Unwrap::Shell,
                    run => run,
                }
            } else {
                // `runuser [-l] USER`, `su [-] [USER]`: a login shell.
                Unwrap::Shell
            }
        }
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh" | "fish" => {
            let o = options(rest, "oO", &[]);
            if o.short.contains('c') || o.long.contains(&"command") {
                o.rest
                    .first()
                    .map_or(Unwrap::Shell, |line| Unwrap::Line(line.clone()))
            } else {
                Unwrap::Itself
            }
        }
        "env" => {
            if let Some(line) = env_split_string(rest) {
                return Unwrap::Line(line);
            }
            let o = options(rest, "uCS", &["unset", "chdir", "split-string"]);
            let assignments = o.rest.iter().take_while(|w| is_assignment(w)).count();
            command(o.rest.get(assignments..).unwrap_or_default())
        }
        "nohup" | "setsid" | "exec" | "builtin" | "unbuffer" | "torsocks" | "proxychains"
        | "proxychains4" | "busybox" | "catchsegv" => command(options(rest, "a", &[]).rest),
        "command" => {
            let o = options(rest, "", &[]);
            if o.short.contains(['v', 'V']) {
                Unwrap::Itself
            } else {
                command(o.rest)
            }
        }
        "script" => {
            // `script -c LINE [file]`: LINE runs in a shell; without -c, a shell on input.
            let mut words = rest.iter();
            while let Some(word) = words.next() {
                if let Some(line) = word.strip_prefix("--command=") {
                    return Unwrap::Line(line.to_owned());
                }
                let short_c =
                    word.starts_with('-') && !word.starts_with("--") && word.ends_with('c');
                if short_c || word == "--command" {
                    return words
                        .next()
                        .map_or(Unwrap::Shell, |l| Unwrap::Line(l.clone()));
                }
            }
            Unwrap::Shell
        }
        "flock" => {
            // `flock [options] FILE -c LINE` or `flock [options] FILE COMMAND…`.
            let o = options(rest, "wEn", &["timeout", "conflict-exit-code"]);
            match o.rest.split_first() {
                Some((_, after)) => match after.split_first() {
                    Some((flag, line)) if flag == "-c" || flag == "--command" => line
                        .first()
                        .map_or(Unwrap::Shell, |l| Unwrap::Line(l.clone())),
                    _ => command(after),
                },
                None => Unwrap::Nothing,
            }
        }
        "strace" | "ltrace" => command(options(rest, "abeEIoOpPsSUuX", &[]).rest),
        "taskset" => {
            let o = options(rest, "", &[]);
            // `taskset MASK COMMAND…`, or `taskset -c LIST COMMAND…`: the first word left
            // is the mask or list either way.
            command(o.rest.get(1..).unwrap_or_default())
        }
        "time" => command(options(rest, "fo", &["format", "output"]).rest),
        "nice" => command(options(rest, "n", &["adjustment"]).rest),
        "ionice" => command(options(rest, "cnp", &["class", "classdata", "pid"]).rest),
        "stdbuf" => command(options(rest, "ioe", &["input", "output", "error"]).rest),
        "chrt" => command(options(rest, "", &[]).rest.get(1..).unwrap_or_default()),
        "timeout" => {
            let o = options(rest, "sk", &["signal", "kill-after"]);
            command(o.rest.get(1..).unwrap_or_default())
        }
        "chroot" => {
            let o = options(rest, "", &["userspec", "groups"]);
            command(o.rest.get(1..).unwrap_or_default())
        }
        "xargs" => {
            let o = options(
                rest,
                "adEILnPs",
                &[
                    "arg-file",
                    "delimiter",
                    "max-lines",
                    "max-args",
                    "max-procs",
                    "max-chars",
                ],
            );
            if o.rest.is_empty() {
                // xargs alone runs `echo` with its input.
                return Unwrap::Nothing;
            }
            Unwrap::Fed {
                words: o.rest.to_vec(),
                placeholder: xargs_placeholder(rest),
            }
        }
        "watch" => {
            let o = options(rest, "nq", &["interval", "equexit"]);
            if o.rest.is_empty() {
                Unwrap::Nothing
            } else {
                Unwrap::Line(o.rest.join(" "))
            }
        }
        "eval" => Unwrap::Line(rest.join(" ")),
        _ => Unwrap::Itself,
    }
}

/// The commands `find … -exec CMD … ;` (or `+`, `-execdir`, `-ok`, `-okdir`) runs.
pub(super) fn find_exec(words: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        if matches!(word.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let command: Vec<String> = iter
                .by_ref()
                .take_while(|w| *w != ";" && *w != "+")
                .cloned()
                .collect();
            if !command.is_empty() {
                out.push(command);
            }
        }
    }
    out
}

/// The replace string of `xargs -I R` (`-IR`, `--replace=R`; `-i` and `--replace` alone
/// mean `{}`), looked for among the options before the command.
fn xargs_placeholder(rest: &[String]) -> Option<String> {
    let mut found = None;
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        if word == "--" || !word.starts_with('-') {
            break;
        }
        if word == "--replace" || word == "-i" {
            found = Some("{}".to_owned());
        } else if let Some(r) = word.strip_prefix("--replace=") {
            found = Some(r.to_owned());
        } else if let Some(r) = word.strip_prefix("-i").filter(|_| !word.starts_with("--")) {
            found = Some(r.to_owned());
        } else if word == "-I" {
            found = words.next().cloned();
        } else if let Some(r) = word.strip_prefix("-I") {
            found = Some(r.to_owned());
        } else if matches!(
            word.as_str(),
            "-a" | "-d" | "-E" | "-L" | "-n" | "-P" | "-s"
        ) || matches!(
            word.as_str(),
            "--arg-file"
                | "--delimiter"
                | "--max-lines"
                | "--max-args"
                | "--max-procs"
                | "--max-chars"
        ) {
            // An option whose value is the next word.
            words.next();
        }
    }
    found
}

/// The line of `env -S 'LINE'` (`-SLINE`, `--split-string[=]LINE`), followed by the words
/// after it: env splits it into words itself, close enough to a shell line to read.
fn env_split_string(rest: &[String]) -> Option<String> {
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        if word == "--" || !word.starts_with('-') {
            return None;
        }
        if matches!(word.as_str(), "-u" | "-C" | "--unset" | "--chdir") {
            words.next();
            continue;
        }
        let line = if word == "-S" || word == "--split-string" {
            words.next().cloned()
        } else if let Some(line) = word.strip_prefix("--split-string=") {
            Some(line.to_owned())
        } else if let Some(line) = word.strip_prefix("-S").filter(|_| !word.starts_with("--")) {
            Some(line.to_owned())
        } else {
            continue;
        };
        let mut line = line?;
        for word in words {
            line.push(' ');
            line.push_str(word);
        }
        return Some(line);
    }
    None
}
