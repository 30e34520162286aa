//! Time as text: the one RFC 3339 rendering (and "now"), the one instant grammar and the
//! one duration grammar, shared by the policy, the audit log and the server.
//!
//! Durations follow [`humantime`]: `0`, `90m`, `12h`, `3d`, `1w`, `3 days`, `1h 30m`
//! (`m` is minutes, `M` months). Instants are RFC 3339 or a date meaning midnight UTC.
//! Must not: read clocks anywhere but [`now_rfc3339`].

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `t` in UTC as RFC 3339, whole seconds: `2026-11-23T12:00:00Z`.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The current time as [`rfc3339`] renders it.
pub(crate) fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// An RFC 3339 time, or a date (`2026-12-31`) meaning midnight UTC.
pub(crate) fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    let t = text.trim();
    if let Ok(t) = OffsetDateTime::parse(t, &Rfc3339) {
        return Some(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(t, &format).ok().map(|d| d.midnight().assume_utc())
}

/// A duration in the [`humantime`] grammar (`0`, `90m`, `12h`, `3d`, `1w`, `1h 30m`, `3 days`).
pub(crate) fn parse_duration(text: &str) -> Option<time::Duration> {
    let std = humantime::parse_duration(text.trim()).ok()?;
    time::Duration::try_from(std).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn durations_parse_in_one_grammar() {
        let m = time::Duration::minutes;
        let cases = [
            ("zero disables", "0", Some(m(0))),
            ("minutes", "90m", Some(m(90))),
            ("hours", "12h", Some(m(12 * 60))),
            ("days", "3d", Some(m(3 * 24 * 60))),
            ("weeks", "1w", Some(m(7 * 24 * 60))),
            ("seconds", "30s", Some(time::Duration::seconds(30))),
            ("space before unit", "3 d", Some(m(3 * 24 * 60))),
            ("surrounding space", " 3d ", Some(m(3 * 24 * 60))),
            ("long unit", "3 days", Some(m(3 * 24 * 60))),
            ("compound", "1h 30m", Some(m(90))),
            ("unknown unit", "3 fortnights", None),
            ("no unit", "3", None),
            ("negative", "-3d", None),
            ("words", "yesterday", None),
            ("empty", "", None),
        ];
        for (case, input, want) in cases {
            assert_eq!(parse_duration(input), want, "{case}");
        }
    }

    #[test]
    fn instants_are_rfc3339_or_dates() {
        let cases = [
            ("rfc3339 utc", "2026-11-20T08:00:00Z", Some(datetime!(2026-11-20 08:00 UTC))),
            ("rfc3339 offset", "2026-11-20T10:00:00+02:00", Some(datetime!(2026-11-20 08:00 UTC))),
            ("date is midnight utc", "2026-12-31", Some(datetime!(2026-12-31 00:00 UTC))),
            ("surrounding space", " 2026-12-31 ", Some(datetime!(2026-12-31 00:00 UTC))),
            ("not a date", "tomorrow", None),
            ("impossible date", "2026-02-30", None),
        ];
        for (case, input, want) in cases {
            assert_eq!(parse_instant(input), want, "{case}");
        }
    }

    #[test]
    fn rfc3339_is_utc_whole_seconds() {
        let cases = [
            ("utc", datetime!(2026-11-23 12:00:00 UTC), "2026-11-23T12:00:00Z"),
            ("sub-seconds dropped", datetime!(2026-11-23 12:00:00.123456 UTC), "2026-11-23T12:00:00Z"),
            ("offset converted", datetime!(2026-11-23 14:00:00 +02:00), "2026-11-23T12:00:00Z"),
        ];
        for (case, t, want) in cases {
            assert_eq!(rfc3339(t), want, "{case}");
        }
        let now = now_rfc3339();
        assert!(parse_instant(&now).is_some() && now.ends_with('Z'), "{now}");
    }
}
