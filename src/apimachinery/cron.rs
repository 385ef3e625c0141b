//! Cron schedules as upstream's CronJob validation parses them: the
//! standard five-field form of `github.com/robfig/cron/v3`'s
//! `ParseStandard` (minute, hour, day of month, month, day of week), its
//! descriptors (`@yearly` ... `@hourly`, `@every <duration>`) and its
//! `TZ=`/`CRON_TZ=` prefix, with that parser's error messages (they reach
//! clients verbatim in a 422's `spec.schedule` cause). Pure: no clock.
//!
//! A parsed [`Schedule`] keeps the sets of allowed values, so a CronJob
//! controller can compute the next run from it later.

use crate::apimachinery::validation::go_quote;

/// One field's bounds and value names (`robfig/cron` `bounds`).
struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Bit sets of the allowed minutes, hours, days of month, months and
    /// days of week (bit n = value n); `dom_star`/`dow_star` record a `*`
    /// (cron's "either day field matches" rule needs them).
    Fields {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
        dom_star: bool,
        dow_star: bool,
        /// The `TZ=`/`CRON_TZ=` location, if the schedule names one.
        location: Option<String>,
    },
    /// `@every <duration>`, in nanoseconds.
    Every(i128),
}

/// Parses `spec` as `cron.ParseStandard` does; the error is its message.
pub fn parse_standard(spec: &str) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut spec = spec;
    let mut location = None;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        // robfig/cron slices the name between '=' and the first space (a
        // schedule with no space makes Go's slicing panic, which the API
        // server's recovery turns into an error; refused here instead).
        let eq = spec.find('=').unwrap_or(0);
        let Some(space) = spec.find(' ') else {
            let name = spec.get(eq + 1..).unwrap_or("");
            return Err(format!(
                "provided bad location {name}: unknown time zone {name}"
            ));
        };
        let name = spec.get(eq + 1..space).unwrap_or("");
        if !super::tznames::is_known(name) {
            return Err(format!(
                "provided bad location {name}: unknown time zone {name}"
            ));
        }
        location = Some(name.to_string());
        spec = spec.get(space..).unwrap_or("").trim();
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec, location);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let (minute, _) = get_field(fields[0], &MINUTES)?;
    let (hour, _) = get_field(fields[1], &HOURS)?;
    let (dom, dom_star) = get_field(fields[2], &DOM)?;
    let (month, _) = get_field(fields[3], &MONTHS)?;
    let (dow, dow_star) = get_field(fields[4], &DOW)?;
    Ok(Schedule::Fields {
        minute,
        hour,
        dom,
        month,
        dow,
        dom_star,
        dow_star,
        location,
    })
}

fn bits(min: u32, max: u32) -> u64 {
    (min..=max).fold(0, |b, i| b | (1u64 << i))
}

fn parse_descriptor(d: &str, location: Option<String>) -> Result<Schedule, String> {
    let fields = |minute: u64, hour: u64, dom: u64, month: u64, dow: u64| Schedule::Fields {
        minute,
        hour,
        dom,
        month,
        dow,
        dom_star: false,
        dow_star: false,
        location: location.clone(),
    };
    let all_dom = bits(1, 31);
    let all_months = bits(1, 12);
    let all_dow = bits(0, 6);
    match d {
        "@yearly" | "@annually" => return Ok(fields(1, 1, 1 << 1, 1 << 1, all_dow)),
        "@monthly" => return Ok(fields(1, 1, 1 << 1, all_months, all_dow)),
        "@weekly" => return Ok(fields(1, 1, all_dom, all_months, 1)),
        "@daily" | "@midnight" => return Ok(fields(1, 1, all_dom, all_months, all_dow)),
        "@hourly" => return Ok(fields(1, bits(0, 23), all_dom, all_months, all_dow)),
        _ => {}
    }
    if let Some(rest) = d.strip_prefix("@every ") {
        return match parse_go_duration(rest) {
            Ok(ns) => Ok(Schedule::Every(ns)),
            Err(e) => Err(format!("failed to parse duration {d}: {e}")),
        };
    }
    Err(format!("unrecognized descriptor: {d}"))
}

/// One comma-separated field: its bits, and whether it was a bare `*`/`?`.
fn get_field(field: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let mut out = 0u64;
    let mut star = false;
    for expr in field.split(',').filter(|e| !e.is_empty()) {
        let (bits, is_star) = get_range(expr, b)?;
        out |= bits;
        star |= is_star;
    }
    Ok((out, star))
}

/// `getRange`: `*`, `?`, `N`, `N-M`, each optionally `/step`; the bounds
/// and step checks in robfig/cron's order.
fn get_range(expr: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end, mut star);
    if low_and_high[0] == "*" || low_and_high[0] == "?" {
        start = b.min;
        end = b.max;
        star = true;
    } else {
        start = parse_int_or_name(low_and_high[0], b.names)?;
        end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], b.names)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        star = false;
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if single {
                end = b.max;
            }
            if step > 1 {
                star = false;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    // Bounds are at most 59 and the step any u32: count in u64.
    let mut bits = 0u64;
    let mut i = u64::from(start);
    while i <= u64::from(end) {
        bits |= 1u64 << i;
        i += u64::from(step);
    }
    Ok((bits, star))
}

fn parse_int_or_name(expr: &str, names: &[(&str, u32)]) -> Result<u32, String> {
    let lower = expr.to_ascii_lowercase();
    if let Some((_, v)) = names.iter().find(|(n, _)| *n == lower) {
        return Ok(*v);
    }
    must_parse_int(expr)
}

/// `mustParseInt`: Go's `strconv.Atoi`, non-negative. Values beyond the
/// field's bounds are reported by the caller; anything past `u32` here is
/// out of every bound anyway.
fn must_parse_int(expr: &str) -> Result<u32, String> {
    let n = go_atoi(expr)
        .map_err(|e| format!("failed to parse int from {expr}: strconv.Atoi: parsing {e}"))?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// `strconv.Atoi` (64-bit `int`): an optional sign and decimal digits. The
/// error is what follows "parsing " in Go's message.
fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{}: invalid syntax", go_quote(s)));
    }
    s.parse::<i64>()
        .map_err(|_| format!("{}: value out of range", go_quote(s)))
}

/// Go's `time.ParseDuration`, in nanoseconds; the error is Go's message.
pub fn parse_go_duration(s: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(s));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        // [0-9]*(\.[0-9]*)?
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, next) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(s)));
        }
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(s)
                ));
            }
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse::<i128>().map_err(|_| invalid())?
        };
        let mut v = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let mut f = 0i128;
            let mut div = 1i128;
            for c in frac_part.bytes().take(30) {
                f = f * 10 + i128::from(c - b'0');
                div *= 10;
            }
            v += f * scale / div;
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
        rest = next;
    }
    Ok(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        parse_standard(s).expect_err(s)
    }

    #[test]
    fn accepts_what_robfig_cron_accepts() {
        for ok in [
            "*/5 * * * *",
            "0 0 * JAN-MAR MON-FRI",
            "0 0 ? * *",
            "1,2,3-5/2 */3 1-31/5 * *",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
            "@every 5m",
            "@every 1h30m",
            "TZ=UTC 0 * * * *",
            "CRON_TZ=Europe/Paris 0 * * * *",
            "  0   1 * * sun ",
            "5/15 * * * *",
        ] {
            assert!(parse_standard(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn messages_are_upstreams() {
        // As kube-apiserver answers in the 422's spec.schedule cause.
        assert_eq!(err("* * *"), "expected exactly 5 fields, found 3: [* * *]");
        assert_eq!(
            err("0 0 0 * * *"),
            "expected exactly 5 fields, found 6: [0 0 0 * * *]"
        );
        assert_eq!(
            err("61 * * * *"),
            "end of range (61) above maximum (59): 61"
        );
        assert_eq!(err("0 0 * * 7"), "end of range (7) above maximum (6): 7");
        assert_eq!(
            err("0 0 0 * *"),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            err("5-1 * * * *"),
            "beginning of range (5) beyond end of range (1): 5-1"
        );
        assert_eq!(
            err("*/0 * * * *"),
            "step of range should be a positive number: */0"
        );
        assert_eq!(
            err("0 0 * FOO *"),
            "failed to parse int from FOO: strconv.Atoi: parsing \"FOO\": invalid syntax"
        );
        assert_eq!(
            err("H * * * *"),
            "failed to parse int from H: strconv.Atoi: parsing \"H\": invalid syntax"
        );
        assert_eq!(err("@fortnightly"), "unrecognized descriptor: @fortnightly");
        assert_eq!(
            err("@every 5x"),
            "failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(err("1-2-3 * * * *"), "too many hyphens: 1-2-3");
        assert_eq!(err("1/2/3 * * * *"), "too many slashes: 1/2/3");
        assert_eq!(err(""), "empty spec string");
        assert_eq!(
            err("TZ=Mars/Olympus 0 * * * *"),
            "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"
        );
    }

    #[test]
    fn fields_and_steps() {
        let Ok(Schedule::Fields {
            minute,
            hour,
            dow,
            dom_star,
            dow_star,
            ..
        }) = parse_standard("*/20 1-3 * * MON,fri")
        else {
            panic!("parse");
        };
        assert_eq!(minute, 1 | (1 << 20) | (1 << 40));
        assert_eq!(hour, 0b1110);
        assert_eq!(dow, (1 << 1) | (1 << 5));
        assert!(dom_star && !dow_star);
        assert_eq!(
            parse_standard("@every 1m30s"),
            Ok(Schedule::Every(90_000_000_000))
        );
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000_000_000));
        // Huge steps and numbers are errors or single values, never overflows.
        assert!(parse_standard("*/4294967295 * * * *").is_ok());
        assert_eq!(
            err("99999999999999999999 * * * *"),
            "failed to parse int from 99999999999999999999: strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
        assert!(parse_standard("0 0 */99999999999 * *").is_ok());
        assert_eq!(
            parse_go_duration("h"),
            Err("time: invalid duration \"h\"".to_string())
        );
        assert_eq!(
            parse_go_duration("5"),
            Err("time: missing unit in duration \"5\"".to_string())
        );
    }
}
