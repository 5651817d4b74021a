# nixspot-portal: las páginas del portal cautivo, en español.
# Variables: $name = el nombre del punto de acceso (HOTSPOT_NAME), en texto plano.

## La página que ven primero los visitantes no registrados, pidan la dirección que pidan.
welcome-text = ¡Bienvenido! Este punto de acceso ofrece acceso libre a contenidos sin conexión: enciclopedias, libros, vídeos y mucho más, sin Internet.
welcome-button = Abrir { $name }

## La página que ven los visitantes registrados.
registered-text = Ya está conectado.
registered-button = Ir a { $name }

## Errores del registro (texto plano).
error-not-ipv4 = Solo los dispositivos IPv4 pueden registrarse.
error-registration = El registro ha fallado; inténtelo de nuevo.
