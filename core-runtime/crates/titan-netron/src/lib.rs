//! The Netron wire codec, so Titan interoperates with existing Netron peers: values with
//! Netron's msgpack extension types (`value`, `encode`, `decode`), packets (`packet`),
//! length-prefixed framing for byte-stream transports (`frame`), the JSON id handshake
//! (`handshake`), `serde_json` conversions (`json`), and the tcp/unix transports with a minimal
//! dispatcher (`transport`, on tokio).
//!
//! ```
//! use titan_netron::{Packet, PacketType, Value};
//!
//! let request = Packet::request(1, PacketType::Call, Value::Array(vec![
//!     "calculator@1.0.0".into(), "add".into(), 2.into(), 3.into(),
//! ]));
//! let bytes = request.encode().unwrap();
//! assert_eq!(Packet::decode(&bytes).unwrap(), request);
//! let answer = request.response(Value::from(5));
//! assert_eq!(answer.encode().unwrap(), [0, 0, 0, 1, 0x03, 0x05]);
//! ```

mod decode;
mod encode;
mod error;
pub mod ext;
mod frame;
mod handshake;
mod js_keys;
mod json;
mod packet;
pub mod transport;
mod value;

pub use decode::DecodeLimits;
pub use encode::DEFAULT_MAX_DEPTH;
pub use error::{DecodeError, EncodeError, HandshakeError};
pub use frame::{DEFAULT_MAX_FRAME_LEN, Frame, FrameDecoder, write_frame};
pub use handshake::Handshake;
pub use packet::{Impulse, Packet, PacketType, StreamPosition};
pub use value::{
    Definition, JsError, JsErrorClass, Long, MAX_SAFE_INTEGER, RawExt, Reference, RegExp,
    StreamReference, TitanError, Value,
};
