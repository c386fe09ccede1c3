//! Core benchmarks, in one run: verifying a scanned presentation against a bare Ed25519 verify
//! (the reference) and against the same claims as an EdDSA JWT (jsonwebtoken), a PASETO
//! v4.public token (pasetors) and an SD-JWT with key binding (sd-jwt-rs, `support/sd_jwt.rs`); each
//! token's bytes and QR version at level M; signing a grant; a presentation with its QR SVG.
//!
//! Each operation is timed in batches of about `batch_ms`, after one calibration batch; its
//! figure is the median batch's time per operation. `BENCH_REPS=N` repeats the whole set N
//! times. Besides the markdown, every figure is printed as a `BENCH {json}` line for
//! `scripts/bench-report.mjs`.
//!
//! Run: `cargo bench -p wallet-core --bench core` (about a minute). `-- --smoke`, and
//! `cargo test --bench core` (which passes no `--bench`), run each operation a few times only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sd_jwt.rs"]
mod sd_jwt;

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey, Verifier};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use pasetors::Public;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wallet_core::grant::GrantTerms;
use wallet_core::*;

const NOW: i64 = 1_790_000_000;
const SEED: [u8; 32] = [0x22; 32];
/// The issuer's key for the SD-JWT: unlike the other forms, SD-JWT separates issuer and holder.
const ISSUER_SEED: [u8; 32] = [0x33; 32];

/// The presentation's claims in JWT / PASETO clothing.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub sub: String,
    pub kid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn presentation(key: &DeviceKey) -> Presentation {
    Presentation::sign_with_nonce(
        key,
        RegionCode::new(410000).unwrap(),
        Subject::Grant(GrantId([0x5a; 16])),
        NOW,
        60,
        [0x77; 16],
    )
    .unwrap()
}

fn claims(p: &Presentation) -> Claims {
    let Subject::Grant(g) = &p.subject else {
        unreachable!()
    };
    Claims {
        aud: p.resolve_at.to_string(),
        sub: g.to_string(),
        kid: p.presenter.to_string(),
        iat: p.issued_at,
        exp: p.expires_at,
        jti: hex(&p.nonce),
    }
}

/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410).
pub fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

fn jwt(claims: &Claims) -> (String, jsonwebtoken::DecodingKey) {
    let enc = jsonwebtoken::EncodingKey::from_ed_der(&pkcs8(&SEED));
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        claims,
        &enc,
    )
    .unwrap();
    let public = SigningKey::from_bytes(&SEED).verifying_key().to_bytes();
    (token, jsonwebtoken::DecodingKey::from_ed_der(&public))
}

fn paseto(claims: &Claims) -> (String, AsymmetricPublicKey<V4>) {
    let signing = SigningKey::from_bytes(&SEED);
    let mut kp = SEED.to_vec();
    kp.extend_from_slice(signing.verifying_key().as_bytes());
    let sk = AsymmetricSecretKey::<V4>::from(&kp).unwrap();
    let pk = AsymmetricPublicKey::<V4>::from(signing.verifying_key().as_bytes()).unwrap();
    let token = PublicToken::sign(
        &sk,
        serde_json::to_string(claims).unwrap().as_bytes(),
        None,
        None,
    )
    .unwrap();
    (token, pk)
}

// ---------------------------------------------------------------------------------------------
// Timing and output.

#[derive(Debug, Clone, Copy)]
struct Timing {
    batch: Duration,
    samples: usize,
}

/// Nanoseconds per call of `op`: the median of `samples` batches sized to about `t.batch`.
fn time(t: Timing, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < t.batch / 4 || n == 0 {
        op();
        n += 1;
    }
    let per = start.elapsed().as_secs_f64() / n as f64;
    let batch = ((t.batch.as_secs_f64() / per) as u64).max(1);
    let mut out: Vec<f64> = (0..t.samples)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..batch {
                op();
            }
            t0.elapsed().as_secs_f64() * 1e9 / batch as f64
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out[out.len() / 2]
}

fn emit(section: &str, rep: usize, name: &str, value: f64, unit: &str, reference: Option<&str>) {
    let mut v = json!({
        "bench": "core", "section": section, "name": name, "value": value, "unit": unit, "rep": rep,
    });
    if let Some(r) = reference {
        v["ref"] = json!(r);
    }
    println!("BENCH {v}");
}

/// Prints one group's table and its `BENCH` lines; the first row is the reference.
fn report(section: &str, rep: usize, rows: &[(&str, f64)]) {
    let (reference, base) = rows[0];
    println!("\n### {section} (repetition {})\n", rep + 1);
    println!("| operation | µs | ÷ {reference} |");
    println!("|---|---:|---:|");
    for (i, (name, ns)) in rows.iter().enumerate() {
        println!("| {name} | {:.2} | {:.2}× |", ns / 1e3, ns / base);
        emit(
            section,
            rep,
            name,
            ns / 1e3,
            "µs",
            (i > 0).then_some(reference),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmarks.

fn sizes() {
    let key = SecretKey::from_bytes(&SEED).unwrap();
    let p = presentation(&key);
    let c = claims(&p);
    let ours = p.encode_text();
    let (jwt, _) = jwt(&c);
    let (paseto, _) = paseto(&c);
    let sd = sd_jwt::Case::new(&c, &SEED, &ISSUER_SEED);
    let rows: [(&str, usize, Option<u8>); 5] = [
        (
            "ours, EC1: Base45 text",
            ours.len(),
            Some(qr::version(&ours).unwrap()),
        ),
        ("ours, binary", p.encode().len(), None),
        ("JWT EdDSA", jwt.len(), Some(qr::version(&jwt).unwrap())),
        (
            "PASETO v4.public",
            paseto.len(),
            Some(qr::version(&paseto).unwrap()),
        ),
        (
            "SD-JWT+KB (EdDSA issuer and holder)",
            sd.token.len(),
            Some(qr::version(&sd.token).unwrap()),
        ),
    ];
    println!("\n### Size of one grant presentation (same claims), QR at level M\n");
    println!("| form | bytes | ÷ ours | QR version |");
    println!("|---|---:|---:|---:|");
    let ours_name = rows[0].0;
    for (i, (name, bytes, version)) in rows.iter().enumerate() {
        println!(
            "| {name} | {bytes} | {:.2}× | {} |",
            *bytes as f64 / rows[0].1 as f64,
            version.map_or("–".into(), |v| v.to_string())
        );
        let reference = (i > 0).then(|| format!("{ours_name} bytes"));
        emit(
            "token size",
            0,
            &format!("{name} bytes"),
            *bytes as f64,
            "bytes",
            reference.as_deref(),
        );
        if let Some(v) = version {
            let reference = (i > 0).then(|| format!("{ours_name} QR version"));
            emit(
                "token size",
                0,
                &format!("{name} QR version"),
                f64::from(*v),
                "version",
                reference.as_deref(),
            );
        }
    }
}

fn verify(t: Timing, rep: usize) {
    let key = SecretKey::from_bytes(&SEED).unwrap();
    let public = key.public_key();
    let p = presentation(&key);
    let text = p.encode_text();
    let claims = claims(&p);

    let dalek = SigningKey::from_bytes(&SEED);
    let dalek_pub = dalek.verifying_key();
    let msg = p.encode();
    let msg = &msg[..msg.len() - 64];
    let sig = dalek.sign(msg);

    let (jwt, jwt_key) = jwt(&claims);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["410000"]);
    validation.validate_exp = false; // fixed NOW in the past; expiry is compared by hand below
    let (paseto, paseto_key) = paseto(&claims);
    let sd = sd_jwt::Case::new(&claims, &SEED, &ISSUER_SEED);
    // Each form must verify before it is timed, so no error path is measured.
    assert_eq!(sd.verify()["sub"], json!(claims.sub));

    let rows = [
        (
            "ed25519-dalek verify (reference)",
            time(t, || {
                dalek_pub.verify(black_box(msg), black_box(&sig)).unwrap()
            }),
        ),
        (
            "ed25519-dalek verify_strict",
            time(t, || {
                dalek_pub
                    .verify_strict(black_box(msg), black_box(&sig))
                    .unwrap()
            }),
        ),
        (
            "ours: presentation decode text + verify",
            time(t, || {
                let p = Presentation::decode_text(black_box(&text)).unwrap();
                p.verify(&public, NOW).unwrap();
            }),
        ),
        (
            "JWT EdDSA decode + verify (jsonwebtoken)",
            time(t, || {
                let t =
                    jsonwebtoken::decode::<Claims>(black_box(&jwt), &jwt_key, &validation).unwrap();
                assert!(t.claims.exp > NOW);
            }),
        ),
        (
            "PASETO v4.public verify (pasetors)",
            time(t, || {
                let untrusted =
                    UntrustedToken::<Public, V4>::try_from(black_box(paseto.as_str())).unwrap();
                let trusted = PublicToken::verify(&paseto_key, &untrusted, None, None).unwrap();
                let claims: Claims = serde_json::from_str(trusted.payload()).unwrap();
                assert!(claims.exp > NOW);
            }),
        ),
        (
            sd_jwt::VERIFY_LABEL,
            time(t, || {
                black_box(sd.verify());
            }),
        ),
    ];
    report("verify a presentation", rep, &rows);
}

fn sign(t: Timing, rep: usize) {
    let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
    let issuer = CreditCode::with_check_char("11410100MB1234567").unwrap();
    let terms = GrantTerms {
        id: GrantId([0x5a; 16]),
        cert_id: CertId::new("11100000000013338W011", &issuer, "ZZ7Q2M4K9T3B8N6R", 1).unwrap(),
        holder: Holder::Person(ResidentId::with_check_digit("41010219850312003").unwrap()),
        grantee: Grantee {
            resident_id: ResidentId::with_check_digit("41110219900101002").unwrap(),
            name: "李四".into(),
            enterprise: None,
        },
        matters: MatterScope::Named(vec!["411100-JS-0042".into()]),
        not_before: NOW,
        not_after: NOW + 86400,
        use_limit: None,
    };
    let grant = terms.clone().sign(&key).unwrap();
    let public = key.public_key();
    let dalek = SigningKey::from_bytes(&[0x11; 32]);
    let text = Presentation::sign(
        &key,
        RegionCode::new(410000).unwrap(),
        Subject::Grant(GrantId([0x5a; 16])),
        NOW,
        60,
    )
    .unwrap()
    .encode_text();
    let msg = [0x42u8; 100];
    let rows = [
        (
            "ed25519-dalek sign, 100 bytes (reference)",
            time(t, || {
                black_box(dalek.sign(black_box(&msg)));
            }),
        ),
        (
            "grant sign",
            time(t, || {
                black_box(black_box(terms.clone()).sign(&key).unwrap());
            }),
        ),
        (
            "grant verify",
            time(t, || black_box(&grant).verify_signature(&public).unwrap()),
        ),
        (
            "QR SVG only",
            time(t, || {
                black_box(qr::svg(black_box(&text), 256).unwrap());
            }),
        ),
        (
            "presentation sign + QR SVG",
            time(t, || {
                let p = Presentation::sign(
                    &key,
                    RegionCode::new(410000).unwrap(),
                    Subject::Grant(GrantId([0x5a; 16])),
                    NOW,
                    60,
                )
                .unwrap();
                black_box(qr::svg(&p.encode_text(), 256).unwrap());
            }),
        ),
    ];
    report("sign in the wallet", rep, &rows);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --bench core` does not.
    let smoke = args.iter().any(|a| a == "--smoke") || !args.iter().any(|a| a == "--bench");
    let t = if smoke {
        Timing {
            batch: Duration::from_millis(2),
            samples: 3,
        }
    } else {
        Timing {
            batch: Duration::from_millis(100),
            samples: 15,
        }
    };
    let reps = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    println!(
        "## Core: {} run, {} repetition(s); median of {} batches of ~{} ms per operation",
        if smoke { "smoke" } else { "full" },
        reps,
        t.samples,
        t.batch.as_millis()
    );
    sizes();
    for rep in 0..reps {
        verify(t, rep);
        sign(t, rep);
    }
}
