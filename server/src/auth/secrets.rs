//! Hashing of passwords (argon2id), one-time codes and refresh tokens.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::db::audit::hex_sha256;

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A one-time code is short, so its hash binds phone and purpose too.
pub fn otp_hash(phone: &str, purpose: &str, code: &str) -> String {
    hex_sha256(format!("otp\0{phone}\0{purpose}\0{code}").as_bytes())
}

/// Refresh tokens are 256-bit random strings; a plain hash suffices.
pub fn token_hash(token: &str) -> String {
    hex_sha256(token.as_bytes())
}

/// A random base64url string of `n` bytes.
pub fn random_string(n: usize) -> Result<String, getrandom::Error> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    let mut bytes = vec![0u8; n];
    getrandom::getrandom(&mut bytes)?;
    Ok(B64.encode(bytes))
}

/// A uniformly random six-digit code.
pub fn six_digits() -> Result<String, getrandom::Error> {
    loop {
        let mut b = [0u8; 4];
        getrandom::getrandom(&mut b)?;
        let v = u32::from_be_bytes(b);
        // Rejection sampling: 4_294_000_000 is a multiple of 1_000_000.
        if v < 4_294_000_000 {
            return Ok(format!("{:06}", v % 1_000_000));
        }
    }
}
