//! `t.password`: Titan's built-in password hashing engine, written against the same extension
//! ABI as any user extension (through `titan-ext`), and linked into the runtime statically.
//!
//! - `t.password.hash(password)` → an argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`),
//!   with OWASP's recommended parameters and a random salt from the OS.
//! - `t.password.verify(password, hash)` → `true` / `false`; accepts any argon2 PHC string
//!   (argon2id, argon2i, argon2d, any parameters) and bcrypt (`$2a$`, `$2b$`, `$2y$`), so users
//!   migrated from another stack keep logging in. A malformed hash is an error.
//!
//! No config, no state: both functions are pure and may run on every worker at once.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use titan_ext::function;

/// OWASP's argon2id recommendation (Password Storage Cheat Sheet): 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with argon2id (m=19456 KiB, t=2, p=1, a random 16-byte salt) and returns
/// the PHC string to store: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. Two calls with the
/// same password give different strings. Takes about 20-50 ms of one core (release build).
#[function]
pub fn hash(password: &str) -> Result<String, String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("could not hash the password: {e}"))
}

/// `true` if `password` matches `hash`, else `false`. `hash` is an argon2 PHC string
/// (`$argon2id$...`, `$argon2i$...`, `$argon2d$...`; its own parameters are used) or a bcrypt
/// hash (`$2a$`, `$2b$`, `$2y$`). Anything else is an error: "not an argon2 or bcrypt hash".
#[function]
pub fn verify(password: &str, hash: &str) -> Result<bool, String> {
    if hash.starts_with("$argon2") {
        verify_argon2(password, hash)
    } else if ["$2a$", "$2b$", "$2y$"].iter().any(|prefix| hash.starts_with(prefix)) {
        bcrypt::verify(password, hash).map_err(|e| format!("malformed bcrypt hash: {e}"))
    } else {
        Err(format!(
            "not an argon2 or bcrypt hash (expected a string starting with $argon2id$, $argon2i$, $argon2d$, $2a$, $2b$ or $2y$, got {})",
            preview(hash)
        ))
    }
}

fn verify_argon2(password: &str, hash: &str) -> Result<bool, String> {
    let parsed = PasswordHash::new(hash).map_err(|e| format!("malformed argon2 hash: {e}"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("malformed argon2 hash: it has no salt or no hash part".into());
    }
    // The verifier takes the algorithm, version and parameters from the hash itself.
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(format!("malformed argon2 hash: {e}")),
    }
}

/// The start of a string that is not a hash, for the error message (never the whole of
/// something that might be a secret).
fn preview(text: &str) -> String {
    if text.is_empty() {
        return "an empty string".into();
    }
    let head: String = text.chars().take(8).collect();
    if head.len() < text.len() { format!("\"{head}...\"") } else { format!("\"{head}\"") }
}

titan_ext::extension! {
    name: "password",
    functions: [hash, verify],
    static_entry: password_extension,
}
