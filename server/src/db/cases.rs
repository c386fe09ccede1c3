//! Matters, cases at the counter, retrievals, attachments and evaluations.

use sqlx::{AnyConnection, Row};

use super::Db;

/// One required material of a matter, and the certificate type that can replace it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Material {
    pub name: String,
    /// The catalog type whose e-certificate replaces this material, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_type: Option<String>,
    /// The certificate fields this matter needs; only these leave the issuing node.
    #[serde(default)]
    pub fields: Vec<String>,
    /// The province's sharing platform supplies this material: `tax_invoice` (购房发票) or
    /// `deed_tax` (契税完税凭证).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<String>,
}

/// A matter of the province's directory, handled at the counters of the node `region`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirectoryMatter {
    pub region: String,
    #[serde(flatten)]
    pub matter: Matter,
}

/// 政务服务事项.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Matter {
    pub code: String,
    pub name: String,
    pub department: String,
    pub materials: Vec<Material>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseRow {
    pub id: String,
    pub matter: String,
    pub clerk: String,
    pub counter: String,
    pub status: String,
    pub opened_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RetrievalRow {
    pub id: String,
    pub correlation_id: String,
    pub case_id: String,
    pub cert_id: String,
    pub holder_id: String,
    pub matter: String,
    pub material: String,
    pub presenter: String,
    pub grant_id: Option<String>,
    pub sealed: String,
    pub receipt: String,
    pub created_at: i64,
    /// JSON array of the region codes the retrieval passed through, counter's node first.
    pub path: String,
    /// The region that checked the holder's consent.
    pub consent_by: String,
    /// JSON array of the issuer's seal keys (trust entries) as the owner vouched for them.
    pub issuer_keys: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentRow {
    pub id: String,
    pub case_id: String,
    pub retrieval_id: String,
    pub verification_code: String,
    pub confirmed_at: i64,
}

/// One use of a holder's certificate, as 用证记录 shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UsageRow {
    pub at: i64,
    pub cert_id: String,
    pub matter: String,
    pub counter: String,
    pub clerk: String,
    pub grant_id: Option<String>,
    /// The person's resident ID or the enterprise's credit code.
    pub holder_id: String,
}

/// Why a retrieval could not be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// The presentation's nonce was consumed before.
    NonceUsed,
    /// The grant was revoked or used up between check and record.
    GrantSpent,
    /// The calling node's service token was used before (a replayed inter-node call).
    TokenReplayed,
}

fn case_from(r: &sqlx::any::AnyRow) -> Result<CaseRow, sqlx::Error> {
    Ok(CaseRow {
        id: r.try_get("id")?,
        matter: r.try_get("matter")?,
        clerk: r.try_get("clerk")?,
        counter: r.try_get("counter")?,
        status: r.try_get("status")?,
        opened_at: r.try_get("opened_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

fn retrieval_from(r: &sqlx::any::AnyRow) -> Result<RetrievalRow, sqlx::Error> {
    Ok(RetrievalRow {
        id: r.try_get("id")?,
        correlation_id: r.try_get("correlation_id")?,
        case_id: r.try_get("case_id")?,
        cert_id: r.try_get("cert_id")?,
        holder_id: r.try_get("holder_id")?,
        matter: r.try_get("matter")?,
        material: r.try_get("material")?,
        presenter: r.try_get("presenter")?,
        grant_id: r.try_get("grant_id")?,
        sealed: r.try_get("sealed")?,
        receipt: r.try_get("receipt")?,
        created_at: r.try_get("created_at")?,
        path: r.try_get("path")?,
        consent_by: r.try_get("consent_by")?,
        issuer_keys: r.try_get("issuer_keys")?,
    })
}

/// Consumes a presentation nonce inside the caller's transaction; false when already used.
/// The primary key makes this hold across processes sharing one database.
pub async fn consume_nonce(
    conn: &mut AnyConnection,
    nonce: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query("INSERT INTO nonces (nonce, consumed_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(nonce)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn insert_retrieval(
    conn: &mut AnyConnection,
    r: &RetrievalRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO retrievals (id, correlation_id, case_id, cert_id, holder_id, matter, material, presenter,
           grant_id, sealed, receipt, created_at, path, consent_by, issuer_keys)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&r.id)
    .bind(&r.correlation_id)
    .bind(&r.case_id)
    .bind(&r.cert_id)
    .bind(&r.holder_id)
    .bind(&r.matter)
    .bind(&r.material)
    .bind(&r.presenter)
    .bind(&r.grant_id)
    .bind(&r.sealed)
    .bind(&r.receipt)
    .bind(r.created_at)
    .bind(&r.path)
    .bind(&r.consent_by)
    .bind(&r.issuer_keys)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Db {
    pub async fn upsert_matter(&self, m: &Matter) -> Result<(), sqlx::Error> {
        let materials =
            serde_json::to_string(&m.materials).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO matters (code, name, department, materials) VALUES ($1, $2, $3, $4)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, department = excluded.department,
               materials = excluded.materials",
        )
        .bind(&m.code)
        .bind(&m.name)
        .bind(&m.department)
        .bind(materials)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn matter_from(r: &sqlx::any::AnyRow) -> Result<Matter, sqlx::Error> {
        let materials: String = r.try_get("materials")?;
        Ok(Matter {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            department: r.try_get("department")?,
            materials: serde_json::from_str(&materials)
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        })
    }

    pub async fn upsert_directory_matter(&self, m: &DirectoryMatter) -> Result<(), sqlx::Error> {
        let materials = serde_json::to_string(&m.matter.materials)
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO matter_directory (code, region, name, department, materials)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (code) DO UPDATE SET region = excluded.region, name = excluded.name,
               department = excluded.department, materials = excluded.materials",
        )
        .bind(&m.matter.code)
        .bind(&m.region)
        .bind(&m.matter.name)
        .bind(&m.matter.department)
        .bind(materials)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The directory's matters (handled at other nodes of the province), by code.
    pub async fn directory_matters(&self) -> Result<Vec<DirectoryMatter>, sqlx::Error> {
        sqlx::query("SELECT * FROM matter_directory ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(DirectoryMatter {
                    region: r.try_get("region")?,
                    matter: Self::matter_from(r)?,
                })
            })
            .collect()
    }

    pub async fn matter(&self, code: &str) -> Result<Option<Matter>, sqlx::Error> {
        sqlx::query("SELECT * FROM matters WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::matter_from)
            .transpose()
    }

    pub async fn matters(&self) -> Result<Vec<Matter>, sqlx::Error> {
        sqlx::query("SELECT * FROM matters ORDER BY code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::matter_from)
            .collect()
    }

    pub async fn open_case(&self, c: &CaseRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO cases (id, matter, clerk, counter, status, opened_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&c.id)
        .bind(&c.matter)
        .bind(&c.clerk)
        .bind(&c.counter)
        .bind(&c.status)
        .bind(c.opened_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn case(&self, id: &str) -> Result<Option<CaseRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(case_from)
            .transpose()
    }

    pub async fn retrieval(&self, id: &str) -> Result<Option<RetrievalRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM retrievals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(retrieval_from)
            .transpose()
    }

    /// Turns a retrieval into an attachment of its case, once.
    pub async fn attach(&self, a: &AttachmentRow) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "INSERT INTO attachments (id, case_id, retrieval_id, verification_code, confirmed_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&a.id)
        .bind(&a.case_id)
        .bind(&a.retrieval_id)
        .bind(&a.verification_code)
        .bind(a.confirmed_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    fn attachment_from(r: &sqlx::any::AnyRow) -> Result<AttachmentRow, sqlx::Error> {
        Ok(AttachmentRow {
            id: r.try_get("id")?,
            case_id: r.try_get("case_id")?,
            retrieval_id: r.try_get("retrieval_id")?,
            verification_code: r.try_get("verification_code")?,
            confirmed_at: r.try_get("confirmed_at")?,
        })
    }

    /// A case's retrievals in the order they were made, each with its attachment if the
    /// applicant confirmed it.
    pub async fn retrievals_of_case(
        &self,
        case_id: &str,
    ) -> Result<Vec<(RetrievalRow, Option<AttachmentRow>)>, sqlx::Error> {
        let retrievals =
            sqlx::query("SELECT * FROM retrievals WHERE case_id = $1 ORDER BY created_at, id")
                .bind(case_id)
                .fetch_all(&self.pool)
                .await?;
        let mut attachments = sqlx::query("SELECT * FROM attachments WHERE case_id = $1")
            .bind(case_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Self::attachment_from)
            .collect::<Result<Vec<_>, _>>()?;
        retrievals
            .iter()
            .map(|row| {
                let r = retrieval_from(row)?;
                let a = attachments
                    .iter()
                    .position(|a| a.retrieval_id == r.id)
                    .map(|i| attachments.swap_remove(i));
                Ok((r, a))
            })
            .collect()
    }

    /// Whether the applicant has rated the case.
    pub async fn evaluated(&self, case_id: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM evaluations WHERE case_id = $1")
            .bind(case_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    pub async fn attachment_by_code(
        &self,
        code: &str,
    ) -> Result<Option<AttachmentRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM attachments WHERE verification_code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::attachment_from)
            .transpose()
    }

    pub async fn attachment_of(
        &self,
        retrieval_id: &str,
    ) -> Result<Option<AttachmentRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM attachments WHERE retrieval_id = $1")
            .bind(retrieval_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::attachment_from)
            .transpose()
    }

    /// Finishes an open case of this clerk; false when it is not open or not theirs.
    pub async fn finish_case(&self, id: &str, clerk: &str, now: i64) -> Result<bool, sqlx::Error> {
        let n = sqlx::query("UPDATE cases SET status = 'finished', finished_at = $1 WHERE id = $2 AND clerk = $3 AND status = 'open'")
            .bind(now)
            .bind(id)
            .bind(clerk)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Records the applicant's rating of a finished case, once.
    pub async fn evaluate(
        &self,
        case_id: &str,
        score: i64,
        comment: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = sqlx::query("INSERT INTO evaluations (case_id, score, comment, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(case_id)
            .bind(score)
            .bind(comment)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Every retrieval of the certificates of any of `holders` (a person and the enterprises
    /// they act for), newest first (用证记录): those at this node's counters, and those
    /// elsewhere whose consent this node checked as the wallet province.
    pub async fn usage_of_holders(&self, holders: &[String]) -> Result<Vec<UsageRow>, sqlx::Error> {
        if holders.is_empty() {
            return Ok(Vec::new());
        }
        let list = (1..=holders.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT r.created_at, r.cert_id, r.matter, c.counter, c.clerk, r.grant_id, r.holder_id
             FROM retrievals r JOIN cases c ON c.id = r.case_id
             WHERE r.holder_id IN ({list})
             UNION ALL
             SELECT k.created_at, k.cert_id, k.matter, k.counter, k.clerk, k.grant_id, k.holder_id
             FROM consents k
             WHERE k.holder_id IN ({list}) AND k.result IN ('ok', 'consented')
               AND NOT EXISTS (SELECT 1 FROM retrievals x WHERE x.correlation_id = k.correlation_id)
             ORDER BY 1 DESC"
        );
        let mut q = sqlx::query(&sql);
        for h in holders {
            q = q.bind(h);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(UsageRow {
                    at: r.try_get(0)?,
                    cert_id: r.try_get(1)?,
                    matter: r.try_get(2)?,
                    counter: r.try_get(3)?,
                    clerk: r.try_get(4)?,
                    grant_id: r.try_get(5)?,
                    holder_id: r.try_get(6)?,
                })
            })
            .collect()
    }
}
