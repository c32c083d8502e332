//! `--lang`: the report's language as a command-line value. `fumidai-core`'s
//! [`Lang`] knows nothing of clap, so the command line has its own enum, with the same
//! names and help, and maps it.

use clap::builder::{EnumValueParser, TypedValueParser as _, ValueParser};

use fumidai_core::report::render::Lang;

/// The parser for a `Lang` argument: `#[arg(value_parser = super::lang::parser())]`.
pub(super) fn parser() -> ValueParser {
    ValueParser::new(EnumValueParser::<LangArg>::new().map(Lang::from))
}

/// The report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LangArg {
    /// 日本語 (default): the guideline's terms.
    Ja,
    /// English.
    En,
}

impl From<LangArg> for Lang {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::Ja => Self::Ja,
            LangArg::En => Self::En,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Args {
        #[arg(long, value_parser = parser(), default_value = "ja")]
        lang: Lang,
    }

    #[test]
    fn ja_by_default_en_when_asked_and_nothing_else() {
        assert_eq!(Args::try_parse_from(["t"]).unwrap().lang, Lang::Ja);
        assert_eq!(
            Args::try_parse_from(["t", "--lang", "en"]).unwrap().lang,
            Lang::En
        );
        assert!(Args::try_parse_from(["t", "--lang", "fr"]).is_err());
    }
}
