//! Requests per second the service sustains for `POST /v1/transfers` and
//! `GET /v1/data`: the server and the client (reqwest, one pool, `CONCURRENCY`
//! requests in flight) in one process on this machine, over `SECONDS` each.
//!
//! `cargo run --release -p atomic-ledger-service --example load`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atomic_ledger::Ledger;
use atomic_ledger_service::{serve, AppState};
use serde_json::{json, Value};

const CONCURRENCY: usize = 64;
const SECONDS: u64 = 5;

#[tokio::main]
async fn main() {
    let ledger =
        Ledger::builder().accounts_max(16).credentials_max(16).buckets_max(16).build().expect("valid config");
    let state = Arc::new(AppState::new(ledger, b"load secret"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(serve(listener, state.clone(), std::future::pending()));
    let client = reqwest::Client::new();
    let admin = state.admin_token(600);
    let post =
        |path: &str, body: Value| client.post(format!("{base}{path}")).bearer_auth(&admin).json(&body).send();
    for (id, balance) in [(1, 1u64 << 40), (2, 0), (3, 1 << 40)] {
        post("/v1/accounts", json!({ "id": id })).await.expect("created");
        if balance > 0 {
            post(&format!("/v1/accounts/{id}/deposits"), json!({ "amount": balance }))
                .await
                .expect("deposited");
        }
    }
    let token: Value = post("/v1/tokens", json!({ "account": 1, "scopes": ["debit"] }))
        .await
        .expect("issued")
        .json()
        .await
        .expect("json");
    let token = token["token"].as_str().expect("a token").to_string();
    let key =
        json!({ "account": 3, "capacity": 16_000_000, "refill_amount": 16_000_000, "refill_interval_ms": 1 });
    let key: Value = post("/v1/api-keys", key).await.expect("created").json().await.expect("json");
    let api_key = key["api_key"].as_str().expect("a key").to_string();

    let next_id = Arc::new(AtomicU64::new(1));
    for endpoint in ["POST /v1/transfers", "GET /v1/data"] {
        let (ok, other) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let deadline = Instant::now() + Duration::from_secs(SECONDS);
        let started = Instant::now();
        let workers: Vec<_> = (0..CONCURRENCY)
            .map(|_| {
                let (client, base, token, api_key) =
                    (client.clone(), base.clone(), token.clone(), api_key.clone());
                let (ok, other, next_id) = (ok.clone(), other.clone(), next_id.clone());
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let request = if endpoint.starts_with("POST") {
                            let id = next_id.fetch_add(1, Ordering::Relaxed);
                            let body = json!({ "id": id, "to": 2, "amount": 1 });
                            client.post(format!("{base}/v1/transfers")).bearer_auth(&token).json(&body)
                        } else {
                            client.get(format!("{base}/v1/data")).header("X-API-Key", &api_key)
                        };
                        match request.send().await {
                            Ok(response) if response.status().is_success() => {
                                ok.fetch_add(1, Ordering::Relaxed)
                            }
                            _ => other.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.expect("worker");
        }
        let seconds = started.elapsed().as_secs_f64();
        let (ok, other) = (ok.load(Ordering::Relaxed), other.load(Ordering::Relaxed));
        println!(
            "{endpoint:<20} {:>8.0} requests/s ({ok} ok, {other} not, {CONCURRENCY} in flight, {seconds:.1} s)",
            ok as f64 / seconds
        );
    }
    assert!(state.ledger.audit().is_consistent());
}
