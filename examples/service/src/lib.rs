//! An HTTP service built on atomic-ledger. It authenticates with bearer
//! tokens (signed JWTs) and API keys, and it cannot be raced: every
//! authorization decision that matters (revoked? scoped? capped? within
//! quota?) is made by the ledger in the same step sequence as the action,
//! never cached from the start of the request.
//!
//! * **Bearer tokens**: HS256 JWTs, checked at the edge for signature and
//!   expiry only. Their `jti` is a ledger credential id, and their `sub` the
//!   account it acts for; the handler calls `transfer_as`, `hold_as`, … with
//!   that credential, so a token revoked (`DELETE /v1/tokens/{id}`) while its
//!   request is in flight does not move money after the revoke returns.
//! * **API keys**: `X-API-Key`, stored only as a SHA-256 hash and mapped to a
//!   credential with a refilling rate-limit bucket, for an allowance account.
//!   `GET /v1/data` spends one unit of both (429 with `Retry-After` when short).
//! * **Admin**: a JWT with `"admin": true`, minted from the same secret
//!   ([`AppState::admin_token`]), for creating accounts, deposits, tokens and
//!   keys. Admin calls are the operator's, not a ledger credential's.
//!
//! Errors are JSON bodies `{"error": {"code": "...", "message": "..."}}` with
//! stable codes; a malformed body or header changes nothing.

mod error;
mod stream;

use error::{account_error, as_error, credential_error, hold_error, transfer_error, ApiError};
pub use error::{ErrorBody, ErrorCode};

pub use stream::{STATEMENT_ENTRIES_PER_ACCOUNT, STATEMENT_WAIT};

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use atomic_ledger::{
    AccountError, AccountId, AccountOptions, BucketId, BucketPolicy, CredentialError, CredentialId,
    CredentialSpec, HoldId, HoldRequest, Ledger, Rejection, Scopes, Transfer, TransferId,
};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The service's state: the ledger, the JWT keys and the API-key index.
pub struct AppState {
    /// The ledger; public so that tests and operators can inspect it.
    pub ledger: Ledger,
    encoding: EncodingKey,
    decoding: DecodingKey,
    secret: Vec<u8>,
    /// SHA-256 of an API key → its credential. Written only when a key is created.
    api_keys: RwLock<HashMap<[u8; 32], CredentialId>>,
    next_id: AtomicU64,
    /// Where a persistent service records the ids it hands out and the API
    /// keys' hashes (`None` in memory); the ledger journals everything else.
    registry: Option<Arc<Mutex<File>>>,
    metrics: Metrics,
    /// The statement fold, following the journal (`None` in memory).
    follower: Option<Arc<stream::Follower>>,
    /// Set when the service begins to shut down: event streams end, so
    /// that the graceful shutdown does not wait on them forever.
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// What `/metrics` reports, in the Prometheus text format (the
/// `prometheus` crate, one registry per service).
struct Metrics {
    registry: prometheus::Registry,
    /// Requests answered, by route template and status.
    requests: prometheus::IntCounterVec,
    /// Time each answer waited for its changes to be on disk.
    durable_wait: prometheus::Histogram,
    /// The journal's own counters, brought up to date at each scrape.
    journal_syncs: prometheus::IntCounter,
    journal_bytes: prometheus::IntCounter,
    journal_sync_seconds: prometheus::Counter,
}

impl Metrics {
    fn new() -> Self {
        let registry = prometheus::Registry::new();
        let requests = prometheus::IntCounterVec::new(
            prometheus::Opts::new("http_requests_total", "Requests answered, by route and status."),
            &["route", "status"],
        );
        let durable_wait = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "ledger_durable_wait_seconds",
                "Time an answer waited for its ledger changes to be on disk (group commit).",
            )
            .buckets(prometheus::exponential_buckets(0.000_05, 2.0, 14).unwrap_or_default()),
        );
        let journal_syncs = prometheus::IntCounter::new("journal_syncs_total", "Journal syncs (fdatasync).");
        let journal_bytes =
            prometheus::IntCounter::new("journal_bytes_written_total", "Bytes written to the journal.");
        let journal_sync_seconds =
            prometheus::Counter::new("journal_sync_seconds_total", "Time spent in journal syncs, in all.");
        // Names and help strings are fixed and valid: these cannot fail.
        let (requests, durable_wait) = (requests.expect("valid metric"), durable_wait.expect("valid metric"));
        let journal_syncs = journal_syncs.expect("valid metric");
        let journal_bytes = journal_bytes.expect("valid metric");
        let journal_sync_seconds = journal_sync_seconds.expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(durable_wait.clone()),
            Box::new(journal_syncs.clone()),
            Box::new(journal_bytes.clone()),
            Box::new(journal_sync_seconds.clone()),
        ] {
            registry.register(collector).expect("each metric registered once");
        }
        Self { registry, requests, durable_wait, journal_syncs, journal_bytes, journal_sync_seconds }
    }

    /// The registry as Prometheus text, the journal's counters first
    /// brought up to `stats`.
    fn render(&self, stats: Option<atomic_ledger::JournalStats>) -> String {
        if let Some(stats) = stats {
            self.journal_syncs.inc_by(stats.syncs.saturating_sub(self.journal_syncs.get()));
            self.journal_bytes.inc_by(stats.bytes_written.saturating_sub(self.journal_bytes.get()));
            let seconds = stats.sync_time.as_secs_f64() - self.journal_sync_seconds.get();
            if seconds > 0.0 {
                self.journal_sync_seconds.inc_by(seconds);
            }
        }
        let mut text = String::new();
        let encoder = prometheus::TextEncoder::new();
        match encoder.encode_utf8(&self.registry.gather(), &mut text) {
            Ok(()) => text,
            Err(error) => format!("# encoding failed: {error}\n"),
        }
    }
}

/// The file in the data directory that records every credential id handed
/// out (`id <id>`) and every API key's hash (`key <id> <sha-256 hex>`), one
/// line each, synced before the id or the key is used: an id is never handed
/// out twice, and a key keeps working after a restart. The ledger's journal
/// (in `ledger/`) keeps the credentials themselves: revoked, spent, rate
/// limited.
const REGISTRY_FILE: &str = "credentials.log";

/// What a registry file holds: the API keys, and the largest id recorded.
fn read_registry(path: &FsPath) -> std::io::Result<(HashMap<[u8; 32], CredentialId>, u64)> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error),
    };
    let (mut keys, mut id_max) = (HashMap::new(), 0u64);
    // A last line without its newline was cut by a crash before its sync
    // returned: nothing in it was ever used.
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    for (number, line) in complete.lines().enumerate() {
        let bad = || {
            let message = format!("{}: line {} is not a registry entry", path.display(), number + 1);
            std::io::Error::new(std::io::ErrorKind::InvalidData, message)
        };
        let fields: Vec<&str> = line.split(' ').collect();
        let id: u64 = fields.get(1).and_then(|id| id.parse().ok()).ok_or_else(bad)?;
        match fields.as_slice() {
            ["id", _] => {}
            ["key", _, hash] => {
                let hash = hex::decode(hash).ok().and_then(|hash| <[u8; 32]>::try_from(hash).ok());
                keys.insert(hash.ok_or_else(bad)?, CredentialId(u128::from(id)));
            }
            _ => return Err(bad()),
        }
        id_max = id_max.max(id);
    }
    Ok((keys, id_max))
}

/// What a bearer token carries. `jti` is the ledger credential.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The account the token acts for (decimal).
    pub sub: String,
    /// The ledger credential id (decimal).
    pub jti: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// An operator token.
    #[serde(default)]
    pub admin: bool,
}

/// The credential and the account of verified (non-admin) claims.
fn user(claims: &Claims) -> Result<(CredentialId, AccountId), ApiError> {
    let credential =
        claims.jti.parse::<u128>().map_err(|_| ApiError::unauthorized("the token's jti is not a number"));
    let account =
        claims.sub.parse::<u128>().map_err(|_| ApiError::unauthorized("the token's sub is not an account"));
    Ok((CredentialId(credential?), AccountId(account?)))
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

impl AppState {
    /// A service around `ledger`, signing tokens with `secret`.
    pub fn new(ledger: Ledger, secret: &[u8]) -> Self {
        Self {
            follower: stream::Follower::start(&ledger),
            shutdown: tokio::sync::watch::Sender::new(false),
            ledger,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            secret: secret.to_vec(),
            api_keys: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            registry: None,
            metrics: Metrics::new(),
        }
    }

    /// A persistent service in `data_dir` (created if needed): the ledger
    /// is durable in `data_dir/ledger` (buffered, and every answer awaits
    /// its records' sync, so concurrent requests share syncs and no tokio
    /// worker blocks), and `data_dir/credentials.log` keeps the ids handed
    /// out and the API keys' hashes. Reopening the directory brings back
    /// balances, holds, transfer answers, revoked tokens, keys and their
    /// spent quotas.
    pub fn open(data_dir: &FsPath, secret: &[u8]) -> std::io::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let ledger = Ledger::builder()
            .accounts_max(1 << 20)
            .credentials_max(1 << 16)
            .buckets_max(1 << 16)
            .durability(atomic_ledger::Durability::Buffered)
            .open(data_dir.join("ledger"))
            .map_err(std::io::Error::other)?;
        let path = data_dir.join(REGISTRY_FILE);
        let (keys, id_max) = read_registry(&path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let mut state = Self::new(ledger, secret);
        state.api_keys = RwLock::new(keys);
        state.next_id = AtomicU64::new(id_max + 1);
        state.registry = Some(Arc::new(Mutex::new(file)));
        Ok(state)
    }

    /// Waits, without blocking a thread, until every ledger change made so
    /// far is on disk: a persistent service answers only then (at once in
    /// memory).
    async fn durable(&self) -> Result<(), ApiError> {
        let Some(ticket) = self.ledger.synced() else { return Ok(()) };
        let timer = self.metrics.durable_wait.start_timer();
        let synced = ticket.await;
        timer.observe_duration();
        synced.map_err(|failed| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::JournalFailed, failed.to_string())
        })
    }

    /// Appends `line` to the registry and syncs it (on a blocking thread),
    /// before what it records is used. Nothing to do in memory.
    async fn record(&self, line: String) -> Result<(), ApiError> {
        let Some(registry) = self.registry.clone() else { return Ok(()) };
        let written = tokio::task::spawn_blocking(move || {
            let mut file = registry.lock().map_err(|_| std::io::Error::other("registry lock poisoned"))?;
            file.write_all(format!("{line}\n").as_bytes())?;
            file.sync_data()
        });
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::RegistryFailed,
                error.to_string(),
            )),
            Err(_) => Err(ApiError::internal()),
        }
    }

    /// A credential id no other credential has had or will have, across
    /// restarts: recorded before it is used.
    async fn reserve_id(&self) -> Result<u64, ApiError> {
        let id = self.fresh_id();
        self.record(format!("id {id}")).await?;
        Ok(id)
    }

    /// Completes once the service begins to shut down.
    fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stopping = self.shutdown.subscribe();
        async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }

    /// An operator token valid for `ttl_s` seconds.
    pub fn admin_token(&self, ttl_s: u64) -> String {
        let claims = Claims { sub: "admin".into(), jti: "0".into(), exp: now_s() + ttl_s, admin: true };
        self.sign(&claims)
    }

    fn sign(&self, claims: &Claims) -> String {
        // HS256 with a byte secret cannot fail to encode these claims.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).unwrap_or_default()
    }

    fn fresh_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Signature and expiry: the edge's only checks.
    fn verify(&self, headers: &HeaderMap) -> Result<Claims, ApiError> {
        let value =
            headers.get(header::AUTHORIZATION).ok_or(ApiError::unauthorized("missing bearer token"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError::unauthorized("the Authorization header is not a bearer token"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.required_spec_claims = ["exp", "sub", "jti"].into_iter().map(String::from).collect();
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| ApiError::unauthorized(&format!("invalid token: {error}")))
    }

    fn admin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.verify(headers)?.admin {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::AdminOnly,
                "this endpoint needs an admin token",
            ))
        }
    }

    /// The credential a bearer token stands for, and the account it acts for.
    fn credential(&self, headers: &HeaderMap) -> Result<(CredentialId, AccountId), ApiError> {
        user(&self.verify(headers)?)
    }

    /// Who may read `account`: `None` for an admin token, or the credential
    /// of a token for that very account (whose scopes and revocation the
    /// ledger checks when it is used). Another account's token is 403.
    fn reader(&self, headers: &HeaderMap, account: AccountId) -> Result<Option<CredentialId>, ApiError> {
        let claims = self.verify(headers)?;
        if claims.admin {
            return Ok(None);
        }
        let (credential, own) = user(&claims)?;
        if own != account {
            let message = "the token is for another account";
            return Err(ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message));
        }
        Ok(Some(credential))
    }

    fn api_key(&self, headers: &HeaderMap) -> Result<CredentialId, ApiError> {
        let key = headers
            .get("x-api-key")
            .and_then(|value| value.to_str().ok())
            .ok_or(ApiError::unauthorized("missing or unreadable X-API-Key"))?;
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let keys = self.api_keys.read().map_err(|_| ApiError::internal())?;
        keys.get(&hash).copied().ok_or(ApiError::unauthorized("unknown API key"))
    }
}

/// The OpenAPI description's frame; the paths come from the handlers'
/// `#[utoipa::path]` attributes, gathered by [`app`].
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "atomic-ledger service",
        description = "Accounts, transfers, holds, bearer tokens and API keys on an atomic-ledger. \
            Every error is `{\"error\": {\"code\", \"message\"}}` with a code from `ErrorCode`."
    ),
    components(schemas(ErrorCode, ErrorBody)),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// The two ways to authenticate: a bearer JWT, and an `X-API-Key`.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// The routes, and `GET /openapi.json`: the description generated from them.
pub fn app(state: Arc<AppState>) -> Router {
    let (router, openapi) = OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(create_account))
        .routes(routes!(get_account))
        .routes(routes!(deposit))
        .routes(routes!(stream::statement))
        .routes(routes!(stream::events))
        .routes(routes!(create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(create_api_key))
        .routes(routes!(create_transfer))
        .routes(routes!(create_hold))
        .routes(routes!(post_hold))
        .routes(routes!(void_hold))
        .routes(routes!(get_data))
        .routes(routes!(healthz))
        .routes(routes!(metrics))
        .split_for_parts();
    let openapi = Arc::new(openapi);
    router
        .route("/openapi.json", get(move || async move { Json(openapi.as_ref().clone()) }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_request))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Counts each answer by its route template (not the raw path: ids would
/// make a metric per account) and status.
async fn count_request(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.requests.with_label_values(&[route.as_str(), response.status().as_str()]).inc();
    response
}

/// Alive, and able to make changes durable: 200 `{"status": "ok"}`, or 503
/// with the journal's failure once a write or sync has failed (it never
/// recovers without a restart).
#[utoipa::path(
    get,
    path = "/healthz",
    responses(
        (status = 200, description = "the journal can make changes durable", body = Health),
        (status = 503, description = "journal_failed: a write or sync failed; a restart is needed", body = ErrorBody)
    )
)]
async fn healthz(State(state): State<Arc<AppState>>) -> Reply<Health> {
    match state.ledger.journal_failure() {
        None => Ok((StatusCode::OK, Json(Health { status: "ok".into() }))),
        Some(failure) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::JournalFailed, failure))
        }
    }
}

/// The service's metrics in the Prometheus text format: requests by route
/// and status, the time answers waited for durability, and the journal's
/// syncs, bytes and time in syncs (mean sync latency = seconds ÷ syncs).
#[utoipa::path(
    get,
    path = "/metrics",
    responses(
        (status = 200, description = "the Prometheus text format", body = String, content_type = "text/plain")
    )
)]
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(state.ledger.journal_stats());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Any path no route matches: the JSON error, not an empty 404.
async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such endpoint")
}

/// A route that exists, called with another method: the JSON error, not an
/// empty 405.
async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}

/// A numeric id in the path (`/v1/accounts/{id}`): anything else (`abc`,
/// `-1`, a number above `u64`) is the JSON error `invalid_id`, not axum's
/// plain-text rejection.
struct IdPath(u64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|rejection| {
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidId, rejection.body_text())
        })?;
        raw.parse::<u64>().map(IdPath).map_err(|_| {
            let message = format!("{raw:?} is not an id: ids are whole numbers up to {}", u64::MAX);
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidId, message)
        })
    }
}

/// A JSON body that must be an object. serde's derived structs also accept
/// a sequence of their fields in order (`[1, 2, 5]`), which the API does
/// not document and must not honour: the value is read first and anything
/// but an object refused.
struct JsonObject<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonObject<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        serde_json::from_value(value)
            .map(JsonObject)
            .map_err(|error| ApiError::bad_request(format!("invalid request body: {error}")))
    }
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    status: String,
}

/// `POST /v1/accounts`.
#[derive(Serialize, ToSchema)]
pub struct AccountCreated {
    /// The account's id.
    id: u64,
}

/// A balance after a change.
#[derive(Serialize, ToSchema)]
pub struct Balance {
    /// The balance.
    balance: i64,
}

/// `GET /v1/accounts/{id}`.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    /// The account's id.
    id: u64,
    /// Its balance (held money excluded).
    balance: i64,
    /// Held by open holds.
    held: u64,
    /// `Open`, `Frozen` or `Closed`.
    status: String,
}

/// `POST /v1/tokens`.
#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    /// Its id, for revoking it.
    token_id: u64,
    /// The bearer token (an HS256 JWT).
    token: String,
}

/// `DELETE /v1/tokens/{id}`.
#[derive(Serialize, ToSchema)]
pub struct TokenRevoked {
    /// The token's id.
    token_id: u64,
    /// `false` if it was revoked already.
    revoked_now: bool,
}

/// `POST /v1/api-keys`.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyCreated {
    /// Its id.
    key_id: u64,
    /// The key, shown once (only its hash is kept).
    api_key: String,
}

/// A transfer's outcome.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The money moved.
    Applied,
}

/// `POST /v1/transfers`: the same body for the first submission and every retry.
#[derive(Serialize, ToSchema)]
pub struct TransferDone {
    /// The transfer's id.
    transfer_id: u64,
    /// `applied`.
    outcome: Outcome,
}

/// A new hold's state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldStateName {
    /// Holding its amount.
    Open,
}

/// `POST /v1/holds`.
#[derive(Serialize, ToSchema)]
pub struct HoldCreated {
    /// The hold's id.
    hold_id: u64,
    /// `open`.
    state: HoldStateName,
}

/// `POST /v1/holds/{id}/post`.
#[derive(Serialize, ToSchema)]
pub struct HoldPosted {
    /// The hold's id.
    hold_id: u64,
    /// Credited to the destination.
    posted: u64,
    /// Returned to the source.
    returned: u64,
}

/// `POST /v1/holds/{id}/void`.
#[derive(Serialize, ToSchema)]
pub struct HoldVoided {
    /// The hold's id.
    hold_id: u64,
    /// Returned to the source.
    returned: u64,
}

/// `GET /v1/data`.
#[derive(Serialize, ToSchema)]
pub struct Data {
    /// The protected resource.
    data: String,
    /// What is left of the key's allowance.
    allowance_remaining: i64,
}

fn nonzero_id(id: u64, what: &str) -> Result<u128, ApiError> {
    if id == 0 {
        return Err(ApiError::bad_request(format!("{what} must not be 0")));
    }
    Ok(u128::from(id))
}

/// A request body, its error kept for the handler to return after the
/// authentication checks (so a bad token is a 401 whatever the body).
type Body<T> = Result<JsonObject<T>, ApiError>;
type Reply<T> = Result<(StatusCode, Json<T>), ApiError>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    id: u64,
}

#[utoipa::path(
    post,
    path = "/v1/accounts",
    request_body = NewAccount,
    responses(
        (status = 201, description = "opened", body = AccountCreated),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 409, description = "account_not_opened: the id exists or is reserved", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn create_account(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body<NewAccount>,
) -> Reply<AccountCreated> {
    state.admin(&headers)?;
    let JsonObject(request) = body?;
    let id = AccountId(nonzero_id(request.id, "id")?);
    let opened = state.ledger.open_account(id, AccountOptions::default());
    state.durable().await?;
    match opened {
        Ok(_) => Ok((StatusCode::CREATED, Json(AccountCreated { id: request.id }))),
        Err(error) => {
            Err(ApiError::new(StatusCode::CONFLICT, ErrorCode::AccountNotOpened, error.to_string()))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Amount {
    amount: u64,
}

#[utoipa::path(
    post,
    path = "/v1/accounts/{id}/deposits",
    request_body = Amount,
    params(("id" = u64, Path, description = "The account")),
    responses(
        (status = 200, description = "credited; the new balance", body = Balance),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody),
        (status = 422, description = "account_closed, rejected: the ledger refused it", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn deposit(
    State(state): State<Arc<AppState>>,
    IdPath(id): IdPath,
    headers: HeaderMap,
    body: Body<Amount>,
) -> Reply<Balance> {
    state.admin(&headers)?;
    let JsonObject(request) = body?;
    let credited = state.ledger.credit(AccountId(u128::from(id)), request.amount);
    state.durable().await?;
    let balance = credited.map_err(account_error)?;
    Ok((StatusCode::OK, Json(Balance { balance })))
}

#[utoipa::path(
    get,
    path = "/v1/accounts/{id}",
    params(("id" = u64, Path, description = "The account")),
    responses(
        (status = 200, description = "the account", body = AccountView),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn get_account(
    State(state): State<Arc<AppState>>,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Reply<AccountView> {
    let account = AccountId(u128::from(id));
    let info = match state.reader(&headers, account)? {
        None => state.ledger.account_info(account).map_err(account_error)?,
        Some(credential) => {
            state.ledger.account_info_as(credential).map_err(|error| as_error(error, account_error))?
        }
    };
    let body =
        AccountView { id, balance: info.balance, held: info.held, status: format!("{:?}", info.status) };
    Ok((StatusCode::OK, Json(body)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    account: u64,
    scopes: Vec<String>,
    spend_cap: Option<u64>,
    amount_max_per_op: Option<u64>,
    #[serde(default = "default_ttl_s")]
    ttl_s: u64,
}

fn default_ttl_s() -> u64 {
    3_600
}

fn scopes(names: &[String]) -> Result<Scopes, ApiError> {
    names.iter().try_fold(Scopes::NONE, |scopes, name| {
        let scope = match name.as_str() {
            "debit" => Scopes::DEBIT,
            "hold" => Scopes::HOLD,
            "resolve" => Scopes::RESOLVE,
            "credit" => Scopes::CREDIT,
            "read" => Scopes::READ,
            "admin" => Scopes::ADMIN,
            other => return Err(ApiError::bad_request(format!("unknown scope {other:?}"))),
        };
        Ok(scopes | scope)
    })
}

#[utoipa::path(
    post,
    path = "/v1/tokens",
    request_body = NewToken,
    responses(
        (status = 201, description = "the token, and its id for revoking it", body = TokenCreated),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn create_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body<NewToken>,
) -> Reply<TokenCreated> {
    state.admin(&headers)?;
    let JsonObject(request) = body?;
    if request.ttl_s == 0 || request.ttl_s > 366 * 86_400 {
        return Err(ApiError::bad_request("ttl_s must be between 1 and 31 622 400"));
    }
    let scopes = scopes(&request.scopes)?;
    let id = state.reserve_id().await?;
    let spec = CredentialSpec {
        account: AccountId(u128::from(request.account)),
        scopes,
        amount_max_per_op: request.amount_max_per_op,
        spend_cap: request.spend_cap,
        expires_at_ms: None, // the JWT's exp is checked at the edge
        rate_limit: None,
    };
    let issued = state.ledger.issue_credential(CredentialId(u128::from(id)), spec);
    state.durable().await?;
    issued.map_err(credential_error)?;
    let claims = Claims {
        sub: request.account.to_string(),
        jti: id.to_string(),
        exp: now_s() + request.ttl_s,
        admin: false,
    };
    Ok((StatusCode::CREATED, Json(TokenCreated { token_id: id, token: state.sign(&claims) })))
}

#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    params(("id" = u64, Path, description = "The token's id")),
    responses(
        (status = 200, description = "revoked: no use of the token begins after this answer", body = TokenRevoked),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_token", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn revoke_token(
    State(state): State<Arc<AppState>>,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Reply<TokenRevoked> {
    state.admin(&headers)?;
    let revoked = state.ledger.revoke(CredentialId(u128::from(id)));
    state.durable().await?;
    let revoked = revoked.map_err(|error| match error {
        CredentialError::UnknownCredential(_) | CredentialError::ReservedCredentialId(_) => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownToken, error.to_string())
        }
        other => credential_error(other),
    })?;
    Ok((StatusCode::OK, Json(TokenRevoked { token_id: id, revoked_now: revoked })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewApiKey {
    /// The allowance account its requests spend.
    account: u64,
    capacity: u64,
    refill_amount: u64,
    refill_interval_ms: u64,
}

#[utoipa::path(
    post,
    path = "/v1/api-keys",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "the key (shown once) and its id", body = ApiKeyCreated),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn create_api_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body<NewApiKey>,
) -> Reply<ApiKeyCreated> {
    state.admin(&headers)?;
    let JsonObject(request) = body?;
    let id = state.reserve_id().await?;
    let bucket = BucketId(u128::from(id));
    let policy = BucketPolicy {
        capacity: request.capacity,
        refill_amount: request.refill_amount,
        refill_interval_ms: request.refill_interval_ms,
    };
    let opened = state.ledger.open_bucket(bucket, policy);
    if let Err(error) = opened {
        return Err(ApiError::bad_request(error.to_string())); // nothing was journaled
    }
    let spec = CredentialSpec {
        account: AccountId(u128::from(request.account)),
        scopes: Scopes::DEBIT,
        amount_max_per_op: Some(1),
        spend_cap: None,
        expires_at_ms: None,
        rate_limit: Some(bucket),
    };
    let issued = state.ledger.issue_credential(CredentialId(u128::from(id)), spec);
    state.durable().await?;
    issued.map_err(credential_error)?;
    // The key: unguessable without the secret; only its hash is kept, and
    // recorded before the key is given out.
    let key =
        hex::encode(Sha256::digest([&state.secret[..], &id.to_le_bytes(), &now_s().to_le_bytes()].concat()));
    let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    state.record(format!("key {id} {}", hex::encode(hash))).await?;
    state.api_keys.write().map_err(|_| ApiError::internal())?.insert(hash, CredentialId(u128::from(id)));
    Ok((StatusCode::CREATED, Json(ApiKeyCreated { key_id: id, api_key: key })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTransfer {
    id: u64,
    to: u64,
    amount: u64,
}

#[utoipa::path(
    post,
    path = "/v1/transfers",
    request_body = NewTransfer,
    responses(
        (status = 200, description = "applied (the same answer for every retry of the id)", body = TransferDone),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody),
        (status = 409, description = "transfer_id_reused, transfer_id_expired", body = ErrorBody),
        (status = 422, description = "insufficient_funds, account_frozen, account_closed, rejected (recorded: a retry gets it again)", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn create_transfer(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body<NewTransfer>,
) -> Reply<TransferDone> {
    let (credential, from) = state.credential(&headers)?;
    let JsonObject(request) = body?;
    let transfer = Transfer {
        id: TransferId(nonzero_id(request.id, "id")?),
        from,
        to: AccountId(u128::from(request.to)),
        amount: request.amount,
    };
    let applied = state.ledger.transfer_as(credential, transfer);
    state.durable().await?; // a recorded rejection too: a retry after a restart gets the same answer
    applied.map_err(|error| as_error(error, transfer_error))?;
    // The same body for the first submission and every repeat of the id.
    Ok((StatusCode::OK, Json(TransferDone { transfer_id: request.id, outcome: Outcome::Applied })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewHold {
    id: u64,
    to: u64,
    amount: u64,
    expires_in_ms: u64,
}

#[utoipa::path(
    post,
    path = "/v1/holds",
    request_body = NewHold,
    responses(
        (status = 201, description = "held", body = HoldCreated),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody),
        (status = 409, description = "hold_id_reused", body = ErrorBody),
        (status = 422, description = "insufficient_funds, account_frozen, account_closed, rejected", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn create_hold(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body<NewHold>,
) -> Reply<HoldCreated> {
    let (credential, from) = state.credential(&headers)?;
    let JsonObject(request) = body?;
    let expires_at_ms = now_s().saturating_mul(1_000).saturating_add(request.expires_in_ms);
    let hold = HoldRequest {
        id: HoldId(nonzero_id(request.id, "id")?),
        from,
        to: AccountId(u128::from(request.to)),
        amount: request.amount,
        expires_at_ms,
    };
    let held = state.ledger.hold_as(credential, hold);
    state.durable().await?;
    held.map_err(|error| as_error(error, hold_error))?;
    Ok((StatusCode::CREATED, Json(HoldCreated { hold_id: request.id, state: HoldStateName::Open })))
}

#[utoipa::path(
    post,
    path = "/v1/holds/{id}/post",
    request_body = Amount,
    params(("id" = u64, Path, description = "The hold")),
    responses(
        (status = 200, description = "posted; the rest returned", body = HoldPosted),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_hold", body = ErrorBody),
        (status = 409, description = "hold_already_resolved", body = ErrorBody),
        (status = 422, description = "account_closed, rejected", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn post_hold(
    State(state): State<Arc<AppState>>,
    IdPath(id): IdPath,
    headers: HeaderMap,
    body: Body<Amount>,
) -> Reply<HoldPosted> {
    let (credential, _) = state.credential(&headers)?;
    let JsonObject(request) = body?;
    let posted = state.ledger.post_as(credential, HoldId(u128::from(id)), request.amount);
    state.durable().await?;
    let posted = posted.map_err(|error| as_error(error, hold_error))?;
    Ok((StatusCode::OK, Json(HoldPosted { hold_id: id, posted: posted.posted, returned: posted.returned })))
}

#[utoipa::path(
    post,
    path = "/v1/holds/{id}/void",
    params(("id" = u64, Path, description = "The hold")),
    responses(
        (status = 200, description = "voided; everything returned", body = HoldVoided),
        (status = 400, description = "bad_request, invalid_id: malformed input, nothing changed", body = ErrorBody),
        (status = 401, description = "unauthorized: no valid token", body = ErrorBody),
        (status = 403, description = "admin_only, forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_hold", body = ErrorBody),
        (status = 409, description = "hold_already_resolved", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn void_hold(
    State(state): State<Arc<AppState>>,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> Reply<HoldVoided> {
    let (credential, _) = state.credential(&headers)?;
    let returned = state.ledger.void_as(credential, HoldId(u128::from(id)));
    state.durable().await?;
    let returned = returned.map_err(|error| as_error(error, hold_error))?;
    Ok((StatusCode::OK, Json(HoldVoided { hold_id: id, returned })))
}

#[utoipa::path(
    get,
    path = "/v1/data",
    responses(
        (status = 200, description = "one unit of the rate limit and the allowance spent", body = Data),
        (status = 401, description = "unauthorized: missing or unknown API key", body = ErrorBody),
        (status = 403, description = "revoked, forbidden", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody),
        (status = 429, description = "rate_limited (with Retry-After), quota_exhausted (without)", body = ErrorBody),
        (status = 503, description = "journal_failed, registry_failed: the change could not be made durable", body = ErrorBody)
    ),
    security(("api_key" = []))
)]
async fn get_data(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Reply<Data> {
    let key = state.api_key(&headers)?;
    let remaining = state.ledger.debit_as(key, 1);
    state.durable().await?;
    let remaining = remaining.map_err(|error| {
        as_error(error, |error| match error {
            // The allowance is spent: a quota, not a payment. No
            // Retry-After: only a deposit refills an allowance, so no time
            // can be promised (a short rate limit is `rate_limited`, with one).
            AccountError::Rejected(Rejection::InsufficientFunds { .. }) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::QuotaExhausted,
                format!("the key's allowance is spent; a deposit to its account refills it ({error})"),
            ),
            other => account_error(other),
        })
    })?;
    Ok((StatusCode::OK, Json(Data { data: "the protected resource".into(), allowance_remaining: remaining })))
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let signal = state.shutdown.clone();
    let shutdown = async move {
        shutdown.await;
        signal.send_replace(true); // event streams end; other requests finish
    };
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
