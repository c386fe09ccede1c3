//! Retrieval on an applicant's recorded consent, without a QR code (scenario 2 online: "the
//! certificates fetched by ID number").
//!
//! ```text
//!  wallet province (real-person session, consent recorded with the application)
//!    │ FetchConsent{resident, application, matter, material (type, fields), cert} sealed in a
//!    │ NodeEnvelope addressed to the certificate's region
//!    ▼ POST /federation/v1/fetch (service token), along the region tree
//!  owner: envelope signed by a registered province, fresh, for this correlation; the
//!         certificate is the resident's own, current, in force → only the material's fields,
//!         sealed, with a signed receipt and the issuer's keys
//!    ▲ every node on the way back verifies receipt and seal and audits its hop
//! ```
//!
//! The holder's consent is the application itself, made in a real-person session; the owner
//! trusts the province's directory for the fields a matter needs, as it trusts the province's
//! device bindings for a QR retrieval.

use serde::{Deserialize, Serialize};
use wallet_core::receipt::{digest_hex, ReceiptTerms};
use wallet_core::{
    CertId, CertStatus, Holder, KeyId, NodeEnvelope, PublicKey, RegionCode, RetrievalReceipt,
    SealedCertificate, TrustEntry, TrustList,
};

use super::client::{tier_error, Budget, TierFailure};
use super::registry::NextHop;
use super::resolve::MAX_PATH;
use crate::db::audit::{citizen_actor, hex_sha256, AuditEntry};
use crate::db::cases::Material;
use crate::db::federation::ConsentRow;
use crate::error::{rule, ApiError};
use crate::state::AppState;

pub const FETCH_PATH: &str = "/federation/v1/fetch";
/// How old a consent envelope may be when it reaches the owner, in seconds.
pub(crate) const FRESH: i64 = 30;

/// What the wallet province states (the consent envelope's payload).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchConsent {
    pub correlation_id: String,
    pub application_id: String,
    pub resident_id: String,
    pub matter: String,
    pub cert_id: String,
    /// The material the certificate replaces, with the only fields that may leave.
    pub material: Material,
    /// When the applicant consented (the application's time).
    pub consented_at: i64,
}

/// One hop of a fetch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRequest {
    /// From the wallet province to the certificate's region.
    pub consent: NodeEnvelope,
    /// Regions visited so far, the wallet province first and the caller last.
    pub path: Vec<RegionCode>,
}

/// A certificate fetched on consent, as the owner handed it out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fetched {
    pub material: String,
    /// Only the material's fields, base64url.
    pub sealed: String,
    pub receipt: RetrievalReceipt,
    /// The issuer's seal keys, vouched for by the owner (JSON list of trust entries).
    pub issuer_keys: NodeEnvelope,
    /// Wallet province first, owner last.
    pub path: Vec<RegionCode>,
}

/// What a fetched certificate must be, checked by every node that passes it on or keeps it.
#[derive(Debug)]
pub struct Expect<'a> {
    /// `None` at the fund centre, which was not part of the fetch.
    pub correlation_id: Option<&'a str>,
    pub resident_id: &'a str,
    pub matter: &'a str,
    pub requested_by: RegionCode,
    /// The material the fund centre's own matter names, with its fields.
    pub material: &'a Material,
}

fn bad(code: &'static str, title: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::bad(code, title, detail)
}

/// The key `region` signs with under id `kid` at `at`: this node's own, or a registered one.
fn node_key(s: &AppState, region: RegionCode, kid: KeyId, at: i64) -> Option<PublicKey> {
    if region == s.settings.region {
        let own = s.node_key.public_key();
        (own.key_id() == kid).then_some(own)
    } else {
        s.federation.registry.key(region, kid, at).copied()
    }
}

/// Checks a fetched certificate: the owner's receipt by its key, for this matter, requester,
/// certificate and bytes; the seal by the keys the owner vouched for; the resident is the
/// holder; only the material's fields are disclosed. Returns the status the receipt states.
pub fn verify(s: &AppState, f: &Fetched, e: &Expect<'_>) -> Result<CertStatus, ApiError> {
    let t = &f.receipt.terms;
    let invalid = || tier_error(TierFailure::BadAnswer, t.owner, &name(s, t.owner));
    let owner_key = node_key(s, t.owner, f.receipt.signer, t.retrieved_at).ok_or_else(invalid)?;
    let sealed = SealedCertificate::try_from(f.sealed.clone()).map_err(|_| invalid())?;
    let holder_ok =
        matches!(&sealed.certificate.holder, Holder::Person(p) if p.as_str() == e.resident_id);
    let type_ok = e.material.cert_type.as_deref() == Some(sealed.certificate.id.type_code());
    let fields_ok = sealed
        .certificate
        .fields
        .iter()
        .all(|field| e.material.fields.contains(&field.name));
    let ok = f.receipt.verify(&owner_key, &sealed.encode()).is_ok()
        && e.correlation_id.is_none_or(|c| t.correlation_id == c)
        && t.requested_by == e.requested_by
        && t.matter == e.matter
        && t.grant.is_none()
        && t.cert_id == sealed.certificate.id
        && f.path.first() == Some(&e.requested_by)
        && f.path.last() == Some(&t.owner)
        && f.material == e.material.name
        && holder_ok
        && type_ok
        && fields_ok;
    if !ok {
        return Err(invalid());
    }
    let keys = f
        .issuer_keys
        .verify_signature(&owner_key)
        .ok()
        .filter(|_| f.issuer_keys.from == t.owner)
        .and_then(|payload| serde_json::from_str::<Vec<TrustEntry>>(payload).ok())
        .ok_or_else(invalid)?;
    sealed
        .verify(&TrustList::new(keys))
        .map_err(|_| invalid())?;
    Ok(t.status)
}

fn name(s: &AppState, region: RegionCode) -> String {
    if region == s.settings.region {
        s.settings.name.clone()
    } else {
        s.federation.registry.name_of(region)
    }
}

/// At the wallet province: fetches one certificate of the applicant for an application,
/// locally or along the tree, verifies it, and records the consent row (用证记录) and the audit
/// entry. A refusal is audited too.
pub async fn fetch(
    s: &AppState,
    consent: FetchConsent,
    budget: Budget,
) -> Result<Fetched, ApiError> {
    let started = std::time::Instant::now();
    let now = s.clock.now();
    let own = s.settings.region;
    let owner = consent
        .cert_id
        .parse::<CertId>()
        .map_err(rule)?
        .issuing_region();
    let payload = serde_json::to_string(&consent).map_err(ApiError::internal)?;
    let envelope = NodeEnvelope::seal(&s.node_key, own, owner, now, payload);
    let request = FetchRequest {
        consent: envelope,
        path: Vec::new(),
    };
    // `hop` verifies what another node hands back before returning it.
    let result = hop(s, &request, &consent, budget).await;
    let code = match &result {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.parts().1.to_owned(),
    };
    let row = ConsentRow {
        correlation_id: consent.correlation_id.clone(),
        cert_id: consent.cert_id.clone(),
        holder_id: consent.resident_id.clone(),
        presenter: consent.resident_id.clone(),
        grant_id: None,
        matter: consent.matter.clone(),
        counter_region: own.to_string(),
        counter: "豫事办 全程网办".into(),
        clerk: String::new(),
        case_id: consent.application_id.clone(),
        result: code.clone(),
        created_at: now,
    };
    let path: Vec<String> = match &result {
        Ok(f) => f.path.iter().map(ToString::to_string).collect(),
        Err(_) => Vec::new(),
    };
    let mut entry = audit_entry(
        s,
        &consent,
        citizen_actor(&consent.resident_id),
        &path,
        &result,
    );
    entry.latency_ms = started.elapsed().as_millis() as i64;
    s.db.record_fetch(Some(&row), &entry).await?;
    result
}

pub(crate) fn audit_entry(
    s: &AppState,
    consent: &FetchConsent,
    actor: String,
    path: &[String],
    result: &Result<Fetched, ApiError>,
) -> AuditEntry {
    let detail = serde_json::json!({
        "application": consent.application_id,
        "matter": consent.matter,
        "applicant": citizen_actor(&consent.resident_id),
        "certificate": consent.cert_id,
        "material": consent.material.name,
        "path": path,
    })
    .to_string();
    let (code, response) = match result {
        Ok(f) => ("ok".to_owned(), f.sealed.clone()),
        Err(e) => (e.parts().1.to_owned(), String::new()),
    };
    AuditEntry {
        at: s.clock.now(),
        correlation_id: consent.correlation_id.clone(),
        action: "fetch_on_consent".into(),
        actor,
        subject: consent.application_id.clone(),
        request_hash: hex_sha256(detail.as_bytes()),
        detail,
        result: code,
        response_hash: hex_sha256(response.as_bytes()),
        latency_ms: 0,
    }
}

/// One node's part: serve as the owner, or pass the request on towards it.
pub(crate) async fn hop(
    s: &AppState,
    req: &FetchRequest,
    consent: &FetchConsent,
    budget: Budget,
) -> Result<Fetched, ApiError> {
    let own = s.settings.region;
    if req.path.len() >= MAX_PATH {
        return Err(bad("hop_limit_exceeded", "调阅请求经过的节点过多", ""));
    }
    if req.path.contains(&own) {
        return Err(bad("routing_loop", "调阅请求出现循环转发", own.to_string()));
    }
    let mut path = req.path.clone();
    path.push(own);
    let owner = req.consent.to;
    match s.federation.registry.next_hop(owner) {
        NextHop::Here => serve(s, consent, path).await,
        NextHop::Peer(next) if path.contains(&next) => Err(bad(
            "routing_loop",
            "调阅请求出现循环转发",
            next.to_string(),
        )),
        NextHop::Peer(next) => {
            let requested_by = path[0];
            let body = FetchRequest {
                consent: req.consent.clone(),
                path,
            };
            let fed = &s.federation;
            let fetched: Fetched = fed
                .client
                .post(
                    &fed.registry,
                    &s.node_key,
                    next,
                    FETCH_PATH,
                    &consent.correlation_id,
                    &body,
                    budget,
                    s.clock.now(),
                )
                .await?;
            // Nothing is passed on that this node could not verify itself.
            let expect = Expect {
                correlation_id: Some(&consent.correlation_id),
                resident_id: &consent.resident_id,
                matter: &consent.matter,
                requested_by,
                material: &consent.material,
            };
            verify(s, &fetched, &expect)?;
            Ok(fetched)
        }
        NextHop::NoRoute(region) => Err(tier_error(
            TierFailure::NotRegistered,
            region,
            &name(s, region),
        )),
    }
}

/// The owner's part: the certificate is the resident's own, of the material's type, current
/// and in force; only the material's fields leave, sealed, with a signed receipt.
async fn serve(
    s: &AppState,
    consent: &FetchConsent,
    path: Vec<RegionCode>,
) -> Result<Fetched, ApiError> {
    let now = s.clock.now();
    let not_found = || {
        bad(
            "certificate_not_found_here",
            "本级系统未找到该证照",
            consent.cert_id.clone(),
        )
    };
    let row =
        s.db.certificate(&consent.cert_id)
            .await?
            .ok_or_else(not_found)?;
    if row.holder_kind != "person" || row.holder_id != consent.resident_id {
        return Err(bad(
            "certificate_not_applicants",
            "该证照不属于申请人",
            "holder",
        ));
    }
    if consent.material.cert_type.as_deref() != Some(row.type_code.as_str()) {
        return Err(bad(
            "certificate_not_needed",
            "本事项不需要该证照",
            row.type_code.clone(),
        ));
    }
    let status = match row.status.as_str() {
        "valid" => CertStatus::Valid,
        "disputed" => CertStatus::Disputed,
        "revoked" => return Err(bad("certificate_revoked", "证照已注销", "")),
        _ => {
            return Err(bad(
                "certificate_superseded",
                "证照已被更正，请出示最新版本",
                "",
            ))
        }
    };
    let sealed = SealedCertificate::try_from(row.sealed.clone()).map_err(ApiError::internal)?;
    sealed.certificate.check_validity(now).map_err(rule)?;
    let names: Vec<&str> = consent.material.fields.iter().map(String::as_str).collect();
    let disclosed = sealed.disclose(&names);
    let trust = crate::routes::trust::node_trust_list(s).await?;
    disclosed.verify(&trust).map_err(rule)?;
    let requested_by = *path.first().unwrap_or(&s.settings.region);
    let receipt = ReceiptTerms {
        correlation_id: consent.correlation_id.clone(),
        owner: s.settings.region,
        requested_by,
        cert_id: disclosed.certificate.id.clone(),
        status,
        matter: consent.matter.clone(),
        grant: None,
        certificate_digest: digest_hex(&disclosed.encode()),
        retrieved_at: now,
    }
    .sign(&s.node_key);
    let issuer = disclosed.certificate.id.issuer().clone();
    let keys: Vec<TrustEntry> = trust
        .entries
        .into_iter()
        .filter(|e| e.issuer == issuer)
        .collect();
    let issuer_keys = NodeEnvelope::seal(
        &s.node_key,
        s.settings.region,
        requested_by,
        now,
        serde_json::to_string(&keys).map_err(ApiError::internal)?,
    );
    Ok(Fetched {
        material: consent.material.name.clone(),
        sealed: String::from(disclosed),
        receipt,
        issuer_keys,
        path,
    })
}
