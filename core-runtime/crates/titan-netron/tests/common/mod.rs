//! What the socket tests of every transport share: a tiny calculator service, its CALL packet,
//! and `serve` started on an address with a channel of connection ends.

use std::sync::Arc;

use titan_netron::transport::{
    ConnectionEnd, ListenAddress, Listener, ServeOptions, parse_listen_address, serve,
};
use titan_netron::{Packet, PacketType, Value};
use tokio::sync::mpsc;

/// The id the test server announces in its handshake.
pub const SERVER_ID: &str = "titan-test-server";

/// Answers `[defId, "add", a, b]` CALLs with `a + b`, anything else with nothing.
pub fn calculator(packet: Packet) -> Option<Packet> {
    let Value::Array(args) = &packet.data else {
        return None;
    };
    match args.as_slice() {
        [_, Value::String(method), Value::Number(a), Value::Number(b)] if method == "add" => {
            Some(packet.response(Value::Number(a + b)))
        }
        _ => None,
    }
}

/// `calculator.add(a, b)` as a client sends it.
pub fn add_call(id: u32, a: i32, b: i32) -> Packet {
    Packet::request(
        id,
        PacketType::Call,
        Value::Array(vec![
            "calculator@1.0.0".into(),
            "add".into(),
            a.into(),
            b.into(),
        ]),
    )
}

/// Starts `serve` on `address`; returns the bound address and a receiver of connection ends.
pub async fn start(address: &str) -> (ListenAddress, mpsc::UnboundedReceiver<ConnectionEnd>) {
    let listener = Listener::bind(&parse_listen_address(address).unwrap())
        .await
        .unwrap();
    let bound = listener.local_address().unwrap();
    let (ends_tx, ends_rx) = mpsc::unbounded_channel();
    let mut options = ServeOptions::new(SERVER_ID);
    options.on_connection_end = Some(Arc::new(move |end| {
        let _ = ends_tx.send(end);
    }));
    tokio::spawn(serve(listener, options, calculator));
    (bound, ends_rx)
}
