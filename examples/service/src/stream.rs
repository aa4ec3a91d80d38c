//! The ledger's change stream over HTTP, and account statements.
//!
//! * `GET /v1/events?from=<position>` (admin): the committed changes as
//!   server-sent events, each `id: <position>`, `event: change`, `data:` the
//!   [`atomic_ledger::Event`] as JSON. Without `from` it starts at the end;
//!   a client that reconnects with `Last-Event-ID` resumes after that
//!   event. A position a checkpoint removed is 410 `position_compacted`.
//! * `GET /v1/accounts/{id}/transfers?from=&limit=` (admin, or the
//!   account's own token): the account's statement, paged, from a
//!   [`Statements`] fold that a follower thread keeps from the journal's
//!   beginning. The answer waits (up to [`STATEMENT_WAIT`]) until the fold
//!   has every change that was durable when the request came: a client
//!   sees its own transfers.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use atomic_ledger::{AccountId, Ledger, Since, StatementError, Statements, SubscribeError, Subscription};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;

use utoipa::IntoParams;

use crate::{ApiError, AppState, ErrorBody, ErrorCode, IdPath, Reply};

/// Entries kept per account by the statement fold: its memory is at most
/// this × accounts × 160 bytes.
pub const STATEMENT_ENTRIES_PER_ACCOUNT: usize = 10_000;
/// How long a statement request waits for the fold to catch up.
pub const STATEMENT_WAIT: Duration = Duration::from_secs(5);
/// How often the follower looks at how far it has read when no event comes.
const FOLLOWER_POLL: Duration = Duration::from_millis(20);

/// The statement fold and how far it has applied the journal.
pub(crate) struct Follower {
    statements: RwLock<Statements>,
    /// Every durable change below this position is in `statements`.
    as_of: tokio::sync::watch::Sender<u64>,
}

impl Follower {
    /// Follows `ledger`'s changes from its journal's beginning on a thread
    /// of its own; `None` in memory (no journal, no stream).
    pub(crate) fn start(ledger: &Ledger) -> Option<Arc<Self>> {
        let subscription = match ledger.subscribe(Since::Position(0)) {
            Ok(subscription) => subscription,
            Err(SubscribeError::NotDurable) => return None,
            Err(error) => {
                tracing::error!("statements are unavailable: {error}");
                return None;
            }
        };
        let follower = Arc::new(Self {
            statements: RwLock::new(Statements::new(STATEMENT_ENTRIES_PER_ACCOUNT)),
            as_of: tokio::sync::watch::Sender::new(0),
        });
        let weak = Arc::downgrade(&follower);
        let spawned =
            std::thread::Builder::new().name("statements".into()).spawn(move || follow(subscription, weak));
        spawned.ok().map(|_| follower)
    }
}

/// Applies every event to the fold until the stream ends or the service
/// is gone.
fn follow(mut subscription: Subscription, follower: std::sync::Weak<Follower>) {
    loop {
        let next = subscription.next_timeout(FOLLOWER_POLL);
        let Some(follower) = follower.upgrade() else { return };
        match next {
            Ok(Some(event)) => match follower.statements.write() {
                Ok(mut statements) => statements.apply(&event),
                Err(_) => return,
            },
            Ok(None) => {}
            Err(SubscribeError::Ended) => return,
            Err(error) => {
                tracing::error!("the statement follower stopped: {error}");
                return;
            }
        }
        // Events come in position order: the fold has everything below the
        // position after its last event, and, once the channel is drained,
        // everything the reader has read (bookkeeping records included).
        let applied = follower.statements.read().map_or(0, |statements| statements.next_position());
        let below = subscription.caught_up().unwrap_or(0).max(applied);
        follower.as_of.send_if_modified(|as_of| {
            let advanced = below > *as_of;
            *as_of = (*as_of).max(below);
            advanced
        });
    }
}

/// A statement page's query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// The first position of the page (default 0: the oldest kept).
    #[serde(default)]
    from: u64,
    /// At most this many entries, 1..=1000 (default 100).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000)]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// `GET /v1/accounts/{id}/transfers`: the statement, paged.
#[utoipa::path(
    get,
    path = "/v1/accounts/{id}/transfers",
    params(("id" = u64, Path, description = "The account"), Page),
    responses(
        (status = 200, description = "a page of the account's statement: atomic_ledger::StatementPage as JSON \
            (entries with position, change, amount, balance after; next; oldest_kept; balance)", body = Object),
        (status = 400, description = "bad_request, invalid_id", body = ErrorBody),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden, revoked", body = ErrorBody),
        (status = 404, description = "unknown_account", body = ErrorBody),
        (status = 501, description = "not_durable: an in-memory service", body = ErrorBody),
        (status = 503, description = "statements_behind", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn statement(
    State(state): State<Arc<AppState>>,
    IdPath(id): IdPath,
    headers: HeaderMap,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Reply<serde_json::Value> {
    let account = AccountId(u128::from(id));
    authorize_account(&state, &headers, account)?;
    let Query(page) = page?;
    let follower = state.follower.as_ref().ok_or_else(not_durable)?;
    let durable = state.ledger.journal_stats().map_or(0, |stats| stats.durable_position);
    let mut as_of = follower.as_of.subscribe();
    let caught_up = tokio::time::timeout(STATEMENT_WAIT, as_of.wait_for(|as_of| *as_of >= durable)).await;
    if !matches!(caught_up, Ok(Ok(_))) {
        let message = format!("the statements are behind the journal's durable position {durable}");
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::StatementsBehind, message));
    }
    let statements = follower.statements.read().map_err(|_| ApiError::internal())?;
    let page = statements.statement(account, page.from, page.limit).map_err(|error| match error {
        StatementError::UnknownAccount(_) => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownAccount, error.to_string())
        }
        _ => ApiError::bad_request(error.to_string()),
    })?;
    let body = serde_json::to_value(&page).map_err(|_| ApiError::internal())?;
    Ok((StatusCode::OK, Json(body)))
}

/// An admin token, or a token of `account` that may still read it (not
/// revoked, with the `read` scope): the ledger decides.
fn authorize_account(state: &AppState, headers: &HeaderMap, account: AccountId) -> Result<(), ApiError> {
    match state.reader(headers, account)? {
        None => Ok(()),
        Some(credential) => state
            .ledger
            .account_info_as(credential)
            .map(|_| ())
            .map_err(|error| crate::as_error(error, crate::account_error)),
    }
}

fn not_durable() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        ErrorCode::NotDurable,
        "an in-memory service has no change stream",
    )
}

/// Where an event stream starts.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// The first position (default: the end, or after `Last-Event-ID`).
    from: Option<u64>,
}

/// `GET /v1/events`: the change stream as server-sent events.
#[utoipa::path(
    get,
    path = "/v1/events",
    params(EventsQuery, ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this position")),
    responses(
        (status = 200, description = "server-sent events: `id` the position, `event: change`, `data` an \
            atomic_ledger::Event as JSON; it does not end while the service runs", content_type = "text/event-stream"),
        (status = 400, description = "bad_request, position_beyond_end", body = ErrorBody),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "admin_only", body = ErrorBody),
        (status = 410, description = "position_compacted: a checkpoint folded it; the message says where to resume", body = ErrorBody),
        (status = 501, description = "not_durable: an in-memory service", body = ErrorBody),
        (status = 503, description = "stream_failed", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    from: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    state.admin(&headers)?;
    let Query(EventsQuery { from }) = from?;
    let since = match (from, last_event_id(&headers)?) {
        (Some(position), _) => Since::Position(position),
        (None, Some(last)) => Since::Position(last.saturating_add(1)),
        (None, None) => Since::End,
    };
    let subscription = state.ledger.subscribe(since).map_err(|error| match error {
        SubscribeError::NotDurable => not_durable(),
        SubscribeError::Beyond { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::PositionBeyondEnd, error.to_string())
        }
        SubscribeError::Compacted { .. } => {
            ApiError::new(StatusCode::GONE, ErrorCode::PositionCompacted, error.to_string())
        }
        other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::StreamFailed, other.to_string()),
    })?;
    let stopping = state.stopping();
    let events = subscription
        .into_stream()
        .map(|item| {
            Ok::<_, std::convert::Infallible>(match item {
                Ok(event) => SseEvent::default()
                    .id(event.position.to_string())
                    .event("change")
                    .json_data(event)
                    .unwrap_or_else(|_| SseEvent::default().event("error")),
                Err(error) => SseEvent::default().event("error").data(error.to_string()),
            })
        })
        .take_until(stopping);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response())
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    let parsed = value.to_str().ok().and_then(|text| text.parse().ok());
    parsed.map(Some).ok_or_else(|| ApiError::bad_request("Last-Event-ID is not a position"))
}
