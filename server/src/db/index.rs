//! The index of certificates held at the nodes below (and, at a province or the national node,
//! its own): the metadata the issuing nodes push, so this tier can route, disclose and show a
//! person what they hold elsewhere without asking every city.
//!
//! One row per certificate. Each push event carries the whole metadata as it stands after the
//! change, numbered by the sender's event sequence; a row is only ever replaced by an event with
//! a higher number, so a late or repeated delivery can never bring back an older status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use wallet_core::{RegionCode, SealedCertificate};

use super::audit::{append, hex_sha256, AuditEntry};
use super::outbox::PushEvent;
use super::Db;
use crate::config::FieldSpec;

/// What an issuing node tells the tiers above about one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertMeta {
    pub cert_id: String,
    pub type_code: String,
    pub type_name: String,
    pub issuer_code: String,
    pub issuer_name: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
    /// `holder_key(kind, id)`: never a resident ID in clear.
    pub holder_key: String,
    /// The holder's name for enterprise certificates; `None` for persons.
    pub enterprise_name: Option<String>,
    /// `valid`, `disputed`, `expired`, `revoked` or `superseded`.
    pub status: String,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    /// The publicly disclosable fields, for disclosable types held by enterprises only.
    pub disclosable: Option<BTreeMap<String, String>>,
}

/// Statuses an index entry can have.
pub const STATUSES: &[&str] = &["valid", "disputed", "expired", "revoked", "superseded"];

/// An index row: the metadata, where the certificate is held and which event set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexedCert {
    #[serde(flatten)]
    pub meta: CertMeta,
    /// The node that holds the certificate (the sender of its events).
    pub owner_region: String,
    pub seq: i64,
    pub event_at: i64,
    pub received_at: i64,
}

/// How a holder is looked up in the index: the hex SHA-256 of a person's resident ID (the index
/// at the tiers above holds no resident IDs), an enterprise's credit code as it is.
pub fn holder_key(holder_kind: &str, holder_id: &str) -> String {
    match holder_kind {
        "person" => hex_sha256(holder_id.as_bytes()),
        _ => holder_id.to_owned(),
    }
}

fn decode_err(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// The metadata of a certificate stored here as the tiers above see it at `at`: names as sealed,
/// the holder hashed if a person, disclosable fields only for disclosable enterprise types, and
/// a current certificate past its end shown as `expired`. Also returns the issuing authority's
/// region, whether the type is in the national catalog, and the region the holder's identifier
/// names (registration place of an enterprise, place of first registration of a person).
pub async fn describe(
    conn: &mut AnyConnection,
    cert_id: &str,
    at: i64,
) -> Result<Option<Described>, sqlx::Error> {
    let Some(r) = sqlx::query(
        "SELECT c.id, c.type_code, c.holder_kind, c.holder_id, c.holder_name, c.issuer_code,
           c.sealed, c.status, c.valid_from, c.valid_until, t.disclosable, t.national,
           t.field_schema
         FROM certificates c JOIN cert_types t ON t.code = c.type_code WHERE c.id = $1",
    )
    .bind(cert_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let sealed: String = r.try_get("sealed")?;
    let sealed = SealedCertificate::try_from(sealed).map_err(decode_err)?;
    let c = &sealed.certificate;
    let holder_kind: String = r.try_get("holder_kind")?;
    let holder_id: String = r.try_get("holder_id")?;
    let schema: String = r.try_get("field_schema")?;
    let schema: Vec<FieldSpec> = serde_json::from_str(&schema).map_err(decode_err)?;
    let disclosable_type = r.try_get::<i64, _>("disclosable")? != 0;
    let national = r.try_get::<i64, _>("national")? != 0;
    let disclosable = (disclosable_type && holder_kind == "enterprise").then(|| {
        c.fields
            .iter()
            .filter(|f| schema.iter().any(|s| s.name == f.name && s.disclosable))
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect::<BTreeMap<_, _>>()
    });
    let mut status: String = r.try_get("status")?;
    let valid_until: Option<i64> = r.try_get("valid_until")?;
    if matches!(status.as_str(), "valid" | "disputed") && valid_until.is_some_and(|u| u <= at) {
        status = "expired".into();
    }
    let meta = CertMeta {
        cert_id: r.try_get("id")?,
        type_code: r.try_get("type_code")?,
        type_name: c.type_name.clone(),
        issuer_code: r.try_get("issuer_code")?,
        issuer_name: c.issuer_name.clone(),
        enterprise_name: (holder_kind == "enterprise")
            .then(|| r.try_get::<String, _>("holder_name"))
            .transpose()?,
        holder_key: holder_key(&holder_kind, &holder_id),
        holder_kind,
        status,
        valid_from: r.try_get("valid_from")?,
        valid_until,
        disclosable,
    };
    let holder_region = match &c.holder {
        wallet_core::Holder::Person(p) => p.region(),
        wallet_core::Holder::Enterprise(e) => e.region(),
    };
    Ok(Some(Described {
        meta,
        issuer_region: c.id.issuing_region(),
        national,
        holder_region,
    }))
}

/// A certificate as `describe` sees it, with what decides where its events go.
#[derive(Debug, Clone)]
pub struct Described {
    pub meta: CertMeta,
    pub issuer_region: RegionCode,
    pub national: bool,
    pub holder_region: RegionCode,
}

pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<IndexedCert, sqlx::Error> {
    let disclosable: Option<String> = r.try_get("disclosable")?;
    let disclosable = disclosable
        .map(|d| serde_json::from_str(&d))
        .transpose()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(IndexedCert {
        meta: CertMeta {
            cert_id: r.try_get("cert_id")?,
            type_code: r.try_get("type_code")?,
            type_name: r.try_get("type_name")?,
            issuer_code: r.try_get("issuer_code")?,
            issuer_name: r.try_get("issuer_name")?,
            holder_kind: r.try_get("holder_kind")?,
            holder_key: r.try_get("holder_key")?,
            enterprise_name: r.try_get("enterprise_name")?,
            status: r.try_get("status")?,
            valid_from: r.try_get("valid_from")?,
            valid_until: r.try_get("valid_until")?,
            disclosable,
        },
        owner_region: r.try_get("owner_region")?,
        seq: r.try_get("seq")?,
        event_at: r.try_get("event_at")?,
        received_at: r.try_get("received_at")?,
    })
}

/// Applies one event inside the caller's transaction; true when it changed the index (false
/// when the index already holds this event or a newer one).
pub async fn apply(
    conn: &mut AnyConnection,
    owner: RegionCode,
    e: &PushEvent,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let m = &e.certificate;
    let disclosable = m
        .disclosable
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let n = sqlx::query(
        "INSERT INTO cert_index (cert_id, type_code, type_name, issuer_code, issuer_name,
           owner_region, holder_kind, holder_key, enterprise_name, status, valid_from, valid_until,
           disclosable, seq, event_at, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (cert_id) DO UPDATE SET type_code = excluded.type_code,
           type_name = excluded.type_name, issuer_code = excluded.issuer_code,
           issuer_name = excluded.issuer_name, owner_region = excluded.owner_region,
           holder_kind = excluded.holder_kind, holder_key = excluded.holder_key,
           enterprise_name = excluded.enterprise_name, status = excluded.status,
           valid_from = excluded.valid_from, valid_until = excluded.valid_until,
           disclosable = excluded.disclosable, seq = excluded.seq, event_at = excluded.event_at,
           received_at = excluded.received_at
         WHERE cert_index.seq < excluded.seq",
    )
    .bind(&m.cert_id)
    .bind(&m.type_code)
    .bind(&m.type_name)
    .bind(&m.issuer_code)
    .bind(&m.issuer_name)
    .bind(owner.to_string())
    .bind(&m.holder_kind)
    .bind(&m.holder_key)
    .bind(&m.enterprise_name)
    .bind(&m.status)
    .bind(m.valid_from)
    .bind(m.valid_until)
    .bind(disclosable)
    .bind(e.seq)
    .bind(e.at)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        super::disclosure::record(conn, m).await?;
    }
    Ok(n == 1)
}

impl Db {
    /// Applies a push from `owner` and records its audit entry, in one transaction; notes the
    /// departments and types it names in the issuer directory. Returns how many events changed
    /// the index.
    pub async fn apply_push(
        &self,
        owner: RegionCode,
        events: &[PushEvent],
        audit: &AuditEntry,
        now: i64,
    ) -> Result<usize, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut changed = 0;
        for e in events {
            if apply(&mut tx, owner, e, now).await? {
                changed += 1;
            }
        }
        super::issuers::note_issuers(&mut tx, owner, events, now).await?;
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn indexed_certificate(
        &self,
        cert_id: &str,
    ) -> Result<Option<IndexedCert>, sqlx::Error> {
        sqlx::query("SELECT * FROM cert_index WHERE cert_id = $1")
            .bind(cert_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// The indexed certificates of one holder key, newest first.
    pub async fn indexed_of_holder(
        &self,
        holder_key: &str,
    ) -> Result<Vec<IndexedCert>, sqlx::Error> {
        sqlx::query("SELECT * FROM cert_index WHERE holder_key = $1 ORDER BY valid_from DESC")
            .bind(holder_key)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// What a person holds according to the index: their own certificates and those of the
    /// enterprises this node knows them to represent or administer, newest first.
    pub async fn indexed_for_person(
        &self,
        resident_id: &str,
    ) -> Result<Vec<IndexedCert>, sqlx::Error> {
        sqlx::query(
            "SELECT * FROM cert_index WHERE holder_key = $1 OR holder_key IN (
               SELECT credit_code FROM enterprises WHERE legal_rep_id = $2
               UNION SELECT credit_code FROM enterprise_admins
                 WHERE resident_id = $2 AND removed_at IS NULL)
             ORDER BY valid_from DESC",
        )
        .bind(holder_key("person", resident_id))
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }
}
