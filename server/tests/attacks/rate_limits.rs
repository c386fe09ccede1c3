//! Guessing secrets and scraping the public register: brute-force password login per account
//! (from many addresses) and per address (over many accounts), guessing a six-digit code,
//! asking for codes without end, guessing a staff password, probing the population registry
//! through registration, and walking the public search. Each hits its limit with 429
//! `rate_limited` and `Retry-After`; no session is opened meanwhile; each failure and each
//! limit reached leaves a row in the failed-login trace.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use server::auth::throttle::{phone_account, resident_account, staff_account};
use server::config::Settings;
use server::db::rate_limit::AuthFailure;
use server::disclosure::client::Net;

use crate::both_backends;
use crate::helpers::*;
use crate::ledger;

/// Behind a trusted gateway, so each request can name its client (`X-Forwarded-For`).
fn behind_gateway(s: &mut Settings) {
    s.public.trusted_proxies = vec![Net::parse("127.0.0.1").unwrap()];
}

async fn post_from(
    app: &TestApp,
    client: &str,
    path: &str,
    body: &Value,
) -> (u16, Value, HeaderMap) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .header("x-forwarded-for", client)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// Asserts a 429 `rate_limited` whose `Retry-After` is within the hour's window.
#[track_caller]
fn assert_limited(reply: &(u16, Value, HeaderMap)) {
    let (status, body, headers) = reply;
    assert_eq!(
        (*status, body["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
}

async fn trace(app: &TestApp) -> Vec<AuthFailure> {
    let mut rows = app.state.db.auth_failures(0, 10_000).await.unwrap();
    rows.reverse();
    rows
}

/// The results the trace holds for `account`, sorted (rows of the same second have no order).
async fn traced(app: &TestApp, account: &str) -> Vec<String> {
    let mut results: Vec<String> = trace(app)
        .await
        .into_iter()
        .filter(|f| f.account == account)
        .map(|f| f.result)
        .collect();
    results.sort();
    results
}

both_backends!(
    brute_force_password_login_is_limited_per_account,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway).await;
        app.register_citizen().await;
        let before = ledger::read(&app.state.db).await;
        // Ten wrong passwords, each from another address.
        for i in 0..10 {
            let guess = json!({"resident_id": person(), "password": format!("guess-{i}")});
            let (status, body, _) =
                post_from(&app, &format!("203.0.113.{i}"), "/api/wallet/login", &guess).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("login_failed")));
        }
        // The eleventh try is refused before the password is checked, even the right one.
        let right = json!({"resident_id": person(), "password": PASSWORD});
        assert_limited(&post_from(&app, "198.51.100.1", "/api/wallet/login", &right).await);
        ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
        let mut expected = vec!["login_failed"; 10];
        expected.push("rate_limited");
        assert_eq!(traced(&app, &resident_account(&person())).await, expected);
        // The phone's one-time code is another door, with a count of its own.
        app.advance(61);
        let code = app.otp(PHONE, "login").await;
        let (status, _, _) = post_from(
            &app,
            "198.51.100.1",
            "/api/wallet/login",
            &json!({"phone": PHONE, "code": code}),
        )
        .await;
        assert_eq!(status, 200);
        // The next window admits the password again.
        app.advance(3600);
        let (status, body, _) = post_from(&app, "198.51.100.1", "/api/wallet/login", &right).await;
        assert_eq!(status, 200, "{body}");
    }
);

both_backends!(
    brute_force_login_from_one_address_is_limited_across_accounts,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway).await;
        app.register_citizen().await;
        let before = ledger::read(&app.state.db).await;
        // Thirty accounts tried once each: no account reaches its limit, the address does.
        for i in 0..30 {
            let guess =
                json!({"resident_id": format!("4101021990030{i:05}"), "password": "123456"});
            let (status, _, _) = post_from(&app, "203.0.113.7", "/api/wallet/login", &guess).await;
            assert_eq!(status, 400);
        }
        let right = json!({"resident_id": person(), "password": PASSWORD});
        assert_limited(&post_from(&app, "203.0.113.7", "/api/wallet/login", &right).await);
        // Staff login from that address counts against the same address.
        let clerk = json!({"id": "lh-clerk-01", "password": CLERK_PASSWORD});
        assert_limited(&post_from(&app, "203.0.113.7", "/api/staff/login", &clerk).await);
        ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
        let rows = trace(&app).await;
        assert_eq!(rows.len(), 31, "30 failures and the limit reached once");
        assert!(rows.iter().all(|r| r.client == "203.0.113.7"));
        // Another address is not affected.
        let (status, _, _) = post_from(&app, "198.51.100.2", "/api/wallet/login", &right).await;
        assert_eq!(status, 200);
    }
);

both_backends!(
    guessing_a_one_time_code_is_limited_per_phone,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway).await;
        app.register_citizen().await;
        let before = ledger::read(&app.state.db).await;
        // Two codes, five wrong guesses each (a code allows five), from ever new addresses.
        let mut n = 0;
        for _ in 0..2 {
            app.advance(61);
            let code = app.otp(PHONE, "login").await;
            let wrong = if code == "000000" { "111111" } else { "000000" };
            for _ in 0..5 {
                n += 1;
                let (status, body, _) = post_from(
                    &app,
                    &format!("203.0.113.{n}"),
                    "/api/wallet/login",
                    &json!({"phone": PHONE, "code": wrong}),
                )
                .await;
                assert_eq!((status, body["code"].as_str()), (400, Some("otp_wrong")));
            }
        }
        // A third code, the right one: refused, the phone has used up its guesses.
        app.advance(61);
        let code = app.otp(PHONE, "login").await;
        let right = json!({"phone": PHONE, "code": code});
        assert_limited(&post_from(&app, "198.51.100.1", "/api/wallet/login", &right).await);
        // Registration with a code for that phone counts against the same phone.
        let register =
            json!({"resident_id": grantee(), "name": "李四", "phone": PHONE, "code": "123456"});
        assert_limited(&post_from(&app, "198.51.100.1", "/api/wallet/register", &register).await);
        let changed = ledger::read(&app.state.db).await.since(&before);
        assert!(!changed.contains_key("sessions"), "{changed:?}");
        let results = traced(&app, &phone_account(PHONE)).await;
        assert_eq!(results.iter().filter(|r| *r == "otp_wrong").count(), 10);
        assert!(results.contains(&"rate_limited".to_owned()));
        // Ten guesses an hour: a six-digit code stands about 1 in 4,000 a day.
        app.advance(3600);
        let code = app.otp(PHONE, "login").await;
        let (status, _, _) = post_from(
            &app,
            "198.51.100.1",
            "/api/wallet/login",
            &json!({"phone": PHONE, "code": code}),
        )
        .await;
        assert_eq!(status, 200);
    }
);

both_backends!(
    asking_for_one_time_codes_without_end_is_limited_per_phone_and_per_address,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway).await;
        let ask = |phone: String| json!({"phone": phone, "purpose": "login"});
        // One phone, one code a minute from ever new addresses: ten an hour.
        for i in 0..10 {
            let (status, body, _) = post_from(
                &app,
                &format!("203.0.113.{i}"),
                "/api/wallet/otp",
                &ask(PHONE.into()),
            )
            .await;
            assert_eq!(status, 202, "{body}");
            app.advance(61);
        }
        let before = ledger::read(&app.state.db).await;
        assert_limited(
            &post_from(&app, "198.51.100.1", "/api/wallet/otp", &ask(PHONE.into())).await,
        );
        // One address, many phones: twenty an hour.
        for i in 0..20 {
            let phone = format!("137{i:08}");
            let (status, body, _) =
                post_from(&app, "198.51.100.7", "/api/wallet/otp", &ask(phone)).await;
            assert_eq!(status, 202, "{body}");
        }
        assert_limited(
            &post_from(
                &app,
                "198.51.100.7",
                "/api/wallet/otp",
                &ask("13600000000".into()),
            )
            .await,
        );
        ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
        let limits: Vec<AuthFailure> = trace(&app)
            .await
            .into_iter()
            .filter(|f| f.kind == "otp_send")
            .collect();
        assert_eq!(limits.len(), 2, "{limits:?}");
        assert!(limits.iter().all(|f| f.result == "rate_limited"));
    }
);

both_backends!(
    brute_force_staff_login_is_limited_per_staff_id,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway).await;
        let before = ledger::read(&app.state.db).await;
        for i in 0..10 {
            let guess = json!({"id": "lh-clerk-01", "password": format!("guess-{i}")});
            let (status, body, _) =
                post_from(&app, &format!("203.0.113.{i}"), "/api/staff/login", &guess).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("login_failed")));
        }
        let right = json!({"id": "lh-clerk-01", "password": CLERK_PASSWORD});
        assert_limited(&post_from(&app, "198.51.100.1", "/api/staff/login", &right).await);
        ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
        let mut expected = vec!["login_failed"; 10];
        expected.push("rate_limited");
        assert_eq!(traced(&app, &staff_account("lh-clerk-01")).await, expected);
        let kinds: Vec<String> = trace(&app).await.into_iter().map(|f| f.kind).collect();
        assert!(kinds.iter().all(|k| k == "staff_password"), "{kinds:?}");
        // The operators' metrics count them too, for an alert on the rate.
        let metrics = app.metrics().await;
        for line in [
            r#"ecert_auth_failures_total{kind="staff_password",result="login_failed"} 10"#,
            r#"ecert_auth_failures_total{kind="staff_password",result="rate_limited"} 1"#,
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
        }
    }
);

both_backends!(
    probing_the_population_registry_through_registration_is_limited_per_address,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway).await;
        app.state
            .db
            .upsert_resident(&person(), "张三")
            .await
            .unwrap();
        // Which name goes with this resident ID? Each wrong name is a failed check.
        for i in 0..30 {
            let probe = json!({"resident_id": person(), "name": format!("张{i}"),
                               "phone": format!("137{i:08}"), "code": "000000"});
            let (status, body, _) =
                post_from(&app, "203.0.113.9", "/api/wallet/register", &probe).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some("real_name_mismatch"))
            );
        }
        let probe = json!({"resident_id": person(), "name": "张三",
                           "phone": "13600000000", "code": "000000"});
        assert_limited(&post_from(&app, "203.0.113.9", "/api/wallet/register", &probe).await);
        let rows = trace(&app).await;
        assert_eq!(rows.iter().filter(|f| f.kind == "register").count(), 31);
    }
);

both_backends!(
    scraping_the_public_register_hits_the_search_limit,
    |backend| async move {
        let app = spawn_with(backend, |s: &mut Settings| {
            behind_gateway(s);
            s.public.searches_per_minute = 5;
        })
        .await;
        let before = ledger::read(&app.state.db).await;
        // A scraper walking the register name by name from one address.
        let mut statuses = Vec::new();
        let mut last = None;
        for name in ["清源", "绿源", "金源", "起重", "食品", "纸业", "化工"] {
            let r = app
                .client
                .get(format!("{}/api/public/disclosures", app.base))
                .query(&[("q", name)])
                .header("x-forwarded-for", "203.0.113.50")
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
            let headers = r.headers().clone();
            last = Some((
                r.status().as_u16(),
                r.json().await.unwrap_or(Value::Null),
                headers,
            ));
        }
        assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429]);
        let last = last.unwrap();
        assert_eq!(last.1["code"], "rate_limited");
        let retry: i64 = last.2["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        ledger::assert_changed(&before, &ledger::read(&app.state.db).await, &[]);
    }
);

both_backends!(
    concurrent_guesses_at_two_processes_of_the_node_cannot_pass_the_account_limit,
    |backend| async move {
        let app = spawn_with(backend, behind_gateway).await;
        let second = spawn_second_with(&app, behind_gateway).await;
        app.register_citizen().await;
        // Twenty wrong passwords at once, half at each process, each from its own address:
        // each attempt takes its count before the password is checked, so exactly ten are
        // checked and ten refused, however they interleave.
        let mut attempts = tokio::task::JoinSet::new();
        for i in 0..20 {
            let base = if i % 2 == 0 { &app.base } else { &second.base };
            let request = app
                .client
                .post(format!("{base}/api/wallet/login"))
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .json(&json!({"resident_id": person(), "password": format!("guess-{i}")}));
            attempts.spawn(async move {
                let reply: Value = request.send().await.unwrap().json().await.unwrap();
                reply["code"].as_str().unwrap().to_owned()
            });
        }
        let mut codes = attempts.join_all().await;
        codes.sort();
        let mut expected = vec!["login_failed".to_owned(); 10];
        expected.extend(vec!["rate_limited".to_owned(); 10]);
        assert_eq!(codes, expected);
        let right = json!({"resident_id": person(), "password": PASSWORD});
        assert_limited(&post_from(&second, "198.51.100.1", "/api/wallet/login", &right).await);
    }
);
