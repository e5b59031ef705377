//! Time as a value: the core never reads a clock.
//!
//! Every input carries `now` as a [`Timestamp`]: milliseconds since the UNIX epoch, which is what JavaScript's
//! `Date.now()` gives and what certificate validation needs. The session only compares and adds timestamps, so a
//! clock that jumps is harmless beyond firing a timer early or late.

use core::time::Duration;

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// A timestamp from milliseconds since the UNIX epoch (JavaScript's `Date.now()`).
    #[must_use]
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the UNIX epoch.
    #[must_use]
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the UNIX epoch (what X.509 validity is checked against).
    #[must_use]
    pub const fn as_unix_secs(self) -> u64 {
        self.0 / 1000
    }

    /// This timestamp moved forward by `duration`, saturating instead of overflowing.
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// The system clock's current time. Native targets only: on `wasm32-unknown-unknown` there is no clock, and the
    /// caller passes `Date.now()` instead.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    #[must_use]
    pub fn now() -> Self {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31): Howard Hinnant's `civil_from_days`. Shared by the MIME
/// `Date` field and the TLS certificate-validity messages (no date library: the wasm has no locale or time zone).
#[must_use]
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// (year, month 1-12, day 1-31) to days since 1970-01-01 (negative before): Howard Hinnant's `days_from_civil`.
#[must_use]
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 `date-time` (`2014-04-03T23:01:00Z`, `1996-12-19T16:39:57.5-08:00`; `T` and `Z` in either case)
/// as milliseconds since the UNIX epoch, negative before it; `None` for anything else, an impossible date included
/// (a leap second counts as the next second). RRVS (RFC 7293) carries one.
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let sep = |at: usize, want: &[u8]| b.get(at).is_some_and(|c| want.contains(c));
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let days_in_month = *month_days.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut millis = 0u32;
    if sep(at, b".") {
        at += 1;
        let start = at;
        while let Some(&digit) = b.get(at).filter(|d| d.is_ascii_digit()) {
            if at - start < 3 {
                millis = millis * 10 + u32::from(digit - b'0');
            }
            at += 1;
        }
        let digits = at - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let offset_minutes: i64 = match b.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_minutes * 60;
    Some(seconds * 1000 + i64::from(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_date_times() {
        // RFC 7293's example, RFC 3339 section 5.8's examples.
        assert_eq!(parse_rfc3339("2014-04-03T23:01:00Z"), Some(1_396_566_060_000));
        assert_eq!(parse_rfc3339("1985-04-12T23:20:50.52Z"), Some(482_196_050_520));
        assert_eq!(parse_rfc3339("1996-12-19T16:39:57-08:00"), Some(851_042_397_000));
        assert_eq!(parse_rfc3339("1990-12-31t23:59:60z"), Some(662_688_000_000));
        assert_eq!(
            parse_rfc3339("1937-01-01T12:00:27.87+00:20"),
            Some(-1_041_337_172_130)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.123456789Z"),
            Some(951_782_400_123)
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for bad in [
            "",
            "2014-04-03",
            "2014-04-03T23:01:00",
            "2014-04-03 23:01:00Z",
            "2014-13-03T23:01:00Z",
            "2014-02-29T23:01:00Z",
            "1900-02-29T00:00:00Z",
            "2014-04-00T23:01:00Z",
            "2014-04-03T24:00:00Z",
            "2014-04-03T23:60:00Z",
            "2014-04-03T23:01:61Z",
            "2014-04-03T23:01:00.Z",
            "2014-04-03T23:01:00+0100",
            "2014-04-03T23:01:00+24:00",
            "2014-04-03T23:01:00Zjunk",
            "+014-04-03T23:01:00Z",
            "2014-04-03T23:01:00.1234567890Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_millis(u64::MAX - 1);
        assert_eq!(
            t.saturating_add(Duration::from_secs(1)).as_unix_millis(),
            u64::MAX
        );
        let early = Timestamp::from_unix_millis(5);
        assert_eq!(early.saturating_duration_since(t), Duration::ZERO);
        assert_eq!(Timestamp::from_unix_millis(2500).as_unix_secs(), 2);
    }
}
