//! Netron served by the per-thread worker loops, over real loopback sockets, with Rust threads
//! playing the worker JS: what the core answers by itself (handshake, PING, subscriptions,
//! unknown packet types), what it queues for JS, events fanned out across workers, streams
//! continued only after their frames are written, and a drained worker closing its connections.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use titan_core::router::RouteTable;
use titan_core::server::{Broadcast, Job, NetronJobKind, NetronSockets, Outbound, ServerControl, WorkerLoop, WorkerOptions};
use titan_netron::transport::TransportRegistry;
use titan_netron::{Handshake, Impulse, Packet, PacketType, StreamPosition, Value, write_frame};

/// A worker whose "JS" answers CALL with the sum of its numeric args, streams 3 chunks for
/// `["s", "count"]` (one per turn, via continue), and broadcasts for `["e", "emit"]`.
fn spawn_worker(control: Arc<ServerControl>, slot: u32, seen: mpsc::Sender<String>) -> thread::JoinHandle<()> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let routes = Arc::new(RouteTable::from_json("[]").unwrap());
        let mut worker = WorkerLoop::new(control, slot, routes, WorkerOptions::default()).unwrap();
        ready_tx.send(()).unwrap();
        let mut produced = 0u32;
        while let Some(job) = worker.next_job() {
            let Job::Netron(job) = job else { panic!("no HTTP here") };
            let outbound = match job.kind {
                NetronJobKind::Packet(body) => {
                    let packet = Packet::decode(&body).unwrap();
                    let _ = seen.send(format!("{slot}:{:?}", packet.packet_type));
                    let Value::Array(items) = &packet.data else { panic!() };
                    match items.first().and_then(Value::as_str) {
                        Some("s") => {
                            produced = 0;
                            let reply = packet.response(Value::from("streaming")).encode().unwrap();
                            Outbound { frames: vec![Bytes::from(reply)], continue_streams: vec![1] }
                        }
                        Some("e") => {
                            let event = Packet::request(900, PacketType::Task, Value::Array(vec!["emit".into(), "news".into()]));
                            let reached = worker.netron_broadcast(&Broadcast { event: "news".into(), frame: Bytes::from(event.encode().unwrap()) });
                            Outbound { frames: vec![Bytes::from(packet.response(Value::from(reached as i32)).encode().unwrap())], continue_streams: vec![] }
                        }
                        _ => {
                            let sum: f64 = items.iter().filter_map(Value::as_f64).sum();
                            Outbound { frames: vec![Bytes::from(packet.response(Value::from(sum)).encode().unwrap())], continue_streams: vec![] }
                        }
                    }
                }
                NetronJobKind::Continue(streams) => {
                    assert_eq!(streams, [1]);
                    let _ = seen.send(format!("{slot}:continue"));
                    produced += 1;
                    let last = produced == 3;
                    let chunk = Packet::stream_chunk(1000 + produced, StreamPosition { stream_id: 1, index: produced - 1 }, last, true, Value::from(produced as i32));
                    Outbound { frames: vec![Bytes::from(chunk.encode().unwrap())], continue_streams: if last { vec![] } else { vec![1] } }
                }
                NetronJobKind::Closed => {
                    let _ = seen.send(format!("{slot}:closed"));
                    Outbound::default()
                }
                // Built-in transports prove nothing about their peers.
                NetronJobKind::Peer(identity) => panic!("a tcp/unix/ws peer has no identity, got {identity}"),
            };
            worker.netron_reply(job.connection, outbound);
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    handle
}

struct Peer {
    stream: TcpStream,
}

impl Peer {
    fn connect(address: &str) -> (Self, String) {
        let address = address.strip_prefix("tcp://").unwrap();
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut peer = Self { stream };
        let hello = Handshake::parse(&peer.read_frame().unwrap()).unwrap();
        let Handshake::ServerId { id } = hello else { panic!("expected the server id first") };
        peer.send(Handshake::ClientId { id: "rust-peer".into() }.to_json().as_bytes());
        (peer, id)
    }

    fn send(&mut self, body: &[u8]) {
        let mut out = Vec::new();
        write_frame(&mut out, body).unwrap();
        self.stream.write_all(&out).unwrap();
    }

    fn send_packet(&mut self, packet: &Packet) {
        self.send(&packet.encode().unwrap());
    }

    fn read_frame(&mut self) -> std::io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body)?;
        Ok(body)
    }

    fn read_packet(&mut self) -> Packet {
        Packet::decode(&self.read_frame().unwrap()).unwrap()
    }
}

fn server(workers: u32) -> (Arc<ServerControl>, String, String, Vec<thread::JoinHandle<()>>, mpsc::Receiver<String>) {
    let control = ServerControl::bind("127.0.0.1", 0, 128).unwrap();
    let sockets = NetronSockets::bind(&["tcp://127.0.0.1:0".to_owned()], &TransportRegistry::default(), "server-1".into()).unwrap();
    let address = sockets.bound_addresses()[0].clone();
    control.set_netron(sockets);
    let (seen_tx, seen) = mpsc::channel();
    let handles = (1..=workers).map(|slot| spawn_worker(control.clone(), slot, seen_tx.clone())).collect();
    (control, address, "server-1".into(), handles, seen)
}

fn call(id: u32, data: Vec<Value>) -> Packet {
    Packet::request(id, PacketType::Call, Value::Array(data))
}

#[test]
fn the_core_answers_ping_and_subscriptions_and_queues_calls_for_js() {
    let (control, address, server_id, handles, seen) = server(1);
    let (mut peer, id) = Peer::connect(&address);
    assert_eq!(id, server_id);
    peer.send_packet(&Packet::request(1, PacketType::Ping, Value::from("hi")));
    let pong = peer.read_packet();
    assert_eq!((pong.id, pong.impulse, pong.data), (1, Impulse::Response, Value::from("hi")));
    peer.send_packet(&Packet::request(2, PacketType::Task, Value::Array(vec!["subscribe".into(), "news".into()])));
    assert_eq!(peer.read_packet().data, Value::Undefined);
    peer.send_packet(&call(3, vec!["calc".into(), "add".into(), 2.into(), 3.into()]));
    let answer = peer.read_packet();
    assert_eq!((answer.id, answer.data.as_f64()), (3, Some(5.0)));
    // Only the CALL reached "JS": PING and subscribe were answered by the core.
    assert_eq!(seen.recv_timeout(Duration::from_secs(5)).unwrap(), "1:Call");
    assert!(seen.try_recv().is_err());

    // An unknown packet type is answered with an error of the same id; garbage is dropped.
    peer.send(&[0, 0, 0, 9, 0x40 | 11, 0xc0]);
    let frame = peer.read_frame().unwrap();
    assert_eq!(&frame[..4], &[0, 0, 0, 9]);
    assert_eq!(frame[4] & 0x8f, 0x80 | 11);
    peer.send(&[0, 0, 0, 1, 0x43, 0xc1]);
    peer.send_packet(&call(4, vec!["calc".into(), "add".into(), 1.into()]));
    assert_eq!(peer.read_packet().id, 4);

    drop(peer);
    assert_eq!(seen.recv_timeout(Duration::from_secs(5)).unwrap(), "1:Call");
    assert_eq!(seen.recv_timeout(Duration::from_secs(5)).unwrap(), "1:closed");
    control.shutdown();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn a_stream_continues_only_after_its_frames_are_written() {
    let (control, address, _, handles, seen) = server(1);
    let (mut peer, _) = Peer::connect(&address);
    peer.send_packet(&call(1, vec!["s".into(), "count".into()]));
    assert_eq!(peer.read_packet().data, Value::from("streaming"));
    let chunks: Vec<Packet> = (0..3).map(|_| peer.read_packet()).collect();
    assert_eq!(chunks.iter().map(|c| c.data.as_f64().unwrap()).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
    assert!(chunks[2].eos && !chunks[1].eos);
    let turns: Vec<String> = seen.try_iter().collect();
    assert_eq!(turns, ["1:Call", "1:continue", "1:continue", "1:continue"]);
    drop(peer);
    control.shutdown();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn events_reach_subscribers_on_every_worker_and_draining_closes_connections() {
    let (control, address, _, handles, seen) = server(2);
    // Connect until each worker holds a subscriber; a CALL on each tells which worker has it.
    let mut subscribers = Vec::new();
    let mut slots = std::collections::HashSet::new();
    for id in 0..64u32 {
        if slots.len() == 2 && subscribers.len() >= 4 {
            break;
        }
        let (mut peer, _) = Peer::connect(&address);
        peer.send_packet(&Packet::request(id, PacketType::Task, Value::Array(vec!["subscribe".into(), "news".into()])));
        assert_eq!(peer.read_packet().id, id);
        peer.send_packet(&call(id, vec!["which".into(), "worker".into()]));
        assert_eq!(peer.read_packet().id, id);
        let answered_by = seen.recv_timeout(Duration::from_secs(5)).unwrap();
        slots.insert(answered_by.split(':').next().unwrap().to_owned());
        subscribers.push(peer);
    }
    assert_eq!(slots.len(), 2, "subscribers on both workers");
    let (mut emitter, _) = Peer::connect(&address);
    emitter.send_packet(&call(50, vec!["e".into(), "emit".into()]));
    let reached = emitter.read_packet();
    assert_eq!(reached.data.as_f64(), Some(2.0), "both workers' inboxes got the event");
    for peer in &mut subscribers {
        let event = peer.read_packet();
        assert_eq!((event.id, event.packet_type), (900, PacketType::Task));
        assert_eq!(event.data, Value::Array(vec!["emit".into(), "news".into()]));
    }
    // Shutdown drains the workers: their Netron connections close, so the loops end.
    control.shutdown();
    for peer in &mut subscribers {
        let mut byte = [0u8; 1];
        assert_eq!(peer.stream.read(&mut byte).unwrap_or(0), 0, "connection closed by the drain");
    }
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn bind_errors_name_the_address_and_the_fix() {
    let registry = TransportRegistry::default();
    let err = NetronSockets::bind(&["tls://127.0.0.1:0".to_owned()], &registry, "s".into()).unwrap_err();
    assert!(err.contains("no transport serves tls://") && err.contains("titan.config.json"), "{err}");
    let err = NetronSockets::bind(&["http://127.0.0.1:1".to_owned()], &registry, "s".into()).unwrap_err();
    assert!(err.contains("POST /netron/invoke"), "{err}");
    let taken = NetronSockets::bind(&["tcp://127.0.0.1:0".to_owned()], &registry, "s".into()).unwrap();
    let err = NetronSockets::bind(taken.bound_addresses(), &registry, "s".into()).unwrap_err();
    assert!(err.contains("cannot listen on tcp://127.0.0.1:"), "{err}");
    // A unix socket path another server listens on is refused; a stale file is replaced.
    let dir = std::env::temp_dir().join(format!("titan-netron-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.sock");
    let address = format!("unix://{}", path.display());
    let live = NetronSockets::bind(std::slice::from_ref(&address), &registry, "s".into()).unwrap();
    let err = NetronSockets::bind(std::slice::from_ref(&address), &registry, "s".into()).unwrap_err();
    assert!(err.contains("another process is listening"), "{err}");
    drop(live);
    assert!(!path.exists(), "the socket file is removed with its sockets");
    let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(stale);
    assert!(path.exists());
    NetronSockets::bind(&[address], &registry, "s".into()).unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
