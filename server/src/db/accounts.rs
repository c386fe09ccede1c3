//! The population registry, wallet accounts, one-time codes, sessions, staff and device keys.

use sqlx::Row;

use super::Db;

#[derive(Debug, Clone)]
pub struct Account {
    pub resident_id: String,
    pub name: String,
    pub phone: String,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StaffRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub department: String,
    pub counter: String,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub subject: String,
    pub kind: String,
    pub level: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceRow {
    pub key_id: String,
    pub public_key: String,
    pub registered_at: i64,
    pub revoked_at: Option<i64>,
}

/// How checking a one-time code went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpCheck {
    Valid,
    Wrong,
    Expired,
    TooManyAttempts,
    NoneSent,
}

pub const OTP_MAX_ATTEMPTS: i64 = 5;

impl Db {
    pub async fn upsert_resident(&self, resident_id: &str, name: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO population (resident_id, name) VALUES ($1, $2)
             ON CONFLICT (resident_id) DO UPDATE SET name = excluded.name",
        )
        .bind(resident_id)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the registry holds this person under this name (实名核验).
    pub async fn resident_matches(
        &self,
        resident_id: &str,
        name: &str,
    ) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT name FROM population WHERE resident_id = $1")
            .bind(resident_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<String, _>(0)? == name,
            None => false,
        })
    }

    /// Stores a code for `phone`, replacing an earlier one, unless one was sent less than
    /// `min_interval` seconds ago (returns false then).
    pub async fn put_otp(
        &self,
        phone: &str,
        purpose: &str,
        code_hash: &str,
        now: i64,
        ttl: i64,
        min_interval: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "INSERT INTO otp_codes (phone, purpose, code_hash, sent_at, expires_at, attempts)
             VALUES ($1, $2, $3, $4, $5, 0)
             ON CONFLICT (phone, purpose) DO UPDATE SET code_hash = excluded.code_hash,
               sent_at = excluded.sent_at, expires_at = excluded.expires_at, attempts = 0
             WHERE otp_codes.sent_at <= $6",
        )
        .bind(phone)
        .bind(purpose)
        .bind(code_hash)
        .bind(now)
        .bind(now + ttl)
        .bind(now - min_interval)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Checks a code and consumes it when right; every wrong try counts, so guessing stops
    /// after a few attempts.
    pub async fn check_otp(
        &self,
        phone: &str,
        purpose: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<OtpCheck, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE phone = $1 AND purpose = $2
             RETURNING code_hash, expires_at, attempts",
        )
        .bind(phone)
        .bind(purpose)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(OtpCheck::NoneSent);
        };
        let (stored, expires_at, attempts): (String, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let outcome = if attempts > OTP_MAX_ATTEMPTS {
            OtpCheck::TooManyAttempts
        } else if now >= expires_at {
            OtpCheck::Expired
        } else if stored != code_hash {
            OtpCheck::Wrong
        } else {
            OtpCheck::Valid
        };
        if outcome == OtpCheck::Valid {
            sqlx::query("DELETE FROM otp_codes WHERE phone = $1 AND purpose = $2")
                .bind(phone)
                .bind(purpose)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Creates the account; false when the person or the phone already has one.
    pub async fn create_account(&self, a: &Account, now: i64) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "INSERT INTO accounts (resident_id, name, phone, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&a.resident_id)
        .bind(&a.name)
        .bind(&a.phone)
        .bind(&a.password_hash)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    fn account_from(r: &sqlx::any::AnyRow) -> Result<Account, sqlx::Error> {
        Ok(Account {
            resident_id: r.try_get("resident_id")?,
            name: r.try_get("name")?,
            phone: r.try_get("phone")?,
            password_hash: r.try_get("password_hash")?,
        })
    }

    pub async fn account(&self, resident_id: &str) -> Result<Option<Account>, sqlx::Error> {
        sqlx::query("SELECT * FROM accounts WHERE resident_id = $1")
            .bind(resident_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::account_from)
            .transpose()
    }

    pub async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>, sqlx::Error> {
        sqlx::query("SELECT * FROM accounts WHERE phone = $1")
            .bind(phone)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::account_from)
            .transpose()
    }

    pub async fn upsert_staff(&self, s: &StaffRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO staff (id, name, role, department, counter, password_hash) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
               department = excluded.department, counter = excluded.counter, password_hash = excluded.password_hash",
        )
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.role)
        .bind(&s.department)
        .bind(&s.counter)
        .bind(&s.password_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn staff(&self, id: &str) -> Result<Option<StaffRow>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM staff WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StaffRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                department: r.try_get("department")?,
                counter: r.try_get("counter")?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    pub async fn create_session(
        &self,
        s: &SessionRow,
        refresh_hash: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sessions (id, subject, kind, level, refresh_hash, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(&s.id)
        .bind(&s.subject)
        .bind(&s.kind)
        .bind(&s.level)
        .bind(refresh_hash)
        .bind(now)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn session_from(r: &sqlx::any::AnyRow) -> Result<SessionRow, sqlx::Error> {
        Ok(SessionRow {
            id: r.try_get("id")?,
            subject: r.try_get("subject")?,
            kind: r.try_get("kind")?,
            level: r.try_get("level")?,
            expires_at: r.try_get("expires_at")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        sqlx::query("SELECT * FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::session_from)
            .transpose()
    }

    /// Swaps a live session's refresh token for a new one, once: a refresh token used twice
    /// finds nothing the second time.
    pub async fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        sqlx::query(
            "UPDATE sessions SET refresh_hash = $1 WHERE refresh_hash = $2 AND revoked_at IS NULL AND expires_at > $3
             RETURNING *",
        )
        .bind(new_hash)
        .bind(old_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(Self::session_from)
        .transpose()
    }

    /// Gives a live session a new refresh token (after its level changed).
    pub async fn rotate_refresh_for(
        &self,
        id: &str,
        new_hash: &str,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        sqlx::query("UPDATE sessions SET refresh_hash = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING *")
            .bind(new_hash)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::session_from)
            .transpose()
    }

    pub async fn set_session_level(&self, id: &str, level: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET level = $1 WHERE id = $2")
            .bind(level)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn revoke_session(&self, id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Registers a device key; false when the key id is already registered.
    pub async fn add_device(
        &self,
        resident_id: &str,
        key_id: &str,
        public_key: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "INSERT INTO device_keys (key_id, resident_id, public_key, registered_at, revoked_at)
             VALUES ($1, $2, $3, $4, NULL) ON CONFLICT DO NOTHING",
        )
        .bind(key_id)
        .bind(resident_id)
        .bind(public_key)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn devices(&self, resident_id: &str) -> Result<Vec<DeviceRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT key_id, public_key, registered_at, revoked_at FROM device_keys WHERE resident_id = $1
             ORDER BY registered_at",
        )
        .bind(resident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeviceRow {
                    key_id: r.try_get(0)?,
                    public_key: r.try_get(1)?,
                    registered_at: r.try_get(2)?,
                    revoked_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The owner and public key of a live (not revoked) device key.
    pub async fn live_device(&self, key_id: &str) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query("SELECT resident_id, public_key FROM device_keys WHERE key_id = $1 AND revoked_at IS NULL")
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    pub async fn revoke_device(
        &self,
        resident_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE device_keys SET revoked_at = $1 WHERE key_id = $2 AND resident_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(key_id)
        .bind(resident_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}

impl Db {
    pub async fn upsert_enterprise(
        &self,
        credit_code: &str,
        name: &str,
        legal_rep_id: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO enterprises (credit_code, name, legal_rep_id) VALUES ($1, $2, $3)
             ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name, legal_rep_id = excluded.legal_rep_id",
        )
        .bind(credit_code)
        .bind(name)
        .bind(legal_rep_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether the person may act on a certificate of this holder: they are the holder, or
    /// the holder is an enterprise they represent or administer.
    pub async fn acts_for_holder(
        &self,
        holder_kind: &str,
        holder_id: &str,
        resident_id: &str,
    ) -> Result<bool, sqlx::Error> {
        match holder_kind {
            "person" => Ok(holder_id == resident_id),
            _ => self.acts_for_enterprise(holder_id, resident_id).await,
        }
    }

    /// Whether the person is the enterprise's legal representative or an appointed
    /// certificate administrator.
    pub async fn acts_for_enterprise(
        &self,
        credit_code: &str,
        resident_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let row = sqlx::query(
            "SELECT 1 FROM enterprises WHERE credit_code = $1 AND legal_rep_id = $2
             UNION SELECT 1 FROM enterprise_admins
               WHERE credit_code = $1 AND resident_id = $2 AND removed_at IS NULL",
        )
        .bind(credit_code)
        .bind(resident_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}
