# nixspot-portal : les pages du portail captif, en français.
# Espaces insécables (U+00A0) devant « : ; ! ? », comme le veut la typographie française.
# Variables : $name = le nom du point d'accès (HOTSPOT_NAME), en texte brut.

## La page que voient d'abord les visiteurs non enregistrés, quelle que soit l'adresse demandée.
welcome-text = Bienvenue ! Ce point d'accès donne librement accès à des contenus hors ligne : encyclopédies, livres, vidéos et plus encore, sans Internet.
welcome-button = Ouvrir { $name }

## La page que voient les visiteurs enregistrés.
registered-text = Vous êtes connecté.
registered-button = Aller sur { $name }

## Erreurs de l'enregistrement (texte brut).
error-not-ipv4 = Seuls les appareils IPv4 peuvent s'enregistrer.
error-registration = L'enregistrement a échoué ; veuillez réessayer.
