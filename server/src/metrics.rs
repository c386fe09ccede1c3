//! Prometheus metrics: requests and latencies by route and status, retrievals by result.
//! Kept in process memory and exposed at `/metrics`; each process of a node is scraped on its own.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    retrievals: Mutex<BTreeMap<String, u64>>,
    auth_failures: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let h = m.entry(route.to_owned()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.total += 1;
        }
    }

    /// Counts one retrieval attempt by its result code (`ok` or the refusal's code).
    pub fn record_retrieval(&self, result: &str) {
        if let Ok(mut m) = self.retrievals.lock() {
            *m.entry(result.to_owned()).or_default() += 1;
        }
    }

    /// Counts one failed secret check or limit reached (each also a row in `auth_failures`), by
    /// the kind of login and the result code: an operator's alert on a rising rate sees a
    /// brute-force attempt without reading the table.
    pub fn record_auth_failure(&self, kind: &str, result: &str) {
        if let Ok(mut m) = self.auth_failures.lock() {
            *m.entry((kind.to_owned(), result.to_owned())).or_default() += 1;
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP ecert_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE ecert_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(out, "ecert_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# HELP ecert_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE ecert_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.latency.lock() {
            for (route, h) in m.iter() {
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(out, "ecert_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}", h.counts[i]);
                }
                let _ = writeln!(out, "ecert_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.total);
                let _ = writeln!(
                    out,
                    "ecert_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "ecert_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.total
                );
            }
        }
        out.push_str("# HELP ecert_retrievals_total Counter retrievals by result code.\n");
        out.push_str("# TYPE ecert_retrievals_total counter\n");
        if let Ok(m) = self.retrievals.lock() {
            for (result, n) in m.iter() {
                let _ = writeln!(out, "ecert_retrievals_total{{result=\"{result}\"}} {n}");
            }
        }
        out.push_str(
            "# HELP ecert_auth_failures_total Failed logins and login limits reached, by kind and result.\n",
        );
        out.push_str("# TYPE ecert_auth_failures_total counter\n");
        if let Ok(m) = self.auth_failures.lock() {
            for ((kind, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "ecert_auth_failures_total{{kind=\"{kind}\",result=\"{result}\"}} {n}"
                );
            }
        }
        out
    }
}

/// Middleware: times every request and counts it under its route template (never the raw
/// path, so ids do not explode the label set).
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    s.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub async fn expose(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}
