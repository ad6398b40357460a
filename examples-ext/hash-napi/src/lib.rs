//! `t.hash`: BLAKE3 and XXH3 hashing as a Node-API addon (napi-rs), loaded in every worker
//! isolate. Hashes come back as lowercase hex; data is a string (hashed as UTF-8) or bytes
//! (a Uint8Array or Buffer, borrowed without a copy).
//!
//! The addon keeps no global state, so each worker isolate that loads it is independent.

use std::fs::File;
use std::io::{self, Read};

use napi::bindgen_prelude::{FromNapiValue, Uint8ArraySlice, Unknown};
use napi::{Error, Result, Status, ValueType};
use napi_derive::napi;
use xxhash_rust::xxh3::{Xxh3, xxh3_64, xxh3_128};

/// What every hash function takes: a string (hashed as its UTF-8 bytes) or bytes (borrowed).
enum Data<'env> {
    Text(String),
    Bytes(Uint8ArraySlice<'env>),
}

impl Data<'_> {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Data::Text(text) => text.as_bytes(),
            Data::Bytes(bytes) => bytes,
        }
    }
}

/// Reads a `string | Uint8Array` argument. Taken as `Unknown` (and typed for TypeScript with
/// `ts_args_type`) so a wrong type gets an error that names the function and what it got.
fn data_arg<'env>(function: &str, value: Unknown<'env>) -> Result<Data<'env>> {
    let kind = value.get_type()?;
    let refuse = || Error::new(Status::InvalidArg, format!("hash.{function}: data must be a string or a Uint8Array (or Buffer), got {}", format!("{kind:?}").to_lowercase()));
    match kind {
        ValueType::String => Ok(Data::Text(String::from_unknown(value)?)),
        ValueType::Object => Uint8ArraySlice::from_unknown(value).map(Data::Bytes).map_err(|_| refuse()),
        _ => Err(refuse()),
    }
}

/// The BLAKE3 hash of `data`, as 64 hex characters.
#[napi(ts_args_type = "data: string | Uint8Array")]
pub fn blake3(data: Unknown) -> Result<String> {
    let data = data_arg("blake3", data)?;
    Ok(::blake3::hash(data.as_bytes()).to_hex().to_string())
}

/// A keyed BLAKE3 hash (a MAC) of `data` with a 32-byte `key`, as 64 hex characters.
#[napi(ts_args_type = "key: Uint8Array, data: string | Uint8Array")]
pub fn blake3_keyed(key: Uint8ArraySlice, data: Unknown) -> Result<String> {
    let data = data_arg("blake3Keyed", data)?;
    let key = <&[u8; 32]>::try_from(&*key)
        .map_err(|_| Error::new(Status::InvalidArg, format!("blake3Keyed: the key must be 32 bytes, got {}", key.len())))?;
    Ok(::blake3::keyed_hash(key, data.as_bytes()).to_hex().to_string())
}

/// The 64-bit XXH3 hash of `data` (fast, not cryptographic), as 16 hex characters.
#[napi(ts_args_type = "data: string | Uint8Array")]
pub fn xxh3(data: Unknown) -> Result<String> {
    let data = data_arg("xxh3", data)?;
    Ok(format!("{:016x}", xxh3_64(data.as_bytes())))
}

/// The 128-bit XXH3 hash of `data` (fast, not cryptographic), as 32 hex characters.
#[napi(ts_args_type = "data: string | Uint8Array")]
pub fn xxh128(data: Unknown) -> Result<String> {
    let data = data_arg("xxh128", data)?;
    Ok(format!("{:032x}", xxh3_128(data.as_bytes())))
}

/// Hashes a file without reading it into memory at once, with `"blake3"` (the default) or `"xxh3"`.
#[napi(ts_args_type = "path: string, algorithm?: 'blake3' | 'xxh3'")]
pub fn hash_file(path: String, algorithm: Option<String>) -> Result<String> {
    let read_error = |error: io::Error| Error::new(Status::GenericFailure, format!("hash.hashFile: cannot read {path}: {error}"));
    match algorithm.as_deref().unwrap_or("blake3") {
        "blake3" => {
            let file = File::open(&path).map_err(read_error)?;
            let mut hasher = ::blake3::Hasher::new();
            hasher.update_reader(file).map_err(read_error)?;
            Ok(hasher.finalize().to_hex().to_string())
        }
        "xxh3" => {
            let mut reader = File::open(&path).map_err(read_error)?;
            let mut hasher = Xxh3::new();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let read = reader.read(&mut chunk).map_err(read_error)?;
                if read == 0 {
                    break;
                }
                hasher.update(&chunk[..read]);
            }
            Ok(format!("{:016x}", hasher.digest()))
        }
        other => Err(Error::new(Status::InvalidArg, format!("hash.hashFile: unknown algorithm \"{other}\": use \"blake3\" or \"xxh3\""))),
    }
}

/// A streaming BLAKE3 hasher: feed it chunks with `update`, read the hash so far with `digest`.
#[napi]
pub struct Blake3Hasher {
    inner: ::blake3::Hasher,
}

impl Default for Blake3Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl Blake3Hasher {
    /// An empty hasher.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self { inner: ::blake3::Hasher::new() }
    }

    /// Adds `data` to what is hashed.
    #[napi(ts_args_type = "data: string | Uint8Array")]
    pub fn update(&mut self, data: Unknown) -> Result<()> {
        self.inner.update(data_arg("Blake3Hasher.update", data)?.as_bytes());
        Ok(())
    }

    /// The hash of everything added so far, as 64 hex characters (more may be added after).
    #[napi]
    pub fn digest(&self) -> String {
        self.inner.finalize().to_hex().to_string()
    }

    /// Forgets everything added so far.
    #[napi]
    pub fn reset(&mut self) {
        self.inner.reset();
    }
}
