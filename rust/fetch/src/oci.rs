//! OCI images: pull with the distribution v2 API (anonymous bearer tokens, basic auth),
//! pick linux/arm64 (v8) from an index, verify every blob, and write a deterministic
//! `docker load` archive (sorted entries, mtime 0, uid/gid 0, mode 0644/0755).

use crate::download::{self, Decoder, Location, Spec};
use crate::hash::sha256_hex;
use crate::policy::Kind;
use crate::{FetchError, Fetcher, OciArchive};
use base64::Engine;
use nixspot_recipe::{is_sha256_digest, OciRef};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list media type.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

const MAX_MANIFEST: usize = 4 << 20;

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Length in bytes.
    pub size: u64,
    /// Platform (index entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// An index entry's platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`arm64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyManifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
struct ArchiveManifest<'a> {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Vec<String>,
    #[serde(rename = "Layers")]
    layers: Vec<&'a str>,
}

/// The platform name used in archive file names.
const PLATFORM: &str = "linux/arm64/v8";

/// image-creator's archive path for an image: `/data/images/<sanitized>.tar`, where the
/// name is `<registry>_<repository>_<tag or digest>_<platform>` with every character
/// outside `[A-Za-z0-9._-]` replaced by `_`.
pub fn archive_target(r: &OciRef) -> String {
    let raw = format!(
        "{}_{}_{}_{}",
        r.registry,
        r.repository,
        r.reference(),
        PLATFORM
    );
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("/data/images/{clean}.tar")
}

/// The name `docker load` tags the image with (`RepoTags`), if it has a tag.
pub fn repo_tag(r: &OciRef) -> Option<String> {
    let tag = r.tag.as_ref()?;
    let name = if r.registry == "docker.io" {
        r.repository
            .strip_prefix("library/")
            .unwrap_or(&r.repository)
            .to_string()
    } else {
        r.name()
    };
    Some(format!("{name}:{tag}"))
}

/// Parses a `WWW-Authenticate` challenge: scheme and `key="value"` parameters.
pub fn parse_challenge(h: &str) -> (String, Vec<(String, String)>) {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    (scheme.to_ascii_lowercase(), params)
}

/// A session with one repository of one registry.
struct Session<'a> {
    f: &'a Fetcher,
    r: &'a OciRef,
    /// Where the image is pulled from: `r`, or its mirror (see [`crate::mirror`]).
    src: &'a OciRef,
    ident: &'a str,
    base: String,
    auth: Mutex<Option<HeaderValue>>,
}

fn registry_base(registry: &str) -> String {
    let host = if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    };
    let local = is_loopback(host);
    format!("{}://{host}", if local { "http" } else { "https" })
}

/// Whether registry `host[:port]` is this machine, spoken to over plain HTTP: exactly
/// `localhost`, an address in 127.0.0.0/8 or `[::1]`, never a name that only starts
/// like one (`localhost.evil.example`, `127.evil.example`).
fn is_loopback(registry: &str) -> bool {
    let (host, port) = match registry.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':').or(tail.is_empty().then_some(""))),
            None => return false,
        },
        None => match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, Some("")),
        },
    };
    let port_ok = port.is_some_and(|p| p.is_empty() || p.parse::<u16>().is_ok());
    port_ok
        && (host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
}

impl Session<'_> {
    fn err(&self, message: impl Into<String>) -> FetchError {
        FetchError::Oci {
            reference: self.ident.to_string(),
            message: message.into(),
        }
    }

    fn creds(&self) -> Option<&(String, String)> {
        self.f.opts.registry_auth.get(&self.src.registry)
    }

    fn auth_header(&self) -> Option<HeaderValue> {
        self.auth.lock().ok().and_then(|g| g.clone())
    }

    async fn authenticate(&self, challenge: &str) -> Result<(), FetchError> {
        let (scheme, params) = parse_challenge(challenge);
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.clone())
        };
        let value = match scheme.as_str() {
            "basic" => {
                let (u, p) = self.creds().ok_or_else(|| {
                    self.err(format!(
                        "registry {} needs a user name and password",
                        self.src.registry
                    ))
                })?;
                basic(u, p)
            }
            "bearer" => {
                let realm =
                    get("realm").ok_or_else(|| self.err("bearer challenge without realm"))?;
                let mut req = self.f.client.get(&realm);
                let mut query = Vec::new();
                if let Some(s) = get("service") {
                    query.push(("service", s));
                }
                query.push((
                    "scope",
                    get("scope")
                        .unwrap_or_else(|| format!("repository:{}:pull", self.src.repository)),
                ));
                req = req.query(&query);
                if let Some((u, p)) = self.creds() {
                    req = req.header(AUTHORIZATION, basic(u, p));
                }
                let resp = req
                    .send()
                    .await
                    .map_err(|e| self.err(format!("token request to {realm} failed: {e}")))?;
                if !resp.status().is_success() {
                    return Err(FetchError::Status {
                        url: realm,
                        status: resp.status().as_u16(),
                        message: "token request refused".into(),
                    });
                }
                #[derive(Deserialize)]
                struct Token {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| self.err(format!("reading token answer from {realm}: {e}")))?;
                let t: Token = serde_json::from_slice(&body)
                    .map_err(|e| self.err(format!("bad token answer from {realm}: {e}")))?;
                let tok = t
                    .token
                    .or(t.access_token)
                    .ok_or_else(|| self.err("token answer without token"))?;
                HeaderValue::from_str(&format!("Bearer {tok}"))
                    .map_err(|_| self.err("token is not a valid header"))?
            }
            other => return Err(self.err(format!("unsupported authentication scheme {other:?}"))),
        };
        if let Ok(mut g) = self.auth.lock() {
            *g = Some(value);
        }
        Ok(())
    }

    /// GET with authentication, retries on 5xx/429/network errors.
    async fn get(&self, path: &str, accept: &str) -> Result<reqwest::Response, FetchError> {
        let url = format!("{}/v2/{}/{path}", self.base, self.src.repository);
        let mut authed = false;
        let mut failures = 0u32;
        loop {
            let mut req = self.f.client.get(&url).header(ACCEPT, accept);
            if let Some(a) = self.auth_header() {
                req = req.header(AUTHORIZATION, a);
            }
            let retry = match req.send().await {
                Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => format!("{e}"),
                Err(e) => {
                    return Err(FetchError::Http {
                        url,
                        message: e.to_string(),
                    })
                }
                Ok(resp) => match resp.status() {
                    s if s.is_success() => return Ok(resp),
                    StatusCode::UNAUTHORIZED if !authed => {
                        authed = true;
                        let ch = resp
                            .headers()
                            .get(WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                            .ok_or_else(|| self.err("HTTP 401 without WWW-Authenticate"))?;
                        self.authenticate(&ch).await?;
                        continue;
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        let wait = resp
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok());
                        failures += 1;
                        if failures > self.f.opts.retries {
                            return Err(FetchError::Status {
                                url,
                                status: 429,
                                message: "Too Many Requests (gave up)".into(),
                            });
                        }
                        let d = wait
                            .map(std::time::Duration::from_secs)
                            .unwrap_or(self.f.opts.retry_base);
                        tokio::time::sleep(d.min(std::time::Duration::from_secs(300))).await;
                        continue;
                    }
                    s if s.is_server_error() => format!("HTTP {s}"),
                    s => {
                        let body = resp.text().await.unwrap_or_default();
                        let detail = registry_error(&body);
                        let hint = match s {
                            StatusCode::UNAUTHORIZED => " (authentication refused)",
                            StatusCode::NOT_FOUND => " (no such image, tag or blob)",
                            _ => "",
                        };
                        return Err(FetchError::Status {
                            url,
                            status: s.as_u16(),
                            message: format!(
                                "{}{hint}{detail}",
                                s.canonical_reason().unwrap_or("")
                            ),
                        });
                    }
                },
            };
            failures += 1;
            if failures > self.f.opts.retries {
                return Err(FetchError::Http {
                    url,
                    message: format!("{retry} (gave up)"),
                });
            }
            tokio::time::sleep(self.f.opts.retry_base * (1 << failures.min(10))).await;
        }
    }

    /// Fetches a manifest by tag or digest; verifies it when fetched by digest.
    async fn manifest(&self, reference: &str) -> Result<(String, Vec<u8>), FetchError> {
        let accept = format!("{OCI_INDEX}, {DOCKER_LIST}, {OCI_MANIFEST}, {DOCKER_MANIFEST}");
        let resp = self.get(&format!("manifests/{reference}"), &accept).await?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.err(format!("reading manifest: {e}")))?;
        if body.len() > MAX_MANIFEST {
            return Err(self.err("manifest larger than 4 MiB"));
        }
        let digest = format!("sha256:{}", sha256_hex(&body));
        if is_sha256_digest(reference) && digest != reference {
            return Err(FetchError::HashMismatch {
                url: format!("{}/manifests/{reference}", self.r.name()),
                algo: "sha256".into(),
                expected: reference.into(),
                actual: digest,
            });
        }
        Ok((digest, body.to_vec()))
    }

    /// Fetches a blob into the cache (verified) and returns its path.
    async fn blob(&self, d: &Descriptor) -> Result<PathBuf, FetchError> {
        let hex = d
            .digest
            .strip_prefix("sha256:")
            .filter(|_| is_sha256_digest(&d.digest))
            .ok_or_else(|| self.err(format!("unsupported digest {}", d.digest)))?;
        if let Some(p) = self.f.cache.lookup(hex) {
            return Ok(p);
        }
        let url = format!(
            "{}/v2/{}/blobs/{}",
            self.base, self.src.repository, d.digest
        );
        let mut headers = HeaderMap::new();
        if let Some(a) = self.auth_header() {
            headers.insert(AUTHORIZATION, a);
        }
        let spec = Spec {
            url: url.clone(),
            location: Location::Http(url.clone()),
            sha256: Some(hex.to_string()),
            checksum: None,
            size: Some(d.size),
            decoder: Decoder::None,
            headers,
        };
        let task = self
            .f
            .progress
            .task(&format!("{} {}", self.r.name(), &hex[..12]), Some(d.size));
        let tmp = self.f.cache.temp_path(hex);
        let done =
            download::download(&self.f.client, &self.f.opts, &spec, tmp, &task, None).await?;
        task.finish(&format!("{} bytes", done.raw_size));
        self.f
            .cache
            .commit(&done.tmp, hex, done.raw_size, Kind::Blob, &url)
    }
}

fn registry_error(body: &str) -> String {
    #[derive(Deserialize)]
    struct Errs {
        errors: Vec<Err1>,
    }
    #[derive(Deserialize)]
    struct Err1 {
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_str::<Errs>(body) {
        Ok(e) => e
            .errors
            .iter()
            .map(|e| {
                format!(
                    ": {} {}",
                    e.code.as_deref().unwrap_or(""),
                    e.message.as_deref().unwrap_or("")
                )
            })
            .collect(),
        Err(_) => String::new(),
    }
}

fn basic(u: &str, p: &str) -> HeaderValue {
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
    HeaderValue::from_str(&format!("Basic {enc}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"))
}

fn pick_arm64(manifests: &[Descriptor]) -> Option<&Descriptor> {
    let is = |d: &&Descriptor, variant: Option<&str>| {
        d.platform.as_ref().is_some_and(|p| {
            p.os == "linux" && p.architecture == "arm64" && p.variant.as_deref() == variant
        })
    };
    manifests
        .iter()
        .find(|d| is(d, Some("v8")))
        .or_else(|| manifests.iter().find(|d| is(d, None)))
}

/// Pulls `ident` (or takes it from the cache) and returns its archive.
pub(crate) async fn pull(
    f: &Fetcher,
    ident: &str,
    index: &crate::cache::Index,
) -> Result<OciArchive, FetchError> {
    let r = OciRef::parse(ident).map_err(|e| FetchError::Oci {
        reference: ident.to_string(),
        message: e.to_string(),
    })?;
    let target = archive_target(&r);
    // By the reference as written, else (pinned) by the same name, tag and digest:
    // the archive depends only on those.
    let same = |k: &String, e: &crate::cache::OciEntry| {
        OciRef::parse(k).is_ok_and(|o| {
            o.registry == r.registry
                && o.repository == r.repository
                && o.tag == r.tag
                && r.digest.as_ref() == Some(&e.digest)
        })
    };
    let hit = index
        .oci
        .get(ident)
        .or_else(|| index.oci.iter().find(|(k, e)| same(k, e)).map(|(_, e)| e));
    if let Some(e) = hit.filter(|_| r.digest.is_some() || !f.opts.refresh) {
        if let Some(path) = f.cache.lookup(&e.archive_sha256) {
            f.cache
                .touch(&e.archive_sha256, e.filesize, Kind::Oci, ident)?;
            return Ok(OciArchive {
                ident: ident.to_string(),
                path,
                sha256: e.archive_sha256.clone(),
                digest: e.digest.clone(),
                filesize: e.filesize,
                fullsize: e.fullsize,
                target,
            });
        }
    }
    if f.opts.offline {
        return Err(FetchError::Offline {
            what: ident.to_string(),
        });
    }
    // A mirror changes where the image comes from, never its name (archive path, tags).
    let source = crate::mirror::source(&f.opts.mirrors, ident);
    let src = if source == ident {
        r.clone()
    } else {
        OciRef::parse(&source).map_err(|e| FetchError::Oci {
            reference: ident.to_string(),
            message: format!("mirrored to {source}: {e}"),
        })?
    };
    let s = Session {
        f,
        r: &r,
        src: &src,
        ident,
        base: registry_base(&src.registry),
        auth: Mutex::new(None),
    };
    let (mut digest, mut body) = s.manifest(src.reference()).await?;
    let m: AnyManifest =
        serde_json::from_slice(&body).map_err(|e| s.err(format!("bad manifest: {e}")))?;
    let is_index = m.manifests.is_some()
        || matches!(m.media_type.as_deref(), Some(OCI_INDEX) | Some(DOCKER_LIST));
    if is_index {
        let list = m.manifests.unwrap_or_default();
        let d = pick_arm64(&list).ok_or_else(|| {
            let found: Vec<String> = list
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| {
                    format!(
                        "{}/{}{}",
                        p.os,
                        p.architecture,
                        p.variant
                            .as_ref()
                            .map(|v| format!("/{v}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            s.err(format!(
                "no linux/arm64 image in the index (found: {})",
                found.join(", ")
            ))
        })?;
        let chosen = d.digest.clone();
        (digest, body) = s.manifest(&chosen).await?;
    }
    let m: AnyManifest =
        serde_json::from_slice(&body).map_err(|e| s.err(format!("bad manifest: {e}")))?;
    let (config, layers) = match (m.config, m.layers) {
        (Some(c), Some(l)) => (c, l),
        _ => return Err(s.err("manifest has no config or layers")),
    };
    let config_path = s.blob(&config).await?;
    let config_bytes = std::fs::read(&config_path).map_err(|e| FetchError::Io {
        path: config_path.clone(),
        source: e,
    })?;
    let cfg: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| s.err(format!("bad image config: {e}")))?;
    if cfg.architecture != "arm64" || cfg.os != "linux" {
        return Err(s.err(format!(
            "image is {}/{}, not linux/arm64",
            cfg.os, cfg.architecture
        )));
    }
    if cfg.rootfs.diff_ids.len() != layers.len() {
        return Err(s.err(format!(
            "config lists {} layers, manifest {}",
            cfg.rootfs.diff_ids.len(),
            layers.len()
        )));
    }
    let mut blobs = Vec::new();
    for l in &layers {
        blobs.push(s.blob(l).await?);
    }
    let config_hex = config.digest.trim_start_matches("sha256:").to_string();
    let tmp_dir = f.cache.temp_path("oci");
    std::fs::create_dir_all(&tmp_dir).map_err(|e| FetchError::Io {
        path: tmp_dir.clone(),
        source: e,
    })?;
    let result = build_archive(
        &s,
        &r,
        &tmp_dir,
        &config_hex,
        &config_bytes,
        &layers,
        &blobs,
        &cfg.rootfs.diff_ids,
    );
    let out = match result {
        Ok(built) => built,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp_dir);
            return Err(e);
        }
    };
    let committed = f
        .cache
        .commit(&out.path, &out.sha256, out.filesize, Kind::Oci, ident);
    let _ = std::fs::remove_dir_all(&tmp_dir);
    let path = committed?;
    let entry = crate::cache::OciEntry {
        digest: digest.clone(),
        archive_sha256: out.sha256.clone(),
        filesize: out.filesize,
        fullsize: out.fullsize,
    };
    let key = ident.to_string();
    f.cache.record(move |ix| {
        ix.oci.insert(key, entry);
    })?;
    Ok(OciArchive {
        ident: ident.to_string(),
        path,
        sha256: out.sha256,
        digest,
        filesize: out.filesize,
        fullsize: out.fullsize,
        target,
    })
}

struct Built {
    path: PathBuf,
    sha256: String,
    filesize: u64,
    fullsize: u64,
}

struct CountingHasher<W: Write> {
    inner: W,
    h: sha2::Sha256,
    n: u64,
}

impl<W: Write> Write for CountingHasher<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.h.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn layer_decoder(media_type: &str) -> Option<Decoder> {
    if media_type.ends_with("gzip") {
        Some(Decoder::Gz)
    } else if media_type.ends_with("zstd") {
        Some(Decoder::Zst)
    } else if media_type.ends_with(".tar") || media_type.ends_with("diff.tar") {
        Some(Decoder::None)
    } else {
        None
    }
}

/// Decompresses a layer to `out`, returning (sha256 hex, size) of the tar.
fn decompress_layer(blob: &Path, decoder: Decoder, out: &Path) -> std::io::Result<(String, u64)> {
    let input = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(blob)?);
    let mut reader: Box<dyn Read> = match decoder {
        Decoder::Gz => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Decoder::Zst => Box::new(zstd::stream::read::Decoder::new(input)?),
        Decoder::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(input)),
        Decoder::None => Box::new(input),
    };
    let mut w = CountingHasher {
        inner: std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?),
        h: sha2::Sha256::new(),
        n: 0,
    };
    std::io::copy(&mut reader, &mut w)?;
    w.flush()?;
    Ok((hex::encode(w.h.finalize()), w.n))
}

#[allow(clippy::too_many_arguments)]
fn build_archive(
    s: &Session<'_>,
    r: &OciRef,
    dir: &Path,
    config_hex: &str,
    config_bytes: &[u8],
    layers: &[Descriptor],
    blobs: &[PathBuf],
    diff_ids: &[String],
) -> Result<Built, FetchError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| FetchError::Io { path: p, source: e }
    };
    // Decompress each layer and check it against the config's diff_id.
    let mut layer_files: Vec<(String, PathBuf, u64)> = Vec::new();
    for (i, (l, blob)) in layers.iter().zip(blobs).enumerate() {
        let decoder = layer_decoder(&l.media_type).ok_or_else(|| {
            s.err(format!(
                "layer {i}: unsupported media type {}",
                l.media_type
            ))
        })?;
        let out = dir.join(format!("layer{i}.tar"));
        let (sha, size) = decompress_layer(blob, decoder, &out)
            .map_err(|e| s.err(format!("layer {i} ({}): cannot decompress: {e}", l.digest)))?;
        let want = diff_ids.get(i).map(String::as_str).unwrap_or("");
        if want != format!("sha256:{sha}") {
            return Err(FetchError::HashMismatch {
                url: format!("{} layer {i} (uncompressed)", r.name()),
                algo: "sha256".into(),
                expected: want.into(),
                actual: format!("sha256:{sha}"),
            });
        }
        layer_files.push((sha, out, size));
    }
    let layer_names: Vec<String> = layer_files
        .iter()
        .map(|(h, _, _)| format!("{h}/layer.tar"))
        .collect();
    let manifest = vec![ArchiveManifest {
        config: format!("{config_hex}.json"),
        repo_tags: repo_tag(r).into_iter().collect(),
        layers: layer_names.iter().map(String::as_str).collect(),
    }];
    let manifest_json = serde_json::to_vec(&manifest).unwrap_or_default();
    let repositories = match (&r.tag, layer_files.last()) {
        (Some(tag), Some((top, _, _))) => {
            let name = repo_tag(r)
                .and_then(|t| t.rsplit_once(':').map(|(n, _)| n.to_string()))
                .unwrap_or_default();
            let mut m = serde_json::Map::new();
            let mut inner = serde_json::Map::new();
            inner.insert(tag.clone(), serde_json::Value::String(top.clone()));
            m.insert(name, serde_json::Value::Object(inner));
            Some(serde_json::to_vec(&m).unwrap_or_default())
        }
        _ => None,
    };
    enum Src<'a> {
        Bytes(&'a [u8]),
        File(&'a Path, u64),
        Dir,
    }
    let mut entries: Vec<(String, Src<'_>)> = vec![
        (format!("{config_hex}.json"), Src::Bytes(config_bytes)),
        ("manifest.json".into(), Src::Bytes(&manifest_json)),
    ];
    if let Some(rp) = &repositories {
        entries.push(("repositories".into(), Src::Bytes(rp)));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (h, p, n) in &layer_files {
        if seen.insert(h.clone()) {
            entries.push((format!("{h}/"), Src::Dir));
            entries.push((format!("{h}/layer.tar"), Src::File(p, *n)));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let path = dir.join("archive.tar");
    let file = std::fs::File::create(&path).map_err(io(&path))?;
    let w = CountingHasher {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        h: sha2::Sha256::new(),
        n: 0,
    };
    let mut b = tar::Builder::new(w);
    let mut fullsize = 0u64;
    for (name, src) in &entries {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match src {
            Src::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, name, std::io::empty())
                    .map_err(io(&path))?;
            }
            Src::Bytes(bytes) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(bytes.len() as u64);
                fullsize += bytes.len() as u64;
                b.append_data(&mut h, name, *bytes).map_err(io(&path))?;
            }
            Src::File(p, n) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(*n);
                fullsize += n;
                let f = std::fs::File::open(p).map_err(io(p))?;
                b.append_data(&mut h, name, std::io::BufReader::with_capacity(1 << 20, f))
                    .map_err(io(&path))?;
            }
        }
    }
    let mut w = b.into_inner().map_err(io(&path))?;
    w.flush().map_err(io(&path))?;
    let sha256 = hex::encode(w.h.finalize());
    Ok(Built {
        path,
        sha256,
        filesize: w.n,
        fullsize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_and_names() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(p[0], ("realm".into(), "https://ghcr.io/token".into()));
        assert_eq!(p[2], ("scope".into(), "repository:a/b:pull,push".into()));
        let (s, p) = parse_challenge("Basic realm=x");
        assert_eq!((s.as_str(), p.len()), ("basic", 1));
        let r = OciRef::parse("ghcr.io/offspot/kiwix-serve:3.8.2_1").unwrap();
        assert_eq!(
            archive_target(&r),
            "/data/images/ghcr.io_offspot_kiwix-serve_3.8.2_1_linux_arm64_v8.tar"
        );
        assert_eq!(repo_tag(&r).unwrap(), "ghcr.io/offspot/kiwix-serve:3.8.2_1");
        let r = OciRef::parse("alpine:3").unwrap();
        assert_eq!(repo_tag(&r).unwrap(), "alpine:3");
        assert_eq!(registry_base("127.0.0.1:5000"), "http://127.0.0.1:5000");
        // Finding 7: only exact loopback names and addresses are plain HTTP.
        for local in [
            "localhost",
            "localhost:5000",
            "LOCALHOST:1",
            "127.0.0.1",
            "127.8.9.1:80",
            "[::1]",
            "[::1]:5000",
        ] {
            assert!(registry_base(local).starts_with("http://"), "{local}");
        }
        for remote in [
            "localhost.evil.example",
            "localhost.evil.example:5000",
            "localhostevil.example",
            "127.evil.example",
            "127.0.0.1.evil.example:5000",
            "127.0.0.1:5000@evil.example",
            "[::1].evil.example",
            "[::1]x:5000",
            "128.0.0.1:5000",
            "[::2]:5000",
        ] {
            assert_eq!(
                registry_base(remote),
                format!("https://{remote}"),
                "{remote}"
            );
        }
        assert_eq!(registry_base("docker.io"), "https://registry-1.docker.io");
    }
}
