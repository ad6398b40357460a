//! `tls-transport`: Netron over TLS 1.3 for Titan. Registers the `tls://` transport from `init`:
//! apps listen on `tls://HOST:PORT` and clients connect with TLS (Node's `node:tls`, rustls...).
//! With `clientCa` in the config, clients must present a certificate signed by that CA (mutual
//! TLS); without it, any client may connect.
//!
//! The runtime owns the socket and drives each connection's rustls `ServerConnection` through
//! titan-ext's sans-IO [`Session`]: bytes from the socket in, plaintext (Netron's frames) out,
//! and back. Config, from the app's `titan.config.json`:
//!
//! ```json
//! { "path": "../tls-transport", "config": { "cert": "tls/server.pem", "key": "tls/server.key", "clientCa": "tls/ca.pem" } }
//! ```
//!
//! Relative paths are resolved against the app's data directory (the app's directory, as the
//! runtime gives it); `clientCa` is optional.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, ServerConnection, WebPkiClientVerifier};
use serde::Deserialize;
use titan_ext::transport::{self, PlainRead, Session, Transport, TransportError};

/// The URL scheme this extension serves.
pub const SCHEME: &str = "tls";

/// The extension's `config`: PEM files.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain (leaf first).
    pub cert: PathBuf,
    /// The server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates client certificates must chain to; present = mutual TLS.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

const CONFIG_SHAPE: &str = r#"{ "cert": "server.pem", "key": "server.key", "clientCa": "ca.pem" } (clientCa optional: it turns on client certificates)"#;

impl TlsConfig {
    /// Reads the extension's `config` object; the error says what is wrong and what is expected.
    pub fn from_json(config: serde_json::Value) -> Result<Self, String> {
        if config.is_null() {
            return Err(format!("tls-transport needs a config in the app's titan.config.json extensions entry: {CONFIG_SHAPE}"));
        }
        serde_json::from_value(config).map_err(|e| format!("invalid tls-transport config: {e}; expected {CONFIG_SHAPE}"))
    }
}

/// The `tls://` transport: one rustls server configuration shared by every connection.
pub struct TlsTransport {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

/// `path` as given when absolute, else under `base` (the app's directory).
fn resolve(path: &Path, base: Option<&Path>, field: &str) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    match base {
        Some(base) => Ok(base.join(path)),
        None => Err(format!("`{field}` is a relative path ({}) but the runtime gave no app directory to resolve it against: use an absolute path", path.display())),
    }
}

fn read_certificates(path: &Path, field: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let unreadable = |e: rustls::pki_types::pem::Error| format!("`{field}`: cannot read certificates from {}: {e}", path.display());
    let certificates = CertificateDer::pem_file_iter(path).map_err(unreadable)?.collect::<Result<Vec<_>, _>>().map_err(unreadable)?;
    if certificates.is_empty() {
        return Err(format!("`{field}`: {} holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)", path.display()));
    }
    Ok(certificates)
}

fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("`key`: {} holds no PEM private key (a -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY block)", path.display())
        }
        other => format!("`key`: cannot read a private key from {}: {other}", path.display()),
    })
}

impl TlsTransport {
    /// Builds the server configuration from `config`, reading its files (relative paths under
    /// `base`): TLS 1.3 only, ring's cryptography, client certificates required and verified
    /// against `clientCa` when it is given.
    pub fn new(config: &TlsConfig, base: Option<&Path>) -> Result<Self, String> {
        let certificates = read_certificates(&resolve(&config.cert, base, "cert")?, "cert")?;
        let key = read_private_key(&resolve(&config.key, base, "key")?)?;
        let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| format!("TLS 1.3 is not available with the ring provider: {e}"))?;
        let builder = match &config.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let ca = resolve(ca, base, "clientCa")?;
                let mut roots = RootCertStore::empty();
                for certificate in read_certificates(&ca, "clientCa")? {
                    roots.add(certificate).map_err(|e| format!("`clientCa`: {} holds a certificate that cannot be a trust anchor: {e}", ca.display()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| format!("`clientCa`: cannot verify client certificates with {}: {e}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(certificates, key)
            .map_err(|e| format!("`cert` and `key` cannot serve TLS together: {e} (is the key the certificate's?)"))?;
        Ok(Self { config: Arc::new(config) })
    }
}

impl Transport for TlsTransport {
    type Session = TlsSession;

    fn scheme(&self) -> &str {
        SCHEME
    }

    fn new_session(&self) -> Result<TlsSession, TransportError> {
        Ok(TlsSession { connection: ServerConnection::new(self.config.clone())? })
    }
}

/// One TLS connection, server side: rustls's sans-IO `ServerConnection`.
pub struct TlsSession {
    connection: ServerConnection,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession").field("handshaking", &self.connection.is_handshaking()).finish_non_exhaustive()
    }
}

impl TlsSession {
    /// The negotiated protocol version, once the handshake is done (always TLS 1.3).
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.connection.protocol_version()
    }
}

impl Session for TlsSession {
    fn read_tls(&mut self, wire: &[u8]) -> Result<usize, TransportError> {
        if wire.is_empty() {
            // Tells rustls the socket ended; reading plaintext then says how it ended.
            self.connection.read_tls(&mut io::empty())?;
            self.connection.process_new_packets()?;
            return Ok(0);
        }
        let mut taken = 0;
        while taken < wire.len() {
            let mut rest = &wire[taken..];
            match self.connection.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(n) => taken += n,
                // Its buffers are full (plaintext not read yet): the rest is offered again later.
                Err(_) => break,
            }
            // An error here has queued an alert for the peer (sent through write_tls).
            self.connection.process_new_packets()?;
        }
        Ok(taken)
    }

    fn read_plain(&mut self, buf: &mut [u8]) -> Result<PlainRead, TransportError> {
        match self.connection.reader().read(buf) {
            // A clean close_notify.
            Ok(0) => Ok(PlainRead::Closed),
            Ok(n) => Ok(PlainRead::Data(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(PlainRead::Pending),
            // The socket ended without a close_notify. Netron's frames are length-prefixed, so a
            // stream cut short is caught above this layer (a truncated frame); ending it here
            // like a clean close keeps clients that just drop the socket from logging errors.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(PlainRead::Closed),
            Err(e) => Err(e.into()),
        }
    }

    fn write_plain(&mut self, data: &[u8]) -> Result<usize, TransportError> {
        Ok(self.connection.writer().write(data)?)
    }

    fn write_tls(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let mut written = 0;
        while written < buf.len() && self.connection.wants_write() {
            let n = self.connection.write_tls(&mut &mut buf[written..])?;
            if n == 0 {
                break;
            }
            written += n;
        }
        Ok(written)
    }

    fn wants_write(&self) -> bool {
        self.connection.wants_write()
    }

    fn is_handshaking(&self) -> bool {
        self.connection.is_handshaking()
    }

    fn close(&mut self) {
        self.connection.send_close_notify();
    }

    /// The client certificate the handshake verified (with `clientCa`), as hex DER: the runtime
    /// decodes it for services (`t.netron.caller().peer`: subject, issuer, fingerprint...).
    fn peer_identity(&self) -> Result<Option<serde_json::Value>, TransportError> {
        let Some(leaf) = self.connection.peer_certificates().and_then(|chain| chain.first()) else { return Ok(None) };
        let hex: String = leaf.iter().map(|byte| format!("{byte:02x}")).collect();
        let protocol = self.connection.protocol_version().map(|version| format!("{version:?}"));
        let cipher = self.connection.negotiated_cipher_suite().map(|suite| format!("{:?}", suite.suite()));
        Ok(Some(serde_json::json!({ "transport": SCHEME, "certificate": hex, "protocol": protocol, "cipher": cipher })))
    }
}

fn init(config: serde_json::Value) -> Result<(), String> {
    let config = TlsConfig::from_json(config)?;
    let transport = TlsTransport::new(&config, titan_ext::data_dir().as_deref())?;
    transport::register(transport).map_err(|e| e.to_string())?;
    titan_ext::log::info(&format!("serving tls:// (TLS 1.3{})", if config.client_ca.is_some() { ", client certificates required" } else { "" }));
    Ok(())
}

titan_ext::extension! {
    functions: [],
    init: init,
}
