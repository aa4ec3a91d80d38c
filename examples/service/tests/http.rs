//! The service under concurrent HTTP load, as an attacker would hit it: a
//! real server on 127.0.0.1 and a real client (reqwest, one connection pool)
//! firing many requests at once.

use std::sync::Arc;
use std::time::Instant;

use atomic_ledger::{AccountId, Ledger};
use atomic_ledger_service::{serve, AppState};
use futures::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

struct Server {
    base: String,
    admin: String,
    state: Arc<AppState>,
    client: Client,
}

async fn start() -> Server {
    let ledger = Ledger::builder().accounts_max(64).credentials_max(256).buckets_max(64).build().unwrap();
    start_with(AppState::new(ledger, b"test secret")).await
}

async fn start_with(state: AppState) -> Server {
    let state = Arc::new(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, state.clone(), std::future::pending()));
    let admin = state.admin_token(600);
    Server { base, admin, state, client: Client::new() }
}

impl Server {
    async fn admin_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn open(&self, id: u64, balance: u64) {
        assert_eq!(self.admin_post("/v1/accounts", json!({ "id": id })).await.0, StatusCode::CREATED);
        if balance > 0 {
            let deposit =
                self.admin_post(&format!("/v1/accounts/{id}/deposits"), json!({ "amount": balance })).await;
            assert_eq!(deposit.0, StatusCode::OK);
        }
    }

    async fn token(&self, account: u64, scopes: &[&str]) -> (u64, String) {
        let (status, body) =
            self.admin_post("/v1/tokens", json!({ "account": account, "scopes": scopes })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (body["token_id"].as_u64().unwrap(), body["token"].as_str().unwrap().to_string())
    }

    fn balance(&self, id: u64) -> i64 {
        self.state.ledger.balance(AccountId(u128::from(id))).unwrap()
    }

    async fn transfer(&self, token: &str, id: u64, to: u64, amount: u64) -> (StatusCode, Value) {
        let body = json!({ "id": id, "to": to, "amount": amount });
        let response = self
            .client
            .post(format!("{}/v1/transfers", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_transfers_drain_one_account_exactly() {
    let server = start().await;
    server.open(1, 300).await;
    server.open(2, 0).await;
    let (_, token) = server.token(1, &["debit"]).await;
    let responses = join_all((1..=500).map(|id| server.transfer(&token, id, 2, 1))).await;
    let ok = responses.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    let refused = responses
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::UNPROCESSABLE_ENTITY && body["error"]["code"] == "insufficient_funds"
        })
        .count();
    assert_eq!((ok, refused), (300, 200), "every response is a success or insufficient funds");
    assert_eq!((server.balance(1), server.balance(2)), (0, 300), "none overdrew, money conserved");
    assert!(server.state.ledger.audit().is_consistent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_requests_on_a_fifty_unit_key_get_exactly_fifty() {
    let server = start().await;
    server.open(7, 50).await; // the key's allowance: 50 units
    let key = json!({ "account": 7, "capacity": 1000, "refill_amount": 1000, "refill_interval_ms": 1000 });
    let (status, body) = server.admin_post("/v1/api-keys", key).await;
    assert_eq!(status, StatusCode::CREATED);
    let api_key = body["api_key"].as_str().unwrap().to_string();
    let get = || server.client.get(format!("{}/v1/data", server.base)).header("X-API-Key", &api_key).send();
    let statuses: Vec<StatusCode> = join_all((0..200).map(|_| get()))
        .await
        .into_iter()
        .map(|response| response.unwrap().status())
        .collect();
    let served = statuses.iter().filter(|&&status| status == StatusCode::OK).count();
    let limited = statuses.iter().filter(|&&status| status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((served, limited), (50, 150));
    assert_eq!(server.balance(7), 0);
    // The allowance is spent: 429 `quota_exhausted`, and no Retry-After (only
    // a deposit refills it; no time can be promised).
    let response = get().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quota_exhausted", "{body}");

    // A rate limit that binds: 3 per minute, so the fourth request is told when to come back.
    server.open(8, 100).await;
    let key = json!({ "account": 8, "capacity": 3, "refill_amount": 3, "refill_interval_ms": 60000 });
    let api_key = server.admin_post("/v1/api-keys", key).await.1["api_key"].as_str().unwrap().to_string();
    for expected in [200, 200, 200, 429] {
        let response = server
            .client
            .get(format!("{}/v1/data", server.base))
            .header("X-API-Key", &api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected);
        if expected == 429 {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
            assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_transfer_id_twenty_times_at_once_is_applied_once() {
    let server = start().await;
    server.open(1, 1_000).await;
    server.open(2, 0).await;
    let (_, token) = server.token(1, &["debit"]).await;
    let responses = join_all((0..20).map(|_| server.transfer(&token, 42, 2, 250))).await;
    let first = &responses[0];
    assert_eq!(first.0, StatusCode::OK);
    assert!(responses.iter().all(|response| response == first), "{responses:?}");
    assert_eq!((server.balance(1), server.balance(2)), (750, 250));
    // Reusing the id with different fields is a conflict, and changes nothing.
    let reused = server.transfer(&token, 42, 2, 251).await;
    assert_eq!(
        (reused.0, reused.1["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("transfer_id_reused"))
    );
    assert_eq!(server.balance(1), 750);
}

/// 200 transfers with one token race its revocation. In every round: no
/// request sent after the revoke response succeeds, and nothing lands in
/// the ledger after the revoke returns. The race is only interesting when
/// some requests win and some lose, so rounds repeat (fresh token each) until
/// one does, up to 20.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_the_revoke_response_no_request_with_the_token_succeeds() {
    let server = start().await;
    server.open(1, 1_000_000).await;
    server.open(2, 0).await;
    let mut mixed_rounds = 0;
    for round in 0..20u64 {
        let (token_id, token) = server.token(1, &["debit"]).await;
        let before = server.balance(2);
        let sends = (1..=200u64).map(|n| {
            let (server, token) = (&server, &token);
            async move {
                let sent_at = Instant::now();
                let (status, _) = server.transfer(token, round * 1_000 + n, 2, 1).await;
                (sent_at, status)
            }
        });
        let revoke = async {
            tokio::task::yield_now().await;
            let response = server
                .client
                .delete(format!("{}/v1/tokens/{token_id}", server.base))
                .bearer_auth(&server.admin)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            // What the ledger holds when the revoke has returned is final.
            (Instant::now(), server.balance(2))
        };
        let (results, (revoked_at, at_revoke)) = tokio::join!(join_all(sends), revoke);
        let late =
            results.iter().filter(|(sent_at, status)| *sent_at > revoked_at && *status == StatusCode::OK);
        assert_eq!(late.count(), 0, "a request sent after the revoke response succeeded");
        let succeeded = results.iter().filter(|(_, status)| *status == StatusCode::OK).count() as i64;
        assert_eq!(server.balance(2), at_revoke, "a transfer landed after the revoke returned");
        assert_eq!(server.balance(2) - before, succeeded);
        assert!(results
            .iter()
            .all(|(_, status)| *status == StatusCode::OK || *status == StatusCode::FORBIDDEN));
        let after = server.transfer(&token, round * 1_000 + 999, 2, 1).await;
        assert_eq!((after.0, after.1["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("revoked")));
        if succeeded > 0 && succeeded < 200 {
            mixed_rounds += 1;
            break;
        }
    }
    assert_eq!(mixed_rounds, 1, "in 20 rounds the revoke never landed among the transfers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_requests_get_clear_4xx_and_change_nothing() {
    let server = start().await;
    server.open(1, 500).await;
    server.open(2, 0).await;
    let (_, token) = server.token(1, &["debit"]).await;
    let (_, reader) = server.token(1, &["read"]).await;
    let url = format!("{}/v1/transfers", server.base);
    let raw = |body: &'static str| {
        server
            .client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(&str, reqwest::Response, u16, &str)> = vec![
        ("malformed JSON", raw("{\"id\": 1, \"to\": 2,").await.unwrap(), 400, "bad_request"),
        ("negative amount", raw(r#"{"id":1,"to":2,"amount":-5}"#).await.unwrap(), 400, "bad_request"),
        (
            "huge amount",
            raw(r#"{"id":1,"to":2,"amount":99999999999999999999999}"#).await.unwrap(),
            400,
            "bad_request",
        ),
        ("zero amount", raw(r#"{"id":1,"to":2,"amount":0}"#).await.unwrap(), 400, "bad_request"),
        (
            "amount above the maximum",
            raw(r#"{"id":1,"to":2,"amount":18446744073709551615}"#).await.unwrap(),
            400,
            "bad_request",
        ),
        ("unknown field", raw(r#"{"id":1,"to":2,"amount":1,"from":2}"#).await.unwrap(), 400, "bad_request"),
        ("zero id", raw(r#"{"id":0,"to":2,"amount":1}"#).await.unwrap(), 400, "bad_request"),
        ("unknown account", raw(r#"{"id":1,"to":99,"amount":1}"#).await.unwrap(), 404, "unknown_account"),
        (
            "no token",
            server.client.post(&url).json(&json!({"id":1,"to":2,"amount":1})).send().await.unwrap(),
            401,
            "unauthorized",
        ),
        (
            "garbage token",
            server
                .client
                .post(&url)
                .bearer_auth("not.a.jwt")
                .json(&json!({"id":1,"to":2,"amount":1}))
                .send()
                .await
                .unwrap(),
            401,
            "unauthorized",
        ),
        (
            "not a bearer header",
            server
                .client
                .post(&url)
                .header("authorization", "Basic abc")
                .json(&json!({"id":1,"to":2,"amount":1}))
                .send()
                .await
                .unwrap(),
            401,
            "unauthorized",
        ),
        (
            "token without the debit scope",
            server
                .client
                .post(&url)
                .bearer_auth(&reader)
                .json(&json!({"id":1,"to":2,"amount":1}))
                .send()
                .await
                .unwrap(),
            403,
            "forbidden",
        ),
        (
            "no API key",
            server.client.get(format!("{}/v1/data", server.base)).send().await.unwrap(),
            401,
            "unauthorized",
        ),
        (
            "garbage API key",
            server
                .client
                .get(format!("{}/v1/data", server.base))
                .header("X-API-Key", "nope")
                .send()
                .await
                .unwrap(),
            401,
            "unauthorized",
        ),
        (
            "a user token on an admin endpoint",
            server
                .client
                .post(format!("{}/v1/accounts", server.base))
                .bearer_auth(&token)
                .json(&json!({"id": 3}))
                .send()
                .await
                .unwrap(),
            403,
            "admin_only",
        ),
    ];
    for (case, response, status, code) in cases {
        assert_eq!(response.status().as_u16(), status, "{case}");
        let body: Value = response.json().await.unwrap_or_else(|_| panic!("{case}: a JSON body"));
        assert_eq!(body["error"]["code"], code, "{case}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{case}");
    }
    assert_eq!((server.balance(1), server.balance(2)), (500, 0), "nothing moved");
    assert_eq!(server.state.ledger.transfer_ids_remembered(), 0, "no transfer id was recorded");
    // And the well-formed request still works, with the ids those attempts did not use up.
    assert_eq!(server.transfer(&token, 1, 2, 5).await.0, StatusCode::OK);
    assert_eq!(server.balance(2), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holds_are_created_posted_and_voided_over_http() {
    let server = start().await;
    server.open(1, 100).await;
    server.open(2, 0).await;
    let (_, token) = server.token(1, &["hold", "resolve"]).await;
    let call = |path: String, body: Value| {
        server.client.post(format!("{}{path}", server.base)).bearer_auth(&token).json(&body).send()
    };
    let hold = |id: u64, amount: u64| {
        call("/v1/holds".into(), json!({ "id": id, "to": 2, "amount": amount, "expires_in_ms": 60_000 }))
    };
    assert_eq!(hold(1, 60).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(hold(2, 30).await.unwrap().status(), StatusCode::CREATED);
    let refused = hold(3, 11).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.balance(1), 10);
    let posted: Value =
        call("/v1/holds/1/post".into(), json!({ "amount": 45 })).await.unwrap().json().await.unwrap();
    assert_eq!((posted["posted"].as_u64(), posted["returned"].as_u64()), (Some(45), Some(15)));
    let voided = call("/v1/holds/2/void".into(), json!({})).await.unwrap();
    assert_eq!(voided.status(), StatusCode::OK);
    let again = call("/v1/holds/2/void".into(), json!({})).await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(again.json::<Value>().await.unwrap()["error"]["code"], "hold_already_resolved");
    let unknown = call("/v1/holds/9/void".into(), json!({})).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!((server.balance(1), server.balance(2)), (55, 45));
    assert!(server.state.ledger.audit().is_consistent());
}

/// Graceful shutdown: once told to stop, the server finishes and `serve`
/// returns; it accepted and answered requests until then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_shuts_down_gracefully() {
    let ledger = Ledger::builder().accounts_max(4).credentials_max(4).buckets_max(4).build().unwrap();
    let state = Arc::new(AppState::new(ledger, b"test secret"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let client = Client::new();
    let created = client
        .post(format!("{base}/v1/accounts"))
        .bearer_auth(state.admin_token(60))
        .json(&json!({ "id": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    drop(client); // close the pooled connection, which graceful shutdown would wait for
    stop.send(()).unwrap();
    let served = tokio::time::timeout(std::time::Duration::from_secs(30), server).await;
    assert!(matches!(served, Ok(Ok(Ok(())))), "serve returned after the signal: {served:?}");
    assert!(state.ledger.account(AccountId(1)).is_ok());
}

/// Every answer is the documented JSON error, whatever was wrong: no route,
/// a wrong method, an id that is not a number, a body that is not an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_refusal_is_a_json_error_with_a_stable_code() {
    let server = start().await;
    server.open(1, 500).await;
    server.open(2, 0).await;
    let (_, token) = server.token(1, &["debit"]).await;
    let base = &server.base;
    let client = &server.client;
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        ("an unknown route", client.get(format!("{base}/v1/nowhere")), 404, "not_found"),
        ("the root", client.get(format!("{base}/")), 404, "not_found"),
        ("a wrong method", client.delete(format!("{base}/v1/transfers")), 405, "method_not_allowed"),
        ("GET on a POST route", client.get(format!("{base}/v1/accounts")), 405, "method_not_allowed"),
        (
            "a word for an id",
            client.get(format!("{base}/v1/accounts/abc")).bearer_auth(&server.admin),
            400,
            "invalid_id",
        ),
        (
            "a negative id",
            client.get(format!("{base}/v1/accounts/-1")).bearer_auth(&server.admin),
            400,
            "invalid_id",
        ),
        (
            "an id above u64",
            client.get(format!("{base}/v1/accounts/18446744073709551616")).bearer_auth(&server.admin),
            400,
            "invalid_id",
        ),
        (
            "a bad id on a POST route",
            client.post(format!("{base}/v1/holds/x1/void")).bearer_auth(&token),
            400,
            "invalid_id",
        ),
        (
            "the transfer as a JSON array",
            client
                .post(format!("{base}/v1/transfers"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("[7, 2, 5]"),
            400,
            "bad_request",
        ),
        (
            "a JSON string body",
            client
                .post(format!("{base}/v1/transfers"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("\"pay\""),
            400,
            "bad_request",
        ),
    ];
    for (case, request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        let content_type =
            response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned());
        assert_eq!(content_type.as_deref(), Some("application/json"), "{case}");
        let body: Value = response.json().await.unwrap_or_else(|_| panic!("{case}: a JSON body"));
        assert_eq!(body["error"]["code"], code, "{case}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{case}");
    }
    assert_eq!((server.balance(1), server.balance(2)), (500, 0), "the array body moved nothing");
    assert_eq!(server.state.ledger.transfer_ids_remembered(), 0, "and recorded no id");
    // The object form of the same transfer works.
    assert_eq!(server.transfer(&token, 7, 2, 5).await.0, StatusCode::OK);
    assert_eq!(server.balance(2), 5);
}

/// `/healthz` answers ok; `/metrics` is Prometheus text with requests by
/// route template and status, the durability waits, and the journal's
/// syncs, bytes and time of a persistent service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_report_requests_and_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(AppState::open(dir.path(), b"test secret").unwrap()).await;
    server.open(1, 100).await;
    server.open(2, 0).await;
    let (_, token) = server.token(1, &["debit"]).await;
    assert_eq!(server.transfer(&token, 1, 2, 5).await.0, StatusCode::OK);
    assert_eq!(server.transfer(&token, 2, 2, 500).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let health = server.client.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
    let response = server.client.get(format!("{}/metrics", server.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let value = |prefix: &str| -> f64 {
        let line = text
            .lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value(r#"http_requests_total{route="/v1/transfers",status="200"}"#), 1.0);
    assert_eq!(value(r#"http_requests_total{route="/v1/transfers",status="422"}"#), 1.0);
    assert_eq!(value(r#"http_requests_total{route="/v1/accounts/{id}/deposits",status="200"}"#), 1.0);
    assert!(value("journal_syncs_total") >= 1.0);
    assert!(value("journal_bytes_written_total") > 0.0);
    assert!(value("ledger_durable_wait_seconds_count") >= 6.0, "every change awaited its sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_lists_every_route_and_error_code() {
    let server = start().await;
    let response = server.client.get(format!("{}/openapi.json", server.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let description: Value = response.json().await.unwrap();
    let paths: Vec<&str> = description["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for route in [
        "/v1/accounts",
        "/v1/accounts/{id}",
        "/v1/accounts/{id}/deposits",
        "/v1/accounts/{id}/transfers",
        "/v1/events",
        "/v1/tokens",
        "/v1/tokens/{id}",
        "/v1/api-keys",
        "/v1/transfers",
        "/v1/holds",
        "/v1/holds/{id}/post",
        "/v1/holds/{id}/void",
        "/v1/data",
        "/healthz",
        "/metrics",
    ] {
        assert!(paths.contains(&route), "{route} is described: {paths:?}");
    }
    let codes = &description["components"]["schemas"]["ErrorCode"]["enum"];
    for code in
        ["insufficient_funds", "revoked", "rate_limited", "quota_exhausted", "invalid_id", "not_found"]
    {
        assert!(codes.as_array().unwrap().iter().any(|listed| listed == code), "{code} in {codes}");
    }
    // An error answer's code is one of those listed.
    let response = server.client.get(format!("{}/v1/accounts/abc", server.base)).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(codes.as_array().unwrap().contains(&body["error"]["code"]), "{body}");
}
