//! The administrators' page: users, every order (retry, cancel), workers and their last
//! heartbeat. Anyone else gets 403.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::configurations::Plain;
use super::csrf::Posted;
use super::layout::{self, Tr};
use super::{Shared, SignedIn};
use crate::{queue, service};

/// Users, orders and workers.
pub(super) async fn page(State(state): State<Shared>, signed: SignedIn) -> Response {
    let admin = match signed.admin() {
        Ok(admin) => admin.clone(),
        Err(refused) => return *refused,
    };
    let visitor = &signed.visitor;
    let gathered = async {
        Ok::<_, crate::ApiError>((
            service::users(&state).await?,
            queue::list(&state.db, &admin).await?,
            queue::workers(&state.db).await?,
        ))
    }
    .await;
    let (users, orders, workers) = match gathered {
        Ok(found) => found,
        Err(e) => return visitor.error_page(&e),
    };
    let now = crate::now();
    let tr = Tr::new(visitor.lang);
    let main = html! {
        section aria-labelledby="users-title" {
            h2 #users-title { (tr.t("users-title")) }
            table #users {
                (layout::head(&tr, &["field-user-name", "role", "email", "added"]))
                tbody {
                    @for account in &users {
                        tr {
                            td { (account.user.name) }
                            td { (account.user.role.as_str()) }
                            td { (account.user.email.clone().unwrap_or_default()) }
                            td { (layout::time(account.created)) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="orders-title" {
            h2 #orders-title { (tr.t("all-orders-title")) }
            div .scroll {
                table #all-orders {
                    (layout::head(&tr, &["field-name", "ordered", "state", "actions"]))
                    tbody {
                        @for o in &orders {
                            tr id=(format!("admin-order-{}", o.id)) {
                                td { a href=(format!("/orders/{}", o.id)) { (o.name) } }
                                td { (layout::time(o.created)) }
                                td {
                                    (tr.t(&format!("state-{}", o.state)))
                                    @if let Some(error) = &o.error { br; small { (error) } }
                                }
                                td {
                                    @if o.state == "failed" {
                                        form id=(format!("retry-{}", o.id)) method="post" action=(format!("/admin/orders/{}/retry", o.id)) {
                                            (layout::csrf_field(visitor))
                                            button type="submit" { (tr.t("retry")) }
                                        }
                                    }
                                    @if matches!(o.state.as_str(), "queued" | "building") {
                                        form id=(format!("cancel-{}", o.id)) method="post" action=(format!("/orders/{}/cancel", o.id)) {
                                            (layout::csrf_field(visitor))
                                            button .danger type="submit" { (tr.t("cancel")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="workers-title" {
            h2 #workers-title { (tr.t("workers-title")) }
            table #workers {
                (layout::head(&tr, &["worker", "last-heartbeat", "current-job"]))
                tbody {
                    @for w in &workers {
                        tr {
                            td { (w.name) }
                            td { (layout::time(w.last_heartbeat)) " (" (tr.count("seconds-ago", now.saturating_sub(w.last_heartbeat).max(0) as u64)) ")" }
                            td { @if let Some(job) = &w.current_job { a href=(format!("/orders/{job}")) { (job) } } }
                        }
                    }
                }
            }
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(visitor, &tr, &tr.t("nav-admin"), main),
    )
}

/// Puts a failed order back in the queue, then the admin page.
pub(super) async fn retry(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(signed, _): Posted<Plain>,
) -> Response {
    let admin = match signed.admin() {
        Ok(admin) => admin,
        Err(refused) => return *refused,
    };
    let outcome = queue::retry(&state.db, admin, &id).await;
    signed.visitor.redirect(outcome.map(|()| "/admin".into()))
}
