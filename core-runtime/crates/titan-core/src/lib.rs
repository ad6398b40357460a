//! Titan's core in pure Rust, testable with `cargo test` and no Node: the per-thread HTTP server
//! loop (`server`), the route table (`router`), request conversion (`request`) and the errors the
//! core answers by itself (`http_error`), and the native extension host (`ext`, whose `abi`
//! module is the only place `unsafe` is allowed). `titan-node` exports it to JavaScript.

pub mod ext;
pub mod http_error;
pub mod request;
pub mod router;
pub mod server;
