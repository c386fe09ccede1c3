//! 社会公示 at a city node: anyone finds its 排污许可证 by part of the enterprise's name, sees only
//! the disclosable fields and the status as of now, cannot list the register, and is limited
//! per client. On SQLite and PostgreSQL.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use server::config::Settings;
use server::disclosure::client::Net;
use wallet_core::CreditCode;

use crate::both_backends;
use crate::helpers::*;
use crate::support::nodes::add_toml;

const EE_TOKEN: &str = "zhengzhou-ee-test-token-0003";
const DAY: i64 = 86_400;

fn ee() -> String {
    CreditCode::with_check_char("11410100MB0000601")
        .unwrap()
        .to_string()
}

fn permit_type() -> String {
    format!(
        "{}001",
        CreditCode::with_check_char("11100000MB0000014").unwrap()
    )
}

fn badge_type() -> String {
    format!(
        "{}002",
        CreditCode::with_check_char("11100000MB0000014").unwrap()
    )
}

/// The city's 生态环境局 with the 排污许可证 and — wrongly marked disclosable — a personal
/// certificate; `per_minute` searches per client.
fn with_permits(per_minute: i64) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        add_toml(
            s,
            &format!(
                r#"
[[departments]]
credit_code = "{ee}"
name = "郑州市生态环境局"
token = "{EE_TOKEN}"

[[cert_types]]
code = "{permit}"
name = "排污许可证"
department = "{ee}"
holder_kind = "enterprise"
disclosable = true
fields = [
  {{ name = "许可证编号", required = true, disclosable = true }},
  {{ name = "单位名称", required = true, disclosable = true }},
  {{ name = "有效期限", required = true, disclosable = true }},
  {{ name = "发证机关", required = true, disclosable = true }},
  {{ name = "法定代表人", required = true }},
  {{ name = "生产经营场所地址", required = true }},
]

[[cert_types]]
code = "{badge}"
name = "环境监测人员上岗证"
department = "{ee}"
holder_kind = "person"
disclosable = true
fields = [
  {{ name = "姓名", required = true, disclosable = true }},
  {{ name = "证书编号", required = true, disclosable = true }},
]
"#,
                ee = ee(),
                permit = permit_type(),
                badge = badge_type(),
            ),
        );
        s.public.searches_per_minute = per_minute;
    }
}

/// An enterprise's credit code from a 9-symbol subject code.
fn enterprise(subject: &str) -> String {
    CreditCode::with_check_char(&format!("91410100{subject}"))
        .unwrap()
        .to_string()
}

/// Issues a 排污许可证 (number per HJ 608: credit code, site, letter); returns its id.
async fn issue_permit(app: &TestApp, subject: &str, name: &str, from: i64, until: i64) -> String {
    let code = enterprise(subject);
    let (status, body) = app
        .post(
            "/api/issuer/certificates",
            Some(EE_TOKEN),
            &json!({
                "type_code": permit_type(),
                "holder_kind": "enterprise",
                "holder_id": code,
                "holder_name": name,
                "valid_from": from,
                "valid_until": until,
                "fields": {
                    "许可证编号": format!("{code}001P"),
                    "单位名称": name,
                    "有效期限": "自2026年01月01日至2030年12月31日",
                    "发证机关": "郑州市生态环境局",
                    "法定代表人": "吴志强",
                    "生产经营场所地址": "郑州市中牟县汽车产业园1号",
                }
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn search_as(
    app: &TestApp,
    params: &[(&str, &str)],
    forwarded_for: Option<&str>,
) -> (u16, Value, HeaderMap) {
    let mut req = app
        .client
        .get(format!("{}/api/public/disclosures", app.base))
        .query(params);
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

async fn search(app: &TestApp, q: &str) -> (u16, Value) {
    let (status, body, _) = search_as(app, &[("q", q)], None).await;
    (status, body)
}

fn names(answer: &Value) -> Vec<&str> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {answer}"))
        .iter()
        .map(|r| r["enterprise_name"].as_str().unwrap())
        .collect()
}

both_backends!(
    anyone_finds_a_permit_by_part_of_the_enterprise_name_best_match_first_with_only_disclosable_fields,
    |backend| async move {
        let app = spawn_with(backend, with_permits(1_000)).await;
        let until = START + 1_000 * DAY;
        issue_permit(&app, "MA47QY001", "郑州市清源环保科技有限公司", START - DAY, until).await;
        issue_permit(&app, "MA47QY002", "清源（郑州）纸业有限公司", START - DAY, until).await;
        issue_permit(&app, "MA47LY003", "郑州市绿源热电有限公司", START - DAY, until).await;

        // No session: the name's 字号 finds both 清源 enterprises, the one whose name begins
        // with it first.
        let (status, found) = search(&app, "清源").await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["total"], 2);
        assert_eq!(
            names(&found),
            ["清源（郑州）纸业有限公司", "郑州市清源环保科技有限公司"]
        );
        let first = &found["results"][0];
        assert_eq!(first["permit_number"], format!("{}001P", enterprise("MA47QY002")));
        assert_eq!(first["type_name"], "排污许可证");
        assert_eq!(first["issuer_name"], "郑州市生态环境局");
        assert_eq!(first["status"], "valid");
        assert_eq!(first["status_label"], "有效");
        assert_eq!(first["days_left"], 1_000);
        assert_eq!(first["held_at"], "410100");
        assert_eq!(first["source"], "owner");
        // Only what the catalog marks disclosable: no legal representative, no address, no
        // certificate id.
        let fields: Vec<&String> = first["fields"].as_object().unwrap().keys().collect();
        assert_eq!(fields, ["单位名称", "发证机关", "有效期限", "许可证编号"]);
        assert!(first.get("cert_id").is_none());
        assert!(!found.to_string().contains("吴志强"), "{found}");
        assert_eq!(found["hotlines"][0]["number"], "12345");
        assert_eq!(found["hotlines"][1]["number"], "12369");
        assert_eq!(found["unavailable"], json!([]));

        // Punctuation and full-width forms do not matter; the full name finds exactly one.
        let (_, found) = search(&app, "清源(郑州)纸业").await;
        assert_eq!(names(&found), ["清源（郑州）纸业有限公司"]);
        let (_, found) = search(&app, "郑州市绿源热电有限公司").await;
        assert_eq!(names(&found), ["郑州市绿源热电有限公司"]);
        let (_, found) = search(&app, "蓝天").await;
        assert_eq!(found["total"], 0);
        assert_eq!(found["results"], json!([]));

        // A type narrows the search; an ill-formed one is refused.
        let (_, found, _) = search_as(&app, &[("q", "清源"), ("type", &badge_type())], None).await;
        assert_eq!(found["total"], 0);
        let (status, refused, _) = search_as(&app, &[("q", "清源"), ("type", "x")], None).await;
        assert_eq!((status, refused["code"].as_str()), (400, Some("search_type_invalid")));
    }
);

both_backends!(
    validity_status_is_computed_when_the_answer_is_made,
    |backend| async move {
        let app = spawn_with(backend, with_permits(1_000)).await;
        issue_permit(
            &app,
            "MA47QY001",
            "郑州市清源食品有限公司",
            START - 5 * DAY,
            START + 20 * DAY,
        )
        .await;
        issue_permit(
            &app,
            "MA47QY002",
            "郑州市清源纸业有限公司",
            START - 5 * DAY,
            START + 400 * DAY,
        )
        .await;
        let revoked = issue_permit(
            &app,
            "MA47QY003",
            "郑州市清源化工有限公司",
            START - 5 * DAY,
            START + 400 * DAY,
        )
        .await;
        let (status, body) = app
            .post(
                &format!("/api/issuer/certificates/{revoked}/revoke"),
                Some(EE_TOKEN),
                &json!({"reason": "企业关停"}),
            )
            .await;
        assert!(status == 200 || status == 204, "{status} {body}");

        let status_of = |answer: &Value, name: &str| -> (String, Value) {
            let r = answer["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["enterprise_name"] == name)
                .unwrap_or_else(|| panic!("{name} not in {answer}"));
            (
                r["status"].as_str().unwrap().to_owned(),
                r["days_left"].clone(),
            )
        };
        let (_, found) = search(&app, "清源").await;
        assert_eq!(found["total"], 3);
        assert_eq!(
            status_of(&found, "郑州市清源食品有限公司"),
            ("expiring".into(), json!(20))
        );
        assert_eq!(
            status_of(&found, "郑州市清源纸业有限公司"),
            ("valid".into(), json!(400))
        );
        assert_eq!(
            status_of(&found, "郑州市清源化工有限公司"),
            ("revoked".into(), Value::Null)
        );

        // Three weeks later the first has run out, whatever was pushed or stored.
        app.advance(21 * DAY);
        let (_, found) = search(&app, "清源").await;
        assert_eq!(
            status_of(&found, "郑州市清源食品有限公司"),
            ("expired".into(), Value::Null)
        );
        assert_eq!(
            status_of(&found, "郑州市清源纸业有限公司"),
            ("valid".into(), json!(379))
        );
    }
);

both_backends!(
    a_corrected_permit_is_found_under_its_new_name_only,
    |backend| async move {
        let app = spawn_with(backend, with_permits(1_000)).await;
        let old = issue_permit(
            &app,
            "MA47QY001",
            "郑州市清源环保科技有限公司",
            START - DAY,
            START + 900 * DAY,
        )
        .await;
        let code = enterprise("MA47QY001");
        let (status, body) = app
            .post(
                &format!("/api/issuer/certificates/{old}/correct"),
                Some(EE_TOKEN),
                &json!({
                    "holder_name": "郑州市清源环境科技有限公司",
                    "valid_from": START - DAY,
                    "valid_until": START + 900 * DAY,
                    "fields": {
                        "许可证编号": format!("{code}001P"),
                        "单位名称": "郑州市清源环境科技有限公司",
                        "有效期限": "自2026年01月01日至2030年12月31日",
                        "发证机关": "郑州市生态环境局",
                        "法定代表人": "吴志强",
                        "生产经营场所地址": "郑州市中牟县汽车产业园1号",
                    }
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (_, found) = search(&app, "清源").await;
        assert_eq!(names(&found), ["郑州市清源环境科技有限公司"]);
        let (_, found) = search(&app, "清源环保").await;
        assert_eq!(found["total"], 0);
    }
);

both_backends!(
    a_search_that_tries_to_list_everything_is_refused,
    |backend| async move {
        let app = spawn_with(backend, with_permits(10_000)).await;
        for i in 0..=200 {
            let subject = format!("MA47H{i:04}");
            let name = format!("郑州市第{i}化工有限公司");
            issue_permit(&app, &subject, &name, START - DAY, START + 900 * DAY).await;
        }
        let refused = |params: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let params: Vec<(&str, &str)> =
                    params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, body, headers) = search_as(app, &params, None).await;
                assert_eq!(status, 400, "{params:?}: {body}");
                assert_eq!(headers["content-type"], "application/problem+json");
                assert!(!body["title"].as_str().unwrap().is_empty());
                body["code"].as_str().unwrap().to_owned()
            }
        };
        let q = |v: &str| vec![("q", v.to_owned())];
        // Nothing, one character, wildcards.
        assert_eq!(refused(vec![]).await, "search_query_missing");
        assert_eq!(refused(q("")).await, "search_query_missing");
        assert_eq!(refused(q(" （） ")).await, "search_query_missing");
        assert_eq!(refused(q("化")).await, "search_query_too_short");
        for w in ["%", "%%", "*", "_", "?", "化工%", "％"] {
            assert_eq!(refused(q(w)).await, "search_query_wildcard", "{w}");
        }
        assert_eq!(refused(q(&"化".repeat(61))).await, "search_query_too_long");
        // A fragment every one of the 201 names holds.
        assert_eq!(refused(q("化工有限")).await, "search_too_broad");
        assert_eq!(refused(q("郑州市")).await, "search_too_broad");
        // Huge limits and paging.
        let with = |k: &'static str, v: &str| vec![("q", "第7化工".to_owned()), (k, v.to_owned())];
        assert_eq!(refused(with("limit", "1000")).await, "search_limit_invalid");
        assert_eq!(refused(with("limit", "0")).await, "search_limit_invalid");
        assert_eq!(refused(with("limit", "-1")).await, "search_limit_invalid");
        assert_eq!(refused(with("offset", "20")).await, "search_params_invalid");
        assert_eq!(refused(with("page", "2")).await, "search_params_invalid");

        // A specific name is still found, at most 20 at a time, with no way to the rest.
        let (status, found, _) = search_as(&app, &[("q", "第7化工")], None).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(names(&found), ["郑州市第7化工有限公司"]);
        let (_, found, _) = search_as(&app, &[("q", "第1"), ("limit", "20")], None).await;
        // 第1, 第10…第19, 第100…第199: 111 names.
        assert_eq!(found["total"], 111);
        assert_eq!(found["results"].as_array().unwrap().len(), 20);
        assert_eq!(found["truncated"], true);
    }
);

both_backends!(
    a_personal_certificate_is_never_disclosed,
    |backend| async move {
        let app = spawn_with(backend, with_permits(1_000)).await;
        issue_permit(
            &app,
            "MA47QY001",
            "郑州清源纸业有限公司",
            START - DAY,
            START + 900 * DAY,
        )
        .await;
        // A person's certificate of a type the catalog (wrongly) marks disclosable.
        let (status, body) = app
            .post(
                "/api/issuer/certificates",
                Some(EE_TOKEN),
                &json!({
                    "type_code": badge_type(),
                    "holder_kind": "person",
                    "holder_id": person(),
                    "holder_name": "李清源",
                    "valid_from": START - DAY,
                    "valid_until": START + 900 * DAY,
                    "fields": {"姓名": "李清源", "证书编号": "HJJC-2026-0001"}
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let badge = body["id"].as_str().unwrap().to_owned();

        let (_, found) = search(&app, "清源").await;
        assert_eq!(names(&found), ["郑州清源纸业有限公司"]);
        for q in ["李清源", "HJJC-2026-0001", &person()] {
            let (status, found) = search(&app, q).await;
            assert_eq!(status, 200, "{found}");
            assert_eq!(found["total"], 0, "{q}: {found}");
        }
        // Not even in the search index.
        let listed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM disclosure_names WHERE cert_id = $1")
                .bind(&badge)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert_eq!(listed, 0);
    }
);

/// Searches `n` times as `client` (via the trusted gateway's header); returns the statuses.
async fn searches(app: &TestApp, client: &str, n: usize) -> Vec<(u16, Value, HeaderMap)> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(search_as(app, &[("q", "清源")], Some(client)).await);
    }
    out
}

fn behind_gateway(per_minute: i64) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        with_permits(per_minute)(s);
        s.public.trusted_proxies = vec![Net::parse("127.0.0.1").unwrap()];
    }
}

both_backends!(
    searches_are_limited_per_client_and_every_process_of_the_node_counts_together,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway(3)).await;
        let other = spawn_second_with(&app, behind_gateway(3)).await;

        let first = searches(&app, "203.0.113.7", 4).await;
        assert!(first[..3].iter().all(|(s, _, _)| *s == 200));
        let (status, refused, headers) = &first[3];
        assert_eq!(*status, 429, "{refused}");
        assert_eq!(refused["code"], "rate_limited");
        assert_eq!(headers["content-type"], "application/problem+json");
        let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");

        // Another client is not affected; the same client at the node's other process is.
        assert_eq!(searches(&app, "198.51.100.9", 1).await[0].0, 200);
        assert_eq!(searches(&other, "203.0.113.7", 1).await[0].0, 429);

        // The next window admits the client again.
        app.advance(60);
        other.advance(60);
        assert_eq!(searches(&other, "203.0.113.7", 1).await[0].0, 200);
    }
);

both_backends!(
    a_forwarded_header_from_an_untrusted_connection_does_not_make_a_new_client,
    |backend| async move {
        let app = spawn_with(backend, with_permits(2)).await;
        assert_eq!(searches(&app, "203.0.113.7", 2).await[1].0, 200);
        // Same connection address, another claimed client: still the same client.
        let (status, refused, _) = &searches(&app, "198.51.100.9", 1).await[0];
        assert_eq!(
            (*status, refused["code"].as_str()),
            (429, Some("rate_limited"))
        );
    }
);
