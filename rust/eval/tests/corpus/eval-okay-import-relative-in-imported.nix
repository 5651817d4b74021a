(import ./lib/imported).fromDefault
