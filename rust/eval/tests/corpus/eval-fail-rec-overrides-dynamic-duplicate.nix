rec { a = 1; __overrides = { z = 1; }; "${"z"}" = 2; }
