//! Values to and from rows. `sqlx::Any` carries only integers, floats, text and bytes, so
//! timestamps are unix microseconds, flags are booleans (PostgreSQL) or 0/1 (SQLite), and
//! everything typed is parsed back here — a value that doesn't parse is [`Error::Corrupt`].

use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Error, Result};

/// Now, truncated to what the database keeps (microseconds), so a stored time reads back
/// equal — the audit chain hashes it.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A time as stored.
pub(super) fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored time.
pub(super) fn from_micros(what: &'static str, micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(what, format!("time {micros} out of range")))
}

/// A stored optional time.
pub(super) fn from_micros_opt(
    what: &'static str,
    micros: Option<i64>,
) -> Result<Option<DateTime<Utc>>> {
    micros.map(|m| from_micros(what, m)).transpose()
}

/// Column `col` as a time.
pub(super) fn time(row: &AnyRow, col: &'static str) -> Result<DateTime<Utc>> {
    from_micros(col, row.try_get(col)?)
}

/// Column `col` as an optional time.
pub(super) fn time_opt(row: &AnyRow, col: &'static str) -> Result<Option<DateTime<Utc>>> {
    from_micros_opt(col, row.try_get(col)?)
}

/// Column `col` as a flag: BOOLEAN on PostgreSQL, 0/1 on SQLite (which has no booleans).
pub(super) fn flag(row: &AnyRow, col: &'static str) -> Result<bool> {
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => match row.try_get::<i64, _>(col)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(corrupt(col, format!("flag {other} is neither 0 nor 1"))),
        },
    }
}

/// Column `col` parsed into a typed value (a login, a vendor name, a role).
pub(super) fn parsed<T>(row: &AnyRow, col: &'static str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(col)?;
    parse(col, &text)
}

/// Column `col`, if not NULL, parsed into a typed value.
pub(super) fn parsed_opt<T>(row: &AnyRow, col: &'static str) -> Result<Option<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = row.try_get(col)?;
    text.map(|t| parse(col, &t)).transpose()
}

/// Parses stored text.
pub(super) fn parse<T>(what: &'static str, text: &str) -> Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e: T::Err| corrupt(what, e.to_string()))
}

/// A count as stored (the database has no unsigned integers).
pub(super) fn count_from_db(what: &'static str, n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| corrupt(what, format!("count {n} out of range")))
}

/// A stored value that doesn't read back.
pub(super) fn corrupt(what: &'static str, detail: String) -> Error {
    Error::Corrupt { what, detail }
}

/// Turns a unique-key violation into [`Error::AlreadyExists`]; other errors pass through.
pub(super) fn on_duplicate(kind: &'static str, name: &str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::AlreadyExists {
            kind,
            name: name.to_owned(),
        },
        _ => Error::from(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_at_microsecond_precision() {
        let t = now();
        assert_eq!(from_micros("t", to_micros(t)).unwrap(), t);
        assert!(matches!(
            from_micros("t", i64::MAX),
            Err(Error::Corrupt { what: "t", .. })
        ));
        assert_eq!(from_micros_opt("t", None).unwrap(), None);
    }

    #[test]
    fn counts_and_parses() {
        assert_eq!(count_from_db("n", 4).unwrap(), 4);
        assert!(count_from_db("n", -1).is_err());
        assert!(parse::<policy::ids::Login>("login", "Not Valid").is_err());
    }
}
