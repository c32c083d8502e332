//! A small reader of shell command lines, enough to find the commands a line runs.
//!
//! It is not a shell: it expands nothing and runs nothing. It splits a line on `;`, `&&`,
//! `||`, `|`, `&`, newlines and parentheses, takes command substitutions (`$(…)`, `` `…` ``)
//! out as lines of their own, removes quotes, and looks through what merely runs another
//! command — `sudo`, `env VAR=…`, `nohup`, `xargs`, `timeout`, `sh -c '…'`, `su -c '…'`,
//! `find … -exec …`, and the like — so that `sudo -u postgres pg_dump` is read as `pg_dump`.
//! The program is named by its base name (`/usr/bin/rm` and `rm.exe` are `rm`).
//!
//! Each command comes out as one normalised text: program, arguments, then redirections
//! (`> /var/log/messages`), separated by single spaces. Risk rules and planned-step
//! patterns are matched against these texts.

/// How deep `sh -c "sudo sh -c '…'"` nesting is followed.
const MAX_DEPTH: usize = 8;

/// The simple commands `line` runs, each normalised (see the module documentation), in
/// order of appearance, commands from substitutions and nested `sh -c` lines included.
pub fn simple_commands(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect(line, 0, &mut out);
    out
}

/// Reads one line (or a nested one, at `depth`) into `out`.
fn collect(line: &str, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let (outer, inner) = substitutions(line);
    for command in split(&lex(&outer)) {
        normalize(command.words, &command.redirects, depth, out);
    }
    for line in inner {
        collect(&line, depth + 1, out);
    }
}

/// A lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A word, quotes removed.
    Word(String),
    /// A redirection operator (`>`, `>>`, `2>`, `&>`, `<`, …); the file descriptor number
    /// is dropped.
    Redirect(String),
    /// Anything that ends a simple command.
    Break,
}

/// One simple command: its words and its redirections (operator, target).
#[derive(Debug, Default)]
struct SimpleCommand {
    words: Vec<String>,
    redirects: Vec<(String, String)>,
}

/// Takes `$(…)` and `` `…` `` out of `line` (outside single quotes), leaving `` `…` `` in
/// their place; returns the rest and the substituted lines.
fn substitutions(line: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = line.chars().collect();
    let mut outer = String::with_capacity(line.len());
    let mut inner = Vec::new();
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if escaped {
            escaped = false;
            outer.push(c);
            continue;
        }
        match c {
            '\\' if !single => {
                escaped = true;
                outer.push(c);
            }
            '\'' if !double => {
                single = !single;
                outer.push(c);
            }
            '"' if !single => {
                double = !double;
                outer.push(c);
            }
            '$' if !single && chars.get(i) == Some(&'(') => {
                let mut depth = 0usize;
                let mut text = String::new();
                i += 1;
                while let Some(&c) = chars.get(i) {
                    i += 1;
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => break,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    text.push(c);
                }
                inner.push(text);
                outer.push_str("`…`");
            }
            '`' if !single => {
                let mut text = String::new();
                let mut esc = false;
                while let Some(&c) = chars.get(i) {
                    i += 1;
                    if esc {
                        esc = false;
                    } else if c == '\\' {
                        esc = true;
                        continue;
                    } else if c == '`' {
                        break;
                    }
                    text.push(c);
                }
                inner.push(text);
                outer.push_str("`…`");
            }
            _ => outer.push(c),
        }
    }
    (outer, inner)
}

/// Splits a line into words, redirections and breaks, removing quotes and escapes.
fn lex(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let flush = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => flush(&mut word, &mut in_word, &mut tokens),
            '\n' | ';' | '(' | ')' => {
                flush(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Break);
            }
            '&' => {
                flush(&mut word, &mut in_word, &mut tokens);
                if chars.peek() == Some(&'>') {
                    let mut op = String::from("&");
                    while let Some(&c @ ('>' | '&' | '|')) = chars.peek() {
                        op.push(c);
                        chars.next();
                    }
                    tokens.push(Token::Redirect(op));
                } else {
                    if chars.peek() == Some(&'&') {
                        chars.next();
                    }
                    tokens.push(Token::Break);
                }
            }
            '|' => {
                flush(&mut word, &mut in_word, &mut tokens);
                if let Some('|' | '&') = chars.peek() {
                    chars.next();
                }
                tokens.push(Token::Break);
            }
            '>' | '<' => {
                // `2>` and `10>&1`: a number right before the operator is a descriptor.
                if in_word && !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                } else {
                    flush(&mut word, &mut in_word, &mut tokens);
                }
                let mut op = String::from(c);
                while let Some(&c @ ('>' | '<' | '&' | '|')) = chars.peek() {
                    op.push(c);
                    chars.next();
                }
                tokens.push(Token::Redirect(op));
            }
            '#' if !in_word => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(c) => {
                    word.push(c);
                    in_word = true;
                }
            },
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&e @ ('$' | '`' | '"' | '\\')) => {
                                word.push(e);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => word.push('\\'),
                        },
                        c => word.push(c),
                    }
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    flush(&mut word, &mut in_word, &mut tokens);
    tokens
}

/// Groups tokens into simple commands; a redirection takes the word after it as target.
fn split(tokens: &[Token]) -> Vec<SimpleCommand> {
    let mut commands = Vec::new();
    let mut current = SimpleCommand::default();
    let mut iter = tokens.iter().peekable();
    while let Some(token) = iter.next() {
        match token {
            Token::Word(w) => current.words.push(w.clone()),
            Token::Redirect(op) => {
                let target = match iter.peek() {
                    Some(Token::Word(w)) => {
                        iter.next();
                        w.clone()
                    }
                    _ => String::new(),
                };
                current.redirects.push((op.clone(), target));
            }
            Token::Break => {
                if !current.words.is_empty() || !current.redirects.is_empty() {
                    commands.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.words.is_empty() || !current.redirects.is_empty() {
        commands.push(current);
    }
    commands
}

/// What a leading program does with the words after it.
enum Unwrap {
    /// It runs these words as a command (`sudo`, `nohup`, `xargs`, …).
    Command(Vec<String>),
    /// It runs this text as a shell line (`sh -c`, `su -c`, `eval`, `watch`, …).
    Line(String),
    /// It runs no command here (`sudo -i`, `su -`, `env` alone).
    Nothing,
    /// It is the command itself.
    Itself,
}

/// Looks through wrappers and pushes the command's normalised text onto `out`; commands
/// that a wrapper runs as a shell line, or that `find -exec` runs, are read in turn.
fn normalize(
    words: Vec<String>,
    redirects: &[(String, String)],
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let mut words = words;
    let mut assignments_only = false;
    loop {
        let start = words
            .iter()
            .position(|w| !RESERVED.contains(&w.as_str()))
            .unwrap_or(words.len());
        words.drain(..start);
        let assignments = words.iter().take_while(|w| is_assignment(w)).count();
        if assignments == words.len() {
            // `HISTFILE=/dev/null` alone: the assignments are the command.
            assignments_only = true;
            break;
        }
        words.drain(..assignments);
        let Some((first, rest)) = words.split_first() else {
            break;
        };
        match unwrap(&program(first), rest) {
            Unwrap::Command(next) => words = next,
            Unwrap::Line(line) => {
                collect(&line, depth + 1, out);
                words.clear();
                break;
            }
            Unwrap::Nothing => {
                words.clear();
                break;
            }
            Unwrap::Itself => break,
        }
    }
    if let Some(first) = words.first_mut().filter(|_| !assignments_only) {
        *first = program(first);
        if first == "find" {
            for exec in find_exec(&words) {
                normalize(exec, &[], depth + 1, out);
            }
        }
    }
    let mut text = words.join(" ");
    for (op, target) in redirects {
        for part in [op, target] {
            if !part.is_empty() {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(part);
            }
        }
    }
    if !text.is_empty() {
        out.push(text);
    }
}

/// Words that open or close a compound command, skipped before the program.
const RESERVED: &[&str] = &[
    "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until",
];

/// A program's base name, without directory or `.exe`.
fn program(word: &str) -> String {
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
fn is_assignment(word: &str) -> bool {
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
fn unwrap(program: &str, rest: &[String]) -> Unwrap {
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
                command(o.rest.get(assignments..).unwrap_or_default())
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
                        .map_or(Unwrap::Nothing, |l| Unwrap::Line(l.clone()));
                }
            }
            if program == "runuser" {
                let o = options(rest, "ugG", &["user", "group", "supp-group"]);
                command(o.rest)
            } else {
                Unwrap::Nothing
            }
        }
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh" | "fish" => {
            let o = options(rest, "oO", &[]);
            if o.short.contains('c') || o.long.contains(&"command") {
                o.rest
                    .first()
                    .map_or(Unwrap::Nothing, |line| Unwrap::Line(line.clone()))
            } else {
                Unwrap::Itself
            }
        }
        "env" => {
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
        "xargs" => command(
            options(
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
            )
            .rest,
        ),
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
fn find_exec(words: &[String]) -> Vec<Vec<String>> {
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

#[cfg(test)]
mod tests;
