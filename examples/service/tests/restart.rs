//! The service survives restarts: a real server process on a temporary data
//! directory, stopped gracefully (SIGINT) or killed (SIGKILL) after every
//! kind of change, and started again on the same directory. Balances,
//! answers to retried transfer ids, a revoked token (still 403), an API key
//! (still valid, its rate limit not refilled by the restart) and the ids
//! already handed out all come back, and the statements read the same.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

struct Server {
    process: Child,
    base: String,
    admin: String,
    client: Client,
}

/// Starts the service binary on `dir` and a free port; returns once it
/// listens (it prints its admin token after binding).
fn start(dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut process = Command::new(env!("CARGO_BIN_EXE_atomic-ledger-service"))
        .env("ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", dir)
        .env("SECRET", "the restart test's secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(process.stdout.take().unwrap());
    let admin = stdout
        .lines()
        .map(|line| line.unwrap())
        .find_map(|line| line.strip_prefix("admin token (24 h): ").map(str::to_owned))
        .expect("the service printed its admin token");
    Server { process, base: format!("http://127.0.0.1:{port}"), admin, client: Client::new() }
}

impl Server {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body)).await
    }

    async fn balance(&self, account: u64) -> i64 {
        let (status, body) =
            self.call(reqwest::Method::GET, &format!("/v1/accounts/{account}"), &self.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["balance"].as_i64().unwrap()
    }

    /// The account's whole statement (one page holds it here).
    async fn statement(&self, account: u64) -> Value {
        let path = format!("/v1/accounts/{account}/transfers?limit=1000");
        let (status, body) = self.call(reqwest::Method::GET, &path, &self.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["next"].is_null(), "one page: {body}");
        body
    }

    async fn transfer(&self, id: u64, amount: u64, token: &str) -> (StatusCode, Value) {
        self.post("/v1/transfers", token, json!({ "id": id, "to": 2, "amount": amount })).await
    }

    async fn data(&self, key: &str) -> (StatusCode, Value) {
        let response =
            self.client.get(format!("{}/v1/data", self.base)).header("X-API-Key", key).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Stops the process: SIGKILL, or SIGINT and a graceful exit.
    fn stop(mut self, kill: bool) {
        if kill {
            self.process.kill().unwrap();
        } else {
            let pid = self.process.id().to_string();
            assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        }
        let status = self.process.wait().unwrap();
        assert_eq!(status.success(), !kill, "{status:?}");
    }
}

struct Before {
    payer: String,
    revoked: String,
    key: String,
    last_id: u64,
}

/// Every kind of change the service makes, each acknowledged.
async fn changes(server: &Server) -> Before {
    let admin = server.admin.as_str();
    for (id, deposit) in [(1, 500), (2, 0), (3, 10)] {
        assert_eq!(server.post("/v1/accounts", admin, json!({ "id": id })).await.0, StatusCode::CREATED);
        if deposit > 0 {
            let path = format!("/v1/accounts/{id}/deposits");
            assert_eq!(server.post(&path, admin, json!({ "amount": deposit })).await.0, StatusCode::OK);
        }
    }
    let token = |scopes: Value| server.post("/v1/tokens", admin, json!({ "account": 1, "scopes": scopes }));
    let (_, payer) = token(json!(["debit"])).await;
    let (_, revoked) = token(json!(["debit"])).await;
    let payer_token = payer["token"].as_str().unwrap().to_owned();
    assert_eq!(server.transfer(1, 50, &payer_token).await.0, StatusCode::OK);
    assert_eq!(server.transfer(2, 10_000, &payer_token).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let revoke = format!("/v1/tokens/{}", revoked["token_id"]);
    assert_eq!(server.call(reqwest::Method::DELETE, &revoke, admin, None).await.0, StatusCode::OK);
    let key = json!({ "account": 3, "capacity": 3, "refill_amount": 3, "refill_interval_ms": 3_600_000 });
    let (status, key) = server.post("/v1/api-keys", admin, key).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key_text = key["api_key"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(server.data(&key_text).await.0, StatusCode::OK);
    }
    Before {
        payer: payer_token,
        revoked: revoked["token"].as_str().unwrap().to_owned(),
        key: key_text,
        last_id: key["key_id"].as_u64().unwrap(),
    }
}

async fn restart_keeps_everything(kill: bool) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let before = changes(&server).await;
    let statements = [server.statement(1).await, server.statement(2).await];
    assert_eq!(statements[0]["balance"], 450, "{}", statements[0]);
    let entries = statements[0]["entries"].as_array().unwrap();
    let amounts: Vec<i64> = entries.iter().map(|entry| entry["amount"].as_i64().unwrap()).collect();
    assert_eq!(amounts, [0, 500, -50, 0], "opened, deposit, transfer, the refused one: {}", statements[0]);
    // An open event stream does not hold up a graceful stop: it ends.
    let events = server.client.get(format!("{}/v1/events", server.base)).bearer_auth(&server.admin);
    let events = events.send().await.unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    server.stop(kill);
    drop(events);

    let server = start(dir.path());
    assert_eq!(
        (server.balance(1).await, server.balance(2).await, server.balance(3).await),
        (450, 50, 8),
        "balances and the key's allowance"
    );
    assert_eq!([server.statement(1).await, server.statement(2).await], statements, "statements as before");
    // Retried ids get their first answers, and move nothing again.
    assert_eq!(server.transfer(1, 50, &before.payer).await.0, StatusCode::OK);
    let (status, body) = server.transfer(2, 10_000, &before.payer).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("insufficient_funds"))
    );
    assert_eq!(server.balance(1).await, 450);
    // The revoked token stays revoked.
    let (status, body) = server.transfer(3, 1, &before.revoked).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("revoked")), "{body}");
    // The key works, and the restart did not refill its rate limit: 1 of 3 left.
    assert_eq!(server.data(&before.key).await.0, StatusCode::OK);
    let (status, body) = server.data(&before.key).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    // New credentials get new ids.
    let (status, token) =
        server.post("/v1/tokens", &server.admin, json!({ "account": 2, "scopes": ["debit"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    assert!(token["token_id"].as_u64().unwrap() > before.last_id, "{token}");
    server.stop(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_restart_keeps_everything() {
    restart_keeps_everything(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_keeps_everything_it_acknowledged() {
    restart_keeps_everything(true).await;
}
