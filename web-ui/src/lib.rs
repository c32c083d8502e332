//! fumidai's HTTP surfaces on the internal side (R-13-5: management interfaces are not
//! reachable from the vendor side).
//!
//! For now: `/healthz` for liveness monitoring and `/metrics` in Prometheus text format
//! (R-11-2). The operator UI, vendor portal and report views arrive with later issues.
//!
//! # Layout
//!
//! - [`router`]: the axum [`Router`] for a given [`AppState`]; tests drive it with `oneshot`.
//!
//! # What this crate does not do
//!
//! It opens no database pool of its own (it is handed the store) and re-implements no rule.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use fumidai_core::metrics::Exporter;
use fumidai_core::ops::health::{self, Health};
use store::Store;

/// What the handlers need.
#[derive(Clone)]
pub struct AppState {
    /// The gateway's store; `/healthz` fails when it doesn't answer.
    pub store: Arc<dyn Store>,
    /// What `/metrics` serves.
    pub metrics: Exporter,
}

/// The internal HTTP router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// 200 `ok` when the store answers, else 503: an unreachable store means no session can
/// start (fail closed), which monitoring must see.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match health::check(state.store.as_ref()).await {
        Health::Ready => (StatusCode::OK, "ok\n"),
        Health::StoreUnreachable => (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n"),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn state() -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = store::open(&url, store::MasterKey::generate())
            .await
            .unwrap();
        (
            dir,
            AppState {
                store,
                metrics: Exporter::fixed("fumidai_test 1\n"),
            },
        )
    }

    #[tokio::test]
    async fn healthz_and_metrics() {
        let (_dir, state) = state().await;
        let app = router(state);
        let r = app
            .clone()
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .clone()
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"fumidai_test 1\n");
        let r = app
            .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}
