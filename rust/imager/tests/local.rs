//! Local mode (`nixspot imager`): loopback only, the one-time sign-in link turning into
//! the session cookie of the one local user, requests naming another host refused (DNS
//! rebinding), and a finished image written to the output folder.

mod support;

use nixspot_imager::accounts::Role;
use nixspot_imager::local::LocalMode;
use nixspot_imager::server::{Server, ServerError};
use reqwest::header;
use serde_json::json;
use support::{client, school, Api, World};

/// The cookie a `Set-Cookie` header sets (`name=value`).
fn cookie_of(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get(header::SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_string()
}

/// `GET url` with `headers`.
async fn get(api: &Api, url: &str, headers: &[(header::HeaderName, &str)]) -> reqwest::Response {
    let mut request = api.http.get(url);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.unwrap()
}

/// `GET /api/v1/me` of `server` with the session `cookie`: answered 200.
async fn me_with(api: &Api, server: &Server, cookie: &str) -> reqwest::Response {
    let me = get(
        api,
        &format!("{}/api/v1/me", server.url),
        &[(header::COOKIE, cookie)],
    )
    .await;
    assert_eq!(me.status(), 200);
    me
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_app_signs_in_once_answers_only_its_host_and_writes_images_out() {
    let world = World::new().await;
    let output = world.path("my images");

    // Only a loopback address.
    let mut exposed = world.settings("data");
    exposed.listen = "0.0.0.0:0".parse().unwrap();
    exposed.local = Some(LocalMode {
        output: output.clone(),
    });
    match Server::start(exposed).await {
        Err(ServerError::Other(message)) => assert!(message.contains("loopback"), "{message}"),
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("local mode started on 0.0.0.0"),
    }

    let mut settings = world.settings("data");
    settings.local = Some(LocalMode {
        output: output.clone(),
    });
    let server = Server::start(settings.clone()).await.expect("server");
    let link = server.local_sign_in_url().expect("a sign-in link");
    assert!(link.starts_with(&format!("{}/local/sign-in?secret=", server.url)));
    let anonymous = Api::new(&server.url, None);

    // Without the cookie the app is as closed as the service.
    let (status, _) = anonymous.get("/api/v1/me").await;
    assert_eq!(status, 401);
    let wrong = get(
        &anonymous,
        &format!("{}/local/sign-in?secret=0123", server.url),
        &[],
    )
    .await;
    assert_eq!(wrong.status(), 403);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());

    // A page that rebinds its DNS name to 127.0.0.1 names another host.
    let port = server.addr.port();
    for host in [format!("evil.example:{port}"), "127.0.0.1".to_string()] {
        let rebound = get(
            &anonymous,
            &format!("{}/api/v1/health", server.url),
            &[(header::HOST, &host)],
        )
        .await;
        assert_eq!(rebound.status(), 403, "Host: {host}");
    }
    let own = get(
        &anonymous,
        &format!("http://localhost:{port}/api/v1/health"),
        &[],
    )
    .await;
    assert_eq!(own.status(), 200);

    // The link signs the browser in, once.
    let signed_in = get(&anonymous, &link, &[]).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[header::LOCATION], "/");
    let cookie = cookie_of(&signed_in);
    let me = me_with(&anonymous, &server, &cookie).await;
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["name"], json!("local"));
    assert_eq!(me["role"], json!("admin"));
    let again = get(&anonymous, &link, &[]).await;
    assert_eq!(again.status(), 403, "a spent link signs nobody in");
    assert!(again.headers().get(header::SET_COOKIE).is_none());

    // An order's finished image lands in the output folder, announced.
    let mut exported = server.state.local.as_ref().unwrap().exported();
    let local_user = server.state.local.as_ref().unwrap().user.clone();
    let local_token = nixspot_imager::accounts::create_token(
        &server.state.db,
        &local_user,
        nixspot_imager::accounts::TokenKind::Api,
        3600,
    )
    .await
    .unwrap();
    let person = Api::new(&server.url, Some(&local_token));
    let worker = client(&server, "builder", Role::Worker, None).await;
    let (status, created) = person.post("/api/v1/configurations", school()).await;
    assert_eq!(status, 201, "{created}");
    let (status, ordered) = person
        .post("/api/v1/orders", json!({"configuration": created["id"]}))
        .await;
    assert_eq!(status, 201, "{ordered}");
    let (_, claimed) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    let job = claimed["job"]["id"].as_str().unwrap().to_string();
    let image = b"an image standing in for a built one".repeat(1000);
    let (status, uploaded) = worker
        .upload(&job, image.clone(), &support::sha256(&image))
        .await;
    assert_eq!(status, 200, "{uploaded}");
    let written = exported
        .recv()
        .await
        .expect("an announcement")
        .expect("the image written");
    assert_eq!(written.parent(), Some(output.as_path()));
    let name = written.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("school-library-") && name.ends_with(".img"),
        "{name}"
    );
    assert_eq!(std::fs::read(&written).unwrap(), image);
    server.shutdown().await;

    // Restarted: the same local user, a new link; the old cookie still works (a month).
    let server = Server::start(settings).await.expect("restart");
    assert_eq!(server.state.local.as_ref().unwrap().user, local_user);
    assert_ne!(server.local_sign_in_url().unwrap(), link);
    me_with(&anonymous, &server, &cookie).await;
    server.shutdown().await;
}
