//! Connectivity-check answers that make each platform consider the network online
//! (offspot's `portal/platforms.py`), sent to registered clients.

/// An answer to a connectivity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Success {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, when there is a body.
    pub content_type: &'static str,
    /// The body.
    pub body: &'static str,
    /// An extra header.
    pub header: Option<(&'static str, &'static str)>,
}

/// Apple's captive-network-assistant hosts.
pub const APPLE_HOSTS: &[&str] = &[
    "captive.apple.com",
    "apple.com",
    "www.apple.com",
    "gsp1.apple.com",
    "appleiphonecell.com",
    "www.appleiphonecell.com",
    "www.itools.info",
    "www.ibook.info",
    "www.airport.us",
    "www.thinkdifferent.us",
];

/// Windows' NCSI hosts (plus any `*.msftncsi.com`).
pub const WINDOWS_HOSTS: &[&str] = &[
    "www.msftconnecttest.com",
    "msftconnecttest.com",
    "ipv6.msftconnecttest.com",
    "www.msftncsi.com",
    "msftncsi.com",
    "www.msn.com",
];

const APPLE: Success = Success {
    status: 200,
    content_type: "text/html",
    body: "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>",
    header: None,
};

const ANDROID: Success = Success {
    status: 204,
    content_type: "",
    body: "",
    header: Some(("Server", "gws")),
};

/// The answer `host` + `path` expects from an open network, if it is a known check.
/// `host` is the `Host` header without port, any case.
pub fn success(host: &str, path: &str) -> Option<Success> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if path == "/generate_204" || path == "/gen_204" {
        return Some(ANDROID);
    }
    if APPLE_HOSTS.contains(&host.as_str()) {
        return Some(APPLE);
    }
    match host.as_str() {
        "detectportal.firefox.com" => {
            return Some(if path == "/success.txt" {
                Success {
                    status: 200,
                    content_type: "text/plain",
                    body: "success\n",
                    header: None,
                }
            } else {
                Success {
                    status: 200,
                    content_type: "text/html",
                    body: "<meta http-equiv=\"refresh\" content=\"0;url=https://support.mozilla.org/kb/captive-portal\"/>",
                    header: None,
                }
            })
        }
        "nmcheck.gnome.org" => {
            return Some(Success {
                status: 200,
                content_type: "text/plain",
                body: "NetworkManager is online\n",
                header: None,
            })
        }
        "connectivity-check.ubuntu.com" => {
            return Some(Success {
                status: 204,
                content_type: "",
                body: "",
                header: Some(("X-NetworkManager-Status", "online")),
            })
        }
        _ => {}
    }
    if host == "www.msftncsi.com" && path == "/ncsi.txt" {
        return Some(Success {
            status: 200,
            content_type: "text/plain",
            body: "Microsoft NCSI",
            header: None,
        });
    }
    if WINDOWS_HOSTS.contains(&host.as_str()) || host.ends_with(".msftncsi.com") {
        return Some(Success {
            status: 200,
            content_type: "text/plain",
            body: "Microsoft Connect Test",
            header: None,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_gets_its_answer() {
        assert_eq!(
            success("captive.apple.com", "/hotspot-detect.html"),
            Some(APPLE)
        );
        assert_eq!(success("CAPTIVE.APPLE.COM.", "/"), Some(APPLE));
        assert_eq!(
            success("connectivitycheck.gstatic.com", "/generate_204"),
            Some(ANDROID)
        );
        assert_eq!(success("anything", "/gen_204").unwrap().status, 204);
        assert_eq!(
            success("detectportal.firefox.com", "/success.txt")
                .unwrap()
                .body,
            "success\n"
        );
        assert!(success("detectportal.firefox.com", "/canonical.html")
            .unwrap()
            .body
            .contains("refresh"));
        assert_eq!(
            success("www.msftconnecttest.com", "/connecttest.txt")
                .unwrap()
                .body,
            "Microsoft Connect Test"
        );
        assert_eq!(
            success("www.msftncsi.com", "/ncsi.txt").unwrap().body,
            "Microsoft NCSI"
        );
        assert_eq!(
            success("dns.msftncsi.com", "/").unwrap().body,
            "Microsoft Connect Test"
        );
        assert_eq!(
            success("nmcheck.gnome.org", "/check_network_status.txt")
                .unwrap()
                .body,
            "NetworkManager is online\n"
        );
        let ubuntu = success("connectivity-check.ubuntu.com", "/").unwrap();
        assert_eq!(
            (ubuntu.status, ubuntu.header),
            (204, Some(("X-NetworkManager-Status", "online")))
        );
        assert_eq!(success("generic.offspot", "/"), None);
    }
}
