//! 社会公示 across the tiers (scenario 5): a search at the province finds matches in the index
//! the cities pushed, asks each city holding one — once per city — for its current public state,
//! answers its own departments' permits itself, never shows a personal certificate, and when a
//! city does not answer shows that city's permits from the index, marked, naming the city.
//! Henan with Zhengzhou and Luohe in one process, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use server::db::audit::ChainedEntry;
use server::federation::token;
use support::nodes::{add_toml, eventually, Federation, START};
use wallet_core::{CreditCode, ResidentId};

const HENAN: &str = "410000";
const ZHENGZHOU: &str = "410100";
const LUOHE: &str = "411100";
const WAIT: Duration = Duration::from_secs(15);
const DAY: i64 = 86_400;

/// Each node's 生态环境 department and its token.
fn department(region: &str) -> (String, &'static str, &'static str) {
    let (code17, name, token) = match region {
        HENAN => (
            "11410000MB0000701",
            "河南省生态环境厅",
            "henan-ee-test-token-000001",
        ),
        ZHENGZHOU => (
            "11410100MB0000702",
            "郑州市生态环境局",
            "zhengzhou-ee-test-token-01",
        ),
        _ => (
            "11411100MB0000703",
            "漯河市生态环境局",
            "luohe-ee-test-token-000001",
        ),
    };
    (
        CreditCode::with_check_char(code17).unwrap().to_string(),
        name,
        token,
    )
}

fn permit_type() -> String {
    format!(
        "{}001",
        CreditCode::with_check_char("11100000MB0000014").unwrap()
    )
}

/// A personal certificate type that a catalog wrongly marks disclosable.
fn badge_type() -> String {
    format!(
        "{}002",
        CreditCode::with_check_char("11100000MB0000014").unwrap()
    )
}

async fn federation(backend: server::db::Backend) -> Federation {
    Federation::start(&[HENAN, ZHENGZHOU, LUOHE], backend, |region, s| {
        let (code, name, token) = department(region);
        add_toml(
            s,
            &format!(
                r#"
[[departments]]
credit_code = "{code}"
name = "{name}"
token = "{token}"

[[cert_types]]
code = "{permit}"
name = "排污许可证"
department = "{code}"
holder_kind = "enterprise"
disclosable = true
fields = [
  {{ name = "许可证编号", required = true, disclosable = true }},
  {{ name = "单位名称", required = true, disclosable = true }},
  {{ name = "有效期限", required = true, disclosable = true }},
  {{ name = "发证机关", required = true, disclosable = true }},
  {{ name = "法定代表人", required = true }},
]

[[cert_types]]
code = "{badge}"
name = "环境监测人员上岗证"
department = "{code}"
holder_kind = "person"
disclosable = true
fields = [{{ name = "姓名", required = true, disclosable = true }}]
"#,
                permit = permit_type(),
                badge = badge_type(),
            ),
        );
        s.public.searches_per_minute = 10_000;
    })
    .await
}

/// Issues a 排污许可证 at `region`'s 生态环境 department; returns its id.
async fn issue_permit(
    fed: &Federation,
    region: &str,
    code17: &str,
    name: &str,
    until: i64,
) -> String {
    let (_, issuer, token) = department(region);
    let code = CreditCode::with_check_char(code17).unwrap().to_string();
    let (status, body) = fed
        .post(
            region,
            "/api/issuer/certificates",
            Some(token),
            &json!({
                "type_code": permit_type(),
                "holder_kind": "enterprise",
                "holder_id": code,
                "holder_name": name,
                "valid_from": START - DAY,
                "valid_until": until,
                "fields": {
                    "许可证编号": format!("{code}001P"),
                    "单位名称": name,
                    "有效期限": "自2026年01月01日至2030年12月31日",
                    "发证机关": issuer,
                    "法定代表人": "吴志强",
                }
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn search(fed: &Federation, region: &str, q: &str) -> Value {
    let r = fed
        .client
        .get(format!("{}/api/public/disclosures", fed.url(region)))
        .query(&[("q", q)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The province's answer once its index holds `n` matches of `q`.
async fn searched(fed: &Federation, q: &str, n: u64) -> Value {
    eventually("the pushes to reach the province", WAIT, || async {
        let found = search(fed, HENAN, q).await;
        (found["total"] == n).then_some(found)
    })
    .await
}

fn result<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["enterprise_name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {answer}"))
}

async fn disclosure_audit(fed: &Federation, region: &str) -> Vec<ChainedEntry> {
    let entries = fed.state(region).db.audit_entries(0, 10_000).await.unwrap();
    entries
        .into_iter()
        .filter(|e| e.entry.action == "disclosure")
        .collect()
}

/// Four permits named 清源: two in Luohe (one running out in 20 days), one in Zhengzhou, one
/// issued by the province itself; and 李清源's personal certificate in Zhengzhou.
async fn seed(fed: &Federation) {
    issue_permit(
        fed,
        LUOHE,
        "91411102MA48QY001",
        "漯河市清源食品有限公司",
        START + 400 * DAY,
    )
    .await;
    issue_permit(
        fed,
        LUOHE,
        "91411103MA48QY002",
        "漯河市清源纸业有限公司",
        START + 20 * DAY,
    )
    .await;
    issue_permit(
        fed,
        ZHENGZHOU,
        "91410105MA47QY003",
        "郑州清源环保科技有限公司",
        START + 900 * DAY,
    )
    .await;
    issue_permit(
        fed,
        HENAN,
        "91410000MA46QY004",
        "河南清源能源集团有限公司",
        START + 900 * DAY,
    )
    .await;
    let (_, _, token) = department(ZHENGZHOU);
    let (status, body) = fed
        .post(
            ZHENGZHOU,
            "/api/issuer/certificates",
            Some(token),
            &json!({
                "type_code": badge_type(),
                "holder_kind": "person",
                "holder_id": ResidentId::with_check_digit("41010219850312003").unwrap().to_string(),
                "holder_name": "李清源",
                "valid_from": START - DAY,
                "valid_until": START + 900 * DAY,
                "fields": {"姓名": "李清源"}
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                ($body)(server::db::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                ($body)(server::db::Backend::Postgres).await
            }
        }
    };
}

both_backends!(
    the_province_asks_each_city_holding_a_match_once_for_its_current_state,
    |backend| async move {
        let fed = federation(backend).await;
        seed(&fed).await;
        // (1)–(2) Anyone asks the province, by part of the name.
        let found = searched(&fed, "清源", 4).await;
        // (3)–(5) The province found the owners in its index and asked each once; the answers
        // are theirs, as of now.
        assert!(!disclosure_audit(&fed, LUOHE).await.is_empty());
        for (name, held_at, status) in [
            ("漯河市清源食品有限公司", LUOHE, "valid"),
            ("漯河市清源纸业有限公司", LUOHE, "expiring"),
            ("郑州清源环保科技有限公司", ZHENGZHOU, "valid"),
            ("河南清源能源集团有限公司", HENAN, "valid"),
        ] {
            let r = result(&found, name);
            assert_eq!(r["held_at"], held_at, "{r}");
            assert_eq!(r["source"], "owner", "{r}");
            assert_eq!(r["status"], status, "{r}");
            assert!(r["fields"].get("法定代表人").is_none(), "{r}");
        }
        assert_eq!(found["unavailable"], json!([]));
        assert!(!found.to_string().contains("李清源"), "{found}");

        // One more search: exactly one call to each city, for both of Luohe's matches at once.
        let luohe_before = disclosure_audit(&fed, LUOHE).await.len();
        let zhengzhou_before = disclosure_audit(&fed, ZHENGZHOU).await.len();
        search(&fed, HENAN, "清源").await;
        let luohe = disclosure_audit(&fed, LUOHE).await;
        assert_eq!(luohe.len(), luohe_before + 1);
        assert_eq!(
            disclosure_audit(&fed, ZHENGZHOU).await.len(),
            zhengzhou_before + 1
        );
        let last = &luohe.last().unwrap().entry;
        assert_eq!(
            (last.actor.as_str(), last.result.as_str()),
            ("node:410000", "ok")
        );
        let detail: Value = serde_json::from_str(&last.detail).unwrap();
        assert_eq!(detail["answered"].as_array().unwrap().len(), 2, "{detail}");

        // What the city holds now wins over what the index last heard: a change the city has
        // not pushed yet is already what the public sees.
        sqlx::query("UPDATE certificates SET status = 'revoked' WHERE holder_name = $1")
            .bind("漯河市清源食品有限公司")
            .execute(&fed.state(LUOHE).db.pool)
            .await
            .unwrap();
        let found = search(&fed, HENAN, "清源食品").await;
        assert_eq!(
            result(&found, "漯河市清源食品有限公司")["status"],
            "revoked"
        );

        // A personal certificate is never listed at the province, whatever its catalog says.
        let found = search(&fed, HENAN, "李清源").await;
        assert_eq!(found["total"], 0, "{found}");
        let listed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM disclosure_names")
            .fetch_one(&fed.state(HENAN).db.pool)
            .await
            .unwrap();
        assert_eq!(listed, 4);
    }
);

both_backends!(
    a_city_that_does_not_answer_is_named_and_its_permits_come_from_the_index_marked,
    |backend| async move {
        let mut fed = federation(backend).await;
        seed(&fed).await;
        searched(&fed, "清源", 4).await;

        fed.hang(LUOHE).await;
        fed.stop(ZHENGZHOU).await;
        let found = search(&fed, HENAN, "清源").await;
        assert_eq!(found["total"], 4);
        let stale = result(&found, "漯河市清源纸业有限公司");
        assert_eq!(stale["source"], "index", "{stale}");
        assert_eq!(stale["status"], "expiring", "{stale}");
        assert!(stale["as_of"].as_i64().unwrap() >= START, "{stale}");
        assert_eq!(
            result(&found, "郑州清源环保科技有限公司")["source"],
            "index"
        );
        assert_eq!(
            result(&found, "河南清源能源集团有限公司")["source"],
            "owner"
        );
        let unavailable = found["unavailable"].as_array().unwrap();
        assert_eq!(unavailable.len(), 2, "{found}");
        assert_eq!(unavailable[0]["region"], ZHENGZHOU);
        assert_eq!(unavailable[0]["code"], "tier_unreachable");
        assert_eq!(unavailable[1]["region"], LUOHE);
        assert_eq!(unavailable[1]["code"], "tier_timeout");
        assert!(
            unavailable[1]["title"].as_str().unwrap().contains("漯河市"),
            "{found}"
        );

        // Back again: the owners answer.
        fed.restart(LUOHE).await;
        let found = search(&fed, HENAN, "清源纸业").await;
        assert_eq!(result(&found, "漯河市清源纸业有限公司")["source"], "owner");
        assert_eq!(found["unavailable"], json!([]));
    }
);

both_backends!(
    a_city_answers_only_the_nodes_above_it_and_audits_a_refusal,
    |backend| async move {
        let fed = federation(backend).await;
        // Zhengzhou is registered at Luohe, but it is a sibling, not a tier above.
        let key = fed.node(ZHENGZHOU).key();
        let token = token::mint(
            &key,
            ZHENGZHOU.parse().unwrap(),
            LUOHE.parse().unwrap(),
            "sibling-asks",
            fed.now(),
        )
        .unwrap();
        let (status, refused) = fed
            .post(
                LUOHE,
                "/federation/v1/disclosure",
                Some(&token),
                &json!({"correlation_id": "sibling-asks", "cert_ids": ["x"]}),
            )
            .await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("disclosure_caller_not_above")),
            "{refused}"
        );
        let audited = disclosure_audit(&fed, LUOHE).await;
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0].entry.result, "disclosure_caller_not_above");
        assert_eq!(audited[0].entry.actor, "node:410100");
    }
);
