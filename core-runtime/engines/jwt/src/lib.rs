//! `t.jwt`: Titan's built-in JSON Web Token engine, written against the same extension ABI as
//! any user extension (through `titan-ext`), and linked into the runtime statically.
//!
//! - `t.jwt.sign(payload, key, options?)` → a compact JWT (`header.payload.signature`).
//! - `t.jwt.verify(token, key, options?)` → the token's claims, or an exception naming the
//!   cause: `token expired`, `invalid signature`, `algorithm RS256 not allowed ...`,
//!   `malformed token ...`.
//!
//! Algorithms: HS256, HS384, HS512 (the key is the shared secret, as a string) and RS256 (the
//! key is a PEM RSA private key to sign, a PEM public key to verify). Crypto is RustCrypto's
//! (pure Rust). No config, no state.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use titan_ext::function;

/// A string, or several (`audience: ["a", "b"]`).
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }

    fn to_claim(&self) -> Value {
        match self {
            OneOrMany::One(one) => Value::String(one.clone()),
            OneOrMany::Many(many) => Value::from(many.clone()),
        }
    }
}

/// `sign`'s options (every field optional; unknown fields are refused so that typos show).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignOptions {
    /// `"HS256"` (default), `"HS384"`, `"HS512"` or `"RS256"`.
    pub algorithm: Option<String>,
    /// Lifetime in seconds: sets `exp` to now + this (rounded up to a whole second). Negative
    /// values make an already-expired token (useful in tests).
    pub expires_in: Option<f64>,
    /// Sets the `iss` claim.
    pub issuer: Option<String>,
    /// Sets the `aud` claim (a string or an array of strings).
    pub audience: Option<OneOrMany>,
    /// Sets the `sub` claim.
    pub subject: Option<String>,
    /// Sets the header's `kid` (which key signed the token, for key rotation).
    pub key_id: Option<String>,
}

/// `verify`'s options (every field optional; unknown fields are refused so that typos show).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyOptions {
    /// Algorithms accepted; `["HS256"]` by default. A token signed with another is refused.
    pub algorithms: Option<Vec<String>>,
    /// The `iss` claim must be (one of) this.
    pub issuer: Option<OneOrMany>,
    /// The `aud` claim must contain (one of) this. Without it, a token that has an `aud` claim
    /// is refused (RFC 7519: a recipient must identify itself with a value in `aud`).
    pub audience: Option<OneOrMany>,
    /// Clock tolerance in seconds for `exp` and `nbf`; 0 by default.
    pub leeway: Option<f64>,
}

const SUPPORTED: &str = "HS256, HS384, HS512, RS256";

fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "HS384" => Ok(Algorithm::HS384),
        "HS512" => Ok(Algorithm::HS512),
        "RS256" => Ok(Algorithm::RS256),
        other => Err(format!("unsupported algorithm \"{other}\" (supported: {SUPPORTED})")),
    }
}

fn is_hmac(algorithm: Algorithm) -> bool {
    matches!(algorithm, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// An HMAC secret must not be a PEM key: verifying an HS256 token with an RSA public key as
/// the "secret" is the classic algorithm-confusion attack (anyone can sign with a public key).
fn hmac_secret(key: &str, algorithm: Algorithm) -> Result<&[u8], String> {
    if key.trim_start().starts_with("-----BEGIN") {
        return Err(format!("the key is a PEM key, but {algorithm:?} takes a shared secret: use RS256 with PEM keys"));
    }
    if key.is_empty() {
        return Err("the secret is empty".into());
    }
    Ok(key.as_bytes())
}

fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn set_claim(claims: &mut Map<String, Value>, claim: &str, option: &str, value: Value) -> Result<(), String> {
    if claims.contains_key(claim) {
        return Err(format!("options.{option} would overwrite the payload's \"{claim}\" claim: set one or the other"));
    }
    claims.insert(claim.to_owned(), value);
    Ok(())
}

/// Signs `payload` (a JSON object: the claims) and returns the compact token. `key` is the
/// shared secret for HS256/HS384/HS512, or a PEM RSA private key (PKCS#8 or PKCS#1) for RS256.
/// `options`: `{ algorithm: "HS256", expiresIn: seconds, issuer, audience, subject, keyId }`;
/// `expiresIn`, `issuer`, `audience` and `subject` set `exp`, `iss`, `aud` and `sub`.
#[function]
pub fn sign(payload: Value, key: &str, options: Option<SignOptions>) -> Result<String, String> {
    let options = options.unwrap_or_default();
    let Value::Object(mut claims) = payload else {
        return Err(format!("the payload must be an object, got {}", json_kind(&payload)));
    };
    let algorithm = parse_algorithm(options.algorithm.as_deref().unwrap_or("HS256"))?;

    if let Some(seconds) = options.expires_in {
        if !seconds.is_finite() {
            return Err(format!("options.expiresIn must be a finite number of seconds, got {seconds}"));
        }
        let exp = (now_seconds() + seconds).ceil();
        set_claim(&mut claims, "exp", "expiresIn", Value::from(exp as i64))?;
    }
    if let Some(issuer) = options.issuer {
        set_claim(&mut claims, "iss", "issuer", Value::String(issuer))?;
    }
    if let Some(audience) = &options.audience {
        set_claim(&mut claims, "aud", "audience", audience.to_claim())?;
    }
    if let Some(subject) = options.subject {
        set_claim(&mut claims, "sub", "subject", Value::String(subject))?;
    }

    let encoding_key = if is_hmac(algorithm) {
        EncodingKey::from_secret(hmac_secret(key, algorithm)?)
    } else {
        EncodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|e| format!("the key is not a PEM RSA private key (RS256 signs with a private key): {}", describe(&e)))?
    };
    let mut header = Header::new(algorithm);
    header.kid = options.key_id;
    jsonwebtoken::encode(&header, &claims, &encoding_key).map_err(|e| format!("could not sign: {}", describe(&e)))
}

/// Verifies `token`'s signature and claims and returns its claims (the payload). `key` is the
/// shared secret for HS256/HS384/HS512, or a PEM RSA public key for RS256. `options`:
/// `{ algorithms: ["HS256"], issuer, audience, leeway: seconds }`. `exp` and `nbf` are checked
/// when present (not required). Errors: `token expired`, `invalid signature`,
/// `algorithm X not allowed`, `malformed token`, `invalid issuer`, `invalid audience`.
#[function]
pub fn verify(token: &str, key: &str, options: Option<VerifyOptions>) -> Result<Value, String> {
    let options = options.unwrap_or_default();
    let allowed = match &options.algorithms {
        None => vec![Algorithm::HS256],
        Some(names) if names.is_empty() => return Err("options.algorithms is empty: list at least one algorithm".into()),
        Some(names) => names.iter().map(|name| parse_algorithm(name)).collect::<Result<Vec<_>, _>>()?,
    };
    let leeway = match options.leeway {
        None => 0,
        Some(seconds) if seconds.is_finite() && seconds >= 0.0 => seconds.ceil().min(now_seconds()) as u64,
        Some(seconds) => return Err(format!("options.leeway must be a number of seconds (0 or more), got {seconds}")),
    };

    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {}", describe(&e)))?;
    if !allowed.contains(&header.alg) {
        let names: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
        return Err(format!("algorithm {:?} not allowed (allowed: {})", header.alg, names.join(", ")));
    }

    let decoding_key = if is_hmac(header.alg) {
        DecodingKey::from_secret(hmac_secret(key, header.alg)?)
    } else if key.contains("PRIVATE KEY-----") {
        // jsonwebtoken would take it and report every signature as invalid.
        return Err(format!("the key is a private key: {:?} tokens are verified with the public key (-----BEGIN PUBLIC KEY-----)", header.alg));
    } else {
        DecodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|e| format!("the key is not a PEM RSA public key (RS256 verifies with the public key): {}", describe(&e)))?
    };

    // Only the token's own algorithm: it is allowed (checked above) and matches the key's kind.
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims = HashSet::new();
    validation.leeway = leeway;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    if let Some(issuer) = &options.issuer {
        validation.set_issuer(&issuer.to_vec());
    }
    if let Some(audience) = &options.audience {
        validation.set_audience(&audience.to_vec());
    }

    match jsonwebtoken::decode::<Value>(token, &decoding_key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::ExpiredSignature => "token expired".into(),
            ErrorKind::ImmatureSignature => "token not yet valid (its nbf claim is in the future)".into(),
            ErrorKind::InvalidSignature => "invalid signature".into(),
            ErrorKind::InvalidIssuer => match &options.issuer {
                Some(issuer) => format!("invalid issuer: expected {}", issuer.to_vec().join(" or ")),
                None => "invalid issuer".into(),
            },
            ErrorKind::InvalidAudience => match &options.audience {
                Some(audience) => format!("invalid audience: expected {}", audience.to_vec().join(" or ")),
                None => "invalid audience: the token has an aud claim; pass options.audience to accept it".into(),
            },
            ErrorKind::InvalidSubject => "invalid subject".into(),
            ErrorKind::InvalidClaimFormat(claim) => format!("malformed token: the {claim} claim must be a number of seconds since 1970"),
            ErrorKind::InvalidRsaKey(why) => format!("the key is not a valid RSA public key: {why}"),
            _ => format!("malformed token: {}", describe(&e)),
        }),
    }
}

/// A jsonwebtoken error in words (its Display shows some kinds as Debug names).
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    match error.kind() {
        ErrorKind::InvalidToken => "expected three base64url parts separated by dots".into(),
        ErrorKind::InvalidKeyFormat => "not a PEM key of the expected kind".into(),
        ErrorKind::InvalidAlgorithmName => "unknown algorithm in the header".into(),
        ErrorKind::Base64(e) => format!("bad base64url ({e})"),
        ErrorKind::Json(e) => format!("a part is not valid JSON ({e})"),
        ErrorKind::Utf8(e) => format!("a part is not valid UTF-8 ({e})"),
        _ => error.to_string(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

titan_ext::extension! {
    name: "jwt",
    functions: [sign, verify],
    static_entry: jwt_extension,
}
