//! `nixspot-portal`: the captive portal. Configured by environment variables only, like
//! offspot's portal (see the library's `config` module).

use nixspot_portal::clock::SystemClock;
use nixspot_portal::config::{Filter, PortalConfig};
use nixspot_portal::firewall::{Firewall, MemoryFirewall, NftFirewall};
use nixspot_portal::server::{serve, Portal};
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    if std::env::args_os().len() > 1 {
        eprintln!(
            "usage: nixspot-portal\n(configured by environment variables: HOTSPOT_NAME, HOTSPOT_FQDN, \
             HOTSPOT_IP, CAPTURED_NETWORKS, TIMEOUT, DB_PATH, FILTER_MODULE, …)"
        );
        return ExitCode::from(2);
    }
    let cfg = match PortalConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nixspot-portal: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(if cfg.debug {
            tracing::Level::DEBUG
        } else {
            tracing::Level::INFO
        })
        .init();
    let firewall: Arc<dyn Firewall> = match cfg.filter {
        Filter::Nft => Arc::new(NftFirewall::new(cfg.nft_path.clone(), cfg.captive())),
        Filter::Dummy => Arc::new(MemoryFirewall::new()),
    };
    let addr = std::net::SocketAddr::new(cfg.bind_to, cfg.port);
    let portal = Arc::new(Portal::new(cfg, Arc::new(SystemClock), firewall));
    if let Err(e) = portal.restore() {
        tracing::error!("{e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!("listening on http://{addr}");
        serve(portal, listener, shutdown()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM (runit's `sv down`) or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
