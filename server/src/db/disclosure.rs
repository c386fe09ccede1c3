//! The public register's search index (社会公示): which disclosable enterprise certificates
//! this node lists, found by any part of the enterprise's name.
//!
//! A certificate is listed when it is held here (`outbox::enqueue` sees every change at the
//! issuing node) or pushed to this node's index (`index::apply`), in the same transaction as
//! that change, and only while it is an enterprise's certificate of a disclosable type that has
//! not been superseded. Names are folded and cut into bigrams by `disclosure::name`; SQLite keeps
//! them in an FTS5 table, PostgreSQL in a GIN index over `disclosure_bigrams(norm)`. Both keep a
//! count of names per bigram, so a search reads only its rarest bigrams.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Row};

use super::audit::{append, AuditEntry};
use super::index::{describe, CertMeta, IndexedCert};
use super::Db;
use crate::disclosure::name::{bigrams, fts_token, normalise, plan, Listed, NameQuery, Plan};

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidates {
    /// Every listed certificate whose name holds the query (at most the cap asked for).
    Found(Vec<Listed>),
    /// More than the cap, or a query whose every bigram is everywhere.
    TooBroad,
}

fn is_sqlite(conn: &AnyConnection) -> bool {
    conn.backend_name() == "SQLite"
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The listing a certificate's metadata calls for: its name and folded name, or `None` when it
/// must not be listed.
fn listing(m: &CertMeta) -> Option<(String, String)> {
    let listed =
        m.holder_kind == "enterprise" && m.disclosable.is_some() && m.status != "superseded";
    let name = m.enterprise_name.as_ref().filter(|_| listed)?;
    let norm = normalise(name);
    (norm.chars().count() >= 2).then(|| (name.clone(), norm))
}

/// A certificate's row in the listing: id, type, name, folded name, start.
type ListedRow = (i64, String, String, String, i64);

async fn listed_row(
    conn: &mut AnyConnection,
    cert_id: &str,
) -> Result<Option<ListedRow>, sqlx::Error> {
    sqlx::query(
        "SELECT id, type_code, name, norm, valid_from FROM disclosure_names WHERE cert_id = $1",
    )
    .bind(cert_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("type_code")?,
            r.try_get("name")?,
            r.try_get("norm")?,
            r.try_get("valid_from")?,
        ))
    })
    .transpose()
}

/// Lists, re-lists or unlists one certificate after a change, inside the caller's transaction.
pub async fn record(conn: &mut AnyConnection, m: &CertMeta) -> Result<(), sqlx::Error> {
    let wanted = listing(m);
    let mut existing = listed_row(conn, &m.cert_id).await?;
    let same_words = |e: &Option<ListedRow>| match (e, &wanted) {
        (None, None) => true,
        (Some((_, _, _, norm, _)), Some((_, new_norm))) => norm == new_norm,
        _ => false,
    };
    if !same_words(&existing) {
        // The bigram counts change: queue behind other writers, then look again, since one of
        // them may have just listed this certificate (two processes listing old rows at once).
        take_head(conn).await?;
        existing = listed_row(conn, &m.cert_id).await?;
    }
    match (existing, wanted) {
        (None, None) => Ok(()),
        (Some((id, type_code, name, norm, from)), Some((new_name, new_norm)))
            if norm == new_norm =>
        {
            // Same bigrams: at most the display name, type or start changed.
            if type_code != m.type_code || name != new_name || from != m.valid_from {
                sqlx::query(
                    "UPDATE disclosure_names SET type_code = $1, name = $2, valid_from = $3
                     WHERE id = $4",
                )
                .bind(&m.type_code)
                .bind(&new_name)
                .bind(m.valid_from)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }
        (existing, wanted) => {
            if let Some((id, _, _, norm, _)) = existing {
                unlist(conn, id, &norm).await?;
            }
            if let Some((name, norm)) = wanted {
                list(conn, m, &name, &norm).await?;
            }
            Ok(())
        }
    }
}

/// Every writer of bigram counts takes this row first: on PostgreSQL, two transactions counting
/// the same bigrams in different orders would otherwise deadlock.
async fn take_head(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE disclosure_head SET changes = changes + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn list(
    conn: &mut AnyConnection,
    m: &CertMeta,
    name: &str,
    norm: &str,
) -> Result<(), sqlx::Error> {
    let id: i64 = sqlx::query(
        "INSERT INTO disclosure_names (cert_id, type_code, name, norm, valid_from)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&m.cert_id)
    .bind(&m.type_code)
    .bind(name)
    .bind(norm)
    .bind(m.valid_from)
    .fetch_one(&mut *conn)
    .await?
    .try_get(0)?;
    let grams = bigrams(norm);
    if is_sqlite(conn) {
        let tokens: Vec<String> = grams.iter().map(|g| fts_token(g)).collect();
        sqlx::query("INSERT INTO disclosure_fts (rowid, grams) VALUES ($1, $2)")
            .bind(id)
            .bind(tokens.join(" "))
            .execute(&mut *conn)
            .await?;
    }
    count_grams(conn, &grams, 1).await
}

async fn unlist(conn: &mut AnyConnection, id: i64, norm: &str) -> Result<(), sqlx::Error> {
    if is_sqlite(conn) {
        sqlx::query("DELETE FROM disclosure_fts WHERE rowid = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM disclosure_names WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    count_grams(conn, &bigrams(norm), -1).await
}

/// Adds `delta` to the name count of each bigram, in sorted order.
async fn count_grams(
    conn: &mut AnyConnection,
    grams: &BTreeSet<String>,
    delta: i64,
) -> Result<(), sqlx::Error> {
    if grams.is_empty() {
        return Ok(());
    }
    let sql = if delta > 0 {
        let values = (0..grams.len())
            .map(|i| format!("(${}, $1)", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO disclosure_grams (gram, names) VALUES {values}
             ON CONFLICT (gram) DO UPDATE SET names = disclosure_grams.names + excluded.names"
        )
    } else {
        format!(
            "UPDATE disclosure_grams SET names = names + $1 WHERE gram IN ({})",
            placeholders(2, grams.len())
        )
    };
    let mut q = sqlx::query(&sql).bind(delta);
    for g in grams {
        q = q.bind(g);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

fn listed_from(r: &sqlx::any::AnyRow) -> Result<Listed, sqlx::Error> {
    Ok(Listed {
        cert_id: r.try_get("cert_id")?,
        norm: r.try_get("norm")?,
        valid_from: r.try_get("valid_from")?,
    })
}

impl Db {
    /// The listed certificates whose folded name holds `query` (of catalog type `type_code`, if
    /// given): all of them when there are at most `cap`, otherwise `TooBroad`.
    pub async fn disclosure_candidates(
        &self,
        query: &NameQuery,
        type_code: Option<&str>,
        cap: usize,
    ) -> Result<Candidates, sqlx::Error> {
        let grams = query.bigrams();
        let mut conn = self.pool.acquire().await?;
        let sql = format!(
            "SELECT gram, names FROM disclosure_grams WHERE gram IN ({})",
            placeholders(1, grams.len())
        );
        let mut q = sqlx::query(&sql);
        for g in &grams {
            q = q.bind(g);
        }
        let counts = q
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("gram")?, r.try_get("names")?)))
            .collect::<Result<Vec<(String, i64)>, sqlx::Error>>()?;
        let read = match plan(&grams, &counts) {
            Plan::Nothing => return Ok(Candidates::Found(Vec::new())),
            Plan::TooBroad => return Ok(Candidates::TooBroad),
            Plan::Read(read) => read,
        };
        let of_type = if type_code.is_some() {
            " AND d.type_code = $4"
        } else {
            ""
        };
        let (sql, terms) = if is_sqlite(&conn) {
            // Each bigram a quoted one-token phrase; side by side they must all occur.
            let terms: Vec<String> = read
                .iter()
                .map(|g| format!("\"{}\"", fts_token(g)))
                .collect();
            (
                format!(
                    "SELECT d.cert_id, d.norm, d.valid_from
                     FROM disclosure_fts JOIN disclosure_names d ON d.id = disclosure_fts.rowid
                     WHERE disclosure_fts MATCH $1 AND instr(d.norm, $2) > 0{of_type} LIMIT $3"
                ),
                terms.join(" "),
            )
        } else {
            (
                format!(
                    "SELECT d.cert_id, d.norm, d.valid_from
                     FROM disclosure_names d
                     WHERE disclosure_bigrams(d.norm) @> string_to_array($1, ' ')
                       AND strpos(d.norm, $2) > 0{of_type} LIMIT $3"
                ),
                read.join(" "),
            )
        };
        let mut q = sqlx::query(&sql)
            .bind(terms)
            .bind(&query.norm)
            .bind(cap as i64 + 1);
        if let Some(t) = type_code {
            q = q.bind(t);
        }
        let found = q
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(listed_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(if found.len() > cap {
            Candidates::TooBroad
        } else {
            Candidates::Found(found)
        })
    }

    /// The metadata, as of `now`, of those of `ids` held at this node that the public may see:
    /// enterprise certificates of disclosable types, not superseded.
    pub async fn disclosable_held(
        &self,
        ids: &[String],
        now: i64,
    ) -> Result<Vec<CertMeta>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        // One look for which are held here at all: at a province most matches are not.
        let sql = format!(
            "SELECT id FROM certificates WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        let held: BTreeSet<String> = q
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(held.len());
        for id in ids.iter().filter(|id| held.contains(*id)) {
            if let Some(d) = describe(&mut conn, id, now).await? {
                if listing(&d.meta).is_some() {
                    out.push(d.meta);
                }
            }
        }
        Ok(out)
    }

    /// The index entries of `ids` (those this node's index holds).
    pub async fn indexed_certificates(
        &self,
        ids: &[String],
    ) -> Result<Vec<IndexedCert>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT * FROM cert_index WHERE cert_id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(super::index::from_row)
            .collect()
    }

    /// Records an answered disclosure call: the caller's service-token id and the audit entry,
    /// in one commit. False (nothing written) when the token id was seen before.
    pub async fn record_disclosure_call(
        &self,
        token: (&str, &str, i64),
        audit: &AuditEntry,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !super::federation::record_token(&mut tx, token.0, token.1, token.2).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        append(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Lists what was stored before the listing existed (certificates held here, entries of
    /// this node's index), once per database; later starts find it done. Safe to run from two
    /// processes at once: listing is idempotent.
    pub async fn backfill_disclosures(&self, now: i64) -> Result<usize, sqlx::Error> {
        let done: i64 = sqlx::query("SELECT backfilled FROM disclosure_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if done != 0 {
            return Ok(0);
        }
        const PAGE: i64 = 500;
        let mut listed = 0;
        let mut after = String::new();
        loop {
            let ids: Vec<String> = sqlx::query(
                "SELECT c.id FROM certificates c JOIN cert_types t ON t.code = c.type_code
                 WHERE t.disclosable <> 0 AND c.holder_kind = 'enterprise' AND c.id > $1
                 ORDER BY c.id LIMIT $2",
            )
            .bind(&after)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
            let Some(last) = ids.last() else { break };
            after = last.clone();
            let mut tx = self.pool.begin().await?;
            for id in &ids {
                if let Some(d) = describe(&mut tx, id, now).await? {
                    record(&mut tx, &d.meta).await?;
                    listed += 1;
                }
            }
            tx.commit().await?;
        }
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT * FROM cert_index WHERE disclosable IS NOT NULL
                   AND holder_kind = 'enterprise' AND cert_id > $1 ORDER BY cert_id LIMIT $2",
            )
            .bind(&after)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(super::index::from_row)
            .collect::<Result<Vec<_>, _>>()?;
            let Some(last) = rows.last() else { break };
            after = last.meta.cert_id.clone();
            let mut tx = self.pool.begin().await?;
            for r in &rows {
                record(&mut tx, &r.meta).await?;
                listed += 1;
            }
            tx.commit().await?;
        }
        sqlx::query("UPDATE disclosure_head SET backfilled = 1 WHERE id = 1")
            .execute(&self.pool)
            .await?;
        Ok(listed)
    }
}
