//! The public matter directory (政务服务事项目录): what the counters of this node and, at a
//! province, of its cities handle, with the materials an e-certificate replaces. The wallet
//! reads it when a holder names the matters of a grant; matters are public information, so no
//! session is needed.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::RegionCode;

use crate::db::cases::{DirectoryMatter, Material};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryQuery {
    /// Only matters where a certificate of this catalog type replaces a material.
    pub cert_type: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ListedMatter {
    pub code: String,
    pub name: String,
    pub department: String,
    /// The node whose counters handle the matter, and its name as people read it.
    pub region: String,
    pub region_name: String,
    pub materials: Vec<Material>,
}

/// The longest catalog type code a query may name; longer is no type at all.
const MAX_TYPE_CODE: usize = 64;

pub async fn directory(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<DirectoryQuery>,
) -> Result<Json<Vec<ListedMatter>>, ApiError> {
    if q.cert_type
        .as_ref()
        .is_some_and(|t| t.len() > MAX_TYPE_CODE)
    {
        return Err(ApiError::bad(
            "cert_type_invalid",
            "证照类型代码格式错误",
            "cert_type longer than 64 characters",
        ));
    }
    let own = s.settings.region;
    let mut all: Vec<DirectoryMatter> =
        s.db.matters()
            .await?
            .into_iter()
            .map(|matter| DirectoryMatter {
                region: own.to_string(),
                matter,
            })
            .collect();
    all.extend(s.db.directory_matters().await?);
    let wanted = |d: &DirectoryMatter| match &q.cert_type {
        None => true,
        Some(t) => d
            .matter
            .materials
            .iter()
            .any(|m| m.cert_type.as_deref() == Some(t.as_str())),
    };
    let listed = all
        .into_iter()
        .filter(wanted)
        .map(|d| {
            let region_name = match d.region.parse::<RegionCode>() {
                Ok(r) if r == own => s.settings.name.clone(),
                Ok(r) => s.federation.registry.name_of(r),
                Err(_) => d.region.clone(),
            };
            ListedMatter {
                code: d.matter.code,
                name: d.matter.name,
                department: d.matter.department,
                region: d.region,
                region_name,
                materials: d.matter.materials,
            }
        })
        .collect();
    Ok(Json(listed))
}

/// Matter names by code, from this node's matters and its directory: for showing codes that
/// grants and usage records carry as people read them.
pub(super) async fn matter_names(
    s: &AppState,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let mut names: std::collections::HashMap<String, String> =
        s.db.directory_matters()
            .await?
            .into_iter()
            .map(|d| (d.matter.code, d.matter.name))
            .collect();
    names.extend(s.db.matters().await?.into_iter().map(|m| (m.code, m.name)));
    Ok(names)
}
