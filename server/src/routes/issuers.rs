//! The issuer directory as the wallet reads it: which departments issue which certificate
//! types, so a holder reporting a missing certificate can name the department that should
//! have issued it (`objections::file`).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::RegionCode;

use crate::db::issuers::IssuerEntry;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuersQuery {
    /// Only the departments issuing this catalog type.
    pub cert_type: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IssuerView {
    #[serde(flatten)]
    pub entry: IssuerEntry,
    /// The name of the node holding what the department issues.
    pub region_name: String,
}

/// 证照目录 with the issuing departments this node knows: its own catalog and, at a province
/// or the national node, what the nodes below have pushed. Public, like the catalog.
pub async fn issuers(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<IssuersQuery>,
) -> Result<Json<Vec<IssuerView>>, ApiError> {
    if q.cert_type.as_ref().is_some_and(|t| t.len() > 64) {
        return Err(ApiError::bad(
            "cert_type_invalid",
            "证照类型代码格式错误",
            "cert_type longer than 64 characters",
        ));
    }
    let own = s.settings.region;
    let entries = s.db.issuers(own, q.cert_type.as_deref()).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| {
                let region_name = match entry.region.parse::<RegionCode>() {
                    Ok(r) if r == own => s.settings.name.clone(),
                    Ok(r) => s.federation.registry.name_of(r),
                    Err(_) => entry.region.clone(),
                };
                IssuerView { entry, region_name }
            })
            .collect(),
    ))
}
