//! Numeric arguments: one parser per kind of number, used by every subcommand, so that a value
//! is accepted or refused the same way everywhere (and refused, never clamped), plus the
//! memory check for work whose size an argument sets.

use anyhow::bail;
use hashsieve::HashKind;

/// The widest hash any algorithm produces.
const MAX_BITS: u32 = 256;

/// The most items (hashes, queries) a size argument may ask for: indexes number hashes with
/// `u32`.
pub(crate) const MAX_COUNT: u64 = u32::MAX as u64;

/// Parses an unsigned integer, with a message that names the range.
fn integer(s: &str, what: &str, min: u64, max: u64) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    match t.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("{what} must be an integer in {min}..={max}")),
    }
}

/// `--threshold`: an inclusive Hamming distance, 0..=256. Whether it fits the algorithm's width
/// (64 for the 64-bit kinds) is checked by [`check_threshold`] once the algorithm is known.
pub(crate) fn threshold(s: &str) -> Result<u32, String> {
    integer(s, "the threshold", 0, u64::from(MAX_BITS)).map(|v| v as u32)
}

/// Refuses a threshold above the bit width of `kind`.
pub(crate) fn check_threshold(threshold: u32, kind: HashKind) -> anyhow::Result<()> {
    if kind.is_exact() && threshold > 0 {
        bail!(
            "{} hashes are exact: they match by equality, so a threshold does not apply",
            kind.name()
        );
    }
    if threshold > kind.width() {
        bail!(
            "threshold {threshold} exceeds the {}-bit width of {} hashes; use 0..={}",
            kind.width(),
            kind.name(),
            kind.width()
        );
    }
    Ok(())
}

/// A count of items that must be at least 1 (`--size`, `--queries`).
pub(crate) fn count(s: &str) -> Result<usize, String> {
    integer(s, "the count", 1, MAX_COUNT).map(|v| v as usize)
}

/// A limit that may be 0 (`--max-errors`).
pub(crate) fn limit(s: &str) -> Result<u64, String> {
    integer(s, "the limit", 0, u64::MAX)
}

/// A limit that must be at least 1 (`--max-pairs`).
pub(crate) fn positive_limit(s: &str) -> Result<u64, String> {
    integer(s, "the limit", 1, u64::MAX)
}

/// A hash width: 64 or 256.
pub(crate) fn bits(s: &str) -> Result<u32, String> {
    match s.trim() {
        "64" => Ok(64),
        "256" => Ok(256),
        _ => Err("the hash width must be 64 or 256".into()),
    }
}

/// A duration in seconds: finite, more than 0 and at most a day.
pub(crate) fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err("the duration must be a number of seconds in (0, 86400]".into()),
    }
}

/// A fraction in [0, 1].
pub(crate) fn fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err("the value must be a number in 0..=1".into()),
    }
}

/// The memory the system can still give, in bytes (`MemAvailable` in /proc/meminfo); `None`
/// where that cannot be read (not Linux), in which case no estimate is refused.
pub(crate) fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Refuses work estimated to need `need` bytes when the system has less available, saying what
/// the estimate is and what to do instead (`hint`).
pub(crate) fn check_memory(need: u64, what: &str, hint: &str) -> anyhow::Result<()> {
    if let Some(avail) = memory_available() {
        if need > avail {
            bail!(
                "{what} needs about {} but only {} of memory is available; {hint}",
                human(need),
                human(avail)
            );
        }
    }
    Ok(())
}

/// Bytes as a short human-readable size.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Splits an `ALGO=VALUE` item (`--threshold`, `--min-quality`) into its algorithm and value; a
/// bare `VALUE` names no algorithm.
pub(crate) fn per_algorithm(s: &str) -> Result<(Option<hashsieve::HashKind>, &str), String> {
    match s.split_once('=') {
        Some((k, v)) => Ok((Some(k.trim().parse().map_err(|e| format!("{e}"))?), v)),
        None => Ok((None, s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_refuse_out_of_range_values() {
        assert_eq!(threshold("256"), Ok(256));
        assert!(threshold("257").is_err() && threshold("-1").is_err() && threshold("x").is_err());
        assert!(check_threshold(65, HashKind::PHash).is_err());
        assert!(check_threshold(64, HashKind::PHash).is_ok());
        assert!(count("0").is_err() && count("18446744073709551615").is_err());
        assert_eq!(count("1_000"), Ok(1000));
        assert!(bits("128").is_err());
        assert!(seconds("nan").is_err() && seconds("0").is_err() && seconds("inf").is_err());
        assert!(fraction("1.5").is_err() && fraction("NaN").is_err());
        assert!(positive_limit("0").is_err());
        assert_eq!(human(3 << 30), "3.0 GiB");
    }
}
