//! Device keys: the key a phone creates on first login, registered under a real-name session.
//! The node answers with a device binding it signs, which any node can check later.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::binding::BindingTerms;
use wallet_core::{DeviceBinding, PublicKey};

use crate::auth::Citizen;
use crate::db::accounts::DeviceRow;
use crate::db::audit::{citizen_actor, AuditEntry};
use crate::error::{rule, ApiError};
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    pub public_key: String,
}

#[derive(Debug, Serialize)]
pub struct Registered {
    pub key_id: String,
    pub binding: DeviceBinding,
}

fn audit(s: &AppState, action: &str, me: &Citizen, key_id: &str) -> AuditEntry {
    AuditEntry::action(
        s.clock.now(),
        action,
        citizen_actor(&me.resident_id),
        key_id,
        "{}".into(),
        "",
    )
}

/// Registers the phone's public key for the signed-in person.
pub async fn register(
    State(s): State<AppState>,
    me: Citizen,
    ApiJson(req): ApiJson<RegisterDevice>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let key: PublicKey = req.public_key.trim().parse().map_err(rule)?;
    let key_id = key.key_id().to_string();
    let now = s.clock.now();
    if !s
        .db
        .add_device(&me.resident_id, &key_id, &key.to_string(), now)
        .await?
    {
        return Err(ApiError::Conflict {
            code: "device_key_exists",
            title: "该设备密钥已登记",
            detail: key_id,
        });
    }
    s.db.audit(&audit(&s, "register_device", &me, &key_id))
        .await?;
    let binding = BindingTerms {
        province: s.settings.region,
        resident_id: me.resident_id.parse().map_err(ApiError::internal)?,
        device_key: key,
        bound_at: now,
    }
    .sign(&s.node_key);
    Ok((StatusCode::CREATED, Json(Registered { key_id, binding })))
}

/// The signed-in person's device keys, live and revoked.
pub async fn list(
    State(s): State<AppState>,
    me: Citizen,
) -> Result<Json<Vec<DeviceRow>>, ApiError> {
    Ok(Json(s.db.devices(&me.resident_id).await?))
}

/// Revokes one of the person's device keys: nothing it signs is accepted afterwards.
pub async fn revoke(
    State(s): State<AppState>,
    me: Citizen,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !s
        .db
        .revoke_device(&me.resident_id, &key_id, s.clock.now())
        .await?
    {
        return Err(ApiError::NotFound {
            code: "device_key_not_found",
            what: "device key",
        });
    }
    s.db.audit(&audit(&s, "revoke_device", &me, &key_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentCode {
    /// The code the phone now shows (`EC1:…`).
    pub text: String,
}

/// The phone refreshed its 亮证码: this code is now the current one for its device and subject,
/// and every older code for them is refused at the counter before its minute is up. The code
/// must be genuine, unexpired and made by one of the caller's own live device keys.
pub async fn current_presentation(
    State(s): State<AppState>,
    me: Citizen,
    ApiJson(req): ApiJson<CurrentCode>,
) -> Result<StatusCode, ApiError> {
    let p = wallet_core::Presentation::decode_text(req.text.trim()).map_err(rule)?;
    let unknown = || {
        ApiError::bad(
            "presenter_key_unknown",
            "本机密钥未登记，请重新登录",
            p.presenter.to_string(),
        )
    };
    let (owner, public) =
        s.db.live_device(&p.presenter.to_string())
            .await?
            .ok_or_else(unknown)?;
    if owner != me.resident_id {
        return Err(unknown());
    }
    let public: PublicKey = public.parse().map_err(ApiError::internal)?;
    p.verify(&public, s.clock.now()).map_err(rule)?;
    s.db.set_current_presentation(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}
