//! The per-thread server loop over real loopback sockets. Each worker here is a Rust thread
//! playing the part the JS worker plays in production: `next()`, run, `respond()`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use titan_core::router::{ParamValue, RouteTable};
use titan_core::server::{AbortReason, ServerControl, WorkerLoop, WorkerOptions, build_response};

const ROUTES: &str = r#"[
    {"method":"GET","path":"/","reply":{"status":200,"contentType":"application/json","body":"{\"ok\":true}"}},
    {"method":"GET","path":"/hello/:name","action":"hello"},
    {"method":"GET","path":"/users/:id<int>","action":"user"},
    {"method":"POST","path":"/echo","action":"echo"},
    {"method":"GET","path":"/slow/:ms<int>","action":"slow"}
]"#;

/// Runs a worker thread whose "action" echoes what the core handed it. `/slow/:ms` sleeps.
fn spawn_worker(control: Arc<ServerControl>, slot: u32, options: WorkerOptions) -> thread::JoinHandle<()> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let routes = Arc::new(RouteTable::from_json(ROUTES).unwrap());
        let mut worker = WorkerLoop::new(control, slot, routes, options).unwrap();
        ready_tx.send(()).unwrap();
        while let Some(request) = worker.next_request() {
            if let Some((_, ParamValue::Number(ms))) = request.params.first().filter(|_| &*request.action == "slow") {
                thread::sleep(Duration::from_millis(*ms as u64));
            }
            let body = serde_json::json!({
                "worker": slot,
                "action": &*request.action,
                "params": request.params.iter().map(|(k, v)| (k.clone(), format!("{v:?}"))).collect::<Vec<_>>(),
                "query": request.query(),
                "kind": request.body_kind.as_str(),
                "body": request.body_text(),
            });
            let response = build_response(200, Some("application/json"), &[], Bytes::from(body.to_string())).unwrap();
            worker.respond(response);
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    handle
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends one request on an open connection and reads one response (Content-Length framed).
fn exchange(stream: &mut TcpStream, request: &str) -> Reply {
    stream.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "connection closed before the response head; got {:?}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    Reply { status, head, body: String::from_utf8(body).unwrap() }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    exchange(&mut connect(addr), &format!("GET {path} HTTP/1.1\r\nhost: t\r\n\r\n"))
}

fn bind() -> Arc<ServerControl> {
    ServerControl::bind("127.0.0.1", 0, 128).unwrap()
}

#[test]
fn serves_actions_replies_and_errors_over_keep_alive() {
    let control = bind();
    let addr = control.local_addr();
    let worker = spawn_worker(control.clone(), 1, WorkerOptions::default());
    let mut conn = connect(addr);

    let reply = exchange(&mut conn, "GET / HTTP/1.1\r\nhost: t\r\n\r\n");
    assert_eq!((reply.status, reply.body.as_str()), (200, r#"{"ok":true}"#));

    let reply = exchange(&mut conn, "GET /hello/J%C3%BCrgen?x=1&x=2 HTTP/1.1\r\nhost: t\r\n\r\n");
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["action"], "hello");
    assert_eq!(json["params"][0][1], "Str(\"Jürgen\")");
    assert_eq!(json["query"], serde_json::json!([["x", "1"], ["x", "2"]]));
    assert!(reply.head.to_ascii_lowercase().contains("x-request-id: "), "{}", reply.head);

    let reply = exchange(&mut conn, "GET /users/12 HTTP/1.1\r\nhost: t\r\nx-request-id: abc-1\r\n\r\n");
    assert_eq!(reply.json()["params"][0][1], "Number(12.0)");
    assert!(reply.head.contains("x-request-id: abc-1"), "{}", reply.head);

    let bad = exchange(&mut conn, "GET /users/twelve HTTP/1.1\r\nhost: t\r\n\r\n");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["code"], "bad_param");

    let missing = exchange(&mut conn, "GET /nope HTTP/1.1\r\nhost: t\r\n\r\n");
    assert_eq!((missing.status, missing.json()["error"]["code"].as_str()), (404, Some("route_not_found")));

    let wrong_method = exchange(&mut conn, "DELETE /echo HTTP/1.1\r\nhost: t\r\n\r\n");
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.head.contains("allow: POST"), "{}", wrong_method.head);

    let echo = exchange(
        &mut conn,
        "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{\"a\":[1]}",
    );
    assert_eq!(echo.json()["kind"], "json");
    assert_eq!(echo.json()["body"], "{\"a\":[1]}");

    control.shutdown();
    drop(conn);
    worker.join().unwrap();
}

#[test]
fn bodies_over_the_limit_get_413_declared_or_streamed() {
    let control = bind();
    let addr = control.local_addr();
    let worker = spawn_worker(control.clone(), 1, WorkerOptions { body_limit: 16, ..Default::default() });

    let declared = exchange(&mut connect(addr), "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 17\r\n\r\n");
    assert_eq!(declared.status, 413);
    assert_eq!(declared.json()["error"]["code"], "payload_too_large");

    let chunked = exchange(
        &mut connect(addr),
        "POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nX\r\n0\r\n\r\n",
    );
    assert_eq!(chunked.status, 413);

    let fits = exchange(&mut connect(addr), "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 16\r\n\r\n0123456789abcdef");
    assert_eq!(fits.status, 200);

    control.shutdown();
    worker.join().unwrap();
}

#[test]
fn a_busy_worker_stops_accepting_and_an_idle_one_takes_new_connections() {
    let control = bind();
    let addr = control.local_addr();
    let workers = [
        spawn_worker(control.clone(), 1, WorkerOptions::default()),
        spawn_worker(control.clone(), 2, WorkerOptions::default()),
    ];
    let slow = thread::spawn(move || get(addr, "/slow/1500"));
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(get(addr, "/hello/x").status, 200);
    }
    assert!(started.elapsed() < Duration::from_millis(1200), "fast requests waited for the busy worker: {:?}", started.elapsed());
    let slow = slow.join().unwrap();
    assert_eq!(slow.status, 200);
    control.shutdown();
    for worker in workers {
        worker.join().unwrap();
    }
}

#[test]
fn shutdown_finishes_the_request_in_flight_then_ends_the_loop() {
    let control = bind();
    let addr = control.local_addr();
    let worker = spawn_worker(control.clone(), 1, WorkerOptions::default());
    let in_flight = thread::spawn(move || get(addr, "/slow/400"));
    thread::sleep(Duration::from_millis(150));
    control.shutdown();
    assert_eq!(in_flight.join().unwrap().status, 200, "the in-flight request completes");
    worker.join().unwrap();
    assert!(TcpStream::connect(addr).is_err(), "the port is closed after shutdown");
}

#[test]
fn draining_one_worker_leaves_the_others_serving() {
    let control = bind();
    let addr = control.local_addr();
    let first = spawn_worker(control.clone(), 1, WorkerOptions::default());
    let second = spawn_worker(control.clone(), 2, WorkerOptions::default());
    assert!(control.drain_worker(1));
    first.join().unwrap();
    assert_eq!(control.worker_slots(), vec![2]);
    for _ in 0..3 {
        assert_eq!(get(addr, "/hello/a").json()["worker"], 2);
    }
    control.shutdown();
    second.join().unwrap();
}

#[test]
fn an_aborted_worker_answers_its_request_504_on_timeout() {
    let control = bind();
    let addr = control.local_addr();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (terminate_tx, terminate_rx) = mpsc::channel::<()>();
    let loop_control = control.clone();
    let worker = thread::spawn(move || {
        let routes = Arc::new(RouteTable::from_json(ROUTES).unwrap());
        let mut worker = WorkerLoop::new(loop_control, 7, routes, WorkerOptions::default()).unwrap();
        ready_tx.send(()).unwrap();
        let request = worker.next_request().unwrap();
        // The "action" hangs until the main thread aborts and terminates it; then the teardown answers.
        terminate_rx.recv().unwrap();
        assert_eq!(worker.in_flight_id(), Some(request.id.as_str()));
        worker.finish(Duration::from_secs(2));
    });
    ready_rx.recv().unwrap();
    let client = thread::spawn(move || get(addr, "/hello/stuck"));
    thread::sleep(Duration::from_millis(200));
    assert!(control.abort_worker(7, AbortReason::Timeout));
    terminate_tx.send(()).unwrap();
    let reply = client.join().unwrap();
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["error"]["code"], "action_timeout");
    worker.join().unwrap();
    control.shutdown();
}

#[test]
fn unavailable_answers_503_with_the_apps_error_but_health_stays_up() {
    let control = bind();
    let addr = control.local_addr();
    let worker = spawn_worker(control.clone(), 1, WorkerOptions::default());
    control.set_unavailable(Some(Bytes::from_static(br#"{"code":"type_errors","message":"2 type errors"}"#)));
    let blocked = get(addr, "/hello/a");
    assert_eq!(blocked.status, 503);
    assert_eq!(blocked.json()["error"]["code"], "type_errors");
    assert_eq!(get(addr, "/__titan/health").status, 200);
    assert_eq!(get(addr, "/__titan/ready").status, 503);
    control.set_unavailable(None);
    assert_eq!(get(addr, "/hello/a").status, 200);
    assert_eq!(get(addr, "/__titan/ready").status, 200);
    control.shutdown();
    worker.join().unwrap();
}

#[test]
fn a_draining_worker_hands_its_keep_alive_connections_to_a_serving_one() {
    let control = bind();
    let addr = control.local_addr();
    let old = spawn_worker(control.clone(), 1, WorkerOptions::default());
    let mut idle = connect(addr);
    let mut half_sent = connect(addr);
    assert_eq!(exchange(&mut idle, "GET /hello/a HTTP/1.1\r\nhost: t\r\n\r\n").json()["worker"], 1);
    assert_eq!(exchange(&mut half_sent, "GET /hello/b HTTP/1.1\r\nhost: t\r\n\r\n").json()["worker"], 1);
    // Half a request head reaches the old worker before it drains.
    half_sent.write_all(b"GET /hello/c HTTP/1.1\r\nho").unwrap();
    thread::sleep(Duration::from_millis(100));

    let new = spawn_worker(control.clone(), 2, WorkerOptions::default());
    assert!(control.drain_worker(1));
    old.join().unwrap();

    let reply = exchange(&mut idle, "GET /hello/d HTTP/1.1\r\nhost: t\r\n\r\n");
    assert_eq!((reply.status, reply.json()["worker"].as_u64()), (200, Some(2)), "same connection, new worker");
    let reply = exchange(&mut half_sent, "st: t\r\n\r\n");
    assert_eq!(reply.json()["params"][0][1], "Str(\"c\")", "the bytes the old worker had read were not lost");
    assert_eq!(reply.json()["worker"], 2);
    assert_eq!(control.pending_handoffs(), 0);

    control.shutdown();
    new.join().unwrap();
}

#[test]
fn a_request_that_reaches_a_worker_together_with_its_drain_runs_on_a_serving_worker() {
    // The old worker is busy in an "action" while a request arrives on its idle keep-alive
    // connection and the drain is signalled: when it next runs its I/O, both are ready. The
    // drain must win, so whatever was sent after the drain began runs the new build. Repeated,
    // because the wrong order would only win some of the time.
    for round in 0..4 {
        let control = bind();
        let addr = control.local_addr();
        let old = spawn_worker(control.clone(), 1, WorkerOptions::default());
        let mut idle = connect(addr);
        assert_eq!(exchange(&mut idle, "GET /hello/a HTTP/1.1\r\nhost: t\r\n\r\n").json()["worker"], 1);
        let mut busy = connect(addr);
        busy.write_all(b"GET /slow/150 HTTP/1.1\r\nhost: t\r\n\r\n").unwrap();
        thread::sleep(Duration::from_millis(50));

        let new = spawn_worker(control.clone(), 2, WorkerOptions::default());
        assert!(control.drain_worker(1));
        let reply = exchange(&mut idle, "GET /hello/after-drain HTTP/1.1\r\nhost: t\r\n\r\n");
        assert_eq!(reply.json()["worker"], 2, "round {round}: a request sent after the drain began ran on the draining worker");
        old.join().unwrap();
        control.shutdown();
        new.join().unwrap();
    }
}

#[test]
fn a_generation_drained_at_once_hands_every_connection_to_the_new_workers_only() {
    let control = bind();
    let addr = control.local_addr();
    let old = [spawn_worker(control.clone(), 1, WorkerOptions::default()), spawn_worker(control.clone(), 2, WorkerOptions::default())];
    // Keep-alive connections until both old workers hold one.
    let mut held: Vec<(TcpStream, u64)> = Vec::new();
    for _ in 0..40 {
        let mut stream = connect(addr);
        let worker = exchange(&mut stream, "GET /hello/a HTTP/1.1\r\nhost: t\r\n\r\n").json()["worker"].as_u64().unwrap();
        held.push((stream, worker));
        if [1, 2].iter().all(|slot| held.iter().any(|(_, w)| w == slot)) {
            break;
        }
    }
    assert!([1, 2].iter().all(|slot| held.iter().any(|(_, w)| w == slot)), "both old workers hold a connection");

    let new = spawn_worker(control.clone(), 3, WorkerOptions::default());
    assert_eq!(control.drain_workers(&[1, 2, 99]), 2, "slot 99 does not exist");
    for worker in old {
        worker.join().unwrap();
    }
    for (stream, _) in &mut held {
        let reply = exchange(stream, "GET /hello/b HTTP/1.1\r\nhost: t\r\n\r\n");
        assert_eq!(reply.json()["worker"], 3, "a drained worker never adopts what another hands off");
    }
    control.shutdown();
    new.join().unwrap();
}

/// What the extension-sync test's worker did, in order.
#[derive(Debug, PartialEq)]
enum Step {
    Hook(thread::ThreadId),
    ActionStarted,
    ActionEnded,
}

#[test]
fn a_waiting_worker_runs_its_extension_sync_hook_on_its_thread_and_a_busy_one_after_its_action() {
    let control = bind();
    let addr = control.local_addr();
    let (steps_tx, steps) = mpsc::channel();
    let (ready_tx, ready) = mpsc::channel();
    let worker_control = control.clone();
    let worker = thread::spawn(move || {
        let routes = Arc::new(RouteTable::from_json(ROUTES).unwrap());
        let mut worker = WorkerLoop::new(worker_control, 1, routes, WorkerOptions::default()).unwrap();
        let hook_steps = steps_tx.clone();
        worker.on_extension_sync(Box::new(move || hook_steps.send(Step::Hook(thread::current().id())).unwrap()));
        ready_tx.send(thread::current().id()).unwrap();
        while let Some(request) = worker.next_request() {
            steps_tx.send(Step::ActionStarted).unwrap();
            if let Some((_, ParamValue::Number(ms))) = request.params.first() {
                thread::sleep(Duration::from_millis(*ms as u64));
            }
            steps_tx.send(Step::ActionEnded).unwrap();
            worker.respond(build_response(200, None, &[], Bytes::from_static(b"done")).unwrap());
        }
    });
    let worker_thread = ready.recv_timeout(Duration::from_secs(10)).unwrap();
    let next = || steps.recv_timeout(Duration::from_secs(10)).unwrap();

    // Waiting for requests: woken, it runs the hook on its own thread and keeps serving.
    control.wake_for_extension_sync();
    assert_eq!(next(), Step::Hook(worker_thread));
    assert_eq!(get(addr, "/users/0").body, "done");
    assert_eq!((next(), next()), (Step::ActionStarted, Step::ActionEnded));

    // Running an action: the wake-up is kept, and the hook runs once the action is over.
    let slow = thread::spawn(move || get(addr, "/slow/200"));
    assert_eq!(next(), Step::ActionStarted);
    control.wake_for_extension_sync();
    assert_eq!(next(), Step::ActionEnded);
    assert_eq!(next(), Step::Hook(worker_thread));
    assert_eq!(slow.join().unwrap().body, "done");

    control.shutdown();
    worker.join().unwrap();
    assert!(steps.try_recv().is_err(), "one wake-up, one hook run");
}
