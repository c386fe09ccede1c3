//! The issuer directory (证照目录 with its issuing departments): which department issues which
//! certificate type, and at which node. A node knows its own catalog; a province (or the
//! national node) learns the rest from what its nodes below push, so a holder reporting a
//! missing certificate can name the department that should have issued it.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{AnyConnection, Row};
use wallet_core::RegionCode;

use super::outbox::PushEvent;
use super::Db;

/// One department issuing one certificate type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuerEntry {
    pub type_code: String,
    pub type_name: String,
    pub issuer_code: String,
    pub issuer_name: String,
    /// The node that holds what this department issues.
    pub region: String,
    /// `person` or `enterprise`.
    pub holder_kind: String,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<IssuerEntry, sqlx::Error> {
    Ok(IssuerEntry {
        type_code: r.try_get("type_code")?,
        type_name: r.try_get("type_name")?,
        issuer_code: r.try_get("issuer_code")?,
        issuer_name: r.try_get("issuer_name")?,
        region: r.try_get("region")?,
        holder_kind: r.try_get("holder_kind")?,
    })
}

/// Notes the (type, department) pairs of pushed events inside the receiver's transaction: one
/// statement per pair in the batch, writing only when something changed.
pub async fn note_issuers(
    conn: &mut AnyConnection,
    owner: RegionCode,
    events: &[PushEvent],
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut pairs = BTreeMap::new();
    for e in events {
        let m = &e.certificate;
        pairs.insert((m.type_code.as_str(), m.issuer_code.as_str()), m);
    }
    for m in pairs.into_values() {
        sqlx::query(
            "INSERT INTO issuer_directory (type_code, issuer_code, type_name, issuer_name, region,
               holder_kind, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (type_code, issuer_code) DO UPDATE SET type_name = excluded.type_name,
               issuer_name = excluded.issuer_name, region = excluded.region,
               holder_kind = excluded.holder_kind, updated_at = excluded.updated_at
             WHERE issuer_directory.type_name <> excluded.type_name
               OR issuer_directory.issuer_name <> excluded.issuer_name
               OR issuer_directory.region <> excluded.region
               OR issuer_directory.holder_kind <> excluded.holder_kind",
        )
        .bind(&m.type_code)
        .bind(&m.issuer_code)
        .bind(&m.type_name)
        .bind(&m.issuer_name)
        .bind(owner.to_string())
        .bind(&m.holder_kind)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// This node's own catalog, as directory entries.
const OWN: &str = "SELECT t.code AS type_code, t.name AS type_name, d.credit_code AS issuer_code,
    d.name AS issuer_name, CAST($1 AS TEXT) AS region, t.holder_kind AS holder_kind
  FROM cert_types t JOIN departments d ON d.credit_code = t.department";

/// What was learnt from pushes.
const LEARNT: &str = "SELECT type_code, type_name, issuer_code, issuer_name, region, holder_kind
  FROM issuer_directory";

impl Db {
    /// Every known (type, department) pair — this node's catalog first, then the learnt ones —
    /// optionally of one type, ordered by type and department.
    pub async fn issuers(
        &self,
        own: RegionCode,
        type_code: Option<&str>,
    ) -> Result<Vec<IssuerEntry>, sqlx::Error> {
        let (own_sql, learnt_sql) = match type_code {
            Some(_) => (
                format!("{OWN} WHERE t.code = $2"),
                format!("{LEARNT} WHERE type_code = $1"),
            ),
            None => (OWN.to_owned(), LEARNT.to_owned()),
        };
        let mut q = sqlx::query(&own_sql).bind(own.to_string());
        if let Some(t) = type_code {
            q = q.bind(t);
        }
        let mut out = q
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut q = sqlx::query(&learnt_sql);
        if let Some(t) = type_code {
            q = q.bind(t);
        }
        for r in q.fetch_all(&self.pool).await? {
            let e = from_row(&r)?;
            if !out
                .iter()
                .any(|o| o.type_code == e.type_code && o.issuer_code == e.issuer_code)
            {
                out.push(e);
            }
        }
        out.sort_by(|a, b| (&a.type_code, &a.issuer_code).cmp(&(&b.type_code, &b.issuer_code)));
        Ok(out)
    }

    /// The entry for one department issuing one type, if this node knows of it.
    pub async fn issuer_entry(
        &self,
        own: RegionCode,
        type_code: &str,
        issuer_code: &str,
    ) -> Result<Option<IssuerEntry>, sqlx::Error> {
        Ok(self
            .issuers(own, Some(type_code))
            .await?
            .into_iter()
            .find(|e| e.issuer_code == issuer_code))
    }
}
