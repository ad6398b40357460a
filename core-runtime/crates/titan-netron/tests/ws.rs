//! The ws transport over real loopback sockets: tokio-tungstenite's client handshakes, calls,
//! pings (Netron's PING and WebSocket's own), misbehaves, and oversteps the size cap, against
//! `serve` and `ServerSession`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use titan_netron::transport::{
    Connection, ListenAddress, Listener, ServerSession, TransportError, parse_listen_address,
};
use titan_netron::{
    DEFAULT_MAX_FRAME_LEN, DecodeError, Handshake, Impulse, Packet, PacketType, Value,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

mod common;
use common::{SERVER_ID, add_call, calculator, start};

type Client = WebSocketStream<TcpStream>;

fn binary(packet: &Packet) -> Message {
    Message::Binary(packet.encode().unwrap().into())
}

fn port_of(address: &ListenAddress) -> u16 {
    match address {
        ListenAddress::Ws { port, .. } => *port,
        other => panic!("bound {other}"),
    }
}

async fn connect(port: u16, path: &str) -> Result<Client, WsError> {
    let socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let url = format!("ws://127.0.0.1:{port}{path}");
    tokio_tungstenite::client_async(url, socket)
        .await
        .map(|(stream, _response)| stream)
}

/// The next message other than a WebSocket ping/pong, or `None` when the stream ended.
async fn next_message(client: &mut Client) -> Option<Message> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("the server answers within 10 s");
        match next {
            None | Some(Err(_)) => return None,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(message)) => return Some(message),
        }
    }
}

async fn next_packet(client: &mut Client) -> Packet {
    match next_message(client).await {
        Some(Message::Binary(body)) => Packet::decode(&body).unwrap(),
        other => panic!("expected a binary packet message, got {other:?}"),
    }
}

/// Reads the server id (a binary message, as Netron's server sends it) and answers with a
/// client id, as a text message when `as_text` (browsers) or binary (Netron's node client).
async fn handshake(client: &mut Client, client_id: &str, as_text: bool) {
    let Some(Message::Binary(hello)) = next_message(client).await else {
        panic!("the server's id arrives as one binary message");
    };
    assert_eq!(
        Handshake::parse(&hello).unwrap(),
        Handshake::ServerId {
            id: SERVER_ID.into()
        }
    );
    let answer = Handshake::ClientId {
        id: client_id.into(),
    }
    .to_json();
    let message = if as_text {
        Message::Text(answer.into())
    } else {
        Message::Binary(answer.into_bytes().into())
    };
    client.send(message).await.unwrap();
}

#[tokio::test]
async fn ws_handshake_call_netron_ping_and_websocket_ping() {
    let (address, mut ends) = start("ws://127.0.0.1:0/netron").await;
    let mut client = connect(port_of(&address), "/netron").await.unwrap();
    handshake(&mut client, "browser-1", true).await;

    client.send(binary(&add_call(1, 2, 3))).await.unwrap();
    let answer = next_packet(&mut client).await;
    assert_eq!(answer, add_call(1, 2, 3).response(Value::from(5)));
    assert_eq!(answer.impulse, Impulse::Response);

    let ping = Packet::request(2, PacketType::Ping, Value::from(1_700_000_000_000u64));
    client.send(binary(&ping)).await.unwrap();
    let pong = next_packet(&mut client).await;
    assert_eq!(
        (pong.id, pong.packet_type, pong.impulse),
        (2, PacketType::Ping, Impulse::Response)
    );
    assert_eq!(
        pong.data,
        Value::from(1_700_000_000_000u64),
        "PING echoes its data"
    );

    // The WebSocket protocol's own ping is answered with a pong carrying the same payload.
    client
        .send(Message::Ping(b"keep-alive".to_vec().into()))
        .await
        .unwrap();
    let ws_pong = tokio::time::timeout(Duration::from_secs(10), client.next())
        .await
        .unwrap();
    match ws_pong {
        Some(Ok(Message::Pong(payload))) => assert_eq!(&payload[..], b"keep-alive"),
        other => panic!("expected a WebSocket pong, got {other:?}"),
    }

    // A close handshake ends the connection cleanly.
    client.close(None).await.unwrap();
    assert!(
        matches!(next_message(&mut client).await, Some(Message::Close(_))),
        "the server answers a close with a close"
    );
    let end = ends.recv().await.unwrap();
    assert_eq!(end.client_id.as_deref(), Some("browser-1"));
    assert!(end.result.is_ok(), "{:?}", end.result);
}

#[tokio::test]
async fn an_oversized_message_closes_only_its_connection() {
    let (address, mut ends) = start("ws://127.0.0.1:0").await;
    let port = port_of(&address);
    let mut good = connect(port, "/").await.unwrap();
    handshake(&mut good, "good", false).await;
    let mut bad = connect(port, "/").await.unwrap();
    handshake(&mut bad, "bad", false).await;
    // Let the server take "bad"'s client-id before the oversized frame arrives.
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Only the header of a masked binary frame that declares cap + 1 bytes: the server must
    // refuse it from the header alone, without waiting for (or buffering) the payload.
    let too_big = DEFAULT_MAX_FRAME_LEN as u64 + 1;
    let mut header = vec![0x82, 0x80 | 127];
    header.extend(too_big.to_be_bytes());
    header.extend([1, 2, 3, 4]);
    bad.get_mut().write_all(&header).await.unwrap();

    match next_message(&mut bad).await {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Size, "1009, message too big");
            assert!(frame.reason.contains("limit"), "{}", frame.reason);
        }
        other => panic!("expected a close frame 1009, got {other:?}"),
    }
    let end = ends.recv().await.unwrap();
    assert_eq!(end.client_id.as_deref(), Some("bad"));
    let err = end.result.unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Frame(DecodeError::Oversized { size, max, .. })
                if size as u64 == too_big && max == DEFAULT_MAX_FRAME_LEN
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("closed the Netron connection"),
        "{err}"
    );

    good.send(binary(&add_call(7, 20, 22))).await.unwrap();
    assert_eq!(next_packet(&mut good).await.data, Value::from(42));
}

#[tokio::test]
async fn back_to_back_packets_and_junk_after_the_handshake_on_a_session() {
    let listener = Listener::bind(&parse_listen_address("ws://127.0.0.1:0").unwrap())
        .await
        .unwrap();
    let port = port_of(&listener.local_address().unwrap());
    let server = tokio::spawn(async move {
        let connection = listener.accept().await.unwrap().open().await.unwrap();
        assert!(matches!(connection, Connection::Ws(_)));
        let mut session = ServerSession::accept(connection, SERVER_ID).await.unwrap();
        let mut ids = Vec::new();
        while let Some(packet) = session.next_packet().await.unwrap() {
            ids.push(packet.id);
            session
                .send_packet(&calculator(packet).unwrap())
                .await
                .unwrap();
        }
        (
            ids,
            session.client_id().map(str::to_owned),
            session.dropped_frames(),
        )
    });

    let mut client = connect(port, "/any/path").await.unwrap();
    handshake(&mut client, "batch", true).await;
    // Junk, all dropped and counted while the connection stays up: text that is not JSON, text
    // that looks like JSON but is not (after the handshake, so not a handshake error), and a
    // binary message cut after its flags byte.
    client.feed(Message::Text("hello".into())).await.unwrap();
    client
        .feed(Message::Text("{not json".into()))
        .await
        .unwrap();
    client
        .feed(Message::Binary(vec![0, 0, 0, 1, 0x43].into()))
        .await
        .unwrap();
    // Three calls written back to back in one flush.
    for id in 1..=3 {
        client
            .feed(binary(&add_call(id, id as i32, 100)))
            .await
            .unwrap();
    }
    client.flush().await.unwrap();
    for id in 1..=3 {
        let answer = next_packet(&mut client).await;
        assert_eq!((answer.id, answer.data), (id, Value::from(id + 100)));
    }
    client.close(None).await.unwrap();
    let (ids, client_id, dropped) = server.await.unwrap();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(client_id.as_deref(), Some("batch"));
    assert_eq!(dropped, 3);
}

#[tokio::test]
async fn an_upgrade_outside_the_mount_path_gets_404_and_a_message() {
    let (address, mut ends) = start("ws://127.0.0.1:0/netron").await;
    let err = connect(port_of(&address), "/other").await.unwrap_err();
    match err {
        WsError::Http(response) => assert_eq!(response.status(), 404),
        other => panic!("expected an HTTP 404, got {other:?}"),
    }
    let message = ends.recv().await.unwrap().result.unwrap_err().to_string();
    assert!(
        message.contains(r#"path "/other""#) && message.contains("ws://HOST:PORT/netron"),
        "{message}"
    );
}

#[tokio::test]
async fn a_plain_tcp_client_on_a_ws_listener_is_refused() {
    let (address, mut ends) = start("ws://127.0.0.1:0").await;
    let mut socket = TcpStream::connect(("127.0.0.1", port_of(&address)))
        .await
        .unwrap();
    // A Netron tcp client's first bytes: a length-prefixed frame, not an HTTP request.
    socket
        .write_all(&add_call(1, 1, 1).encode_frame().unwrap())
        .await
        .unwrap();
    socket.shutdown().await.unwrap();
    let err = ends.recv().await.unwrap().result.unwrap_err();
    assert!(matches!(err, TransportError::WebSocket(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("closed the Netron ws connection"),
        "{err}"
    );
}
