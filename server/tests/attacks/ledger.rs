//! What "nothing changed" means: the row counts of every table an attack could write to, the
//! grants' use counts and revocations, the certificates' statuses, and the audit log's length,
//! read before and after the attempt and compared.

use std::collections::BTreeMap;

use server::db::Db;
use sqlx::Row;

/// Tables whose rows record something a caller did or was given.
const TABLES: &[&str] = &[
    "certificates",
    "accounts",
    "sessions",
    "device_keys",
    "grants",
    "nonces",
    "cases",
    "retrievals",
    "attachments",
    "consents",
    "current_presentations",
    "objections_filed",
    "fund_uploads",
    "fund_applications",
    "outbox",
    "audit_log",
];

/// Values beyond row counts.
const FACTS: &[(&str, &str)] = &[
    (
        "grants.uses",
        "SELECT CAST(COALESCE(SUM(uses), 0) AS BIGINT) FROM grants",
    ),
    (
        "grants.revoked",
        "SELECT COUNT(*) FROM grants WHERE revoked_at IS NOT NULL",
    ),
    (
        "certificates.valid",
        "SELECT COUNT(*) FROM certificates WHERE status = 'valid'",
    ),
    (
        "sessions.revoked",
        "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL",
    ),
];

/// The node's state as far as an attack could change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger(BTreeMap<String, i64>);

pub async fn read(db: &Db) -> Ledger {
    let mut out = BTreeMap::new();
    let queries = TABLES
        .iter()
        .map(|t| ((*t).to_owned(), format!("SELECT COUNT(*) FROM {t}")))
        .chain(
            FACTS
                .iter()
                .map(|(k, q)| ((*k).to_owned(), (*q).to_owned())),
        );
    for (name, q) in queries {
        let row = sqlx::query(&q).fetch_one(&db.pool).await.unwrap();
        out.insert(name, row.try_get::<i64, _>(0).unwrap());
    }
    Ledger(out)
}

impl Ledger {
    /// What differs from `before`: each changed entry with how much it grew.
    pub fn since(&self, before: &Ledger) -> BTreeMap<String, i64> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let was = before.0.get(k).copied().unwrap_or(0);
                (*v != was).then(|| (k.clone(), v - was))
            })
            .collect()
    }
}

/// Asserts that between `before` and now exactly `expected` changed (entry, growth), e.g.
/// `&[("audit_log", 1)]` for a refusal that was audited and wrote nothing else.
#[track_caller]
pub fn assert_changed(before: &Ledger, after: &Ledger, expected: &[(&str, i64)]) {
    let expected: BTreeMap<String, i64> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
    assert_eq!(after.since(before), expected, "what the attempt changed");
}

/// The last audit entry: its action and result.
pub async fn last_audit(db: &Db) -> (String, String) {
    let entries = db.audit_entries(0, 100_000).await.unwrap();
    let last = entries.last().expect("an audit entry");
    (last.entry.action.clone(), last.entry.result.clone())
}

/// The audit chain still verifies.
pub async fn assert_chain_intact(db: &Db) {
    assert!(
        db.verify_audit_chain().await.unwrap().is_ok(),
        "the audit chain verifies"
    );
}

/// Asserts that between `before` and now only the trail of one refused retrieval was written:
/// one audit entry whose action is `action` and whose result is `code`; at most one consent
/// record (the wallet node's record of the consent check), holding `code` as well; at most one
/// spent nonce (a code once refused is not tried again). Nothing else: no retrieval, no
/// attachment, no grant use, no case.
pub async fn assert_refusal_trail(db: &Db, before: &Ledger, action: &str, code: &str) {
    let changed = read(db).await.since(before);
    for (k, v) in &changed {
        let allowed = match k.as_str() {
            "audit_log" => *v == 1,
            "consents" | "nonces" => *v == 1,
            _ => false,
        };
        assert!(allowed, "the refusal changed {k} by {v}: {changed:?}");
    }
    assert_eq!(changed.get("audit_log"), Some(&1), "{changed:?}");
    let entries = db.audit_entries(0, 100_000).await.unwrap();
    let last = &entries.last().unwrap().entry;
    assert_eq!((last.action.as_str(), last.result.as_str()), (action, code));
    if changed.contains_key("consents") {
        let result: String =
            sqlx::query_scalar("SELECT result FROM consents WHERE correlation_id = $1")
                .bind(&last.correlation_id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(result, code, "the consent record");
    }
    assert_chain_intact(db).await;
}
