# nixspot-dashboard: the dashboard's words, in English (the reference catalogue).
#
# Every message here must exist in every other catalogue of this folder, with the same
# variables: `cargo test -p nixspot-dashboard --test catalogues` checks it. Values are
# plain text (the generator escapes them); variables ending in -link are links the
# generator inserts, with their own message for the words.
# Content titles and descriptions come from the content itself and are not translated.

## Every page: header, navigation, footer.
skip-link = Skip to content
default-name = Kiwix Hotspot
# Stands for the hotspot's name when it has none, inside sentences.
this-hotspot = this hotspot
nav-main = Main
nav-home = Home
nav-downloads = Downloads
nav-about = About
nav-more = More
nav-language = Language
# Read by screen readers before a password-protected link.
password-protected = Password protected:
powered-by = Powered by Kiwix Hotspot
powered-by-version = Powered by Kiwix Hotspot · version { $version }

## Home page.
home-heading = Welcome to { $name }
readers-banner-label = Kiwix apps
readers-banner-text = Take this content with you: install a Kiwix app and read it offline on your own device.
readers-banner-button = Get Kiwix
home-empty = No content is available on this hotspot yet.
filter-label = Filter by language
filter-all = All languages
categories-label = Categories
# The only category, when no package has one.
category-all = All content
# Packages without a category, after the others.
category-other = Other content
# Read by screen readers after the number of packages of a category.
category-count = { $count ->
    [one] package
   *[other] packages
}
# Read by screen readers before a package's languages.
languages-label = Languages:

## Downloads page.
readers-heading = Kiwix apps
readers-text = Kiwix reads the content of this hotspot on your device, without Internet. Install the app, then download content files below.
# $platform: Android, Windows, macOS, Linux, iOS…
reader-for = Kiwix for { $platform }
download-button = Download
files-heading = Content files
files-empty = No content on this hotspot can be downloaded.

## About page.
about-heading = About { $name }
about-intro = { $name } is a Kiwix Hotspot: a small WiFi server that brings encyclopedias, books, courses and other content to everyone nearby, without any Internet connection.
about-how = How to use it
about-step-connect = Stay connected to this WiFi network.
about-step-open = Open { $home-link } and choose a content package.
about-home-link = the home page
about-step-keep = To keep content for later, visit { $downloads-link }.
about-details = Details
about-address = Address
about-version = Version
about-packages = Content packages

## The page shown instead of a link to the Internet.
blocked-title = Link blocked
blocked-heading = This link leads to the Internet
blocked-text = The page you followed is not stored on { $name }, and this hotspot has no Internet connection, so it cannot be opened here.
blocked-back = Go back to continue reading, or { $home-link }.
blocked-home-link = return to the home page

## Sizes ($n is already written with this language's decimal separator).
decimal-separator = .
size-bytes = { $n } bytes
size-kb = { $n } kB
size-mb = { $n } MB
size-gb = { $n } GB
size-tb = { $n } TB
size-pb = { $n } PB
