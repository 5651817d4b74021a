//! Orders: ordering a configuration, the list, the order page (its state updated live
//! by server-sent events, or by reloading), its image, its frozen module and lock, and
//! cancelling.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::configurations::Plain;
use super::csrf::{Posted, UrlEncoded};
use super::layout::{self, Tr};
use super::{Shared, SignedIn};
use crate::queue::{self, Order};
use crate::service;

/// How often the event stream looks at the order.
const POLL: Duration = Duration::from_secs(1);

#[derive(serde::Deserialize)]
pub(super) struct OrderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

impl UrlEncoded for OrderForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Orders configuration `id`, then the order's page.
pub(super) async fn order(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(SignedIn { visitor, user }, form): Posted<OrderForm>,
) -> Response {
    let key = Some(form.key.as_str()).filter(|k| !k.is_empty() && k.len() <= 255);
    let outcome = service::create_order(&state, &user, &id, key).await;
    visitor.redirect(outcome.map(|(order, _)| format!("/orders/{order}")))
}

/// The state's message id.
fn state_message(state: &str) -> String {
    format!("state-{state}")
}

/// Whether an order will not change any more (but for expiring).
fn settled(order: &Order) -> bool {
    matches!(order.state.as_str(), "ready" | "failed" | "expired")
}

/// The orders of the signed-in user.
pub(super) async fn list(State(state): State<Shared>, signed: SignedIn) -> Response {
    let SignedIn { visitor, user } = signed;
    // Administrators see everyone's on the admin page; here, one's own.
    let orders = match queue::list(&state.db, &user).await {
        Ok(orders) => orders,
        Err(e) => return visitor.error_page(&e),
    };
    let orders: Vec<Order> = orders.into_iter().filter(|o| o.owner == user.id).collect();
    let tr = Tr::new(visitor.lang);
    let main = html! {
        @if orders.is_empty() {
            p #no-orders { (tr.t("no-orders")) }
        } @else {
            table #orders {
                (layout::head(&tr, &["field-name", "ordered", "state"]))
                tbody {
                    @for o in &orders {
                        tr id=(format!("order-{}", o.id)) {
                            td { a href=(format!("/orders/{}", o.id)) { (o.name) } }
                            td { (layout::time(o.created)) }
                            td { (tr.t(&state_message(&o.state))) }
                        }
                    }
                }
            }
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&visitor, &tr, &tr.t("nav-orders"), main),
    )
}

/// The order page.
pub(super) async fn page(
    State(state): State<Shared>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let SignedIn { visitor, user } = signed;
    let order = match queue::get(&state.db, &user, &id).await {
        Ok(order) => order,
        Err(e) => return visitor.error_page(&e),
    };
    let tr = Tr::new(visitor.lang);
    let live = !settled(&order);
    let percent = order
        .progress
        .fraction
        .map(|f| (f.clamp(0.0, 1.0) * 100.0).round() as u32);
    let main = html! {
        @if live {
            // Without JavaScript the page reloads itself; with it, events update it.
            noscript { meta http-equiv="refresh" content="5"; }
        }
        section #order-status aria-live="polite" data-events=[live.then(|| format!("/orders/{id}/events"))] {
            p { (tr.t("state")) ": " strong #order-state data-state=(order.state) { (tr.t(&state_message(&order.state))) } }
            @if order.state == "queued" {
                @if let Some(ahead) = order.queue_position {
                    p #order-queue { (tr.count("queue-position", ahead as u64)) }
                }
            }
            @if order.state == "building" {
                p #order-step { (tr.t("step")) ": " span #order-step-name { (order.progress.step.clone().unwrap_or_default()) } }
                progress #order-progress max="100" value=[percent] aria-label=(tr.t("progress")) { (percent.map(|p| format!("{p} %")).unwrap_or_default()) }
            }
            @if let Some(error) = &order.error {
                p #order-error .error { (tr.t("failed-because")) " " (error) }
            }
        }
        @if live {
            p { a #refresh href=(format!("/orders/{id}")) { (tr.t("refresh")) } }
        }
        @if order.state == "ready" {
            section aria-labelledby="download-title" {
                h2 #download-title { (tr.t("download-title")) }
                p { a #download .button .primary href=(format!("/api/v1/orders/{id}/image")) download { (tr.t("download-image")) } }
                dl {
                    @if let Some(size) = order.size { dt { (tr.t("size")) } dd #order-size { (layout::bytes(size.max(0) as u64)) } }
                    @if let Some(sha) = &order.sha256 { dt { "SHA-256" } dd #order-sha256 { code { (sha) } } }
                    @if let Some(expires) = order.expires { dt { (tr.t("expires")) } dd { (layout::time(expires)) } }
                }
                p .hint { (layout::with_code(&tr.t("flash-hint"))) }
            }
        }
        section aria-labelledby="module-title" {
            h2 #module-title { (tr.t("module-title")) }
            p .hint { (layout::with_code(&tr.t("module-hint"))) }
            ul .actions {
                li { a #module-nix href=(format!("/orders/{id}/module.nix")) download="module.nix" { (tr.t("download-module")) } }
                li { a #lock-json href=(format!("/orders/{id}/lock.json")) download="module.lock.json" { (tr.t("download-lock")) } }
            }
        }
        @if matches!(order.state.as_str(), "queued" | "building") {
            form #cancel-form method="post" action=(format!("/orders/{id}/cancel")) {
                (layout::csrf_field(&visitor))
                button #cancel .danger type="submit" { (tr.t("cancel")) }
            }
        }
        @if let Some(configuration) = &order.configuration {
            p { a #configuration-link href=(format!("/configurations/{configuration}")) { (tr.t("back-to-configuration")) } }
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(
            &visitor,
            &tr,
            &tr.t1("order-title", "name", &order.name),
            main,
        ),
    )
}

/// Server-sent events: `state` with the order's JSON whenever it changes, until it is
/// settled.
pub(super) async fn events(
    State(state): State<Shared>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let SignedIn { visitor, user } = signed;
    let first = match queue::get(&state.db, &user, &id).await {
        Ok(order) => order,
        Err(e) => return visitor.error_page(&e),
    };
    let labels: serde_json::Map<String, serde_json::Value> = {
        // The catalogue is not Send: made and dropped before the stream.
        let tr = Tr::new(visitor.lang);
        ["queued", "building", "ready", "failed", "expired"]
            .iter()
            .map(|s| (s.to_string(), tr.t(&state_message(s)).into()))
            .collect()
    };
    let stream = futures_util::stream::unfold(
        (Some(first), None::<Order>, false),
        move |(next, last, done)| {
            let state = state.clone();
            let user = user.clone();
            let id = id.clone();
            let labels = labels.clone();
            async move {
                if done {
                    return None;
                }
                let mut current = next;
                loop {
                    let order = match current.take() {
                        Some(order) => order,
                        None => {
                            tokio::time::sleep(POLL).await;
                            // The order vanished or the database is away: end the
                            // stream; the browser reconnects or the page is reloaded.
                            queue::get(&state.db, &user, &id).await.ok()?
                        }
                    };
                    if last.as_ref() == Some(&order) {
                        continue;
                    }
                    let mut data = serde_json::to_value(&order).unwrap_or_default();
                    if let Some(object) = data.as_object_mut() {
                        object.insert(
                            "label".into(),
                            labels.get(&order.state).cloned().unwrap_or_default(),
                        );
                    }
                    let event = Event::default().event("state").data(data.to_string());
                    let finished = settled(&order);
                    return Some((Ok::<_, Infallible>(event), (None, Some(order), finished)));
                }
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn text_file(text: String, content_type: &'static str, name: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

/// The module the order froze.
pub(super) async fn module_nix(
    State(state): State<Shared>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    frozen(state, signed, id, true).await
}

/// The lock the order froze.
pub(super) async fn lock_json(
    State(state): State<Shared>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    frozen(state, signed, id, false).await
}

async fn frozen(state: Shared, signed: SignedIn, id: String, module: bool) -> Response {
    let SignedIn { visitor, user } = signed;
    let found = async {
        // Visible to its owner and administrators only (404 otherwise).
        queue::get(&state.db, &user, &id).await?;
        queue::frozen(&state.db, &id).await
    }
    .await;
    match found {
        Ok((text, _)) if module => text_file(text, "text/plain; charset=utf-8", "module.nix"),
        Ok((_, lock)) => text_file(lock, "application/json", "module.lock.json"),
        Err(e) => visitor.error_page(&e),
    }
}

/// Cancels an order (its owner or an administrator), then its page.
pub(super) async fn cancel(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(SignedIn { visitor, user }, _): Posted<Plain>,
) -> Response {
    let outcome = service::cancel_order(&state, &user, &id).await;
    visitor.redirect(outcome.map(|()| format!("/orders/{id}")))
}
