//! The outbox: events about this node's certificates that the tiers above must hear of
//! (issued, corrected, revoked, disputed, dispute resolved, expired), written in the same
//! transaction as the change they describe and kept until the receiver acknowledges them. A
//! tier that is down for an hour loses nothing; the delivery task
//! (`federation::outbox`) retries with backoff.
//!
//! Several processes of one node may share a PostgreSQL database: a process claims due rows
//! with a lease before sending, so two processes do not send the same event at the same time
//! (and receiving is idempotent should a lease run out mid-send).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use wallet_core::RegionCode;

use super::index::{describe, CertMeta};
use super::Db;

/// One event as pushed: the sender's sequence number (the event id, unique per sender), what
/// happened, when, and the certificate's metadata as it stands after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushEvent {
    pub seq: i64,
    /// `issued`, `corrected`, `superseded`, `revoked`, `disputed`, `dispute_resolved`, `expired`.
    pub kind: String,
    pub at: i64,
    pub certificate: CertMeta,
}

/// The payload of a push envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushBatch {
    pub events: Vec<PushEvent>,
}

/// The receiver's answer: the sequence numbers it has applied (or already had).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAck {
    pub acked: Vec<i64>,
}

/// A claimed outbox row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: String,
    pub seq: i64,
    pub destination: String,
    pub payload: String,
    pub attempts: i64,
}

fn province_of(region: RegionCode) -> RegionCode {
    if region == RegionCode::NATIONAL {
        RegionCode::NATIONAL
    } else {
        RegionCode::new(region.as_u32() / 10000 * 10000).unwrap_or(RegionCode::NATIONAL)
    }
}

/// Where events about a certificate go, from its issuing authority's region (what routing
/// reads): the province it lies in — which is the issuing node itself for a province's own
/// departments, and the national node for national ones — and the national node as well for
/// types in the national catalog. A certificate issued nationally goes also to the province
/// its holder's identifier names, whose wallet lists it (an enterprise finds its electronic
/// business licence by credit code at its province).
pub fn destinations(
    issuer_region: RegionCode,
    national: bool,
    holder_region: RegionCode,
) -> Vec<RegionCode> {
    let province = province_of(issuer_region);
    let mut out = vec![province];
    if national && province != RegionCode::NATIONAL {
        out.push(RegionCode::NATIONAL);
    }
    let holders = province_of(holder_region);
    if province == RegionCode::NATIONAL && !out.contains(&holders) {
        out.push(holders);
    }
    out
}

/// Queues an event about `cert_id` for every destination, inside the caller's transaction and
/// after the change it describes, so the event exists exactly when the change does. The caller
/// wakes the delivery task after committing (`Db::wake_outbox`).
pub async fn enqueue(
    conn: &mut AnyConnection,
    cert_id: &str,
    kind: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    let Some(described) = describe(conn, cert_id, at).await? else {
        return Ok(());
    };
    let meta = described.meta;
    super::disclosure::record(conn, &meta).await?;
    let seq: i64 = sqlx::query("UPDATE outbox_head SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let event = PushEvent {
        seq,
        kind: kind.to_owned(),
        at,
        certificate: meta,
    };
    let payload = serde_json::to_string(&event).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    for dest in destinations(
        described.issuer_region,
        described.national,
        described.holder_region,
    ) {
        sqlx::query(
            "INSERT INTO outbox (id, seq, destination, kind, cert_id, payload, created_at,
               attempts, next_attempt_at, lease_until, delivered_at, last_error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, NULL, NULL, NULL)",
        )
        .bind(format!("{seq}@{dest}"))
        .bind(seq)
        .bind(dest.to_string())
        .bind(kind)
        .bind(cert_id)
        .bind(&payload)
        .bind(at)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Binds `$first..` to `ids` and returns the placeholder list, for `id IN (...)`.
pub(super) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Claims up to `limit` due, unleased, undelivered rows of one delivery queue's `table` (the
/// outbox, objection messages, fund messages: each has `destination`, `next_attempt_at`,
/// `lease_until`, `attempts`, `delivered_at`) until `lease_until`, counting the attempt and
/// leaving out the destinations in `skip` (those this process is still sending to); the first
/// `limit` in `order_by`, with the columns in `returning`. The conditions are repeated outside
/// the sub-select so that PostgreSQL re-checks them on a row another process has just
/// claimed. RETURNING keeps no order, so the rows come back sorted here by `order_by` (an
/// integer column among `returning`), then `id`: a destination's rows are sent in order.
pub(super) async fn claim_due(
    pool: &sqlx::AnyPool,
    table: &str,
    order_by: &str,
    returning: &str,
    (now, lease_until, limit): (i64, i64, i64),
    skip: &[String],
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    let not_in = if skip.is_empty() {
        // `NOT IN ()` is not SQL.
        String::new()
    } else {
        format!(" AND destination NOT IN ({})", placeholders(4, skip.len()))
    };
    let sql = format!(
        "UPDATE {table} SET lease_until = $1, attempts = attempts + 1
         WHERE delivered_at IS NULL AND next_attempt_at <= $2
           AND (lease_until IS NULL OR lease_until <= $2){not_in}
           AND id IN (SELECT id FROM {table} WHERE delivered_at IS NULL
             AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2){not_in}
             ORDER BY {order_by} LIMIT $3)
         RETURNING {returning}"
    );
    let mut q = sqlx::query(&sql).bind(lease_until).bind(now).bind(limit);
    for d in skip {
        q = q.bind(d);
    }
    let mut keyed = q
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>(order_by)?,
                r.try_get::<String, _>("id")?,
                r,
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    keyed.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(keyed.into_iter().map(|(_, _, r)| r).collect())
}

impl Db {
    /// Tells this process's delivery task that there is something to send.
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Claims up to `limit` due, unleased, undelivered rows (oldest event first) until
    /// `lease_until`, counting the attempt, leaving out the destinations in `skip` (those this
    /// process is still sending to).
    pub async fn claim_outbox(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
        skip: &[String],
    ) -> Result<Vec<OutboxRow>, sqlx::Error> {
        let rows = claim_due(
            &self.pool,
            "outbox",
            "seq",
            "id, seq, destination, payload, attempts",
            (now, lease_until, limit),
            skip,
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.try_get("id")?,
                    seq: r.try_get("seq")?,
                    destination: r.try_get("destination")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Marks claimed rows delivered and releases their lease.
    pub async fn outbox_delivered(&self, ids: &[String], now: i64) -> Result<(), sqlx::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE outbox SET delivered_at = $1, lease_until = NULL, last_error = NULL
             WHERE id IN ({})",
            placeholders(2, ids.len())
        );
        let mut q = sqlx::query(&sql).bind(now);
        for id in ids {
            q = q.bind(id);
        }
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Releases claimed rows for another attempt at `next_attempt_at`, noting why this one
    /// failed.
    pub async fn outbox_failed(
        &self,
        ids: &[String],
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), sqlx::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE outbox SET next_attempt_at = $1, lease_until = NULL, last_error = $2
             WHERE id IN ({}) AND delivered_at IS NULL",
            placeholders(3, ids.len())
        );
        let mut q = sqlx::query(&sql).bind(next_attempt_at).bind(error);
        for id in ids {
            q = q.bind(id);
        }
        q.execute(&self.pool).await?;
        Ok(())
    }

    /// Applies events meant for this node's own index (a province's or the national node's own
    /// certificates) and marks their rows delivered, together.
    pub async fn apply_own_events(
        &self,
        own: RegionCode,
        ids: &[String],
        events: &[PushEvent],
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for e in events {
            super::index::apply(&mut tx, own, e, now).await?;
        }
        for id in ids {
            sqlx::query(
                "UPDATE outbox SET delivered_at = $1, lease_until = NULL, last_error = NULL
                 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Queues an `expired` event, once, for up to `limit` certificates whose end has passed.
    /// Certificates that were no longer current by then are only marked. Returns how many
    /// events were queued.
    pub async fn enqueue_expiries(&self, now: i64, limit: i64) -> Result<usize, sqlx::Error> {
        let due: Vec<String> = sqlx::query(
            "SELECT id FROM certificates WHERE expiry_pushed_at IS NULL
               AND valid_until IS NOT NULL AND valid_until <= $1
             ORDER BY valid_until LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut queued = 0;
        for id in due {
            let mut tx = self.pool.begin().await?;
            // Whoever sets the mark (another process, say) is the one that queues the event.
            let status: Option<String> = sqlx::query(
                "UPDATE certificates SET expiry_pushed_at = $1
                 WHERE id = $2 AND expiry_pushed_at IS NULL RETURNING status",
            )
            .bind(now)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
            if matches!(status.as_deref(), Some("valid" | "disputed")) {
                if let Err(e) = enqueue(&mut tx, &id, "expired", now).await {
                    // One certificate that cannot be described must not hold up the others:
                    // it is marked without an event, and the log says so.
                    tx.rollback().await?;
                    tracing::warn!(cert = %id, error = %e, "outbox: cannot queue the expiry");
                    sqlx::query("UPDATE certificates SET expiry_pushed_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(&id)
                        .execute(&self.pool)
                        .await?;
                    continue;
                }
                queued += 1;
            }
            tx.commit().await?;
        }
        if queued > 0 {
            self.wake_outbox();
        }
        Ok(queued)
    }

    /// Forgets rows delivered before `before`; returns how many.
    pub async fn prune_outbox(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Undelivered rows, per destination region.
    pub async fn outbox_pending(&self) -> Result<BTreeMap<String, i64>, sqlx::Error> {
        sqlx::query(
            "SELECT destination, COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL
             GROUP BY destination",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("destination")?, r.try_get("n")?)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: &str) -> RegionCode {
        code.parse().unwrap()
    }

    #[test]
    fn events_go_to_the_province_and_national_types_to_the_national_node_too() {
        let luohe = r("411100");
        assert_eq!(destinations(r("410100"), false, luohe), vec![r("410000")]);
        assert_eq!(destinations(r("411102"), false, luohe), vec![r("410000")]);
        assert_eq!(
            destinations(r("410100"), true, luohe),
            vec![r("410000"), RegionCode::NATIONAL]
        );
        // A province's own departments: its own index (and the national one).
        assert_eq!(destinations(r("410000"), false, luohe), vec![r("410000")]);
        assert_eq!(
            destinations(r("410000"), true, luohe),
            vec![r("410000"), RegionCode::NATIONAL]
        );
        // Issued nationally: the national index and the holder's province.
        assert_eq!(
            destinations(RegionCode::NATIONAL, true, luohe),
            vec![RegionCode::NATIONAL, r("410000")]
        );
        // A city certificate of a holder from another province stays in its own province.
        assert_eq!(destinations(r("420100"), false, luohe), vec![r("420000")]);
    }
}
