//! `cargo run --release -p atomic-ledger-service` serves on 127.0.0.1:3000
//! (`ADDR` overrides it) and prints an admin token. `SECRET` sets the JWT
//! signing secret (default: a fixed development secret; set it in production).
//! Ctrl-C stops it gracefully: requests in flight finish first.

use std::sync::Arc;

use atomic_ledger::Ledger;
use atomic_ledger_service::{serve, AppState};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let secret = std::env::var("SECRET").unwrap_or_else(|_| "development secret: set SECRET".into());
    let ledger =
        Ledger::builder().accounts_max(1 << 20).credentials_max(1 << 16).buckets_max(1 << 16).build();
    let ledger = ledger.map_err(std::io::Error::other)?;
    let state = Arc::new(AppState::new(ledger, secret.as_bytes()));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}");
    println!("admin token (24 h): {}", state.admin_token(86_400));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    };
    serve(listener, state, shutdown).await
}
