//! `cargo run --release -p atomic-ledger-service` serves on 127.0.0.1:3000
//! (`ADDR` overrides it) and prints an admin token. `SECRET` sets the JWT
//! signing secret (default: a fixed development secret; set it in production).
//! `DATA_DIR` (default `./data`) is where it keeps its state: the ledger's
//! journal and the credential registry; a restart on the same directory
//! (and `SECRET`) brings everything back. Ctrl-C stops it gracefully:
//! requests in flight finish first.

use std::sync::Arc;

use atomic_ledger_service::{serve, AppState};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let secret = std::env::var("SECRET").unwrap_or_else(|_| "development secret: set SECRET".into());
    let data_dir = std::env::var("DATA_DIR").unwrap_or_else(|_| "./data".into());
    let state = Arc::new(AppState::open(std::path::Path::new(&data_dir), secret.as_bytes())?);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}, data in {data_dir}");
    println!("admin token (24 h): {}", state.admin_token(86_400));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    };
    serve(listener, state, shutdown).await
}
