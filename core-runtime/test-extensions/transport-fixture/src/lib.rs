//! Test fixture for extension transports (titan-core's `tests/transport.rs`): registers, from
//! `init`, a transport under the scheme its config names. A connection starts with the client's
//! 4-byte preface `HELO`, answered `OLEH`; then every byte is XORed with `KEY` on the wire. A
//! preface of `BOOM` panics in the session, `WHO?` is greeted but its peer identity fails, any
//! other preface is an error. Its buffers are small
//! (`LIMIT`) so that large frames take many rounds between the runtime and the session. The
//! transport's state appends `dropped` to the config's `events` file when it is freed.
//!
//! Config: `{ "scheme": "xor", "events": "/path", "failAfterRegister": false,
//! "ignoreRefusal": false }`.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;

use serde::Deserialize;
use titan_ext::transport::{self, PlainRead, Session, Transport, TransportError};

/// The wire key.
pub const KEY: u8 = 0x5A;

/// Bytes a session buffers each way.
const LIMIT: usize = 4096;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    scheme: String,
    #[serde(default)]
    events: Option<PathBuf>,
    /// `init` fails after its registration succeeded.
    #[serde(default)]
    fail_after_register: bool,
    /// `init` succeeds even when the runtime refused the transport.
    #[serde(default)]
    ignore_refusal: bool,
}

fn start(config: serde_json::Value) -> Result<(), String> {
    let config: Config = serde_json::from_value(config).map_err(|e| format!("bad fixture config: {e}"))?;
    let registered = transport::register(Xor { scheme: config.scheme, events: config.events });
    if let Err(err) = registered
        && !config.ignore_refusal
    {
        return Err(err.to_string());
    }
    if config.fail_after_register {
        return Err("failing after registering, as the config asks".into());
    }
    Ok(())
}

titan_ext::extension! { functions: [], init: start }

struct Xor {
    scheme: String,
    events: Option<PathBuf>,
}

impl Drop for Xor {
    fn drop(&mut self) {
        if let Some(path) = &self.events
            && let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path)
        {
            let _ = writeln!(file, "dropped");
        }
    }
}

impl Transport for Xor {
    type Session = XorSession;

    fn scheme(&self) -> &str {
        &self.scheme
    }

    fn new_session(&self) -> Result<XorSession, TransportError> {
        Ok(XorSession::default())
    }
}

#[derive(Default)]
struct XorSession {
    preface: Vec<u8>,
    greeted: bool,
    /// Greeted with `WHO?`: `peer_identity` fails.
    unidentifiable: bool,
    plain_in: VecDeque<u8>,
    wire_out: VecDeque<u8>,
    peer_closed: bool,
}

impl Session for XorSession {
    fn read_tls(&mut self, wire: &[u8]) -> Result<usize, TransportError> {
        if wire.is_empty() {
            self.peer_closed = true;
            return Ok(0);
        }
        let mut taken = 0;
        while !self.greeted && taken < wire.len() {
            self.preface.push(wire[taken]);
            taken += 1;
            if self.preface.len() == 4 {
                match self.preface.as_slice() {
                    b"HELO" | b"WHO?" => {
                        self.greeted = true;
                        self.unidentifiable = self.preface == b"WHO?";
                        self.wire_out.extend(b"OLEH");
                    }
                    b"BOOM" => panic!("BOOM on the wire, as the test asked"),
                    other => return Err(TransportError::new(format!("expected the preface HELO, got {:?}", String::from_utf8_lossy(other)))),
                }
            }
        }
        let room = LIMIT - self.plain_in.len();
        let n = room.min(wire.len() - taken);
        self.plain_in.extend(wire[taken..taken + n].iter().map(|b| b ^ KEY));
        Ok(taken + n)
    }

    fn read_plain(&mut self, buf: &mut [u8]) -> Result<PlainRead, TransportError> {
        if self.plain_in.is_empty() {
            return Ok(if self.peer_closed { PlainRead::Closed } else { PlainRead::Pending });
        }
        let n = buf.len().min(self.plain_in.len());
        for (slot, byte) in buf.iter_mut().zip(self.plain_in.drain(..n)) {
            *slot = byte;
        }
        Ok(PlainRead::Data(n))
    }

    fn write_plain(&mut self, data: &[u8]) -> Result<usize, TransportError> {
        let n = (LIMIT - self.wire_out.len()).min(data.len());
        self.wire_out.extend(data[..n].iter().map(|b| b ^ KEY));
        Ok(n)
    }

    fn write_tls(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let n = buf.len().min(self.wire_out.len());
        for (slot, byte) in buf.iter_mut().zip(self.wire_out.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    fn wants_write(&self) -> bool {
        !self.wire_out.is_empty()
    }

    fn is_handshaking(&self) -> bool {
        !self.greeted
    }

    fn peer_identity(&self) -> Result<Option<serde_json::Value>, TransportError> {
        if self.unidentifiable {
            return Err(TransportError::new("this peer cannot be identified, as the test asked"));
        }
        Ok(None)
    }
}
