//! The console's language: Japanese first, English one click away (STYLE.md §25). Chosen
//! by the `lang` cookie (set by `/lang`), Japanese when absent or unknown. Every label in a
//! template is written in both languages at the place it appears: `lang.t("…", "…")`.

use axum::http::HeaderMap;

/// The name of the cookie holding the choice.
pub(crate) const COOKIE_NAME: &str = "fumidai_lang";

/// A page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 日本語: the guideline's own terms.
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// Parses `ja` or `en`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language's code, for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// The other language (what the toggle offers).
    pub fn other(self) -> Self {
        match self {
            Self::Ja => Self::En,
            Self::En => Self::Ja,
        }
    }

    /// The toggle's label: the other language, named in itself.
    pub fn other_label(self) -> &'static str {
        match self {
            Self::Ja => "English",
            Self::En => "日本語",
        }
    }

    /// Picks the text in this language.
    pub fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Ja => ja,
            Self::En => en,
        }
    }

    /// The language the request's cookie chose.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        crate::session::cookie(headers, COOKIE_NAME)
            .and_then(Self::parse)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::COOKIE;

    use super::*;

    #[test]
    fn japanese_unless_english_is_chosen() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers), Lang::Ja);
        headers.insert(COOKIE, "a=b; fumidai_lang=en".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::En);
        headers.insert(COOKIE, "fumidai_lang=fr".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::Ja);
        assert_eq!(Lang::Ja.t("承認", "Approve"), "承認");
        assert_eq!(Lang::En.t("承認", "Approve"), "Approve");
    }
}
