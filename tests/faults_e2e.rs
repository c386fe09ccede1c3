//! Faults between tiers (issue 7, item 4) over the demo federation, every node a separate
//! `server` process on loopback with its own SQLite file. Between two nodes the test can put
//! a fault-injecting proxy (`demo_processes::proxy`): pass, delay the answers, reset, or
//! swallow everything.
//!
//! For each fault — the province killed while it handles a retrieval, a province slower than
//! the counter's budget, the national node down, the province and a city partitioned — the
//! counter is told which tier failed within a bounded time, nothing half-written remains
//! (`nothing_half_written` says precisely what that means), what the tiers queued for each
//! other meanwhile arrives once the fault is healed, and every node's audit chain verifies.
//!
//! The time bounds are correctness bounds (the counter must not hang), not measurements: the
//! counter's budget plus five seconds for a busy machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod demo_processes;

use std::time::{Duration, Instant};

use demo_processes::proxy::Fault;
use demo_processes::{eventually, eventually_within, now, Demo};
use serde_json::{json, Value};
use server::db::audit::{hex_sha256, ChainedEntry};
use server::demo::catalog::{CRANE_MATTER, LICENCE, LOAN_MATTER, OPERATOR_ZZ};
use server::demo::people::{Person, LI_NA, QINGHE, ZHANG_WEI, ZHOU_MIN};
use server::demo::{HENAN, LUOHE, NATIONAL, ZHENGZHOU};
use server::federation::client::COUNTER_BUDGET;
use sqlx::Row;
use wallet_core::grant::GrantTerms;
use wallet_core::{
    CertId, DeviceKey, GrantId, Grantee, Holder, MatterScope, Presentation, RegionCode, Subject,
};

/// The longest a counter may wait for any answer, however a tier fails.
fn bound() -> Duration {
    COUNTER_BUDGET + Duration::from_secs(5)
}

/// How long the outbox may take to deliver once a tier is back: its longest backoff (30 s)
/// plus one push's time budget (10 s), with room to spare.
const REDELIVERY: Duration = Duration::from_secs(60);

fn ids(p: &Person) -> String {
    p.resident_id().unwrap().to_string()
}

/// A fresh 亮证码 for the wallet province, as the phone draws it.
fn show(key: &DeviceKey, subject: Subject) -> String {
    Presentation::sign(key, RegionCode::new(410000).unwrap(), subject, now(), 60)
        .unwrap()
        .encode_text()
}

/// The name `from` gives its neighbour `to` in its registry, which its errors quote.
fn tier_name(demo: &Demo, from: &str, to: &str) -> String {
    demo.settings[from]
        .peers
        .iter()
        .find(|p| p.region.to_string() == to)
        .unwrap()
        .name
        .clone()
}

/// The clerk scans a code; returns the answer and how long it took.
async fn timed_scan(demo: &Demo, clerk: &str, case: &str, text: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = demo.scan(LUOHE, clerk, case, text).await;
    (status, body, started.elapsed())
}

/// The answer is the tier error `code` naming one of `tiers`, and came within the bound.
fn assert_tier_error(answer: &(u16, Value, Duration), status: u16, code: &str, tiers: &[String]) {
    let (got, body, took) = answer;
    assert_eq!(
        (*got, body["code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    let title = body["title"].as_str().unwrap();
    assert!(
        tiers.iter().any(|t| title.contains(t.as_str())),
        "{title} names none of {tiers:?}"
    );
    assert!(*took < bound(), "the counter waited {took:?}");
    eprintln!("the counter heard {code} after {took:?}: {title}");
}

/// The Henan wallet user 张伟 grants 李娜 the crane registration for an hour.
async fn grant_to_li_na(
    demo: &Demo,
    holder_token: &str,
    holder_key: &DeviceKey,
    cert_id: &CertId,
    use_limit: Option<u32>,
) -> GrantId {
    let terms = GrantTerms {
        id: GrantId::generate().unwrap(),
        cert_id: cert_id.clone(),
        holder: Holder::Person(ids(&ZHANG_WEI).parse().unwrap()),
        grantee: Grantee {
            resident_id: ids(&LI_NA).parse().unwrap(),
            name: LI_NA.name.into(),
            enterprise: None,
        },
        matters: MatterScope::Named(vec![CRANE_MATTER.into()]),
        not_before: now() - 60,
        not_after: now() + 3600,
        use_limit,
    };
    let id = terms.id;
    let (status, body) = demo
        .post(
            HENAN,
            "/api/wallet/grants",
            Some(holder_token),
            &json!({"grant": String::from(terms.sign(holder_key).unwrap())}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    id
}

/// Zhengzhou's department issues 张伟 another operator certificate; returns its id.
async fn issue_at_zhengzhou(demo: &Demo, number: &str) -> String {
    let fields = json!({"作业项目": "叉车司机", "项目代号": "N1", "证书编号": number,
        "发证日期": "2026-11-26"});
    demo.issue(ZHENGZHOU, &OPERATOR_ZZ, &ZHANG_WEI, fields)
        .await
}

async fn count(demo: &Demo, region: &str, sql: &str, bind: &str) -> i64 {
    let db = demo.db(region).await;
    let n: i64 = sqlx::query(sql)
        .bind(bind)
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    db.pool.close().await;
    n
}

/// Whether `region` has consumed the code's nonce.
async fn nonce_spent(demo: &Demo, region: &str, text: &str) -> bool {
    let p = Presentation::decode_text(text).unwrap();
    let n = count(
        demo,
        region,
        "SELECT COUNT(*) FROM nonces WHERE nonce = $1",
        &hex_sha256(&p.nonce),
    )
    .await;
    n == 1
}

/// What a node recorded of one retrieval: its audit entries under the correlation id (after
/// checking its whole chain) and its consent rows.
async fn recorded(demo: &Demo, region: &str, correlation: &str) -> (Vec<ChainedEntry>, i64) {
    let entries = demo.audit(region, correlation).await;
    let consents = count(
        demo,
        region,
        "SELECT COUNT(*) FROM consents WHERE correlation_id = $1",
        correlation,
    )
    .await;
    (entries, consents)
}

/// How a node other than the counter's took part in a failed retrieval.
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    /// It committed nothing of it (never reached, or died before its commit).
    Nothing,
    /// It committed its hop whole, with this result.
    Whole(String),
}

/// "Nothing half-written" after a retrieval the counter saw fail with `code`, precisely:
///
/// - the counter's node holds exactly one audit entry for the attempt, carrying `code`, and no
///   retrieval row or attachment for the case (the case is as it was);
/// - every other node on the path either committed nothing under the attempt's correlation id
///   or exactly one audit entry — and at the wallet province (Henan, which checks consent and
///   owns the code's nonce) the consent row and the spent nonce exist exactly when that entry
///   does, so a code is spent only by a recorded hop;
/// - every node's audit chain verifies.
///
/// Returns the correlation id and what each of `others` committed.
async fn nothing_half_written(
    demo: &Demo,
    case: &str,
    code: &str,
    text: &str,
    others: &[&str],
) -> (String, Vec<Hop>) {
    let db = demo.db(LUOHE).await;
    assert!(db.verify_audit_chain().await.unwrap().is_ok(), "{LUOHE}");
    let attempts: Vec<ChainedEntry> = db
        .audit_entries(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.action == "retrieval" && e.entry.subject == case)
        .collect();
    db.pool.close().await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].entry.result, code);
    let correlation = attempts[0].entry.correlation_id.clone();
    let kept = |sql| count(demo, LUOHE, sql, case);
    assert_eq!(
        kept("SELECT COUNT(*) FROM retrievals WHERE case_id = $1").await,
        0
    );
    assert_eq!(
        kept("SELECT COUNT(*) FROM attachments WHERE case_id = $1").await,
        0
    );
    let mut hops = Vec::new();
    for region in others {
        let (entries, consents) = recorded(demo, region, &correlation).await;
        assert!(entries.len() <= 1, "{region}: {entries:?}");
        let hop = match entries.first() {
            None => Hop::Nothing,
            Some(e) => Hop::Whole(e.entry.result.clone()),
        };
        if *region == HENAN {
            let whole = entries.len() as i64;
            assert_eq!(consents, whole, "consent rows at {region}");
            assert_eq!(
                nonce_spent(demo, region, text).await,
                whole == 1,
                "the nonce at {region}"
            );
        }
        hops.push(hop);
    }
    (correlation, hops)
}

/// Every node's audit chain verifies, and no node process panicked on the way.
async fn chains_verify(demo: &Demo, regions: &[&str]) {
    for region in regions {
        let db = demo.db(region).await;
        assert!(db.verify_audit_chain().await.unwrap().is_ok(), "{region}");
        db.pool.close().await;
        let log = demo.log(region);
        assert!(!log.contains("panicked"), "{region}:\n{log}");
    }
}

/// Polls the holder's objection at the wallet until it shows `status`.
async fn objection_reaches(demo: &Demo, token: &str, id: &str, status: &str) {
    eventually_within(&format!("objection {id} {status}"), REDELIVERY, || async {
        let (code, body) = demo
            .get(HENAN, &format!("/api/wallet/objections/{id}"), token)
            .await;
        assert_eq!(code, 200, "{body}");
        (body["status"] == status).then_some(())
    })
    .await;
}

/// The holder files an objection to a certificate at the wallet; returns its id after
/// checking where it goes.
async fn object(demo: &Demo, token: &str, cert_id: &str, handled_at: &str) -> String {
    let (status, filed) = demo
        .post(
            HENAN,
            "/api/wallet/objections",
            Some(token),
            &json!({"cert_id": cert_id, "reason": "证上登记的信息有误"}),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["handled_at"], handled_at);
    assert_eq!(filed["status"], "filed");
    filed["id"].as_str().unwrap().to_owned()
}

/// How many of the wallet's certificates have this id.
async fn in_wallet(demo: &Demo, token: &str, cert_id: &str) -> usize {
    let (status, list) = demo.get(HENAN, "/api/wallet/certificates", token).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == cert_id)
        .count()
}

/// Zhengzhou's outbox row for `cert_id` towards Henan: (delivered, the last attempt failed,
/// attempts made).
async fn zhengzhou_outbox(demo: &Demo, cert_id: &str) -> Vec<(bool, bool, i64)> {
    let db = demo.db(ZHENGZHOU).await;
    let rows = sqlx::query(
        "SELECT CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END AS delivered,
                CASE WHEN last_error IS NULL THEN 0 ELSE 1 END AS failed, attempts
         FROM outbox WHERE cert_id = $1 AND destination = $2",
    )
    .bind(cert_id)
    .bind(HENAN)
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get::<i64, _>("delivered").unwrap() == 1,
            r.try_get::<i64, _>("failed").unwrap() == 1,
            r.try_get("attempts").unwrap(),
        )
    })
    .collect();
    db.pool.close().await;
    rows
}

/// The province dies (SIGKILL) after it checked the consent and while it waits for the
/// owner: the counter hears that the province is unreachable, nothing of the attempt was
/// committed anywhere — so the code is not spent and the grant not used — and once the
/// province is back the same code is served once and then refused as a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_killed_mid_retrieval_commits_nothing_of_it_and_the_code_works_once_it_is_back()
{
    let mut demo = Demo::write();
    // Henan reaches Zhengzhou through a link the test can hold, so that the kill lands while
    // Henan is in the middle of the retrieval.
    let to_zhengzhou = demo.proxy(ZHENGZHOU, &[HENAN]).await;
    for region in [HENAN, ZHENGZHOU, LUOHE] {
        demo.start(region).await;
    }
    let (holder, holder_key) = demo.wallet_user(&ids(&ZHANG_WEI)).await;
    let cert = demo
        .my_certificate_of(&holder, &OPERATOR_ZZ, ZHENGZHOU)
        .await;
    let cert_id: CertId = cert["id"].as_str().unwrap().parse().unwrap();
    let (_, staffer_key) = demo.wallet_user(&ids(&LI_NA)).await;
    let grant = grant_to_li_na(&demo, &holder, &holder_key, &cert_id, Some(2)).await;
    let clerk = demo.staff(LUOHE, "clerk").await;
    let case = demo.open_case(LUOHE, &clerk, CRANE_MATTER).await;

    // The scan goes out; once Henan has checked the consent and called Zhengzhou (the call
    // reaches the held link), Henan is killed.
    to_zhengzhou.set(Fault::BlackHole);
    let before = to_zhengzhou.received();
    let text = show(&staffer_key, Subject::Grant(grant));
    let started = Instant::now();
    let scan = {
        let (http, url) = (demo.http.clone(), demo.url(LUOHE));
        let (clerk, case, text) = (clerk.clone(), case.clone(), text.clone());
        tokio::spawn(async move {
            let r = http
                .post(format!("{url}/api/counter/cases/{case}/retrievals"))
                .bearer_auth(clerk)
                .json(&json!({"text": text}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    eventually("Henan calling Zhengzhou", || async {
        (to_zhengzhou.received() > before).then_some(())
    })
    .await;
    demo.stop(HENAN);
    let (status, body) = scan.await.unwrap();
    let answer = (status, body, started.elapsed());
    assert_tier_error(
        &answer,
        503,
        "tier_unreachable",
        &[tier_name(&demo, LUOHE, HENAN)],
    );

    // Meanwhile Zhengzhou issues him another certificate; its push waits for Henan.
    let issued = issue_at_zhengzhou(&demo, "TS-FAULT-0001").await;

    to_zhengzhou.set(Fault::Pass);
    demo.start(HENAN).await;
    let (_, hops) =
        nothing_half_written(&demo, &case, "tier_unreachable", &text, &[HENAN, ZHENGZHOU]).await;
    assert_eq!(hops, [Hop::Nothing, Hop::Nothing]);
    let grant_id = grant.to_string();
    let uses = || {
        count(
            &demo,
            HENAN,
            "SELECT uses FROM grants WHERE id = $1",
            &grant_id,
        )
    };
    assert_eq!(uses().await, 0, "the failed attempt used the grant");

    // The code was never spent: scanned again it is served, attached, and then spent.
    let (status, got) = demo.scan(LUOHE, &clerk, &case, &text).await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["path"], json!([LUOHE, HENAN, ZHENGZHOU]));
    let (status, attached) = demo
        .confirm(LUOHE, &clerk, got["retrieval_id"].as_str().unwrap())
        .await;
    assert_eq!(status, 201, "{attached}");
    let (status, again) = demo.scan(LUOHE, &clerk, &case, &text).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("presentation_replayed")),
        "{again}"
    );
    assert_eq!(uses().await, 1);

    // What Zhengzhou queued while Henan was down has arrived.
    eventually_within("the certificate issued meanwhile", REDELIVERY, || async {
        (in_wallet(&demo, &holder, &issued).await == 1).then_some(())
    })
    .await;
    chains_verify(&demo, &[HENAN, ZHENGZHOU, LUOHE]).await;
}

/// Answers from the province take longer than the counter's budget (and longer than a push's
/// budget): the counter hears that the province timed out, in time, and keeps nothing of the
/// attempt; the province's own part was committed whole (it consented and spent the code, as
/// its audit shows); a certificate pushed meanwhile is applied at the province once, though
/// its acknowledgement came too late and the push is repeated after the link recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_province_times_out_at_the_counter_and_a_late_acknowledged_push_is_applied_once() {
    // Beyond the counter's 4.5 s and the outbox's 10 s per push.
    const SLOW: Duration = Duration::from_secs(12);
    let mut demo = Demo::write();
    // Everyone reaches the province through one link.
    let to_henan = demo.proxy(HENAN, &[LUOHE, ZHENGZHOU]).await;
    for region in [HENAN, ZHENGZHOU, LUOHE] {
        demo.start(region).await;
    }
    let (holder, holder_key) = demo.wallet_user(&ids(&ZHANG_WEI)).await;
    let cert = demo
        .my_certificate_of(&holder, &OPERATOR_ZZ, ZHENGZHOU)
        .await;
    let cert_id: CertId = cert["id"].as_str().unwrap().parse().unwrap();
    let clerk = demo.staff(LUOHE, "clerk").await;
    let case = demo.open_case(LUOHE, &clerk, CRANE_MATTER).await;

    to_henan.set(Fault::Delay(SLOW));
    let text = show(&holder_key, Subject::Certificate(cert_id.clone()));
    let answer = timed_scan(&demo, &clerk, &case, &text).await;
    assert_tier_error(
        &answer,
        504,
        "tier_timeout",
        &[tier_name(&demo, LUOHE, HENAN)],
    );
    committed(&demo, HENAN, &case).await;
    committed(&demo, ZHENGZHOU, &case).await;
    let (_, hops) =
        nothing_half_written(&demo, &case, "tier_timeout", &text, &[HENAN, ZHENGZHOU]).await;
    assert_eq!(
        hops,
        [Hop::Whole("ok".into()), Hop::Whole("ok".into())],
        "the province consented and the owner served, in time for them"
    );

    // Zhengzhou issues a certificate: the push reaches Henan, its acknowledgement does not
    // reach Zhengzhou in time, so the row stays due.
    let issued = issue_at_zhengzhou(&demo, "TS-FAULT-0002").await;
    eventually_within("a push that timed out", REDELIVERY, || async {
        let rows = zhengzhou_outbox(&demo, &issued).await;
        matches!(rows[..], [(false, true, _)]).then_some(())
    })
    .await;

    to_henan.set(Fault::Pass);
    // The code the province spent stays spent.
    let (status, again) = demo.scan(LUOHE, &clerk, &case, &text).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("presentation_replayed")),
        "{again}"
    );
    // Pushed again, acknowledged, and at the province once.
    let rows = eventually_within("the push acknowledged", REDELIVERY, || async {
        let rows = zhengzhou_outbox(&demo, &issued).await;
        rows.first().is_some_and(|r| r.0).then_some(rows)
    })
    .await;
    assert!(rows.len() == 1 && rows[0].2 >= 2, "{rows:?}");
    assert_eq!(in_wallet(&demo, &holder, &issued).await, 1);

    // The province answers in time again.
    let fresh = show(&holder_key, Subject::Certificate(cert_id));
    let (status, got) = demo.scan(LUOHE, &clerk, &case, &fresh).await;
    assert_eq!(status, 201, "{got}");
    chains_verify(&demo, &[HENAN, ZHENGZHOU, LUOHE]).await;
}

/// The national node is down when a Luohe counter asks for an enterprise's national business
/// licence: the counter hears that the national node is unreachable, through the province,
/// in time; the province recorded its refusal whole (the code is spent); an objection to the
/// licence filed meanwhile reaches the national node once it is back, and the licence is
/// served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_node_down_is_named_at_the_counter_and_what_waited_for_it_arrives() {
    let mut demo = Demo::running(&[NATIONAL, HENAN, LUOHE]).await;
    let (rep, rep_key) = demo.wallet_user(&ids(&ZHOU_MIN)).await;
    let credit_code = QINGHE.credit_code().unwrap().to_string();
    let licence_type = LICENCE.code().unwrap();
    let licence: CertId = eventually("the national licence at the wallet", || async {
        let (status, found) = demo
            .get(
                HENAN,
                &format!("/api/wallet/enterprise?q={credit_code}"),
                &rep,
            )
            .await;
        assert_eq!(status, 200, "{found}");
        found["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type_code"] == licence_type.as_str() && c["held_at"] == NATIONAL)
            .map(|c| c["id"].as_str().unwrap().parse().unwrap())
    })
    .await;
    let clerk = demo.staff(LUOHE, "clerk").await;
    let case = demo.open_case(LUOHE, &clerk, LOAN_MATTER).await;

    demo.stop(NATIONAL);
    let text = show(&rep_key, Subject::Certificate(licence.clone()));
    let answer = timed_scan(&demo, &clerk, &case, &text).await;
    assert_tier_error(
        &answer,
        503,
        "tier_unreachable",
        &[tier_name(&demo, HENAN, NATIONAL)],
    );
    let (correlation, hops) =
        nothing_half_written(&demo, &case, "tier_unreachable", &text, &[HENAN]).await;
    assert_eq!(hops, [Hop::Whole("tier_unreachable".into())]);

    // An objection to the licence waits at the province for the national node.
    let objection = object(&demo, &rep, licence.as_str(), NATIONAL).await;

    demo.start(NATIONAL).await;
    assert!(
        demo.audit(NATIONAL, &correlation).await.is_empty(),
        "the national node never saw the failed attempt"
    );
    // A code refused at the province stays spent.
    let (status, again) = demo.scan(LUOHE, &clerk, &case, &text).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("presentation_replayed")),
        "{again}"
    );
    objection_reaches(&demo, &rep, &objection, "received").await;
    let fresh = show(&rep_key, Subject::Certificate(licence));
    let (status, got) = demo.scan(LUOHE, &clerk, &case, &fresh).await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["path"], json!([LUOHE, HENAN, NATIONAL]));
    chains_verify(&demo, &[NATIONAL, HENAN, LUOHE]).await;
}

/// The province and Zhengzhou cannot reach each other, first with every connection reset,
/// then with everything swallowed: the counter hears which tier failed (unreachable, then
/// timed out) in time; the province recorded each refusal whole; an objection filed at the
/// wallet for Zhengzhou and a certificate issued in Zhengzhou for the wallet, both queued
/// during the partition, cross once it heals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_between_province_and_city_is_named_at_the_counter_and_both_queues_cross_once_it_heals(
) {
    let mut demo = Demo::write();
    let to_zhengzhou = demo.proxy(ZHENGZHOU, &[HENAN]).await;
    let to_henan = demo.proxy(HENAN, &[ZHENGZHOU]).await;
    for region in [HENAN, ZHENGZHOU, LUOHE] {
        demo.start(region).await;
    }
    let partition = |fault| {
        to_zhengzhou.set(fault);
        to_henan.set(fault);
    };
    let (holder, holder_key) = demo.wallet_user(&ids(&ZHANG_WEI)).await;
    let cert = demo
        .my_certificate_of(&holder, &OPERATOR_ZZ, ZHENGZHOU)
        .await;
    let cert_id: CertId = cert["id"].as_str().unwrap().parse().unwrap();
    let clerk = demo.staff(LUOHE, "clerk").await;
    let zhengzhou = tier_name(&demo, HENAN, ZHENGZHOU);
    let henan = tier_name(&demo, LUOHE, HENAN);

    // Connections reset: the province names the city, and the counter relays it.
    partition(Fault::Reset);
    let case = demo.open_case(LUOHE, &clerk, CRANE_MATTER).await;
    let text = show(&holder_key, Subject::Certificate(cert_id.clone()));
    let answer = timed_scan(&demo, &clerk, &case, &text).await;
    assert_tier_error(
        &answer,
        503,
        "tier_unreachable",
        std::slice::from_ref(&zhengzhou),
    );
    let (_, hops) =
        nothing_half_written(&demo, &case, "tier_unreachable", &text, &[HENAN, ZHENGZHOU]).await;
    assert_eq!(hops, [Hop::Whole("tier_unreachable".into()), Hop::Nothing]);

    // Everything swallowed: the province's call to the city times out. Whether the province's
    // answer or the counter's own timeout comes first is a matter of milliseconds; either way
    // the counter hears of a timeout on the path.
    partition(Fault::BlackHole);
    let case = demo.open_case(LUOHE, &clerk, CRANE_MATTER).await;
    let text = show(&holder_key, Subject::Certificate(cert_id.clone()));
    let answer = timed_scan(&demo, &clerk, &case, &text).await;
    assert_tier_error(&answer, 504, "tier_timeout", &[zhengzhou, henan]);
    // The province commits its refusal when its own call gives up.
    committed(&demo, HENAN, &case).await;
    let (_, hops) =
        nothing_half_written(&demo, &case, "tier_timeout", &text, &[HENAN, ZHENGZHOU]).await;
    assert_eq!(hops, [Hop::Whole("tier_timeout".into()), Hop::Nothing]);

    // Both ways, something waits: an objection for Zhengzhou, a certificate for the wallet.
    let objection = object(&demo, &holder, cert_id.as_str(), ZHENGZHOU).await;
    let issued = issue_at_zhengzhou(&demo, "TS-FAULT-0003").await;

    partition(Fault::Pass);
    objection_reaches(&demo, &holder, &objection, "received").await;
    eventually_within("the certificate issued meanwhile", REDELIVERY, || async {
        (in_wallet(&demo, &holder, &issued).await == 1).then_some(())
    })
    .await;
    let case = demo.open_case(LUOHE, &clerk, CRANE_MATTER).await;
    let fresh = show(&holder_key, Subject::Certificate(cert_id));
    let (status, got) = demo.scan(LUOHE, &clerk, &case, &fresh).await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["path"], json!([LUOHE, HENAN, ZHENGZHOU]));
    chains_verify(&demo, &[HENAN, ZHENGZHOU, LUOHE]).await;
}

/// The correlation id of the one retrieval attempt the counter's node audited for a case.
async fn luohe_attempt(demo: &Demo, case: &str) -> String {
    let db = demo.db(LUOHE).await;
    let entries = db.audit_entries(0, 100_000).await.unwrap();
    db.pool.close().await;
    let attempt = entries
        .into_iter()
        .find(|e| e.entry.action == "retrieval" && e.entry.subject == case)
        .unwrap();
    attempt.entry.correlation_id
}

/// Waits until `region` has committed its hop of the case's retrieval attempt: a node further
/// along may finish its part after the counter has given up on it.
async fn committed(demo: &Demo, region: &str, case: &str) {
    let correlation = luohe_attempt(demo, case).await;
    eventually(&format!("{region}'s record of the attempt"), || async {
        let (entries, _) = recorded(demo, region, &correlation).await;
        (!entries.is_empty()).then_some(())
    })
    .await;
}
