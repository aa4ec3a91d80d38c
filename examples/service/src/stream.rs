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

use crate::{user, ApiError, AppState, IdPath, Reply};

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
        let subscription = ledger.subscribe(Since::Position(0)).ok()?;
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
        if let Some(below) = subscription.caught_up() {
            follower.as_of.send_if_modified(|as_of| std::mem::replace(as_of, below) != below);
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    #[serde(default)]
    from: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// `GET /v1/accounts/{id}/transfers`: the statement, paged.
pub(crate) async fn statement(
    State(state): State<Arc<AppState>>,
    IdPath(id): IdPath,
    headers: HeaderMap,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Reply {
    let account = AccountId(u128::from(id));
    authorize_account(&state, &headers, account)?;
    let Query(page) = page.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let follower = state.follower.as_ref().ok_or_else(not_durable)?;
    let durable = state.ledger.journal_stats().map_or(0, |stats| stats.durable_position);
    let mut as_of = follower.as_of.subscribe();
    let caught_up = tokio::time::timeout(STATEMENT_WAIT, as_of.wait_for(|as_of| *as_of >= durable)).await;
    if !matches!(caught_up, Ok(Ok(_))) {
        let message = format!("the statements are behind the journal's durable position {durable}");
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "statements_behind", message));
    }
    let statements = follower.statements.read().map_err(|_| ApiError::internal())?;
    let page = statements.statement(account, page.from, page.limit).map_err(|error| match error {
        StatementError::UnknownAccount(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_account", error.to_string())
        }
        _ => ApiError::bad_request(error.to_string()),
    })?;
    let body = serde_json::to_value(&page).map_err(|_| ApiError::internal())?;
    Ok((StatusCode::OK, Json(body)))
}

/// An admin token, or a token of `account` that may still read it (not
/// revoked, with the `read` scope): the ledger decides.
fn authorize_account(state: &AppState, headers: &HeaderMap, account: AccountId) -> Result<(), ApiError> {
    let claims = state.verify(headers)?;
    if claims.admin {
        return Ok(());
    }
    let (credential, own) = user(&claims)?;
    if own != account {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the token is for another account"));
    }
    state
        .ledger
        .account_info_as(credential)
        .map(|_| ())
        .map_err(|error| crate::as_error(error, crate::account_error))
}

fn not_durable() -> ApiError {
    ApiError::new(StatusCode::NOT_IMPLEMENTED, "not_durable", "an in-memory service has no change stream")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct From {
    from: Option<u64>,
}

/// `GET /v1/events`: the change stream as server-sent events.
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    from: Result<Query<From>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    state.admin(&headers)?;
    let Query(From { from }) = from.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let since = match (from, last_event_id(&headers)?) {
        (Some(position), _) => Since::Position(position),
        (None, Some(last)) => Since::Position(last.saturating_add(1)),
        (None, None) => Since::End,
    };
    let subscription = state.ledger.subscribe(since).map_err(|error| match error {
        SubscribeError::NotDurable => not_durable(),
        SubscribeError::Beyond { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "position_beyond_end", error.to_string())
        }
        SubscribeError::Compacted { .. } => {
            ApiError::new(StatusCode::GONE, "position_compacted", error.to_string())
        }
        other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "stream_failed", other.to_string()),
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
