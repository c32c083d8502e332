//! Which complete sequences are queries: the lists in the [parent's](super) documentation,
//! as code. Pure functions of a sequence's text; the parent finds the sequences.

/// What becomes of an OSC, DCS, SOS, PM or APC string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Its head (OSC number, DCS up to the final character) is still coming.
    Undecided,
    Keep,
    /// A colour setting: kept unless an argument is `?`.
    KeepUnlessQuery,
    Drop,
}

/// What becomes of a complete CSI.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Keep,
    Drop,
    /// Written with this body (between introducer and final character) instead.
    Rewrite(String),
}

/// Private-mode DEC modes that make the terminal report the viewer's own actions: mouse
/// tracking (9, 1000–1003), focus (1004), theme changes (2031), resizes (2048).
const REPORTING_MODES: [u32; 8] = [9, 1000, 1001, 1002, 1003, 1004, 2031, 2048];

/// XTWINOPS operations that report (window state, position, sizes, title, icon label).
const WINDOW_REPORTS: [u32; 9] = [11, 13, 14, 15, 16, 18, 19, 20, 21];

/// A complete CSI: `body` is what came between the introducer and `last`, the final
/// character.
pub(super) fn csi_verdict(body: &str, last: char) -> Verdict {
    let Some(csi) = Csi::parse(body, last) else {
        // Out of order: a terminal ignores it.
        return Verdict::Drop;
    };
    let query = match (csi.private, csi.intermediates, csi.last) {
        // Device status and cursor position (DSR, DECXCPR); device attributes (DA1-3).
        (_, "", 'n' | 'c') => true,
        // DECRQM.
        (_, "$", 'p') => true,
        (Some('?'), "", 't') => true,
        (None, "", 't') => csi
            .first_param()
            .is_some_and(|p| WINDOW_REPORTS.contains(&p)),
        // XTQMODKEYS, XTVERSION, the kitty keyboard query, XTSMGRAPHICS.
        (Some('?'), "", 'm' | 'u' | 'S') | (Some('>'), "", 'q') => true,
        // DECREQTPARM.
        (None, "", 'x') => true,
        // DECRQTSR, DECRQUPSS, DECRQPSR, DECRQCRA, DECRQDE, XTREPORTSGR, XTREPORTCOLORS.
        (_, "$", 'u' | 'w') | (_, "&", 'u') | (_, "*", 'y') | (_, "\"", 'v') => true,
        (_, "#", '|' | 'R') => true,
        // The DEC locator: DECEFR, DECRQLP, DECELR, DECSLE.
        (_, "'", 'w' | '|' | 'z' | '{') => true,
        (Some('?'), "", 'h') => return csi.without_reporting_modes(),
        _ => false,
    };
    if query { Verdict::Drop } else { Verdict::Keep }
}

/// A CSI's parts.
struct Csi<'a> {
    /// `<`, `=`, `>` or `?` first.
    private: Option<char>,
    /// Digits, `:` and `;`.
    params: &'a str,
    intermediates: &'a str,
    last: char,
}

impl<'a> Csi<'a> {
    /// `None` when the parts come out of order (the parser's "CSI ignore").
    fn parse(body: &'a str, last: char) -> Option<Self> {
        let private = body.chars().next().filter(|c| matches!(c, '<'..='?'));
        let rest = body.get(private.map_or(0, char::len_utf8)..)?;
        let split = rest
            .find(|c: char| !matches!(c, '0'..=';'))
            .unwrap_or(rest.len());
        let (params, intermediates) = rest.split_at_checked(split)?;
        intermediates
            .chars()
            .all(|c| matches!(c, '\x20'..='\x2f'))
            .then_some(Self {
                private,
                params,
                intermediates,
                last,
            })
    }

    /// The first parameter's number, if it has one.
    fn first_param(&self) -> Option<u32> {
        let first = self.params.split([';', ':']).next()?;
        number(first)
    }

    /// A DECSET without the modes that report the viewer's actions.
    fn without_reporting_modes(&self) -> Verdict {
        let all: Vec<&str> = self.params.split(';').collect();
        let kept: Vec<&str> = all
            .iter()
            .copied()
            .filter(|p| !number(p).is_some_and(|n| REPORTING_MODES.contains(&n)))
            .collect();
        if kept.len() == all.len() {
            Verdict::Keep
        } else if kept.is_empty() {
            Verdict::Drop
        } else {
            Verdict::Rewrite(format!("?{}", kept.join(";")))
        }
    }
}

/// A parameter that is all digits, as a number.
fn number(param: &str) -> Option<u32> {
    if param.is_empty() || !param.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    param.parse().ok()
}

/// What becomes of an OSC with this number (the text before its first `;`).
pub(super) fn osc_fate(number_text: &str) -> Fate {
    match number(number_text) {
        // Title and icon name, working directory, hyperlink, shell marks.
        Some(0 | 1 | 2 | 7 | 8 | 133) => Fate::Keep,
        // Colours set or reset; `?` asks for them instead.
        Some(4 | 5 | 10..=19 | 104 | 105 | 110..=119) => Fate::KeepUnlessQuery,
        // The clipboard (52), fonts (50), and whatever else: nothing a screen shows.
        _ => Fate::Drop,
    }
}

/// Whether a colour OSC's body (`11;?`, `4;1;?`) asks for a colour.
pub(super) fn asks_colour(body: &str) -> bool {
    body.split(';')
        .skip(1)
        .any(|arg| arg.trim_start().starts_with('?'))
}

/// What becomes of a DCS whose head (parameters, intermediates, final character) is
/// `head`.
pub(super) fn dcs_fate(head: &str) -> Fate {
    let mut chars = head.chars();
    let Some(last) = chars.next_back() else {
        return Fate::Drop;
    };
    match Csi::parse(chars.as_str(), last) {
        // Sixel graphics, soft fonts (DECDLD), synchronized updates.
        Some(Csi {
            private: None,
            intermediates: "",
            last: 'q' | '{',
            ..
        })
        | Some(Csi {
            private: Some('='),
            intermediates: "",
            last: 's',
            ..
        }) => Fate::Keep,
        // DECRQSS, XTGETTCAP, DECUDK, and the rest.
        _ => Fate::Drop,
    }
}
