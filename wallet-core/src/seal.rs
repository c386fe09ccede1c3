//! The electronic seal (电子印章) and a sealed certificate as it travels between nodes.
//!
//! A sealed certificate carries the header, the fields disclosed to this receiver, the
//! digests of the fields withheld from it, and the seal. Verification recomputes the digest
//! of every disclosed field, so a changed value, a field moved between the two lists, a
//! changed header or a seal by a key the trust list does not hold for this issuer all fail.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::certificate::{
    Certificate, CertificateError, Field, MAX_FIELDS, MAX_FIELD_NAME, MAX_FIELD_VALUE,
};
use crate::codec::{CodecError, Reader, Writer};
use crate::context::SigningContext;
use crate::error::Coded;
use crate::keys::{KeyId, SealKey, SignatureBytes};
use crate::trust_list::TrustList;
use crate::UnixTime;

/// The issuing authority's signature over a certificate's canonical bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Seal {
    pub key_id: KeyId,
    pub sealed_at: UnixTime,
    pub signature: SignatureBytes,
}

/// A certificate with its seal, possibly with some fields withheld.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SealedCertificate {
    pub certificate: Certificate,
    /// Digests of the fields this copy does not disclose.
    pub withheld: Vec<[u8; 32]>,
    pub seal: Seal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("no seal key with id {0} is in the trust list")]
    UnknownKey(KeyId),
    #[error("the seal key belongs to another issuing authority than {0}")]
    IssuerMismatch(String),
    #[error("the seal key was not valid when it sealed (at {0})")]
    KeyNotValidAt(UnixTime),
    #[error("the seal does not verify over this certificate")]
    BadSignature,
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl Coded for SealError {
    fn code(&self) -> &'static str {
        match self {
            SealError::UnknownKey(_) => "seal_key_unknown",
            SealError::IssuerMismatch(_) => "seal_issuer_mismatch",
            SealError::KeyNotValidAt(_) => "seal_key_not_valid",
            SealError::BadSignature => "seal_invalid",
            SealError::Certificate(e) => e.code(),
            SealError::Codec(e) => e.code(),
        }
    }
    fn message_zh(&self) -> &'static str {
        match self {
            SealError::Certificate(e) => e.message_zh(),
            SealError::Codec(e) => e.message_zh(),
            _ => "电子印章验证未通过，该证照不可信",
        }
    }
}

impl Seal {
    fn payload(certificate_payload: &[u8], key_id: KeyId, sealed_at: UnixTime) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(certificate_payload).raw(&key_id.0).i64(sealed_at);
        w.finish()
    }

    /// Seals a whole certificate with a department's key (证照制作 + 印章).
    pub fn sign(
        certificate: Certificate,
        key: &SealKey,
        now: UnixTime,
    ) -> Result<SealedCertificate, CertificateError> {
        certificate.validate()?;
        let digests: Vec<[u8; 32]> = certificate.fields.iter().map(Field::digest).collect();
        let key_id = key.key_id();
        let payload = Self::payload(&certificate.seal_payload(&digests), key_id, now);
        let signature = key.sign(SigningContext::Seal, &payload);
        Ok(SealedCertificate {
            certificate,
            withheld: Vec::new(),
            seal: Seal {
                key_id,
                sealed_at: now,
                signature,
            },
        })
    }
}

impl SealedCertificate {
    /// Verifies the seal against the trust list. Validity in time is a separate question
    /// ([`Certificate::check_validity`]): an expired certificate still bears a genuine seal.
    pub fn verify(&self, trust: &TrustList) -> Result<(), SealError> {
        let cert = &self.certificate;
        let mut digests: Vec<[u8; 32]> = cert.fields.iter().map(Field::digest).collect();
        digests.extend_from_slice(&self.withheld);
        let payload = Seal::payload(
            &cert.seal_payload(&digests),
            self.seal.key_id,
            self.seal.sealed_at,
        );
        let mut candidates = trust.by_key_id(self.seal.key_id).peekable();
        if candidates.peek().is_none() {
            return Err(SealError::UnknownKey(self.seal.key_id));
        }
        let mut outcome = SealError::UnknownKey(self.seal.key_id);
        for entry in candidates {
            if &entry.issuer != cert.id.issuer() {
                outcome = SealError::IssuerMismatch(cert.id.issuer().to_string());
                continue;
            }
            if !entry.valid_at(self.seal.sealed_at) {
                outcome = SealError::KeyNotValidAt(self.seal.sealed_at);
                continue;
            }
            return entry
                .key
                .verify(SigningContext::Seal, &payload, &self.seal.signature)
                .map_err(|_| SealError::BadSignature);
        }
        Err(outcome)
    }

    /// Verifies the seal and that the certificate is in force at `now`.
    pub fn verify_at(&self, trust: &TrustList, now: UnixTime) -> Result<(), SealError> {
        self.verify(trust)?;
        Ok(self.certificate.check_validity(now)?)
    }

    /// A copy that discloses only the named fields; the others travel as digests.
    pub fn disclose(&self, names: &[&str]) -> SealedCertificate {
        let mut out = self.clone();
        let (shown, hidden): (Vec<Field>, Vec<Field>) = out
            .certificate
            .fields
            .drain(..)
            .partition(|f| names.contains(&f.name.as_str()));
        out.certificate.fields = shown;
        out.withheld.extend(hidden.iter().map(Field::digest));
        out.withheld.sort_unstable();
        out
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.certificate.encode_header(&mut w);
        w.u8(self.certificate.fields.len() as u8);
        for f in &self.certificate.fields {
            w.str(&f.name).str(&f.value).raw(&f.salt);
        }
        w.u8(self.withheld.len() as u8);
        for d in &self.withheld {
            w.raw(d);
        }
        w.raw(&self.seal.key_id.0)
            .i64(self.seal.sealed_at)
            .raw(&self.seal.signature);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let mut certificate = Certificate::decode_header(&mut r)?;
        let n = usize::from(r.u8("field count")?);
        if n > MAX_FIELDS {
            return Err(CodecError::TooLong {
                what: "field list",
                max: MAX_FIELDS,
            });
        }
        for _ in 0..n {
            let name = r.str(MAX_FIELD_NAME, "field name")?;
            // A name shown twice would let a reader take either value; sealing refuses it, so
            // a decoder that meets it has a forged or damaged copy in hand.
            if certificate.fields.iter().any(|f| f.name == name) {
                return Err(CodecError::Invalid("field list (a name repeated)"));
            }
            certificate.fields.push(Field {
                name: name.to_owned(),
                value: r.str(MAX_FIELD_VALUE, "field value")?.to_owned(),
                salt: r.array("field salt")?,
            });
        }
        let m = usize::from(r.u8("withheld count")?);
        if n + m > MAX_FIELDS {
            return Err(CodecError::TooLong {
                what: "field list",
                max: MAX_FIELDS,
            });
        }
        let withheld = (0..m)
            .map(|_| r.array("withheld digest"))
            .collect::<Result<Vec<_>, _>>()?;
        let seal = Seal {
            key_id: KeyId(r.array("seal key id")?),
            sealed_at: r.i64("sealed at")?,
            signature: r.array("seal")?,
        };
        r.finish()?;
        Ok(SealedCertificate {
            certificate,
            withheld,
            seal,
        })
    }
}

impl fmt::Debug for SealedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedCertificate")
            .field("id", &self.certificate.id)
            .field("holder", &self.certificate.holder)
            .field("disclosed", &self.certificate.fields.len())
            .field("withheld", &self.withheld.len())
            .field("seal_key", &self.seal.key_id)
            .finish()
    }
}

impl TryFrom<String> for SealedCertificate {
    type Error = CodecError;
    fn try_from(s: String) -> Result<Self, CodecError> {
        let bytes = B64
            .decode(s)
            .map_err(|_| CodecError::Invalid("base64url"))?;
        SealedCertificate::decode(&bytes)
    }
}

impl From<SealedCertificate> for String {
    fn from(s: SealedCertificate) -> String {
        B64.encode(s.encode())
    }
}
