//! The HTTP client's redirect policy: at most 10 hops, and never from HTTPS down to
//! plain HTTP (whoever sits on the network path could otherwise serve the rest).

use reqwest::redirect::{Action, Attempt, Policy};
use reqwest::Url;

/// The most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 10;

/// The policy every request of the fetcher uses.
pub fn policy() -> Policy {
    Policy::custom(decide)
}

fn decide(attempt: Attempt<'_>) -> Action {
    match refusal(attempt.previous(), attempt.url()) {
        Some(why) => attempt.error(why),
        None => attempt.follow(),
    }
}

/// Why following a redirect to `next` after `previous` is refused, if it is.
fn refusal(previous: &[Url], next: &Url) -> Option<String> {
    if previous.len() > MAX_REDIRECTS {
        return Some(format!("more than {MAX_REDIRECTS} redirects"));
    }
    if next.scheme() != "https" {
        if let Some(secure) = previous.iter().find(|u| u.scheme() == "https") {
            return Some(format!(
                "refused redirect from HTTPS ({secure}) to {next}: expected an https:// location"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<Url> {
        list.iter().map(|u| u.parse().unwrap()).collect()
    }

    /// Finding 7: an https download redirected to http was followed.
    #[test]
    fn https_to_http_is_refused_anywhere_in_the_chain() {
        let next: Url = "http://mirror.example/f.zim".parse().unwrap();
        let why = refusal(&urls(&["https://download.kiwix.org/f.zim"]), &next).unwrap();
        assert!(why.contains("https://download.kiwix.org/f.zim"), "{why}");
        assert!(why.contains("http://mirror.example/f.zim"), "{why}");
        // https → https → http: still a downgrade.
        let chain = urls(&["https://a.example/", "https://b.example/"]);
        assert!(refusal(&chain, &next).is_some());
        // http → https → http too: the secure hop was taken.
        let chain = urls(&["http://a.example/", "https://b.example/"]);
        assert!(refusal(&chain, &next).is_some());
    }

    #[test]
    fn upgrades_and_plain_http_chains_are_followed() {
        let https: Url = "https://b.example/f".parse().unwrap();
        let http: Url = "http://c.example/f".parse().unwrap();
        assert_eq!(refusal(&urls(&["http://a.example/"]), &https), None);
        assert_eq!(refusal(&urls(&["https://a.example/"]), &https), None);
        assert_eq!(refusal(&urls(&["http://127.0.0.1:1/"]), &http), None);
        let long: Vec<Url> = (0..=MAX_REDIRECTS)
            .map(|i| format!("http://a.example/{i}").parse().unwrap())
            .collect();
        assert!(refusal(&long, &http).unwrap().contains("more than 10"));
        assert_eq!(refusal(&long[..MAX_REDIRECTS], &http), None);
    }
}
