//! Resolution of a scanned code across the tiers.
//!
//! A retrieval has two questions, answered where their data lives:
//!
//! 1. *Consent* — is the code genuine, fresh and unused, is its device key live, is the grant
//!    unrevoked and within its limit? The wallet province named in the code (`resolve_at`)
//!    holds the device keys and grants, so it answers, consumes the nonce and counts the
//!    grant's use. It states what it checked in a signed [`NodeEnvelope`] carrying the device
//!    bindings and the grant, so the owner can re-verify every signature itself.
//! 2. *Delivery* — the node of the certificate's issuing region (the owner) checks the
//!    holder's consent against the certificate it holds, its status and validity, discloses
//!    only the matter's fields and signs a retrieval receipt.
//!
//! Each node walks the region tree (child on the path, else parent) towards whichever of the
//! two it cannot answer itself, carrying the regions already visited; a request never goes
//! back to a visited node, and the path is bounded by [`MAX_PATH`]. When the consent node
//! finds that the owner sits behind the node that asked it (a Luohe certificate scanned in
//! Luohe with the wallet in Henan), it answers with the consent alone and the asking node
//! continues. Every node verifies what comes back (receipt by the owner's registered key,
//! seal by the issuer keys the owner vouches for) before passing it on, and every node
//! writes its own audit entry for the hop under the one correlation id.

use serde::{Deserialize, Serialize};
use wallet_core::binding::BindingTerms;
use wallet_core::presentation::PresentationError;
use wallet_core::receipt::{digest_hex, ReceiptTerms};
use wallet_core::{
    CertId, CertStatus, DeviceBinding, Grant, Holder, NodeEnvelope, Presentation, PublicKey,
    RegionCode, ResidentId, RetrievalReceipt, SealedCertificate, Subject, TrustEntry, TrustList,
};

use super::client::{tier_error, Budget, TierFailure};
use super::registry::NextHop;
use crate::db::audit::hex_sha256;
use crate::db::cases::{Material, RecordError};
use crate::db::federation::{ConsentRow, HopLedger};
use crate::error::{rule, ApiError};
use crate::state::AppState;

/// The longest path a retrieval may take, counter's node included. The longest in a
/// three-tier federation is city → province → national → province → city (5), plus one
/// detour to a wallet province.
pub const MAX_PATH: usize = 6;

/// The inter-node route a hop is sent to.
pub const RETRIEVE_PATH: &str = "/federation/v1/retrieve";

/// Who is asking, as the counter's node states it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub region: RegionCode,
    pub clerk: String,
    pub case_id: String,
    /// 窗口.
    pub counter: String,
    /// The matter's code, which grants name.
    pub matter: String,
}

/// One retrieval as it travels between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HopRequest {
    pub correlation_id: String,
    pub origin: Origin,
    /// The scanned `EC1:` text.
    pub presentation: String,
    /// The matter's materials that an e-certificate replaces, with the fields each needs.
    pub materials: Vec<Material>,
    /// Regions visited so far, the counter's node first and the caller last.
    pub path: Vec<RegionCode>,
    /// The wallet province's signed consent, once it has been checked.
    #[serde(default)]
    pub consent: Option<NodeEnvelope>,
}

/// What a hop answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HopResponse {
    Served(Box<Served>),
    /// The consent was checked but the owner lies behind the caller: the caller goes on.
    Consented {
        consent: NodeEnvelope,
        path: Vec<RegionCode>,
    },
}

/// The certificate as the owner hands it out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Served {
    /// The sealed certificate with only the matter's fields, base64url.
    pub sealed: String,
    pub receipt: RetrievalReceipt,
    /// The issuer's seal keys, vouched for by the owner (payload: JSON list of trust entries).
    pub issuer_keys: NodeEnvelope,
    pub material: String,
    /// Every node the retrieval went through, counter's node first, owner last.
    pub path: Vec<RegionCode>,
    pub consent_by: RegionCode,
    /// The holder, for the counter's records and the consent node's usage log.
    pub holder_id: String,
    /// The presenter's resident ID as the wallet province bound it (the applicant).
    pub presenter: String,
}

/// What the wallet province states about a code it checked (payload of the consent envelope).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentFacts {
    pub correlation_id: String,
    /// Hex SHA-256 of the presentation's binary form: the consent is for this code only.
    pub presentation: String,
    pub cert_id: String,
    pub matter: String,
    /// The presenter's device key, bound to their resident ID by the province.
    pub presenter: DeviceBinding,
    /// The grant the code presents, as the holder signed it.
    #[serde(default)]
    pub grant: Option<String>,
    /// The device key that signed the grant, bound to its owner by the province.
    #[serde(default)]
    pub signer: Option<DeviceBinding>,
    /// Enterprises the presenter (or, for a grant, its signer) represents or administers.
    pub acts_for: Vec<String>,
    pub checked_at: i64,
}

/// A consent as a node holds it: made here, or received and verified.
#[derive(Debug, Clone)]
struct Consent {
    cert_id: String,
    presenter: ResidentId,
    /// The grant presented, and the resident whose device signed it.
    grant: Option<(Grant, ResidentId)>,
    /// Enterprises the acting person represents or administers, as the province stated them;
    /// `None` for a consent made here (the database answers when it matters).
    acts_for: Option<Vec<String>>,
    by: RegionCode,
    /// The signed form, present when it came from (or must go to) another node.
    envelope: Option<NodeEnvelope>,
    /// What the signed form states, for re-verification at the owner.
    facts: Option<ConsentFacts>,
}

/// The result of one node's part in a retrieval, and what it must write about it.
#[derive(Debug)]
pub struct HopOutcome {
    pub result: Result<Step, ApiError>,
    pub ledger: HopLedger,
    /// Roles this node played: `consent`, `owner`, `forward`.
    pub roles: Vec<&'static str>,
    pub presenter_hash: Option<String>,
}

struct Walk<'a> {
    s: &'a AppState,
    req: &'a HopRequest,
    budget: Budget,
    ledger: HopLedger,
    roles: Vec<&'static str>,
    presenter_hash: Option<String>,
}

fn bad(code: &'static str, title: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::bad(code, title, detail)
}

fn routing_loop(region: String) -> ApiError {
    bad("routing_loop", "调阅请求出现循环转发", region)
}

/// A consent that does not verify at the node receiving it.
fn consent_invalid(why: &str) -> ApiError {
    bad("consent_invalid", "授权核验结果无法验证", why.to_owned())
}

/// Handles one retrieval at this node: the counter's node calls it with an empty path, the
/// federation route with the caller's request.
pub async fn resolve(
    s: &AppState,
    req: &HopRequest,
    budget: Budget,
    service_token: Option<(String, String, i64)>,
) -> HopOutcome {
    let mut walk = Walk {
        s,
        req,
        budget,
        ledger: HopLedger {
            service_token,
            ..HopLedger::default()
        },
        roles: Vec::new(),
        presenter_hash: None,
    };
    let result = walk.run().await;
    HopOutcome {
        result,
        ledger: walk.ledger,
        roles: walk.roles,
        presenter_hash: walk.presenter_hash,
    }
}

/// How one node's part ended.
#[derive(Debug)]
pub enum Step {
    Served(Box<Served>),
    /// The consent was made here and the owner lies behind the caller (only a federation
    /// route answers this way; the counter's node is never behind itself).
    Consented(NodeEnvelope, Vec<RegionCode>),
}

impl Walk<'_> {
    fn own(&self) -> RegionCode {
        self.s.settings.region
    }

    /// The error naming a neighbour (or a tier behind it) that failed.
    fn tier(&self, kind: TierFailure, region: RegionCode) -> ApiError {
        tier_error(kind, region, &self.s.federation.registry.name_of(region))
    }

    async fn run(&mut self) -> Result<Step, ApiError> {
        let req = self.req;
        if req.path.len() >= MAX_PATH {
            return Err(bad(
                "hop_limit_exceeded",
                "调阅请求经过的节点过多",
                format!("{} hops", req.path.len()),
            ));
        }
        if req.path.contains(&self.own()) {
            return Err(routing_loop(self.own().to_string()));
        }
        let p = Presentation::decode_text(&req.presentation).map_err(rule)?;
        let mut path = req.path.clone();
        path.push(self.own());

        // 1. Consent: here, from the request, or from the node on the way to the wallet.
        let consent = match &req.consent {
            Some(env) => self.received_consent(env, &p).await?,
            None => {
                // `Here` also when no node below stands for `resolve_at`.
                if self.s.federation.registry.next_hop(p.resolve_at) == NextHop::Here {
                    self.local_consent(&p).await?
                } else {
                    let next = self.neighbour_towards(p.resolve_at, &path)?;
                    self.roles.push("forward");
                    match self.call(next, &path, None).await? {
                        HopResponse::Served(served) => {
                            let served = self.check_served(served, None, &p)?;
                            return Ok(Step::Served(served));
                        }
                        HopResponse::Consented {
                            consent,
                            path: back,
                        } => {
                            // Only the node we asked may hand a consent back to us.
                            if back.last() != Some(&next) {
                                return Err(self.tier(TierFailure::BadAnswer, next));
                            }
                            path = back;
                            path.push(self.own());
                            self.received_consent(&consent, &p).await?
                        }
                    }
                }
            }
        };

        // 2. Delivery: here, or towards the owner.
        let cert_id: CertId = consent.cert_id.parse().map_err(rule)?;
        match self
            .s
            .federation
            .registry
            .next_hop(cert_id.issuing_region())
        {
            NextHop::Here => {
                self.roles.push("owner");
                let served = self.serve(&p, &consent, &cert_id, path).await?;
                Ok(Step::Served(Box::new(served)))
            }
            NextHop::Peer(next) if path[..path.len() - 1].contains(&next) => {
                // The owner is behind a node already on the path: only a consent made here
                // can be handed back (the asking node then delivers).
                match (&consent.envelope, consent.by == self.own()) {
                    (Some(env), true) => Ok(Step::Consented(env.clone(), path)),
                    _ => Err(routing_loop(next.to_string())),
                }
            }
            NextHop::Peer(next) => {
                if !self.roles.contains(&"forward") {
                    self.roles.push("forward");
                }
                let env = match &consent.envelope {
                    Some(env) => env.clone(),
                    None => {
                        return Err(ApiError::internal(std::io::Error::other(
                            "unsigned consent",
                        )))
                    }
                };
                match self.call(next, &path, Some(env)).await? {
                    HopResponse::Served(served) => {
                        let served = self.check_served(served, Some(&cert_id), &p)?;
                        Ok(Step::Served(served))
                    }
                    HopResponse::Consented { .. } => Err(self.tier(TierFailure::BadAnswer, next)),
                }
            }
            NextHop::NoRoute(region) => Err(self.tier(TierFailure::NotRegistered, region)),
        }
    }

    fn neighbour_towards(
        &self,
        target: RegionCode,
        path: &[RegionCode],
    ) -> Result<RegionCode, ApiError> {
        match self.s.federation.registry.next_hop(target) {
            NextHop::Peer(next) if path.contains(&next) => Err(routing_loop(next.to_string())),
            NextHop::Peer(next) => Ok(next),
            NextHop::NoRoute(region) => Err(self.tier(TierFailure::NotRegistered, region)),
            NextHop::Here => Err(ApiError::internal(std::io::Error::other(
                "no neighbour towards this node itself",
            ))),
        }
    }

    async fn call(
        &self,
        next: RegionCode,
        path: &[RegionCode],
        consent: Option<NodeEnvelope>,
    ) -> Result<HopResponse, ApiError> {
        let body = HopRequest {
            path: path.to_vec(),
            consent,
            ..self.req.clone()
        };
        let fed = &self.s.federation;
        fed.client
            .post(
                &fed.registry,
                &self.s.node_key,
                next,
                RETRIEVE_PATH,
                &self.req.correlation_id,
                &body,
                self.budget,
                self.s.clock.now(),
            )
            .await
    }

    /// The wallet province's check: the code's device key is live and signed it, the code is
    /// fresh, and a grant it presents is unrevoked, within its limit, signed by the holder's
    /// live device key and names this presenter, matter and time.
    async fn local_consent(&mut self, p: &Presentation) -> Result<Consent, ApiError> {
        self.roles.push("consent");
        let s = self.s;
        let now = s.clock.now();
        let (presenter_id, public) =
            s.db.live_device(&p.presenter.to_string())
                .await?
                .ok_or_else(|| {
                    bad(
                        "presenter_key_unknown",
                        "出示人设备未登记，请让申请人重新登录后刷新亮证码",
                        p.presenter.to_string(),
                    )
                })?;
        let public: PublicKey = public.parse().map_err(ApiError::internal)?;
        match p.verify(&public, now) {
            Ok(()) => {}
            // A bad signature proves nothing about the nonce's owner: nothing is consumed.
            Err(e @ PresentationError::BadSignature) => return Err(rule(e)),
            Err(other) => {
                self.consume(p);
                return Err(rule(other));
            }
        }
        // From here on the code is genuine: a refusal consumes it.
        self.consume(p);
        // The phone has refreshed since: the newer code is the only one that counts.
        if s.db.presentation_superseded(p).await? {
            return Err(bad(
                "presentation_superseded",
                "亮证码已刷新，请扫描申请人手机上的最新亮证码",
                "",
            ));
        }
        self.presenter_hash = Some(crate::db::audit::citizen_actor(&presenter_id));
        let presenter: ResidentId = presenter_id.parse().map_err(ApiError::internal)?;
        let (cert_id, grant, holder_id, grant_id) = match &p.subject {
            Subject::Certificate(id) => {
                // An enterprise's certificate shown by someone acting for it: the usage log
                // is the enterprise's.
                let holder = enterprise_holder(s, id.as_str())
                    .await?
                    .unwrap_or_else(|| presenter_id.clone());
                (id.to_string(), None, holder, None)
            }
            Subject::Grant(gid) => {
                let row =
                    s.db.grant(&gid.to_string())
                        .await?
                        .ok_or_else(|| bad("grant_unknown", "授权不存在", gid.to_string()))?;
                if row.revoked_at.is_some() {
                    return Err(bad("grant_revoked", "持证人已撤销该授权", ""));
                }
                if row.use_limit.is_some_and(|limit| row.uses >= limit) {
                    return Err(bad("grant_use_limit_reached", "该授权的使用次数已用完", ""));
                }
                let grant = Grant::try_from(row.token.clone()).map_err(ApiError::internal)?;
                let (signer_id, signer_key) = holder_key(s, &grant).await?;
                grant
                    .verify_use(&signer_key, now, &self.req.origin.matter, &presenter)
                    .map_err(rule)?;
                self.ledger.grant_use = Some(row.id.clone());
                (
                    row.cert_id.clone(),
                    Some((grant, signer_id, signer_key, row.token.clone())),
                    row.holder_id.clone(),
                    Some(row.id.clone()),
                )
            }
        };
        let o = &self.req.origin;
        self.ledger.consent = Some(ConsentRow {
            correlation_id: self.req.correlation_id.clone(),
            cert_id: cert_id.clone(),
            holder_id,
            presenter: presenter_id.clone(),
            grant_id,
            matter: o.matter.clone(),
            counter_region: o.region.to_string(),
            counter: o.counter.clone(),
            clerk: o.clerk.clone(),
            case_id: o.case_id.clone(),
            result: "ok".into(),
            created_at: now,
        });
        // Bindings are signed and the facts sealed only when they leave this node.
        let owner = cert_id.parse::<CertId>().map_err(rule)?.issuing_region();
        let (envelope, facts, acts_for) = if s.federation.registry.next_hop(owner) == NextHop::Here
        {
            (None, None, None)
        } else {
            let acting = grant
                .as_ref()
                .map(|(_, signer_id, _, _)| signer_id.as_str())
                .unwrap_or(presenter_id.as_str());
            let acts_for = s.db.enterprises_of(acting).await?;
            let (token, signer) = match &grant {
                Some((_, signer_id, signer_key, token)) => (
                    Some(token.clone()),
                    Some(binding(s, signer_id, *signer_key).await?),
                ),
                None => (None, None),
            };
            let facts = ConsentFacts {
                correlation_id: self.req.correlation_id.clone(),
                presentation: hex_sha256(&p.encode()),
                cert_id: cert_id.clone(),
                matter: self.req.origin.matter.clone(),
                presenter: binding(s, &presenter_id, public).await?,
                grant: token,
                signer,
                acts_for: acts_for.clone(),
                checked_at: now,
            };
            let envelope = NodeEnvelope::seal(
                &s.node_key,
                self.own(),
                owner,
                now,
                serde_json::to_string(&facts).map_err(ApiError::internal)?,
            );
            (Some(envelope), Some(facts), Some(acts_for))
        };
        Ok(Consent {
            cert_id,
            presenter,
            grant: match grant {
                Some((grant, signer_id, _, _)) => {
                    Some((grant, signer_id.parse().map_err(ApiError::internal)?))
                }
                None => None,
            },
            acts_for,
            by: self.own(),
            envelope,
            facts,
        })
    }

    fn consume(&mut self, p: &Presentation) {
        self.ledger.nonce = Some((hex_sha256(&p.nonce), p.expires_at));
    }

    /// A consent from another node: signed by that node's registered key, for this code,
    /// correlation and matter.
    async fn received_consent(
        &mut self,
        env: &NodeEnvelope,
        p: &Presentation,
    ) -> Result<Consent, ApiError> {
        let now = self.s.clock.now();
        if env.from != p.resolve_at && !p.resolve_at.is_under(env.from) {
            return Err(consent_invalid(
                "the consent is not from the code's wallet province",
            ));
        }
        let key = self
            .s
            .federation
            .registry
            .key(env.from, env.signer, env.sent_at)
            .ok_or_else(|| consent_invalid("signed by an unknown or retired key"))?;
        let payload = env.verify_signature(key).map_err(rule)?;
        let facts: ConsentFacts =
            serde_json::from_str(payload).map_err(|_| consent_invalid("unreadable consent"))?;
        if facts.correlation_id != self.req.correlation_id
            || facts.presentation != hex_sha256(&p.encode())
            || facts.matter != self.req.origin.matter
            || now - env.sent_at > super::client::COUNTER_BUDGET.as_secs() as i64 + 5
        {
            return Err(consent_invalid(
                "the consent is for another code, matter or time",
            ));
        }
        let grant = match (&facts.grant, &facts.signer) {
            (Some(token), Some(signer)) => Some((
                Grant::try_from(token.clone()).map_err(|_| consent_invalid("unreadable grant"))?,
                signer.terms.resident_id.clone(),
            )),
            (None, None) => None,
            _ => return Err(consent_invalid("a grant without its signer")),
        };
        Ok(Consent {
            cert_id: facts.cert_id.clone(),
            presenter: facts.presenter.terms.resident_id.clone(),
            grant,
            acts_for: Some(facts.acts_for.clone()),
            by: env.from,
            envelope: Some(env.clone()),
            facts: Some(facts),
        })
    }

    /// The owner's part: the consent holds for this certificate, which is current and valid;
    /// only the matter's fields leave, sealed and with a signed receipt.
    async fn serve(
        &mut self,
        p: &Presentation,
        consent: &Consent,
        cert_id: &CertId,
        path: Vec<RegionCode>,
    ) -> Result<Served, ApiError> {
        let s = self.s;
        let now = s.clock.now();
        if consent.by != self.own() {
            // The holder's consent is verified where the data lives, from the signatures.
            self.verify_consent_signatures(p, consent, now)?;
            self.consume(p);
        }
        let row = s.db.certificate(cert_id.as_str()).await?.ok_or_else(|| {
            bad(
                "certificate_not_found_here",
                "本级系统未找到该证照",
                cert_id.to_string(),
            )
        })?;
        let sealed = SealedCertificate::try_from(row.sealed.clone()).map_err(ApiError::internal)?;
        let holder = &sealed.certificate.holder;
        match &consent.grant {
            None => {
                if !acts_for(s, consent, holder, &consent.presenter).await? {
                    return Err(bad(
                        "presenter_not_holder",
                        "出示人不是持证人，请出示授权码",
                        "",
                    ));
                }
            }
            Some((grant, signer)) => {
                if &grant.terms.holder != holder
                    || grant.terms.cert_id != *cert_id
                    || !acts_for(s, consent, holder, signer).await?
                {
                    return Err(bad("grant_signer_not_holder", "授权不是持证人签署的", ""));
                }
            }
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
        sealed.certificate.check_validity(now).map_err(rule)?;
        let material = self
            .req
            .materials
            .iter()
            .find(|m| m.cert_type.as_deref() == Some(row.type_code.as_str()))
            .ok_or_else(|| {
                bad(
                    "certificate_not_needed",
                    "本事项不需要该证照",
                    row.type_code.clone(),
                )
            })?;
        let names: Vec<&str> = material.fields.iter().map(String::as_str).collect();
        let disclosed = sealed.disclose(&names);
        // A node never hands on a seal it cannot verify itself.
        let trust = crate::routes::trust::node_trust_list(s).await?;
        disclosed.verify(&trust).map_err(rule)?;
        let bytes = disclosed.encode();
        let receipt = ReceiptTerms {
            correlation_id: self.req.correlation_id.clone(),
            owner: self.own(),
            requested_by: self.req.origin.region,
            cert_id: disclosed.certificate.id.clone(),
            status,
            matter: self.req.origin.matter.clone(),
            grant: match &p.subject {
                Subject::Grant(g) => Some(*g),
                Subject::Certificate(_) => None,
            },
            certificate_digest: digest_hex(&bytes),
            retrieved_at: now,
        }
        .sign(&s.node_key);
        let issuer = cert_id.issuer();
        let keys: Vec<TrustEntry> = trust
            .entries
            .into_iter()
            .filter(|e| &e.issuer == issuer)
            .collect();
        let issuer_keys = NodeEnvelope::seal(
            &s.node_key,
            self.own(),
            self.req.origin.region,
            now,
            serde_json::to_string(&keys).map_err(ApiError::internal)?,
        );
        Ok(Served {
            sealed: String::from(disclosed),
            receipt,
            issuer_keys,
            material: material.name.clone(),
            path,
            consent_by: consent.by,
            holder_id: row.holder_id,
            presenter: consent.presenter.to_string(),
        })
    }

    /// Re-checks, at the owner, every signature behind a consent made elsewhere: the device
    /// bindings by the wallet province, the code by the presenter's bound key, the grant by
    /// the signer's bound key and its terms for this presenter, matter and time.
    fn verify_consent_signatures(
        &self,
        p: &Presentation,
        consent: &Consent,
        now: i64,
    ) -> Result<(), ApiError> {
        let facts = consent
            .facts
            .as_ref()
            .ok_or_else(|| consent_invalid("unsigned consent"))?;
        let registry = &self.s.federation.registry;
        let province_key = |b: &DeviceBinding| {
            if b.terms.province != consent.by {
                return Err(consent_invalid("binding by another province"));
            }
            // The province signs bindings afresh with its current key when it checks consent.
            let key = registry
                .key(consent.by, b.signer, now)
                .ok_or_else(|| consent_invalid("binding key"))?;
            b.verify(key).map_err(rule)
        };
        province_key(&facts.presenter)?;
        if facts.presenter.terms.device_key.key_id() != p.presenter {
            return Err(consent_invalid("the code was signed by another device"));
        }
        p.verify(&facts.presenter.terms.device_key, now)
            .map_err(rule)?;
        if let Some(token) = &facts.grant {
            let grant = Grant::try_from(token.clone()).map_err(ApiError::internal)?;
            let signer = facts
                .signer
                .as_ref()
                .ok_or_else(|| consent_invalid("no signer"))?;
            province_key(signer)?;
            match &p.subject {
                Subject::Grant(g) if *g == grant.terms.id => {}
                _ => return Err(consent_invalid("the code presents another grant")),
            }
            grant
                .verify_use(
                    &signer.terms.device_key,
                    now,
                    &self.req.origin.matter,
                    &facts.presenter.terms.resident_id,
                )
                .map_err(rule)?;
        } else if !matches!(&p.subject, Subject::Certificate(id) if id.as_str() == facts.cert_id) {
            return Err(consent_invalid("the code presents another certificate"));
        }
        Ok(())
    }

    /// Verifies what a neighbour sent back before passing it on: the owner's receipt by its
    /// registered key, for this correlation, counter, matter and certificate; the seal by the
    /// issuer keys the owner vouched for.
    fn check_served(
        &self,
        served: Box<Served>,
        cert_id: Option<&CertId>,
        p: &Presentation,
    ) -> Result<Box<Served>, ApiError> {
        let registry = &self.s.federation.registry;
        let from = served.path.get(self.req.path.len() + 1).copied();
        let invalid = || self.tier(TierFailure::BadAnswer, from.unwrap_or(self.own()));
        let t = &served.receipt.terms;
        let owner_key = registry
            .key(t.owner, served.receipt.signer, t.retrieved_at)
            .ok_or_else(invalid)?;
        let sealed = SealedCertificate::try_from(served.sealed.clone()).map_err(|_| invalid())?;
        let ok = served.receipt.verify(owner_key, &sealed.encode()).is_ok()
            && t.correlation_id == self.req.correlation_id
            && t.requested_by == self.req.origin.region
            && t.matter == self.req.origin.matter
            && cert_id.is_none_or(|c| &t.cert_id == c)
            && t.cert_id == sealed.certificate.id
            && served.path.last() == Some(&t.owner)
            && served.path.starts_with(&self.req.path)
            && served.path.get(self.req.path.len()) == Some(&self.own())
            && match (&p.subject, t.grant) {
                (Subject::Grant(g), Some(r)) => *g == r,
                (Subject::Certificate(id), None) => *id == t.cert_id,
                _ => false,
            };
        if !ok {
            return Err(invalid());
        }
        let keys = served
            .issuer_keys
            .verify_signature(owner_key)
            .ok()
            .filter(|_| served.issuer_keys.from == t.owner)
            .and_then(|payload| serde_json::from_str::<Vec<TrustEntry>>(payload).ok())
            .ok_or_else(invalid)?;
        sealed
            .verify(&TrustList::new(keys))
            .map_err(|_| invalid())?;
        Ok(served)
    }
}

/// Whether `resident` may act for the certificate's holder: is the person, or represents the
/// enterprise — as the wallet province stated, or as this node's records say when the consent
/// was made here.
async fn acts_for(
    s: &AppState,
    consent: &Consent,
    holder: &Holder,
    resident: &ResidentId,
) -> Result<bool, ApiError> {
    Ok(match (holder, &consent.acts_for) {
        (Holder::Person(h), _) => h == resident,
        (Holder::Enterprise(e), Some(list)) => list.iter().any(|c| c == e.as_str()),
        (Holder::Enterprise(e), None) => {
            s.db.acts_for_enterprise(e.as_str(), resident.as_str())
                .await?
        }
    })
}

/// The credit code of the enterprise holding a certificate this node indexes or holds; `None`
/// for a person's certificate or one unknown here (the owner checks the holder either way).
async fn enterprise_holder(s: &AppState, cert_id: &str) -> Result<Option<String>, ApiError> {
    if let Some(ix) = s.db.indexed_certificate(cert_id).await? {
        return Ok((ix.meta.holder_kind == "enterprise").then_some(ix.meta.holder_key));
    }
    Ok(s.db
        .certificate(cert_id)
        .await?
        .filter(|c| c.holder_kind == "enterprise")
        .map(|c| c.holder_id))
}

/// The live device key that signed a grant, which must belong to the holder (or, for an
/// enterprise certificate, to someone acting for the enterprise).
async fn holder_key(s: &AppState, grant: &Grant) -> Result<(String, PublicKey), ApiError> {
    let (owner, public) =
        s.db.live_device(&grant.signer.to_string())
            .await?
            .ok_or_else(|| bad("grant_signer_revoked", "授权签名设备已注销，授权失效", ""))?;
    let ok = match &grant.terms.holder {
        Holder::Person(p) => p.as_str() == owner,
        Holder::Enterprise(e) => s.db.acts_for_enterprise(e.as_str(), &owner).await?,
    };
    if !ok {
        return Err(bad("grant_signer_not_holder", "授权不是持证人签署的", ""));
    }
    Ok((owner, public.parse().map_err(ApiError::internal)?))
}

/// The province's statement that `key` is a device of `resident`, as registered.
async fn binding(s: &AppState, resident: &str, key: PublicKey) -> Result<DeviceBinding, ApiError> {
    let bound_at =
        s.db.device_bound_at(&key.key_id().to_string())
            .await?
            .unwrap_or_else(|| s.clock.now());
    Ok(BindingTerms {
        province: s.settings.region,
        resident_id: resident.parse().map_err(ApiError::internal)?,
        device_key: key,
        bound_at,
    }
    .sign(&s.node_key))
}

/// Turns a commit conflict into the refusal the counter sees.
pub fn record_error(e: RecordError) -> ApiError {
    match e {
        RecordError::NonceUsed => bad(
            "presentation_replayed",
            "该亮证码已使用，请让申请人刷新后重新出示",
            "",
        ),
        RecordError::GrantSpent => bad(
            "grant_use_limit_reached",
            "该授权已撤销或使用次数已用完",
            "",
        ),
        RecordError::TokenReplayed => {
            ApiError::PeerRefused(crate::federation::token::ServiceTokenError::Replayed)
        }
    }
}

/// How the counter's node turns what was served into its retrieval record.
pub type RetrievalBuilder<'a> =
    dyn Fn(&Served) -> Result<crate::db::cases::RetrievalRow, ApiError> + Sync + 'a;

/// Who an audited hop was for, beyond the request itself.
#[derive(Debug)]
pub struct HopAudit {
    /// `retrieval` at the counter's node, `retrieval_hop` elsewhere.
    pub action: &'static str,
    /// The clerk (`411100:clerk:c1`) at the counter's node, the calling node elsewhere.
    pub actor: String,
    pub started: std::time::Instant,
}

/// Writes this node's record of the hop in one transaction — nonce, grant use, consent and
/// retrieval rows where this node played those roles, and the audit entry — and returns what
/// the caller gets. A refusal is recorded with its code and returned unchanged.
pub async fn settle(
    s: &AppState,
    req: &HopRequest,
    outcome: HopOutcome,
    audit: HopAudit,
    retrieval: Option<&RetrievalBuilder<'_>>,
) -> Result<Step, ApiError> {
    let now = s.clock.now();
    let HopOutcome {
        result,
        mut ledger,
        roles,
        presenter_hash,
    } = outcome;
    let entry = |result: &str, response: &str, cert: Option<&str>| {
        let o = &req.origin;
        let detail = serde_json::json!({
            "origin": o.region.to_string(),
            "case": o.case_id,
            "matter": o.matter,
            "counter": o.counter,
            "clerk": o.clerk,
            "presenter": presenter_hash,
            "certificate": cert,
            "roles": roles,
            "path": req.path.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
        .to_string();
        crate::db::audit::AuditEntry {
            at: now,
            correlation_id: req.correlation_id.clone(),
            action: audit.action.into(),
            actor: audit.actor.clone(),
            subject: o.case_id.clone(),
            detail,
            result: result.into(),
            request_hash: hex_sha256(req.presentation.as_bytes()),
            response_hash: hex_sha256(response.as_bytes()),
            latency_ms: audit.started.elapsed().as_millis() as i64,
        }
    };
    let failure = match result {
        Ok(step) => {
            let (response, cert, row) = match &step {
                Step::Served(served) => {
                    let row = match retrieval {
                        Some(build) => Some(build(served)?),
                        None => None,
                    };
                    (
                        served.sealed.clone(),
                        Some(served.receipt.terms.cert_id.to_string()),
                        row,
                    )
                }
                Step::Consented(env, _) => (env.payload.clone(), None, None),
            };
            if let (Some(c), Step::Consented(..)) = (&mut ledger.consent, &step) {
                c.result = "consented".into();
            }
            match s
                .db
                .record_hop(
                    ledger.clone(),
                    row,
                    entry("ok", &response, cert.as_deref()),
                    now,
                )
                .await?
            {
                Ok(()) => return Ok(step),
                Err(conflict) => {
                    // A concurrent scan of the same code (possibly on another process)
                    // consumed the nonce meanwhile, or the grant was spent: record the
                    // refusal, without the nonce if it is already taken.
                    match conflict {
                        RecordError::NonceUsed => ledger.nonce = None,
                        RecordError::TokenReplayed => ledger.service_token = None,
                        RecordError::GrantSpent => {}
                    }
                    record_error(conflict)
                }
            }
        }
        Err(e) => e,
    };
    let (_, code, _) = failure.parts();
    let code = code.to_owned();
    if let Some(c) = &mut ledger.consent {
        c.result = code.clone();
    }
    ledger.grant_use = None;
    match s
        .db
        .record_refused_hop(ledger, entry(&code, "", None), now)
        .await?
    {
        Ok(()) => Err(failure),
        Err(replayed) => Err(record_error(replayed)),
    }
}
