//! The operator's control API under `/_gameday/`: inject, list and end
//! faults, and stop the game day.
//!
//! A game day's control API must not be drivable by a web page open in the
//! operator's browser, nor by anyone else on the network. So every call
//! must
//! - carry the server's token (`x-gameday-token: TOKEN`, or
//!   `Authorization: Bearer TOKEN`), printed at start or set with
//!   `--control-token`;
//! - name the server itself in `Host` (an IP literal or `localhost` with
//!   the server's port: a DNS-rebinding page names its own domain), and in
//!   `Origin` when one is sent (browsers always send it cross-origin);
//! - send `Content-Type: application/json` with a body (a type a page
//!   cannot send without a CORS preflight, which this server never
//!   answers);
//! - keep its body under [`MAX_CONTROL_BODY`] (a fault is a few hundred
//!   bytes).

use std::net::{IpAddr, SocketAddr};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::protocol::SageMakerError;

/// Largest control-API body read, bytes.
pub const MAX_CONTROL_BODY: usize = 64 * 1024;

/// The header that carries the control token.
pub const TOKEN_HEADER: &str = "x-gameday-token";

/// Who may use the control API.
#[derive(Clone, Debug)]
pub struct ControlAuth {
    token: String,
    addr: SocketAddr,
}

/// A fresh random token: 128 bits from the kernel, as hex.
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equal without an early exit, so the time taken says nothing about how
/// much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why the control API turned a call away; answers as a SageMaker-style
/// error with its status.
#[derive(Debug)]
pub struct Refused {
    error: SageMakerError,
    status: StatusCode,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut r = self.error.into_response();
        *r.status_mut() = self.status;
        r
    }
}

fn denied(msg: impl Into<String>) -> Refused {
    Refused {
        error: SageMakerError::AccessDenied(msg.into()),
        status: StatusCode::FORBIDDEN,
    }
}

impl ControlAuth {
    /// Auth for a server bound at `addr` with `token`.
    pub fn new(token: String, addr: SocketAddr) -> Self {
        ControlAuth { token, addr }
    }

    /// The token callers must send.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether `host` (a `Host` header value, `host[:port]`) names this
    /// server.
    fn is_own_host(&self, host: &str) -> bool {
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) if !n.ends_with(']') || host.starts_with('[') => (n, p),
            _ => return false, // the port is always explicit for ours
        };
        if port.parse::<u16>().ok() != Some(self.addr.port()) {
            return false;
        }
        let name = name.trim_start_matches('[').trim_end_matches(']');
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) if self.addr.ip().is_unspecified() => !ip.is_unspecified(),
            Ok(ip) => ip == self.addr.ip() || (ip.is_loopback() && self.addr.ip().is_loopback()),
            Err(_) => false,
        }
    }

    /// Checks a control call's headers; `Err` is the answer to send.
    /// `json_body`: the call sends a body, which must be JSON.
    pub fn check(&self, headers: &HeaderMap, json_body: bool) -> Result<(), Refused> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match text(header::HOST.as_str()) {
            Some(h) if self.is_own_host(h) => {}
            Some(h) => {
                return Err(denied(format!(
                    "Host {h:?} does not name this server; call it by its address"
                )))
            }
            None => return Err(denied("a Host header is required")),
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let own = origin
                .to_str()
                .ok()
                .and_then(|o| o.strip_prefix("http://"))
                .is_some_and(|h| self.is_own_host(h));
            if !own {
                return Err(denied(
                    "requests from another origin may not use the control API",
                ));
            }
        }
        let sent = text(TOKEN_HEADER).or_else(|| {
            text(header::AUTHORIZATION.as_str()).and_then(|a| a.strip_prefix("Bearer "))
        });
        match sent {
            Some(t) if same(t.trim().as_bytes(), self.token.as_bytes()) => {}
            Some(_) => return Err(denied("wrong control token")),
            None => {
                return Err(denied(format!(
                    "the control API needs the token gameday serve printed at start, in an {TOKEN_HEADER} header"
                )))
            }
        }
        if json_body {
            let json = text(header::CONTENT_TYPE.as_str())
                .is_some_and(|c| c.trim_start().starts_with("application/json"));
            if !json {
                return Err(Refused {
                    error: SageMakerError::Validation(
                        "the control API takes Content-Type: application/json".into(),
                    ),
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn status(r: Result<(), Refused>) -> u16 {
        r.map_or_else(|r| r.into_response().status().as_u16(), |()| 200)
    }

    #[test]
    fn only_the_servers_own_callers_with_the_token_and_json_get_in() {
        let auth = ControlAuth::new("s3cret".into(), "127.0.0.1:8080".parse().unwrap());
        let good = [
            ("host", "127.0.0.1:8080"),
            ("x-gameday-token", "s3cret"),
            ("content-type", "application/json"),
        ];
        assert_eq!(status(auth.check(&headers(&good), true)), 200);
        let with = |extra: (&'static str, &str)| {
            let mut h = headers(&good);
            h.insert(extra.0, HeaderValue::from_str(extra.1).unwrap());
            status(auth.check(&h, true))
        };
        assert_eq!(with(("host", "localhost:8080")), 200);
        assert_eq!(with(("origin", "http://127.0.0.1:8080")), 200);
        assert_eq!(with(("origin", "http://evil.example")), 403);
        assert_eq!(with(("origin", "null")), 403);
        assert_eq!(with(("host", "evil.example:8080")), 403, "DNS rebinding");
        assert_eq!(with(("host", "127.0.0.1:9999")), 403);
        assert_eq!(with(("x-gameday-token", "guess")), 403);
        assert_eq!(with(("content-type", "text/plain")), 415);
        assert_eq!(
            with(("content-type", "application/x-www-form-urlencoded")),
            415
        );
        let mut h = headers(&good);
        h.remove("x-gameday-token");
        assert_eq!(status(auth.check(&h, true)), 403);
        h.insert("authorization", HeaderValue::from_static("Bearer s3cret"));
        assert_eq!(status(auth.check(&h, true)), 200);
        h.remove("content-type");
        assert_eq!(status(auth.check(&h, false)), 200, "no body, no type");
    }

    #[test]
    fn a_server_on_every_interface_accepts_ip_literals_not_names() {
        let auth = ControlAuth::new("t".into(), "0.0.0.0:80".parse().unwrap());
        assert!(auth.is_own_host("10.1.2.3:80"));
        assert!(auth.is_own_host("[::1]:80"));
        assert!(auth.is_own_host("localhost:80"));
        assert!(!auth.is_own_host("attacker.example:80"));
        assert!(!auth.is_own_host("10.1.2.3"));
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
