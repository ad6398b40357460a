//! `tls://` end to end with real pieces: the test builds this crate's cdylib with cargo, loads it
//! through titan-core's extension loader (real `dlopen`, `init` with a config, the transport
//! registered through the ABI), binds `tls://127.0.0.1:0` with titan-netron's listener and the
//! core's transport registry, serves it with titan-netron's `serve` (which answers PING), and
//! connects with a rustls client (tokio-rustls). Certificates are made by the test (rcgen): a
//! CA, a server certificate for 127.0.0.1 and localhost, client certificates from that CA and
//! from another one.
//!
//! The registry is process-wide and this extension always registers `tls`: the tests take
//! turns (`one_at_a_time`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use tempfile::TempDir;
use titan_core::ext::{InitOptions, LoadedExtension, transport_registry};
use titan_netron::transport::{ConnectionEnd, FramedConnection, ListenAddress, Listener, ServeOptions, parse_listen_address, serve};
use titan_netron::{DecodeLimits, Handshake, Packet, PacketType, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, MutexGuard, mpsc};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

const SERVER_ID: &str = "tls-test-server";

/// This crate's library, built once per test process.
fn library() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        // The test binary sits in <target>/<profile>/deps; build into the same profile.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
        let mut cargo = Command::new(env!("CARGO"));
        // What `cargo test` sets for this test binary is not the nested build's: ring's build
        // script reruns when CARGO_MANIFEST_DIR differs, which would rebuild it on every run.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR"].iter().any(|p| name.starts_with(p)) {
                cargo.env_remove(&*name);
            }
        }
        cargo.args(["build", "--quiet", "-p", "tls-transport"]).arg("--target-dir").arg(profile_dir.parent().unwrap());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        assert!(cargo.status().expect("run cargo to build tls-transport").success(), "building tls-transport failed");
        profile_dir.join(format!("{}tls_transport{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
    })
}

/// Only one loaded `tls-transport` at a time: `tls` can be registered once per process.
async fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::const_new(());
    TURN.lock().await
}

/// A certificate and its key: DER for the rustls client, PEM for the server's files.
struct Issued {
    cert: CertificateDer<'static>,
    key: Vec<u8>,
    cert_pem: String,
    key_pem: String,
}

/// The test's PKI, in a directory of its own (removed with it): `ca.pem`, `server.pem` /
/// `server.key`, and two clients, one from the CA and one from `other-ca`.
struct Pki {
    dir: TempDir,
    ca: CertificateDer<'static>,
    client: Issued,
    stranger: Issued,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn issue(issuer: &CertifiedIssuer<'static, KeyPair>, names: &[&str], usage: ExtendedKeyUsagePurpose, common_name: &str) -> Issued {
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    Issued { cert: cert.der().clone(), key: key.serialize_der(), cert_pem: cert.pem(), key_pem: key.serialize_pem() }
}

impl Pki {
    fn new(label: &str) -> Self {
        let dir = tempfile::Builder::new().prefix(&format!("tls-transport-{label}-")).tempdir().unwrap();
        let authority = ca("Titan test CA");
        let server = issue(&authority, &["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth, "titan test server");
        let client = issue(&authority, &[], ExtendedKeyUsagePurpose::ClientAuth, "titan test client");
        let other = ca("Another CA");
        let stranger = issue(&other, &[], ExtendedKeyUsagePurpose::ClientAuth, "stranger");
        std::fs::write(dir.path().join("ca.pem"), authority.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), &server.cert_pem).unwrap();
        std::fs::write(dir.path().join("server.key"), &server.key_pem).unwrap();
        Self { dir, ca: authority.der().clone(), client, stranger }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The extension's config: the server's files, and `clientCa` when `mutual`.
    fn config(&self, mutual: bool) -> serde_json::Value {
        let mut config = serde_json::json!({ "cert": self.path("server.pem"), "key": self.path("server.key") });
        if mutual {
            config["clientCa"] = self.path("ca.pem").into();
        }
        config
    }

    /// A TLS 1.3 client trusting the test CA, presenting `identity` when given.
    fn connector(&self, identity: Option<&Issued>) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots);
        let config = match identity {
            None => builder.with_no_client_auth(),
            Some(issued) => {
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.key.clone()));
                builder.with_client_auth_cert(vec![issued.cert.clone()], key).unwrap()
            }
        };
        TlsConnector::from(Arc::new(config))
    }
}

fn load(config: serde_json::Value, data_dir: Option<&Path>) -> Result<Arc<LoadedExtension>, String> {
    let options = InitOptions { config_json: config.to_string(), data_dir: data_dir.map(|d| d.display().to_string()) };
    LoadedExtension::open(library(), options).map_err(|e| e.to_string())
}

/// Binds `tls://127.0.0.1:0` and serves it; returns the port and the connection ends.
async fn start() -> (u16, mpsc::UnboundedReceiver<ConnectionEnd>) {
    let listener = Listener::bind_with(&parse_listen_address("tls://127.0.0.1:0").unwrap(), transport_registry()).await.unwrap();
    let ListenAddress::Extension { scheme, port, .. } = listener.local_address().unwrap() else { panic!("not an extension's listener") };
    assert_eq!(scheme, "tls");
    let (ends_tx, ends) = mpsc::unbounded_channel();
    let mut options = ServeOptions::new(SERVER_ID);
    options.on_connection_end = Some(Arc::new(move |end| {
        let _ = ends_tx.send(end);
    }));
    tokio::spawn(serve(listener, options, |_| None));
    (port, ends)
}

/// A Netron client over TLS, after the TLS handshake.
struct NetronClient {
    connection: FramedConnection,
    version: Option<rustls::ProtocolVersion>,
}

async fn connect(port: u16, connector: &TlsConnector) -> std::io::Result<NetronClient> {
    let socket = TcpStream::connect(("127.0.0.1", port)).await?;
    let stream = connector.connect(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()), socket).await?;
    let version = stream.get_ref().1.protocol_version();
    Ok(NetronClient { connection: FramedConnection::new(Box::new(stream)), version })
}

impl NetronClient {
    /// Netron's id handshake: the server's id, or why the server closed the connection.
    async fn handshake(&mut self) -> Result<String, String> {
        let hello = match self.connection.recv_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err("closed".into()),
            Err(err) => return Err(err.to_string()),
        };
        let id = hello.handshake().unwrap().id().to_owned();
        self.connection.send_frame(Handshake::ClientId { id: "tls-client".into() }.to_json().as_bytes()).await.unwrap();
        Ok(id)
    }

    async fn ping(&mut self, id: u32, data: Value) -> Value {
        self.connection.send_packet(&Packet::request(id, PacketType::Ping, data)).await.unwrap();
        let answer = self.connection.recv_frame().await.unwrap().expect("the PING's answer").packet(&DecodeLimits::default()).unwrap();
        assert_eq!((answer.id, answer.packet_type), (id, PacketType::Ping));
        answer.data
    }
}

/// The next connection end's error message (with a deadline).
async fn next_failure(ends: &mut mpsc::UnboundedReceiver<ConnectionEnd>) -> String {
    let end = tokio::time::timeout(Duration::from_secs(10), ends.recv()).await.expect("a connection ended").unwrap();
    end.result.expect_err("the connection failed").to_string()
}

#[tokio::test]
async fn serves_netron_over_tls_1_3() {
    let _turn = one_at_a_time().await;
    let pki = Pki::new("serve");
    let _extension = load(pki.config(false), None).unwrap();
    let (port, _ends) = start().await;

    let mut client = connect(port, &pki.connector(None)).await.unwrap();
    assert_eq!(client.version, Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(client.handshake().await.unwrap(), SERVER_ID);
    assert_eq!(client.ping(1, "over tls".into()).await, Value::from("over tls"));
    // Larger than a TLS record (16 KiB) and than every buffer on the way.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    assert_eq!(client.ping(2, Value::Binary(big.clone())).await, Value::Binary(big));
    client.connection.shutdown().await.unwrap();
}

#[tokio::test]
async fn relative_paths_are_resolved_against_the_app_directory() {
    let _turn = one_at_a_time().await;
    let pki = Pki::new("relative");
    let config = serde_json::json!({ "cert": "server.pem", "key": "server.key" });
    let _extension = load(config.clone(), Some(pki.dir.path())).unwrap();
    let (port, _ends) = start().await;
    let mut client = connect(port, &pki.connector(None)).await.unwrap();
    assert_eq!(client.handshake().await.unwrap(), SERVER_ID);

    drop(_extension);
    let err = load(config, None).unwrap_err();
    assert!(err.contains("`cert` is a relative path (server.pem) but the runtime gave no app directory to resolve it against: use an absolute path"), "{err}");
}

#[tokio::test]
async fn with_client_ca_only_clients_with_a_certificate_from_it_get_through() {
    let _turn = one_at_a_time().await;
    let pki = Pki::new("mutual");
    let _extension = load(pki.config(true), None).unwrap();
    let (port, mut ends) = start().await;

    // TLS 1.3: the client's side of the handshake ends before the server checks its
    // certificate, so the refusal shows when it reads.
    let anonymous = match connect(port, &pki.connector(None)).await {
        Ok(mut client) => client.handshake().await,
        Err(err) => Err(err.to_string()),
    };
    assert!(anonymous.is_err(), "a client without a certificate is refused: {anonymous:?}");
    let failure = next_failure(&mut ends).await;
    assert!(failure.contains("the tls:// transport of extension `tls-transport` dropped the connection") && failure.contains("no certificates"), "{failure}");

    let stranger = match connect(port, &pki.connector(Some(&pki.stranger))).await {
        Ok(mut client) => client.handshake().await,
        Err(err) => Err(err.to_string()),
    };
    assert!(stranger.is_err(), "a certificate from another CA is refused: {stranger:?}");
    let failure = next_failure(&mut ends).await;
    assert!(failure.contains("UnknownIssuer"), "{failure}");

    let mut member = connect(port, &pki.connector(Some(&pki.client))).await.unwrap();
    assert_eq!(member.version, Some(rustls::ProtocolVersion::TLSv1_3));
    assert_eq!(member.handshake().await.unwrap(), SERVER_ID);
    assert_eq!(member.ping(7, "mutual".into()).await, Value::from("mutual"));
}

/// The identity the runtime gets for the next connection on `listener`, as JSON.
async fn identity_of_next_peer(listener: &Listener) -> Option<serde_json::Value> {
    let connection = listener.accept().await.unwrap().open().await.unwrap();
    connection.peer_identity().map(|text| serde_json::from_str(text).unwrap())
}

#[tokio::test]
async fn the_runtime_learns_the_client_certificate_the_handshake_verified() {
    let _turn = one_at_a_time().await;
    let pki = Pki::new("identity");
    let hex = |der: &[u8]| der.iter().map(|byte| format!("{byte:02x}")).collect::<String>();

    let _extension = load(pki.config(true), None).unwrap();
    let listener = Listener::bind_with(&parse_listen_address("tls://127.0.0.1:0").unwrap(), transport_registry()).await.unwrap();
    let ListenAddress::Extension { port, .. } = listener.local_address().unwrap() else { panic!("not an extension's listener") };
    let member = pki.connector(Some(&pki.client));
    let (identity, client) = tokio::join!(identity_of_next_peer(&listener), connect(port, &member));
    let identity = identity.expect("a verified client certificate is an identity");
    assert_eq!(identity["certificate"], hex(&pki.client.cert), "the leaf certificate, as hex DER");
    assert_eq!(identity["transport"], "tls");
    assert_eq!(identity["protocol"], "TLSv1_3");
    drop((client, listener, _extension));

    // Without clientCa the peer proves nothing.
    let _extension = load(pki.config(false), None).unwrap();
    let listener = Listener::bind_with(&parse_listen_address("tls://127.0.0.1:0").unwrap(), transport_registry()).await.unwrap();
    let ListenAddress::Extension { port, .. } = listener.local_address().unwrap() else { panic!("not an extension's listener") };
    let anonymous = pki.connector(None);
    let (identity, _client) = tokio::join!(identity_of_next_peer(&listener), connect(port, &anonymous));
    assert_eq!(identity, None);
}

#[tokio::test]
async fn a_plain_tcp_client_sending_garbage_is_dropped_while_tls_clients_are_served() {
    let _turn = one_at_a_time().await;
    let pki = Pki::new("garbage");
    let _extension = load(pki.config(false), None).unwrap();
    let (port, mut ends) = start().await;
    let mut steady = connect(port, &pki.connector(None)).await.unwrap();
    steady.handshake().await.unwrap();

    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    // The server answers with at most a TLS alert, then closes.
    let read = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut answer)).await.expect("the server closes the connection");
    assert!(read.is_err() || answer.len() < 64, "no Netron frame for a plain client: {answer:?}");
    let failure = next_failure(&mut ends).await;
    assert!(failure.contains("the tls:// transport of extension `tls-transport` dropped the connection"), "{failure}");

    assert_eq!(steady.ping(1, "still here".into()).await, Value::from("still here"));
    let mut another = connect(port, &pki.connector(None)).await.unwrap();
    assert_eq!(another.handshake().await.unwrap(), SERVER_ID);
}

#[tokio::test]
async fn bad_configs_fail_the_load_saying_what_to_fix() {
    let _turn = one_at_a_time().await;
    let pki = Pki::new("config");
    std::fs::write(pki.dir.path().join("empty.pem"), "not a certificate\n").unwrap();
    let missing = pki.path("missing.pem");
    let cases = [
        (serde_json::Value::Null, "tls-transport needs a config in the app's titan.config.json extensions entry".to_owned()),
        (serde_json::json!({ "cert": pki.path("server.pem") }), "invalid tls-transport config: missing field `key`".to_owned()),
        (
            serde_json::json!({ "cert": pki.path("server.pem"), "key": pki.path("server.key"), "clientCA": pki.path("ca.pem") }),
            "unknown field `clientCA`, expected one of `cert`, `key`, `clientCa`".to_owned(),
        ),
        (serde_json::json!({ "cert": missing, "key": pki.path("server.key") }), format!("`cert`: cannot read certificates from {missing}")),
        (serde_json::json!({ "cert": pki.path("empty.pem"), "key": pki.path("server.key") }), format!("`cert`: {} holds no PEM certificate", pki.path("empty.pem"))),
        (serde_json::json!({ "cert": pki.path("server.pem"), "key": pki.path("server.pem") }), format!("`key`: {} holds no PEM private key", pki.path("server.pem"))),
        (
            serde_json::json!({ "cert": pki.path("server.pem"), "key": pki.path("server.key"), "clientCa": pki.path("empty.pem") }),
            format!("`clientCa`: {} holds no PEM certificate", pki.path("empty.pem")),
        ),
    ];
    for (config, expected) in cases {
        let err = load(config.clone(), None).unwrap_err();
        assert!(err.starts_with("extension `tls-transport` failed to start: "), "{err}");
        assert!(err.contains(&expected), "config {config}:\n  got {err}\n  expected it to contain {expected}");
        assert!(transport_registry().get("tls").is_none(), "a failed load registers nothing");
    }
}
