//! The province's sharing platform (共享平台) as the withdrawal uses it.
//!
//! Online, the wallet province compares what the applicant typed with the tax authority's
//! records *of the applicant*: a number that belongs to someone else is treated as unknown, and
//! no other person's amount is ever compared, so the form cannot be used to probe other
//! people's records. At a counter, the city node asks its province for the applicant's records
//! by resident ID (`POST /federation/v1/sharing/query`), stating the case, clerk and consent.
//! Every comparison and every query is audited where the data lives, the resident ID only as a
//! hash.

use serde::{Deserialize, Serialize};
use wallet_core::{RegionCode, Tier};

use super::form::{format_amount, Form};
use crate::db::audit::{citizen_actor, hex_sha256, AuditEntry};
use crate::db::sharing::{DeedTaxRecord, TaxInvoice};
use crate::error::ApiError;
use crate::federation::client::COUNTER_BUDGET;
use crate::federation::Budget;
use crate::state::AppState;

/// The inter-node route of the platform.
pub const QUERY_PATH: &str = "/federation/v1/sharing/query";

/// A purchase invoice as applicant, clerk and reviewer see it (no resident ID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub invoice_number: String,
    pub buyer_name: String,
    pub seller_name: String,
    pub property_address: String,
    /// Yuan, `1280000.00`.
    pub amount: String,
    pub amount_fen: i64,
    pub issued_at: i64,
}

/// A deed-tax certificate as applicant, clerk and reviewer see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeedTaxView {
    pub certificate_number: String,
    pub payer_name: String,
    pub property_address: String,
    pub amount: String,
    pub amount_fen: i64,
    pub paid_at: i64,
    pub tax_authority: String,
}

impl From<TaxInvoice> for InvoiceView {
    fn from(t: TaxInvoice) -> Self {
        InvoiceView {
            amount: format_amount(t.amount_fen),
            invoice_number: t.invoice_number,
            buyer_name: t.buyer_name,
            seller_name: t.seller_name,
            property_address: t.property_address,
            amount_fen: t.amount_fen,
            issued_at: t.issued_at,
        }
    }
}

impl From<DeedTaxRecord> for DeedTaxView {
    fn from(d: DeedTaxRecord) -> Self {
        DeedTaxView {
            amount: format_amount(d.amount_fen),
            certificate_number: d.certificate_number,
            payer_name: d.payer_name,
            property_address: d.property_address,
            amount_fen: d.amount_fen,
            paid_at: d.paid_at,
            tax_authority: d.tax_authority,
        }
    }
}

/// What the platform holds for one person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingRecords {
    /// The name in the population registry (人口基础信息), if the person is in it.
    pub person_name: Option<String>,
    pub invoices: Vec<InvoiceView>,
    pub deed_taxes: Vec<DeedTaxView>,
}

/// The records an online application matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingMatch {
    pub invoice: InvoiceView,
    pub deed_tax: DeedTaxView,
    pub checked_at: i64,
}

/// A field of the form that differs from the platform's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The request's field: `invoice.number`, `invoice.amount`, `deed_tax.number`,
    /// `deed_tax.amount`.
    pub field: &'static str,
    pub label: &'static str,
}

const INVOICE_NUMBER: Mismatch = Mismatch {
    field: "invoice.number",
    label: "购房发票号码",
};
const INVOICE_AMOUNT: Mismatch = Mismatch {
    field: "invoice.amount",
    label: "购房发票金额",
};
const DEED_TAX_NUMBER: Mismatch = Mismatch {
    field: "deed_tax.number",
    label: "契税完税凭证号码",
};
const DEED_TAX_AMOUNT: Mismatch = Mismatch {
    field: "deed_tax.amount",
    label: "契税金额",
};

/// Step (2)–(3) online: compares the form with the applicant's own records, audits the
/// comparison, and returns the matched records or the fields that differ.
pub async fn compare(
    s: &AppState,
    applicant: &str,
    form: &Form,
    application_id: &str,
    matter: &str,
) -> Result<Result<SharingMatch, Vec<Mismatch>>, ApiError> {
    let now = s.clock.now();
    let invoice =
        s.db.tax_invoice(&form.invoice_number)
            .await?
            .filter(|t| t.buyer_id == applicant);
    let deed_tax =
        s.db.deed_tax(&form.deed_tax_number)
            .await?
            .filter(|d| d.payer_id == applicant);
    let mut differ = Vec::new();
    match &invoice {
        None => differ.push(INVOICE_NUMBER),
        Some(t) if t.amount_fen != form.invoice_amount_fen => differ.push(INVOICE_AMOUNT),
        Some(_) => {}
    }
    match &deed_tax {
        None => differ.push(DEED_TAX_NUMBER),
        Some(d) if d.amount_fen != form.deed_tax_amount_fen => differ.push(DEED_TAX_AMOUNT),
        Some(_) => {}
    }
    let detail = serde_json::json!({
        "matter": matter,
        "differ": differ.iter().map(|m| m.field).collect::<Vec<_>>(),
    })
    .to_string();
    let mut entry = AuditEntry::action(
        now,
        "sharing_check",
        citizen_actor(applicant),
        application_id,
        detail,
        "",
    );
    if !differ.is_empty() {
        entry.result = "sharing_mismatch".into();
    }
    s.db.audit(&entry).await?;
    Ok(match (invoice, deed_tax) {
        (Some(t), Some(d)) if differ.is_empty() => Ok(SharingMatch {
            invoice: t.into(),
            deed_tax: d.into(),
            checked_at: now,
        }),
        _ => Err(differ),
    })
}

/// A counter's query for one applicant, as the city node states it to its province.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharingQuery {
    pub correlation_id: String,
    pub resident_id: String,
    pub matter: String,
    pub case_id: String,
    pub counter: String,
    pub clerk: String,
    /// When the applicant consented at the counter.
    pub consented_at: i64,
}

/// The platform's answer for one person, audited: who asked (`actor`), for which case and
/// matter, on whose consent. Only that person's records.
pub async fn lookup(
    s: &AppState,
    q: &SharingQuery,
    actor: String,
) -> Result<SharingRecords, ApiError> {
    let records = SharingRecords {
        person_name: s.db.resident_name(&q.resident_id).await?,
        invoices: s
            .db
            .tax_invoices_of(&q.resident_id)
            .await?
            .into_iter()
            .map(InvoiceView::from)
            .collect(),
        deed_taxes: s
            .db
            .deed_tax_of(&q.resident_id)
            .await?
            .into_iter()
            .map(DeedTaxView::from)
            .collect(),
    };
    let detail = serde_json::json!({
        "applicant": citizen_actor(&q.resident_id),
        "matter": q.matter,
        "case": q.case_id,
        "counter": q.counter,
        "consented_at": q.consented_at,
        "invoices": records.invoices.len(),
        "deed_taxes": records.deed_taxes.len(),
    })
    .to_string();
    let response = serde_json::to_string(&records).map_err(ApiError::internal)?;
    let entry = AuditEntry {
        at: s.clock.now(),
        correlation_id: q.correlation_id.clone(),
        action: "sharing_query".into(),
        actor,
        subject: q.case_id.clone(),
        request_hash: hex_sha256(detail.as_bytes()),
        detail,
        result: "ok".into(),
        response_hash: hex_sha256(response.as_bytes()),
        latency_ms: 0,
    };
    s.db.audit(&entry).await?;
    Ok(records)
}

/// The province whose sharing platform serves this node: itself at a province, its parent at a
/// city; the national node has none.
pub fn platform_of(s: &AppState) -> Result<RegionCode, ApiError> {
    let own = s.settings.region;
    match own.tier() {
        Tier::Province => Ok(own),
        Tier::City => own.parent().ok_or_else(no_platform),
        _ => Err(no_platform()),
    }
}

fn no_platform() -> ApiError {
    ApiError::bad(
        "sharing_platform_unavailable",
        "本级系统未接入省级共享平台",
        "no province above this node",
    )
}

/// A counter's query: answered here at a province, sent to the province from a city.
pub async fn query_for_counter(s: &AppState, q: &SharingQuery) -> Result<SharingRecords, ApiError> {
    let province = platform_of(s)?;
    if province == s.settings.region {
        return lookup(s, q, format!("{}:clerk:{}", s.settings.region, q.clerk)).await;
    }
    let fed = &s.federation;
    fed.client
        .post(
            &fed.registry,
            &s.node_key,
            province,
            QUERY_PATH,
            &q.correlation_id,
            q,
            Budget::new(COUNTER_BUDGET),
            s.clock.now(),
        )
        .await
}
