//! A mutation fuzzer seeded by the hostile-peer corpus (tests/corpus/corpus.json) and Netron's
//! own wire vectors: bit flips, byte writes, inserts, deletes, truncation and splices of two
//! seeds, fed to every decoder. Properties: no panic; the memory a decode holds at its peak is
//! bounded by the input's size (a hostile length must never turn into an allocation); whatever
//! decodes re-encodes, and that encoding decodes to the same value and the same bytes.
//!
//! 10 000 cases by default (about a second in a debug build); `PROPTEST_CASES=200000 cargo test
//! -p titan-netron --test fuzz` for a long run.

// Counting allocations needs a `GlobalAlloc`, whose methods are unsafe to implement; this test
// binary is the only place that does it, and every block forwards to the system allocator.
#![allow(unsafe_code)]

mod corpus_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use corpus_support::{corpus, hex_bytes};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError};
use titan_netron::{FrameDecoder, Handshake, Packet, Value, write_frame};

// ------------------------------------------------------------------------------------------
// Allocation accounting, per thread (tests run on several threads at once).

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    // `try_with`: the allocator also runs while a thread's locals are being torn down.
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let live = LIVE.get() + delta;
            LIVE.set(live);
            PEAK.set(PEAK.get().max(live));
        }
    });
}

struct CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's own arguments, so `System`'s
// guarantees hold unchanged; the accounting only touches plain thread-local integers.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: same layout the caller gave us, which `GlobalAlloc::alloc` requires be valid.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: `ptr` came from `System` (every allocation goes through `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: `ptr` and `layout` describe a block `System` handed out; the caller
        // guarantees `new_size` is valid for it.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `work` and returns its result with the most heap it held at once (bytes allocated
/// during `work` and not yet freed, at the worst moment).
fn peak_heap<T>(work: impl FnOnce() -> T) -> (T, usize) {
    LIVE.set(0);
    PEAK.set(0);
    TRACKING.set(true);
    let result = work();
    TRACKING.set(false);
    (result, PEAK.get().max(0) as usize)
}

/// What a decode of `input_len` bytes may hold at its peak. A `Value` is 32 bytes and every
/// value takes at least one input byte; the boxed extension values (TitanError: 13 values
/// from at least 16 bytes) stay under another 32 bytes per input byte. The constant covers
/// error messages; the frame decoder may reserve up to 64 KiB for a declared frame.
fn heap_allowance(input_len: usize) -> usize {
    64 * input_len + 4096
}
const FRAME_RESERVE: usize = 64 * 1024;

// ------------------------------------------------------------------------------------------
// Seeds and mutations.

fn seeds() -> Vec<Vec<u8>> {
    // Every layer's entries seed every decoder: a frame stream is a fine start for a packet.
    let mut seeds: Vec<Vec<u8>> = corpus().iter().map(|entry| entry.input()).collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wire-vectors.json");
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for vector in vectors["vectors"].as_array().unwrap() {
        seeds.push(hex_bytes(vector["hex"].as_str().unwrap()));
    }
    seeds
}

/// Bytes that sit on decoder boundaries: markers, maximal lengths, Netron's extension ids.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(vec![
            0x00, 0x01, 0x7f, 0x80, 0xff, 0xc1, 0xc7, 0xc9, 0xd4, 0xdb, 0xdd, 0xdf, 0x6e, 0x7b,
            0x7c, 0x7e,
        ]),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Write(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
    /// Replace the tail from `at` with the tail of another seed from `from`.
    Splice {
        seed: Index,
        from: Index,
        at: Index,
    },
    /// Claim the most a length can: four 0xff bytes written at a position.
    MaxLength(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<Index>(), interesting_byte()).prop_map(|(at, b)| Mutation::Write(at, b)),
        (any::<Index>(), interesting_byte()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(seed, from, at)| Mutation::Splice { seed, from, at }),
        any::<Index>().prop_map(Mutation::MaxLength),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation, seeds: &[Vec<u8>]) {
    let len = bytes.len();
    match mutation {
        Mutation::FlipBit(at, bit) if len > 0 => bytes[at.index(len)] ^= 1 << bit,
        Mutation::Write(at, byte) if len > 0 => bytes[at.index(len)] = *byte,
        Mutation::Insert(at, byte) => bytes.insert(at.index(len + 1), *byte),
        Mutation::Delete(at) if len > 0 => {
            bytes.remove(at.index(len));
        }
        Mutation::Truncate(at) => bytes.truncate(at.index(len + 1)),
        Mutation::Splice { seed, from, at } => {
            let other = seed.get(seeds);
            bytes.truncate(at.index(len + 1));
            bytes.extend_from_slice(&other[from.index(other.len() + 1)..]);
        }
        Mutation::MaxLength(at) if len > 0 => {
            let at = at.index(len);
            let end = (at + 4).min(len);
            bytes[at..end].fill(0xff);
        }
        _ => {}
    }
}

// ------------------------------------------------------------------------------------------
// The properties, per decoder.

/// A value's Debug text, where NaN equals itself, and -0 equals 0 (Netron's number rule sends
/// -0 as the integer 0, so a float64 -0 from a peer comes back as 0: README, "Values").
fn comparable(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").replace("Number(-0.0)", "Number(0.0)")
}

fn check_value(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (decoded, peak) = peak_heap(|| Value::decode(bytes));
    prop_assert!(
        peak <= heap_allowance(bytes.len()),
        "decoding {} bytes held {peak} bytes of heap",
        bytes.len()
    );
    if let Ok(value) = decoded {
        let encoded = value
            .encode()
            .map_err(|err| TestCaseError::fail(format!("decoded but cannot re-encode: {err}")))?;
        let again = Value::decode(&encoded)
            .map_err(|err| TestCaseError::fail(format!("re-encoding does not decode: {err}")))?;
        prop_assert_eq!(comparable(&again), comparable(&value));
        prop_assert_eq!(again.encode().unwrap(), encoded);
    }
    Ok(())
}

fn check_packet(bytes: &[u8]) -> Result<(), TestCaseError> {
    let (decoded, peak) = peak_heap(|| Packet::decode(bytes));
    prop_assert!(
        peak <= heap_allowance(bytes.len()),
        "decoding a {}-byte packet held {peak} bytes of heap",
        bytes.len()
    );
    if let Ok(packet) = decoded {
        let encoded = packet
            .encode()
            .map_err(|err| TestCaseError::fail(format!("decoded but cannot re-encode: {err}")))?;
        let again = Packet::decode(&encoded)
            .map_err(|err| TestCaseError::fail(format!("re-encoding does not decode: {err}")))?;
        prop_assert_eq!(comparable(&again), comparable(&packet));
        prop_assert_eq!(again.encode().unwrap(), encoded);
    }
    Ok(())
}

/// Feeds the bytes in chunks of `chunk` bytes. Without an error, the frames plus what is still
/// buffered account for every input byte, and re-framing the frames gives the input back.
fn check_frames(bytes: &[u8], chunk: usize) -> Result<(), TestCaseError> {
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    let (result, peak) = peak_heap(|| {
        for piece in bytes.chunks(chunk.max(1)) {
            decoder.push_into(piece, &mut frames)?;
        }
        Ok::<(), titan_netron::DecodeError>(())
    });
    prop_assert!(
        peak <= 2 * bytes.len() + FRAME_RESERVE + 4096,
        "framing {} bytes held {peak} bytes of heap",
        bytes.len()
    );
    let mut reframed = Vec::new();
    for frame in &frames {
        write_frame(&mut reframed, frame.body()).unwrap();
        let _ = frame.handshake();
        check_packet(frame.body())?;
    }
    if result.is_ok() {
        prop_assert_eq!(reframed.len() + decoder.buffered_len(), bytes.len());
        prop_assert_eq!(&reframed[..], &bytes[..reframed.len()]);
    }
    Ok(())
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(10_000);
    Config {
        cases,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_seeds_never_panic_over_allocate_or_lose_round_trips(
        seed in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        chunk in 1usize..16,
    ) {
        let seeds = seeds_cached();
        let mut bytes = seed.get(seeds).clone();
        for mutation in &mutations {
            mutate(&mut bytes, mutation, seeds);
        }
        check_value(&bytes)?;
        check_packet(&bytes)?;
        check_frames(&bytes, chunk)?;
        let _ = Handshake::parse(&bytes);
    }
}

fn seeds_cached() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(seeds)
}

/// The allowance is not so loose that it would miss a decoder reserving what a length claims:
/// `Vec::<Value>::with_capacity` for an array32 that claims 2^32-1 items would be caught.
#[test]
fn the_heap_accounting_sees_a_capacity_reserved_from_a_claimed_length() {
    let hostile = hex_bytes("dd 0000ffff");
    let claimed = u32::from_be_bytes(hostile[1..5].try_into().unwrap()) as usize;
    let (_, peak) = peak_heap(|| Vec::<Value>::with_capacity(claimed));
    assert!(peak > heap_allowance(hostile.len()), "peak {peak}");
    let (result, peak) = peak_heap(|| Value::decode(&hostile));
    assert!(result.is_err());
    assert!(peak <= heap_allowance(hostile.len()), "peak {peak}");
}
