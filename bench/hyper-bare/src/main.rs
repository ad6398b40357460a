//! A bare hyper server for the HTTP benchmark: every request gets `{"message":"hello"}` as
//! `application/json` over HTTP/1.1 keep-alive. No router, no JS: what hyper and tokio cost alone.
//!
//! Usage: `hyper-bare [--port N] [--threads N]`. `--port 0` picks an ephemeral port; the bound
//! address is printed as `listening on http://127.0.0.1:PORT` so the bench can find it.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &[u8] = br#"{"message":"hello"}"#;
const USAGE: &str =
    "usage: hyper-bare [--port N] [--threads N]  (port 0 = ephemeral; threads default = cores)";

/// What the command line asked for.
struct Options {
    port: u16,
    threads: usize,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--port" => {
                let raw = value("--port")?;
                options.port = raw
                    .parse()
                    .map_err(|_| format!("--port must be 0..65535, got {raw:?}"))?;
            }
            "--threads" => {
                let raw = value("--threads")?;
                options.threads = match raw.parse() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--threads must be a positive integer, got {raw:?}")),
                };
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(options)
}

async fn hello(
    _request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let bound = listener.local_addr()?;
    // The bench waits for this line; flush so it is not stuck in a pipe buffer.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{bound}")?;
    stdout.flush()?;
    drop(stdout);

    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Running out of file descriptors or a reset before accept: keep serving the others.
            Err(error) => {
                eprintln!("hyper-bare: accept failed: {error}");
                continue;
            }
        };
        // Small responses on keep-alive: don't let Nagle hold them back.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // Clients closing mid-request is normal at the end of a wrk run; nothing to report.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("hyper-bare: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hyper-bare: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(options.port)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "hyper-bare: cannot serve on 127.0.0.1:{}: {error}",
                options.port
            );
            ExitCode::FAILURE
        }
    }
}
