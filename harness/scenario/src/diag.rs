//! Diagnostics: every problem names `file:line:col`, the field, what is
//! wrong and, for a typo, the nearest valid name.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One step of a field path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// A key in a table.
    Key(String),
    /// An element of an array (or array of tables).
    Index(usize),
}

/// A path to a field, such as `endpoint[0].variant[1].instance_type`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The path extended by a key.
    pub fn key(&self, k: &str) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    /// The path extended by an index.
    pub fn index(&self, i: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

/// Builds a path from a dotted string with `[i]` indices.
pub fn path(s: &str) -> FieldPath {
    let mut out = FieldPath::default();
    for part in s.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.0.push(Seg::Key(key.to_string()));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.0.push(Seg::Index(i));
            }
        }
    }
    out
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub col: usize,
    /// The field, e.g. `endpoint[0].variant[0].instance_type`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// The nearest valid name, for a typo.
    pub suggestion: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean \"{s}\"?")?;
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..offset].chars().count() + 1;
    (line, col)
}

/// Finds source spans for field paths, and field paths for spans, using a
/// span-preserving parse of the same text.
pub struct Locator<'a> {
    src: &'a str,
    file: String,
    root: Option<DeValue<'a>>,
}

impl<'a> Locator<'a> {
    /// The text located in.
    pub fn src(&self) -> &'a str {
        self.src
    }

    /// Parses `src` for locating; a file that does not parse still gets a
    /// locator (every field then points at line 1).
    pub fn new(file: &str, src: &'a str) -> Self {
        let root = DeTable::parse(src)
            .ok()
            .map(|t| DeValue::Table(t.into_inner()));
        Locator {
            src,
            file: file.to_string(),
            root,
        }
    }

    /// The span of the value at `path`, or of the deepest ancestor present.
    pub fn span(&self, path: &FieldPath) -> Range<usize> {
        let Some(DeValue::Table(root)) = &self.root else {
            return 0..0;
        };
        let mut span = 0..0;
        let mut cur: Option<&DeValue<'a>> = None;
        let mut table: Option<&DeTable<'a>> = Some(root);
        for seg in &path.0 {
            let next: Option<&Spanned<DeValue<'a>>> = match (seg, table, cur) {
                (Seg::Key(k), Some(t), _) => t
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                    .map(|(_, v)| v),
                (Seg::Index(i), _, Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            let Some(v) = next else { break };
            span = v.span();
            cur = Some(v.get_ref());
            table = match v.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
        }
        span
    }

    /// The deepest field path whose value contains all of `span` (for an
    /// error about a whole table, such as a missing field).
    pub fn path_of(&self, span: Range<usize>) -> FieldPath {
        let mut out = FieldPath::default();
        let Some(root) = &self.root else { return out };
        let last = span.end.max(span.start + 1) - 1;
        let inside = |v: &Spanned<DeValue<'a>>| covers(v, span.start) && covers(v, last);
        let mut value: &DeValue<'a> = root;
        loop {
            let next = match value {
                DeValue::Table(t) => t
                    .iter()
                    .find(|(_, v)| inside(v))
                    .map(|(k, v)| (Seg::Key(k.get_ref().to_string()), v)),
                DeValue::Array(a) => a
                    .iter()
                    .enumerate()
                    .find(|(_, v)| inside(v))
                    .map(|(i, v)| (Seg::Index(i), v)),
                _ => None,
            };
            let Some((seg, v)) = next else { return out };
            out.0.push(seg);
            value = v.get_ref();
        }
    }

    /// The deepest field path whose key or value contains `offset`.
    pub fn path_at(&self, offset: usize) -> FieldPath {
        let mut out = FieldPath::default();
        let Some(root) = &self.root else { return out };
        let mut value: &DeValue<'a> = root;
        loop {
            let next: Option<(Seg, &Spanned<DeValue<'a>>)> = match value {
                DeValue::Table(t) => {
                    if let Some((k, _)) = t.iter().find(|(k, _)| k.span().contains(&offset)) {
                        out.0.push(Seg::Key(k.get_ref().to_string()));
                        return out;
                    }
                    t.iter()
                        .find(|(_, v)| covers(v, offset))
                        .map(|(k, v)| (Seg::Key(k.get_ref().to_string()), v))
                }
                DeValue::Array(a) => a
                    .iter()
                    .enumerate()
                    .find(|(_, v)| covers(v, offset))
                    .map(|(i, v)| (Seg::Index(i), v)),
                _ => None,
            };
            let Some((seg, v)) = next else { return out };
            out.0.push(seg);
            value = v.get_ref();
        }
    }

    /// A diagnostic for `path`.
    pub fn at(&self, path: &FieldPath, message: impl Into<String>) -> Diagnostic {
        self.at_span(self.span(path), path.to_string(), message)
    }

    /// A diagnostic at a byte span.
    pub fn at_span(
        &self,
        span: Range<usize>,
        field: String,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, col) = line_col(self.src, span.start);
        Diagnostic {
            file: self.file.clone(),
            line,
            col,
            field,
            message: message.into(),
            suggestion: None,
        }
    }
}

/// Whether `offset` falls in `v` or anything inside it. (A table opened
/// by a `[header]` has a span that does not cover its body, so look inside.)
fn covers(v: &Spanned<DeValue<'_>>, offset: usize) -> bool {
    v.span().contains(&offset)
        || match v.get_ref() {
            DeValue::Array(a) => a.iter().any(|e| covers(e, offset)),
            DeValue::Table(t) => t
                .iter()
                .any(|(k, e)| k.span().contains(&offset) || covers(e, offset)),
            _ => false,
        }
}

/// The candidate closest to `name`, if it is close enough to be a typo.
pub fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
    let len = name.chars().count();
    // A typo of a short name is short: skip the quadratic distance on
    // anything longer (a 10 MB value must not take seconds).
    if len > MAX_SUGGEST_LEN {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c.chars().count().abs_diff(len) > (len / 3).max(2) {
            continue; // too different in length to be within the limit
        }
        let d = strsim::damerau_levenshtein(&name.to_lowercase(), &c.to_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = (name.chars().count() / 3).max(2);
    (d <= limit && d > 0).then(|| c.to_string())
}

/// Names longer than this get no "did you mean".
const MAX_SUGGEST_LEN: usize = 64;
/// Values longer than this are shortened when quoted back.
const MAX_QUOTED: usize = 48;

/// A user's value quoted for a message, shortened when long:
/// `"ml.m5.xlargexxxx…" (10485760 characters)`.
pub fn quote(value: &str) -> String {
    let n = value.chars().count();
    if n <= MAX_QUOTED {
        format!("\"{value}\"")
    } else {
        let head: String = value.chars().take(MAX_QUOTED).collect();
        format!("\"{head}…\" ({n} characters)")
    }
}

/// A parser's message with any long `` `quoted` `` value in it shortened.
pub fn shorten_quoted(message: &str) -> String {
    if message.len() <= 2 * MAX_QUOTED + 200 {
        return message.to_string();
    }
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 && part.chars().count() > MAX_QUOTED {
            let head: String = part.chars().take(MAX_QUOTED).collect();
            out.push_str(&format!("{head}… ({} characters)", part.chars().count()));
        } else if part.chars().count() > 4 * MAX_QUOTED {
            let head: String = part.chars().take(4 * MAX_QUOTED).collect();
            out.push_str(&format!("{head}… ({} characters)", part.chars().count()));
        } else {
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_quoted_short_and_get_no_slow_suggestion() {
        let long = "x".repeat(10 * 1024 * 1024);
        let q = quote(&long);
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("(10485760 characters)"), "{q}");
        assert_eq!(quote("ml.m5.xlarge"), "\"ml.m5.xlarge\"");
        assert_eq!(suggest(&long, ["ml.m5.xlarge"]), None);
        assert_eq!(
            suggest("ml.m5.xlarg", ["ml.m5.xlarge", "ml.c5.xlarge"]).as_deref(),
            Some("ml.m5.xlarge")
        );
        let msg = format!("unknown variant `{long}`, expected `a` or `b`");
        let short = shorten_quoted(&msg);
        assert!(short.len() < 200, "{short}");
        assert!(short.contains("expected `a` or `b`"), "{short}");
    }

    #[test]
    fn paths_display_and_parse() {
        let p = path("endpoint[0].variant[12].instance_type");
        assert_eq!(p.to_string(), "endpoint[0].variant[12].instance_type");
        assert_eq!(p.0[3], Seg::Index(12));
    }

    #[test]
    fn line_and_column() {
        let src = "a = 1\nbb = \"é x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        let x = src.find('x').unwrap();
        assert_eq!(line_col(src, x), (2, 9));
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let names = ["ml.m5.xlarge", "ml.m5.large", "ml.g5.xlarge"];
        assert_eq!(suggest("ml.m5.xlarg", names), Some("ml.m5.xlarge".into()));
        assert_eq!(
            suggest("poison", ["poisson", "constant"]),
            Some("poisson".into())
        );
        assert_eq!(suggest("banana", names), None);
    }

    #[test]
    fn locator_finds_nested_fields_both_ways() {
        let src = "[scenario]\nname = \"x\"\n\n[[endpoint]]\nname = \"e\"\n  [[endpoint.variant]]\n  name = \"A\"\n  instance_type = \"ml.m5.xlarg\"\n";
        let loc = Locator::new("f.toml", src);
        let p = path("endpoint[0].variant[0].instance_type");
        let d = loc.at(&p, "bad");
        assert_eq!((d.line, d.col), (8, 19));
        let offset = src.find("ml.m5.xlarg").unwrap();
        assert_eq!(loc.path_at(offset + 1), p);
    }
}
