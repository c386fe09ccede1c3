//! Real-name sessions: one-time codes, registration, login, refresh, logout, the liveness step,
//! and staff login.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use wallet_core::ResidentId;

use crate::auth::providers::mask_phone;
use crate::auth::secrets::{
    hash_password, otp_hash, random_string, six_digits, token_hash, verify_password,
};
use crate::auth::throttle::{self, ClientAddress, Kind};
use crate::auth::tokens::{self, Claims, ACCESS_TTL, SESSION_TTL};
use crate::auth::{Citizen, Staff};
use crate::db::accounts::{Account, OtpCheck, SessionRow};
use crate::error::{rule, ApiError};
use crate::extract::ApiJson;
use crate::state::AppState;

const OTP_TTL: i64 = 5 * 60;
const OTP_INTERVAL: i64 = 60;

fn valid_phone(p: &str) -> bool {
    p.len() == 11
        && p.starts_with('1')
        && p.bytes().all(|b| b.is_ascii_digit())
        && (b'3'..=b'9').contains(&p.as_bytes()[1])
}

fn check_phone(p: &str) -> Result<(), ApiError> {
    if valid_phone(p) {
        Ok(())
    } else {
        Err(ApiError::bad(
            "phone_invalid",
            "手机号码格式错误",
            "11 digits starting with 13–19",
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    pub phone: String,
    /// `register` or `login`.
    pub purpose: String,
}

#[derive(Debug, Serialize)]
pub struct OtpSent {
    pub sent_to: String,
    pub expires_in: i64,
    /// Only from the demo sender, which shows the code instead of sending an SMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo_code: Option<String>,
    pub demo: bool,
}

/// Sends a one-time code to a phone, at most once a minute per phone and purpose, and within
/// the node's hourly limits per phone and per client (`[login]`).
pub async fn send_otp(
    State(s): State<AppState>,
    client: ClientAddress,
    ApiJson(req): ApiJson<OtpRequest>,
) -> Result<(StatusCode, Json<OtpSent>), ApiError> {
    check_phone(&req.phone)?;
    if !matches!(req.purpose.as_str(), "register" | "login") {
        return Err(ApiError::bad(
            "otp_purpose_invalid",
            "验证码用途错误",
            "register or login",
        ));
    }
    throttle::admit_code(&s, &req.phone, &client).await?;
    let code = six_digits().map_err(ApiError::internal)?;
    let now = s.clock.now();
    let stored =
        s.db.put_otp(
            &req.phone,
            &req.purpose,
            &otp_hash(&req.phone, &req.purpose, &code),
            now,
            OTP_TTL,
            OTP_INTERVAL,
        )
        .await?;
    if !stored {
        return Err(ApiError::Conflict {
            code: "otp_too_frequent",
            title: "验证码发送过于频繁，请1分钟后再试",
            detail: String::new(),
        });
    }
    let demo_code = s.sms.send(&req.phone, &code);
    Ok((
        StatusCode::ACCEPTED,
        Json(OtpSent {
            sent_to: mask_phone(&req.phone),
            expires_in: OTP_TTL,
            demo_code,
            demo: s.sms.is_demo(),
        }),
    ))
}

async fn check_code(s: &AppState, phone: &str, purpose: &str, code: &str) -> Result<(), ApiError> {
    match s
        .db
        .check_otp(
            phone,
            purpose,
            &otp_hash(phone, purpose, code.trim()),
            s.clock.now(),
        )
        .await?
    {
        OtpCheck::Valid => Ok(()),
        OtpCheck::Wrong => Err(ApiError::bad("otp_wrong", "验证码错误", "")),
        OtpCheck::Expired => Err(ApiError::bad("otp_expired", "验证码已过期，请重新获取", "")),
        OtpCheck::TooManyAttempts => Err(ApiError::bad(
            "otp_too_many_attempts",
            "验证码错误次数过多，请重新获取",
            "",
        )),
        OtpCheck::NoneSent => Err(ApiError::bad("otp_not_sent", "请先获取验证码", "")),
    }
}

#[derive(Debug, Serialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub level: String,
}

/// Opens a session and returns its tokens.
pub async fn open_session(
    s: &AppState,
    subject: &str,
    kind: &str,
    level: &str,
) -> Result<Tokens, ApiError> {
    let now = s.clock.now();
    let sid = random_string(18).map_err(ApiError::internal)?;
    let refresh = random_string(32).map_err(ApiError::internal)?;
    let row = SessionRow {
        id: sid,
        subject: subject.into(),
        kind: kind.into(),
        level: level.into(),
        expires_at: now + SESSION_TTL,
        revoked_at: None,
    };
    s.db.create_session(&row, &token_hash(&refresh), now)
        .await?;
    access(s, &row, refresh)
}

fn access(s: &AppState, row: &SessionRow, refresh_token: String) -> Result<Tokens, ApiError> {
    let now = s.clock.now();
    let region = s.settings.region.to_string();
    let claims = Claims {
        iss: region.clone(),
        aud: region,
        sub: row.subject.clone(),
        sid: row.id.clone(),
        kind: row.kind.clone(),
        lvl: row.level.clone(),
        iat: now,
        exp: now + ACCESS_TTL,
        jti: tokens::jti(),
    };
    let access_token = tokens::sign(&s.node_key, &claims).map_err(ApiError::internal)?;
    Ok(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL,
        refresh_token,
        level: row.level.clone(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub resident_id: String,
    pub name: String,
    pub phone: String,
    pub code: String,
    /// Optional: a password for later logins without a code.
    pub password: Option<String>,
}

/// 实名注册: the name and resident ID must match the population registry, and the phone must
/// receive the code; the account is bound to that phone. Both checks count against the
/// phone's and the client's limits, so neither the registry nor the code can be probed.
pub async fn register(
    State(s): State<AppState>,
    client: ClientAddress,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Tokens>), ApiError> {
    let id: ResidentId = req.resident_id.trim().parse().map_err(rule)?;
    let name = req.name.trim();
    check_phone(&req.phone)?;
    if let Some(p) = &req.password {
        if p.chars().count() < 8 || p.len() > 128 {
            return Err(ApiError::bad(
                "password_weak",
                "密码至少8位",
                "8 to 128 characters",
            ));
        }
    }
    let checks = async {
        if !s.db.resident_matches(id.as_str(), name).await? {
            return Err(ApiError::bad(
                "real_name_mismatch",
                "姓名与身份证号码不匹配",
                "",
            ));
        }
        check_code(&s, &req.phone, "register", &req.code).await
    };
    let account = throttle::phone_account(&req.phone);
    throttle::guarded(&s, Kind::Register, &account, &client, checks).await?;
    let password_hash = req
        .password
        .as_deref()
        .map(hash_password)
        .transpose()
        .map_err(ApiError::internal)?;
    let account = Account {
        resident_id: id.to_string(),
        name: name.into(),
        phone: req.phone.clone(),
        password_hash,
    };
    if !s.db.create_account(&account, s.clock.now()).await? {
        return Err(ApiError::Conflict {
            code: "account_exists",
            title: "该身份证号或手机号已注册，请直接登录",
            detail: String::new(),
        });
    }
    Ok((
        StatusCode::CREATED,
        Json(open_session(&s, id.as_str(), "citizen", "real_name").await?),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub resident_id: Option<String>,
    pub password: Option<String>,
    pub phone: Option<String>,
    pub code: Option<String>,
}

/// Login with resident ID and password, or with the bound phone and a one-time code. Failed
/// attempts count per account (the resident ID, or the phone) and per client; over either
/// limit the node refuses without checking the secret (`rate_limited`).
pub async fn login(
    State(s): State<AppState>,
    client: ClientAddress,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let refused = || ApiError::bad("login_failed", "账号或密码错误", "");
    let account = match (&req.resident_id, &req.password, &req.phone, &req.code) {
        (Some(id), Some(password), None, None) => {
            let check = async {
                let account = s.db.account(id.trim()).await?;
                // Hash anyway when there is no account, so timing does not reveal who has one.
                let hash = account
                    .as_ref()
                    .and_then(|a| a.password_hash.clone())
                    .unwrap_or_else(|| DUMMY_HASH.into());
                if !verify_password(password, &hash) || account.is_none() {
                    return Err(refused());
                }
                account.ok_or_else(refused)
            };
            let key = throttle::resident_account(id);
            throttle::guarded(&s, Kind::CitizenPassword, &key, &client, check).await?
        }
        (None, None, Some(phone), Some(code)) => {
            check_phone(phone)?;
            let check = async {
                check_code(&s, phone, "login", code).await?;
                s.db.account_by_phone(phone).await?.ok_or_else(refused)
            };
            let key = throttle::phone_account(phone);
            throttle::guarded(&s, Kind::CitizenCode, &key, &client, check).await?
        }
        _ => {
            return Err(ApiError::bad(
                "login_method_invalid",
                "请使用密码或短信验证码登录",
                "resident_id+password or phone+code",
            ))
        }
    };
    Ok(Json(
        open_session(&s, &account.resident_id, "citizen", "real_name").await?,
    ))
}

/// An argon2 hash of a random password, verified against when no account exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$0n1qg9Zt5ykU1nQ1o3cV5bqN1oQy1L2kq0wJr2Wc7mQ";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Swaps a refresh token for a new access token and a new refresh token (each usable once).
pub async fn refresh(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let next = random_string(32).map_err(ApiError::internal)?;
    let row =
        s.db.rotate_refresh(
            &token_hash(&req.refresh_token),
            &token_hash(&next),
            s.clock.now(),
        )
        .await?
        .ok_or(ApiError::Unauthenticated(
            "refresh token unknown, used or expired",
        ))?;
    Ok(Json(access(&s, &row, next)?))
}

/// Ends the session: its access and refresh tokens stop working at once.
pub async fn logout(State(s): State<AppState>, me: Citizen) -> Result<StatusCode, ApiError> {
    s.db.revoke_session(&me.session, s.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessRequest {
    pub evidence: String,
}

/// 实人认证: after a liveness check the session is raised to `real_person` and new tokens
/// carry that level.
pub async fn liveness(
    State(s): State<AppState>,
    me: Citizen,
    ApiJson(req): ApiJson<LivenessRequest>,
) -> Result<Json<Tokens>, ApiError> {
    s.liveness
        .check(&me.resident_id, &req.evidence)
        .map_err(|why| ApiError::bad("liveness_failed", "实人认证未通过，请重试", why))?;
    s.db.set_session_level(&me.session, "real_person").await?;
    let row =
        s.db.session(&me.session)
            .await?
            .ok_or(ApiError::Unauthenticated("session ended"))?;
    let refresh = random_string(32).map_err(ApiError::internal)?;
    let row =
        s.db.rotate_refresh_for(&row.id, &token_hash(&refresh))
            .await?
            .ok_or(ApiError::Unauthenticated("session ended"))?;
    Ok(Json(access(&s, &row, refresh)?))
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub resident_id_masked: String,
    pub name: String,
    pub level: String,
    pub phone: String,
}

pub async fn me(State(s): State<AppState>, me: Citizen) -> Result<Json<Me>, ApiError> {
    let a =
        s.db.account(&me.resident_id)
            .await?
            .ok_or(ApiError::Unauthenticated("account gone"))?;
    let masked = a
        .resident_id
        .parse::<ResidentId>()
        .map(|r| r.masked())
        .unwrap_or_default();
    Ok(Json(Me {
        resident_id_masked: masked,
        name: a.name,
        level: me.level,
        phone: mask_phone(&a.phone),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffLogin {
    pub id: String,
    pub password: String,
}

/// Counter clerks and reviewers log in with their staff id and password, within the same
/// limits as citizens (per staff id and per client).
pub async fn staff_login(
    State(s): State<AppState>,
    client: ClientAddress,
    ApiJson(req): ApiJson<StaffLogin>,
) -> Result<Json<Tokens>, ApiError> {
    let check = async {
        let staff = s.db.staff(req.id.trim()).await?;
        let hash = staff
            .as_ref()
            .map(|st| st.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.into());
        match staff {
            Some(st) if verify_password(&req.password, &hash) => Ok(st),
            _ => Err(ApiError::bad("login_failed", "账号或密码错误", "")),
        }
    };
    let key = throttle::staff_account(&req.id);
    let st = throttle::guarded(&s, Kind::StaffPassword, &key, &client, check).await?;
    Ok(Json(open_session(&s, &st.id, "staff", &st.role).await?))
}

#[derive(Debug, Serialize)]
pub struct StaffMe {
    pub id: String,
    pub name: String,
    /// `clerk` or `reviewer`.
    pub role: String,
    pub department: String,
    pub department_name: Option<String>,
    pub counter: String,
    /// The node the staff member works at, e.g. `漯河市电子证照系统`.
    pub node_name: String,
}

/// The logged-in clerk or reviewer, for the counter page's header.
pub async fn staff_me(State(s): State<AppState>, staff: Staff) -> Result<Json<StaffMe>, ApiError> {
    let row =
        s.db.staff(&staff.id)
            .await?
            .ok_or(ApiError::Unauthenticated("staff account gone"))?;
    let department_name = s
        .settings
        .departments
        .iter()
        .find(|d| d.credit_code == row.department)
        .map(|d| d.name.clone());
    Ok(Json(StaffMe {
        id: row.id,
        name: row.name,
        role: row.role,
        department: row.department,
        department_name,
        counter: row.counter,
        node_name: s.settings.name.clone(),
    }))
}

/// Ends a staff session: its access and refresh tokens stop working at once.
pub async fn staff_logout(State(s): State<AppState>, staff: Staff) -> Result<StatusCode, ApiError> {
    s.db.revoke_session(&staff.session, s.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
