[ http://example.org/a?b=c&d=e https://nixos.org mailto:me@example.com urn:isbn:0451450523 ]
