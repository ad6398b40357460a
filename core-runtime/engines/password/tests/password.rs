//! The natives behind `t.password`, called as Rust functions (the ABI glue around them is
//! titan-ext's, tested there and in the db engine's ABI smoke test).

use std::sync::OnceLock;
use std::time::Instant;

use titan_engine_password::{hash, verify};

/// One hash shared by the tests: argon2 at OWASP's parameters is slow in a debug build.
fn stored() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let started = Instant::now();
        let hash = hash("correct horse battery staple").expect("hashes");
        eprintln!("argon2id hash ({} build): {:?}", if cfg!(debug_assertions) { "debug" } else { "release" }, started.elapsed());
        hash
    })
}

#[test]
fn hash_is_argon2id_with_owasp_parameters() {
    let hash = stored();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
}

#[test]
fn round_trip() {
    assert_eq!(verify("correct horse battery staple", stored()), Ok(true));
}

#[test]
fn wrong_password_is_false() {
    assert_eq!(verify("correct horse battery stapler", stored()), Ok(false));
    assert_eq!(verify("", stored()), Ok(false));
}

#[test]
fn two_hashes_of_one_password_differ() {
    let again = hash("correct horse battery staple").expect("hashes");
    assert_ne!(again, stored(), "each hash has its own random salt");
    assert_eq!(verify("correct horse battery staple", &again), Ok(true));
}

#[test]
fn other_argon2_variants_and_parameters_verify() {
    // A hash another stack made: argon2i, different parameters. Its own parameters are used.
    let params = argon2::Params::new(4096, 3, 2, None).unwrap();
    let other = argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params);
    let hash = argon2::password_hash::PasswordHasher::hash_password(&other, b"s3cret").unwrap().to_string();
    assert!(hash.starts_with("$argon2i$v=19$m=4096,t=3,p=2$"), "{hash}");
    assert_eq!(verify("s3cret", &hash), Ok(true));
    assert_eq!(verify("s3cret!", &hash), Ok(false));
}

#[test]
fn bcrypt_hashes_verify() {
    // Made here with the bcrypt crate (cost 4, the minimum, to keep the test quick).
    let hash_2b = bcrypt::hash("hunter2", 4).unwrap();
    assert!(hash_2b.starts_with("$2b$04$"), "{hash_2b}");
    assert_eq!(verify("hunter2", &hash_2b), Ok(true));
    assert_eq!(verify("hunter3", &hash_2b), Ok(false));

    // The same hash under the $2a$ and $2y$ prefixes other libraries write.
    let parts = bcrypt::hash_with_result("hunter2", 4).unwrap();
    for version in [bcrypt::Version::TwoA, bcrypt::Version::TwoY] {
        let hash = parts.format_for_version(version);
        assert_eq!(verify("hunter2", &hash), Ok(true), "{hash}");
        assert_eq!(verify("nope", &hash), Ok(false), "{hash}");
    }
}

#[test]
fn malformed_hashes_are_errors() {
    for bad in ["", "plaintext-password", "$1$md5$whatever", "sha256:abcdef"] {
        let err = verify("x", bad).unwrap_err();
        assert!(err.starts_with("not an argon2 or bcrypt hash"), "{bad:?}: {err}");
    }
    // Never echoes more than the start of what it was given.
    let err = verify("x", "a-long-secret-that-is-not-a-hash").unwrap_err();
    assert!(err.contains("\"a-long-s...\"") && !err.contains("secret"), "{err}");

    let err = verify("x", "$argon2id$v=19$m=19456,t=2,p=1$not base64!$zzz").unwrap_err();
    assert!(err.starts_with("malformed argon2 hash"), "{err}");
    let err = verify("x", "$argon2id$v=19$m=19456,t=2,p=1").unwrap_err();
    assert!(err.starts_with("malformed argon2 hash"), "{err}");
    let err = verify("x", "$2b$04$tooshort").unwrap_err();
    assert!(err.starts_with("malformed bcrypt hash"), "{err}");
}
