//! The append-only, hash-chained audit log.
//!
//! Each entry's hash covers the previous entry's hash and every field of its own, so changing,
//! removing or reordering a stored row breaks the chain at that row. The head (last sequence
//! number and hash) is one row updated inside the appending transaction: on PostgreSQL that
//! row lock serialises appends from several processes of the same node; on SQLite the write
//! lock does.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use wallet_core::codec::Writer;

use super::Db;

/// What one audited action records.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub correlation_id: String,
    /// `retrieval`, `issue`, `revoke`, `correct`, `rotate_seal_key`, …
    pub action: String,
    /// Who asked: a node region, a clerk, a department.
    pub actor: String,
    /// What it was about: a certificate, grant or case id.
    pub subject: String,
    /// Further context as JSON (case, matter, presenter, grantee …).
    pub detail: String,
    /// `ok` or the refusal's error code.
    pub result: String,
    pub request_hash: String,
    pub response_hash: String,
    pub latency_ms: i64,
}

/// A stored entry with its place in the chain.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct ChainedEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// Where a chain check stopped.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: &'static str,
}

impl AuditEntry {
    /// An entry for an action that is not a retrieval (issuance, grants, devices, objections):
    /// its correlation id is derived from action and subject, and the request hash covers the
    /// detail.
    pub fn action(
        at: i64,
        action: &str,
        actor: String,
        subject: &str,
        detail: String,
        response: &str,
    ) -> Self {
        AuditEntry {
            at,
            correlation_id: hex_sha256(format!("{action}:{subject}").as_bytes())[..32].to_owned(),
            action: action.into(),
            actor,
            subject: subject.into(),
            request_hash: hex_sha256(detail.as_bytes()),
            detail,
            result: "ok".into(),
            response_hash: hex_sha256(response.as_bytes()),
            latency_ms: 0,
        }
    }
}

/// How a citizen appears in the audit log: a hash, so the log holds no resident IDs.
pub fn citizen_actor(resident_id: &str) -> String {
    format!("citizen:{}", &hex_sha256(resident_id.as_bytes())[..16])
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn entry_hash(seq: i64, prev: &str, e: &AuditEntry) -> String {
    let mut w = Writer::new();
    w.i64(seq)
        .str(prev)
        .i64(e.at)
        .str(&e.correlation_id)
        .str(&e.action)
        .str(&e.actor)
        .str(&e.subject)
        .str(&e.detail)
        .str(&e.result)
        .str(&e.request_hash)
        .str(&e.response_hash)
        .i64(e.latency_ms);
    hex_sha256(w.as_slice())
}

/// Appends inside the caller's transaction, so the audited change and its entry commit together.
/// Takes the chain's head first in a transaction that will also change grants. The hop writer
/// appends after updating a grant's uses and, in a group commit, keeps the head while it
/// updates the next hop's grant; a revocation that locked its grant first and then waited for
/// the head would deadlock with it on PostgreSQL (found by the crash storm). Every such
/// transaction therefore locks the head before any grant: one order, no cycle. On SQLite it
/// takes the database's write lock at once.
pub async fn lock_chain(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn append(conn: &mut AnyConnection, e: &AuditEntry) -> Result<i64, sqlx::Error> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    let seq: i64 = head.try_get(0)?;
    let prev: String = head.try_get(1)?;
    let hash = entry_hash(seq, &prev, e);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, correlation_id, action, actor, subject, detail, result,
           request_hash, response_hash, latency_ms, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(seq)
    .bind(e.at)
    .bind(&e.correlation_id)
    .bind(&e.action)
    .bind(&e.actor)
    .bind(&e.subject)
    .bind(&e.detail)
    .bind(&e.result)
    .bind(&e.request_hash)
    .bind(&e.response_hash)
    .bind(e.latency_ms)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<ChainedEntry, sqlx::Error> {
    Ok(ChainedEntry {
        seq: r.try_get("seq")?,
        entry: AuditEntry {
            at: r.try_get("at")?,
            correlation_id: r.try_get("correlation_id")?,
            action: r.try_get("action")?,
            actor: r.try_get("actor")?,
            subject: r.try_get("subject")?,
            detail: r.try_get("detail")?,
            result: r.try_get("result")?,
            request_hash: r.try_get("request_hash")?,
            response_hash: r.try_get("response_hash")?,
            latency_ms: r.try_get("latency_ms")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

const PAGE: i64 = 1000;

impl Db {
    /// Appends one entry in a transaction of its own.
    pub async fn audit(&self, e: &AuditEntry) -> Result<i64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let seq = append(&mut tx, e).await?;
        tx.commit().await?;
        Ok(seq)
    }

    pub async fn audit_entries(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ChainedEntry>, sqlx::Error> {
        sqlx::query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    pub async fn audit_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Vec<ChainedEntry>, sqlx::Error> {
        sqlx::query("SELECT * FROM audit_log WHERE correlation_id = $1 ORDER BY seq")
            .bind(correlation_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Recomputes the whole chain; returns the number of entries, or where it breaks.
    pub async fn verify_audit_chain(&self) -> Result<Result<i64, ChainBreak>, sqlx::Error> {
        let mut prev = String::from("0").repeat(64);
        let mut expected_seq = 1;
        loop {
            let page = self.audit_entries(expected_seq - 1, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for c in &page {
                if c.seq != expected_seq {
                    return Ok(Err(ChainBreak {
                        seq: expected_seq,
                        reason: "entry missing",
                    }));
                }
                if c.prev_hash != prev {
                    return Ok(Err(ChainBreak {
                        seq: c.seq,
                        reason: "previous hash does not match",
                    }));
                }
                if entry_hash(c.seq, &c.prev_hash, &c.entry) != c.hash {
                    return Ok(Err(ChainBreak {
                        seq: c.seq,
                        reason: "entry was altered",
                    }));
                }
                prev.clone_from(&c.hash);
                expected_seq += 1;
            }
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let (head_seq, head_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        if head_seq != expected_seq - 1 || head_hash != prev {
            return Ok(Err(ChainBreak {
                seq: head_seq,
                reason: "log truncated after its last entry",
            }));
        }
        Ok(Ok(expected_seq - 1))
    }
}
