//! Configurations: the list, the form (new and edit), copy and delete. The form is a
//! `multipart/form-data` post (it carries the logo); a refused configuration comes back
//! with what was typed and each error next to its field.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use maud::{html, Markup};
use serde_json::{json, Map, Value};

use super::csrf::{FormBody, Posted, UrlEncoded};
use super::layout::{self, Tr};
use super::{Shared, SignedIn, Visitor};
use crate::config::{ALLOWED_BASES, MAX_LOGO_BYTES};
use crate::error::ApiError;
use crate::service;

/// The text fields of the form, by name (also their `id`).
const TEXT_FIELDS: &[&str] = &[
    "name",
    "ssid",
    "passphrase",
    "domain",
    "language",
    "timezone",
    "admin_username",
    "admin_password",
    "base",
];

/// The longest text field accepted (the modules check the real limits).
const MAX_FIELD_BYTES: usize = 4096;

/// What the form holds: what the person typed (kept when the configuration is refused).
#[derive(Debug, Default)]
pub(super) struct Fields {
    text: std::collections::BTreeMap<String, String>,
    open: bool,
    logo: Option<(String, Vec<u8>)>,
    csrf: String,
}

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.text.get(name).map_or("", String::as_str)
    }

    /// The fields of a stored configuration.
    fn from_stored(body: &Value) -> Fields {
        let hotspot = body.get("hotspot").cloned().unwrap_or(Value::Null);
        let text_at = |pointer: &str| {
            hotspot
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut fields = Fields::default();
        for (field, pointer) in [
            ("name", "/name"),
            ("ssid", "/ap/ssid"),
            ("passphrase", "/ap/passphrase"),
            ("domain", "/domain"),
            ("language", "/language"),
            ("timezone", "/timezone"),
            ("admin_username", "/admin/username"),
            ("base", "/base/source"),
        ] {
            fields.text.insert(field.into(), text_at(pointer));
        }
        fields.open = !matches!(hotspot.pointer("/ap/passphrase"), Some(Value::String(_)));
        fields
    }

    /// Reads the posted form: bounded text fields, one bounded logo.
    async fn read(mut multipart: Multipart) -> Result<Fields, ApiError> {
        let mut fields = Fields::default();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("the form: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_string();
            if name == "logo" {
                let file_name = field.file_name().unwrap_or_default().to_string();
                let data = field
                    .bytes()
                    .await
                    .map_err(|e| ApiError::bad_request(format!("the logo: {e}")))?;
                if data.len() > MAX_LOGO_BYTES {
                    return Err(ApiError::invalid(
                        Some("hotspot.branding".into()),
                        format!(
                            "the logo has {} bytes, more than the {MAX_LOGO_BYTES} allowed",
                            data.len()
                        ),
                    ));
                }
                if !data.is_empty() {
                    fields.logo = Some((file_name, data.to_vec()));
                }
                continue;
            }
            let value = field
                .text()
                .await
                .map_err(|e| ApiError::bad_request(format!("field {name}: {e}")))?;
            if value.len() > MAX_FIELD_BYTES {
                return Err(ApiError::bad_request(format!(
                    "field {name}: more than {MAX_FIELD_BYTES} bytes"
                )));
            }
            match name.as_str() {
                "csrf" => fields.csrf = value,
                "open" => fields.open = true,
                n if TEXT_FIELDS.contains(&n) => {
                    fields.text.insert(name, value.trim().to_string());
                }
                _ => {}
            }
        }
        Ok(fields)
    }

    /// `body` with the form's values: an empty field removes the option (its default
    /// applies), an empty admin password keeps the stored one.
    fn apply(&self, body: &mut Value) {
        if !body.get("hotspot").is_some_and(Value::is_object) {
            *body = json!({"hotspot": {}});
        }
        let Some(hotspot) = body.get_mut("hotspot").and_then(Value::as_object_mut) else {
            return;
        };
        let set = |map: &mut Map<String, Value>, path: &[&str], value: &str| {
            let mut map = map;
            for key in &path[..path.len() - 1] {
                let entry = map
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                let Some(inner) = entry.as_object_mut() else {
                    return;
                };
                map = inner;
            }
            let last = path[path.len() - 1].to_string();
            if value.is_empty() {
                map.remove(&last);
            } else {
                map.insert(last, Value::String(value.to_string()));
            }
        };
        set(hotspot, &["name"], self.get("name"));
        set(hotspot, &["ap", "ssid"], self.get("ssid"));
        let passphrase = if self.open {
            ""
        } else {
            self.get("passphrase")
        };
        set(hotspot, &["ap", "passphrase"], passphrase);
        set(hotspot, &["domain"], self.get("domain"));
        set(hotspot, &["language"], self.get("language"));
        set(hotspot, &["timezone"], self.get("timezone"));
        set(hotspot, &["admin", "username"], self.get("admin_username"));
        set(hotspot, &["base", "source"], self.get("base"));
        if !self.get("admin_password").is_empty() {
            set(hotspot, &["admin", "password"], self.get("admin_password"));
        }
        for group in ["ap", "admin", "base"] {
            if hotspot
                .get(group)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                hotspot.remove(group);
            }
        }
        if let Some((file_name, data)) = &self.logo {
            // Named after what the bytes are; anything else keeps its own extension,
            // which the policy then refuses with its reason.
            let name = if data.starts_with(b"\x89PNG\r\n\x1a\n") {
                "horizontal-logo-light.png".to_string()
            } else if data.starts_with(&[0xff, 0xd8, 0xff]) {
                "horizontal-logo-light.jpg".to_string()
            } else {
                let extension = file_name.rsplit('.').next().unwrap_or("bin");
                format!("horizontal-logo-light.{}", extension.to_ascii_lowercase())
            };
            let branding = json!({ name: { "base64": base64::engine::general_purpose::STANDARD.encode(data) } });
            hotspot.insert("branding".into(), branding);
        }
    }
}

/// The form field an option path belongs to.
fn field_of(option: &str) -> Option<&'static str> {
    let rest = option.strip_prefix("hotspot.")?;
    Some(match rest {
        "name" => "name",
        "ap.ssid" => "ssid",
        "ap.passphrase" => "passphrase",
        "domain" | "tld" | "fqdn" => "domain",
        "language" => "language",
        "timezone" => "timezone",
        "admin.username" => "admin_username",
        "admin.password" => "admin_password",
        "base.source" => "base",
        r if r.starts_with("branding") => "logo",
        _ => return None,
    })
}

/// The configurations of the signed-in user.
pub(super) async fn list(State(state): State<Shared>, signed: SignedIn) -> Response {
    let SignedIn { visitor, user } = signed;
    let list = match service::list_configurations(&state, &user, false).await {
        Ok(list) => list,
        Err(e) => return visitor.error_page(&e),
    };
    let tr = Tr::new(visitor.lang);
    let main = html! {
        p { a #new-configuration .button href="/configurations/new" { (tr.t("new-configuration")) } }
        @if list.is_empty() {
            p #no-configurations { (tr.t("no-configurations")) }
        } @else {
            table #configurations {
                (layout::head(&tr, &["field-name", "updated"]))
                tbody {
                    @for c in &list {
                        tr id=(format!("configuration-{}", c.id)) {
                            td { a id=(format!("edit-{}", c.id)) href=(format!("/configurations/{}", c.id)) {
                                (c.name.clone().unwrap_or_else(|| tr.t("unnamed")))
                            } }
                            td { (layout::time(c.updated)) }
                        }
                    }
                }
            }
        }
    };
    layout::respond(
        StatusCode::OK,
        layout::page(&visitor, &tr, &tr.t("nav-configurations"), main),
    )
}

/// The errors of a refused form: by field, and those of no field.
struct Errors {
    by_field: Vec<(&'static str, String)>,
    general: Vec<String>,
}

impl Errors {
    fn none() -> Errors {
        Errors {
            by_field: Vec::new(),
            general: Vec::new(),
        }
    }

    fn of(error: &ApiError) -> Errors {
        let mut errors = Errors::none();
        let message = for_people(&error.message, error.option.as_deref());
        match error.option.as_deref().and_then(field_of) {
            Some(field) => errors.by_field.push((field, message)),
            None => errors.general.push(message),
        }
        errors
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.by_field
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, m)| m.as_str())
    }
}

/// What a person filling the form needs of a module-system message (the JSON API keeps
/// it whole): of failed assertions, the text of the one about `option`, without the
/// option's name, where it was defined and the evaluator's code frame; otherwise the
/// message's first line after the "evaluating … failed:" header.
fn for_people(message: &str, option: Option<&str>) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let header = lines
        .first()
        .is_some_and(|l| l.starts_with("evaluating ") && l.ends_with("failed:"));
    let rest = &lines[usize::from(header)..];
    if rest.first() == Some(&"Failed assertions:") {
        let items: Vec<&str> = rest[1..]
            .iter()
            .map_while(|l| l.strip_prefix("- "))
            .collect();
        let about_option = option.and_then(|o| {
            items
                .iter()
                .find_map(|item| item.strip_prefix(o).map(str::trim_start))
        });
        if let Some(text) = about_option.or_else(|| items.first().copied()) {
            let text = match text.strip_prefix("(defined in ") {
                Some(defined) => defined.split_once("): ").map_or(text, |(_, t)| t),
                None => text,
            };
            return text.to_string();
        }
    }
    rest.first()
        .map_or_else(|| message.trim().to_string(), |l| l.to_string())
}

/// One labelled input, with its error and hint.
fn input(tr: &Tr, fields: &Fields, errors: &Errors, name: &str, kind: &str, hint: bool) -> Markup {
    let error = errors.field(name);
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let described: Vec<&str> = [
        error.map(|_| error_id.as_str()),
        hint.then_some(hint_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let value = if kind == "password" && name == "admin_password" {
        ""
    } else {
        fields.get(name)
    };
    html! {
        div .field {
            label for=(name) { (tr.t(&format!("field-{}", name.replace('_', "-")))) }
            @if hint {
                p .hint id=(hint_id) { (tr.t(&format!("hint-{}", name.replace('_', "-")))) }
            }
            @if let Some(error) = error {
                p .error id=(error_id) { (error) }
            }
            input id=(name) name=(name) type=(kind) value=(value)
                autocomplete=[(kind == "password").then_some("new-password")]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
        }
    }
}

/// The configuration form (`id`: the configuration edited, none for a new one).
fn form_page(visitor: &Visitor, id: Option<&str>, fields: &Fields, errors: &Errors) -> Markup {
    let tr = Tr::new(visitor.lang);
    let action = match id {
        Some(id) => format!("/configurations/{id}"),
        None => "/configurations".to_string(),
    };
    let title = match id {
        Some(_) => fields.get("name").to_string(),
        None => tr.t("new-configuration"),
    };
    let title = if title.is_empty() {
        tr.t("unnamed")
    } else {
        title
    };
    let has_errors = !errors.by_field.is_empty() || !errors.general.is_empty();
    let logo_error = errors.field("logo");
    let main = html! {
        @if has_errors {
            div #error-summary .error-summary role="alert" tabindex="-1" {
                h2 { (tr.t("errors-title")) }
                ul {
                    @for (field, message) in &errors.by_field {
                        li { a href=(format!("#{field}")) { (tr.t(&format!("field-{}", field.replace('_', "-")))) ": " (message) } }
                    }
                    @for message in &errors.general {
                        li { (message) }
                    }
                }
            }
        }
        form #configuration-form method="post" action=(action) enctype="multipart/form-data" {
            (layout::csrf_field(visitor))
            fieldset {
                legend { (tr.t("group-identity")) }
                (input(&tr, fields, errors, "name", "text", true))
                (input(&tr, fields, errors, "domain", "text", true))
                (input(&tr, fields, errors, "language", "text", true))
                (input(&tr, fields, errors, "timezone", "text", true))
                div .field {
                    label for="base" { (tr.t("field-base")) }
                    p .hint #base-hint { (tr.t("hint-base")) }
                    @if let Some(error) = errors.field("base") {
                        p .error #base-error { (error) }
                    }
                    select #base name="base" aria-describedby="base-hint" {
                        @for base in ALLOWED_BASES {
                            option value=(base) selected[fields.get("base") == *base] {
                                @if *base == "nixspot:base" { (tr.t("base-nixspot")) } @else { (tr.t1("base-offspot", "version", base)) }
                            }
                        }
                    }
                }
            }
            fieldset {
                legend { (tr.t("group-wifi")) }
                (input(&tr, fields, errors, "ssid", "text", true))
                div .field .check {
                    input #open name="open" type="checkbox" value="1" checked[fields.open];
                    label for="open" { (tr.t("field-open")) }
                }
                (input(&tr, fields, errors, "passphrase", "text", true))
            }
            fieldset {
                legend { (tr.t("group-admin")) }
                (input(&tr, fields, errors, "admin_username", "text", false))
                (input(&tr, fields, errors, "admin_password", "password", true))
            }
            fieldset {
                legend { (tr.t("group-branding")) }
                div .field {
                    label for="logo" { (tr.t("field-logo")) }
                    p .hint #logo-hint { (tr.t("hint-logo")) }
                    @if let Some(error) = logo_error {
                        p .error #logo-error { (error) }
                    }
                    input #logo name="logo" type="file" accept="image/png,image/jpeg"
                        aria-invalid=[logo_error.map(|_| "true")]
                        aria-describedby=(if logo_error.is_some() { "logo-hint logo-error" } else { "logo-hint" });
                }
            }
            p { button #save type="submit" { (tr.t("save")) } }
        }
        @if let Some(id) = id {
            section aria-labelledby="next-steps" {
                h2 #next-steps { (tr.t("next-steps")) }
                ul .actions {
                    li { a #content-link href=(format!("/configurations/{id}/content")) { (tr.t("choose-content")) } }
                    li { a #module-nix href=(format!("/api/v1/configurations/{id}/module.nix")) download="module.nix" { (tr.t("download-module")) } }
                    li { a #lock-json href=(format!("/api/v1/configurations/{id}/lock.json")) download="module.lock.json" { (tr.t("download-lock")) } }
                }
                form #order-form method="post" action=(format!("/configurations/{id}/order")) {
                    (layout::csrf_field(visitor))
                    // Pressing twice gives one order (the key makes the order idempotent).
                    input type="hidden" name="key" value=(crate::random_token(16));
                    button #order type="submit" .primary { (tr.t("order")) }
                }
                form #copy-form method="post" action=(format!("/configurations/{id}/copy")) {
                    (layout::csrf_field(visitor))
                    button #copy type="submit" { (tr.t("copy")) }
                }
                form #delete-form method="post" action=(format!("/configurations/{id}/delete")) {
                    (layout::csrf_field(visitor))
                    button #delete type="submit" .danger { (tr.t("delete")) }
                }
            }
        }
    };
    layout::page(visitor, &tr, &title, main)
}

/// The empty form.
pub(super) async fn new(signed: SignedIn) -> Response {
    // nixspot's own base by default: built here, nothing to download.
    let mut fields = Fields::default();
    fields.text.insert("base".into(), "nixspot:base".into());
    layout::respond(
        StatusCode::OK,
        form_page(&signed.visitor, None, &fields, &Errors::none()),
    )
}

/// The form of a stored configuration.
pub(super) async fn edit(
    State(state): State<Shared>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let SignedIn { visitor, user } = signed;
    match service::load_configuration(&state, &user, &id).await {
        Ok(stored) => {
            let fields = Fields::from_stored(&stored.hotspot);
            layout::respond(
                StatusCode::OK,
                form_page(&visitor, Some(&id), &fields, &Errors::none()),
            )
        }
        Err(e) => visitor.error_page(&e),
    }
}

impl FormBody for Fields {
    async fn read(request: Request, visitor: &Visitor) -> Result<Self, Response> {
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(IntoResponse::into_response)?;
        Fields::read(multipart)
            .await
            .map_err(|e| visitor.error_page(&e))
    }

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Saves a new configuration, then its page; or the form with its errors.
pub(super) async fn create(State(state): State<Shared>, posted: Posted<Fields>) -> Response {
    save_form(state, posted, None).await
}

/// Saves a configuration, then its page; or the form with its errors.
pub(super) async fn save(
    State(state): State<Shared>,
    Path(id): Path<String>,
    posted: Posted<Fields>,
) -> Response {
    save_form(state, posted, Some(id)).await
}

async fn save_form(state: Shared, posted: Posted<Fields>, id: Option<String>) -> Response {
    let Posted(SignedIn { visitor, user }, fields) = posted;
    let outcome = match &id {
        Some(id) => match service::load_configuration(&state, &user, id).await {
            Ok(stored) => {
                let mut body = stored.hotspot;
                fields.apply(&mut body);
                service::update_configuration(&state, &user, id, &body)
                    .await
                    .map(|()| id.clone())
            }
            Err(e) => return visitor.error_page(&e),
        },
        None => {
            let mut body = json!({"hotspot": {}});
            fields.apply(&mut body);
            service::create_configuration(&state, &user, &body).await
        }
    };
    match outcome {
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => layout::respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&visitor, id.as_deref(), &fields, &Errors::of(&e)),
        ),
        outcome => visitor.redirect(outcome.map(|id| format!("/configurations/{id}"))),
    }
}

/// A form with only its CSRF token.
#[derive(serde::Deserialize)]
pub(super) struct Plain {
    #[serde(default)]
    csrf: String,
}

impl UrlEncoded for Plain {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Copies a configuration ("Copy of …"), then the copy's page.
pub(super) async fn copy(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(SignedIn { visitor, user }, _): Posted<Plain>,
) -> Response {
    let name = match service::load_configuration(&state, &user, &id).await {
        Ok(stored) => stored
            .hotspot
            .pointer("/hotspot/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Err(e) => return visitor.error_page(&e),
    };
    // The catalogue is not Send: made and dropped before the next await.
    let name = Tr::new(visitor.lang).t1("copy-of", "name", &name);
    let outcome = service::copy_configuration(&state, &user, &id, &name).await;
    visitor.redirect(outcome.map(|copy| format!("/configurations/{copy}")))
}

/// Deletes a configuration, then the list.
pub(super) async fn delete(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(SignedIn { visitor, user }, _): Posted<Plain>,
) -> Response {
    let outcome = service::delete_configuration(&state, &user, &id).await;
    visitor.redirect(outcome.map(|()| "/configurations".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_land_on_their_fields() {
        assert_eq!(field_of("hotspot.ap.ssid"), Some("ssid"));
        assert_eq!(field_of("hotspot.branding.\"a.png\".base64"), Some("logo"));
        assert_eq!(field_of("hotspot.zims.x.package"), None);
        assert_eq!(field_of("other"), None);
    }

    #[test]
    fn people_read_the_assertion_not_the_evaluator() {
        let message = "evaluating module.nix failed:\nFailed assertions:\n\
            - hotspot.name (defined in `module.nix'): the name is empty.\n\
            - hotspot.ap.ssid (defined in `module.nix'): \"x\" must be 1 to 32 bytes long (it is 40).\n\n\
            \x20      at <nixspot>/lib/default.nix:23:9:\n\n           22|       if failed != [ ] then";
        assert_eq!(
            for_people(message, Some("hotspot.ap.ssid")),
            "\"x\" must be 1 to 32 bytes long (it is 40)."
        );
        assert_eq!(
            for_people(message, Some("hotspot.domain")),
            "hotspot.name (defined in `module.nix'): the name is empty."
        );
        let typed = "evaluating module.nix failed:\nThe option `hotspot.ap.ssid' is not of type `string'.\n\n       at x";
        assert_eq!(
            for_people(typed, Some("hotspot.ap.ssid")),
            "The option `hotspot.ap.ssid' is not of type `string'."
        );
        assert_eq!(for_people("  plain  ", None), "plain");
        assert_eq!(for_people("", None), "");
    }

    #[test]
    fn the_form_edits_only_its_options() {
        let mut body = json!({"hotspot": {"zims": {"w": {"package": "a:b"}}, "admin": {"password": "kept-secret"}}});
        let mut fields = Fields::default();
        fields.text.insert("name".into(), "School".into());
        fields.text.insert("ssid".into(), "School WiFi".into());
        fields.text.insert("passphrase".into(), "ignored".into());
        fields.open = true;
        fields.apply(&mut body);
        assert_eq!(
            body,
            json!({"hotspot": {"name": "School", "ap": {"ssid": "School WiFi"},
                "zims": {"w": {"package": "a:b"}}, "admin": {"password": "kept-secret"}}})
        );
    }
}
