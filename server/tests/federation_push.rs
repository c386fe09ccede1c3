//! Pushes to the tiers above (issue 4): what a city issues, revokes or sees disputed reaches the
//! province's index — and the national one for national types — through the outbox, even when
//! the province was down meanwhile; the province refuses pushes it cannot verify; the citizen
//! at the province sees the city's certificates. Three nodes in one process (national, Henan,
//! Zhengzhou), each on its own database, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use server::db::index::IndexedCert;
use server::db::outbox::{PushBatch, PushEvent};
use server::db::Db;
use server::federation::outbox::Pusher;
use server::federation::token;
use sqlx::Row;
use support::fixtures::{
    amr, citizen_with_device, crane_type, department, firm, firm_and_its_representative, henan_amr,
    licence_type, other_person, person, r, AMR_TOKEN, CRANE_TYPE, HENAN, HENAN_AMR_TOKEN,
    LICENCE_TYPE, NATIONAL, ZHENGZHOU,
};
use support::nodes::{add_toml, eventually, Federation};
use wallet_core::grant::GrantTerms;
use wallet_core::{DeviceKey, GrantId, Grantee, Holder, MatterScope, NodeEnvelope, SecretKey};

use crate::federation_on_both_backends as both_backends;

const WAIT: Duration = Duration::from_secs(15);

/// National, Henan and Zhengzhou. Zhengzhou's market regulator issues crane-operator
/// certificates (persons) and business licences (enterprises, national catalog, disclosable);
/// Henan's market regulator issues business licences too, and Henan knows the enterprise whose
/// legal representative is 张三.
async fn federation(backend: server::db::Backend) -> Federation {
    Federation::start(
        &[NATIONAL, HENAN, ZHENGZHOU],
        backend,
        |region, s| match region {
            ZHENGZHOU => add_toml(
                s,
                &[
                    department(&amr(), "郑州市市场监督管理局", AMR_TOKEN),
                    crane_type(&amr()),
                    licence_type(&amr()),
                ]
                .concat(),
            ),
            HENAN => add_toml(
                s,
                &[
                    department(&henan_amr(), "河南省市场监督管理局", HENAN_AMR_TOKEN),
                    licence_type(&henan_amr()),
                    firm_and_its_representative(),
                ]
                .concat(),
            ),
            _ => {}
        },
    )
    .await
}

async fn issue_crane(fed: &Federation, holder: &str, valid_until: i64) -> String {
    let body = json!({
        "type_code": CRANE_TYPE,
        "holder_kind": "person",
        "holder_id": holder,
        "holder_name": "张三",
        "valid_from": fed.now() - 86400,
        "valid_until": valid_until,
        "fields": {"作业项目": "起重机指挥 Q1", "证书编号": "TS410100123456"}
    });
    let (status, reply) = fed
        .post(
            ZHENGZHOU,
            "/api/issuer/certificates",
            Some(AMR_TOKEN),
            &body,
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    reply["id"].as_str().unwrap().to_owned()
}

async fn issue_licence(fed: &Federation) -> String {
    issue_licence_at(fed, ZHENGZHOU, AMR_TOKEN).await
}

async fn issue_licence_at(fed: &Federation, region: &str, token: &str) -> String {
    let body = json!({
        "type_code": LICENCE_TYPE,
        "holder_kind": "enterprise",
        "holder_id": firm(),
        "holder_name": "漯河市起重机械安装有限公司",
        "valid_from": fed.now() - 86400,
        "valid_until": null,
        "fields": {"名称": "漯河市起重机械安装有限公司", "住所": "漯河市源汇区某路2号"}
    });
    let (status, reply) = fed
        .post(region, "/api/issuer/certificates", Some(token), &body)
        .await;
    assert_eq!(status, 201, "{reply}");
    reply["id"].as_str().unwrap().to_owned()
}

async fn revoke(fed: &Federation, id: &str) {
    let (status, reply) = fed
        .post(
            ZHENGZHOU,
            &format!("/api/issuer/certificates/{id}/revoke"),
            Some(AMR_TOKEN),
            &json!({"reason": "注销"}),
        )
        .await;
    assert_eq!(status, 204, "{reply}");
}

async fn indexed(fed: &Federation, region: &str, id: &str) -> Option<IndexedCert> {
    fed.state(region).db.indexed_certificate(id).await.unwrap()
}

/// Waits until `region`'s index shows `id` with `status`.
async fn index_shows(fed: &Federation, region: &str, id: &str, status: &str) -> IndexedCert {
    eventually(&format!("{id} as {status} at {region}"), WAIT, || async {
        indexed(fed, region, id)
            .await
            .filter(|ix| ix.meta.status == status)
    })
    .await
}

async fn pending(fed: &Federation, region: &str) -> i64 {
    let pending = fed.state(region).db.outbox_pending().await.unwrap();
    pending.values().sum()
}

/// Registers 张三 at a node's wallet with a device key; returns (access token, device key).
async fn zhang_san(fed: &Federation, region: &str) -> (String, DeviceKey) {
    citizen_with_device(fed, region, &person(), "张三", "13800138000").await
}

/// A push as Zhengzhou would send it, built by hand: `events` in an envelope sealed with
/// `envelope_key`, under a service token minted with `token_key` as `from`.
fn push_request(
    fed: &Federation,
    from: &str,
    token_key: &SecretKey,
    envelope_key: &SecretKey,
    events: Vec<PushEvent>,
) -> (String, Value) {
    let now = fed.now();
    let payload = serde_json::to_string(&PushBatch { events }).unwrap();
    let envelope = NodeEnvelope::seal(envelope_key, r(from), r(HENAN), now, payload);
    let token = token::mint(token_key, r(from), r(HENAN), "test-push", now).unwrap();
    (token, serde_json::to_value(envelope).unwrap())
}

/// Zhengzhou's queued events for Henan, oldest first.
async fn zhengzhou_events(fed: &Federation) -> Vec<PushEvent> {
    sqlx::query("SELECT payload FROM outbox WHERE destination = $1 ORDER BY seq")
        .bind(HENAN)
        .fetch_all(&fed.state(ZHENGZHOU).db.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| serde_json::from_str(&row.get::<String, _>(0)).unwrap())
        .collect()
}

both_backends!(
    a_certificate_issued_at_a_city_reaches_the_province_and_a_national_type_the_national_node,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        let licence = issue_licence(&fed).await;

        let ix = index_shows(&fed, HENAN, &crane, "valid").await;
        assert_eq!(ix.owner_region, ZHENGZHOU);
        assert_eq!(ix.meta.type_name, "特种设备作业人员证");
        assert_eq!(ix.meta.issuer_name, "郑州市市场监督管理局");
        // The province holds no resident ID: a person is a hash.
        assert_eq!(ix.meta.holder_key.len(), 64);
        assert_ne!(ix.meta.holder_key, person());
        assert!(ix.meta.disclosable.is_none());

        for tier in [HENAN, NATIONAL] {
            let ix = index_shows(&fed, tier, &licence, "valid").await;
            assert_eq!(ix.meta.holder_key, firm());
            assert_eq!(
                ix.meta.enterprise_name.as_deref(),
                Some("漯河市起重机械安装有限公司")
            );
            // Only the disclosable field travels.
            let fields = ix.meta.disclosable.unwrap();
            assert_eq!(fields.len(), 1);
            assert_eq!(fields["名称"], "漯河市起重机械安装有限公司");
        }
        // The crane certificate is not in the national catalog.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(indexed(&fed, NATIONAL, &crane).await.is_none());
        let received = fed.audited(HENAN, "push_received").await;
        assert!(!received.is_empty());
        assert!(received
            .iter()
            .all(|(actor, result)| actor == "node:410100" && result == "ok"));
        assert_eq!(pending(&fed, ZHENGZHOU).await, 0);
    }
);

/// The state of Zhengzhou's outbox row for `cert` bound to `destination`: attempts so far,
/// the last attempt's error, and whether it was delivered.
async fn outbox_row(
    fed: &Federation,
    cert: &str,
    destination: &str,
) -> (i64, Option<String>, bool) {
    let row = sqlx::query(
        "SELECT attempts, last_error, delivered_at FROM outbox
         WHERE cert_id = $1 AND destination = $2",
    )
    .bind(cert)
    .bind(destination)
    .fetch_one(&fed.state(ZHENGZHOU).db.pool)
    .await
    .unwrap();
    (
        row.get::<i64, _>(0),
        row.get::<Option<String>, _>(1),
        row.get::<Option<i64>, _>(2).is_some(),
    )
}

both_backends!(
    a_tier_that_never_answers_does_not_hold_up_pushes_to_the_others,
    |backend| async move {
        let mut fed = federation(backend).await;
        // The national node is up on the network but never answers: a push to it waits out
        // its whole call budget.
        fed.hang(NATIONAL).await;
        // A business licence is in the national catalog: one event for Henan, one for the
        // national node, queued together.
        let licence = issue_licence(&fed).await;

        index_shows(&fed, HENAN, &licence, "valid").await;
        // Henan has it while the first push to the silent national node is still unanswered:
        // that push neither failed nor succeeded yet, and was not tried again.
        let (attempts, error, delivered) = outbox_row(&fed, &licence, NATIONAL).await;
        assert!(!delivered);
        assert_eq!(
            error, None,
            "Henan was served only after the push to the silent tier had failed"
        );
        assert_eq!(attempts, 1);

        // Nothing is lost: once the national node answers again, it gets the event too.
        fed.restart(NATIONAL).await;
        index_shows(&fed, NATIONAL, &licence, "valid").await;
        assert_eq!(pending(&fed, ZHENGZHOU).await, 0);
    }
);

both_backends!(
    a_revocation_updates_the_status_at_the_tiers_above,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        let licence = issue_licence(&fed).await;
        index_shows(&fed, HENAN, &crane, "valid").await;
        index_shows(&fed, NATIONAL, &licence, "valid").await;

        revoke(&fed, &crane).await;
        revoke(&fed, &licence).await;

        index_shows(&fed, HENAN, &crane, "revoked").await;
        index_shows(&fed, HENAN, &licence, "revoked").await;
        index_shows(&fed, NATIONAL, &licence, "revoked").await;
    }
);

both_backends!(
    a_province_that_was_down_receives_everything_in_its_final_status_when_it_returns,
    |backend| async move {
        let mut fed = federation(backend).await;
        fed.stop(HENAN).await;

        // While Henan is down: issue, revoke, issue again.
        let first = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        let licence = issue_licence(&fed).await;
        revoke(&fed, &first).await;
        let second = issue_crane(&fed, &other_person(), fed.now() + 365 * 86400).await;

        // The national node is up and hears of the national type at once.
        index_shows(&fed, NATIONAL, &licence, "valid").await;
        // Zhengzhou keeps trying Henan and keeps every event.
        let zz = fed.state(ZHENGZHOU).db.clone();
        eventually("a failed attempt at Henan", WAIT, || async {
            let row = sqlx::query(
                "SELECT COUNT(*) FROM outbox WHERE destination = $1 AND attempts > 0
                 AND last_error IS NOT NULL AND delivered_at IS NULL",
            )
            .bind(HENAN)
            .fetch_one(&zz.pool)
            .await
            .unwrap();
            (row.get::<i64, _>(0) == 4).then_some(())
        })
        .await;

        // An hour later Henan is back, on the same port and database.
        fed.advance(3600);
        fed.restart(HENAN).await;

        index_shows(&fed, HENAN, &first, "revoked").await;
        index_shows(&fed, HENAN, &licence, "valid").await;
        index_shows(&fed, HENAN, &second, "valid").await;
        eventually("Zhengzhou's outbox drained", WAIT, || async {
            (pending(&fed, ZHENGZHOU).await == 0).then_some(())
        })
        .await;
    }
);

both_backends!(
    pushes_that_do_not_verify_are_refused_and_audited,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        index_shows(&fed, HENAN, &crane, "valid").await;
        let events = zhengzhou_events(&fed).await;
        let zz_key = fed.node(ZHENGZHOU).key();
        let forger = SecretKey::generate().unwrap();
        let push = |token: &str, envelope: &Value| {
            let token = token.to_owned();
            let envelope = envelope.clone();
            let fed = &fed;
            async move {
                fed.post(HENAN, "/federation/v1/push", Some(&token), &envelope)
                    .await
            }
        };

        // A genuine service token, but the envelope is signed with another key.
        let (t, env) = push_request(&fed, ZHENGZHOU, &zz_key, &forger, events.clone());
        let (status, body) = push(&t, &env).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "push_envelope_invalid");

        // The envelope's payload altered after sealing.
        let (t, mut env) = push_request(&fed, ZHENGZHOU, &zz_key, &zz_key, events.clone());
        env["payload"] = json!(env["payload"]
            .as_str()
            .unwrap()
            .replace("\"valid\"", "\"revoked\""));
        let (status, body) = push(&t, &env).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "push_envelope_invalid");

        // A node the registry does not list (Luohe is not in this federation).
        let (t, env) = push_request(&fed, "411100", &forger, &forger, events.clone());
        let (status, body) = push(&t, &env).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "service_token_unknown_key");

        // The national node pushes down only what it issued itself, not Zhengzhou's.
        let nat_key = fed.node(NATIONAL).key();
        let (t, env) = push_request(&fed, NATIONAL, &nat_key, &nat_key, events.clone());
        let (status, body) = push(&t, &env).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "push_event_foreign");

        // A genuine push goes through once; its token replayed is refused.
        let (t, env) = push_request(&fed, ZHENGZHOU, &zz_key, &zz_key, events.clone());
        let (status, body) = push(&t, &env).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = push(&t, &env).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "service_token_replayed");

        // Nothing changed, and every refusal left an audit entry.
        assert_eq!(
            indexed(&fed, HENAN, &crane).await.unwrap().meta.status,
            "valid"
        );
        let received = fed.audited(HENAN, "push_received").await;
        assert_eq!(
            received
                .iter()
                .filter(|(a, r)| a == "node:410100" && r == "push_envelope_invalid")
                .count(),
            2
        );
        let calls = fed.audited(HENAN, "peer_call").await;
        assert!(calls.iter().any(|(_, r)| r == "service_token_unknown_key"));
        assert!(calls.iter().any(|(_, r)| r == "service_token_replayed"));
        let verify = fed.get(HENAN, "/api/audit/verify", None).await;
        assert_eq!(verify.0, 200, "{}", verify.1);
    }
);

both_backends!(
    an_envelope_from_another_node_than_the_token_is_refused,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        index_shows(&fed, HENAN, &crane, "valid").await;
        let events = zhengzhou_events(&fed).await;
        let zz_key = fed.node(ZHENGZHOU).key();
        let now = fed.now();
        let payload = serde_json::to_string(&PushBatch { events }).unwrap();
        // Token from Zhengzhou, envelope claiming to be from the national node.
        let envelope = NodeEnvelope::seal(&zz_key, r(NATIONAL), r(HENAN), now, payload);
        let t = token::mint(&zz_key, r(ZHENGZHOU), r(HENAN), "c", now).unwrap();
        let (status, body) = fed
            .post(
                HENAN,
                "/federation/v1/push",
                Some(&t),
                &serde_json::to_value(envelope).unwrap(),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "push_sender_mismatch");
    }
);

both_backends!(
    duplicate_and_late_deliveries_are_harmless,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        revoke(&fed, &crane).await;
        let before = index_shows(&fed, HENAN, &crane, "revoked").await;
        let events = zhengzhou_events(&fed).await;
        assert_eq!(events.len(), 2);
        let zz_key = fed.node(ZHENGZHOU).key();

        // Everything again, then the old `issued` event alone, arriving late.
        for batch in [events.clone(), vec![events[0].clone()]] {
            let seqs: Vec<i64> = batch.iter().map(|e| e.seq).collect();
            let (t, env) = push_request(&fed, ZHENGZHOU, &zz_key, &zz_key, batch);
            let (status, body) = fed.post(HENAN, "/federation/v1/push", Some(&t), &env).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["acked"], json!(seqs));
        }
        let after = indexed(&fed, HENAN, &crane).await.unwrap();
        assert_eq!(after.meta.status, "revoked");
        assert_eq!(after.seq, before.seq);
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM cert_index")
            .fetch_one(&fed.state(HENAN).db.pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }
);

both_backends!(
    a_dispute_and_its_rejection_travel_up,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        index_shows(&fed, HENAN, &crane, "valid").await;
        // The holder objects at Zhengzhou, where the certificate is held.
        let (holder, _) = zhang_san(&fed, ZHENGZHOU).await;
        let (status, objection) = fed
            .post(
                ZHENGZHOU,
                "/api/wallet/objections",
                Some(&holder),
                &json!({"cert_id": crane, "reason": "作业项目有误"}),
            )
            .await;
        assert_eq!(status, 201, "{objection}");
        index_shows(&fed, HENAN, &crane, "disputed").await;

        let (status, body) = fed
            .post(
                ZHENGZHOU,
                &format!(
                    "/api/issuer/objections/{}/reject",
                    objection["id"].as_str().unwrap()
                ),
                Some(AMR_TOKEN),
                &json!({"reason": "经核实无误"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        index_shows(&fed, HENAN, &crane, "valid").await;
    }
);

both_backends!(
    an_expired_certificate_is_pushed_as_expired_once,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 60).await;
        index_shows(&fed, HENAN, &crane, "valid").await;
        fed.advance(120);
        index_shows(&fed, HENAN, &crane, "expired").await;
        // Several sweeps later, still one `expired` event.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM outbox WHERE cert_id = $1 AND kind = 'expired' AND destination = $2",
        )
        .bind(&crane)
        .bind(HENAN)
        .fetch_one(&fed.state(ZHENGZHOU).db.pool)
        .await
        .unwrap()
        .get(0);
        assert_eq!(n, 1);
    }
);

both_backends!(
    a_citizen_at_the_province_sees_and_grants_the_citys_certificates,
    |backend| async move {
        let fed = federation(backend).await;
        let crane = issue_crane(&fed, &person(), fed.now() + 365 * 86400).await;
        let licence = issue_licence(&fed).await;
        let someone_elses = issue_crane(&fed, &other_person(), fed.now() + 365 * 86400).await;
        index_shows(&fed, HENAN, &crane, "valid").await;
        index_shows(&fed, HENAN, &licence, "valid").await;
        index_shows(&fed, HENAN, &someone_elses, "valid").await;

        // 张三 signs in to the wallet at the province.
        let (token, device) = zhang_san(&fed, HENAN).await;
        let (status, mine) = fed
            .get(HENAN, "/api/wallet/certificates", Some(&token))
            .await;
        assert_eq!(status, 200, "{mine}");
        let list = mine.as_array().unwrap();
        let find = |id: &str| list.iter().find(|c| c["id"] == id).cloned();
        let c = find(&crane).expect("the crane certificate is listed");
        assert_eq!(c["held_at"], ZHENGZHOU);
        assert_eq!(c["held_by"], "郑州市电子证照系统");
        assert_eq!(c["source"], "index");
        assert_eq!(c["status"], "valid");
        assert_eq!(c["type_code"], CRANE_TYPE);
        assert!(c["sealed"].is_null());
        // The licence of the enterprise he represents, too; nobody else's certificate.
        let l = find(&licence).expect("the enterprise's licence is listed");
        assert_eq!(l["holder_kind"], "enterprise");
        assert_eq!(l["enterprise_name"], "漯河市起重机械安装有限公司");
        assert!(find(&someone_elses).is_none());
        let (status, detail) = fed
            .get(
                HENAN,
                &format!("/api/wallet/certificates/{crane}"),
                Some(&token),
            )
            .await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["held_at"], ZHENGZHOU);

        // A grant of the city's certificate is accepted as for a local one...
        let terms = |cert: &str, holder: &str| GrantTerms {
            id: GrantId::generate().unwrap(),
            cert_id: cert.parse().unwrap(),
            holder: Holder::Person(holder.parse().unwrap()),
            grantee: Grantee {
                resident_id: other_person().parse().unwrap(),
                name: "李四".into(),
                enterprise: None,
            },
            matters: MatterScope::All,
            not_before: fed.now(),
            not_after: fed.now() + 86400,
            use_limit: None,
        };
        let grant = terms(&crane, &person()).sign(&device).unwrap();
        let (status, body) = fed
            .post(
                HENAN,
                "/api/wallet/grants",
                Some(&token),
                &json!({"grant": String::from(grant)}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        // ... and refused, as for a local one, when it is someone else's or no longer current.
        let grant = terms(&someone_elses, &person()).sign(&device).unwrap();
        let (status, body) = fed
            .post(
                HENAN,
                "/api/wallet/grants",
                Some(&token),
                &json!({"grant": String::from(grant)}),
            )
            .await;
        assert_eq!(status, 403, "{body}");
        revoke(&fed, &crane).await;
        index_shows(&fed, HENAN, &crane, "revoked").await;
        let grant = terms(&crane, &person()).sign(&device).unwrap();
        let (status, body) = fed
            .post(
                HENAN,
                "/api/wallet/grants",
                Some(&token),
                &json!({"grant": String::from(grant)}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "certificate_not_current");
        let (_, mine) = fed
            .get(HENAN, "/api/wallet/certificates", Some(&token))
            .await;
        let c = mine
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == crane.as_str())
            .cloned()
            .unwrap();
        assert_eq!(c["status"], "revoked");
    }
);

both_backends!(
    a_provinces_own_certificates_are_in_its_own_index_and_pushed_to_the_national_node,
    |backend| async move {
        let fed = federation(backend).await;
        let licence = issue_licence_at(&fed, HENAN, HENAN_AMR_TOKEN).await;

        // Applied to Henan's own index without a call, pushed to the national node.
        let own = index_shows(&fed, HENAN, &licence, "valid").await;
        assert_eq!(own.owner_region, HENAN);
        let national = index_shows(&fed, NATIONAL, &licence, "valid").await;
        assert_eq!(national.owner_region, HENAN);
        assert!(fed.audited(HENAN, "push_received").await.is_empty());

        // The representative sees it at Henan as the certificate itself, sealed copy included.
        let (token, _) = zhang_san(&fed, HENAN).await;
        let (status, mine) = fed
            .get(HENAN, "/api/wallet/certificates", Some(&token))
            .await;
        assert_eq!(status, 200, "{mine}");
        let l = mine
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == licence.as_str())
            .cloned()
            .expect("the licence is listed");
        assert_eq!(l["source"], "local");
        assert_eq!(l["held_at"], HENAN);
        assert!(l["sealed"].is_string());
    }
);

both_backends!(
    processes_sharing_a_database_never_send_the_same_event_twice,
    |backend| async move {
        let fed = federation(backend).await;
        let zz = fed.state(ZHENGZHOU).clone();
        // Three more processes of Zhengzhou on its database, delivering as fast as they can
        // alongside the node's own delivery task.
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for _ in 0..3 {
            let pusher = Pusher {
                db: Db::connect(fed.node(ZHENGZHOU).database_url())
                    .await
                    .unwrap(),
                clock: zz.clock.clone(),
                federation: zz.federation.clone(),
                node_key: zz.node_key.clone(),
            };
            let stop = stop.clone();
            workers.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    pusher.round().await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        let mut issued = Vec::new();
        for _ in 0..20 {
            issued.push(issue_crane(&fed, &person(), fed.now() + 365 * 86400).await);
        }
        eventually("Zhengzhou's outbox drained", WAIT, || async {
            (pending(&fed, ZHENGZHOU).await == 0).then_some(())
        })
        .await;
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.await.unwrap();
        }

        // Henan acknowledged each event exactly once.
        let mut seqs: Vec<i64> = fed
            .state(HENAN)
            .db
            .audit_entries(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.entry.action == "push_received" && c.entry.result == "ok")
            .flat_map(|c| {
                let detail: Value = serde_json::from_str(&c.entry.detail).unwrap();
                detail["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=20).collect::<Vec<i64>>());
        for id in &issued {
            assert!(indexed(&fed, HENAN, id).await.is_some());
        }
    }
);
