//! Attacks with a grant (授权他人使用): used by someone other than its grantee, for a matter it
//! does not name, after its window, after its revocation, beyond its use limit.

use reqwest::Method;
use wallet_core::{DeviceKey, MatterScope, Subject};

use crate::both_backends;
use crate::counter_world::*;
use crate::helpers::*;
use crate::ledger::{self, assert_changed};

/// Scans the grantee-side `text` at a new case for `matter`; asserts the refusal, that the
/// grant was not used and only the audit entry and the code's nonce were written.
async fn refused_scan(w: &World, matter: &str, text: &str, code: &str) {
    let case = w.open_case(matter).await;
    let before = ledger::read(&w.app.state.db).await;
    let reply = w.scan(&case, text).await;
    assert_refused(&reply, 400, code);
    ledger::assert_refusal_trail(&w.app.state.db, &before, "retrieval", code).await;
}

both_backends!(
    a_grant_shown_by_someone_other_than_its_grantee_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, None).await;
        // The holder's own phone is not the grantee's.
        refused_scan(
            &w,
            CRANE_MATTER,
            &w.show(&w.holder_key, Subject::Grant(grant)),
            "grant_grantee_mismatch",
        )
        .await;
        // A third person's registered phone.
        let (_, third) = w
            .app
            .citizen_with_device(&third_person(), "王五", "13700137000")
            .await;
        refused_scan(
            &w,
            CRANE_MATTER,
            &w.show(&third, Subject::Grant(grant)),
            "grant_grantee_mismatch",
        )
        .await;
    }
);

/// A valid resident ID of someone who is neither holder nor grantee.
fn third_person() -> String {
    let body = "41010219900307123";
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

both_backends!(
    a_grant_used_for_a_matter_it_does_not_name_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let grant = w
            .grant(MatterScope::Named(vec![CRANE_MATTER.into()]), None)
            .await;
        refused_scan(
            &w,
            OTHER_MATTER,
            &w.show(&w.grantee_key, Subject::Grant(grant)),
            "grant_matter_not_covered",
        )
        .await;
    }
);

both_backends!(
    a_grant_used_after_its_window_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, None).await;
        w.app.advance(86400);
        // The clerk's token has expired meanwhile; a fresh login.
        let w = World {
            clerk: w.app.clerk_login().await["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
            ..w
        };
        refused_scan(
            &w,
            CRANE_MATTER,
            &w.show(&w.grantee_key, Subject::Grant(grant)),
            "grant_expired",
        )
        .await;
    }
);

both_backends!(
    a_grant_used_after_its_revocation_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, None).await;
        let revoke = format!("/api/wallet/grants/{grant}/revoke");
        // The grantee cannot revoke (or learn of) the holder's grant.
        let before = ledger::read(&w.app.state.db).await;
        let reply = w
            .app
            .send(Method::POST, &revoke, Some(&w.grantee_token), None)
            .await;
        assert_refused(&reply, 404, "grant_not_found");
        assert_changed(&before, &ledger::read(&w.app.state.db).await, &[]);
        let (status, _) = w
            .app
            .send(Method::POST, &revoke, Some(&w.holder_token), None)
            .await;
        assert_eq!(status, 204);
        refused_scan(
            &w,
            CRANE_MATTER,
            &w.show(&w.grantee_key, Subject::Grant(grant)),
            "grant_revoked",
        )
        .await;
    }
);

both_backends!(
    a_grant_used_beyond_its_use_limit_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, Some(1)).await;
        let case = w.open_case(CRANE_MATTER).await;
        let text = w.show(&w.grantee_key, Subject::Grant(grant));
        assert_eq!(w.scan(&case, &text).await.0, 201);
        refused_scan(
            &w,
            CRANE_MATTER,
            &w.show(&w.grantee_key, Subject::Grant(grant)),
            "grant_use_limit_reached",
        )
        .await;
    }
);

both_backends!(
    a_grant_shown_from_an_unregistered_phone_is_refused,
    |backend| async move {
        let w = world(backend).await;
        let grant = w.grant(MatterScope::All, None).await;
        refused_scan(
            &w,
            CRANE_MATTER,
            &w.show(&DeviceKey::generate().unwrap(), Subject::Grant(grant)),
            "presenter_key_unknown",
        )
        .await;
    }
);
