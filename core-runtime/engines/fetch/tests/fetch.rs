//! The native behind `t.fetch`, against a real HTTP/1.1 server on 127.0.0.1 that the test
//! starts (std::net, one thread per connection, `connection: close`). Loopback only.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use titan_engine_fetch::{FetchOptions, Fetcher};

/// What the server saw of one request.
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn serve(mut stream: TcpStream) {
    let Some(seen) = read_request(&mut stream) else {
        return;
    };
    match seen.path.as_str() {
        "/missing" => respond(
            &mut stream,
            "404 Not Found",
            &[("content-type", "text/plain")],
            b"no such thing",
        ),
        "/slow" => {
            thread::sleep(Duration::from_millis(1500));
            respond(&mut stream, "200 OK", &[], b"too late");
        }
        "/redirect" => respond(
            &mut stream,
            "302 Found",
            &[("location", "/echo?from=redirect")],
            b"",
        ),
        "/binary" => respond(&mut stream, "200 OK", &[], &[b'o', b'k', 0xff, 0xfe]),
        "/big" => respond(&mut stream, "200 OK", &[], &[b'x'; 2048]),
        _ => {
            let echo = json!({
                "method": seen.method,
                "path": seen.path,
                "headers": seen.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
                "body": String::from_utf8_lossy(&seen.body),
            });
            let extra = [
                ("content-type", "application/json"),
                ("x-multi", "one"),
                ("x-multi", "two"),
                ("X-Mixed-Case", "yes"),
            ];
            respond(&mut stream, "200 OK", &extra, echo.to_string().as_bytes());
        }
    }
}

/// The test server's base URL; started once, lives as long as the test process.
fn server() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || serve(stream));
            }
        });
        base
    })
}

fn fetcher() -> Fetcher {
    Fetcher::from_config(Value::Null).unwrap()
}

fn echoed(body: &str) -> (Value, BTreeMap<String, String>) {
    let echo: Value = serde_json::from_str(body).unwrap();
    let headers = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (echo, headers)
}

#[test]
fn get_with_headers() {
    let url = format!("{}/echo?q=1", server());
    let options = FetchOptions {
        headers: Some(BTreeMap::from([("X-Request-Id".into(), "abc-123".into())])),
        ..Default::default()
    };
    let response = fetcher().request(&url, Some(options)).unwrap();
    assert_eq!(response.status, 200);
    let (echo, sent) = echoed(&response.body);
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/echo?q=1");
    assert_eq!(echo["body"], "");
    assert_eq!(sent["x-request-id"], "abc-123");
    assert_eq!(
        sent["user-agent"],
        concat!("titan/", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        !sent.contains_key("content-length") && !sent.contains_key("transfer-encoding"),
        "no body on a GET: {sent:?}"
    );

    // Response headers: lower-case names, repeats joined.
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.headers["x-multi"], "one, two");
    assert_eq!(response.headers["x-mixed-case"], "yes");
}

#[test]
fn post_with_body_and_method_in_any_case() {
    let url = format!("{}/echo", server());
    let options = FetchOptions {
        method: Some("post".into()),
        headers: Some(BTreeMap::from([(
            "content-type".into(),
            "application/json".into(),
        )])),
        body: Some(r#"{"name":"Ada","emoji":"🚀"}"#.into()),
        timeout: None,
    };
    let response = fetcher().request(&url, Some(options)).unwrap();
    let (echo, sent) = echoed(&response.body);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], r#"{"name":"Ada","emoji":"🚀"}"#);
    assert_eq!(sent["content-type"], "application/json");
    assert_eq!(
        sent["content-length"],
        r#"{"name":"Ada","emoji":"🚀"}"#.len().to_string()
    );

    // A string body without a content-type gets fetch's default; PUT, PATCH and DELETE work too.
    for method in ["PUT", "PATCH", "DELETE"] {
        let options = FetchOptions {
            method: Some(method.into()),
            body: Some("plain".into()),
            ..Default::default()
        };
        let (echo, sent) = echoed(&fetcher().request(&url, Some(options)).unwrap().body);
        assert_eq!(echo["method"], method);
        assert_eq!(echo["body"], "plain");
        assert_eq!(sent["content-type"], "text/plain;charset=UTF-8");
    }
}

#[test]
fn not_found_is_a_response() {
    let response = fetcher()
        .request(&format!("{}/missing", server()), None)
        .unwrap();
    assert_eq!(response.status, 404);
    assert_eq!(response.body, "no such thing");
    assert_eq!(response.headers["content-type"], "text/plain");
}

#[test]
fn redirects_are_followed() {
    let response = fetcher()
        .request(&format!("{}/redirect", server()), None)
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(echoed(&response.body).0["path"], "/echo?from=redirect");
}

#[test]
fn timeout_is_an_error_naming_it() {
    let url = format!("{}/slow", server());
    let started = Instant::now();
    let err = fetcher()
        .request(
            &url,
            Some(FetchOptions {
                timeout: Some(300.0),
                ..Default::default()
            }),
        )
        .unwrap_err();
    assert_eq!(err, format!("GET {url}: timed out after 300 ms"));
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "gave up in time: {:?}",
        started.elapsed()
    );

    // The config's timeout applies when the call gives none.
    let short = Fetcher::from_config(json!({ "timeout": 200 })).unwrap();
    assert_eq!(
        short.request(&url, None).unwrap_err(),
        format!("GET {url}: timed out after 200 ms")
    );
}

#[test]
fn refused_connection_is_an_error() {
    // A port that was just free: nothing listens there any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let err = fetcher().request(&url, None).unwrap_err();
    assert!(
        err.starts_with(&format!("GET {url}: connection refused")),
        "{err}"
    );
}

#[test]
fn bad_urls_are_errors() {
    let cases = [
        ("not a url", "invalid URL: it has no scheme"),
        ("http://exa mple.com/", "invalid URL"),
        ("/relative/path", "it has no scheme"),
        ("example.com/path", "has no scheme"),
        ("ftp://example.com/file", "unsupported scheme \"ftp\""),
        ("http://", "invalid URL"),
    ];
    for (url, expected) in cases {
        let err = fetcher().request(url, None).unwrap_err();
        assert!(
            err.starts_with(&format!("GET {url}: ")) && err.contains(expected),
            "{url:?}: {err}"
        );
    }
}

#[test]
fn bad_options_are_errors() {
    let url = format!("{}/echo", server());
    let with = |options: FetchOptions| fetcher().request(&url, Some(options)).unwrap_err();
    assert!(
        with(FetchOptions {
            body: Some("x".into()),
            ..Default::default()
        })
        .ends_with("a GET request cannot have a body")
    );
    assert!(
        with(FetchOptions {
            method: Some("GE T".into()),
            ..Default::default()
        })
        .contains("is not an HTTP method")
    );
    assert!(
        with(FetchOptions {
            timeout: Some(-1.0),
            ..Default::default()
        })
        .contains("options.timeout must be a positive number")
    );
    let bad_header = FetchOptions {
        headers: Some(BTreeMap::from([("bad header".into(), "x".into())])),
        ..Default::default()
    };
    assert!(with(bad_header).contains("\"bad header\" is not a valid header name"));
    let bad_value = FetchOptions {
        headers: Some(BTreeMap::from([("x-a".into(), "line\nbreak".into())])),
        ..Default::default()
    };
    assert!(with(bad_value).contains("header \"x-a\""));
    // Typos in options are refused when the options cross from JS.
    let typo = serde_json::from_value::<FetchOptions>(json!({ "header": {} }))
        .unwrap_err()
        .to_string();
    assert!(typo.contains("unknown field `header`"), "{typo}");
}

#[test]
fn config() {
    let custom =
        Fetcher::from_config(json!({ "userAgent": "my-app/2.0", "maxResponseBytes": 1024 }))
            .unwrap();
    let (_, sent) = echoed(
        &custom
            .request(&format!("{}/echo", server()), None)
            .unwrap()
            .body,
    );
    assert_eq!(sent["user-agent"], "my-app/2.0");
    // A user-agent header on the call wins.
    let options = FetchOptions {
        headers: Some(BTreeMap::from([("user-agent".into(), "call/1".into())])),
        ..Default::default()
    };
    let (_, sent) = echoed(
        &custom
            .request(&format!("{}/echo", server()), Some(options))
            .unwrap()
            .body,
    );
    assert_eq!(sent["user-agent"], "call/1");

    let err = custom
        .request(&format!("{}/big", server()), None)
        .unwrap_err();
    assert!(
        err.contains("larger than 1024 bytes") && err.contains("maxResponseBytes"),
        "{err}"
    );

    let err = Fetcher::from_config(json!({ "timeOut": 5 })).err().unwrap();
    assert!(
        err.starts_with("fetch config: unknown field `timeOut`"),
        "{err}"
    );
    assert!(Fetcher::from_config(json!({ "timeout": 0 })).is_err());
}

#[test]
fn non_utf8_bodies_are_replaced_not_refused() {
    let response = fetcher()
        .request(&format!("{}/binary", server()), None)
        .unwrap();
    assert_eq!(response.body, "ok\u{fffd}\u{fffd}");
}

#[test]
fn workers_share_one_agent_concurrently() {
    let fetcher = std::sync::Arc::new(fetcher());
    let url = format!("{}/echo", server());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (fetcher, url) = (fetcher.clone(), format!("{url}?worker={i}"));
            thread::spawn(move || {
                (0..5)
                    .map(|_| fetcher.request(&url, None).unwrap().status)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), vec![200; 5]);
    }
}

#[test]
fn https_goes_through_rustls() {
    // No network here: a loopback server that answers a TLS ClientHello with plain HTTP. rustls
    // rejects the answer, which shows the TLS stack (rustls + ring) is built in and its errors
    // are reported.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut hello = [0u8; 5];
        let _ = stream.read_exact(&mut hello);
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        thread::sleep(Duration::from_millis(200));
    });
    let err = fetcher()
        .request(
            &url,
            Some(FetchOptions {
                timeout: Some(2000.0),
                ..Default::default()
            }),
        )
        .unwrap_err();
    assert!(err.starts_with(&format!("GET {url}: TLS error: ")), "{err}");
    server.join().unwrap();
}
