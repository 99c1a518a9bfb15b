//! Secrets kept out of what gameday writes: a URL's user and password, and
//! query values or flags whose names say they are secret. Every URL or
//! command line that goes into `report.json`, `run.json` or the console
//! passes through here.

/// What stands in for a removed secret.
pub const REDACTED: &str = "REDACTED";

/// Whether a parameter or flag name says its value is secret.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "key",
        "secret",
        "password",
        "passwd",
        "signature",
        "credential",
        "auth",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `url` with its userinfo and secret-looking query values replaced:
/// `http://KEY:SECRET@host/?token=x&a=1` → `http://REDACTED@host/?token=REDACTED&a=1`.
/// Text that is not a URL comes back unchanged.
pub fn url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{REDACTED}@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, format!("#{f}")),
                None => (query, String::new()),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if secret_name(k) => format!("{k}={REDACTED}"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

/// A command line with secrets removed: every URL redacted, and the value
/// of any `--…token/key/secret…` flag (`--flag VALUE` or `--flag=VALUE`).
pub fn command_line(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut hide_next = false;
    for a in args {
        if hide_next {
            out.push(REDACTED.to_string());
            hide_next = false;
            continue;
        }
        if let Some(flag) = a.strip_prefix("--") {
            match flag.split_once('=') {
                Some((name, _)) if secret_name(name) => {
                    out.push(format!("--{name}={REDACTED}"));
                    continue;
                }
                None if secret_name(flag) => hide_next = true,
                _ => {}
            }
        }
        out.push(url(&a));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_userinfo_and_secret_query_values() {
        assert_eq!(
            url("http://KEY:SECRET@127.0.0.1:8080"),
            "http://REDACTED@127.0.0.1:8080"
        );
        assert_eq!(
            url("https://u@h.example/p?api_key=abc&rate=5&X-Amz-Signature=s#frag"),
            "https://REDACTED@h.example/p?api_key=REDACTED&rate=5&X-Amz-Signature=REDACTED#frag"
        );
        assert_eq!(url("http://127.0.0.1:9/x@y"), "http://127.0.0.1:9/x@y");
        assert_eq!(url("plain text"), "plain text");
        assert_eq!(url("http://[::1]:80/"), "http://[::1]:80/");
    }

    #[test]
    fn command_lines_lose_secret_flags_and_urls() {
        let args = [
            "gameday",
            "run",
            "s.toml",
            "--endpoint-url",
            "http://K:S@127.0.0.1:1",
            "--control-token",
            "t0k3n",
            "--api-key=abc",
            "--seed",
            "7",
        ]
        .map(String::from);
        assert_eq!(
            command_line(args),
            [
                "gameday",
                "run",
                "s.toml",
                "--endpoint-url",
                "http://REDACTED@127.0.0.1:1",
                "--control-token",
                "REDACTED",
                "--api-key=REDACTED",
                "--seed",
                "7"
            ]
        );
    }
}
