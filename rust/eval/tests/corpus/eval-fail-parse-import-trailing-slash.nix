import ./lib/imported/
