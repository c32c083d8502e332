//! A small model of the terminal's lines, enough to read back what the shell echoed.
//!
//! Rows of cells and a cursor, fed with the recording's output: printable text (wide
//! characters take two cells, autowrap with xterm's pending-wrap rule), CR, LF, BS, TAB,
//! erase in line, cursor moves within and between rows, insert/delete characters. Rows are
//! unbounded below (no scrolling) and remember whether they continue the row above by
//! wrapping, so a long command line reads back as one logical line.
//!
//! It is not a terminal emulator. What it cannot place (absolute cursor positions, scroll
//! regions, inserted lines: full-screen programs) it counts as a disturbance, and the
//! caller trusts the echo less. Text attributes, titles and modes are skipped.

use std::collections::VecDeque;

/// Rows kept; older ones are dropped (a command line's echo is long done by then).
const MAX_ROWS: usize = 2000;

/// Longest CSI parameter string kept.
const MAX_CSI: usize = 64;

/// Something the caller must see *before* it changes the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Boundary {
    /// A line feed from the last row of the cursor's logical line: the line is done.
    LineEnd,
    /// The screen was cleared or the cursor placed absolutely (Ctrl-L, `clear`, a
    /// full-screen program): what was on the cursor's line is gone from the model.
    Cleared,
    /// The alternate screen was switched on (`true`) or off: a full-screen program.
    AltScreen(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Blank,
    /// A character (with any combining marks that followed it) and whether it is wide.
    Glyph(String, bool),
    /// The right half of a wide character.
    WideTail,
}

#[derive(Debug, Clone, Default)]
struct Row {
    cells: Vec<Cell>,
    /// This row is the continuation of the one above (the text wrapped into it).
    continues: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Parse {
    Ground,
    Escape,
    /// ESC followed by an intermediate (charset selection): one more character.
    EscapeIntermediate,
    Csi(String),
    /// OSC, DCS, APC, PM, SOS: skipped up to BEL or ESC `\`.
    Str,
    StrEscape,
}

/// The terminal's rows and cursor.
#[derive(Debug)]
pub(super) struct Screen {
    rows: VecDeque<Row>,
    /// Absolute index of `rows[0]` (rows dropped so far).
    base: u64,
    /// Absolute row of the cursor.
    row: u64,
    col: usize,
    /// The last column was written; the next printable character wraps first.
    pending_wrap: bool,
    saved: Option<(u64, usize)>,
    width: usize,
    parse: Parse,
    alt_screen: bool,
    /// How many things the model could not follow so far.
    disturbances: u64,
}

impl Screen {
    pub(super) fn new(cols: u16) -> Self {
        let mut rows = VecDeque::new();
        rows.push_back(Row::default());
        Self {
            rows,
            base: 0,
            row: 0,
            col: 0,
            pending_wrap: false,
            saved: None,
            width: usable_width(cols),
            parse: Parse::Ground,
            alt_screen: false,
            disturbances: 0,
        }
    }

    pub(super) fn resize(&mut self, cols: u16) {
        self.width = usable_width(cols);
        self.col = self.col.min(self.width.saturating_sub(1));
    }

    /// Absolute row of the cursor.
    pub(super) fn cursor_row(&self) -> u64 {
        self.row
    }

    /// How many things the model could not follow so far; compare two readings.
    pub(super) fn disturbances(&self) -> u64 {
        self.disturbances
    }

    /// Whether a full-screen program has the alternate screen.
    pub(super) fn alt_screen(&self) -> bool {
        self.alt_screen
    }

    /// The cursor's logical line up to the cursor: the prompt, when a line begins.
    pub(super) fn before_cursor(&self) -> String {
        let start = self.logical_start(self.row);
        let mut text = String::new();
        if start < self.row {
            text = self.text(start, self.row.saturating_sub(1));
        }
        if let Some(row) = self.row_at(self.row) {
            let end = if self.pending_wrap {
                row.cells.len()
            } else {
                self.col.min(row.cells.len())
            };
            push_cells(&mut text, row.cells.get(..end).unwrap_or_default());
        }
        text
    }

    /// The last `lines` logical lines up to and including the cursor's (not starting
    /// above `from`'s), newline-separated, trailing blanks trimmed.
    pub(super) fn lines_to_cursor(&self, from: Option<u64>, lines: usize) -> String {
        let end = self.logical_end(self.row);
        let floor = from.map_or(self.base, |f| self.logical_start(f.max(self.base)));
        let mut start = self.logical_start(self.row);
        for _ in 1..lines {
            if start <= floor {
                break;
            }
            start = self.logical_start(start.saturating_sub(1));
        }
        let mut text = self.text(start, end);
        text.truncate(text.trim_end().len());
        text
    }

    /// Feeds output; `on` sees each [`Boundary`] with the screen as it was just before.
    pub(super) fn feed(&mut self, output: &str, mut on: impl FnMut(&Self, Boundary)) {
        for c in output.chars() {
            self.step(c, &mut on);
        }
    }

    fn step(&mut self, c: char, on: &mut impl FnMut(&Self, Boundary)) {
        match std::mem::replace(&mut self.parse, Parse::Ground) {
            Parse::Ground => self.ground(c, on),
            Parse::Escape => match c {
                '[' => self.parse = Parse::Csi(String::new()),
                ']' | 'P' | '_' | '^' | 'X' => self.parse = Parse::Str,
                '(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%' | ' ' => {
                    self.parse = Parse::EscapeIntermediate;
                }
                '7' => self.saved = Some((self.row, self.col)),
                '8' => self.restore(),
                'D' => self.line_feed(on),
                'E' => {
                    self.line_feed(on);
                    self.col = 0;
                }
                'M' => self.up(1),
                'c' => self.clear(on, false),
                _ => {}
            },
            Parse::EscapeIntermediate => {}
            Parse::Csi(mut params) => {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    self.csi(&params, c, on);
                } else if ('\u{20}'..='\u{3f}').contains(&c) {
                    if params.len() < MAX_CSI {
                        params.push(c);
                    }
                    self.parse = Parse::Csi(params);
                }
            }
            Parse::Str => match c {
                '\u{7}' => {}
                '\u{1b}' => self.parse = Parse::StrEscape,
                _ => self.parse = Parse::Str,
            },
            Parse::StrEscape => {
                if c != '\\' {
                    self.parse = Parse::Str;
                }
            }
        }
    }

    fn ground(&mut self, c: char, on: &mut impl FnMut(&Self, Boundary)) {
        match c {
            '\r' => {
                self.col = 0;
                self.pending_wrap = false;
            }
            '\n' | '\u{b}' | '\u{c}' => self.line_feed(on),
            '\u{8}' => {
                self.col = self.col.saturating_sub(1);
                self.pending_wrap = false;
            }
            '\t' => {
                let next = (self.col / 8).saturating_add(1).saturating_mul(8);
                self.col = next.min(self.width.saturating_sub(1));
            }
            '\u{1b}' => self.parse = Parse::Escape,
            c if c.is_control() => {}
            c => self.print(c),
        }
    }

    fn csi(&mut self, params: &str, last: char, on: &mut impl FnMut(&Self, Boundary)) {
        if let Some(private) = params.strip_prefix('?') {
            if matches!(last, 'h' | 'l')
                && private
                    .split(';')
                    .any(|p| matches!(p, "47" | "1047" | "1049"))
            {
                let on_ = last == 'h';
                if on_ != self.alt_screen {
                    on(self, Boundary::AltScreen(on_));
                    self.alt_screen = on_;
                    self.fresh_row();
                }
            }
            return;
        }
        if params.starts_with(['>', '<', '=']) {
            return;
        }
        let mut nums = params.split(';').map(|p| p.parse::<usize>().ok());
        let first = nums.next().flatten();
        let n = first.unwrap_or(1).max(1);
        match last {
            'A' => self.up(n),
            'B' => self.down(n),
            'C' => {
                self.col = self.col.saturating_add(n).min(self.width.saturating_sub(1));
                self.pending_wrap = false;
            }
            'D' => {
                self.col = self.col.saturating_sub(n);
                self.pending_wrap = false;
            }
            'E' => {
                self.down(n);
                self.col = 0;
            }
            'F' => {
                self.up(n);
                self.col = 0;
            }
            'G' | '`' => {
                self.col = n.saturating_sub(1).min(self.width.saturating_sub(1));
                self.pending_wrap = false;
            }
            'K' => self.erase_in_line(first.unwrap_or(0)),
            'J' => match first.unwrap_or(0) {
                0 => {
                    self.erase_in_line(0);
                    let keep = self.index(self.row).map_or(self.rows.len(), |i| i + 1);
                    self.rows.truncate(keep);
                }
                _ => self.clear(on, true),
            },
            'H' | 'f' => {
                let col = nums.next().flatten().unwrap_or(1);
                if n == 1 && col <= 1 {
                    self.clear(on, true);
                } else {
                    self.clear(on, false);
                    self.col = col.saturating_sub(1).min(self.width.saturating_sub(1));
                }
            }
            'P' => self.edit_row(|cells, at| {
                let end = at.saturating_add(n).min(cells.len());
                cells.drain(at.min(end)..end);
            }),
            '@' => self.edit_row(|cells, at| {
                if at < cells.len() {
                    cells.splice(at..at, std::iter::repeat_n(Cell::Blank, n));
                }
            }),
            'X' => self.edit_row(|cells, at| {
                let end = at.saturating_add(n).min(cells.len());
                for cell in cells.get_mut(at.min(end)..end).unwrap_or_default() {
                    *cell = Cell::Blank;
                }
            }),
            's' => self.saved = Some((self.row, self.col)),
            'u' => self.restore(),
            // Rows placed absolutely, scroll regions, inserted/deleted lines, scrolling.
            'd' | 'r' | 'L' | 'M' | 'S' | 'T' => {
                self.disturbances = self.disturbances.saturating_add(1);
            }
            // Attributes, modes, reports, tab stops, …
            _ => {}
        }
    }

    fn print(&mut self, c: char) {
        let width = char_width(c);
        if width == 0 {
            // A combining mark joins the character before the cursor.
            let mut at = if self.pending_wrap {
                self.col
            } else {
                self.col.wrapping_sub(1)
            };
            let cells = &mut self.row_mut().cells;
            if let Some(Cell::WideTail) = cells.get(at) {
                at = at.wrapping_sub(1);
            }
            if let Some(Cell::Glyph(text, _)) = cells.get_mut(at) {
                text.push(c);
            }
            return;
        }
        if self.pending_wrap || (width == 2 && self.col.saturating_add(1) >= self.width) {
            self.wrap();
        }
        let col = self.col;
        let row = self.row_mut();
        if row.cells.len() < col.saturating_add(width) {
            row.cells.resize(col.saturating_add(width), Cell::Blank);
        }
        // Overwriting half of a wide character blanks its other half.
        if let Some(Cell::WideTail) = row.cells.get(col)
            && let Some(head) = row.cells.get_mut(col.wrapping_sub(1))
        {
            *head = Cell::Blank;
        }
        let last = col.saturating_add(width).saturating_sub(1);
        if let Some(Cell::Glyph(_, true)) = row.cells.get(last)
            && let Some(tail) = row.cells.get_mut(last.saturating_add(1))
        {
            *tail = Cell::Blank;
        }
        if let Some(cell) = row.cells.get_mut(col) {
            *cell = Cell::Glyph(c.to_string(), width == 2);
        }
        if width == 2
            && let Some(cell) = row.cells.get_mut(col.saturating_add(1))
        {
            *cell = Cell::WideTail;
        }
        let next = col.saturating_add(width);
        if next >= self.width {
            self.col = self.width.saturating_sub(1);
            self.pending_wrap = true;
        } else {
            self.col = next;
        }
    }

    /// Autowrap: the next row continues this one.
    fn wrap(&mut self) {
        self.pending_wrap = false;
        self.row = self.row.saturating_add(1);
        self.col = 0;
        self.ensure_row();
        self.row_mut().continues = true;
    }

    fn line_feed(&mut self, on: &mut impl FnMut(&Self, Boundary)) {
        if self.row == self.logical_end(self.row) {
            on(self, Boundary::LineEnd);
        }
        self.pending_wrap = false;
        self.row = self.row.saturating_add(1);
        self.ensure_row();
    }

    fn up(&mut self, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.row = self.row.saturating_sub(n).max(self.base);
        self.pending_wrap = false;
    }

    fn down(&mut self, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX).min(MAX_ROWS as u64);
        self.row = self.row.saturating_add(n);
        self.pending_wrap = false;
        self.ensure_row();
    }

    fn restore(&mut self) {
        if let Some((row, col)) = self.saved {
            self.row = row.max(self.base);
            self.col = col;
            self.pending_wrap = false;
            self.ensure_row();
        }
    }

    /// The screen was cleared or the cursor placed where the model cannot follow: a new
    /// empty row stands for wherever it is now. `home` (top left of a cleared screen) is a
    /// place we know; anything else disturbs.
    fn clear(&mut self, on: &mut impl FnMut(&Self, Boundary), home: bool) {
        on(self, Boundary::Cleared);
        if !home {
            self.disturbances = self.disturbances.saturating_add(1);
        }
        self.fresh_row();
    }

    fn fresh_row(&mut self) {
        let last = self
            .base
            .saturating_add(self.rows.len() as u64)
            .saturating_sub(1);
        let empty = self.rows.back().is_some_and(|r| r.cells.is_empty());
        if !(self.row == last && empty) {
            self.rows.push_back(Row::default());
            self.row = self
                .base
                .saturating_add(self.rows.len() as u64)
                .saturating_sub(1);
            self.trim();
        }
        self.col = 0;
        self.pending_wrap = false;
    }

    fn erase_in_line(&mut self, mode: usize) {
        let col = self.col;
        let row = self.row_mut();
        match mode {
            0 => {
                // Erasing from the right half of a wide character erases all of it.
                if let Some(Cell::WideTail) = row.cells.get(col)
                    && let Some(head) = row.cells.get_mut(col.wrapping_sub(1))
                {
                    *head = Cell::Blank;
                }
                row.cells.truncate(col);
            }
            1 => {
                let end = col.saturating_add(1).min(row.cells.len());
                for cell in row.cells.get_mut(..end).unwrap_or_default() {
                    *cell = Cell::Blank;
                }
            }
            _ => row.cells.clear(),
        }
    }

    fn edit_row(&mut self, f: impl FnOnce(&mut Vec<Cell>, usize)) {
        let col = self.col;
        self.pending_wrap = false;
        f(&mut self.row_mut().cells, col);
    }

    fn ensure_row(&mut self) {
        while self.base.saturating_add(self.rows.len() as u64) <= self.row {
            self.rows.push_back(Row::default());
        }
        self.trim();
    }

    fn trim(&mut self) {
        while self.rows.len() > MAX_ROWS {
            self.rows.pop_front();
            self.base = self.base.saturating_add(1);
        }
        self.row = self.row.max(self.base);
    }

    fn index(&self, row: u64) -> Option<usize> {
        usize::try_from(row.checked_sub(self.base)?).ok()
    }

    fn row_at(&self, row: u64) -> Option<&Row> {
        self.rows.get(self.index(row)?)
    }

    fn row_mut(&mut self) -> &mut Row {
        self.ensure_row();
        let i = self.index(self.row).unwrap_or(0);
        if i >= self.rows.len() {
            self.rows.resize(i.saturating_add(1), Row::default());
        }
        #[expect(clippy::indexing_slicing, reason = "resized above to hold i")]
        &mut self.rows[i]
    }

    fn logical_start(&self, mut row: u64) -> u64 {
        while row > self.base && self.row_at(row).is_some_and(|r| r.continues) {
            row -= 1;
        }
        row
    }

    fn logical_end(&self, mut row: u64) -> u64 {
        while self
            .row_at(row.saturating_add(1))
            .is_some_and(|r| r.continues)
        {
            row = row.saturating_add(1);
        }
        row
    }

    /// Rows `from..=to` as text; a row that does not continue the one above starts a new
    /// line.
    fn text(&self, from: u64, to: u64) -> String {
        let mut text = String::new();
        let mut row = from;
        while row <= to {
            if let Some(r) = self.row_at(row) {
                if row > from && !r.continues {
                    text.push('\n');
                }
                push_cells(&mut text, &r.cells);
            }
            row = row.saturating_add(1);
        }
        text
    }
}

fn push_cells(text: &mut String, cells: &[Cell]) {
    for cell in cells {
        match cell {
            Cell::Blank => text.push(' '),
            Cell::Glyph(g, _) => text.push_str(g),
            Cell::WideTail => {}
        }
    }
}

fn usable_width(cols: u16) -> usize {
    if cols < 2 { 80 } else { usize::from(cols) }
}

/// Columns a character takes on a terminal: 0 for combining marks and zero-width
/// characters, 2 for East Asian wide and fullwidth ones (kana, kanji, hangul, fullwidth
/// forms, most emoji), 1 otherwise. A table of the ranges that matter, not all of Unicode.
pub(super) fn char_width(c: char) -> usize {
    let u = u32::from(c);
    let zero = matches!(u,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200B..=0x200F
        | 0x20D0..=0x20FF | 0x3099..=0x309A | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F);
    if zero {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD);
    if wide { 2 } else { 1 }
}
