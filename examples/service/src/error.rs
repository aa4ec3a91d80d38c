//! The service's errors: one JSON shape, `{"error": {"code", "message"}}`,
//! with a stable code per cause ([`ErrorCode`], listed in `/openapi.json`),
//! and the mapping from the ledger's errors to them.

use atomic_ledger::{AccountError, AsError, CredentialError, HoldError, Rejection, TransferError};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error code the service answers with. Stable: clients match on
/// them; a new cause gets a new code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body, a header or a query parameter is malformed or out of range.
    BadRequest,
    /// A path id is not a whole number up to 2^64 - 1.
    InvalidId,
    /// No token, an invalid or expired one, or an unknown API key.
    Unauthorized,
    /// The endpoint needs an admin token.
    AdminOnly,
    /// The token may not do this (another account, a missing scope).
    Forbidden,
    /// The token was revoked.
    Revoked,
    /// No such account.
    UnknownAccount,
    /// No such hold.
    UnknownHold,
    /// No such token.
    UnknownToken,
    /// The account exists already (or its id is reserved).
    AccountNotOpened,
    /// The transfer id was used with other fields.
    TransferIdReused,
    /// The transfer id is older than the ledger remembers.
    TransferIdExpired,
    /// The hold id was used with other fields.
    HoldIdReused,
    /// The hold was already posted, voided or expired.
    HoldAlreadyResolved,
    /// The source has too little above its floor.
    InsufficientFunds,
    /// The account is frozen.
    AccountFrozen,
    /// The account is closed.
    AccountClosed,
    /// Refused by the ledger for another reason (a ceiling, an overflow, …).
    Rejected,
    /// The API key's rate limit is short: `Retry-After` says when it refills.
    RateLimited,
    /// The API key's allowance is spent; only a deposit refills it.
    QuotaExhausted,
    /// The stream position is past the journal's end.
    PositionBeyondEnd,
    /// The stream position was folded into a checkpoint.
    PositionCompacted,
    /// The statements did not catch up with the journal in time.
    StatementsBehind,
    /// The change stream could not be read.
    StreamFailed,
    /// An in-memory service has no change stream or statements.
    NotDurable,
    /// The journal failed: nothing more can be made durable.
    JournalFailed,
    /// The credential registry could not be written.
    RegistryFailed,
    /// No such endpoint.
    NotFound,
    /// The endpoint does not take that method.
    MethodNotAllowed,
    /// A bug: never expected.
    Internal,
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The stable code.
    code: ErrorCode,
    /// A message for people; not stable.
    message: String,
}

/// A JSON error with a stable code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    pub(crate) retry_after_s: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_s: None }
    }

    pub(crate) fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    pub(crate) fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody { error: ErrorDetail { code: self.code, message: self.message } });
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after_s {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

pub(crate) fn rejection(reason: Rejection) -> ApiError {
    let code = match reason {
        Rejection::InsufficientFunds { .. } => ErrorCode::InsufficientFunds,
        Rejection::AccountFrozen { .. } => ErrorCode::AccountFrozen,
        Rejection::AccountClosed { .. } => ErrorCode::AccountClosed,
        _ => ErrorCode::Rejected,
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, reason.to_string())
}

pub(crate) fn account_error(error: AccountError) -> ApiError {
    match error {
        AccountError::UnknownAccount(_) => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownAccount, error.to_string())
        }
        AccountError::Rejected(reason) => rejection(reason),
        _ => ApiError::bad_request(error.to_string()),
    }
}

pub(crate) fn credential_error(error: CredentialError) -> ApiError {
    match error {
        CredentialError::RateLimited { retry_after_ms, .. } => {
            let mut error =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, error.to_string());
            error.retry_after_s = Some(retry_after_ms.div_ceil(1_000));
            error
        }
        CredentialError::UnknownCredential(_) | CredentialError::ReservedCredentialId(_) => {
            ApiError::unauthorized("the token's credential is unknown")
        }
        CredentialError::UnknownAccount(_) => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownAccount, error.to_string())
        }
        CredentialError::CapOutOfRange { .. } | CredentialError::ExpiryInPast { .. } => {
            ApiError::bad_request(error.to_string())
        }
        CredentialError::Revoked(_) => {
            ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Revoked, error.to_string())
        }
        _ => ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, error.to_string()),
    }
}

pub(crate) fn as_error<E>(error: AsError<E>, failed: impl FnOnce(E) -> ApiError) -> ApiError {
    match error {
        AsError::Denied(error) => credential_error(error),
        AsError::Failed(error) => failed(error),
    }
}

pub(crate) fn transfer_error(error: TransferError) -> ApiError {
    match error {
        TransferError::UnknownAccount(_) => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownAccount, error.to_string())
        }
        TransferError::IdConflict { .. } => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::TransferIdReused, error.to_string())
        }
        TransferError::IdExpired { .. } => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::TransferIdExpired, error.to_string())
        }
        TransferError::Rejected { reason, .. } => rejection(reason),
        _ => ApiError::bad_request(error.to_string()),
    }
}

pub(crate) fn hold_error(error: HoldError) -> ApiError {
    match error {
        HoldError::UnknownAccount(_) => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownAccount, error.to_string())
        }
        HoldError::UnknownHold(_) => {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownHold, error.to_string())
        }
        HoldError::IdConflict { .. } => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::HoldIdReused, error.to_string())
        }
        HoldError::AlreadyResolved { .. } => {
            ApiError::new(StatusCode::CONFLICT, ErrorCode::HoldAlreadyResolved, error.to_string())
        }
        HoldError::Rejected { reason, .. } => rejection(reason),
        _ => ApiError::bad_request(error.to_string()),
    }
}
