//! What a demo node adds at start (`demo_seed = true`) beyond what its configuration file
//! already applies (departments, catalog, matters, staff, enterprises): population rows and
//! wallet accounts at the provinces, the certificates its departments issue — sealed through
//! the issuance route's own code path — and, at Henan, the sharing platform's tax records.
//!
//! Every step is idempotent on its own: a certificate is issued only if its holder has none of
//! that type from that department, an account only if the person has none, tax records only if
//! the buyer has none. A second start therefore seeds nothing, and a start interrupted half
//! way finishes the job next time.

use wallet_core::id::IdError;

use super::config::resident_password;
use super::issued::{certificates, sharing_records};
use super::people::PEOPLE;
use super::HENAN;
use crate::auth::secrets::hash_password;
use crate::db::accounts::Account;
use crate::db::departments::Department;
use crate::error::ApiError;
use crate::routes::issuance::{issue_certificate, IssueRequest};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("synthetic identifier: {0}")]
    Id(#[from] IdError),
    #[error("cannot hash a demo password: {0}")]
    Password(#[from] argon2::password_hash::Error),
    #[error("cannot issue the demo {what}: {source}")]
    Issue {
        what: String,
        #[source]
        source: Box<ApiError>,
    },
}

/// Seeds this node's share of the demo data; see the module documentation.
pub async fn apply(s: &AppState) -> Result<(), SeedError> {
    let region = s.settings.region.to_string();
    let now = s.clock.now();
    let accounts = residents(s, &region, now).await?;
    let issued = issue(s, &region, now).await?;
    let records = if region == HENAN {
        sharing(s, now).await?
    } else {
        0
    };
    if accounts + issued + records == 0 {
        tracing::info!(region, "demo data already seeded");
    } else {
        tracing::info!(
            region,
            accounts,
            certificates = issued,
            sharing_records = records,
            "demo data seeded"
        );
    }
    Ok(())
}

/// Population rows for everyone whose home is this province, and a wallet account with the
/// derived demo password for those with a phone. Returns the number of accounts created.
async fn residents(s: &AppState, region: &str, now: i64) -> Result<usize, SeedError> {
    let mut created = 0;
    for p in PEOPLE.iter().filter(|p| p.home == region) {
        let id = p.resident_id()?.to_string();
        s.db.upsert_resident(&id, p.name).await?;
        let Some(phone) = p.phone else { continue };
        if s.db.account(&id).await?.is_some() {
            continue;
        }
        let account = Account {
            resident_id: id.clone(),
            name: p.name.into(),
            phone: phone.into(),
            password_hash: Some(hash_password(&resident_password(&s.node_key, &id))?),
        };
        if s.db.create_account(&account, now).await? {
            created += 1;
        }
    }
    Ok(created)
}

/// Issues the certificates this node's departments hold in the demo. Returns how many.
async fn issue(s: &AppState, region: &str, now: i64) -> Result<usize, SeedError> {
    let mut issued = 0;
    for c in certificates(now)?
        .into_iter()
        .filter(|c| c.node() == region)
    {
        let type_code = c.ty.code()?;
        let dept = Department {
            credit_code: c.ty.dept.credit_code()?.to_string(),
            name: c.ty.dept.name.into(),
        };
        let held = s.db.certificates_of_holder(&c.holder_id).await?;
        if held
            .iter()
            .any(|row| row.type_code == type_code && row.issuer_code == dept.credit_code)
        {
            continue;
        }
        let what = format!("{} of {}", c.ty.name, c.holder_name);
        let req = IssueRequest {
            type_code,
            holder_kind: c.holder_kind.into(),
            holder_id: c.holder_id,
            holder_name: c.holder_name,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            fields: c.fields,
            objection: None,
        };
        issue_certificate(s, &dept, req)
            .await
            .map_err(|source| SeedError::Issue {
                what,
                source: Box::new(source),
            })?;
        issued += 1;
    }
    Ok(issued)
}

/// The province's tax records (scenario 2). Returns how many were stored.
async fn sharing(s: &AppState, now: i64) -> Result<usize, SeedError> {
    let (invoices, deed_taxes) = sharing_records(now)?;
    let mut stored = 0;
    for t in &invoices {
        if s.db.tax_invoices_of(&t.buyer_id).await?.is_empty() && s.db.insert_tax_invoice(t).await?
        {
            stored += 1;
        }
    }
    for d in &deed_taxes {
        if s.db.deed_tax_of(&d.payer_id).await?.is_empty() && s.db.insert_deed_tax(d).await? {
            stored += 1;
        }
    }
    Ok(stored)
}
