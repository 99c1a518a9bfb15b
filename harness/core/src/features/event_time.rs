//! Event times as the Feature Store Runtime API carries them: ISO-8601
//! UTC or fractional seconds since the Unix epoch. Pure arithmetic.

use crate::time::CivilUtc;

/// `written_ns` after the run's start at Unix time `epoch_s`, as
/// ISO-8601 with milliseconds (`2026-12-01T08:00:00.000Z`).
pub fn format_event_time(epoch_s: f64, written_ns: i64) -> String {
    let ms = (epoch_s * 1e3).round() as i64 + written_ns.div_euclid(1_000_000);
    let (secs, ms) = (ms.div_euclid(1000).max(0) as u64, ms.rem_euclid(1000));
    let c = CivilUtc::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// An event time as the service accepts it, ISO-8601 UTC
/// (`yyyy-MM-ddTHH:mm:ssZ`, optionally with a fraction) or fractional
/// seconds since the epoch, as seconds since the epoch.
pub fn event_time_secs(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(x) = s.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let frac = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse::<f64>().ok()?
    };
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64 + frac)
}
