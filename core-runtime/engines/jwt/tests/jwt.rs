//! The natives behind `t.jwt`, called as Rust functions. RSA keys: `tests/fixtures/` (made
//! once with openssl; see the README there).

use serde_json::{Value, json};
use titan_engine_jwt::{OneOrMany, SignOptions, VerifyOptions, sign, verify};

const SECRET: &str = "a-shared-secret-of-reasonable-length";
const PRIVATE_PEM: &str = include_str!("fixtures/rs256-private.pem");
const PRIVATE_PKCS1_PEM: &str = include_str!("fixtures/rs256-private-pkcs1.pem");
const PUBLIC_PEM: &str = include_str!("fixtures/rs256-public.pem");
const OTHER_PUBLIC_PEM: &str = include_str!("fixtures/other-public.pem");

fn alg(name: &str) -> Option<SignOptions> {
    Some(SignOptions { algorithm: Some(name.into()), ..Default::default() })
}

fn allow(names: &[&str]) -> Option<VerifyOptions> {
    Some(VerifyOptions { algorithms: Some(names.iter().map(|n| (*n).to_owned()).collect()), ..Default::default() })
}

fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&base64url_decode(part)).unwrap()
}

/// Replaces the token's payload with `claims`, keeping header and signature.
fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], base64url_encode(claims.to_string().as_bytes()), parts[2])
}

#[test]
fn hmac_round_trips() {
    let payload = json!({ "userId": 42, "roles": ["admin"], "nested": { "ok": true } });
    for name in ["HS256", "HS384", "HS512"] {
        let token = sign(payload.clone(), SECRET, alg(name)).unwrap();
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(header(&token)["alg"], name);
        assert_eq!(verify(&token, SECRET, allow(&[name])).unwrap(), payload, "{name}");
    }
}

#[test]
fn default_is_hs256_both_ways() {
    let token = sign(json!({ "a": 1 }), SECRET, None).unwrap();
    assert_eq!(header(&token)["alg"], "HS256");
    assert_eq!(header(&token)["typ"], "JWT");
    assert_eq!(verify(&token, SECRET, None).unwrap(), json!({ "a": 1 }));
}

#[test]
fn rs256_round_trip_with_pkcs8_and_pkcs1_private_keys() {
    for private in [PRIVATE_PEM, PRIVATE_PKCS1_PEM] {
        let token = sign(json!({ "sub": "u1" }), private, alg("RS256")).unwrap();
        assert_eq!(header(&token)["alg"], "RS256");
        assert_eq!(verify(&token, PUBLIC_PEM, allow(&["RS256"])).unwrap(), json!({ "sub": "u1" }));
        assert_eq!(verify(&token, OTHER_PUBLIC_PEM, allow(&["RS256"])).unwrap_err(), "invalid signature");
    }
}

#[test]
fn tampered_payload_is_an_invalid_signature() {
    let token = sign(json!({ "userId": 42, "admin": false }), SECRET, None).unwrap();
    let forged = with_payload(&token, &json!({ "userId": 42, "admin": true }));
    assert_eq!(verify(&forged, SECRET, None).unwrap_err(), "invalid signature");

    let token = sign(json!({ "admin": false }), PRIVATE_PEM, alg("RS256")).unwrap();
    let forged = with_payload(&token, &json!({ "admin": true }));
    assert_eq!(verify(&forged, PUBLIC_PEM, allow(&["RS256"])).unwrap_err(), "invalid signature");
}

#[test]
fn wrong_secret_is_refused() {
    let token = sign(json!({ "a": 1 }), SECRET, None).unwrap();
    assert_eq!(verify(&token, "another-secret", None).unwrap_err(), "invalid signature");
}

#[test]
fn expiry() {
    let fresh = sign(json!({ "a": 1 }), SECRET, Some(SignOptions { expires_in: Some(60.0), ..Default::default() })).unwrap();
    let claims = verify(&fresh, SECRET, None).unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now + 59..=now + 61).contains(&exp), "exp {exp}, now {now}");

    let stale = sign(json!({ "a": 1 }), SECRET, Some(SignOptions { expires_in: Some(-30.0), ..Default::default() })).unwrap();
    assert_eq!(verify(&stale, SECRET, None).unwrap_err(), "token expired");
    // Within the leeway it passes.
    let lenient = VerifyOptions { leeway: Some(60.0), ..Default::default() };
    assert!(verify(&stale, SECRET, Some(lenient)).is_ok());

    // exp in the payload itself is checked too; no exp at all is fine.
    let stale = sign(json!({ "exp": 1_000_000_000 }), SECRET, None).unwrap();
    assert_eq!(verify(&stale, SECRET, None).unwrap_err(), "token expired");
    let err = sign(json!({ "exp": 1 }), SECRET, Some(SignOptions { expires_in: Some(5.0), ..Default::default() })).unwrap_err();
    assert!(err.contains("expiresIn") && err.contains("\"exp\""), "{err}");
}

#[test]
fn not_before_is_checked() {
    let future = sign(json!({ "nbf": 9_999_999_999u64 }), SECRET, None).unwrap();
    assert!(verify(&future, SECRET, None).unwrap_err().starts_with("token not yet valid"));
}

#[test]
fn wrong_algorithm_is_refused() {
    let hs512 = sign(json!({ "a": 1 }), SECRET, alg("HS512")).unwrap();
    assert_eq!(verify(&hs512, SECRET, None).unwrap_err(), "algorithm HS512 not allowed (allowed: HS256)");

    let rs256 = sign(json!({ "a": 1 }), PRIVATE_PEM, alg("RS256")).unwrap();
    assert_eq!(verify(&rs256, PUBLIC_PEM, None).unwrap_err(), "algorithm RS256 not allowed (allowed: HS256)");
    // Several allowed, of both kinds: the token's own algorithm picks how the key is read.
    assert!(verify(&rs256, PUBLIC_PEM, allow(&["HS256", "RS256"])).is_ok());

    // Algorithm confusion: an HS256 token "signed" with the public key as its secret.
    let forged_header = base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = base64url_encode(br#"{"admin":true}"#);
    let forged = format!("{forged_header}.{body}.AAAA");
    let err = verify(&forged, PUBLIC_PEM, allow(&["HS256", "RS256"])).unwrap_err();
    assert!(err.contains("PEM key") && err.contains("shared secret"), "{err}");
    // and signing refuses to do that in the first place.
    assert!(sign(json!({}), PUBLIC_PEM, None).unwrap_err().contains("PEM key"));

    // "none" (unsigned tokens) is never accepted.
    let none_header = base64url_encode(br#"{"alg":"none","typ":"JWT"}"#);
    let err = verify(&format!("{none_header}.{body}."), SECRET, None).unwrap_err();
    assert!(err.starts_with("malformed token"), "{err}");
}

#[test]
fn issuer_audience_subject_and_key_id() {
    let options = SignOptions {
        issuer: Some("titan".into()),
        audience: Some(OneOrMany::One("api".into())),
        subject: Some("user-7".into()),
        key_id: Some("2026-01".into()),
        ..Default::default()
    };
    let token = sign(json!({ "scope": "read" }), SECRET, Some(options)).unwrap();
    assert_eq!(header(&token)["kid"], "2026-01");

    let expect = |issuer: &str, audience: &str| VerifyOptions {
        issuer: Some(OneOrMany::One(issuer.into())),
        audience: Some(OneOrMany::One(audience.into())),
        ..Default::default()
    };
    let claims = verify(&token, SECRET, Some(expect("titan", "api"))).unwrap();
    assert_eq!(claims, json!({ "scope": "read", "iss": "titan", "aud": "api", "sub": "user-7" }));
    assert_eq!(verify(&token, SECRET, Some(expect("other", "api"))).unwrap_err(), "invalid issuer: expected other");
    assert_eq!(verify(&token, SECRET, Some(expect("titan", "web"))).unwrap_err(), "invalid audience: expected web");
    let any_of = VerifyOptions { audience: Some(OneOrMany::Many(vec!["web".into(), "api".into()])), ..Default::default() };
    assert!(verify(&token, SECRET, Some(any_of)).is_ok());
    // A token meant for an audience is refused by a verifier that names none.
    assert!(verify(&token, SECRET, None).unwrap_err().starts_with("invalid audience"));
}

#[test]
fn malformed_tokens_and_bad_input() {
    for bad in ["", "abc", "a.b", "a.b.c", "e30.e30", "!!!.e30.sig"] {
        let err = verify(bad, SECRET, None).unwrap_err();
        assert!(err.starts_with("malformed token"), "{bad:?}: {err}");
    }
    assert_eq!(sign(json!([1, 2]), SECRET, None).unwrap_err(), "the payload must be an object, got an array");
    assert!(sign(json!({}), SECRET, alg("ES256")).unwrap_err().starts_with("unsupported algorithm \"ES256\""));
    assert!(sign(json!({}), "not a pem", alg("RS256")).unwrap_err().starts_with("the key is not a PEM RSA private key"));
    assert!(sign(json!({}), "", None).unwrap_err().contains("empty"));
    let token = sign(json!({}), PRIVATE_PEM, alg("RS256")).unwrap();
    let err = verify(&token, PRIVATE_PEM, allow(&["RS256"])).unwrap_err();
    assert!(err.starts_with("the key is a private key"), "{err}");
    let err = verify(&token, "not a pem", allow(&["RS256"])).unwrap_err();
    assert!(err.starts_with("the key is not a PEM RSA public key"), "{err}");
    assert!(verify(&token, PUBLIC_PEM, allow(&[])).unwrap_err().contains("empty"));
}

#[test]
fn options_from_js_shapes() {
    // What the host hands over: camelCase JSON; typos are refused, not ignored.
    let options: SignOptions = serde_json::from_value(json!({ "algorithm": "HS384", "expiresIn": 10, "keyId": "k" })).unwrap();
    assert_eq!(options.expires_in, Some(10.0));
    let typo = serde_json::from_value::<SignOptions>(json!({ "expiresin": 10 })).unwrap_err().to_string();
    assert!(typo.contains("unknown field `expiresin`"), "{typo}");
    let options: VerifyOptions = serde_json::from_value(json!({ "audience": ["a", "b"], "leeway": 5 })).unwrap();
    assert!(matches!(options.audience, Some(OneOrMany::Many(ref v)) if v.len() == 2));
}

// --- base64url, by hand (tests only) ------------------------------------------------------------

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn base64url_decode(text: &str) -> Vec<u8> {
    let digits: Vec<u32> = text.bytes().map(|c| ALPHABET.iter().position(|a| *a == c).unwrap() as u32).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}
