//! Every error the core answers by itself, each with its status, code and message in one place.
//! Bodies share one JSON shape with the errors the JS side produces:
//! `{"error":{"status":404,"code":"route_not_found","message":"...","requestId":"..."}}`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ALLOW, CONNECTION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Response, StatusCode};

use crate::router::{LookupError, ParamType};

/// An error answered by the core, without running an action.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// No route has this path.
    RouteNotFound {
        /// Request method.
        method: Method,
        /// Request path.
        path: String,
    },
    /// The path exists for other methods.
    MethodNotAllowed {
        /// Methods that have a route for this path.
        allow: Vec<Method>,
    },
    /// A typed route parameter did not parse.
    BadParam {
        /// Parameter name.
        name: String,
        /// Declared type.
        expected: ParamType,
        /// What was sent.
        got: String,
    },
    /// The body is larger than the configured limit.
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The body could not be read.
    BadRequest {
        /// What went wrong.
        message: String,
    },
    /// The action ran past the configured timeout; its isolate was terminated.
    ActionTimeout,
    /// The worker holding this request stopped before running it; the request never ran.
    WorkerStopped,
    /// The app refuses to serve (dev: type or build errors); the body is the app's own error object.
    Unavailable {
        /// JSON of the `error` object.
        error_json: Bytes,
    },
    /// The action produced no response (a bug in the worker loop; should not happen).
    NoResponse,
    /// The action's response could not be sent as given (bad status or header).
    BadResponse {
        /// What is wrong with it.
        problem: String,
    },
}

impl HttpError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadParam { .. } | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ActionTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::WorkerStopped | Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::NoResponse | Self::BadResponse { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RouteNotFound { .. } => "route_not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::BadParam { .. } => "bad_param",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BadRequest { .. } => "bad_request",
            Self::ActionTimeout => "action_timeout",
            Self::WorkerStopped => "worker_stopped",
            Self::Unavailable { .. } => "unavailable",
            Self::NoResponse => "no_response",
            Self::BadResponse { .. } => "bad_response",
        }
    }

    /// A message for a person.
    pub fn message(&self) -> String {
        match self {
            Self::RouteNotFound { method, path } => format!("no route for {method} {path}"),
            Self::MethodNotAllowed { allow } => {
                let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
                format!("method not allowed here; allowed: {}", names.join(", "))
            }
            Self::BadParam { name, expected, got } => {
                format!("route parameter `{name}` must be {expected}, got {got:?}")
            }
            Self::PayloadTooLarge { limit } => format!("request body is larger than the limit of {limit} bytes"),
            Self::BadRequest { message } => message.clone(),
            Self::ActionTimeout => "the action did not finish in time and was stopped".into(),
            Self::WorkerStopped => "the worker stopped before handling this request; retry it".into(),
            Self::Unavailable { .. } => "the app is not serving right now".into(),
            Self::NoResponse => "the action produced no response".into(),
            Self::BadResponse { problem } => format!("the action's response is invalid: {problem}"),
        }
    }

    /// The full response, carrying the request id.
    pub fn to_response(&self, request_id: &str) -> Response<Full<Bytes>> {
        let body = match self {
            Self::Unavailable { error_json } => {
                let mut out = Vec::with_capacity(error_json.len() + 10);
                out.extend_from_slice(b"{\"error\":");
                out.extend_from_slice(error_json);
                out.push(b'}');
                Bytes::from(out)
            }
            _ => error_body(self.status(), self.code(), &self.message(), request_id),
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match self {
            Self::MethodNotAllowed { allow } => {
                let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
                if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
                    headers.insert(ALLOW, value);
                }
            }
            // The unread rest of the body makes the connection unusable for another request.
            Self::PayloadTooLarge { .. } | Self::BadRequest { .. } => {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Self::WorkerStopped | Self::Unavailable { .. } => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl HttpError {
    /// Maps a failed route lookup to its HTTP error.
    pub fn from_lookup(err: LookupError, method: &Method, path: &str) -> Self {
        match err {
            LookupError::NotFound => Self::RouteNotFound { method: method.clone(), path: path.to_owned() },
            LookupError::MethodNotAllowed(allow) => Self::MethodNotAllowed { allow },
            LookupError::BadParam { name, expected, got } => Self::BadParam { name, expected, got },
        }
    }
}

/// The shared error body, also used for the JS side's errors through the same shape.
pub fn error_body(status: StatusCode, code: &str, message: &str, request_id: &str) -> Bytes {
    let body = serde_json::json!({
        "error": { "status": status.as_u16(), "code": code, "message": message, "requestId": request_id }
    });
    Bytes::from(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body_json(response: Response<Full<Bytes>>) -> serde_json::Value {
        let bytes = futures_body(response);
        serde_json::from_slice(&bytes).unwrap()
    }

    fn futures_body(response: Response<Full<Bytes>>) -> Bytes {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(response.into_body().collect()).unwrap().to_bytes()
    }

    #[test]
    fn each_error_has_its_status_code_and_message() {
        let bad = HttpError::BadParam { name: "id".into(), expected: ParamType::Int, got: "x".into() };
        let response = bad.to_response("r1");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let json = body_json(response);
        assert_eq!(json["error"]["code"], "bad_param");
        assert_eq!(json["error"]["message"], "route parameter `id` must be an integer, got \"x\"");
        assert_eq!(json["error"]["requestId"], "r1");
        assert_eq!(json["error"]["status"], 400);
    }

    #[test]
    fn method_not_allowed_lists_allow_header() {
        let response = HttpError::MethodNotAllowed { allow: vec![Method::GET, Method::HEAD] }.to_response("r");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "GET, HEAD");
    }

    #[test]
    fn too_large_closes_the_connection_and_unavailable_embeds_the_apps_error() {
        let response = HttpError::PayloadTooLarge { limit: 10 }.to_response("r");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.headers()[CONNECTION], "close");
        let unavailable = HttpError::Unavailable { error_json: Bytes::from_static(br#"{"code":"type_errors"}"#) };
        let response = unavailable.to_response("r");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body_json(response)["error"]["code"], "type_errors");
    }
}
