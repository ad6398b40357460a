//! Netron transports from extensions, end to end with real pieces: the test builds the fixture
//! `core-runtime/test-extensions/transport-fixture` with cargo, `dlopen`s it through titan-core
//! (its `init` registers a transport through `titan_host.register_transport`), binds
//! `SCHEME://127.0.0.1:0` with `Listener::bind_with(.., transport_registry())`, serves it with
//! titan-netron's `serve`, and talks to it over real sockets.
//!
//! The fixture's protocol: the client sends `HELO`, the server answers `OLEH` (its handshake),
//! then every byte is XORed with `KEY` on the wire. `BOOM` as the preface panics in the
//! session, any other preface is an error. Every test uses its own scheme: the registry is
//! process-wide, shared by the tests running at once.

mod common;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use titan_core::ext::{ExtensionError, InitOptions, LoadedExtension, transport_registry};
use titan_netron::transport::{ConnectionEnd, ListenAddress, Listener, ServeOptions, parse_listen_address, serve};
use titan_netron::{DecodeLimits, Frame, FrameDecoder, Handshake, Packet, PacketType, Value, write_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The fixture's wire key (see its `KEY`).
const KEY: u8 = 0x5A;
const SERVER_ID: &str = "transport-test-server";

/// The fixture library, built once per test process.
fn fixture() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| common::library(&common::build_test_extensions(&["transport-fixture"]), "transport_fixture"))
}

/// A directory of its own for one test, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("titan-core-transport-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn events_path(&self) -> PathBuf {
        self.0.join("events.log")
    }

    /// Whether the transport's state was freed.
    fn dropped(&self) -> bool {
        std::fs::read_to_string(self.events_path()).unwrap_or_default().lines().any(|line| line == "dropped")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(config: serde_json::Value) -> Result<Arc<LoadedExtension>, ExtensionError> {
    LoadedExtension::open(fixture(), InitOptions { config_json: config.to_string(), data_dir: None })
}

/// Binds `SCHEME://127.0.0.1:0` and serves it (PING answered by `serve`, nothing else);
/// returns the bound address, the serving task and the connection ends.
async fn start(scheme: &str) -> (ListenAddress, tokio::task::JoinHandle<std::io::Error>, mpsc::UnboundedReceiver<ConnectionEnd>) {
    let address = parse_listen_address(&format!("{scheme}://127.0.0.1:0")).unwrap();
    let listener = Listener::bind_with(&address, transport_registry()).await.unwrap();
    let bound = listener.local_address().unwrap();
    let (ends_tx, ends) = mpsc::unbounded_channel();
    let mut options = ServeOptions::new(SERVER_ID);
    options.on_connection_end = Some(Arc::new(move |end| {
        let _ = ends_tx.send(end);
    }));
    (bound, tokio::spawn(serve(listener, options, |_| None)), ends)
}

/// A client of the fixture's protocol, speaking Netron over it.
struct XorClient {
    socket: TcpStream,
    decoder: FrameDecoder,
    frames: VecDeque<Frame>,
}

impl XorClient {
    /// Connects and sends the 4-byte `preface`.
    async fn connect(address: &ListenAddress, preface: &[u8; 4]) -> Self {
        let ListenAddress::Extension { host, port, .. } = address else { panic!("not an extension's address: {address}") };
        let mut socket = TcpStream::connect((host.as_str(), *port)).await.unwrap();
        socket.write_all(preface).await.unwrap();
        Self { socket, decoder: FrameDecoder::new(), frames: VecDeque::new() }
    }

    /// Connects with `HELO` and reads the server's `OLEH`.
    async fn greeted(address: &ListenAddress) -> Self {
        let mut client = Self::connect(address, b"HELO").await;
        let mut answer = [0u8; 4];
        client.socket.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"OLEH");
        client
    }

    async fn send_frame(&mut self, body: &[u8]) {
        let mut out = Vec::new();
        write_frame(&mut out, body).unwrap();
        out.iter_mut().for_each(|b| *b ^= KEY);
        self.socket.write_all(&out).await.unwrap();
    }

    /// The next frame, or `None` when the server closed the connection (or reset it).
    async fn recv_frame(&mut self) -> Option<Frame> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Some(frame);
            }
            let read = match self.socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(read) => read,
            };
            chunk[..read].iter_mut().for_each(|b| *b ^= KEY);
            self.frames.extend(self.decoder.push(&chunk[..read]).unwrap());
        }
    }

    /// Netron's id handshake: returns the server's id.
    async fn netron_handshake(&mut self) -> String {
        let hello = self.recv_frame().await.expect("the server's id");
        let server_id = hello.handshake().unwrap().id().to_owned();
        self.send_frame(Handshake::ClientId { id: "xor-client".into() }.to_json().as_bytes()).await;
        server_id
    }

    /// A PING round trip: what came back.
    async fn ping(&mut self, id: u32, data: Value) -> Value {
        self.send_frame(&Packet::request(id, PacketType::Ping, data).encode().unwrap()).await;
        let frame = self.recv_frame().await.expect("the PING's answer");
        let answer = frame.packet(&DecodeLimits::default()).unwrap();
        assert_eq!((answer.id, answer.packet_type), (id, PacketType::Ping));
        answer.data
    }
}

/// The next connection end, with a deadline.
async fn next_end(ends: &mut mpsc::UnboundedReceiver<ConnectionEnd>) -> ConnectionEnd {
    tokio::time::timeout(Duration::from_secs(10), ends.recv()).await.expect("a connection ended").unwrap()
}

#[tokio::test]
async fn a_transport_from_an_extension_carries_netron_through_its_session() {
    let _extension = load(serde_json::json!({ "scheme": "xor-serve" })).unwrap();
    assert!(transport_registry().schemes().contains(&"xor-serve".to_owned()));
    let (address, _server, mut ends) = start("xor-serve").await;
    assert_eq!(address.scheme(), "xor-serve");

    let mut client = XorClient::greeted(&address).await;
    assert_eq!(client.netron_handshake().await, SERVER_ID);
    assert_eq!(client.ping(1, "hello".into()).await, Value::from("hello"));
    // A frame far larger than every buffer on the way (the socket's chunks, the session's 4 KiB
    // each way): many rounds of partial reads and writes, and still every byte in order.
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    assert_eq!(client.ping(2, Value::Binary(big.clone())).await, Value::Binary(big));

    drop(client);
    let end = next_end(&mut ends).await;
    assert_eq!(end.client_id.as_deref(), Some("xor-client"));
    assert!(end.result.is_ok(), "a client that hangs up ends cleanly: {:?}", end.result);
}

#[tokio::test]
async fn a_failing_or_panicking_session_drops_only_its_own_connection() {
    let _extension = load(serde_json::json!({ "scheme": "xor-faults" })).unwrap();
    let (address, _server, mut ends) = start("xor-faults").await;
    let mut steady = XorClient::greeted(&address).await;
    steady.netron_handshake().await;
    assert_eq!(steady.ping(1, 1.into()).await, Value::from(1));

    let mut panicking = XorClient::connect(&address, b"BOOM").await;
    assert!(panicking.recv_frame().await.is_none(), "the panicking session's connection is closed");
    let end = next_end(&mut ends).await;
    let message = end.result.unwrap_err().to_string();
    assert!(message.contains("the xor-faults:// transport of extension `transport-fixture` dropped the connection: panicked: BOOM on the wire"), "{message}");

    let mut failing = XorClient::connect(&address, b"NOPE").await;
    assert!(failing.recv_frame().await.is_none(), "the failing session's connection is closed");
    let message = next_end(&mut ends).await.result.unwrap_err().to_string();
    assert!(message.contains(r#"expected the preface HELO, got "NOPE""#), "{message}");

    // A session that completes its handshake but fails to say who the peer is: dropped too.
    let mut unidentified = XorClient::connect(&address, b"WHO?").await;
    let mut received = Vec::new();
    let _ = unidentified.socket.read_to_end(&mut received).await;
    assert_eq!(received, b"OLEH", "the handshake's answer, then the end: no Netron id message");
    let message = next_end(&mut ends).await.result.unwrap_err().to_string();
    assert!(message.contains("could not tell who the peer is: this peer cannot be identified, as the test asked"), "{message}");

    // The listener and the other connection never noticed.
    assert_eq!(steady.ping(2, 2.into()).await, Value::from(2));
    let mut later = XorClient::greeted(&address).await;
    later.netron_handshake().await;
    assert_eq!(later.ping(1, "still serving".into()).await, Value::from("still serving"));
}

#[tokio::test]
async fn built_in_taken_and_malformed_schemes_fail_the_load_with_the_reason() {
    let err = load(serde_json::json!({ "scheme": "ws" })).unwrap_err();
    assert!(matches!(err, ExtensionError::TransportRefused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "extension `transport-fixture` could not register its transport: the ws:// transport is built in; an extension cannot replace it (pick another scheme)"
    );

    let _first = load(serde_json::json!({ "scheme": "xor-taken" })).unwrap();
    let err = load(serde_json::json!({ "scheme": "xor-taken" })).unwrap_err().to_string();
    assert!(err.ends_with("a transport for xor-taken:// is registered already (two extensions provide it: keep one in titan.config.json)"), "{err}");
    assert!(transport_registry().get("xor-taken").is_some(), "the first registration stays");

    let err = load(serde_json::json!({ "scheme": "XOR" })).unwrap_err().to_string();
    assert!(err.contains(r#"its transport scheme "XOR" is not a lower-case URL scheme"#), "{err}");

    // An `init` that ignores the refusal does not load either.
    let err = load(serde_json::json!({ "scheme": "tcp", "ignoreRefusal": true })).unwrap_err().to_string();
    assert!(err.contains("the tcp:// transport is built in"), "{err}");
}

#[tokio::test]
async fn an_init_that_fails_after_registering_leaves_no_transport_behind() {
    let scratch = Scratch::new("failed-init");
    let err = load(serde_json::json!({ "scheme": "xor-failed", "events": scratch.events_path(), "failAfterRegister": true })).unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension `transport-fixture` failed to start: failing after registering, as the config asks. Check its `config` in titan.config.json"
    );
    assert!(transport_registry().get("xor-failed").is_none());
    assert!(scratch.dropped(), "the transport's state was freed");
    let address = parse_listen_address("xor-failed://127.0.0.1:0").unwrap();
    let err = Listener::bind_with(&address, transport_registry()).await.unwrap_err().to_string();
    assert!(err.starts_with("no transport serves xor-failed://"), "{err}");
}

#[tokio::test]
async fn a_listener_keeps_its_transport_after_the_extension_is_released() {
    let scratch = Scratch::new("lifetime");
    let config = serde_json::json!({ "scheme": "xor-life", "events": scratch.events_path() });
    let extension = load(config.clone()).unwrap();
    let (address, server, mut ends) = start("xor-life").await;

    drop(extension);
    assert!(transport_registry().get("xor-life").is_none(), "released: no new listener can bind it");
    // The bound listener still serves, on code from the library it keeps open.
    let mut client = XorClient::greeted(&address).await;
    client.netron_handshake().await;
    assert_eq!(client.ping(1, "after release".into()).await, Value::from("after release"));
    assert!(!scratch.dropped(), "the state lives while a listener and a connection use it");

    server.abort();
    let _ = server.await;
    assert!(!scratch.dropped(), "the open connection still uses it");
    drop(client);
    next_end(&mut ends).await;
    // The connection's task drops its session just after reporting its end.
    for _ in 0..100 {
        if scratch.dropped() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(scratch.dropped(), "freed once the last listener and connection are gone");

    // The scheme is free for the next load.
    let _again = load(config).unwrap();
    assert!(transport_registry().get("xor-life").is_some());
}

#[tokio::test]
async fn reloading_a_transport_extension_is_refused_with_the_fix() {
    let extension = load(serde_json::json!({ "scheme": "xor-reload" })).unwrap();
    let err = extension.reload(fixture(), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension `transport-fixture` cannot be reloaded in place: it registered the xor-reload:// transport, which listeners use directly: restart the server to load a new build of a transport extension"
    );
    assert_eq!(extension.generation(), 1, "the loaded build keeps serving");
    assert!(transport_registry().get("xor-reload").is_some());
}
