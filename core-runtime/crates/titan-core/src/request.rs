//! Request conversion: what the core hands an action, decoded from hyper's request parts and
//! body (query string, headers, body kind by content type, form fields, request id).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::http::request::Parts;

use crate::router::ParamValue;

/// How the body should be parsed, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// `application/json` and `+json` types: parsed to a value.
    Json,
    /// `application/x-www-form-urlencoded`: parsed to fields.
    Form,
    /// `text/*`, or a body with no content type that is valid UTF-8: a string.
    Text,
    /// Anything else: bytes.
    Binary,
}

impl BodyKind {
    /// Classifies a body by its `content-type` header.
    pub fn classify(content_type: Option<&HeaderValue>, body: &[u8]) -> Self {
        if body.is_empty() {
            return Self::None;
        }
        let Some(essence) = content_type.and_then(|v| v.to_str().ok()).map(media_type) else {
            return if std::str::from_utf8(body).is_ok() { Self::Text } else { Self::Binary };
        };
        if essence == "application/json" || essence.ends_with("+json") {
            Self::Json
        } else if essence == "application/x-www-form-urlencoded" {
            Self::Form
        } else if essence.starts_with("text/") {
            Self::Text
        } else {
            Self::Binary
        }
    }

    /// The name the JS side switches on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Json => "json",
            Self::Form => "form",
            Self::Text => "text",
            Self::Binary => "binary",
        }
    }
}

/// `Application/JSON; charset=utf-8` → `application/json`.
fn media_type(value: &str) -> String {
    value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Decodes `a=1&b=x%20y&a=2` (also `+` as space) into ordered pairs.
pub fn decode_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Headers as `(lower-case name, value)`, repeated headers joined with `, ` (RFC 9110 §5.3).
pub fn merged_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let mut values = headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()));
        let mut joined = values.next().map(|v| v.into_owned()).unwrap_or_default();
        for more in values {
            joined.push_str(", ");
            joined.push_str(&more);
        }
        out.push((name.as_str().to_owned(), joined));
    }
    out
}

/// A request the core matched to an action, ready to hand to JS.
#[derive(Debug)]
pub struct IncomingRequest {
    /// Request id (from a sane incoming `x-request-id`, else generated).
    pub id: String,
    /// The action that answers it.
    pub action: Arc<str>,
    /// Method, path, query and headers as received.
    pub parts: Parts,
    /// Typed route parameters.
    pub params: Vec<(String, ParamValue)>,
    /// The whole body (within the limit).
    pub body: Bytes,
    /// How to parse the body.
    pub body_kind: BodyKind,
}

impl IncomingRequest {
    /// Assembles a request from what the connection read.
    pub fn new(id: String, action: Arc<str>, parts: Parts, params: Vec<(String, ParamValue)>, body: Bytes) -> Self {
        let body_kind = BodyKind::classify(parts.headers.get(CONTENT_TYPE), &body);
        Self { id, action, parts, params, body, body_kind }
    }

    /// The method name.
    pub fn method(&self) -> &str {
        self.parts.method.as_str()
    }

    /// The path, still percent-encoded as sent.
    pub fn path(&self) -> &str {
        self.parts.uri.path()
    }

    /// The decoded query string.
    pub fn query(&self) -> Vec<(String, String)> {
        self.parts.uri.query().map(|q| decode_pairs(q.as_bytes())).unwrap_or_default()
    }

    /// Headers, merged.
    pub fn headers(&self) -> Vec<(String, String)> {
        merged_headers(&self.parts.headers)
    }

    /// Form fields, when the body is urlencoded.
    pub fn form(&self) -> Option<Vec<(String, String)>> {
        (self.body_kind == BodyKind::Form).then(|| decode_pairs(&self.body))
    }

    /// The body as text (lossy), or `None` without a body.
    pub fn body_text(&self) -> Option<String> {
        (!self.body.is_empty()).then(|| String::from_utf8_lossy(&self.body).into_owned())
    }
}

/// Request ids for one worker: a random per-worker prefix and a counter, unless the client (or a
/// proxy in front) sent a usable `x-request-id`, which is kept so logs line up across hops.
#[derive(Debug)]
pub struct RequestIds {
    prefix: u32,
    counter: u32,
}

impl Default for RequestIds {
    fn default() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        Self { prefix: hasher.finish() as u32, counter: 0 }
    }
}

impl RequestIds {
    /// The id for the next request.
    pub fn next(&mut self, incoming: Option<&HeaderValue>) -> String {
        if let Some(id) = incoming.and_then(|v| v.to_str().ok()).filter(|id| is_sane_id(id)) {
            return id.to_owned();
        }
        self.counter = self.counter.wrapping_add(1);
        format!("{:08x}{:08x}", self.prefix, self.counter)
    }
}

fn is_sane_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Request;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method("POST").uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn query_is_decoded_in_order_with_repeats() {
        let req = IncomingRequest::new("i".into(), "a".into(), parts("/s?q=a%20b&tag=x&tag=y&plus=1+2&empty", &[]), vec![], Bytes::new());
        assert_eq!(
            req.query(),
            vec![
                ("q".into(), "a b".into()),
                ("tag".into(), "x".into()),
                ("tag".into(), "y".into()),
                ("plus".into(), "1 2".into()),
                ("empty".into(), "".into()),
            ]
        );
        assert_eq!(req.path(), "/s");
        assert_eq!(req.method(), "POST");
    }

    #[test]
    fn body_kind_follows_content_type() {
        let json = HeaderValue::from_static("Application/JSON; charset=utf-8");
        assert_eq!(BodyKind::classify(Some(&json), b"{}"), BodyKind::Json);
        let problem = HeaderValue::from_static("application/problem+json");
        assert_eq!(BodyKind::classify(Some(&problem), b"{}"), BodyKind::Json);
        let form = HeaderValue::from_static("application/x-www-form-urlencoded");
        assert_eq!(BodyKind::classify(Some(&form), b"a=1"), BodyKind::Form);
        let text = HeaderValue::from_static("text/csv");
        assert_eq!(BodyKind::classify(Some(&text), b"a,b"), BodyKind::Text);
        let bin = HeaderValue::from_static("application/octet-stream");
        assert_eq!(BodyKind::classify(Some(&bin), b"\x00\x01"), BodyKind::Binary);
        assert_eq!(BodyKind::classify(None, b"plain"), BodyKind::Text);
        assert_eq!(BodyKind::classify(None, b"\xff\xfe"), BodyKind::Binary);
        assert_eq!(BodyKind::classify(Some(&json), b""), BodyKind::None);
    }

    #[test]
    fn form_bodies_decode_and_headers_merge() {
        let p = parts("/", &[("content-type", "application/x-www-form-urlencoded"), ("x-a", "1"), ("X-A", "2")]);
        let req = IncomingRequest::new("i".into(), "a".into(), p, vec![], Bytes::from_static(b"name=Ada+L&lang=%F0%9F%A6%80"));
        assert_eq!(req.body_kind, BodyKind::Form);
        assert_eq!(req.form().unwrap(), vec![("name".into(), "Ada L".into()), ("lang".into(), "🦀".into())]);
        assert!(req.headers().contains(&("x-a".into(), "1, 2".into())));
        assert_eq!(req.body_text().as_deref(), Some("name=Ada+L&lang=%F0%9F%A6%80"));
    }

    #[test]
    fn request_ids_are_unique_or_kept_from_a_sane_header() {
        let mut ids = RequestIds::default();
        let (a, b) = (ids.next(None), ids.next(None));
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert_eq!(ids.next(Some(&HeaderValue::from_static("trace-42"))), "trace-42");
        let hostile = HeaderValue::from_static("a b\"c");
        assert_ne!(ids.next(Some(&hostile)), "a b\"c");
    }
}
