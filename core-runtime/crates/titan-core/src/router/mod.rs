//! The route table: the app's routes (from `titan.build.json`) compiled into one matchit router
//! per method. Lookups type-check parameters, so a bad `:id<int>` never reaches JS.

mod pattern;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde::Deserialize;

pub use pattern::{ParamType, ParamValue, PathPattern, PatternError};

/// One route as the build pipeline records it (`RouteSpec` in `core-runtime/js/types.ts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Titan path syntax: `/users/:id<int>`.
    pub path: String,
    /// Name of the action that answers, or
    #[serde(default)]
    pub action: Option<String>,
    /// a constant response answered by the core itself.
    #[serde(default)]
    pub reply: Option<ReplySpec>,
}

/// A constant response, serialized at build time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplySpec {
    /// HTTP status.
    pub status: u16,
    /// `content-type` header value.
    pub content_type: String,
    /// The body, already serialized.
    pub body: String,
}

/// What answers a matched route.
#[derive(Debug, Clone)]
pub enum RouteTarget {
    /// A JS action, by name.
    Action(Arc<str>),
    /// A constant response, answered without JS.
    Reply(Reply),
}

/// A constant response ready to send.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// `content-type` header value.
    pub content_type: String,
    /// The body.
    pub body: Bytes,
}

/// A compiled route.
#[derive(Debug)]
pub struct Route {
    /// The method it answers (HEAD falls back to GET routes).
    pub method: Method,
    /// Its parsed path.
    pub pattern: PathPattern,
    /// What answers it.
    pub target: RouteTarget,
}

/// A route that matched, with its parameters decoded and typed.
#[derive(Debug)]
pub struct RouteMatch<'a> {
    /// The route.
    pub route: &'a Route,
    /// Parameters in declaration order.
    pub params: Vec<(String, ParamValue)>,
}

/// Why a request matched no route; `http_error` turns each into its status.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupError {
    /// No route has this path.
    NotFound,
    /// Routes have this path, for other methods.
    MethodNotAllowed(Vec<Method>),
    /// A typed parameter did not parse.
    BadParam {
        /// Parameter name.
        name: String,
        /// Its declared type.
        expected: ParamType,
        /// The decoded segment that was sent.
        got: String,
    },
}

/// Why a route table could not be built; every message names the route.
#[derive(Debug, thiserror::Error)]
pub enum RouteTableError {
    /// `titan.build.json`'s routes are not valid JSON of the expected shape.
    #[error("routes are malformed: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Unknown HTTP method.
    #[error("route `{method} {path}`: `{method}` is not an HTTP method")]
    BadMethod {
        /// As written.
        method: String,
        /// The route's path.
        path: String,
    },
    /// A bad path pattern.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// Neither or both of `action` and `reply`.
    #[error("route `{method} {path}` must have exactly one of `action` or `reply`")]
    Target {
        /// Method.
        method: String,
        /// Path.
        path: String,
    },
    /// A reply status outside 100–999.
    #[error("route `{method} {path}`: reply status {status} is not an HTTP status")]
    BadStatus {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// The status.
        status: u16,
    },
    /// Two routes that cannot both exist (the same path, or overlapping parameters).
    #[error("route `{method} {path}` conflicts with an earlier route: {reason}")]
    Conflict {
        /// Method.
        method: Method,
        /// Path.
        path: String,
        /// matchit's explanation.
        reason: String,
    },
}

/// The compiled routes of one app build.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    by_method: HashMap<Method, matchit::Router<usize>>,
}

impl RouteTable {
    /// Parses the `routes` array of `titan.build.json`.
    pub fn from_json(json: &str) -> Result<Self, RouteTableError> {
        Self::new(serde_json::from_str::<Vec<RouteSpec>>(json)?)
    }

    /// Compiles route specs, refusing bad paths, methods and conflicts.
    pub fn new(specs: Vec<RouteSpec>) -> Result<Self, RouteTableError> {
        let mut table = Self::default();
        for spec in specs {
            let method = Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
                .map_err(|_| RouteTableError::BadMethod { method: spec.method.clone(), path: spec.path.clone() })?;
            let pattern = PathPattern::parse(&spec.path)?;
            let target = match (spec.action, spec.reply) {
                (Some(action), None) => RouteTarget::Action(action.into()),
                (None, Some(reply)) => RouteTarget::Reply(Reply {
                    status: StatusCode::from_u16(reply.status).map_err(|_| RouteTableError::BadStatus {
                        method: spec.method.clone(),
                        path: spec.path.clone(),
                        status: reply.status,
                    })?,
                    content_type: reply.content_type,
                    body: Bytes::from(reply.body),
                }),
                _ => return Err(RouteTableError::Target { method: spec.method, path: spec.path }),
            };
            let index = table.routes.len();
            table
                .by_method
                .entry(method.clone())
                .or_default()
                .insert(pattern.matchit_path.clone(), index)
                .map_err(|err| RouteTableError::Conflict {
                    method: method.clone(),
                    path: pattern.source.clone(),
                    reason: err.to_string(),
                })?;
            table.routes.push(Route { method, pattern, target });
        }
        Ok(table)
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Finds the route for a request; `path` is the raw (still percent-encoded) path.
    pub fn lookup(&self, method: &Method, path: &str) -> Result<RouteMatch<'_>, LookupError> {
        let found = self
            .by_method
            .get(method)
            .and_then(|router| router.at(path).ok())
            .or_else(|| {
                (method == Method::HEAD)
                    .then(|| self.by_method.get(&Method::GET)?.at(path).ok())
                    .flatten()
            });
        let Some(found) = found else {
            let mut allow: Vec<Method> = self
                .by_method
                .iter()
                .filter(|(_, router)| router.at(path).is_ok())
                .map(|(m, _)| m.clone())
                .collect();
            if allow.is_empty() {
                return Err(LookupError::NotFound);
            }
            if allow.contains(&Method::GET) && !allow.contains(&Method::HEAD) {
                allow.push(Method::HEAD);
            }
            allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            return Err(LookupError::MethodNotAllowed(allow));
        };
        let route = &self.routes[*found.value];
        let mut params = Vec::with_capacity(route.pattern.params.len());
        for (name, raw) in found.params.iter() {
            let decoded = percent_decode_str(raw).decode_utf8_lossy();
            let ty = route.pattern.param_type(name);
            let value = ty.parse(&decoded).ok_or_else(|| LookupError::BadParam {
                name: name.to_owned(),
                expected: ty,
                got: decoded.clone().into_owned(),
            })?;
            params.push((name.to_owned(), value));
        }
        Ok(RouteMatch { route, params })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: &str) -> RouteTable {
        RouteTable::from_json(json).unwrap()
    }

    fn action_name<'a>(m: &RouteMatch<'a>) -> &'a str {
        match &m.route.target {
            RouteTarget::Action(name) => name,
            RouteTarget::Reply(_) => panic!("expected an action"),
        }
    }

    const APP: &str = r#"[
        {"method":"GET","path":"/","reply":{"status":200,"contentType":"application/json","body":"{\"ok\":true}"}},
        {"method":"GET","path":"/hello/:name","action":"hello"},
        {"method":"GET","path":"/users/:id<int>","action":"getUser"},
        {"method":"DELETE","path":"/users/:id<int>","action":"deleteUser"},
        {"method":"GET","path":"/users/me","action":"me"},
        {"method":"POST","path":"/echo","action":"echo"},
        {"method":"GET","path":"/files/*rest","action":"files"}
    ]"#;

    #[test]
    fn static_routes_win_over_params() {
        let t = table(APP);
        assert_eq!(action_name(&t.lookup(&Method::GET, "/users/me").unwrap()), "me");
        let m = t.lookup(&Method::GET, "/users/42").unwrap();
        assert_eq!(action_name(&m), "getUser");
        assert_eq!(m.params, vec![("id".into(), ParamValue::Number(42.0))]);
    }

    #[test]
    fn params_are_percent_decoded() {
        let t = table(APP);
        let m = t.lookup(&Method::GET, "/hello/J%C3%BCrgen%20K").unwrap();
        assert_eq!(m.params, vec![("name".into(), ParamValue::Str("Jürgen K".into()))]);
        let m = t.lookup(&Method::GET, "/files/a/b/c.txt").unwrap();
        assert_eq!(m.params, vec![("rest".into(), ParamValue::Str("a/b/c.txt".into()))]);
    }

    #[test]
    fn typed_param_that_does_not_parse_is_a_bad_param() {
        let err = table(APP).lookup(&Method::GET, "/users/abc").unwrap_err();
        assert_eq!(err, LookupError::BadParam { name: "id".into(), expected: ParamType::Int, got: "abc".into() });
    }

    #[test]
    fn unknown_path_and_wrong_method() {
        let t = table(APP);
        assert_eq!(t.lookup(&Method::GET, "/nope").unwrap_err(), LookupError::NotFound);
        assert_eq!(t.lookup(&Method::GET, "/hello/").unwrap_err(), LookupError::NotFound);
        assert_eq!(
            t.lookup(&Method::PUT, "/users/1").unwrap_err(),
            LookupError::MethodNotAllowed(vec![Method::DELETE, Method::GET, Method::HEAD])
        );
    }

    #[test]
    fn head_falls_back_to_get_and_replies_are_compiled() {
        let t = table(APP);
        let m = t.lookup(&Method::HEAD, "/").unwrap();
        let RouteTarget::Reply(reply) = &m.route.target else { panic!("expected a reply") };
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(&reply.body[..], br#"{"ok":true}"#);
    }

    #[test]
    fn refuses_conflicts_bad_methods_and_targets() {
        let conflict = RouteTable::from_json(
            r#"[{"method":"GET","path":"/a/:x","action":"a"},{"method":"GET","path":"/a/:y","action":"b"}]"#,
        )
        .unwrap_err();
        assert!(conflict.to_string().contains("route `GET /a/:y` conflicts"), "{conflict}");
        let bad_method = RouteTable::from_json(r#"[{"method":"G ET","path":"/","action":"a"}]"#).unwrap_err();
        assert!(bad_method.to_string().contains("is not an HTTP method"), "{bad_method}");
        let both = RouteTable::from_json(
            r#"[{"method":"GET","path":"/","action":"a","reply":{"status":200,"contentType":"text/plain","body":""}}]"#,
        )
        .unwrap_err();
        assert!(both.to_string().contains("exactly one of `action` or `reply`"), "{both}");
        let malformed = RouteTable::from_json(r#"[{"method":"GET"}]"#).unwrap_err();
        assert!(matches!(malformed, RouteTableError::Malformed(_)));
    }
}
