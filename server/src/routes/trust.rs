use axum::extract::State;
use axum::Json;
use wallet_core::trust_list::TrustEntry;
use wallet_core::TrustList;

use crate::db::catalog::CertType;
use crate::error::ApiError;
use crate::state::AppState;

/// The trust list of this node's departments. Retired keys stay listed with their end, so what
/// they sealed before a rotation keeps verifying.
pub async fn trust_list(State(s): State<AppState>) -> Result<Json<TrustList>, ApiError> {
    Ok(Json(node_trust_list(&s).await?))
}

/// The seal keys of this node's departments as a trust list.
pub async fn node_trust_list(s: &AppState) -> Result<TrustList, ApiError> {
    let entries =
        s.db.seal_keys()
            .await?
            .into_iter()
            .map(|k| {
                Ok(TrustEntry {
                    issuer: k.department.parse().map_err(ApiError::internal)?,
                    issuer_name: k.department_name,
                    key: k.public_key.parse().map_err(ApiError::internal)?,
                    not_before: k.not_before,
                    not_after: k.not_after,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(TrustList::new(entries))
}

/// The certificate catalog (证照目录) of this node.
pub async fn catalog(State(s): State<AppState>) -> Result<Json<Vec<CertType>>, ApiError> {
    Ok(Json(s.db.cert_types().await?))
}
