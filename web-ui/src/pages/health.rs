//! `/healthz` (anyone on the internal side: a load balancer or monitor, R-11-2) and
//! `/metrics` (loopback clients only: Prometheus or an agent on the gateway host).

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use fumidai_core::ops::health::{self, Health};

use crate::AppState;

/// 200 `ok` when the store answers, else 503: an unreachable store means no session can
/// start (fail closed), which monitoring must see.
pub(crate) async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match health::check(state.store.as_ref()).await {
        Health::Ready => (StatusCode::OK, "ok\n"),
        Health::StoreUnreachable => (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n"),
    }
}

/// Prometheus text to a loopback client; 403 to anyone else, and when the client's
/// address is unknown (fail closed).
pub(crate) async fn metrics(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let loopback = crate::session::client_ip(&parts).is_some_and(|ip| ip.is_loopback());
    if !loopback {
        return (
            StatusCode::FORBIDDEN,
            "metrics are served to loopback clients only / メトリクスはループバックからのみ取得できます\n",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
