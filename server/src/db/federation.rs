//! What the federation stores at a node: accepted service-token ids and consent checks.

use sqlx::Row;

use super::cases::RecordError;
use super::Db;

impl Db {
    /// Records a service token's id; `false` if it was already recorded (a replay).
    pub async fn accept_service_token(
        &self,
        jti: &str,
        issuer: &str,
        expires_at: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        record_token(&mut conn, jti, issuer, expires_at).await
    }

    /// Drops the ids of tokens that expired before `before`: such a token fails its expiry
    /// check before replay is even asked, so its id protects nothing any more.
    pub async fn forget_service_tokens(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM service_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// A consent check made by this node as the wallet province: the holder's usage log for
/// certificates held at other nodes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsentRow {
    pub correlation_id: String,
    pub cert_id: String,
    pub holder_id: String,
    pub presenter: String,
    pub grant_id: Option<String>,
    pub matter: String,
    pub counter_region: String,
    pub counter: String,
    pub clerk: String,
    pub case_id: String,
    pub result: String,
    pub created_at: i64,
}

/// Everything one node writes about one hop of a retrieval, committed in one transaction: the
/// nonce (where this node checks the presentation), the grant's use (at the wallet province),
/// the consent record, the counter's retrieval record, and the hop's audit entry. When one
/// node plays every role this is the single transaction of a local retrieval.
#[derive(Debug, Default, Clone)]
pub struct HopLedger {
    /// (hash of the nonce, when the code expires).
    pub nonce: Option<(String, i64)>,
    pub grant_use: Option<String>,
    pub consent: Option<ConsentRow>,
    /// The calling node's service token (id, issuer, expiry), recorded with the hop so a
    /// replayed one fails this commit.
    pub service_token: Option<(String, String, i64)>,
}

/// One hop's writes waiting for the group commit.
struct PendingHop {
    ledger: HopLedger,
    retrieval: Option<super::cases::RetrievalRow>,
    audit: super::audit::AuditEntry,
    now: i64,
    /// A refused hop: the nonce is consumed if still free, nothing can conflict.
    refused: bool,
    reply: tokio::sync::oneshot::Sender<Result<Result<(), RecordError>, String>>,
}

/// Group commit for retrieval hops. Every hop's writes end in a durable commit, and on these
/// disks one fsync costs more than the rest of a retrieval; so hops that arrive while a commit
/// is in flight are committed together, one savepoint each (a replayed nonce rolls back only
/// its own hop), and each is acknowledged only after the shared commit. At one request at a
/// time this is exactly one transaction per hop, as before.
#[derive(Debug, Default)]
pub struct HopWriter {
    queue: tokio::sync::OnceCell<tokio::sync::mpsc::Sender<PendingHop>>,
}

/// How many hops one commit takes at most.
const GROUP_LIMIT: usize = 128;

impl HopWriter {
    async fn sender(&self, pool: &sqlx::AnyPool) -> tokio::sync::mpsc::Sender<PendingHop> {
        self.queue
            .get_or_init(|| async {
                let (tx, rx) = tokio::sync::mpsc::channel(1024);
                tokio::spawn(write_groups(pool.clone(), rx));
                tx
            })
            .await
            .clone()
    }
}

async fn write_groups(pool: sqlx::AnyPool, mut rx: tokio::sync::mpsc::Receiver<PendingHop>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_LIMIT {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        match commit_group(&pool, &group).await {
            Ok(results) => {
                for (hop, result) in group.into_iter().zip(results) {
                    let _ = hop.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, hops = group.len(), "retrieval group commit failed");
                for hop in group {
                    let _ = hop.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

async fn commit_group(
    pool: &sqlx::AnyPool,
    group: &[PendingHop],
) -> Result<Vec<Result<(), RecordError>>, sqlx::Error> {
    use sqlx::Connection;
    let mut tx = pool.begin().await?;
    super::audit::lock_chain(&mut tx).await?;
    if let [hop] = group {
        // Alone in its commit: no savepoint needed, a conflict rolls back the transaction.
        let outcome = if hop.refused {
            write_refused(&mut tx, hop).await?
        } else {
            write_hop(&mut tx, hop).await?
        };
        if outcome.is_ok() || hop.refused {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        return Ok(vec![outcome]);
    }
    let mut results = Vec::with_capacity(group.len());
    for hop in group {
        // A nested transaction is a savepoint on both backends.
        let mut sp = tx.begin().await?;
        let outcome = if hop.refused {
            write_refused(&mut sp, hop).await
        } else {
            write_hop(&mut sp, hop).await
        };
        match outcome {
            Ok(Ok(())) => {
                sp.commit().await?;
                results.push(Ok(()));
            }
            // A refused hop is recorded even when its token was a replay.
            Ok(Err(replayed)) if hop.refused => {
                sp.commit().await?;
                results.push(Err(replayed));
            }
            Ok(Err(conflict)) => {
                sp.rollback().await?;
                results.push(Err(conflict));
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    Ok(results)
}

async fn write_hop(
    conn: &mut sqlx::AnyConnection,
    hop: &PendingHop,
) -> Result<Result<(), RecordError>, sqlx::Error> {
    let ledger = &hop.ledger;
    if let Some((jti, issuer, expires)) = &ledger.service_token {
        if !record_token(conn, jti, issuer, *expires).await? {
            return Ok(Err(RecordError::TokenReplayed));
        }
    }
    if let Some((nonce, expires)) = &ledger.nonce {
        if !super::cases::consume_nonce(conn, nonce, hop.now, *expires).await? {
            return Ok(Err(RecordError::NonceUsed));
        }
    }
    if let Some(grant) = &ledger.grant_use {
        let n = sqlx::query(
            "UPDATE grants SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL
             AND (use_limit IS NULL OR uses < use_limit)",
        )
        .bind(grant)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(Err(RecordError::GrantSpent));
        }
    }
    if let Some(c) = &ledger.consent {
        insert_consent(conn, c).await?;
    }
    if let Some(r) = &hop.retrieval {
        super::cases::insert_retrieval(conn, r).await?;
    }
    super::audit::append(conn, &hop.audit).await?;
    Ok(Ok(()))
}

/// Writes a refused hop; `Err(TokenReplayed)` (with the hop still recorded) when the calling
/// node's token had been used before, so the caller is told that rather than the refusal.
async fn write_refused(
    conn: &mut sqlx::AnyConnection,
    hop: &PendingHop,
) -> Result<Result<(), RecordError>, sqlx::Error> {
    let mut fresh = true;
    if let Some((jti, issuer, expires)) = &hop.ledger.service_token {
        fresh = record_token(conn, jti, issuer, *expires).await?;
    }
    if let Some((nonce, expires)) = &hop.ledger.nonce {
        super::cases::consume_nonce(conn, nonce, hop.now, *expires).await?;
    }
    if let Some(c) = &hop.ledger.consent {
        insert_consent(conn, c).await?;
    }
    if fresh {
        super::audit::append(conn, &hop.audit).await?;
    } else {
        let mut audit = hop.audit.clone();
        audit.result = "service_token_replayed".into();
        super::audit::append(conn, &audit).await?;
    }
    Ok(if fresh {
        Ok(())
    } else {
        Err(RecordError::TokenReplayed)
    })
}

impl Db {
    async fn write_hop(
        &self,
        ledger: HopLedger,
        retrieval: Option<super::cases::RetrievalRow>,
        audit: super::audit::AuditEntry,
        now: i64,
        refused: bool,
    ) -> Result<Result<(), RecordError>, sqlx::Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let lost = || sqlx::Error::WorkerCrashed;
        self.hop_writer
            .sender(&self.pool)
            .await
            .send(PendingHop {
                ledger,
                retrieval,
                audit,
                now,
                refused,
                reply,
            })
            .await
            .map_err(|_| lost())?;
        match answer.await.map_err(|_| lost())? {
            Ok(result) => Ok(result),
            Err(message) => Err(sqlx::Error::Protocol(message)),
        }
    }

    /// Commits a hop that succeeded: the nonce must be fresh and the grant still usable,
    /// else nothing of this hop is written and the reason is returned. Returns once durable.
    pub async fn record_hop(
        &self,
        ledger: HopLedger,
        retrieval: Option<super::cases::RetrievalRow>,
        audit: super::audit::AuditEntry,
        now: i64,
    ) -> Result<Result<(), RecordError>, sqlx::Error> {
        self.write_hop(ledger, retrieval, audit, now, false).await
    }

    /// Commits a hop that was refused: its audit entry, the nonce when the code was genuine
    /// (a refused code cannot be tried again) and the consent record with the refusal.
    /// `Err(TokenReplayed)` when the calling node's token had been used before.
    pub async fn record_refused_hop(
        &self,
        ledger: HopLedger,
        audit: super::audit::AuditEntry,
        now: i64,
    ) -> Result<Result<(), RecordError>, sqlx::Error> {
        self.write_hop(ledger, None, audit, now, true).await
    }
}

impl Db {
    /// The enterprises a person represents or administers, by credit code.
    pub async fn enterprises_of(&self, resident_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT credit_code FROM enterprises WHERE legal_rep_id = $1
             UNION SELECT credit_code FROM enterprise_admins
               WHERE resident_id = $1 AND removed_at IS NULL",
        )
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.try_get(0)).collect()
    }

    /// The enterprises a person acts for, with their names and the person's role in each
    /// (`legal_rep` or `admin`), by name.
    pub async fn enterprises_acted_for(
        &self,
        resident_id: &str,
    ) -> Result<Vec<(String, String, String)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT credit_code, name, 'legal_rep' AS role FROM enterprises WHERE legal_rep_id = $1
             UNION
             SELECT e.credit_code, e.name, 'admin' AS role FROM enterprise_admins a
               JOIN enterprises e ON e.credit_code = a.credit_code
              WHERE a.resident_id = $1 AND a.removed_at IS NULL AND e.legal_rep_id <> $1
             ORDER BY name",
        )
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// When a live device key was registered (the time its binding states).
    pub async fn device_bound_at(&self, key_id: &str) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query("SELECT registered_at FROM device_keys WHERE key_id = $1")
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0)).transpose()
    }
}

/// Records a service token's id inside the caller's transaction; false when seen before.
pub(super) async fn record_token(
    conn: &mut sqlx::AnyConnection,
    jti: &str,
    issuer: &str,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "INSERT INTO service_tokens (jti, issuer, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(issuer)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

async fn insert_consent(conn: &mut sqlx::AnyConnection, c: &ConsentRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consents (correlation_id, cert_id, holder_id, presenter, grant_id, matter,
           counter_region, counter, clerk, case_id, result, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (correlation_id) DO NOTHING",
    )
    .bind(&c.correlation_id)
    .bind(&c.cert_id)
    .bind(&c.holder_id)
    .bind(&c.presenter)
    .bind(&c.grant_id)
    .bind(&c.matter)
    .bind(&c.counter_region)
    .bind(&c.counter)
    .bind(&c.clerk)
    .bind(&c.case_id)
    .bind(&c.result)
    .bind(c.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
