//! The tcp and unix transports over real loopback sockets: a client written here with the
//! crate's own encoder handshakes, calls, pings, and misbehaves, against `serve`.

use std::time::Duration;

use titan_netron::transport::{
    Connection, ListenAddress, Listener, ServerSession, TransportError, parse_listen_address,
};
use titan_netron::{
    DEFAULT_MAX_FRAME_LEN, DecodeError, Frame, FrameDecoder, Handshake, Impulse, Packet,
    PacketType, Value,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

mod common;
use common::{SERVER_ID, add_call, calculator, start};

fn unix_address(name: &str) -> String {
    let path =
        std::env::temp_dir().join(format!("titan-netron-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    format!("unix://{}", path.display())
}

/// A raw test client: bytes out, frames in.
struct Client<S> {
    io: S,
    decoder: FrameDecoder,
    ready: Vec<Frame>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    fn new(io: S) -> Self {
        Self {
            io,
            decoder: FrameDecoder::new(),
            ready: Vec::new(),
        }
    }

    async fn next_frame(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 4096];
        while self.ready.is_empty() {
            let read = tokio::time::timeout(Duration::from_secs(10), self.io.read(&mut buf))
                .await
                .expect("the server answers within 10 s")
                .unwrap();
            if read == 0 {
                return None;
            }
            self.ready.extend(self.decoder.push(&buf[..read]).unwrap());
        }
        Some(self.ready.remove(0))
    }

    async fn next_packet(&mut self) -> Packet {
        Packet::decode(self.next_frame().await.expect("a packet").body()).unwrap()
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// Reads the server id and answers with a client id, as Netron's client does.
    async fn handshake(&mut self, client_id: &str) {
        let hello = self.next_frame().await.expect("the server's id message");
        assert_eq!(
            hello.handshake().unwrap(),
            Handshake::ServerId {
                id: SERVER_ID.into()
            }
        );
        let answer = Handshake::ClientId {
            id: client_id.into(),
        };
        self.write(&answer.encode_frame().unwrap()).await;
    }
}

async fn call_and_ping<S: AsyncRead + AsyncWrite + Unpin>(client: &mut Client<S>) {
    client.handshake("client-1").await;
    client
        .write(&add_call(1, 2, 3).encode_frame().unwrap())
        .await;
    let answer = client.next_packet().await;
    assert_eq!(answer, add_call(1, 2, 3).response(Value::from(5)));
    assert_eq!(answer.impulse, Impulse::Response);

    let ping = Packet::request(2, PacketType::Ping, Value::from(1_700_000_000_000u64));
    client.write(&ping.encode_frame().unwrap()).await;
    let pong = client.next_packet().await;
    assert_eq!(pong.id, 2);
    assert_eq!(pong.packet_type, PacketType::Ping);
    assert_eq!(pong.impulse, Impulse::Response);
    assert_eq!(
        pong.data,
        Value::from(1_700_000_000_000u64),
        "PING echoes its data"
    );
}

#[tokio::test]
async fn tcp_handshake_call_and_ping() {
    let (address, mut ends) = start("tcp://127.0.0.1:0").await;
    let ListenAddress::Tcp { host, port } = address else {
        panic!("bound {address}")
    };
    assert_ne!(port, 0);
    let mut client = Client::new(TcpStream::connect((host.as_str(), port)).await.unwrap());
    call_and_ping(&mut client).await;
    drop(client);
    let end = ends.recv().await.unwrap();
    assert_eq!(end.client_id.as_deref(), Some("client-1"));
    assert!(end.result.is_ok(), "{:?}", end.result);
}

#[tokio::test]
async fn unix_handshake_call_and_ping() {
    let (address, _ends) = start(&unix_address("call")).await;
    let ListenAddress::Unix(path) = address else {
        panic!("bound {address}")
    };
    let mut client = Client::new(UnixStream::connect(&path).await.unwrap());
    call_and_ping(&mut client).await;
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn an_oversized_frame_closes_only_its_connection() {
    let (address, mut ends) = start(&unix_address("oversized")).await;
    let ListenAddress::Unix(path) = address else {
        panic!()
    };
    let mut good = Client::new(UnixStream::connect(&path).await.unwrap());
    good.handshake("good").await;

    let mut bad = Client::new(UnixStream::connect(&path).await.unwrap());
    bad.handshake("bad").await;
    let too_big = u32::try_from(DEFAULT_MAX_FRAME_LEN + 1).unwrap();
    bad.write(&too_big.to_be_bytes()).await;
    assert!(
        bad.next_frame().await.is_none(),
        "the server closes the connection"
    );
    let end = ends.recv().await.unwrap();
    assert_eq!(end.client_id.as_deref(), Some("bad"));
    let err = end.result.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Frame(DecodeError::Oversized { size, .. }) if size == DEFAULT_MAX_FRAME_LEN + 1
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("closed the Netron connection"),
        "{err}"
    );

    good.write(&add_call(7, 20, 22).encode_frame().unwrap())
        .await;
    assert_eq!(good.next_packet().await.data, Value::from(42));
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn a_truncated_frame_then_eof_is_reported() {
    let (address, mut ends) = start("tcp://127.0.0.1:0").await;
    let ListenAddress::Tcp { host, port } = address else {
        panic!()
    };
    let mut client = Client::new(TcpStream::connect((host.as_str(), port)).await.unwrap());
    client.handshake("cut").await;
    // A frame that declares 100 bytes, of which 10 arrive before the client hangs up.
    client.write(&[0, 0, 0, 100]).await;
    client.write(&[0xaa; 10]).await;
    client.io.shutdown().await.unwrap();
    let end = ends.recv().await.unwrap();
    let err = end.result.unwrap_err();
    assert!(
        matches!(err, TransportError::TruncatedFrame { buffered: 14 }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("in the middle of a frame"),
        "{err}"
    );
}

#[tokio::test]
async fn many_frames_in_one_write_and_one_frame_over_many_writes() {
    let (address, _ends) = start("tcp://127.0.0.1:0").await;
    let ListenAddress::Tcp { host, port } = address else {
        panic!()
    };
    let stream = TcpStream::connect((host.as_str(), port)).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut client = Client::new(stream);
    client.next_frame().await.expect("server id");

    // The client id and three calls in one write.
    let mut batch = Handshake::ClientId { id: "batch".into() }
        .encode_frame()
        .unwrap();
    for id in 1..=3 {
        batch.extend(add_call(id, id as i32, 100).encode_frame().unwrap());
    }
    client.write(&batch).await;
    for id in 1..=3 {
        let answer = client.next_packet().await;
        assert_eq!((answer.id, answer.data), (id, Value::from(id + 100)));
    }

    // One call, a byte per write.
    for byte in add_call(9, 4, 5).encode_frame().unwrap() {
        client.write(&[byte]).await;
        client.io.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let answer = client.next_packet().await;
    assert_eq!((answer.id, answer.data), (9, Value::from(9)));
}

#[tokio::test]
async fn a_session_drops_malformed_packets_and_serves_a_client_without_an_id() {
    let listener = Listener::bind(&parse_listen_address("tcp://127.0.0.1:0").unwrap())
        .await
        .unwrap();
    let ListenAddress::Tcp { host, port } = listener.local_address().unwrap() else {
        panic!()
    };
    let server = tokio::spawn(async move {
        let connection: Connection = listener.accept().await.unwrap().open().await.unwrap();
        assert!(matches!(connection, Connection::Framed(_)));
        let mut session = ServerSession::accept(connection, SERVER_ID).await.unwrap();
        let packet = session.next_packet().await.unwrap().expect("a packet");
        let answer = calculator(packet.clone()).unwrap();
        session.send_packet(&answer).await.unwrap();
        assert!(session.next_packet().await.unwrap().is_none(), "clean EOF");
        (
            packet.id,
            session.client_id().map(str::to_owned),
            session.dropped_frames(),
        )
    });

    let mut client = Client::new(TcpStream::connect((host.as_str(), port)).await.unwrap());
    client.next_frame().await.expect("server id");
    // No client-id; a packet cut after its flags byte (no value), then a good one.
    let mut bytes = Vec::new();
    titan_netron::write_frame(&mut bytes, &[0, 0, 0, 1, 0x43]).unwrap();
    bytes.extend(add_call(2, 1, 1).encode_frame().unwrap());
    client.write(&bytes).await;
    assert_eq!(client.next_packet().await.data, Value::from(2));
    client.io.shutdown().await.unwrap();
    assert_eq!(server.await.unwrap(), (2, None, 1));
}

#[tokio::test]
async fn a_server_id_from_the_client_is_refused_with_a_message() {
    let (address, mut ends) = start("tcp://127.0.0.1:0").await;
    let ListenAddress::Tcp { host, port } = address else {
        panic!()
    };
    let mut client = Client::new(TcpStream::connect((host.as_str(), port)).await.unwrap());
    client.next_frame().await.expect("server id");
    let wrong = Handshake::ServerId { id: "x".into() };
    client.write(&wrong.encode_frame().unwrap()).await;
    assert!(client.next_frame().await.is_none());
    let message = ends.recv().await.unwrap().result.unwrap_err().to_string();
    assert!(
        message.contains("connect a Netron client, not a server"),
        "{message}"
    );
}

#[tokio::test]
async fn binding_a_used_unix_path_says_which_address() {
    let address = parse_listen_address(&unix_address("twice")).unwrap();
    let _first = Listener::bind(&address).await.unwrap();
    let err = Listener::bind(&address).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("cannot listen on {address}")),
        "{err}"
    );
    let ListenAddress::Unix(path) = address else {
        panic!()
    };
    std::fs::remove_file(path).unwrap();
}
