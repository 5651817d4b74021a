# nixspot-dashboard : les mots du tableau de bord, en français.
# Les valeurs sont du texte brut ; les variables en -link sont des liens insérés par le
# générateur, dont les mots ont leur propre message.
# Espaces insécables (U+00A0) devant « : ; ! ? », comme le veut la typographie française.

## Toutes les pages : en-tête, navigation, pied de page.
skip-link = Aller au contenu
default-name = Kiwix Hotspot
this-hotspot = ce point d'accès
nav-main = Menu principal
nav-home = Accueil
nav-downloads = Téléchargements
nav-about = À propos
nav-more = Plus
nav-language = Langue
password-protected = Protégé par mot de passe :
powered-by = Propulsé par Kiwix Hotspot
powered-by-version = Propulsé par Kiwix Hotspot · version { $version }

## Page d'accueil.
home-heading = Bienvenue sur { $name }
readers-banner-label = Applications Kiwix
readers-banner-text = Emportez ces contenus avec vous : installez une application Kiwix et lisez-les hors ligne sur votre appareil.
readers-banner-button = Obtenir Kiwix
home-empty = Aucun contenu n'est encore disponible sur ce point d'accès.
filter-label = Filtrer par langue
filter-all = Toutes les langues
categories-label = Catégories
category-all = Tous les contenus
category-other = Autres contenus
category-count = { $count ->
    [one] contenu
   *[other] contenus
}
languages-label = Langues :

## Page des téléchargements.
readers-heading = Applications Kiwix
readers-text = Kiwix lit les contenus de ce point d'accès sur votre appareil, sans Internet. Installez l'application, puis téléchargez les fichiers de contenu ci-dessous.
reader-for = Kiwix pour { $platform }
download-button = Télécharger
files-heading = Fichiers de contenu
files-empty = Aucun contenu de ce point d'accès ne peut être téléchargé.

## Page « À propos ».
about-heading = À propos de { $name }
about-intro = { $name } est un Kiwix Hotspot : un petit serveur WiFi qui apporte encyclopédies, livres, cours et autres contenus à tous ceux qui sont à proximité, sans aucune connexion à Internet.
about-how = Mode d'emploi
about-step-connect = Restez connecté à ce réseau WiFi.
about-step-open = Ouvrez { $home-link } et choisissez un contenu.
about-home-link = la page d'accueil
about-step-keep = Pour garder des contenus, allez dans { $downloads-link }.
about-details = Détails
about-address = Adresse
about-version = Version
about-packages = Contenus

## La page affichée à la place d'un lien vers Internet.
blocked-title = Lien bloqué
blocked-heading = Ce lien mène à Internet
blocked-text = La page demandée n'est pas sur { $name }, et ce point d'accès n'a pas de connexion à Internet : elle ne peut pas être ouverte ici.
blocked-back = Revenez en arrière pour continuer votre lecture, ou { $home-link }.
blocked-home-link = retournez à la page d'accueil

## Tailles.
decimal-separator = ,
size-bytes = { $n } octets
size-kb = { $n } ko
size-mb = { $n } Mo
size-gb = { $n } Go
size-tb = { $n } To
size-pb = { $n } Po
