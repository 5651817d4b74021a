{ hotspot.ap.passphrase = "short"; }
