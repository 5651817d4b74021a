# nixspot-portal: the captive portal's pages, in English (the reference catalogue).
#
# Every message here must exist in every other catalogue of this folder, with the same
# variables: `cargo test -p nixspot-portal --test catalogues` checks it.
# Variables: $name = the hotspot's name (HOTSPOT_NAME), plain text (the portal escapes it).

## The page unregistered visitors see first, whatever address they asked for.
welcome-text = Welcome! This hotspot gives free access to offline content: encyclopedias, books, videos and more, without Internet.
# The one button: it registers the visitor and opens the hotspot's home page.
welcome-button = Open { $name }

## The page registered visitors see (anywhere but the connectivity checks).
registered-text = You are connected.
registered-button = Go to { $name }

## Errors of the registration (plain text).
error-not-ipv4 = Only IPv4 clients can register.
error-registration = Registration failed; please try again.
