# offspot's data, as nixspot's modules use it (from offspot-config 2.10.5: builder.py's
# INTERNAL_IMAGES and catalog.json; GPL-3.0, like this project). Sizes are bytes:
# `filesize` = the exported docker-archive tar, `fullsize` = the extracted image.
{
  # Images offspot's builder adds itself (not catalog entries).
  internalImages = {
    captive-portal = { ident = "ghcr.io/offspot/captive-portal:1.6.1"; filesize = 169574400; fullsize = 169506325; };
    dashboard = { ident = "ghcr.io/offspot/dashboard:1.7.0"; filesize = 169195520; fullsize = 169080134; };
    adminui = { ident = "ghcr.io/offspot/adminui:1.4.2"; filesize = 207656960; fullsize = 207579103; };
    file-browser = { ident = "ghcr.io/offspot/file-browser:1.2"; filesize = 14469120; fullsize = 14436017; };
    hwclock = { ident = "ghcr.io/offspot/hwclock:1.3"; filesize = 57620480; fullsize = 57585752; };
    kiwix-serve = { ident = "ghcr.io/offspot/kiwix-serve:3.8.2_1"; filesize = 62320640; fullsize = 62269347; };
    metrics = { ident = "ghcr.io/offspot/metrics:0.3.1"; filesize = 154378240; fullsize = 154277513; };
    reverse-proxy = { ident = "ghcr.io/offspot/reverse-proxy:1.13"; filesize = 118056960; fullsize = 117982354; };
  };

  # offspot base-image releases image-creator knows by version: the URL it derives and
  # the rootfs size offspot's imager uses for them.
  baseImages = {
    "1.4.2" = { url = "https://drive.offspot.it/base/offspot-base-arm64-1.4.2.img"; rootfsSize = 3716153344; };
    "1.2.0" = { url = "https://drive.offspot.it/base/offspot-base-arm64-1.2.0.img"; rootfsSize = 2638217216; };
  };

  # nixspot's own base image (`hotspot.base.source = "nixspot:base"`): the bytes before
  # its data partition, as rust/base lays it out (4 MiB alignment, 512 MiB boot, 672 MiB
  # root: the data partition starts at sector 2433024).
  nixspotBase = { rootfsSize = 1245708288; };

  # Common SD card sizes and the bytes such a card really holds: the Kiwix Imager
  # Service's media table (manager/manager/fixtures/media.json), smallest first.
  sdCards = [
    { name = "8GB"; usable = 7760000000; }
    { name = "16GB"; usable = 15520000000; }
    { name = "32GB"; usable = 30720000000; }
    { name = "64GB"; usable = 61440000000; }
    { name = "128GB"; usable = 122880000000; }
    { name = "200GB"; usable = 192000000000; }
    { name = "256GB"; usable = 245760000000; }
    { name = "512GB"; usable = 496000000000; }
    { name = "1TB"; usable = 993000000000; }
  ];

  # catalog.json: apps (`kind = "app"`) and files packages (`kind = "files"`), by ident.
  packages = {
    "contentfilter.offspot.kiwix.org" = {
      domain = "contentfilter";
      kind = "app";
      title = "Content Filter";
      description = "Manage URLs to filter out from this instance";
      languages = [ "eng" ];
      tags = [ "admin" ];
      iconUrl = "https://drive.hotspot.kiwix.org/content-filter/content-filter.png";
      image = "ghcr.io/offspot/content-filter:1.0";
      imageFilesize = 506767360;
      imageFullsize = 506645965;
    };
    "file-manager.offspot.kiwix.org" = {
      domain = "resources";
      kind = "app";
      title = "File Manager";
      description = "Upload and download documents";
      languages = [ "mul" ];
      tags = [ "files" ];
      iconUrl = "https://drive.hotspot.kiwix.org/edupi/edupi.png";
      image = "ghcr.io/offspot/file-manager:1.4";
      imageFilesize = 41615360;
      imageFullsize = 41558268;
      environ = {
        APP_URL = "http://\${PACKAGE_FQDN}";
        ACCESS_MODE = "mixed";
      };
      environMap = {
        ADMIN_USERNAME = "ADMIN_USERNAME";
        ADMIN_PASSWORD = "ADMIN_PASSWORD";
      };
      volumes = [ "\${APP_DIR}:/data" ];
    };
    "nomad.offspot.kiwix.org" = {
      domain = "nomad";
      kind = "files";
      title = "Nomad exercices du CP à la 3è";
      description = "Application Android";
      languages = [ "fra" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/nomad/nomad_logo.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/nomad/nomadeducation_fr_android_2023-11.zip";
      downloadSize = 151606771;
      downloadChecksum = {
        algo = "md5";
        value = "0a5b3814ef7ab67b5de906495989fa59";
      };
      via = "zip";
    };
    "mathews.offspot.kiwix.org" = {
      domain = "mathews";
      kind = "files";
      title = "Chasse au trésor Math Mathews";
      description = "Un jeu pour faire des maths (6-9 ans)";
      languages = [ "fra" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/mathews/mathmathews_logo.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/mathews/mathmathews_fr_android_1.6.zip";
      downloadSize = 35710192;
      downloadChecksum = {
        algo = "md5";
        value = "12e4912c44b28e085f6292083c18dc2e";
      };
      via = "zip";
    };
    "africatik-en.offspot.kiwix.org" = {
      domain = "africatik-en";
      kind = "files";
      title = "Africatik Écoles numériques";
      description = "Applications éducatives adaptées au contexte culturel africain (version Écoles numériques)";
      languages = [ "fra" ];
      tags = [ "android" "windows" ];
      iconUrl = "https://drive.hotspot.kiwix.org/africatik/africatik_logo.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/africatik/africatik_fr_ecoles-numeriques_2023-02.zip";
      downloadSize = 13906969131;
      downloadChecksum = {
        algo = "md5";
        value = "0055097bf4768b7e295c167265023b9c";
      };
      via = "zip";
    };
    "africatik-md.offspot.kiwix.org" = {
      domain = "africatik-md";
      kind = "files";
      title = "Africatik Maisons digitales";
      description = "Applications éducatives adaptées au contexte culturel africain (version Maisons digitales)";
      languages = [ "fra" ];
      tags = [ "android" "windows" ];
      iconUrl = "https://drive.hotspot.kiwix.org/africatik/africatik_logo.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/africatik/africatik_fr_maisons-digitales_2023-02.zip";
      downloadSize = 4394410977;
      downloadChecksum = {
        algo = "md5";
        value = "d89d79979209247b7ecf8eb3f11eccde";
      };
      via = "zip";
    };
    "fizziq-junior.offspot.kiwix.org" = {
      domain = "fizziq-junior";
      kind = "files";
      title = "Fizziq Junior";
      description = "App Android pour l'apprentissage des sciences et de l'investigation scientifique";
      languages = [ "fra" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/fizziq/fizziq-junior.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/fizziq/fizziq_fr_junior_2023-03.zip";
      downloadSize = 128724719;
      downloadChecksum = {
        algo = "md5";
        value = "4e528e12576f6d365425306e5d318f32";
      };
      via = "zip";
    };
    "eleda-android.offspot.kiwix.org" = {
      domain = "eleda-android";
      kind = "files";
      title = "Les mathématiques du primaire";
      description = "App Android avec 600 activités de mathématiques";
      languages = [ "fra" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/eleda/icon_zim.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/eleda/eleda_fr_android_2023-10.zip";
      downloadSize = 49364213;
      downloadChecksum = {
        algo = "md5";
        value = "4e5e6761f61d71d0b728c0a967d7ca08";
      };
      via = "zip";
    };
    "magoe.offspot.kiwix.org" = {
      domain = "magoe";
      kind = "app";
      title = "Magoé Éducation";
      description = "Application de révision en ligne et de renforcement de capacité";
      languages = [ "fra" ];
      tags = [ ];
      image = "ghcr.io/offspot/magoe:1.1";
      imageFilesize = 49295360;
      imageFullsize = 49252894;
      environ = {
        MAGOE_URL = "http://\${PACKAGE_FQDN}";
      };
      volumes = [ "\${APP_DIR}:/var/www/magoe" ];
      iconUrl = "https://drive.hotspot.kiwix.org/magoe/magoe.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/magoe/magoe_fr_app_2024-03.zip";
      downloadSize = 295323137;
      downloadChecksum = {
        algo = "md5";
        value = "0ec2d9b9c2f61eb22247ceb935124923";
      };
      downloadVia = "zip";
    };
    "com.kylecorry.trail_sense.offspot.kiwix.org" = {
      domain = "com.kylecorry.trail-sense";
      kind = "files";
      title = "Trail Sense";
      description = "Downloadable android APK that uses your phone's sensors to assist with wilderness treks";
      languages = [ "eng" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/f-droid/com.kylecorry.trail_sense.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/f-droid/com.kylecorry.trail_sense_111.zip";
      downloadSize = 7171835;
      downloadChecksum = {
        algo = "md5";
        value = "8e7a3e22750789e8a70615a9d74686ee";
      };
      via = "zip";
    };
    "org.ligi.survivalmanual.offspot.kiwix.org" = {
      domain = "org.ligi.survivalmanual";
      kind = "files";
      title = "Survival Manual";
      description = "Downloadable Android APK. Learn how to survive";
      languages = [ "eng" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/f-droid/org.ligi.survivalmanual.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/f-droid/org.ligi.survivalmanual_428.zip";
      downloadSize = 5528415;
      downloadChecksum = {
        algo = "md5";
        value = "620510a857da1655b931081c2f85e33a";
      };
      via = "zip";
    };
    "org.hlwd.bible_multi_the_life.offspot.kiwix.org" = {
      domain = "org.hlwd.bible-multi-the-life";
      kind = "files";
      title = "The Life";
      description = "Downloadable Android Bible. Multi languages, free, offline, no advertising.";
      languages = [ "eng" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/f-droid/org.hlwd.bible_multi_the_life.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/f-droid/org.hlwd.bible_multi_the_life_20230823.zip";
      downloadSize = 59891151;
      downloadChecksum = {
        algo = "md5";
        value = "b1a1e31076651b212b6b08f7cd897e07";
      };
      via = "zip";
    };
    "com.af-et-rica.dcx.ar.offspot.kiwix.org" = {
      domain = "com.af-et-rica.dcx.ar";
      kind = "files";
      title = "Af&Rica";
      description = "العب واكتشف الثقافات الإفريقية مع المغامرين أف و ريكا";
      languages = [ "ara" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/af-rica/icon.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/af-rica/af_and_rica_ar_1.0.0.zip";
      downloadSize = 46509014;
      downloadChecksum = {
        algo = "md5";
        value = "ed2994a67844c68fd4adfc1dab8f6cdd";
      };
      via = "zip";
    };
    "com.af-et-rica.dcx.en.offspot.kiwix.org" = {
      domain = "com.af-et-rica.dcx.en";
      kind = "files";
      title = "Af&Rica";
      description = "Play and discover African cultures with the two adventurers Af and Rica.";
      languages = [ "eng" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/af-rica/icon.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/af-rica/af_and_rica_en_1.0.0.zip";
      downloadSize = 46508913;
      downloadChecksum = {
        algo = "md5";
        value = "4a7098275be7eb0ce94b387a71bdf8eb";
      };
      via = "zip";
    };
    "com.af-et-rica.dcx.fr.offspot.kiwix.org" = {
      domain = "com.af-et-rica.dcx.fr";
      kind = "files";
      title = "Af&Rica";
      description = "Jouez et découvrez les cultures Africaines avec les deux aventuriers Af & Rica.";
      languages = [ "fra" ];
      tags = [ "android" ];
      iconUrl = "https://drive.hotspot.kiwix.org/af-rica/icon.png";
      downloadUrl = "https://drive.hotspot.kiwix.org/af-rica/af_and_rica_fr_1.0.0.zip";
      downloadSize = 46508976;
      downloadChecksum = {
        algo = "md5";
        value = "14ab4def1fcd518dd12f529fd41bb354";
      };
      via = "zip";
    };
  };
}
