//! Durations (`"250ms"`, `"90s"`, `"5m"`, `"2h"`, `"3d"`) and sizes
//! (`"300MB"`, `"24GiB"`) as scenario strings.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

pub use gameday_core::time::parse_duration;
use gameday_core::time::split_number_unit as number_and_unit;

/// Parses a size in bytes: a number and `B`, `KB`, `MB`, `GB`, `TB`
/// (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || {
        format!("invalid size \"{s}\": expected a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), like \"300MB\"")
    };
    let (value, unit) = number_and_unit(s).ok_or_else(bad)?;
    let scale: f64 = match unit {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024f64.powi(4),
        _ => return Err(bad()),
    };
    Ok((value * scale).round() as u64)
}

/// Parses a count with an optional suffix: `K` (10³), `M` (10⁶), `B`
/// (10⁹) or `T` (10¹²), like `"7B"` parameters or `"1.4T"` tokens.
pub fn parse_count(s: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "invalid count \"{s}\": expected a number with an optional K, M, B or T, like \"7B\""
        )
    };
    let (value, unit) = number_and_unit(s).ok_or_else(bad)?;
    let scale = match unit {
        "" => 1.0,
        "K" | "k" => 1e3,
        "M" => 1e6,
        "B" | "G" => 1e9,
        "T" => 1e12,
        _ => return Err(bad()),
    };
    Ok(value * scale)
}

/// A count written as `"7B"` or as a plain number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Count(pub f64);

struct CountVisitor;

impl Visitor<'_> for CountVisitor {
    type Value = Count;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a count like 1000000 or \"7B\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
        parse_count(v).map(Count).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
        Ok(Count(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
        Ok(Count(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
        Ok(Count(v))
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

/// A duration written as a string in a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationStr(pub Duration);

/// A size written as a string in a scenario, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = DurationStr;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string like \"250ms\", \"90s\", \"5m\", \"2h\" or \"3d\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationStr, E> {
        parse_duration(v).map(DurationStr).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for DurationStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DurationVisitor)
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = Size;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size string like \"300MB\" or \"24GiB\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
        parse_size(v).map(Size).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("250ms", 0.25),
            ("90s", 90.0),
            ("5m", 300.0),
            ("2h", 7200.0),
            ("3d", 259_200.0),
            ("1.5s", 1.5),
            ("0s", 0.0),
            ("500us", 0.0005),
        ];
        for (s, secs) in ok {
            assert_eq!(parse_duration(s).unwrap().as_secs_f64(), secs, "{s}");
        }
        for bad in ["5", "five minutes", "-3s", "3 parsecs", "", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("7B"), Ok(7e9));
        assert_eq!(parse_count("1.5T"), Ok(1.5e12));
        assert_eq!(parse_count("350M"), Ok(3.5e8));
        assert_eq!(parse_count("1000"), Ok(1000.0));
        assert!(parse_count("7 billion").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("300MB"), Ok(300_000_000));
        assert_eq!(parse_size("24GiB"), Ok(24 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("1.5KB"), Ok(1500));
        assert!(parse_size("12 bananas").is_err());
    }
}

/// Schemas for the unit types: what a scenario writes, as a pattern an
/// editor can check.
mod schema {
    use std::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    use super::{Count, DurationStr, Size};

    impl JsonSchema for DurationStr {
        fn schema_name() -> Cow<'static, str> {
            "Duration".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "description": "A duration: a number and a unit, ms, s, m, h or d (\"250ms\", \"90s\", \"1.5h\").",
                "pattern": "^\\s*[0-9.]+\\s*(us|µs|ms|s|m|min|h|d)\\s*$"
            })
        }
    }

    impl JsonSchema for Size {
        fn schema_name() -> Cow<'static, str> {
            "Size".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "description": "A size: a number and a unit, B, KB, MB, GB, TB or KiB, MiB, GiB, TiB (\"300MB\", \"24GiB\").",
                "pattern": "^\\s*[0-9.]+\\s*([KMGT]i?B|B)\\s*$"
            })
        }
    }

    impl JsonSchema for Count {
        fn schema_name() -> Cow<'static, str> {
            "Count".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A count: a number, or a string with a K, M, B or T suffix (\"7B\", \"1.4T\").",
                "anyOf": [
                    { "type": "number", "minimum": 0 },
                    { "type": "string", "pattern": "^\\s*[0-9.]+\\s*[kKMBGT]?\\s*$" }
                ]
            })
        }
    }
}
