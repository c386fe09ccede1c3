//! Core benchmarks: our presentation verify against a bare Ed25519 verify and against the
//! same claims as an EdDSA JWT (jsonwebtoken) and a PASETO v4.public token (pasetors), all in
//! one run; plus grant signing and presentation + QR rendering. Sizes are printed first.
//!
//! Run: `cargo bench -p wallet-core --bench core`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use pasetors::Public;
use serde::{Deserialize, Serialize};
use wallet_core::grant::GrantTerms;
use wallet_core::*;

const NOW: i64 = 1_790_000_000;
const SEED: [u8; 32] = [0x22; 32];

/// The presentation's claims in JWT / PASETO clothing.
#[derive(Serialize, Deserialize)]
struct Claims {
    aud: String,
    sub: String,
    kid: String,
    iat: i64,
    exp: i64,
    jti: String,
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

fn jwt(claims: &Claims) -> (String, jsonwebtoken::DecodingKey) {
    // PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410).
    let mut der = hex_to_bytes("302e020100300506032b657004220420");
    der.extend_from_slice(&SEED);
    let enc = jsonwebtoken::EncodingKey::from_ed_der(&der);
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

fn hex_to_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn print_sizes() {
    let key = SecretKey::from_bytes(&SEED).unwrap();
    let p = presentation(&key);
    let c = claims(&p);
    let ours = p.encode_text();
    let (jwt, _) = jwt(&c);
    let (paseto, _) = paseto(&c);
    println!("\nsize of one grant presentation (same claims), QR at level M:");
    println!("| form | bytes | QR version |");
    println!("|---|---|---|");
    println!("| ours, binary | {} | – |", p.encode().len());
    println!(
        "| ours, EC1: Base45 text | {} | {} |",
        ours.len(),
        qr::version(&ours).unwrap()
    );
    println!(
        "| JWT EdDSA | {} | {} |",
        jwt.len(),
        qr::version(&jwt).unwrap()
    );
    println!(
        "| PASETO v4.public | {} | {} |",
        paseto.len(),
        qr::version(&paseto).unwrap()
    );
}

fn verify(c: &mut Criterion) {
    print_sizes();
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

    let mut g = c.benchmark_group("verify");
    g.bench_function("ed25519_dalek_verify (reference)", |b| {
        b.iter(|| dalek_pub.verify(black_box(msg), black_box(&sig)).unwrap())
    });
    g.bench_function("ed25519_dalek_verify_strict", |b| {
        b.iter(|| {
            dalek_pub
                .verify_strict(black_box(msg), black_box(&sig))
                .unwrap()
        })
    });
    g.bench_function("presentation_decode_text_and_verify", |b| {
        b.iter(|| {
            let p = Presentation::decode_text(black_box(&text)).unwrap();
            p.verify(&public, NOW).unwrap();
        })
    });
    g.bench_function("jwt_eddsa_decode_and_verify", |b| {
        b.iter(|| {
            let t = jsonwebtoken::decode::<Claims>(black_box(&jwt), &jwt_key, &validation).unwrap();
            assert!(t.claims.exp > NOW);
        })
    });
    g.bench_function("paseto_v4_public_verify", |b| {
        b.iter(|| {
            let untrusted =
                UntrustedToken::<Public, V4>::try_from(black_box(paseto.as_str())).unwrap();
            let trusted = PublicToken::verify(&paseto_key, &untrusted, None, None).unwrap();
            let claims: Claims = serde_json::from_str(trusted.payload()).unwrap();
            assert!(claims.exp > NOW);
        })
    });
    g.finish();
}

fn sign(c: &mut Criterion) {
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
    let mut g = c.benchmark_group("wallet");
    g.bench_function("grant_sign", |b| {
        b.iter(|| black_box(terms.clone()).sign(&key).unwrap())
    });
    g.bench_function("grant_verify", |b| {
        b.iter(|| black_box(&grant).verify_signature(&public).unwrap())
    });
    let text = Presentation::sign(
        &key,
        RegionCode::new(410000).unwrap(),
        Subject::Grant(GrantId([0x5a; 16])),
        NOW,
        60,
    )
    .unwrap()
    .encode_text();
    g.bench_function("qr_svg_only", |b| {
        b.iter(|| qr::svg(black_box(&text), 256).unwrap())
    });
    g.bench_function("presentation_sign_and_qr_svg", |b| {
        b.iter(|| {
            let p = Presentation::sign(
                &key,
                RegionCode::new(410000).unwrap(),
                Subject::Grant(GrantId([0x5a; 16])),
                NOW,
                60,
            )
            .unwrap();
            qr::svg(&p.encode_text(), 256).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, verify, sign);
criterion_main!(benches);
