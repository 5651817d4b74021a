# nixspot-dashboard: las palabras del panel, en español.
# Los valores son texto plano; las variables en -link son enlaces que inserta el
# generador, cuyas palabras tienen su propio mensaje.

## Todas las páginas: cabecera, navegación, pie de página.
skip-link = Saltar al contenido
default-name = Kiwix Hotspot
this-hotspot = este punto de acceso
nav-main = Menú principal
nav-home = Inicio
nav-downloads = Descargas
nav-about = Acerca de
nav-more = Más
nav-language = Idioma
password-protected = Protegido con contraseña:
powered-by = Con la tecnología de Kiwix Hotspot
powered-by-version = Con la tecnología de Kiwix Hotspot · versión { $version }

## Página de inicio.
home-heading = Bienvenido a { $name }
readers-banner-label = Aplicaciones Kiwix
readers-banner-text = Lleve este contenido consigo: instale una aplicación Kiwix y léalo sin conexión en su propio dispositivo.
readers-banner-button = Obtener Kiwix
home-empty = Todavía no hay contenido disponible en este punto de acceso.
filter-label = Filtrar por idioma
filter-all = Todos los idiomas
categories-label = Categorías
category-all = Todo el contenido
category-other = Otros contenidos
category-count = { $count ->
    [one] paquete
   *[other] paquetes
}
languages-label = Idiomas:

## Página de descargas.
readers-heading = Aplicaciones Kiwix
readers-text = Kiwix lee el contenido de este punto de acceso en su dispositivo, sin Internet. Instale la aplicación y luego descargue los archivos de contenido a continuación.
reader-for = Kiwix para { $platform }
download-button = Descargar
files-heading = Archivos de contenido
files-empty = Ningún contenido de este punto de acceso se puede descargar.

## Página «Acerca de».
about-heading = Acerca de { $name }
about-intro = { $name } es un Kiwix Hotspot: un pequeño servidor WiFi que lleva enciclopedias, libros, cursos y otros contenidos a todas las personas cercanas, sin ninguna conexión a Internet.
about-how = Cómo usarlo
about-step-connect = Permanezca conectado a esta red WiFi.
about-step-open = Abra { $home-link } y elija un paquete de contenido.
about-home-link = la página de inicio
about-step-keep = Para conservar contenido, visite { $downloads-link }.
about-details = Detalles
about-address = Dirección
about-version = Versión
about-packages = Paquetes de contenido

## La página que se muestra en lugar de un enlace a Internet.
blocked-title = Enlace bloqueado
blocked-heading = Este enlace lleva a Internet
blocked-text = La página que siguió no está guardada en { $name } y este punto de acceso no tiene conexión a Internet, así que no se puede abrir aquí.
blocked-back = Vuelva atrás para seguir leyendo o { $home-link }.
blocked-home-link = vuelva a la página de inicio

## Tamaños.
decimal-separator = ,
size-bytes = { $n } bytes
size-kb = { $n } kB
size-mb = { $n } MB
size-gb = { $n } GB
size-tb = { $n } TB
size-pb = { $n } PB
