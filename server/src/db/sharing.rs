//! The province's sharing platform (共享平台): purchase invoices (购房发票) and deed-tax
//! certificates (契税完税凭证) from the tax authority, which replace paper materials such as
//! those of the housing-fund withdrawal. A province node keeps them; records are written once
//! under their number and never changed here.

use sqlx::Row;

use super::Db;

/// A purchase invoice as the tax authority shares it. Amounts are fen (0.01 yuan).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaxInvoice {
    pub invoice_number: String,
    pub buyer_id: String,
    pub buyer_name: String,
    pub seller_name: String,
    pub property_address: String,
    pub amount_fen: i64,
    pub issued_at: i64,
}

/// A deed-tax payment certificate. Amounts are fen (0.01 yuan).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeedTaxRecord {
    pub certificate_number: String,
    pub payer_id: String,
    pub payer_name: String,
    pub property_address: String,
    pub amount_fen: i64,
    pub paid_at: i64,
    pub tax_authority: String,
}

fn invoice_from(r: &sqlx::any::AnyRow) -> Result<TaxInvoice, sqlx::Error> {
    Ok(TaxInvoice {
        invoice_number: r.try_get("invoice_number")?,
        buyer_id: r.try_get("buyer_id")?,
        buyer_name: r.try_get("buyer_name")?,
        seller_name: r.try_get("seller_name")?,
        property_address: r.try_get("property_address")?,
        amount_fen: r.try_get("amount_fen")?,
        issued_at: r.try_get("issued_at")?,
    })
}

fn deed_tax_from(r: &sqlx::any::AnyRow) -> Result<DeedTaxRecord, sqlx::Error> {
    Ok(DeedTaxRecord {
        certificate_number: r.try_get("certificate_number")?,
        payer_id: r.try_get("payer_id")?,
        payer_name: r.try_get("payer_name")?,
        property_address: r.try_get("property_address")?,
        amount_fen: r.try_get("amount_fen")?,
        paid_at: r.try_get("paid_at")?,
        tax_authority: r.try_get("tax_authority")?,
    })
}

impl Db {
    /// Stores an invoice; false when one with this number is already there (nothing changes).
    pub async fn insert_tax_invoice(&self, t: &TaxInvoice) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "INSERT INTO tax_invoices (invoice_number, buyer_id, buyer_name, seller_name,
               property_address, amount_fen, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&t.invoice_number)
        .bind(&t.buyer_id)
        .bind(&t.buyer_name)
        .bind(&t.seller_name)
        .bind(&t.property_address)
        .bind(t.amount_fen)
        .bind(t.issued_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn tax_invoice(&self, number: &str) -> Result<Option<TaxInvoice>, sqlx::Error> {
        sqlx::query("SELECT * FROM tax_invoices WHERE invoice_number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(invoice_from)
            .transpose()
    }

    /// The invoices naming this person as buyer, newest first.
    pub async fn tax_invoices_of(&self, buyer_id: &str) -> Result<Vec<TaxInvoice>, sqlx::Error> {
        sqlx::query("SELECT * FROM tax_invoices WHERE buyer_id = $1 ORDER BY issued_at DESC")
            .bind(buyer_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(invoice_from)
            .collect()
    }

    /// Stores a deed-tax record; false when one with this number is already there.
    pub async fn insert_deed_tax(&self, d: &DeedTaxRecord) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "INSERT INTO deed_tax_records (certificate_number, payer_id, payer_name,
               property_address, amount_fen, paid_at, tax_authority)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&d.certificate_number)
        .bind(&d.payer_id)
        .bind(&d.payer_name)
        .bind(&d.property_address)
        .bind(d.amount_fen)
        .bind(d.paid_at)
        .bind(&d.tax_authority)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn deed_tax(&self, number: &str) -> Result<Option<DeedTaxRecord>, sqlx::Error> {
        sqlx::query("SELECT * FROM deed_tax_records WHERE certificate_number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(deed_tax_from)
            .transpose()
    }

    /// The deed-tax records of this payer, newest first.
    pub async fn deed_tax_of(&self, payer_id: &str) -> Result<Vec<DeedTaxRecord>, sqlx::Error> {
        sqlx::query("SELECT * FROM deed_tax_records WHERE payer_id = $1 ORDER BY paid_at DESC")
            .bind(payer_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(deed_tax_from)
            .collect()
    }
}
