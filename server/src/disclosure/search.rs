//! One public search at this node: find the matches in the listing, rank them, and ask the
//! node holding each of the best for its current public fields and status.
//!
//! At a city every match is held here. At a province (or the national node) most are held by
//! the nodes below, which pushed them into the index: the province asks each holding node once,
//! for all of its matches together, in parallel and within `OWNER_BUDGET`. The answer comes back
//! as a `NodeEnvelope` signed by the owner. If an owner cannot be asked (down, too slow, or its
//! answer fails to verify), its matches are answered from the index and marked as such
//! (`source: index`, `as_of` when the index last heard), and the owner is named in
//! `unavailable`: the register stays readable while a city is down, and nobody mistakes the
//! index's copy for the owner's word.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wallet_core::{NodeEnvelope, RegionCode};

use super::answer::{Provenance, PublicCertificate, SearchAnswer, Source, Unavailable, HOTLINES};
use super::name::{rank, Listed, NameQuery};
use crate::db::disclosure::Candidates;
use crate::db::index::{CertMeta, IndexedCert};
use crate::error::ApiError;
use crate::federation::client::{tier_error, Budget, TierFailure};
use crate::state::AppState;

/// A search matching more than this is refused: it names no enterprise in particular, and
/// answering it would hand out the register a slice at a time.
pub const MAX_MATCHES: usize = 200;
pub const DEFAULT_LIMIT: usize = 10;
/// The most results one answer shows; there is no paging.
pub const MAX_LIMIT: usize = 20;
/// How long the search waits for the owners, all asked at once.
pub const OWNER_BUDGET: Duration = Duration::from_millis(1_500);
/// The inter-node route an owner answers on.
pub const DISCLOSURE_PATH: &str = "/federation/v1/disclosure";
/// The most certificates one inter-node call may ask about.
pub const MAX_ASKED: usize = 50;

/// The province's question to an owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRequest {
    pub correlation_id: String,
    pub cert_ids: Vec<String>,
}

/// The owner's answer (payload of its envelope): the asked certificates it holds and the public
/// may see, as they stand at `checked_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisclosureAnswer {
    pub correlation_id: String,
    pub checked_at: i64,
    pub certificates: Vec<CertMeta>,
}

/// A validated public search.
#[derive(Debug, Clone)]
pub struct Search {
    pub query: NameQuery,
    pub type_code: Option<String>,
    pub limit: usize,
}

fn too_broad(detail: String) -> ApiError {
    ApiError::bad(
        "search_too_broad",
        "匹配的企业过多，请输入更完整的企业名称",
        detail,
    )
}

/// Answers one search.
pub async fn search(s: &AppState, req: &Search) -> Result<SearchAnswer, ApiError> {
    let now = s.clock.now();
    let found = match s
        .db
        .disclosure_candidates(&req.query, req.type_code.as_deref(), MAX_MATCHES)
        .await?
    {
        Candidates::Found(found) => found,
        Candidates::TooBroad => {
            return Err(too_broad(format!(
                "more than {MAX_MATCHES} names hold {:?}",
                req.query.norm
            )))
        }
    };
    let total = found.len();
    let best: Vec<Listed> = rank(&req.query, found)
        .into_iter()
        .take(req.limit)
        .collect();
    let ids: Vec<String> = best.iter().map(|l| l.cert_id.clone()).collect();
    let own = s.settings.region;
    let mut shown: HashMap<String, PublicCertificate> = HashMap::new();

    // Held here: this node is the owner.
    let here = Provenance {
        held_at: own.to_string(),
        held_by: s.settings.name.clone(),
        source: Source::Owner,
        as_of: now,
    };
    for meta in s.db.disclosable_held(&ids, now).await? {
        if let Some(p) = PublicCertificate::from_meta(&meta, here.clone(), now) {
            shown.insert(meta.cert_id.clone(), p);
        }
    }

    // Held below: one call per owner, all at once.
    let rest: Vec<String> = ids
        .iter()
        .filter(|id| !shown.contains_key(*id))
        .cloned()
        .collect();
    let mut by_owner: BTreeMap<RegionCode, Vec<IndexedCert>> = BTreeMap::new();
    for entry in s.db.indexed_certificates(&rest).await? {
        // This node's own entries were answered above, or are no longer public.
        match entry.owner_region.parse::<RegionCode>() {
            Ok(owner) if owner != own => by_owner.entry(owner).or_default().push(entry),
            _ => {}
        }
    }
    let correlation = crate::auth::secrets::random_string(16).map_err(ApiError::internal)?;
    let mut calls = tokio::task::JoinSet::new();
    for (owner, entries) in &by_owner {
        let asked: Vec<String> = entries.iter().map(|e| e.meta.cert_id.clone()).collect();
        calls.spawn(ask_owner(s.clone(), *owner, asked, correlation.clone()));
    }
    let mut unavailable = Vec::new();
    while let Some(joined) = calls.join_next().await {
        let (owner, result) = joined.map_err(ApiError::internal)?;
        let entries = by_owner.get(&owner).map(Vec::as_slice).unwrap_or_default();
        let held_by = s.federation.registry.name_of(owner);
        match result {
            Ok(answer) => {
                let from = Provenance {
                    held_at: owner.to_string(),
                    held_by,
                    source: Source::Owner,
                    as_of: answer.checked_at,
                };
                for meta in &answer.certificates {
                    if let Some(p) = PublicCertificate::from_meta(meta, from.clone(), now) {
                        shown.insert(meta.cert_id.clone(), p);
                    }
                }
            }
            Err(e) => {
                let (_, code, title) = e.parts();
                tracing::warn!(%owner, error = %e, "disclosure: owner not asked, index answers");
                unavailable.push(Unavailable {
                    region: owner.to_string(),
                    name: held_by.clone(),
                    code: code.to_owned(),
                    title: title.to_owned(),
                });
                for entry in entries {
                    let from = Provenance {
                        held_at: owner.to_string(),
                        held_by: held_by.clone(),
                        source: Source::Index,
                        as_of: entry.received_at,
                    };
                    if let Some(p) = PublicCertificate::from_meta(&entry.meta, from, now) {
                        shown.insert(entry.meta.cert_id.clone(), p);
                    }
                }
            }
        }
    }
    unavailable.sort_by(|a, b| a.region.cmp(&b.region));
    let results: Vec<PublicCertificate> = ids.iter().filter_map(|id| shown.remove(id)).collect();
    Ok(SearchAnswer {
        query: req.query.norm.clone(),
        total,
        truncated: total > req.limit,
        results,
        unavailable,
        answered_at: now,
        hotlines: HOTLINES,
    })
}

/// Asks `owner` for the public state of `ids`; the answer must be its signed envelope for this
/// question, naming only what was asked.
async fn ask_owner(
    s: AppState,
    owner: RegionCode,
    ids: Vec<String>,
    correlation: String,
) -> (RegionCode, Result<DisclosureAnswer, ApiError>) {
    let result = async {
        let now = s.clock.now();
        let registry = &s.federation.registry;
        let name = registry.name_of(owner);
        let req = DisclosureRequest {
            correlation_id: correlation.clone(),
            cert_ids: ids.clone(),
        };
        let envelope: NodeEnvelope = s
            .federation
            .client
            .post(
                registry,
                &s.node_key,
                owner,
                DISCLOSURE_PATH,
                &correlation,
                &req,
                Budget::new(OWNER_BUDGET),
                now,
            )
            .await?;
        let invalid = || tier_error(TierFailure::BadAnswer, owner, &name);
        if envelope.from != owner {
            return Err(invalid());
        }
        let key = registry
            .key(owner, envelope.signer, now)
            .ok_or_else(invalid)?;
        let payload = envelope
            .open(key, s.settings.region)
            .map_err(|_| invalid())?;
        let answer: DisclosureAnswer = serde_json::from_str(payload).map_err(|_| invalid())?;
        let asked = |m: &CertMeta| ids.contains(&m.cert_id);
        if answer.correlation_id != correlation || !answer.certificates.iter().all(asked) {
            return Err(invalid());
        }
        Ok(answer)
    }
    .await;
    (owner, result)
}
