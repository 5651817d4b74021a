import ./lib/imported
