//! A minimal proleptic-Gregorian civil date.
//!
//! The crate only needs "which day" and "how many days apart", so a day count is
//! enough; pulling in a full date-time library for that would add time zones and
//! leap seconds that have no meaning for treatment dates.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A calendar day, stored as the number of days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    days: i64,
}

/// Why a text is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("'{text}' is not a date in the form YYYY-MM-DD")]
    Format { text: String },
    #[error("'{text}': month {month} does not exist")]
    Month { text: String, month: u32 },
    #[error("'{text}': day {day} does not exist in {year:04}-{month:02}")]
    Day {
        text: String,
        year: i32,
        month: u32,
        day: u32,
    },
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl CivilDate {
    /// The date of a valid year/month/day, or `None` (e.g. 2026-02-29).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<CivilDate> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year.into(), month) {
            return None;
        }
        Some(CivilDate {
            days: days_from_civil(year.into(), month, day),
        })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        self.days
    }

    pub fn from_days_since_epoch(days: i64) -> CivilDate {
        CivilDate { days }
    }

    /// `self + n` days.
    pub fn add_days(self, n: i64) -> CivilDate {
        CivilDate {
            days: self.days + n,
        }
    }

    /// Signed number of days from `earlier` to `self` (`self − earlier`).
    pub fn days_since(self, earlier: CivilDate) -> i64 {
        self.days - earlier.days
    }

    /// `(year, month, day)`.
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.days)
    }
}

// Howard Hinnant's days_from_civil / civil_from_days
// (http://howardhinnant.github.io/date_algorithms.html): exact for every proleptic
// Gregorian date, using 400-year eras so no table of month lengths is needed.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(m);
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // d in 1..=31 and m in 1..=12 by construction.
    (y, m as u32, d as u32)
}

impl FromStr for CivilDate {
    type Err = DateError;

    /// Strict `YYYY-MM-DD` (four-digit year, two-digit month and day): anything looser
    /// (`2026-3-2`, `02/03/2026`) is ambiguous across locales and refused.
    fn from_str(text: &str) -> Result<CivilDate, DateError> {
        let format = || DateError::Format {
            text: text.to_string(),
        };
        let b = text.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return Err(format());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, DateError> {
            let s = text.get(r).ok_or_else(format)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(format());
            }
            s.parse().map_err(|_| format())
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&month) {
            return Err(DateError::Month {
                text: text.to_string(),
                month,
            });
        }
        // year < 10000 by the 4-digit format, so the cast cannot wrap.
        let year = year as i32;
        CivilDate::from_ymd(year, month, day).ok_or(DateError::Day {
            text: text.to_string(),
            year,
            month,
            day,
        })
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for CivilDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CivilDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CivilDate, D::Error> {
        // Accept a string (JSON, TOML string) or a TOML local date (`date = 2026-03-02`
        // unquoted), which toml hands over as a datetime that displays as YYYY-MM-DD.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CivilDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date \"YYYY-MM-DD\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CivilDate, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<CivilDate, A::Error> {
                // toml's datetime arrives as a one-entry map holding its text.
                let Some((_k, v)) = map.next_entry::<String, String>()? else {
                    return Err(serde::de::Error::custom("empty date"));
                };
                v.parse().map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> CivilDate {
        s.parse().unwrap()
    }

    #[test]
    fn epoch_and_known_day_counts() {
        assert_eq!(d("1970-01-01").days_since_epoch(), 0);
        assert_eq!(d("2000-03-01").days_since_epoch(), 11_017);
        assert_eq!(d("1969-12-31").days_since_epoch(), -1);
        // 2024 is a leap year: 366 days to 2025-01-01.
        assert_eq!(d("2025-01-01").days_since(d("2024-01-01")), 366);
        assert_eq!(d("2026-01-01").days_since(d("2025-01-01")), 365);
        assert_eq!(d("2026-03-02").days_since(d("2026-02-23")), 7);
    }

    #[test]
    fn round_trip_over_many_years() {
        let start = d("1899-12-25").days_since_epoch();
        for n in start..start + 200_000 {
            let date = CivilDate::from_days_since_epoch(n);
            assert_eq!(date.to_string().parse::<CivilDate>().unwrap(), date);
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(matches!(
            "2026-02-29".parse::<CivilDate>(),
            Err(DateError::Day { .. })
        ));
        assert!("2024-02-29".parse::<CivilDate>().is_ok());
        assert!(matches!(
            "1900-02-29".parse::<CivilDate>(),
            Err(DateError::Day { .. })
        ));
        assert!(matches!(
            "2026-13-01".parse::<CivilDate>(),
            Err(DateError::Month { .. })
        ));
        for bad in [
            "2026-3-02",
            "02/03/2026",
            "2026-03-02T00:00",
            "",
            "２０２６-03-02",
            "2026-0a-01",
        ] {
            assert!(bad.parse::<CivilDate>().is_err(), "{bad}");
        }
    }
}
