//! The certificate catalog (证照目录): types, holder kind, field schema, disclosability.

use sqlx::Row;

use super::Db;
use crate::config::FieldSpec;

#[derive(Debug, Clone, serde::Serialize)]
pub struct CertType {
    pub code: String,
    pub name: String,
    pub department: String,
    pub holder_kind: String,
    pub disclosable: bool,
    /// In the national catalog: its certificates' metadata is pushed to the national node too.
    pub national: bool,
    pub fields: Vec<FieldSpec>,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<CertType, sqlx::Error> {
    let schema: String = r.try_get("field_schema")?;
    Ok(CertType {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        department: r.try_get("department")?,
        holder_kind: r.try_get("holder_kind")?,
        disclosable: r.try_get::<i64, _>("disclosable")? != 0,
        national: r.try_get::<i64, _>("national")? != 0,
        fields: serde_json::from_str(&schema).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

impl Db {
    pub async fn upsert_cert_type(&self, t: &CertType) -> Result<(), sqlx::Error> {
        let schema =
            serde_json::to_string(&t.fields).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO cert_types (code, name, department, holder_kind, field_schema, disclosable, national)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, department = excluded.department,
               holder_kind = excluded.holder_kind, field_schema = excluded.field_schema,
               disclosable = excluded.disclosable, national = excluded.national",
        )
        .bind(&t.code)
        .bind(&t.name)
        .bind(&t.department)
        .bind(&t.holder_kind)
        .bind(schema)
        .bind(i64::from(t.disclosable))
        .bind(i64::from(t.national))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn cert_type(&self, code: &str) -> Result<Option<CertType>, sqlx::Error> {
        sqlx::query("SELECT * FROM cert_types WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    pub async fn cert_types(&self) -> Result<Vec<CertType>, sqlx::Error> {
        sqlx::query("SELECT * FROM cert_types ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }
}
