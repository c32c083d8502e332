//! A small reader of shell command lines, enough to find the commands a line runs.
//!
//! It is not a shell: it expands nothing and runs nothing. It splits a line on `;`, `&&`,
//! `||`, `|`, `&`, newlines and parentheses, takes command substitutions (`$(…)`, `` `…` ``)
//! out as lines of their own, removes quotes, and looks through what merely runs another
//! command — `sudo`, `env VAR=…`, `nohup`, `xargs`, `timeout`, `sh -c '…'`, `su -c '…'`,
//! `find … -exec …`, and the like — so that `sudo -u postgres pg_dump` is read as `pg_dump`.
//! The program is named by its base name (`/usr/bin/rm` and `rm.exe` are `rm`).
//!
//! A process substitution (`<(…)`, `>(…)`) is read as a line of its own too, and stands in
//! its line as the path bash passes for it ([`PROCESS_SUBSTITUTION`]).
//!
//! Each command comes out as one normalised text: program, arguments, then redirections
//! (`> /var/log/messages`), separated by single spaces. Risk rules and planned-step
//! patterns are matched against these texts ([`simple_commands`]). [`read`] gives the same
//! commands with their words, the wrappers looked through, whether a pipe feeds them, and
//! whether the reader could follow the whole line: what the exec gate
//! ([`crate::channel::exec_transfer`]) needs to be sure.

mod wrappers;

use wrappers::{RESERVED, Unwrap, find_exec, is_assignment, program, unwrap};

/// How deep `sh -c "sudo sh -c '…'"` nesting is followed.
const MAX_DEPTH: usize = 8;

/// What a process substitution (`<(…)`, `>(…)`) becomes in the line around it: the path
/// bash passes, so that `bash <(curl …)` reads as `bash /dev/fd/63`.
pub const PROCESS_SUBSTITUTION: &str = "/dev/fd/63";

/// The simple commands `line` runs, each normalised (see the module documentation), in
/// order of appearance, commands from substitutions and nested `sh -c` lines included.
pub fn simple_commands(line: &str) -> Vec<String> {
    read(line)
        .commands
        .iter()
        .map(Command::text)
        .filter(|text| !text.is_empty())
        .collect()
}

/// Reads `line` into its simple commands, with what the reader could not follow.
pub fn read(line: &str) -> Reading {
    let mut reading = Reading {
        commands: Vec::new(),
        unbalanced: !balanced(line),
        too_deep: false,
        shell_on_input: false,
    };
    collect(line, &Context::default(), &mut reading);
    reading
}

/// A line as [`read`] reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Its simple commands, in order of appearance (a `find -exec` command before the
    /// `find`, substitutions' commands after the line's own).
    pub commands: Vec<Command>,
    /// A quote, a backquote or a `$(` is left open: the shell would refuse the line or wait
    /// for more, and the reader has guessed where it ends.
    pub unbalanced: bool,
    /// Nesting went deeper than the reader follows; what lies deeper is not in `commands`.
    pub too_deep: bool,
    /// A wrapper starts a shell that reads its commands from its input rather than from
    /// the line (`sudo -i`, `su - postgres`, `xargs sh -c`): they are not in `commands`.
    pub shell_on_input: bool,
}

/// One simple command, the wrappers that run it looked through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// The program by its base name (`/usr/bin/rm` is `rm`), then its arguments, quotes
    /// removed; a substitution is `` `…` ``. Assignments alone (`HISTFILE=/dev/null`) are
    /// kept as written.
    pub words: Vec<String>,
    /// Its redirections: operator (descriptor number dropped) and target.
    pub redirects: Vec<(String, String)>,
    /// The wrappers looked through to reach it, outermost first, by base name (`sudo`,
    /// `sh`, `eval`, `xargs`, `find`).
    pub through: Vec<String>,
    /// Its standard input is another command's output: it follows a `|` in its line, or
    /// a wrapper that did.
    pub piped: bool,
    /// `xargs -I R`'s replace string: where `R` appears in `words`, xargs puts its input.
    pub placeholder: Option<String>,
}

impl Command {
    /// The program, if the command has one (not for assignments or redirections alone).
    pub fn program(&self) -> Option<&str> {
        self.words
            .first()
            .filter(|w| !is_assignment(w))
            .map(String::as_str)
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or_default()
    }

    /// The normalised text: words, then redirections, separated by single spaces.
    pub fn text(&self) -> String {
        let mut text = self.words.join(" ");
        for (op, target) in &self.redirects {
            for part in [op, target] {
                if !part.is_empty() {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(part);
                }
            }
        }
        text
    }
}

/// Whether every quote, backquote and `$(` in `line` is closed (outside single quotes,
/// `\` escapes the next character).
fn balanced(line: &str) -> bool {
    let (mut single, mut double, mut back, mut escaped) = (false, false, false, false);
    let mut open = 0usize;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '`' if !single => back = !back,
            '$' if !single && chars.peek() == Some(&'(') => {
                chars.next();
                open += 1;
            }
            '<' | '>' if !single && !double && chars.peek() == Some(&'(') => {
                chars.next();
                open += 1;
            }
            '(' if !single && open > 0 => open += 1,
            ')' if !single && open > 0 => open -= 1,
            _ => {}
        }
    }
    !(single || double || back || escaped || open > 0)
}

/// Where a nested line is read: how deep, through which wrappers, with piped input or not.
#[derive(Debug, Clone, Default)]
struct Context {
    depth: usize,
    through: Vec<String>,
    piped: bool,
}

impl Context {
    /// One level deeper, through `wrapper`.
    fn inside(&self, wrapper: &str, piped: bool) -> Context {
        let mut through = self.through.clone();
        through.push(wrapper.to_owned());
        Context {
            depth: self.depth + 1,
            through,
            piped: self.piped || piped,
        }
    }
}

/// Reads one line (or a nested one, in `cx`) into `reading`.
fn collect(line: &str, cx: &Context, reading: &mut Reading) {
    if cx.depth > MAX_DEPTH {
        reading.too_deep = true;
        return;
    }
    let (outer, inner) = substitutions(line);
    for command in split(&lex(&outer)) {
        let piped = cx.piped || command.piped;
        let cx = Context {
            depth: cx.depth,
            through: cx.through.clone(),
            piped,
        };
        normalize(command.words, command.redirects, &cx, None, reading);
    }
    let deeper = Context {
        depth: cx.depth + 1,
        through: cx.through.clone(),
        piped: cx.piped,
    };
    for line in inner {
        collect(&line, &deeper, reading);
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
    /// `|` or `|&`: ends a simple command and feeds the next.
    Pipe,
    /// Anything else that ends a simple command.
    Break,
}

/// One simple command as lexed: its words, its redirections (operator, target), and
/// whether a `|` feeds it.
#[derive(Debug, Default)]
struct SimpleCommand {
    words: Vec<String>,
    redirects: Vec<(String, String)>,
    piped: bool,
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
            '$' if !single && chars.get(i) == Some(&'(') && chars.get(i + 1) == Some(&'(') => {
                // `$((…))`: arithmetic, not a command. Its text is read as a line only
                // when it holds a substitution of its own (`$(( $(…) ))`).
                let mut depth = 0usize;
                let mut text = String::new();
                i += 2;
                while let Some(&c) = chars.get(i) {
                    i += 1;
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => {
                            if chars.get(i) == Some(&')') {
                                i += 1;
                            }
                            break;
                        }
                        ')' => depth -= 1,
                        _ => {}
                    }
                    text.push(c);
                }
                if text.contains("$(") || text.contains('`') {
                    inner.push(text);
                }
                outer.push_str("`…`");
            }
            '$' | '<' | '>' if !single && !double && chars.get(i) == Some(&'(') => {
                let opener = c;
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
                if opener == '$' {
                    outer.push_str("`…`");
                } else {
                    outer.push(' ');
                    outer.push_str(PROCESS_SUBSTITUTION);
                }
            }
            '$' if !single && chars.get(i) == Some(&'(') => {
                // `"$(…)"`: the same, inside double quotes.
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
                match chars.peek() {
                    Some('|') => {
                        chars.next();
                        tokens.push(Token::Break);
                    }
                    Some('&') => {
                        chars.next();
                        tokens.push(Token::Pipe);
                    }
                    _ => tokens.push(Token::Pipe),
                }
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
            Token::Break | Token::Pipe => {
                if !current.words.is_empty() || !current.redirects.is_empty() {
                    commands.push(std::mem::take(&mut current));
                }
                current.piped = *token == Token::Pipe;
            }
        }
    }
    if !current.words.is_empty() || !current.redirects.is_empty() {
        commands.push(current);
    }
    commands
}

/// Looks through wrappers and pushes the command onto `reading`; commands that a wrapper
/// runs as a shell line, or that `find -exec` runs, are read in turn.
fn normalize(
    words: Vec<String>,
    redirects: Vec<(String, String)>,
    cx: &Context,
    placeholder: Option<String>,
    reading: &mut Reading,
) {
    if cx.depth > MAX_DEPTH {
        reading.too_deep = true;
        return;
    }
    let mut words = words;
    let mut through = cx.through.clone();
    let mut placeholder = placeholder;
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
        let name = program(first);
        match unwrap(&name, rest) {
            Unwrap::Command(next) => {
                through.push(name);
                words = next;
            }
            Unwrap::Fed {
                words: next,
                placeholder: p,
            } => {
                through.push(name);
                words = next;
                placeholder = p;
            }
            Unwrap::Line(line) => {
                let cx = Context {
                    depth: cx.depth,
                    through: through.clone(),
                    piped: cx.piped,
                };
                collect(&line, &cx.inside(&name, false), reading);
                words.clear();
                break;
            }
            Unwrap::Shell => {
                reading.shell_on_input = true;
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
            let mut find = through.clone();
            find.push("find".to_owned());
            let cx = Context {
                depth: cx.depth + 1,
                through: find,
                piped: cx.piped,
            };
            for exec in find_exec(&words) {
                normalize(exec, Vec::new(), &cx, None, reading);
            }
        }
    }
    if words.is_empty() && redirects.is_empty() {
        return;
    }
    reading.commands.push(Command {
        words,
        redirects,
        through,
        piped: cx.piped,
        placeholder,
    });
}

#[cfg(test)]
mod tests;
