use super::*;

fn filtered(input: &str) -> String {
    QueryFilter::new().filter(input)
}

/// `input` cut in two at every character boundary (a cast's events are whole strings, so
/// a stream is only ever cut between characters) filters to `want`, and nothing is left
/// held at the end.
fn assert_split_everywhere(input: &str, want: &str) {
    for (at, _) in input.char_indices().skip(1) {
        let (a, b) = input.split_at(at);
        let mut f = QueryFilter::new();
        let got = f.filter(a) + &f.filter(b);
        assert_eq!(got, want, "{input:?} cut as {a:?} + {b:?}");
        assert!(
            !f.is_holding(),
            "{input:?} cut as {a:?} + {b:?}: still holding"
        );
    }
}

/// Queries, each as a terminal receives it: 7-bit and 8-bit introducers, BEL and ST
/// terminators.
const QUERIES: &[(&str, &str)] = &[
    ("DSR status", "\x1b[5n"),
    ("DSR cursor position", "\x1b[6n"),
    ("DSR cursor position, 8-bit", "\u{9b}6n"),
    ("DECXCPR", "\x1b[?6n"),
    ("DECXCPR, 8-bit", "\u{9b}?6n"),
    ("DSR printer", "\x1b[?15n"),
    ("colour scheme (contour)", "\x1b[?996n"),
    ("DA1", "\x1b[c"),
    ("DA1 with 0", "\x1b[0c"),
    ("DA1, 8-bit", "\u{9b}c"),
    ("DA2", "\x1b[>c"),
    ("DA2 with 0", "\x1b[>0c"),
    ("DA3", "\x1b[=c"),
    ("DECRQM private", "\x1b[?2004$p"),
    ("DECRQM ANSI", "\x1b[4$p"),
    ("DECRQM, 8-bit", "\u{9b}?1049$p"),
    ("XTWINOPS state", "\x1b[11t"),
    ("XTWINOPS position", "\x1b[13t"),
    ("XTWINOPS position, 2", "\x1b[13;2t"),
    ("XTWINOPS size in pixels", "\x1b[14t"),
    ("XTWINOPS size in pixels, 2", "\x1b[14;2t"),
    ("XTWINOPS screen in pixels", "\x1b[15t"),
    ("XTWINOPS cell size", "\x1b[16t"),
    ("XTWINOPS text area", "\x1b[18t"),
    ("XTWINOPS screen", "\x1b[19t"),
    ("XTWINOPS icon label", "\x1b[20t"),
    ("XTWINOPS title", "\x1b[21t"),
    ("XTWINOPS title, 8-bit", "\u{9b}21t"),
    ("XTWINOPS private", "\x1b[?1t"),
    ("XTVERSION", "\x1b[>q"),
    ("XTVERSION with 0", "\x1b[>0q"),
    ("XTQMODKEYS", "\x1b[?4m"),
    ("kitty keyboard query", "\x1b[?u"),
    ("DECRQTSR", "\x1b[1$u"),
    ("DECRQUPSS", "\x1b[&u"),
    ("DECRQPSR", "\x1b[1$w"),
    ("DECRQCRA", "\x1b[1;1;1;1;24;80*y"),
    ("DECRQDE", "\x1b[\"v"),
    ("DECREQTPARM", "\x1b[1x"),
    ("XTSMGRAPHICS", "\x1b[?1;1;0S"),
    ("XTREPORTSGR", "\x1b[1;1;1;1#|"),
    ("XTREPORTCOLORS", "\x1b[#R"),
    ("DECRQLP", "\x1b[1'|"),
    ("DECELR", "\x1b[1;1'z"),
    ("mouse tracking", "\x1b[?1000h"),
    ("focus reports", "\x1b[?1004h"),
    ("DECID", "\x1bZ"),
    ("DECID, 8-bit", "\u{9a}"),
    ("ENQ (answerback)", "\x05"),
    ("DECRQSS", "\x1bP$qm\x1b\\"),
    ("DECRQSS, cursor style", "\x1bP$q q\x1b\\"),
    ("DECRQSS, 8-bit", "\u{90}$q\"p\u{9c}"),
    ("XTGETTCAP", "\x1bP+q544e\x1b\\"),
    ("XTGETTCAP, 8-bit", "\u{90}+q436f\u{9c}"),
    ("XTSETTCAP", "\x1bP+p544e\x1b\\"),
    ("DECUDK", "\x1bP0;1|17/6c730d\x1b\\"),
    ("tmux passthrough", "\x1bPtmux;hi\x1b\\"),
    ("OSC 4 query, BEL", "\x1b]4;1;?\x07"),
    ("OSC 4 query, ST", "\x1b]4;1;?\x1b\\"),
    ("OSC 4 set and query", "\x1b]4;1;rgb:ff/00/00;2;?\x07"),
    ("OSC 4 query, 8-bit", "\u{9d}4;1;?\u{9c}"),
    ("OSC 5 query", "\x1b]5;0;?\x07"),
    ("OSC 10 query", "\x1b]10;?\x07"),
    ("OSC 11 query, BEL", "\x1b]11;?\x07"),
    ("OSC 11 query, ST", "\x1b]11;?\x1b\\"),
    ("OSC 11 query, 8-bit OSC, 7-bit ST", "\u{9d}11;?\x1b\\"),
    ("OSC 11 query, 7-bit OSC, 8-bit ST", "\x1b]11;?\u{9c}"),
    ("OSC 12 query", "\x1b]12;?\x07"),
    ("OSC 17 query", "\x1b]17;?\x07"),
    ("OSC 19 query", "\x1b]19;?\x07"),
    ("OSC 10 then 11 query", "\x1b]10;rgb:0/0/0;?\x07"),
    ("OSC 104 with ?", "\x1b]104;?\x07"),
    ("OSC 52 read", "\x1b]52;c;?\x07"),
    ("OSC 52 read, ST", "\x1b]52;c;?\x1b\\"),
    ("OSC 52 read, 8-bit", "\u{9d}52;c;?\u{9c}"),
    ("OSC 52 write", "\x1b]52;c;ZWNobyBwd25lZA==\x07"),
    ("OSC 52 clear", "\x1b]52;c;!\x07"),
    ("OSC 50 font query", "\x1b]50;?\x07"),
    ("OSC 53 query", "\x1b]53;?\x07"),
    ("iTerm2 report", "\x1b]1337;ReportCellSize\x07"),
    ("iTerm2 download", "\x1b]1337;File=name=eA==:eA==\x07"),
    (
        "APC (kitty graphics query)",
        "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\",
    ),
    ("APC, 8-bit", "\u{9f}Ga=q\u{9c}"),
    ("PM", "\x1b^private\x1b\\"),
    ("SOS", "\x1bXstring\x1b\\"),
];

#[test]
fn queries_are_removed_whole_and_wherever_the_stream_is_cut() {
    for (name, query) in QUERIES {
        let input = format!("a{query}b");
        assert_eq!(filtered(&input), "ab", "{name}: {query:?}");
        assert_split_everywhere(&input, "ab");
        // Alone in a chunk, and back to back.
        assert_eq!(filtered(query), "", "{name}");
        assert_eq!(filtered(&query.repeat(3)), "", "{name}");
    }
}

/// What must reach the terminal unchanged: it draws, moves, or sets something shown.
const KEPT: &[(&str, &str)] = &[
    ("SGR colours", "\x1b[1;31mred\x1b[0m"),
    ("SGR truecolour", "\x1b[38;2;255;128;0mx\x1b[m"),
    ("SGR with colons", "\x1b[4:3m"),
    ("SGR, 8-bit", "\u{9b}1m"),
    ("cursor move", "\x1b[2;2H"),
    ("erase", "\x1b[2J\x1b[K"),
    ("scroll region", "\x1b[1;24r"),
    ("scroll up (not XTSMGRAPHICS)", "\x1b[3S"),
    ("save and restore cursor", "\x1b[s\x1b[u\x1b7\x1b8"),
    ("cursor style", "\x1b[2 q"),
    ("cursor hidden", "\x1b[?25l\x1b[?25h"),
    ("bracketed paste", "\x1b[?2004h\x1b[?2004l"),
    ("alternate screen", "\x1b[?1049h\x1b[?1049l"),
    ("mouse tracking off", "\x1b[?1000l\x1b[?1006l"),
    ("mouse encoding alone", "\x1b[?1006h"),
    ("vi's key modifiers", "\x1b[>4;2m\x1b[>4;m"),
    ("title push and pop", "\x1b[22;0;0t\x1b[23;0;0t"),
    ("window resize", "\x1b[8;24;80t"),
    ("de-iconify", "\x1b[1t"),
    ("XTSMTITLE", "\x1b[>2t"),
    ("soft reset", "\x1b[!p"),
    ("charset", "\x1b(B\x1b)0"),
    ("keypad", "\x1b=\x1b>"),
    ("index, reverse index", "\x1bD\x1bM"),
    ("stray ST", "\x1b\\"),
    ("title set, BEL", "\x1b]0;title\x07"),
    ("title set, ST", "\x1b]2;タイトル\x1b\\"),
    ("title set, 8-bit", "\u{9d}0;title\u{9c}"),
    ("title that is a question mark", "\x1b]2;?\x07"),
    ("working directory", "\x1b]7;file://db01/var/log\x1b\\"),
    (
        "hyperlink",
        "\x1b]8;;https://example.invalid/?q=1\x1b\\link\x1b]8;;\x1b\\",
    ),
    ("shell mark", "\x1b]133;A\x07"),
    ("colour set", "\x1b]4;1;rgb:ff/00/00\x07"),
    ("background set", "\x1b]11;#000000\x1b\\"),
    ("colour reset", "\x1b]104;1\x07\x1b]104\x07\x1b]110\x07"),
    ("sixel", "\x1bP0;1;0q\"1;1;2;2#0;2;0;0;0#0~~\x1b\\"),
    ("sixel, 8-bit", "\u{90}q#0~\u{9c}"),
    ("synchronized update", "\x1bP=1s\x1b\\"),
    ("controls", "\r\n\t\x07\x08"),
    ("CAN alone", "\x18"),
    ("NEL, 8-bit", "\u{85}"),
    ("DEL in text", "\x7f"),
];

#[test]
fn what_draws_passes_unchanged_wherever_the_stream_is_cut() {
    for (name, kept) in KEPT {
        assert_eq!(filtered(kept), *kept, "{name}");
        assert_split_everywhere(kept, kept);
    }
}

#[test]
fn japanese_text_is_intact_and_its_utf8_is_never_read_as_c1() {
    // ぐ (E3 81 90), ゛ (E3 82 9B), ゜ (E3 82 9C), ポ (E3 83 9D), ミ (E3 83 9F): their UTF-8
    // holds the bytes of DCS, CSI, ST, OSC and APC.
    let text = "ポンプ室のぐあい゛゜ミ 6n c 日本語 ▽ 👍\r\n";
    for byte in [0x90, 0x9b, 0x9c, 0x9d, 0x9f] {
        assert!(text.as_bytes().contains(&byte), "{byte:#x} not in the text");
    }
    assert_eq!(filtered(text), text);
    assert_split_everywhere(text, text);
    // Between queries, and right after an introducer's bytes would be.
    let mixed = "確認\x1b[6nポ11;?\x07ぐ$qm\x1b\\゛6nです\x1b]52;c;?\x07";
    let want = "確認ポ11;?\x07ぐ$qm\x1b\\゛6nです";
    assert_eq!(filtered(mixed), want);
    assert_split_everywhere(mixed, want);
    // A title in Japanese.
    let title = "\x1b]0;サーバー保守\x07";
    assert_eq!(filtered(title), title);
}

#[test]
fn reporting_modes_are_taken_out_of_a_mode_set() {
    let cases = [
        ("\x1b[?1000;1006h", "\x1b[?1006h"),
        ("\x1b[?1049;1000;1002;1004h", "\x1b[?1049h"),
        ("\u{9b}?1003;25h", "\u{9b}?25h"),
        ("\x1b[?9h", ""),
        ("\x1b[?2031h\x1b[?2048h", ""),
        ("\x1b[?1000;1004h", ""),
        // Not a private mode: SM 4 (insert) is not mouse tracking.
        ("\x1b[1000h\x1b[4h", "\x1b[1000h\x1b[4h"),
    ];
    for (input, want) in cases {
        assert_eq!(filtered(input), want, "{input:?}");
        assert_split_everywhere(input, want);
    }
}

#[test]
fn a_cut_off_sequence_is_dropped_and_what_cut_it_goes_on() {
    let cases = [
        // ESC starts over: the first CSI never ended.
        ("\x1b[6\x1b[1mx", "\x1b[1mx"),
        // ESC in a string that isn't ST ends the string; the query after it is caught.
        ("\x1b]0;title\x1b[6nx", "x"),
        ("\x1bP1q#0\x1b]52;c;?\x07x", "x"),
        // CAN and SUB cancel, and stay.
        ("\x1b]52;c;?\x18x", "\x18x"),
        ("\x1b[6\x1an", "\x1an"),
        // A C1 control cuts a sequence and is itself played.
        ("\x1b[6\u{85}n", "\u{85}n"),
        ("\x1b]11;?\u{9b}6nx", "x"),
        // A character that can't be in a CSI.
        ("\x1b[6あn", "あn"),
        ("\x1bあ", "あ"),
        // C0 controls in a CSI act where they stand, before it; ENQ never.
        ("\x1b[6\rn", "\r"),
        ("\x1b[1\r;31mx", "\r\x1b[1;31mx"),
        ("\x1b[\x056n", ""),
        // DEL in a sequence is ignored: still a query.
        ("\x1b[6\x7fn", ""),
        ("\x1b[1\x7fm", "\x1b[1m"),
        // Controls in an OSC are ignored: still the clipboard.
        ("\x1b]5\r2;c;?\x07", ""),
        ("\x1b]0;a\rb\x07", "\x1b]0;ab\x07"),
        // ...and in a DCS head: still DECRQSS.
        ("\x1bP$\rqm\x1b\\", ""),
        // Out of order (a private marker after a parameter): ignored by a terminal.
        ("\x1b[6?n", ""),
        ("\x1b[1;2$3m", ""),
    ];
    for (input, want) in cases {
        assert_eq!(filtered(input), want, "{input:?}");
        assert_split_everywhere(input, want);
    }
}

#[test]
fn an_unfinished_sequence_at_the_end_is_held_then_dropped() {
    let mut f = QueryFilter::new();
    assert_eq!(f.filter("prompt$ \x1b["), "prompt$ ");
    assert!(f.is_holding());
    assert_eq!(f.filter("6"), "");
    assert_eq!(f.filter("n"), "");
    assert!(!f.is_holding());
    assert_eq!(f.filter("\x1b]0;ti"), "");
    assert_eq!(f.filter("tle\x07"), "\x1b]0;title\x07");
    assert_eq!(f.filter("x\x1b"), "x");
    assert!(f.is_holding(), "a lone ESC at the end waits");
    assert_eq!(f.filter("[1m"), "\x1b[1m");
}

#[test]
fn what_is_held_is_bounded() {
    // A CSI past the bound is dropped up to its final character.
    let long = format!("\x1b[{}mafter", "1;".repeat(MAX_SEQUENCE));
    assert_eq!(filtered(&long), "after");
    let long = format!("\x1b({}Bafter", " ".repeat(MAX_SEQUENCE + 1));
    assert_eq!(filtered(&long), "after");
    // A kept string past the bound is dropped up to its end, and never held whole.
    let mut f = QueryFilter::new();
    assert_eq!(f.filter("\x1b]2;"), "");
    for _ in 0..(4 * MAX_STRING / 1024) {
        assert_eq!(f.filter(&"t".repeat(1024)), "");
        assert!(f.held.len() <= MAX_STRING, "{}", f.held.len());
    }
    assert_eq!(f.filter("\x07after"), "after");
    let big_sixel = format!("\x1bPq{}\x1b\\x", "~".repeat(MAX_STRING));
    assert_eq!(filtered(&big_sixel), "x");
    let sixel = format!("\x1bPq{}\x1b\\", "~".repeat(MAX_STRING - 8));
    assert_eq!(filtered(&sixel), sixel);
    // A DCS head or OSC number past any real one: dropped.
    let head = format!("\x1bP{}q\x1b\\x", "1;".repeat(MAX_SEQUENCE));
    assert_eq!(filtered(&head), "x");
    assert_eq!(filtered("\x1b]0000000002;title\x07x"), "x");
}

#[test]
fn vi_starting_up_plays_without_its_queries() {
    // What `vim -u NONE -N` wrote on an xterm (TERM=xterm), in the chunks a recording
    // might hold.
    let chunks = [
        "\x1b[?1049h\x1b[22;0;0t\x1b[>4;2m\x1b[?1h\x1b=\x1b[?2004h\x1b[?1004h\x1b[1;24r",
        "\x1b[?12h\x1b[?12l\x1b[22;2t\x1b[22;1t\x1b[27m\x1b[23m\x1b[29m\x1b[m\x1b[H\x1b[2J",
        "\x1b[2;1H▽\x1b[6n\x1b[2;1H  \x1b[3;1H\x1bPzz\x1b\\\x1b[0%m\x1b[",
        "6n\x1b[3;1H           \x1b[1;1H\x1b[>c\x1b]10;?\x07\x1b]11",
        ";?\x07\x1b[?25l\x1b[2;1H\x1b[94m~",
    ];
    let mut f = QueryFilter::new();
    let played: String = chunks.iter().map(|c| f.filter(c)).collect();
    assert_eq!(
        played,
        "\x1b[?1049h\x1b[22;0;0t\x1b[>4;2m\x1b[?1h\x1b=\x1b[?2004h\x1b[1;24r\
         \x1b[?12h\x1b[?12l\x1b[22;2t\x1b[22;1t\x1b[27m\x1b[23m\x1b[29m\x1b[m\x1b[H\x1b[2J\
         \x1b[2;1H▽\x1b[2;1H  \x1b[3;1H\x1b[0%m\
         \x1b[3;1H           \x1b[1;1H\
         \x1b[?25l\x1b[2;1H\x1b[94m~"
    );
}

/// A small deterministic generator (xorshift64*), so the property test needs no crate and
/// fails the same way every time.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        usize::try_from(x >> 33).unwrap() % n
    }
}

/// Pieces random streams are made of: introducers, terminators, the characters queries
/// are made of, controls, C1 and Japanese text.
const PIECES: &[&str] = &[
    "\x1b",
    "\x1b[",
    "\x1b]",
    "\x1bP",
    "\x1b\\",
    "\x1b_",
    "\u{9b}",
    "\u{9d}",
    "\u{90}",
    "\u{9c}",
    "\u{9a}",
    "\u{85}",
    "\x07",
    "\x18",
    "\x1a",
    "\x05",
    "\x7f",
    "\r",
    "\n",
    "0",
    "1",
    "2",
    "5",
    "6",
    "11",
    "52",
    "1000",
    ";",
    "?",
    ">",
    "=",
    "$",
    "+",
    "#",
    "*",
    "'",
    " ",
    "n",
    "c",
    "p",
    "q",
    "t",
    "m",
    "h",
    "l",
    "u",
    "R",
    "Z",
    "x",
    "s",
    "あ",
    "ポ",
    "゛",
    "👍",
    "rgb:0/0/0",
    "\x1b[6n",
    "\x1b]52;c;?\x07",
    "\x1bP$qm\x1b\\",
];

/// Literal queries that must never come out (an independent check of the output).
const NEVER_OUT: &[&str] = &[
    "\x1b[6n", "\x1b[5n", "\x1b[c", "\x1b[>c", "\x1b[0c", "\u{9b}6n", "\u{9b}c", "\x1b]52",
    "\u{9d}52", "\x1bP$q", "\u{90}$q", "\x1bZ", "\u{9a}", "\x05",
];

#[test]
fn filtering_never_grows_the_output_is_idempotent_and_ignores_chunking() {
    let mut rng = Rng(0x5eed_f00d_1234_5678);
    for _ in 0..3_000 {
        let len = rng.below(40);
        let input: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        let once = filtered(&input);
        assert!(once.len() <= input.len(), "{input:?} grew to {once:?}");
        assert_eq!(filtered(&once), once, "not idempotent on {input:?}");
        for query in NEVER_OUT {
            assert!(
                !once.contains(query),
                "{query:?} out of {input:?}: {once:?}"
            );
        }
        // The same stream in random chunks.
        let mut f = QueryFilter::new();
        let mut chunked = String::new();
        let mut rest = input.as_str();
        while !rest.is_empty() {
            let bounds: Vec<usize> = rest
                .char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .chain([rest.len()])
                .collect();
            let at = bounds[rng.below(bounds.len())];
            let (chunk, tail) = rest.split_at(at);
            chunked.push_str(&f.filter(chunk));
            rest = tail;
        }
        assert_eq!(chunked, once, "chunking changed {input:?}");
    }
}
