//! The JSON id handshake that opens every Netron connection: the server sends
//! `{"type":"id","id":...}`, the client answers `{"type":"client-id","id":...}`, then binary
//! packets flow. On tcp and unix each message is one length-prefixed frame.

use serde::{Deserialize, Serialize};

use crate::error::{EncodeError, HandshakeError};
use crate::frame::write_frame;

/// One handshake message. Serialises exactly as Netron's `JSON.stringify` writes it
/// (`type` first, then `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Handshake {
    /// Sent by the server when a connection opens: the server's peer id.
    #[serde(rename = "id")]
    ServerId {
        /// The server's Netron peer id.
        id: String,
    },
    /// The client's answer: its own peer id.
    #[serde(rename = "client-id")]
    ClientId {
        /// The client's Netron peer id.
        id: String,
    },
}

impl Handshake {
    /// The peer id the message carries.
    pub fn id(&self) -> &str {
        match self {
            Self::ServerId { id } | Self::ClientId { id } => id,
        }
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a two-string-field enum always serialises")
    }

    /// The JSON text as one length-prefixed frame (tcp, unix).
    pub fn encode_frame(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        write_frame(&mut out, self.to_json().as_bytes())?;
        Ok(out)
    }

    /// Parses a handshake message. Unknown extra fields are ignored, as Netron ignores them.
    pub fn parse(text: &[u8]) -> Result<Self, HandshakeError> {
        let excerpt = || {
            let shown = &text[..text.len().min(80)];
            format!("{:?}", String::from_utf8_lossy(shown))
        };
        let text_str = std::str::from_utf8(text).map_err(|err| HandshakeError {
            reason: format!("not UTF-8 text ({err})"),
            excerpt: excerpt(),
        })?;
        // Read as a JSON object first, as Netron does (`JSON.parse`, then `.type` and `.id`):
        // serde's tagged enums would also take `["client-id","x"]`, and would refuse a key sent
        // twice where `JSON.parse` keeps the last one.
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text_str)
            .map_err(|err| HandshakeError {
                reason: format!("not a JSON object: {err}"),
                excerpt: excerpt(),
            })?;
        Self::deserialize(serde_json::Value::Object(object)).map_err(|err| HandshakeError {
            reason: err.to_string(),
            excerpt: excerpt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_same_json_as_netron() {
        let server = Handshake::ServerId {
            id: "peer-1".into(),
        };
        assert_eq!(server.to_json(), r#"{"type":"id","id":"peer-1"}"#);
        let client = Handshake::ClientId { id: "c".into() };
        assert_eq!(client.to_json(), r#"{"type":"client-id","id":"c"}"#);
        let frame = client.encode_frame().unwrap();
        assert_eq!(&frame[..4], &[0, 0, 0, 29]);
        assert_eq!(&frame[4..], client.to_json().as_bytes());
    }

    #[test]
    fn parses_either_message_and_ignores_extra_fields() {
        let parsed = Handshake::parse(br#"{"id":"x","type":"client-id","v":2}"#).unwrap();
        assert_eq!(parsed, Handshake::ClientId { id: "x".into() });
        assert_eq!(parsed.id(), "x");
    }

    #[test]
    fn reads_the_json_as_json_parse_does() {
        // A key sent twice: JSON.parse keeps the last.
        let parsed = Handshake::parse(br#"{"type":"client-id","id":"a","id":"b"}"#).unwrap();
        assert_eq!(parsed, Handshake::ClientId { id: "b".into() });
        // An array has no `type`: Netron does not take it as a handshake message.
        let err = Handshake::parse(br#"["client-id","x"]"#).unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
    }

    #[test]
    fn explains_what_a_bad_handshake_should_look_like() {
        let err = Handshake::parse(br#"{"type":"hello","id":"x"}"#).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("unknown variant `hello`"), "{message}");
        assert!(
            message.contains(r#"{"type":"client-id","id":"..."}"#),
            "{message}"
        );
        let err = Handshake::parse(&[0, 0, 0, 1, 0x43]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not a Netron handshake message"),
            "{err}"
        );
    }
}
