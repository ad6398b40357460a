//! `t.fetch`: Titan's built-in HTTP client engine, written against the same extension ABI as
//! any user extension (through `titan-ext`), and linked into the runtime statically.
//!
//! One native, `request(url, options?)`, blocking the calling worker until the whole response
//! is read (actions are synchronous: no promises). HTTPS through rustls with the Mozilla roots
//! (webpki-roots); proxies from `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`; redirects followed
//! (up to 10). A non-2xx status is a response like any other; network failures, bad URLs and
//! timeouts are errors that name the request: `GET http://host/path: timed out after 500 ms`.
//!
//! Config (`config` in the app's config, every key optional):
//! `{ "timeout": 30000, "userAgent": "titan/<version>", "maxResponseBytes": 10485760 }`.
//! All workers share one connection pool (ureq's `Agent`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use titan_ext::{Context, function};
use ureq::http::{self, Method, Uri};
use ureq::{AsSendBody, Timeout};

const DEFAULT_TIMEOUT_MS: f64 = 30_000.0;
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

/// The engine's config, from the app's config (every key optional).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Timeout of a whole request (connect, send, response, body) in milliseconds, when the
    /// call gives none; 30000 by default.
    pub timeout: Option<f64>,
    /// The `user-agent` header sent when the call sets none; `titan/<version>` by default.
    pub user_agent: Option<String>,
    /// Largest response body read, in bytes; 10 MiB by default. A larger one is an error.
    pub max_response_bytes: Option<f64>,
}

/// `request`'s options, as `t.fetch(url, options)` passes them (every field optional; unknown
/// fields are refused so that typos show).
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FetchOptions {
    /// `GET` by default; case-insensitive (`post` is `POST`).
    pub method: Option<String>,
    /// Request headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// The request body (not allowed with GET or HEAD). Without a `content-type` header,
    /// `text/plain;charset=UTF-8` is sent, as `fetch` does for a string body.
    pub body: Option<String>,
    /// Timeout of this request in milliseconds (the config's `timeout` by default).
    pub timeout: Option<f64>,
}

/// A response, whatever its status.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct FetchResponse {
    /// The HTTP status, e.g. 200 or 404.
    pub status: u16,
    /// Response headers, names lower-case; a header sent several times is joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// The body as text (invalid UTF-8 sequences become U+FFFD).
    pub body: String,
}

/// The engine's shared state: one agent (connection pool) for every worker.
pub struct Fetcher {
    agent: ureq::Agent,
    default_timeout: Duration,
    max_response_bytes: u64,
}

fn timeout_from_ms(ms: f64, what: &str) -> Result<Duration, String> {
    if ms.is_finite() && ms > 0.0 && ms <= 1e12 {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(format!("{what} must be a positive number of milliseconds, got {ms}"))
    }
}

impl Fetcher {
    /// `init`: the engine's config (`null` for the defaults) → the shared agent.
    pub fn from_config(config: serde_json::Value) -> Result<Fetcher, String> {
        let config: Config = if config.is_null() {
            Config::default()
        } else {
            serde_json::from_value(config).map_err(|e| format!("fetch config: {e} (keys: timeout, userAgent, maxResponseBytes)"))?
        };
        let default_timeout = timeout_from_ms(config.timeout.unwrap_or(DEFAULT_TIMEOUT_MS), "fetch config `timeout`")?;
        let max_response_bytes = match config.max_response_bytes {
            None => DEFAULT_MAX_RESPONSE_BYTES,
            Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => n as u64,
            Some(n) => return Err(format!("fetch config `maxResponseBytes` must be a whole number of bytes, got {n}")),
        };
        let user_agent = config.user_agent.unwrap_or_else(|| concat!("titan/", env!("CARGO_PKG_VERSION")).to_owned());
        let agent = ureq::Agent::config_builder()
            // A 404 is a response for the caller to look at, not an error.
            .http_status_as_error(false)
            .user_agent(user_agent)
            .build()
            .new_agent();
        Ok(Fetcher { agent, default_timeout, max_response_bytes })
    }

    /// Runs one request, blocking until the whole response is read.
    pub fn request(&self, url: &str, options: Option<FetchOptions>) -> Result<FetchResponse, String> {
        let options = options.unwrap_or_default();
        let method_name = options.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
        let what = format!("{method_name} {url}");
        let method = Method::from_bytes(method_name.as_bytes()).map_err(|_| format!("{what}: \"{method_name}\" is not an HTTP method"))?;
        let timeout = match options.timeout {
            Some(ms) => timeout_from_ms(ms, "options.timeout").map_err(|e| format!("{what}: {e}"))?,
            None => self.default_timeout,
        };
        check_url(url).map_err(|e| format!("{what}: {e}"))?;

        let mut builder = http::Request::builder().method(method.clone()).uri(url);
        let mut has_content_type = false;
        for (name, value) in options.headers.iter().flatten() {
            let header_name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("{what}: \"{name}\" is not a valid header name"))?;
            let header_value = http::HeaderValue::from_str(value).map_err(|_| format!("{what}: the value of header \"{name}\" has characters a header cannot carry"))?;
            has_content_type |= header_name == http::header::CONTENT_TYPE;
            builder = builder.header(header_name, header_value);
        }

        let result = match options.body {
            Some(body) => {
                if method == Method::GET || method == Method::HEAD {
                    return Err(format!("{what}: a {method_name} request cannot have a body"));
                }
                if !has_content_type {
                    builder = builder.header(http::header::CONTENT_TYPE, "text/plain;charset=UTF-8");
                }
                let request = builder.body(body.into_bytes()).map_err(|e| format!("{what}: {e}"))?;
                self.run(request, timeout)
            }
            None => {
                let request = builder.body(()).map_err(|e| format!("{what}: {e}"))?;
                self.run(request, timeout)
            }
        };
        let https = url.starts_with("https:") || url.starts_with("HTTPS:");
        result.map_err(|e| format!("{what}: {}", describe(e, timeout, https)))
    }

    fn run<B: AsSendBody>(&self, request: http::Request<B>, timeout: Duration) -> Result<FetchResponse, ureq::Error> {
        let request = self.agent.configure_request(request).timeout_global(Some(timeout)).build();
        let mut response = self.agent.run(request)?;
        let status = response.status().as_u16();
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|joined| {
                    joined.push_str(", ");
                    joined.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        let bytes = response.body_mut().with_config().limit(self.max_response_bytes).read_to_vec()?;
        let body = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(FetchResponse { status, headers, body })
    }

}

/// A ureq error in words a JS developer can act on.
fn describe(error: ureq::Error, timeout: Duration, https: bool) -> String {
    match error {
        ureq::Error::Timeout(Timeout::Global) => format!("timed out after {} ms", timeout.as_millis()),
        ureq::Error::Timeout(which) => format!("timed out ({which})"),
        ureq::Error::Io(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused (is the server running on that port?)".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset by the server".into(),
            std::io::ErrorKind::TimedOut => format!("timed out after {} ms", timeout.as_millis()),
            // rustls reports a failed handshake or a corrupt record through the socket.
            std::io::ErrorKind::InvalidData if https => format!("TLS error: {e}"),
            _ => format!("network error: {e}"),
        },
        ureq::Error::HostNotFound => "host not found (DNS lookup failed)".into(),
        ureq::Error::BadUri(why) => format!("invalid URL: {why}"),
        ureq::Error::Http(e) => format!("invalid request: {e}"),
        ureq::Error::ConnectionFailed => "could not connect".into(),
        ureq::Error::TooManyRedirects => "too many redirects (more than 10)".into(),
        ureq::Error::RedirectFailed => "the server redirected (307/308) a request that has a body; such redirects are not followed".into(),
        ureq::Error::BodyExceedsLimit(limit) => {
            format!("the response body is larger than {limit} bytes (raise `maxResponseBytes` in the fetch engine's config)")
        }
        ureq::Error::Protocol(e) => format!("the server's answer is not valid HTTP/1.1: {e}"),
        ureq::Error::LargeResponseHeader(size, limit) => format!("the response headers are too large ({size} bytes, limit {limit})"),
        ureq::Error::Tls(e) => format!("TLS error: {e}"),
        ureq::Error::Rustls(e) => format!("TLS error: {e}"),
        ureq::Error::Pem(e) => format!("TLS error: {e:?}"),
        other => other.to_string(),
    }
}

/// Only absolute http(s) URLs with a host.
fn check_url(url: &str) -> Result<(), String> {
    if !url.contains("://") {
        return Err("invalid URL: it has no scheme (expected http://host/path or https://host/path)".into());
    }
    let uri: Uri = url.parse().map_err(|e| format!("invalid URL ({e}): expected http://host/path or https://host/path"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(format!("invalid URL: unsupported scheme \"{other}\" (only http and https)")),
        None => return Err("invalid URL: it has no scheme".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("invalid URL: it has no host".into());
    }
    Ok(())
}

/// Makes an HTTP request and returns `{ status, headers, body }` once the whole response is
/// read; a non-2xx status is a response too. `options`: `{ method: "GET", headers: {...},
/// body: "text", timeout: ms }`. Network failures, bad URLs and timeouts throw, naming the
/// request: `GET http://host/path: timed out after 500 ms`.
#[function]
pub fn request(cx: &Context, url: &str, options: Option<FetchOptions>) -> Result<FetchResponse, String> {
    cx.state::<Fetcher>().request(url, options)
}

titan_ext::extension! {
    name: "fetch",
    functions: [request],
    init: Fetcher::from_config,
    static_entry: fetch_extension,
}
