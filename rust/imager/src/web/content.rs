//! The content picker: the Kiwix catalog (search, language, category and flavour
//! filters, sizes, icons), the apps and files packages of `modules/catalog.nix`, and
//! the total against SD card sizes (the smallest card that fits), all server-side.

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use nixspot_catalog::{Catalog, Entry};
use serde_json::{json, Value};

use super::csrf::{FormBody, Posted};
use super::layout::{self, Tr};
use super::{Shared, SignedIn, Visitor};
use crate::accounts::User;
use crate::error::ApiError;
use crate::server::AppState;
use crate::service;

/// How many search results a page shows.
const MAX_RESULTS: usize = 60;

/// A package of `modules/catalog.nix`.
#[derive(Debug, Clone, serde::Deserialize)]
struct Package {
    kind: String,
    title: String,
    description: String,
    icon: Option<String>,
    size: u64,
}

/// What `modules/catalog.nix` offers besides the Kiwix catalog.
#[derive(Debug, Clone, serde::Deserialize)]
struct Offers {
    /// SD cards, smallest first: name and usable bytes.
    cards: Vec<Card>,
    packages: BTreeMap<String, Package>,
    /// Bytes before the data partition of nixspot's base image.
    #[serde(rename = "nixspotBase")]
    nixspot_base: u64,
    /// The same for offspot's base images, by version.
    #[serde(rename = "baseImages")]
    base_images: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct Card {
    name: String,
    usable: u64,
}

/// The offers of the modules in `modules`, evaluated once per process and folder.
fn offers(modules: &FsPath) -> Result<Arc<Offers>, String> {
    static CACHE: OnceLock<Mutex<BTreeMap<PathBuf, Arc<Offers>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(modules).cloned()) {
        return Ok(found);
    }
    let offers: Arc<Offers> = Arc::new(crate::config::eval_catalog(
        modules,
        "c: { cards = c.sdCards; \
         nixspotBase = c.nixspotBase.rootfsSize; \
         baseImages = builtins.mapAttrs (n: b: b.rootfsSize) c.baseImages; \
         packages = builtins.mapAttrs (n: p: { kind = p.kind; title = p.title or n; \
           description = p.description or \"\"; icon = p.iconUrl or null; \
           size = p.imageFullsize or p.downloadSize or 0; }) c.packages; }",
    )?);
    if let Ok(mut c) = cache.lock() {
        c.insert(modules.to_path_buf(), offers.clone());
    }
    Ok(offers)
}

async fn load_offers(state: &AppState) -> Result<Arc<Offers>, ApiError> {
    let modules = state.pinning.modules.clone();
    tokio::task::spawn_blocking(move || offers(&modules))
        .await
        .map_err(|e| ApiError::internal(format!("catalog.nix task: {e}")))?
        .map_err(ApiError::internal)
}

/// The search of the picker (also where add/remove come back to).
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub(super) struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    flavour: String,
}

impl Search {
    fn query_string(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.q)
            .append_pair("lang", &self.lang)
            .append_pair("category", &self.category)
            .append_pair("flavour", &self.flavour)
            .finish()
    }
}

/// The newest catalog entry of `package` (`NAME:FLAVOUR`).
fn entry_of<'a>(catalog: &'a Catalog, package: &str) -> Option<&'a Entry> {
    let (name, flavour) = package.split_once(':').unwrap_or((package, ""));
    catalog.versions(name, Some(flavour)).into_iter().next()
}

/// The size the content of `hotspot` adds up to, and the smallest card it fits.
fn total(offers: &Offers, catalog: &Catalog, hotspot: &Value) -> (u64, Option<String>) {
    let base = match hotspot
        .pointer("/hotspot/base/source")
        .and_then(Value::as_str)
    {
        Some(version) if offers.base_images.contains_key(version) => offers.base_images[version],
        _ => offers.nixspot_base,
    };
    let zims: u64 = hotspot
        .pointer("/hotspot/zims")
        .and_then(Value::as_object)
        .map(|zims| {
            zims.values()
                .filter_map(|z| z.get("package").and_then(Value::as_str))
                .filter_map(|p| entry_of(catalog, p))
                .map(|e| e.length)
                .sum()
        })
        .unwrap_or(0);
    let packages: u64 = chosen_packages(hotspot)
        .iter()
        .filter_map(|ident| offers.packages.get(ident))
        .map(|p| p.size)
        .sum();
    let sum = base.saturating_add(zims).saturating_add(packages);
    let card = offers
        .cards
        .iter()
        .find(|c| c.usable >= sum)
        .map(|c| c.name.clone());
    (sum, card)
}

/// The apps and files packages a configuration enables.
fn chosen_packages(hotspot: &Value) -> Vec<String> {
    let mut chosen = Vec::new();
    for group in ["/hotspot/apps", "/hotspot/filesPackages"] {
        if let Some(map) = hotspot.pointer(group).and_then(Value::as_object) {
            for (ident, value) in map {
                if value.get("enable").and_then(Value::as_bool) == Some(true) {
                    chosen.push(ident.clone());
                }
            }
        }
    }
    chosen
}

/// The picker page.
pub(super) async fn page(
    State(state): State<Shared>,
    signed: SignedIn,
    Path(id): Path<String>,
    Query(search): Query<Search>,
) -> Response {
    render(&state, &signed.visitor, &signed.user, &id, &search, None).await
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    user: &User,
    id: &str,
    search: &Search,
    error: Option<&ApiError>,
) -> Response {
    let gathered = async {
        let stored = service::load_configuration(state, user, id).await?;
        let catalog = state.catalog().await?;
        let offers = load_offers(state).await?;
        Ok::<_, ApiError>((stored, catalog, offers))
    }
    .await;
    let (stored, catalog, offers) = match gathered {
        Ok(found) => found,
        Err(e) => return visitor.error_page(&e),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status);
    layout::respond(
        status,
        picker(
            visitor,
            id,
            search,
            &stored.hotspot,
            &catalog,
            &offers,
            error,
        ),
    )
}

/// A form-safe id part: `[A-Za-z0-9_-]`, anything else `-`.
fn id_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn picker(
    visitor: &Visitor,
    id: &str,
    search: &Search,
    hotspot: &Value,
    catalog: &Catalog,
    offers: &Offers,
    error: Option<&ApiError>,
) -> Markup {
    let tr = Tr::new(visitor.lang);
    let action = format!("/configurations/{id}/content");
    let back = search.query_string();
    let zims: Vec<(String, String)> = hotspot
        .pointer("/hotspot/zims")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let package = v.get("package").and_then(Value::as_str).unwrap_or("");
                    (k.clone(), package.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let chosen: Vec<&str> = zims.iter().map(|(_, p)| p.as_str()).collect();
    let query = nixspot_catalog::Query {
        words: search.q.split_whitespace().map(str::to_string).collect(),
        lang: Some(search.lang.clone()).filter(|l| !l.is_empty()),
        category: Some(search.category.clone()).filter(|c| !c.is_empty()),
        flavour: Some(search.flavour.clone()).filter(|f| !f.is_empty()),
        max_size: None,
    };
    let mut seen = std::collections::BTreeSet::new();
    let results: Vec<&Entry> = catalog
        .search(&query)
        .into_iter()
        .filter(|e| seen.insert(e.ident()))
        .take(MAX_RESULTS)
        .collect();
    let flavours: std::collections::BTreeSet<&str> = catalog
        .entries()
        .iter()
        .map(|e| e.flavour.as_str())
        .filter(|f| !f.is_empty())
        .collect();
    let apps_on = chosen_packages(hotspot);
    let (sum, card) = total(offers, catalog, hotspot);
    let name = hotspot
        .pointer("/hotspot/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let title = tr.t1("content-title", "name", name);
    let main = html! {
        p { a #back-to-configuration href=(format!("/configurations/{id}")) { (tr.t("back-to-configuration")) } }
        @if let Some(error) = error {
            div #error-summary .error-summary role="alert" tabindex="-1" {
                h2 { (tr.t("errors-title")) }
                p { (error.message) }
            }
        }
        section #total-section aria-labelledby="total-title" aria-live="polite" {
            h2 #total-title { (tr.t("total-title")) }
            p { (tr.t("total-label")) " " strong #total data-bytes=(sum) { (layout::bytes(sum)) } }
            p {
                (tr.t("card-label")) " "
                strong #card { (card.clone().unwrap_or_else(|| tr.t("card-none"))) }
            }
            p .hint { (tr.t("total-hint")) }
        }
        section aria-labelledby="selection-title" {
            h2 #selection-title { (tr.t("selection-title")) }
            @if zims.is_empty() {
                p #selection-empty { (tr.t("selection-empty")) }
            }
            ul #selection .entries {
                @for (key, package) in &zims {
                    @let entry = entry_of(catalog, package);
                    li {
                        @if let Some(entry) = entry {
                            (icon(entry))
                            span .title { (entry.title) }
                            " " span .size { (layout::bytes(entry.length)) }
                        } @else {
                            span .title { (package) }
                            " " span .error { (tr.t("not-in-catalog")) }
                        }
                        form .swap id=(format!("remove-{}", id_part(key))) method="post" action=(action) {
                            (layout::csrf_field(visitor))
                            input type="hidden" name="back" value=(back);
                            input type="hidden" name="remove" value=(key);
                            button type="submit" aria-label=(tr.t1("remove-label", "name", package)) { (tr.t("remove")) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="search-title" {
            h2 #search-title { (tr.t("search-title")) }
            form #search-form method="get" action=(action) role="search" {
                div .field {
                    label for="q" { (tr.t("field-q")) }
                    input #q name="q" type="search" value=(search.q);
                }
                (filter(&tr, "lang", &search.lang, catalog.languages().iter().map(counted)))
                (filter(&tr, "category", &search.category, catalog.categories().iter().map(counted)))
                (filter(&tr, "flavour", &search.flavour, flavours.iter().map(|f| (f.to_string(), f.to_string()))))
                p { button #search type="submit" { (tr.t("search")) } }
            }
            p #result-count { (tr.count("results-count", results.len() as u64)) }
            ul #results .entries {
                @for entry in &results {
                    @let ident = entry.ident();
                    @let form_id = id_part(&format!("{}_{}", entry.name, entry.flavour));
                    li {
                        (icon(entry))
                        div .about {
                            span .title { (entry.title) }
                            " " span .meta { (entry.languages.join(", ")) " · " (entry.category) " · " (entry.flavour) " · " (layout::bytes(entry.length)) }
                            p .summary { (entry.summary) }
                        }
                        @if chosen.contains(&ident.as_str()) {
                            span .chosen { (tr.t("chosen")) }
                        } @else {
                            form .swap id=(format!("add-{form_id}")) method="post" action=(action) {
                                (layout::csrf_field(visitor))
                                input type="hidden" name="back" value=(back);
                                input type="hidden" name="add" value=(ident);
                                button id=(format!("add-button-{form_id}")) type="submit"
                                    aria-label=(tr.t1("add-label", "name", &entry.title)) { (tr.t("add")) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="apps-title" {
            h2 #apps-title { (tr.t("apps-title")) }
            form #apps-form method="post" action=(format!("/configurations/{id}/apps")) {
                (layout::csrf_field(visitor))
                ul .entries {
                    @for (ident, package) in &offers.packages {
                        @let field = format!("app-{}", id_part(ident));
                        li .check {
                            @if let Some(url) = &package.icon {
                                img .icon src=(url) alt="" width="48" height="48" loading="lazy";
                            }
                            input type="checkbox" id=(field) name="package" value=(ident) checked[apps_on.contains(ident)];
                            label for=(field) {
                                span .title { (package.title) }
                                " " span .meta { (tr.t(&format!("kind-{}", package.kind))) " · " (layout::bytes(package.size)) }
                                " " span .summary { (package.description) }
                            }
                        }
                    }
                }
                p { button #save-apps type="submit" { (tr.t("save-apps")) } }
            }
        }
    };
    layout::page(visitor, &tr, &title, main)
}

/// A search filter: the select of `name` (its `id` too), any value first, then
/// `options` (value, label); `current` selected.
fn filter(
    tr: &Tr,
    name: &str,
    current: &str,
    options: impl Iterator<Item = (String, String)>,
) -> Markup {
    html! {
        div .field {
            label for=(name) { (tr.t(&format!("field-{name}"))) }
            select id=(name) name=(name) {
                option value="" { (tr.t("any")) }
                @for (value, label) in options {
                    option value=(value) selected[value == current] { (label) }
                }
            }
        }
    }
}

/// A language or category as a filter option: its value, and its value with its count.
fn counted(count: &nixspot_catalog::Count) -> (String, String) {
    (
        count.value.clone(),
        format!("{} ({})", count.value, count.count),
    )
}

/// An entry's icon (the catalog's illustration), decorative: the title says it all.
fn icon(entry: &Entry) -> Markup {
    html! {
        @if let Some(url) = &entry.icon_url {
            img .icon src=(url) alt="" width="48" height="48" loading="lazy";
        } @else {
            span .icon {}
        }
    }
}

/// The forms of the picker, as posted (`add`, `remove`, `back`, each `package`).
pub(super) struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn field(&self, name: &str) -> Option<&str> {
        field(&self.0, name)
    }
}

impl FormBody for Pairs {
    async fn read(request: Request, _visitor: &Visitor) -> Result<Self, Response> {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Pairs(
            url::form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    fn csrf(&self) -> &str {
        self.field("csrf").unwrap_or_default()
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A new `zims` attribute name for `package`: its name, made unique.
fn zim_key(zims: &serde_json::Map<String, Value>, package: &str) -> String {
    let name = package.split(':').next().unwrap_or(package);
    let base: String = id_part(name);
    let base = if base.is_empty() {
        "content".to_string()
    } else {
        base
    };
    let mut key = base.clone();
    let mut n = 2;
    while zims.contains_key(&key) {
        key = format!("{base}-{n}");
        n += 1;
    }
    key
}

/// The options of configuration `id` (its `hotspot`), to change.
fn options_of<'a>(
    hotspot: &'a mut Value,
    id: &str,
) -> Result<&'a mut serde_json::Map<String, Value>, ApiError> {
    hotspot
        .get_mut("hotspot")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ApiError::internal(format!("configuration {id}: no hotspot options")))
}

/// Stores the changed `hotspot` of configuration `id`, then the picker at `to`; or the
/// picker with the policy's refusal (the search `search`).
async fn store(
    state: &AppState,
    signed: &SignedIn,
    id: &str,
    hotspot: &Value,
    search: &Search,
    to: String,
) -> Response {
    let SignedIn { visitor, user } = signed;
    match service::update_configuration(state, user, id, hotspot).await {
        Err(e) if e.status.is_client_error() => {
            render(state, visitor, user, id, search, Some(&e)).await
        }
        outcome => visitor.redirect(outcome.map(|()| to)),
    }
}

/// Adds (`add=NAME:FLAVOUR`) or removes (`remove=KEY`) content, then the picker.
pub(super) async fn change(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(signed, fields): Posted<Pairs>,
) -> Response {
    let back = fields.field("back").unwrap_or_default().to_string();
    let search: Search = serde_urlencoded_search(&back);
    let mut hotspot = match service::load_configuration(&state, &signed.user, &id).await {
        Ok(stored) => stored.hotspot,
        Err(e) => return signed.visitor.error_page(&e),
    };
    let changed = options_of(&mut hotspot, &id).and_then(|object| {
        let zims = object
            .entry("zims")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| ApiError::internal(format!("configuration {id}: zims is not a set")))?;
        if let Some(package) = fields.field("add").filter(|p| !p.is_empty()) {
            let key = zim_key(zims, package);
            zims.insert(key, json!({ "package": package }));
        } else if let Some(key) = fields.field("remove") {
            zims.remove(key);
        }
        if zims.is_empty() {
            object.remove("zims");
        }
        Ok(())
    });
    if let Err(e) = changed {
        return signed.visitor.error_page(&e);
    }
    let to = format!("/configurations/{id}/content?{back}");
    store(&state, &signed, &id, &hotspot, &search, to).await
}

fn serde_urlencoded_search(query: &str) -> Search {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| field(&pairs, name).unwrap_or_default().to_string();
    Search {
        q: get("q"),
        lang: get("lang"),
        category: get("category"),
        flavour: get("flavour"),
    }
}

/// Enables the ticked apps and files packages (and no others), then the picker.
pub(super) async fn apps(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Posted(signed, fields): Posted<Pairs>,
) -> Response {
    let mut hotspot = match service::load_configuration(&state, &signed.user, &id).await {
        Ok(stored) => stored.hotspot,
        Err(e) => return signed.visitor.error_page(&e),
    };
    let kinds = &state.policy.packages;
    let object = match options_of(&mut hotspot, &id) {
        Ok(object) => object,
        Err(e) => return signed.visitor.error_page(&e),
    };
    object.remove("apps");
    object.remove("filesPackages");
    for (_, ident) in fields.0.iter().filter(|(k, _)| k == "package") {
        // Unknown idents go in as apps: the policy then refuses them by name.
        let group = match kinds.get(ident).map(String::as_str) {
            Some("files") => "filesPackages",
            _ => "apps",
        };
        let set = object.entry(group).or_insert_with(|| json!({}));
        if let Some(set) = set.as_object_mut() {
            set.insert(ident.clone(), json!({"enable": true}));
        }
    }
    let to = format!("/configurations/{id}/content");
    store(&state, &signed, &id, &hotspot, &Search::default(), to).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zim_keys_are_attribute_names_and_unique() {
        let mut zims = serde_json::Map::new();
        assert_eq!(zim_key(&zims, "wikipedia_en_all:nopic"), "wikipedia_en_all");
        zims.insert("wikipedia_en_all".into(), json!({}));
        assert_eq!(
            zim_key(&zims, "wikipedia_en_all:maxi"),
            "wikipedia_en_all-2"
        );
        assert_eq!(zim_key(&zims, "a b\"c"), "a-b-c");
    }
}
