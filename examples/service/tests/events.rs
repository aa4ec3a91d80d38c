//! The change stream and statements over real HTTP, on a persistent
//! service: a subscriber (server-sent events) sees every transfer made by
//! 200 concurrent requests exactly once, resumes with `Last-Event-ID`
//! without a gap or a repeat, and each account's statement adds up to its
//! balance.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use atomic_ledger::AccountId;
use atomic_ledger_service::{serve, AppState};
use futures::future::join_all;
use futures::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// A guard against a hang, not a speed claim: a missing event fails the
/// test after this long instead of blocking it forever.
const HANG_GUARD: Duration = Duration::from_secs(120);
const REQUESTS: u64 = 200;
const PAYERS: u64 = 4;

struct Server {
    base: String,
    admin: String,
    state: Arc<AppState>,
    client: Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(AppState::open(dir.path(), b"events test secret").unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, state.clone(), std::future::pending()));
    let admin = state.admin_token(600);
    Server { base, admin, state, client: Client::new(), _dir: dir }
}

impl Server {
    async fn send(&self, request: reqwest::RequestBuilder, token: &str) -> (StatusCode, Value) {
        let response = request.bearer_auth(token).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body), token).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)), token).await
    }

    /// Accounts 1..=PAYERS with 1 000 each, account 100 empty, and a token per payer.
    async fn setup(&self) -> Vec<String> {
        let mut tokens = Vec::new();
        for id in (1..=PAYERS).chain([100]) {
            assert_eq!(
                self.post("/v1/accounts", &self.admin, json!({ "id": id })).await.0,
                StatusCode::CREATED
            );
            if id != 100 {
                let path = format!("/v1/accounts/{id}/deposits");
                assert_eq!(self.post(&path, &self.admin, json!({ "amount": 1_000 })).await.0, StatusCode::OK);
                let (status, token) = self
                    .post("/v1/tokens", &self.admin, json!({ "account": id, "scopes": ["debit", "read"] }))
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{token}");
                tokens.push(token["token"].as_str().unwrap().to_owned());
            }
        }
        tokens
    }

    /// Opens the event stream; returns once the service has subscribed
    /// (its headers arrived).
    async fn events(&self, query: &str, last_event_id: Option<u64>) -> Events {
        let mut request = self.client.get(format!("{}/v1/events{query}", self.base)).bearer_auth(&self.admin);
        if let Some(last) = last_event_id {
            request = request.header("Last-Event-ID", last.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events { body: Box::pin(response.bytes_stream()), buffer: String::new() }
    }
}

/// A server-sent event stream, parsed.
struct Events {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Events {
    /// The next `change` event: (its id, its data).
    async fn next_change(&mut self) -> (u64, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|line| line.strip_prefix(name).map(|rest| rest.trim_start().to_owned()))
                };
                if field("event:").as_deref() != Some("change") {
                    continue; // a keep-alive comment
                }
                let id: u64 = field("id:").unwrap().parse().unwrap();
                let data: Value = serde_json::from_str(&field("data:").unwrap()).unwrap();
                assert_eq!(data["position"], id, "the SSE id is the event's position");
                return (id, data);
            }
            let chunk = self.body.next().await.expect("the stream goes on").unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Changes until `count` applied transfers were seen: (position, transfer id) of each.
    async fn transfers(&mut self, count: usize) -> Vec<(u64, u64)> {
        let mut seen = Vec::new();
        let collect = async {
            while seen.len() < count {
                let (position, data) = self.next_change().await;
                if let Some(applied) = data["change"].get("TransferApplied") {
                    seen.push((position, applied["id"].as_u64().unwrap()));
                }
            }
        };
        tokio::time::timeout(HANG_GUARD, collect).await.expect("every transfer arrives");
        seen
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sees_every_transfer_of_200_concurrent_requests_once() {
    let server = start().await;
    let tokens = server.setup().await;
    let mut events = server.events("", None).await; // from the end: only what follows
    let requests = (1..=REQUESTS).map(|id| {
        let token = &tokens[(id % PAYERS) as usize];
        server.post("/v1/transfers", token, json!({ "id": id, "to": 100, "amount": 3 }))
    });
    for (status, body) in join_all(requests).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let seen = events.transfers(REQUESTS as usize).await;
    let ids: BTreeMap<u64, u64> = seen.iter().map(|&(position, id)| (id, position)).collect();
    assert_eq!(ids.len(), REQUESTS as usize, "each transfer once");
    assert_eq!(ids.keys().copied().collect::<Vec<_>>(), (1..=REQUESTS).collect::<Vec<_>>());
    assert!(seen.windows(2).all(|pair| pair[0].0 < pair[1].0), "in log order");

    // A subscriber that saw up to the 100th resumes after it: the rest, once.
    let hundredth = seen[99].0;
    let mut resumed = server.events("", Some(hundredth)).await;
    assert_eq!(resumed.transfers(100).await, seen[100..].to_vec(), "Last-Event-ID resumes exactly after it");
    let mut from_query = server.events(&format!("?from={}", hundredth + 1), None).await;
    assert_eq!(from_query.transfers(100).await, seen[100..].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_add_up_to_the_balances_and_only_their_owner_reads_them() {
    let server = start().await;
    let tokens = server.setup().await;
    for id in 1..=40u64 {
        let token = &tokens[(id % PAYERS) as usize];
        let amount = if id % 10 == 0 { 5_000 } else { id }; // every tenth refused
        server.post("/v1/transfers", token, json!({ "id": id, "to": 100, "amount": amount })).await;
    }
    for account in (1..=PAYERS).chain([100]) {
        // Read right after the writes: the service waits until its fold has them.
        let mut entries = Vec::new();
        let mut from = 0;
        loop {
            let path = format!("/v1/accounts/{account}/transfers?from={from}&limit=7");
            let (status, page) = server.get(&path, &server.admin).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            entries.extend(page["entries"].as_array().unwrap().iter().cloned());
            match page["next"].as_u64() {
                Some(next) => from = next,
                None => break,
            }
        }
        let sum: i64 = entries.iter().map(|entry| entry["amount"].as_i64().unwrap()).sum();
        let balance = server.state.ledger.balance(AccountId(u128::from(account))).unwrap();
        assert_eq!(sum, balance, "account {account}: the statement adds up to the balance");
        assert_eq!(entries.last().unwrap()["balance"].as_i64(), Some(balance));
    }
    let (status, own) = server.get("/v1/accounts/1/transfers", &tokens[0]).await;
    assert_eq!(status, StatusCode::OK, "a payer reads its own statement: {own}");
    let (status, other) = server.get("/v1/accounts/2/transfers", &tokens[0]).await;
    assert_eq!((status, other["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, bad) = server.get("/v1/accounts/1/transfers?limit=0", &server.admin).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (status, bad) = server.get("/v1/events?from=99999999", &server.admin).await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("position_beyond_end"))
    );
    let (status, _) = server.get("/v1/events", &tokens[0]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the whole ledger's stream is the operator's");
}
