//! Objections across the federation (issue 6): the holder objects at the wallet province to a
//! certificate held in Zhengzhou (or reports one missing); the objection reaches Zhengzhou even
//! when Zhengzhou was down at the time, the certificate is marked disputed there and in the
//! province's index, the department decides, and the decision comes back to the holder, who
//! sees each step. Forged and foreign messages are refused. Three nodes in one process
//! (national, Henan, Zhengzhou), on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use server::db::objection_outbox::{Decided, Filed, ObjectionMessage};
use server::db::objections::FiledRow;
use server::federation::token;
use sqlx::Row;
use support::fixtures::{
    amr, citizen, crane_type, department, firm, firm_and_its_representative, hrss, licence_type,
    other_person, otp, person, r, AMR_TOKEN, CRANE_TYPE, HENAN, HRSS_TOKEN, LICENCE_TYPE, NATIONAL,
    ZHENGZHOU,
};
use support::nodes::{add_toml, eventually, Federation};
use wallet_core::{NodeEnvelope, SecretKey};

use crate::federation_on_both_backends as both_backends;

const WAIT: Duration = Duration::from_secs(20);
const PHONE: &str = "13800138000";

/// National, Henan (the wallet, which knows 张三 represents the Luohe firm) and Zhengzhou,
/// whose market regulator issues crane-operator certificates and business licences and whose
/// labour bureau issues nothing yet.
async fn federation(backend: server::db::Backend) -> Federation {
    Federation::start(
        &[NATIONAL, HENAN, ZHENGZHOU],
        backend,
        |region, s| match region {
            ZHENGZHOU => add_toml(
                s,
                &[
                    department(&amr(), "郑州市市场监督管理局", AMR_TOKEN),
                    department(&hrss(), "郑州市人力资源和社会保障局", HRSS_TOKEN),
                    crane_type(&amr()),
                    licence_type(&amr()),
                ]
                .concat(),
            ),
            HENAN => add_toml(s, &firm_and_its_representative()),
            _ => {}
        },
    )
    .await
}

async fn issue(fed: &Federation, body: Value) -> String {
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

fn crane(fed: &Federation, holder: &str, number: &str) -> Value {
    json!({
        "type_code": CRANE_TYPE, "holder_kind": "person", "holder_id": holder,
        "holder_name": "张三", "valid_from": fed.now() - 86400, "valid_until": fed.now() + 365 * 86400,
        "fields": {"作业项目": "起重机指挥 Q1", "证书编号": number}
    })
}

/// Waits until Henan's index shows `id` with `status`.
async fn index_shows(fed: &Federation, id: &str, status: &str) {
    eventually(&format!("{id} as {status} at Henan"), WAIT, || async {
        fed.state(HENAN)
            .db
            .indexed_certificate(id)
            .await
            .unwrap()
            .filter(|ix| ix.meta.status == status)
    })
    .await;
}

/// 张三 registers at Henan's wallet; returns the access token.
async fn zhang_san(fed: &Federation) -> String {
    citizen(fed, HENAN, &person(), "张三", PHONE).await
}

/// Logs 张三 in again after Henan restarted (his session lives in Henan's database).
async fn zhang_san_again(fed: &Federation) -> String {
    let code = otp(fed, HENAN, PHONE, "login").await;
    let (status, body) = fed
        .post(
            HENAN,
            "/api/wallet/login",
            None,
            &json!({"phone": PHONE, "code": code}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Files an objection (or a missing-certificate report) at the wallet, Henan.
async fn object(fed: &Federation, token: &str, body: Value) -> (u16, Value) {
    fed.post(HENAN, "/api/wallet/objections", Some(token), &body)
        .await
}

/// Zhengzhou's market regulator rejects an objection with a reason.
async fn reject(fed: &Federation, id: &str, reason: &str) -> (u16, Value) {
    fed.post(
        ZHENGZHOU,
        &format!("/api/issuer/objections/{id}/reject"),
        Some(AMR_TOKEN),
        &json!({"reason": reason}),
    )
    .await
}

/// Waits until the holder's objection shows `status` at the wallet; returns it.
async fn wallet_shows(fed: &Federation, token: &str, id: &str, status: &str) -> Value {
    eventually(&format!("{id} {status} in the wallet"), WAIT, || async {
        let (code, body) = fed
            .get(HENAN, &format!("/api/wallet/objections/{id}"), Some(token))
            .await;
        assert_eq!(code, 200, "{body}");
        (body["status"] == status).then_some(body)
    })
    .await
}

fn steps(view: &Value) -> Vec<String> {
    view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_owned())
        .collect()
}

async fn department_list(fed: &Federation, token: &str) -> Value {
    let (status, list) = fed
        .get(ZHENGZHOU, "/api/issuer/objections", Some(token))
        .await;
    assert_eq!(status, 200, "{list}");
    list
}

both_backends!(
    a_holder_at_the_province_objects_to_a_city_certificate_and_follows_each_step,
    |backend| async move {
        let fed = federation(backend).await;
        let crane_id = issue(&fed, crane(&fed, &person(), "TS-0001")).await;
        index_shows(&fed, &crane_id, "valid").await;
        let token = zhang_san(&fed).await;

        // Filed at Henan, kept there, sent on to Zhengzhou, which holds the certificate.
        let (status, filed) = object(
            &fed,
            &token,
            json!({"cert_id": crane_id, "reason": "作业项目应为起重机司机 Q2"}),
        )
        .await;
        assert_eq!(status, 201, "{filed}");
        assert_eq!(filed["status"], "filed");
        assert_eq!(filed["handled_at"], ZHENGZHOU);
        assert_eq!(filed["handled_by"], "郑州市电子证照系统");
        let id = filed["id"].as_str().unwrap().to_owned();

        // Received by the issuer's node: the holder sees when; the certificate is disputed at
        // Zhengzhou and, pushed up, in Henan's index.
        let received = wallet_shows(&fed, &token, &id, "received").await;
        assert_eq!(steps(&received), ["filed", "received"]);
        assert!(received["received_at"].as_i64().unwrap() >= filed["filed_at"].as_i64().unwrap());
        index_shows(&fed, &crane_id, "disputed").await;
        let list = department_list(&fed, AMR_TOKEN).await;
        assert_eq!(list[0]["id"], id.as_str());
        assert_eq!(list[0]["origin"], HENAN);
        assert_eq!(list[0]["status"], "open");
        assert_eq!(department_list(&fed, HRSS_TOKEN).await, json!([]));
        assert_eq!(
            fed.audited(ZHENGZHOU, "objection_received").await,
            [(format!("node:{HENAN}"), "ok".to_owned())]
        );

        // The department rejects it with a reason; the decision comes back to the holder and
        // the certificate is valid again.
        let (status, body) = reject(&fed, &id, "经核实，作业项目与考试记录一致").await;
        assert_eq!(status, 200, "{body}");
        let rejected = wallet_shows(&fed, &token, &id, "rejected").await;
        assert_eq!(steps(&rejected), ["filed", "received", "rejected"]);
        assert_eq!(
            rejected["steps"][2]["reason"],
            "经核实，作业项目与考试记录一致"
        );
        index_shows(&fed, &crane_id, "valid").await;
        assert_eq!(
            fed.audited(HENAN, "objection_decided").await,
            [(format!("node:{ZHENGZHOU}"), "ok".to_owned())]
        );

        // Objected again, it is corrected: the holder is pointed to the new version.
        let (_, again) = object(
            &fed,
            &token,
            json!({"cert_id": crane_id, "reason": "证书编号有误"}),
        )
        .await;
        let again = again["id"].as_str().unwrap().to_owned();
        wallet_shows(&fed, &token, &again, "received").await;
        let mut correction = crane(&fed, &person(), "TS-0002");
        let c = correction.as_object_mut().unwrap();
        for k in ["type_code", "holder_kind", "holder_id"] {
            c.remove(k);
        }
        c.insert("objection".into(), json!(again));
        let (status, corrected) = fed
            .post(
                ZHENGZHOU,
                &format!("/api/issuer/certificates/{crane_id}/correct"),
                Some(AMR_TOKEN),
                &correction,
            )
            .await;
        assert_eq!(status, 201, "{corrected}");
        let done = wallet_shows(&fed, &token, &again, "corrected").await;
        assert_eq!(done["new_cert_id"], corrected["id"]);
        index_shows(&fed, &crane_id, "superseded").await;
        index_shows(&fed, corrected["id"].as_str().unwrap(), "valid").await;
    }
);

both_backends!(
    a_tier_that_never_answers_does_not_hold_up_a_decision_on_its_way_to_the_holder,
    |backend| async move {
        let mut fed = federation(backend).await;
        let crane_id = issue(&fed, crane(&fed, &person(), "TS-0001")).await;
        index_shows(&fed, &crane_id, "valid").await;
        let token = zhang_san(&fed).await;
        let (status, filed) = object(
            &fed,
            &token,
            json!({"cert_id": crane_id, "reason": "作业项目应为起重机司机 Q2"}),
        )
        .await;
        assert_eq!(status, 201, "{filed}");
        let id = filed["id"].as_str().unwrap().to_owned();
        wallet_shows(&fed, &token, &id, "received").await;

        // The national node is up on the network but never answers, and Zhengzhou has a
        // business licence (national catalog) to push to it: that push waits out its whole
        // call budget.
        fed.hang(NATIONAL).await;
        let licence = issue(
            &fed,
            json!({
                "type_code": LICENCE_TYPE, "holder_kind": "enterprise", "holder_id": firm(),
                "holder_name": "漯河市起重机械安装有限公司", "valid_from": fed.now() - 86400,
                "valid_until": null,
                "fields": {"名称": "漯河市起重机械安装有限公司", "住所": "漯河市源汇区某路2号"}
            }),
        )
        .await;
        let (status, body) = reject(&fed, &id, "经核实，作业项目与考试记录一致").await;
        assert_eq!(status, 200, "{body}");

        // The decision reaches the holder while that push is still unanswered: it neither
        // failed nor succeeded yet, and was not tried again.
        wallet_shows(&fed, &token, &id, "rejected").await;
        let row = sqlx::query(
            "SELECT attempts, last_error, delivered_at FROM outbox
             WHERE cert_id = $1 AND destination = $2",
        )
        .bind(&licence)
        .bind(NATIONAL)
        .fetch_one(&fed.state(ZHENGZHOU).db.pool)
        .await
        .unwrap();
        assert_eq!(row.get::<Option<i64>, _>(2), None);
        assert_eq!(
            row.get::<Option<String>, _>(1),
            None,
            "the decision was sent only after the push to the silent tier had failed"
        );
        assert_eq!(row.get::<i64, _>(0), 1);

        // Nothing is lost: once the national node answers again, it gets the licence.
        fed.restart(NATIONAL).await;
        eventually("the licence in the national index", WAIT, || async {
            fed.state(NATIONAL)
                .db
                .indexed_certificate(&licence)
                .await
                .unwrap()
        })
        .await;
    }
);

both_backends!(
    nothing_is_lost_while_the_issuers_node_or_the_wallet_node_is_down,
    |backend| async move {
        let mut fed = federation(backend).await;
        let crane_id = issue(&fed, crane(&fed, &person(), "TS-0001")).await;
        index_shows(&fed, &crane_id, "valid").await;
        let token = zhang_san(&fed).await;

        // Zhengzhou is down: the objection is filed and kept; the holder sees it filed.
        fed.stop(ZHENGZHOU).await;
        let (status, filed) = object(
            &fed,
            &token,
            json!({"cert_id": crane_id, "reason": "住址有误"}),
        )
        .await;
        assert_eq!(status, 201, "{filed}");
        let id = filed["id"].as_str().unwrap().to_owned();
        let henan = fed.state(HENAN).db.clone();
        eventually("a failed attempt", WAIT, || async {
            let pending = henan.objection_messages_pending().await.unwrap();
            let failed: Option<String> = sqlx::query_scalar(
                "SELECT last_error FROM objection_outbox WHERE objection_id = $1",
            )
            .bind(&id)
            .fetch_one(&henan.pool)
            .await
            .unwrap();
            (pending.get(ZHENGZHOU) == Some(&1) && failed.is_some()).then_some(())
        })
        .await;
        let (_, view) = fed
            .get(HENAN, &format!("/api/wallet/objections/{id}"), Some(&token))
            .await;
        assert_eq!(view["status"], "filed");

        // Back an hour later: the objection arrives.
        fed.restart(ZHENGZHOU).await;
        fed.advance(3600);
        let token = zhang_san_again(&fed).await;
        wallet_shows(&fed, &token, &id, "received").await;
        assert!(henan.objection_messages_pending().await.unwrap().is_empty());

        // Now the wallet's node is down while the department decides: the decision waits.
        fed.stop(HENAN).await;
        let (status, body) = reject(&fed, &id, "住址以户籍登记为准").await;
        assert_eq!(status, 200, "{body}");
        let zz = fed.state(ZHENGZHOU).db.clone();
        assert_eq!(
            zz.objection_messages_pending().await.unwrap().get(HENAN),
            Some(&1)
        );
        fed.restart(HENAN).await;
        fed.advance(3600);
        let token = zhang_san_again(&fed).await;
        let rejected = wallet_shows(&fed, &token, &id, "rejected").await;
        assert_eq!(rejected["decision"], "住址以户籍登记为准");

        // Delivered messages are forgotten after a while; the objections keep what they said.
        let delivered = eventually("the decision acknowledged", WAIT, || async {
            zz.objection_messages_pending()
                .await
                .unwrap()
                .is_empty()
                .then_some(())
        });
        delivered.await;
        assert_eq!(zz.prune_objection_messages(fed.now() + 1).await.unwrap(), 1);
        assert_eq!(
            zz.received_objection(&id).await.unwrap().unwrap().status,
            "rejected"
        );
    }
);

both_backends!(
    a_missing_certificate_report_reaches_the_department_at_its_node,
    |backend| async move {
        let fed = federation(backend).await;
        // Henan learns which departments issue what from Zhengzhou's pushes.
        let someone_elses = issue(&fed, crane(&fed, &other_person(), "TS-0009")).await;
        index_shows(&fed, &someone_elses, "valid").await;
        let (status, issuers) = fed
            .get(
                HENAN,
                &format!("/api/catalog/issuers?cert_type={CRANE_TYPE}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{issuers}");
        assert_eq!(issuers[0]["issuer_code"], amr());
        assert_eq!(issuers[0]["region"], ZHENGZHOU);
        assert_eq!(issuers[0]["region_name"], "郑州市电子证照系统");

        let token = zhang_san(&fed).await;
        let (status, filed) = object(
            &fed,
            &token,
            json!({"kind": "missing", "type_code": CRANE_TYPE, "issuer_code": amr(),
                    "reason": "2023年在郑州考取，钱包中查不到"}),
        )
        .await;
        assert_eq!(status, 201, "{filed}");
        let id = filed["id"].as_str().unwrap().to_owned();
        wallet_shows(&fed, &token, &id, "received").await;
        let list = department_list(&fed, AMR_TOKEN).await;
        assert_eq!(list[0]["kind"], "missing");
        assert_eq!(list[0]["holder_id"], person());

        // The department issues it, answering the report.
        let mut body = crane(&fed, &person(), "TS-2023-0001");
        body["objection"] = json!(id);
        let new_id = issue(&fed, body).await;
        let issued = wallet_shows(&fed, &token, &id, "issued").await;
        assert_eq!(issued["new_cert_id"], new_id.as_str());
        assert_eq!(steps(&issued), ["filed", "received", "issued"]);
    }
);

both_backends!(
    an_enterprise_objects_through_its_legal_representative_only,
    |backend| async move {
        let fed = federation(backend).await;
        let licence = issue(
            &fed,
            json!({"type_code": LICENCE_TYPE, "holder_kind": "enterprise", "holder_id": firm(),
                "holder_name": "漯河市起重机械安装有限公司", "valid_from": fed.now() - 86400,
                "valid_until": null,
                "fields": {"名称": "漯河市起重机械安装有限公司", "住所": "漯河市源汇区某路2号"}}),
        )
        .await;
        index_shows(&fed, &licence, "valid").await;
        let stranger = citizen(&fed, HENAN, &other_person(), "李四", "13900139000").await;
        let (status, body) = object(
            &fed,
            &stranger,
            json!({"cert_id": licence, "reason": "住所有误"}),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("certificate_not_found"))
        );

        let rep = zhang_san(&fed).await;
        let (status, filed) = object(
            &fed,
            &rep,
            json!({"cert_id": licence, "reason": "住所已变更"}),
        )
        .await;
        assert_eq!(status, 201, "{filed}");
        assert_eq!(filed["enterprise"], firm());
        let id = filed["id"].as_str().unwrap().to_owned();
        wallet_shows(&fed, &rep, &id, "received").await;
        let list = department_list(&fed, AMR_TOKEN).await;
        assert_eq!(list[0]["holder_id"], firm());
        assert_eq!(list[0]["reporter"], person());
    }
);

/// An objection message as `from` would send it to `to`: `msg` in an envelope sealed with
/// `envelope_key`, under a service token minted with `token_key`.
fn message(
    fed: &Federation,
    from: &str,
    to: &str,
    token_key: &SecretKey,
    envelope_key: &SecretKey,
    msg: &ObjectionMessage,
) -> (String, Value) {
    let now = fed.now();
    let payload = serde_json::to_string(msg).unwrap();
    let envelope = NodeEnvelope::seal(envelope_key, r(from), r(to), now, payload);
    let token = token::mint(token_key, r(from), r(to), "test-objection", now).unwrap();
    (token, serde_json::to_value(envelope).unwrap())
}

fn filing(fed: &Federation, cert_id: &str, holder: &str) -> Filed {
    Filed {
        objection: "OBJ-test-0000000001".into(),
        kind: "wrong_data".into(),
        cert_id: Some(cert_id.into()),
        type_code: CRANE_TYPE.into(),
        issuer_code: amr(),
        holder_kind: "person".into(),
        holder_id: holder.into(),
        holder_name: "张三".into(),
        reporter: holder.into(),
        reason: "有误".into(),
        filed_at: fed.now(),
        deadline: fed.now() + 15 * 86400,
    }
}

both_backends!(
    forged_foreign_and_impossible_objection_messages_are_refused_and_audited,
    |backend| async move {
        let fed = federation(backend).await;
        let crane_id = issue(&fed, crane(&fed, &person(), "TS-0001")).await;
        let henan = fed.node(HENAN).key();
        let stranger = SecretKey::from_bytes(&[42u8; 32]).unwrap();
        let path = "/federation/v1/objections";
        let filed = ObjectionMessage::ObjectionFiled(filing(&fed, &crane_id, &person()));

        let cases: Vec<((String, Value), u16, &str)> = vec![
            // A node outside the registry.
            (
                message(&fed, HENAN, ZHENGZHOU, &stranger, &stranger, &filed),
                401,
                "service_token_unknown_key",
            ),
            // Henan's token, an envelope signed by someone else.
            (
                message(&fed, HENAN, ZHENGZHOU, &henan, &stranger, &filed),
                400,
                "objection_envelope_invalid",
            ),
            // Someone else's certificate, as Henan would never state it.
            (
                message(
                    &fed,
                    HENAN,
                    ZHENGZHOU,
                    &henan,
                    &henan,
                    &ObjectionMessage::ObjectionFiled(filing(&fed, &crane_id, &other_person())),
                ),
                400,
                "objection_holder_mismatch",
            ),
            // A certificate Zhengzhou does not hold.
            (
                message(
                    &fed,
                    HENAN,
                    ZHENGZHOU,
                    &henan,
                    &henan,
                    &ObjectionMessage::ObjectionFiled(filing(
                        &fed,
                        &crane_id.replace(".001.", ".007."),
                        &person(),
                    )),
                ),
                400,
                "objection_certificate_unknown",
            ),
        ];
        for ((t, env), status, code) in cases {
            let (got, body) = fed.post(ZHENGZHOU, path, Some(&t), &env).await;
            assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
        }
        assert_eq!(department_list(&fed, AMR_TOKEN).await, json!([]));
        let refused = fed.audited(ZHENGZHOU, "objection_message").await;
        assert_eq!(refused.len(), 3, "{refused:?}");

        // A decision about an objection Henan never sent there.
        let zz = fed.node(ZHENGZHOU).key();
        let decided = ObjectionMessage::ObjectionDecided(Decided {
            objection: "OBJ-test-0000000002".into(),
            outcome: "rejected".into(),
            decision: Some("无".into()),
            new_cert_id: None,
            received_at: fed.now(),
            decided_at: fed.now(),
        });
        let (t, env) = message(&fed, ZHENGZHOU, HENAN, &zz, &zz, &decided);
        let (got, body) = fed.post(HENAN, path, Some(&t), &env).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (400, Some("objection_not_found"))
        );

        // A filing Zhengzhou refuses for good is shown to the holder, not sent forever.
        let now = fed.now();
        let row = FiledRow {
            id: "OBJ-test-0000000003".into(),
            kind: "wrong_data".into(),
            cert_id: Some(crane_id.replace(".001.", ".008.")),
            type_code: CRANE_TYPE.into(),
            type_name: "特种设备作业人员证".into(),
            issuer_code: amr(),
            issuer_name: "郑州市市场监督管理局".into(),
            destination: Some(ZHENGZHOU.into()),
            holder_kind: "person".into(),
            holder_id: person(),
            holder_name: "张三".into(),
            reporter: person(),
            reason: "有误".into(),
            status: "filed".into(),
            filed_at: now,
            deadline: now + 15 * 86400,
            received_at: None,
            decided_at: None,
            decision: None,
            new_cert_id: None,
        };
        let audit = server::db::audit::AuditEntry::action(
            now,
            "objection",
            "test".into(),
            &row.id,
            "{}".into(),
            "",
        );
        fed.state(HENAN)
            .db
            .file_objection(&row, &audit)
            .await
            .unwrap();
        let henan_db = fed.state(HENAN).db.clone();
        let given_up = eventually("the filing given up", WAIT, || async {
            henan_db
                .filed_objection("OBJ-test-0000000003")
                .await
                .unwrap()
                .filter(|o| o.status == "undeliverable")
        })
        .await;
        assert_eq!(
            given_up.decision.as_deref(),
            Some("发证机关的系统中未找到该证照")
        );
        assert!(henan_db
            .objection_messages_pending()
            .await
            .unwrap()
            .is_empty());
    }
);
